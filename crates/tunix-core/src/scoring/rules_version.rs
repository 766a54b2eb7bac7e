//! The version of the scoring rules, pinned to their behaviour.
//!
//! [`SCORING_RULES_VERSION`] names the behaviour of extraction,
//! normalization, equivalence, trace consistency and the primary score.
//! Every eval summary records it, and the leaderboard refuses to rank runs
//! scored under different versions side by side.
//!
//! A table of test vectors (raw outputs, expected answers, settings) is run
//! through the current code in a unit test; the outcomes (extracted answer
//! and rule, normalized forms, correctness, trace consistency, primary
//! score) are written one per line and hashed with blake3. [`RULES_HISTORY`]
//! pins the hash of every version: when the code's behaviour changes, the
//! test fails until the version is bumped and the new hash is appended.

/// Version of the scoring rules (extraction, normalization, equivalence,
/// aggregation). Bump it whenever a change could alter an item's
/// correctness, and append the new vectors' hash to [`RULES_HISTORY`]:
/// baselines locked under another version are refused, and the leaderboard
/// does not rank runs of different versions side by side.
pub const SCORING_RULES_VERSION: u32 = 1;

/// `(version, blake3 of the test vectors' outcomes)` of every scoring-rules
/// version, oldest first; the last entry is [`SCORING_RULES_VERSION`].
/// Entries are never edited: a behaviour change appends a new version.
pub const RULES_HISTORY: &[(u32, &str)] = &[(
    1,
    "09885bafbb9ee508c7b46092f44e91ff71ab9585d78f5c8e7c630677b6e6eda9",
)];

