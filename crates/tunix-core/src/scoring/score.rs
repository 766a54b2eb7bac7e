//! The primary score and the scorecard of one run.
//!
//! Both aggregate item values (see
//! [`item_value`](super::rows::item_value)): rows without a valid
//! value are skipped and counted, never silently dropped. Every aggregate
//! sums values sorted by item id (then by value), so results are
//! bit-identical whatever the order of the input rows.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::coverage::full_set_score;
use super::group::{
    category_stats, sorted_values, summarize, CategoryStats, ConfidenceInterval,
    DEFAULT_BOOTSTRAP_RESAMPLES,
};
use super::rows::{id_list, mean, ItemRow};
use super::tags::{per_tag, TagStats};
use crate::rng::derive_seed;

/// Below this many scored items the scorecard warns that the CI is wide.
pub const SMALL_SAMPLE_WARNING: usize = 30;

/// The headline number of an eval run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrimaryScore {
    /// Mean item value over scored items, in `[0, 1]`; `null` when no item
    /// could be scored.
    pub value: Option<f64>,
    /// Number of rows given.
    pub n_items: usize,
    /// Rows with a valid value.
    pub n_scored: usize,
    /// Rows without a valid value (`n_items - n_scored`).
    pub n_skipped: usize,
}

/// Computes the primary score exactly as DESIGN.md's scoring semantics say.
pub fn primary_score(rows: &[ItemRow]) -> PrimaryScore {
    let (values, skipped) = sorted_values(rows);
    PrimaryScore {
        value: mean(&values),
        n_items: rows.len(),
        n_scored: values.len(),
        n_skipped: skipped.len(),
    }
}

/// Everything a report needs to know about one eval run's scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Scorecard {
    /// Rows given.
    pub n_items: usize,
    /// Rows with a valid value.
    pub n_scored: usize,
    /// Rows without a valid value; their ids are listed in `warnings`.
    pub n_skipped: usize,
    /// Mean value of scored rows (the primary score); `null` when none.
    pub mean: Option<f64>,
    /// Sample standard deviation of scored values; `null` below two.
    pub stddev: Option<f64>,
    /// 95% confidence interval of the mean; `null` when nothing is scored.
    pub ci95: Option<ConfidenceInterval>,
    /// The same statistics per category, keyed by category name.
    pub per_category: BTreeMap<String, CategoryStats>,
    /// The same statistics per item tag, with the count of fully correct
    /// items: an item counts toward every tag it has, an untagged item
    /// toward none. Absent when no item has a tag (and in scorecards
    /// written before per-tag figures existed).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_tag: BTreeMap<String, TagStats>,
    /// Seed of the bootstrap intervals (categories and tags use seeds
    /// derived from it and their name).
    pub bootstrap_seed: u64,
    /// Resamples per bootstrap interval.
    pub bootstrap_resamples: usize,
    /// Human-readable caveats: skipped items, small samples, duplicate ids.
    pub warnings: Vec<String>,
}

/// Ids that occur on more than one row, sorted.
fn duplicate_ids(rows: &[ItemRow]) -> Vec<&str> {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    let mut dups: Vec<&str> = ids
        .windows(2)
        .filter(|w| w[0] == w[1])
        .map(|w| w[0])
        .collect();
    dups.dedup();
    dups
}

/// The scorecard's caveats, in a fixed order.
fn scorecard_warnings(
    rows: &[ItemRow],
    n_scored: usize,
    skipped: &[&str],
    seed: u64,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if !rows.is_empty() && n_scored < rows.len() {
        warnings.push(incomplete_warning(rows, seed));
    }
    if rows.is_empty() {
        warnings.push("no items: mean, stddev and CI are undefined".to_string());
    } else if n_scored == 0 {
        warnings.push(format!(
            "none of the {} items has a valid answer_correctness or score: mean, stddev and CI are undefined",
            rows.len()
        ));
    }
    if !skipped.is_empty() {
        warnings.push(format!(
            "{} of {} items skipped (no answer_correctness in [0,1] and no score in [0,100]): {}",
            skipped.len(),
            rows.len(),
            id_list(skipped)
        ));
    }
    if (1..SMALL_SAMPLE_WARNING).contains(&n_scored) {
        warnings.push(format!(
            "n_scored={n_scored} < {SMALL_SAMPLE_WARNING}: the 95% CI is wide; treat differences with caution"
        ));
    }
    let dups = duplicate_ids(rows);
    if !dups.is_empty() {
        warnings.push(format!(
            "duplicate item ids (each row counted separately): {}",
            id_list(&dups)
        ));
    }
    warnings
}

