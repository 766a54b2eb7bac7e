//! Calculator-assisted runs in the reports. A run decoded with
//! `decoding.calculator` had the decoder compute the arithmetic the model
//! wrote (`<<4*9=` → `36>>`): its score measures something else than a
//! plain run's. The reports mark such a run next to its score and say so
//! when they put calculator-assisted and plain scores side by side.

/// The marker shown next to a calculator-assisted run's score.
pub const MARKER: &str = "calc";

/// What the marker means, for a tooltip or a legend.
pub const MEANING: &str =
    "calculator-assisted decoding (the decoder computed the arithmetic the model wrote)";

/// `1 run`, `2 runs`.
fn runs(n: usize) -> String {
    format!("{n} run{}", if n == 1 { "" } else { "s" })
}

/// The leaderboard's note when the scored runs it ranks mix
/// `calculator` calculator-assisted runs with `plain` plain ones.
pub fn leaderboard_note(calculator: usize, plain: usize) -> Option<String> {
    (calculator > 0 && plain > 0).then(|| {
        format!(
            "this leaderboard ranks calculator-assisted and plain scores together ({} decoded with the calculator, marked {MARKER}, and {} without): they are different measurements",
            runs(calculator),
            runs(plain)
        )
    })
}

/// The comparison's note when exactly one of A and B (`a`, `b`: whether
/// each used the calculator) was calculator-assisted.
pub fn compare_note(a: bool, b: bool) -> Option<String> {
    let (with, without) = match (a, b) {
        (true, false) => ("A", "B"),
        (false, true) => ("B", "A"),
        _ => return None,
    };
    Some(format!(
        "{with} used the calculator, {without} did not: different measurements (the calculator computed {with}'s arithmetic), so B − A also measures the calculator"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaderboard_note_only_for_a_mix() {
        assert_eq!(leaderboard_note(0, 3), None);
        assert_eq!(leaderboard_note(2, 0), None);
        let note = leaderboard_note(1, 2).expect("a mix");
        assert!(
            note.starts_with("this leaderboard ranks calculator-assisted and plain scores together (1 run decoded with the calculator, marked calc, and 2 runs without)"),
            "{note}"
        );
    }

    #[test]
    fn a_compare_note_names_the_side_that_used_the_calculator() {
        assert_eq!(compare_note(false, false), None);
        assert_eq!(compare_note(true, true), None);
        let note = compare_note(true, false).expect("A only");
        assert!(
            note.starts_with("A used the calculator, B did not: different measurements"),
            "{note}"
        );
        let note = compare_note(false, true).expect("B only");
        assert!(
            note.starts_with("B used the calculator, A did not: different measurements"),
            "{note}"
        );
    }
}