/// The blake3 of the test vectors' outcomes under the current version.
pub fn scoring_rules_hash() -> &'static str {
    RULES_HISTORY.last().map_or("", |(_, hash)| hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::blake3_hex;
    use crate::scoring::{
        answer_correctness, normalize, primary_score, trace_consistency, AnswerExtraction,
        Equivalence, ExtractRule, ItemRow,
    };

    /// `(output, expected)`: every pair is scored under every setting of
    /// [`settings`].
    const ANSWERS: &[(&str, &str)] = &[
        ("Some steps. Answer: 42", "42"),
        ("Answer: 3\nwait, recompute\nanswer: 42 \nbye 7", "42"),
        ("so 3+4=7\n#### 7", "7"),
        ("Final: 12\nAnswer: 13", "12"),
        ("The total is $1,200.50 today", "1200.5"),
        ("x=-7 and 3-5", "-7"),
        ("values 1,5", "15"),
        ("Answer: **72**.", "72"),
        ("Answer: 25 %", "25"),
        ("Answer: 25%", "0.25"),
        ("Answer: 1.5e3", "1500"),
        ("Answer: 1.0000001e3", "1000"),
        ("Answer: 1.01e3", "1000"),
        ("Answer: .5", "0.50"),
        ("Answer: -0", "0"),
        ("Answer: \u{2212}3", "-3"),
        ("Answer: 2024", "20.24"),
        ("Answer: 42 apples", "42"),
        ("Answer: 3 or 4", "3"),
        ("Answer:  \"New   York\" ", "new york"),
        ("I think YES.", "yes"),
        ("Answer:\nno number here", "5"),
        ("", "1"),
        ("   \n  ", "1"),
        ("Answer: 12,50,000", "1250000"),
        ("Answer: €5", "5"),
        ("Answer: -$5", "-5"),
        ("Answer: 0.30000000000000004", "0.3"),
        ("first line\n\nlast line 9\n", "9"),
        ("ANSWER: Paris", "paris"),
    ];

    /// `(output, required values)` for trace consistency.
    const TRACES: &[(&str, &[&str])] = &[
        ("4*2=8. 8-2=6. Answer: 6", &["8", "6"]),
        ("total 1,000 then 25%", &["1000", "25", "7"]),
        ("the capital is Paris", &["paris", "rome"]),
        ("no values", &[]),
    ];

    /// Strings normalized on their own.
    const NORMALIZE: &[&str] = &[
        "1000",
        "0.050",
        "-12.50",
        "1.5e3",
        ".5%",
        "007",
        "1,0000",
        "+-5",
        "$5%",
        "1e999",
        "  Hello,   World!  ",
        "(72)",
        "`x`",
    ];

    /// The settings every answer vector is scored under.
    fn settings() -> Vec<(&'static str, AnswerExtraction, Equivalence)> {
        let default = AnswerExtraction::default();
        vec![
            ("default", default.clone(), Equivalence::default()),
            (
                "last_line_first",
                AnswerExtraction {
                    order: vec![ExtractRule::LastLine, ExtractRule::Marker],
                    ..default.clone()
                },
                Equivalence::default(),
            ),
            (
                "final_marker",
                AnswerExtraction {
                    markers: vec!["Final:".into()],
                    ..default.clone()
                },
                Equivalence::default(),
            ),
            ("exact_floats", default, Equivalence { float_rel_tol: 0.0 }),
        ]
    }

    fn json(s: &str) -> String {
        serde_json::to_string(s).unwrap_or_default()
    }

    /// The outcome of every vector, one line each.
    fn outcomes() -> String {
        let mut lines = Vec::new();
        for (name, extraction, equivalence) in settings() {
            let mut rows = Vec::new();
            for (i, (output, expected)) in ANSWERS.iter().enumerate() {
                let (extracted, correct) =
                    answer_correctness(output, expected, &extraction, &equivalence);
                let (rule, text, normalized) = match &extracted {
                    Some(e) => (
                        format!("{:?}", e.rule),
                        json(&e.text),
                        json(&normalize(&e.text).to_string()),
                    ),
                    None => ("none".into(), "null".into(), "null".into()),
                };
                lines.push(format!(
                    "answer {name} {} {} -> {rule} {text} {normalized} {correct}",
                    json(output),
                    json(expected)
                ));
                rows.push(ItemRow {
                    id: format!("{i:03}"),
                    category: "core".into(),
                    answer_correctness: Some(correct),
                    score: None,
                    tags: Vec::new(),
                });
            }
            let primary = primary_score(&rows);
            lines.push(format!(
                "primary {name} {:?} {} {} {}",
                primary.value, primary.n_items, primary.n_scored, primary.n_skipped
            ));
        }
        for (output, required) in TRACES {
            lines.push(format!(
                "trace {} {:?} -> {:?}",
                json(output),
                required,
                trace_consistency(output, required)
            ));
        }
        for text in NORMALIZE {
            let kind = match normalize(text) {
                crate::scoring::Normalized::Number(_) => "number",
                crate::scoring::Normalized::Text(_) => "text",
            };
            lines.push(format!(
                "normalize {} -> {kind} {}",
                json(text),
                json(&normalize(text).to_string())
            ));
        }
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn the_scoring_rules_version_pins_the_rules_behaviour() {
        let text = outcomes();
        let hash = blake3_hex(text.as_bytes());
        let (version, pinned) = RULES_HISTORY.last().copied().unwrap_or((0, ""));
        assert_eq!(
            version, SCORING_RULES_VERSION,
            "the last RULES_HISTORY entry must be SCORING_RULES_VERSION"
        );
        assert_eq!(
            hash,
            pinned,
            "\nThe scoring rules' behaviour changed: their test vectors now hash to\n  {hash}\n\
             but version {SCORING_RULES_VERSION} is pinned to\n  {pinned}\n\
             Bump SCORING_RULES_VERSION in src/scoring/rules_version.rs and append\n  \
             ({next}, \"{hash}\")\nto RULES_HISTORY (never edit an existing entry), so runs scored \
             before and after the change are told apart. The outcomes:\n{text}",
            next = SCORING_RULES_VERSION + 1,
        );
    }

    #[test]
    fn the_history_is_ordered_and_every_hash_is_distinct() {
        assert!(!RULES_HISTORY.is_empty());
        for pair in RULES_HISTORY.windows(2) {
            assert!(pair[0].0 < pair[1].0, "versions must increase: {pair:?}");
        }
        for (i, (_, hash)) in RULES_HISTORY.iter().enumerate() {
            assert_eq!(hash.len(), 64, "a blake3 hex digest");
            assert!(
                RULES_HISTORY[i + 1..].iter().all(|(_, h)| h != hash),
                "two versions pin the same behaviour"
            );
        }
        assert_eq!(
            scoring_rules_hash(),
            RULES_HISTORY[RULES_HISTORY.len() - 1].1
        );
    }

    #[test]
    fn the_vectors_exercise_every_rule_and_both_outcomes() {
        let text = outcomes();
        for needle in [
            "-> Marker",
            "-> LastNumber",
            "-> LastLine",
            "-> none",
            " 1\n",
            " 0\n",
        ] {
            assert!(text.contains(needle), "no vector gives {needle:?}");
        }
    }
}