/// The warning of an incomplete run: its coverage, and its full-eval-set
/// score (unscored items counted as wrong), which decisions use.
fn incomplete_warning(rows: &[ItemRow], seed: u64) -> String {
    let full = full_set_score(rows, seed);
    let ci = full
        .ci95
        .map(|c| format!(" [{:.4}, {:.4}]", c.low, c.high))
        .unwrap_or_default();
    format!(
        "incomplete run: coverage {:.1}% ({} of {} items scored); the primary score leaves the {} unscored items out, the full-eval-set score counts them as wrong: {:.4}{ci} (leaderboard ranks, compare and regress decide on it)",
        full.coverage.unwrap_or(0.0) * 100.0,
        full.n_scored,
        full.n_items,
        full.n_items - full.n_scored,
        full.score.unwrap_or(0.0),
    )
}

/// Builds the scorecard of one run.
///
/// The overall bootstrap uses `seed`; category `c` uses
/// `derive_seed(seed, c)`, tag `t` `derive_seed(seed, "tag:t")`. Use
/// [`DEFAULT_BOOTSTRAP_SEED`](super::intervals::DEFAULT_BOOTSTRAP_SEED)
/// unless the run records its own seed.
pub fn build_scorecard(rows: &[ItemRow], seed: u64) -> Scorecard {
    let (values, skipped) = sorted_values(rows);
    let (mean, stddev, ci95) = summarize(&values, seed);
    let mut by_category: BTreeMap<&str, Vec<&ItemRow>> = BTreeMap::new();
    for row in rows {
        by_category.entry(&row.category).or_default().push(row);
    }
    let per_category = by_category
        .into_iter()
        .map(|(name, rows)| {
            let stats = category_stats(&rows, derive_seed(seed, name));
            (name.to_string(), stats)
        })
        .collect();
    Scorecard {
        n_items: rows.len(),
        n_scored: values.len(),
        n_skipped: skipped.len(),
        mean,
        stddev,
        ci95,
        per_category,
        per_tag: per_tag(rows, seed),
        bootstrap_seed: seed,
        bootstrap_resamples: DEFAULT_BOOTSTRAP_RESAMPLES,
        warnings: scorecard_warnings(rows, values.len(), &skipped, seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::group::CiMethod;
    use crate::scoring::intervals::DEFAULT_BOOTSTRAP_SEED;
    use crate::scoring::rows::tests::row;

    #[test]
    fn primary_score_counts_skipped_rows() {
        let rows = vec![
            row("1", "core", Some(1.0), None),
            row("2", "core", Some(0.0), None),
            row("3", "core", None, Some(50.0)),
            row("4", "edge", None, None),
        ];
        let p = primary_score(&rows);
        assert_eq!(p.value, Some(0.5));
        assert_eq!((p.n_items, p.n_scored, p.n_skipped), (4, 3, 1));
        let none = primary_score(&[row("x", "c", None, None)]);
        assert_eq!(none.value, None);
        assert_eq!(primary_score(&[]).value, None);
    }

    #[test]
    fn primary_score_is_bit_identical_under_reordering() {
        let rows: Vec<ItemRow> = (0..200)
            .map(|i| {
                row(
                    &format!("id-{i:03}"),
                    "c",
                    Some(((i * 37) % 101) as f64 / 101.0),
                    None,
                )
            })
            .collect();
        let mut reversed = rows.clone();
        reversed.reverse();
        let a = primary_score(&rows).value.map(f64::to_bits);
        let b = primary_score(&reversed).value.map(f64::to_bits);
        assert_eq!(a, b);
    }

    #[test]
    fn scorecard_uses_wilson_for_binary_and_bootstrap_otherwise() {
        let binary: Vec<ItemRow> = (0..40)
            .map(|i| row(&format!("b{i}"), "core", Some(f64::from(i % 4 == 0)), None))
            .collect();
        let card = build_scorecard(&binary, DEFAULT_BOOTSTRAP_SEED);
        let ci = card.ci95.map(|c| c.method);
        assert_eq!(ci, Some(CiMethod::Wilson));
        assert_eq!(card.mean, Some(0.25));
        assert!(card.warnings.is_empty(), "{:?}", card.warnings);

        let mixed = vec![
            row("1", "core", Some(0.5), None),
            row("2", "trace", Some(1.0), None),
            row("3", "trace", None, Some(20.0)),
            row("4", "edge", None, None),
        ];
        let card = build_scorecard(&mixed, DEFAULT_BOOTSTRAP_SEED);
        assert_eq!(card.ci95.map(|c| c.method), Some(CiMethod::Bootstrap));
        assert_eq!((card.n_items, card.n_scored, card.n_skipped), (4, 3, 1));
        assert_eq!(card.per_category["edge"].n_skipped, 1);
        assert_eq!(card.per_category["edge"].mean, None);
        assert_eq!(card.per_category["trace"].mean, Some(0.6));
        assert!(card
            .warnings
            .iter()
            .any(|w| w.contains("skipped") && w.contains('4')));
        assert!(
            card.warnings[0].starts_with(
                "incomplete run: coverage 75.0% (3 of 4 items scored); the primary score leaves the 1 unscored items out, the full-eval-set score counts them as wrong: 0.4250 ["
            ),
            "{:?}",
            card.warnings
        );
        assert!(card
            .warnings
            .iter()
            .any(|w| w.starts_with("n_scored=3 < 30")));
        assert_eq!(card.bootstrap_resamples, DEFAULT_BOOTSTRAP_RESAMPLES);
    }

    #[test]
    fn scorecard_flags_empty_and_duplicate_inputs() {
        let card = build_scorecard(&[], 1);
        assert_eq!(card.mean, None);
        assert_eq!(card.ci95, None);
        assert!(card.warnings[0].starts_with("no items"));
        let dup = vec![
            row("a", "c", Some(1.0), None),
            row("a", "c", Some(0.0), None),
        ];
        let card = build_scorecard(&dup, 1);
        assert!(card
            .warnings
            .iter()
            .any(|w| w.starts_with("duplicate item ids")));
    }

    #[test]
    fn scorecard_serialization_is_deterministic_and_round_trips() {
        let rows = vec![
            row("1", "core", Some(0.25), None),
            row("2", "core", Some(0.75), None),
            row("3", "edge", Some(1.0), None),
        ];
        let a = serde_json::to_string(&build_scorecard(&rows, 9)).ok();
        let b = serde_json::to_string(&build_scorecard(&rows, 9)).ok();
        assert!(a.is_some());
        assert_eq!(a, b);
        let back: Option<Scorecard> = a.as_deref().and_then(|s| serde_json::from_str(s).ok());
        assert_eq!(back, Some(build_scorecard(&rows, 9)));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scoring::rows::tests::row;
    use proptest::prelude::*;

    fn any_value() -> impl Strategy<Value = Option<f64>> {
        prop_oneof![
            Just(None),
            (0.0_f64..=1.0).prop_map(Some),
            (-5.0_f64..105.0).prop_map(Some),
            prop::sample::select(vec![f64::NAN, f64::INFINITY, -0.0, 0.0, 1.0, 100.0])
                .prop_map(Some),
        ]
    }

    fn rows() -> impl Strategy<Value = Vec<ItemRow>> {
        prop::collection::vec(
            ("[a-e][0-9]{1,2}", "[xyz]", any_value(), any_value()),
            0..40,
        )
        .prop_map(|v| {
            v.into_iter()
                .map(|(id, cat, ac, score)| row(&id, &cat, ac, score))
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn primary_score_is_in_unit_interval(rows in rows()) {
            let p = primary_score(&rows);
            prop_assert_eq!(p.n_scored + p.n_skipped, p.n_items);
            if let Some(v) = p.value {
                prop_assert!((0.0..=1.0).contains(&v));
            }
            prop_assert_eq!(p.value.is_none(), p.n_scored == 0);
        }

        #[test]
        fn scorecard_is_order_independent(
            (rows, shuffled) in rows().prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
            seed in any::<u64>(),
        ) {
            let a = primary_score(&rows).value.map(f64::to_bits);
            let b = primary_score(&shuffled).value.map(f64::to_bits);
            prop_assert_eq!(a, b);
            let ca = serde_json::to_string(&build_scorecard(&rows, seed)).ok();
            let cb = serde_json::to_string(&build_scorecard(&shuffled, seed)).ok();
            prop_assert_eq!(ca, cb);
        }

        #[test]
        fn scorecard_ci_contains_the_mean(rows in rows(), seed in any::<u64>()) {
            let card = build_scorecard(&rows, seed);
            if let (Some(m), Some(ci)) = (card.mean, card.ci95) {
                prop_assert!(ci.low <= m + 1e-12 && m <= ci.high + 1e-12, "{ci:?} {m}");
                prop_assert!(0.0 <= ci.low && ci.high <= 1.0);
            }
        }
    }
}
