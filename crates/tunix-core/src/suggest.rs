//! "Did you mean …?" suggestions for misspelt keys and values.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lowered = input.to_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let cand = c.to_lowercase();
            let prefix =
                cand.len() >= 3 && (lowered.starts_with(&cand) || cand.starts_with(&lowered));
            let distance = strsim::damerau_levenshtein(&lowered, &cand);
            (if prefix { distance.min(1) } else { distance }, c)
        })
        .filter(|(distance, c)| {
            *distance <= (c.chars().count().max(input.chars().count()) / 3).max(2)
        })
        .min_by_key(|(distance, c)| (*distance, *c))
        .map(|(_, c)| c)
}

/// "did you mean `x`?" or, without a close match, the list of valid names.
pub fn help_for(input: &str, candidates: &[&str]) -> Option<String> {
    if let Some(best) = closest(input, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    let list: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
    Some(format!("valid here: {}", list.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_typos_are_suggested() {
        let keys = ["warmup_steps", "max_steps", "weight_decay", "seed"];
        assert_eq!(closest("warmup_step", keys), Some("warmup_steps"));
        assert_eq!(closest("wieght_decay", keys), Some("weight_decay"));
        assert_eq!(closest("Max_Steps", keys), Some("max_steps"));
        assert_eq!(closest("maximum", ["max", "min"]), Some("max"));
    }

    #[test]
    fn unrelated_names_are_not() {
        assert_eq!(closest("banana", ["warmup_steps", "seed"]), None);
        assert_eq!(
            help_for("banana", &["a_key", "b_key"]).as_deref(),
            Some("valid here: `a_key`, `b_key`")
        );
    }
}
