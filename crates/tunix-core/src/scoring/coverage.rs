//! The full-eval-set score and coverage of one run: what decisions use.
//!
//! The primary score ([`primary_score`](super::score::primary_score))
//! averages the *scored* items only, so a run that leaves items out (no
//! prediction, or a value that cannot be read) is judged on the items it
//! chose. Decisions (the leaderboard's order and ties, `compare`,
//! `regress`) use the **full-eval-set score** instead: the mean over every
//! item of the eval set, an item without a valid value counted as wrong
//! (0). **Coverage** is the share of the eval set that was scored; a run
//! with coverage below 1 is *incomplete* and every report marks it.
//!
//! The interval is Wilson's (every counted value is 0 or 1, a missing item
//! being 0) or else the seeded percentile bootstrap, as for the scorecard.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::group::{summarize, CiMethod, ConfidenceInterval};
use super::intervals::{wilson_ci, Z95};
use super::rows::{item_value, ItemRow};

/// A run's score over the whole eval set and how much of it was scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FullSetScore {
    /// Items of the eval set (rows of the run).
    pub n_items: usize,
    /// Items with a valid value.
    pub n_scored: usize,
    /// `n_scored / n_items`, in `[0, 1]`; `null` for a run without items.
    pub coverage: Option<f64>,
    /// Mean over every item, an item without a valid value counted as 0;
    /// `null` for a run without items.
    pub score: Option<f64>,
    /// 95% confidence interval of `score`.
    pub ci95: Option<ConfidenceInterval>,
}

impl FullSetScore {
    /// Whether every item of the eval set was scored (coverage 1); a run
    /// without items is not complete.
    pub fn complete(&self) -> bool {
        self.n_items > 0 && self.n_scored == self.n_items
    }
}

/// The full-eval-set score of `rows` (one per eval item): every row counts,
/// a row without a valid value as 0. Sums run in id order, so the result
/// does not depend on the order of the rows; `seed` seeds the bootstrap
/// (used only when some value is neither 0 nor 1).
pub fn full_set_score(rows: &[ItemRow], seed: u64) -> FullSetScore {
    let mut values: Vec<(&str, Option<f64>)> = rows
        .iter()
        .map(|r| (r.id.as_str(), item_value(r)))
        .collect();
    values.sort_by(|x, y| {
        x.0.cmp(y.0)
            .then_with(|| x.1.unwrap_or(0.0).total_cmp(&y.1.unwrap_or(0.0)))
    });
    let values: Vec<Option<f64>> = values.into_iter().map(|(_, v)| v).collect();
    full_set_of_values(&values, seed)
}

/// The full-eval-set score of item values given in item-id order, `None`
/// for an item without a valid value (counted as 0); values outside
/// `[0, 1]` or not finite count as `None`.
pub fn full_set_of_values(values: &[Option<f64>], seed: u64) -> FullSetScore {
    let valid = |v: &Option<f64>| v.filter(|x| x.is_finite() && (0.0..=1.0).contains(x));
    let n_scored = values.iter().filter(|v| valid(v).is_some()).count();
    let counted: Vec<f64> = values.iter().map(|v| valid(v).unwrap_or(0.0)).collect();
    let (score, _, ci95) = summarize(&counted, seed);
    FullSetScore {
        n_items: values.len(),
        n_scored,
        coverage: ratio(n_scored, values.len()),
        score,
        ci95,
    }
}

/// The full-eval-set score from a run's summary figures alone, for when its
/// items are not at hand: `primary · n_scored / n_items`, with Wilson's
/// interval when every scored value was 0 or 1 (`binary`: the primary
/// score's CI method is Wilson), so that the count of right answers is
/// `primary · n_scored`; no interval otherwise.
pub fn full_set_from_summary(
    primary: Option<f64>,
    n_scored: usize,
    n_items: usize,
    binary: bool,
) -> FullSetScore {
    let coverage = ratio(n_scored, n_items);
    let score = match primary.filter(|p| p.is_finite()) {
        Some(p) if n_items > 0 => Some(p * n_scored as f64 / n_items as f64),
        None if n_items > 0 && n_scored == 0 => Some(0.0),
        _ => None,
    };
    let ci95 = match (score, binary || n_scored == 0) {
        (Some(_), true) => {
            let right = (primary.unwrap_or(0.0) * n_scored as f64).round().max(0.0) as u64;
            wilson_ci(right.min(n_items as u64), n_items as u64, Z95).map(|ci| ConfidenceInterval {
                low: ci.low,
                high: ci.high,
                method: CiMethod::Wilson,
            })
        }
        _ => None,
    };
    FullSetScore {
        n_items,
        n_scored,
        coverage,
        score,
        ci95,
    }
}

