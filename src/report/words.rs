//! Words the reports show for machine values: names of methods and tests,
//! shortened ids, hashes, commits and dates. Cuts count characters, never
//! bytes, so text from a hand-edited run folder cannot split a character.

use crate::scoring::compare::DiffCiMethod;
use crate::scoring::{CiMethod, PairedTest, Verdict};

/// The name of a score's CI method.
pub fn ci_method(method: CiMethod) -> &'static str {
    match method {
        CiMethod::Wilson => "Wilson",
        CiMethod::Bootstrap => "bootstrap",
    }
}

/// The name of a paired test.
pub fn test(test: PairedTest) -> &'static str {
    match test {
        PairedTest::McnemarExact => "McNemar exact",
        PairedTest::PairedBootstrap => "paired bootstrap",
    }
}

/// The name of the method behind a difference's CI.
pub fn diff_ci_method(method: DiffCiMethod) -> &'static str {
    match method {
        DiffCiMethod::NewcombeHybridScore => "Newcombe hybrid score",
        DiffCiMethod::PercentileBootstrap => "percentile bootstrap",
    }
}

/// A verdict as a headline: `B improved over A`.
pub fn headline(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Improved => "B improved over A",
        Verdict::Regressed => "B regressed from A",
        Verdict::NoEvidence => "No evidence that B differs from A",
    }
}

/// The first `n` characters of `text` (ids and hashes).
pub fn short(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

/// The first `n` characters of an id, with `…` when cut.
pub fn abbrev(text: &str, n: usize) -> String {
    if text.chars().count() > n {
        format!("{}…", short(text, n))
    } else {
        text.to_string()
    }
}

/// A commit as shown in tables: 7 characters, `+dirty` when the tree
/// had changes, `—` when unknown.
pub fn commit(commit: Option<&str>, dirty: bool) -> String {
    match (commit, dirty) {
        (Some(c), true) => format!("{}+dirty", short(c, 7)),
        (Some(c), false) => short(c, 7),
        (None, true) => "—+dirty".to_string(),
        (None, false) => "—".to_string(),
    }
}

/// The date part of an RFC 3339 timestamp; the text itself otherwise.
pub fn date(timestamp: &str) -> String {
    match timestamp.chars().nth(10) {
        Some('T' | 't' | ' ') => short(timestamp, 10),
        _ => timestamp.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_shorten_commits_dates_and_methods() {
        assert_eq!(commit(Some("3f9a2c1d0e"), true), "3f9a2c1+dirty");
        assert_eq!(commit(Some("3f9a2c1d0e"), false), "3f9a2c1");
        assert_eq!(commit(None, false), "—");
        assert_eq!(date("2025-11-01T09:30:00Z"), "2025-11-01");
        assert_eq!(date("yesterday"), "yesterday");
        assert_eq!(date("2025-11-01é"), "2025-11-01é");
        assert_eq!(date("2025-11-0éT09:30"), "2025-11-0é");
        assert_eq!(test(PairedTest::McnemarExact), "McNemar exact");
        assert_eq!(test(PairedTest::PairedBootstrap), "paired bootstrap");
        assert_eq!(ci_method(CiMethod::Wilson), "Wilson");
        assert_eq!(
            diff_ci_method(DiffCiMethod::PercentileBootstrap),
            "percentile bootstrap"
        );
        assert_eq!(short("αβγδεζηθι", 8), "αβγδεζηθ");
        assert_eq!(abbrev("sweep-7-trial-03", 8), "sweep-7-…");
        assert_eq!(abbrev("run-a", 8), "run-a");
    }
}