/// `part / whole`; `None` when `whole` is 0.
fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::intervals::DEFAULT_BOOTSTRAP_SEED;
    use crate::scoring::rows::tests::row;
    use crate::scoring::score::primary_score;

    /// The run of the issue: 11 right answers submitted out of 120 items.
    fn gamed() -> Vec<ItemRow> {
        (0..120)
            .map(|i| {
                let value = (i < 11).then_some(1.0);
                row(&format!("q{i:03}"), "core", value, None)
            })
            .collect()
    }

    #[test]
    fn leaving_items_out_does_not_raise_the_full_set_score() {
        let rows = gamed();
        assert_eq!(primary_score(&rows).value, Some(1.0));
        let full = full_set_score(&rows, DEFAULT_BOOTSTRAP_SEED);
        assert_eq!((full.n_items, full.n_scored), (120, 11));
        assert!(!full.complete());
        assert!((full.score.unwrap_or(1.0) - 11.0 / 120.0).abs() < 1e-15);
        assert!((full.coverage.unwrap_or(1.0) - 11.0 / 120.0).abs() < 1e-15);
        let ci = full.ci95.expect("an interval");
        assert_eq!(ci.method, CiMethod::Wilson);
        let want = wilson_ci(11, 120, Z95).expect("wilson");
        assert_eq!((ci.low, ci.high), (want.low, want.high));
        assert!(ci.high < 0.17, "{ci:?}");
    }

    #[test]
    fn a_complete_run_scores_its_primary_score() {
        let rows: Vec<ItemRow> = (0..40)
            .map(|i| row(&format!("{i}"), "c", Some(f64::from(i % 4 == 0)), None))
            .collect();
        let full = full_set_score(&rows, 1);
        assert!(full.complete());
        assert_eq!(full.score, primary_score(&rows).value);
        assert_eq!(full.coverage, Some(1.0));
    }

    #[test]
    fn partial_credit_uses_the_bootstrap_and_empty_runs_have_no_score() {
        let rows = vec![
            row("a", "c", Some(0.5), None),
            row("b", "c", None, None),
            row("c", "c", None, Some(100.0)),
        ];
        let full = full_set_score(&rows, 7);
        assert_eq!(full.score, Some(0.5));
        assert_eq!(full.ci95.map(|c| c.method), Some(CiMethod::Bootstrap));
        let empty = full_set_score(&[], 7);
        assert_eq!(
            (empty.score, empty.coverage, empty.ci95),
            (None, None, None)
        );
        assert!(!empty.complete());
    }

    #[test]
    fn the_summary_fallback_agrees_with_the_rows_for_binary_runs() {
        let rows = gamed();
        let p = primary_score(&rows);
        let from_summary = full_set_from_summary(p.value, p.n_scored, p.n_items, true);
        let from_rows = full_set_score(&rows, 1);
        assert_eq!(from_summary.ci95, from_rows.ci95);
        assert!((from_summary.score.unwrap_or(0.0) - 11.0 / 120.0).abs() < 1e-15);
        let nothing = full_set_from_summary(None, 0, 10, false);
        assert_eq!(nothing.score, Some(0.0));
        assert_eq!(nothing.ci95.map(|c| c.method), Some(CiMethod::Wilson));
        let unknown = full_set_from_summary(Some(0.5), 10, 10, false);
        assert_eq!((unknown.score, unknown.ci95), (Some(0.5), None));
        assert_eq!(full_set_from_summary(None, 0, 0, true).score, None);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scoring::rows::tests::row;
    use crate::scoring::score::primary_score;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn the_full_set_score_never_exceeds_the_primary_score_and_ignores_order(
            values in prop::collection::vec(prop::option::of(prop::sample::select(vec![0.0, 0.5, 1.0])), 1..60),
            seed in any::<u64>(),
        ) {
            let rows: Vec<ItemRow> = values.iter().enumerate()
                .map(|(i, v)| row(&format!("i{i:03}"), "c", *v, None)).collect();
            let full = full_set_score(&rows, seed);
            let mut reversed = rows.clone();
            reversed.reverse();
            prop_assert_eq!(full, full_set_score(&reversed, seed));
            let score = full.score.unwrap_or(f64::NAN);
            prop_assert!((0.0..=1.0).contains(&score));
            if let Some(p) = primary_score(&rows).value {
                prop_assert!(score <= p + 1e-12);
            }
            let coverage = full.coverage.unwrap_or(f64::NAN);
            prop_assert!((0.0..=1.0).contains(&coverage));
            prop_assert_eq!(full.complete(), coverage == 1.0);
            if let Some(ci) = full.ci95 {
                prop_assert!(ci.low <= score + 1e-12 && score <= ci.high + 1e-12);
            }
        }
    }
}
