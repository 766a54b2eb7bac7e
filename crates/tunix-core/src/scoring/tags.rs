//! Per-tag figures of one run: for every tag of the eval items, the
//! statistics of the items that carry it (the same functions, and so the
//! same intervals, as a category's), plus how many of them were fully
//! correct. An item counts toward every tag it has (once per tag, however
//! often the tag is repeated); an untagged item counts toward none.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::group::{category_stats, sorted_values, CategoryStats, ConfidenceInterval};
use super::rows::ItemRow;
use crate::rng::derive_seed;

/// Summary statistics of the items carrying one tag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TagStats {
    /// Items with this tag.
    pub n_items: usize,
    /// Of those, items with a valid value.
    pub n_scored: usize,
    /// Of those, items without a valid value.
    pub n_skipped: usize,
    /// Scored items with value 1 (fully correct).
    pub n_correct: usize,
    /// Mean value of scored items; `null` when none.
    pub mean: Option<f64>,
    /// 95% confidence interval of the mean (Wilson for 0/1 values, else the
    /// seeded bootstrap, as per category); `null` when nothing is scored.
    pub ci95: Option<ConfidenceInterval>,
}

/// The seed of tag `tag`'s bootstrap, derived from the run's `seed` (kept
/// apart from a category of the same name).
pub fn tag_seed(seed: u64, tag: &str) -> u64 {
    derive_seed(seed, &format!("tag:{tag}"))
}

/// The figures of every tag of `rows`, keyed by tag.
pub fn per_tag(rows: &[ItemRow], seed: u64) -> BTreeMap<String, TagStats> {
    rows_by_tag(rows)
        .into_iter()
        .map(|(tag, rows)| (tag.to_string(), tag_stats(&rows, tag_seed(seed, tag))))
        .collect()
}

/// The rows carrying each tag, each row once per distinct tag it has.
fn rows_by_tag(rows: &[ItemRow]) -> BTreeMap<&str, Vec<&ItemRow>> {
    let mut by_tag: BTreeMap<&str, Vec<&ItemRow>> = BTreeMap::new();
    for row in rows {
        let distinct: BTreeSet<&str> = row.tags.iter().map(String::as_str).collect();
        for tag in distinct {
            by_tag.entry(tag).or_default().push(row);
        }
    }
    by_tag
}

/// The figures of one tag's rows.
fn tag_stats(rows: &[&ItemRow], seed: u64) -> TagStats {
    let CategoryStats {
        n_items,
        n_scored,
        n_skipped,
        mean,
        stddev: _,
        ci95,
    } = category_stats(rows, seed);
    let (values, _) = sorted_values(rows.iter().copied());
    TagStats {
        n_items,
        n_scored,
        n_skipped,
        n_correct: values.iter().filter(|&&v| v == 1.0).count(),
        mean,
        ci95,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::build_scorecard;
    use crate::scoring::group::CiMethod;
    use crate::scoring::rows::tests::tagged;

    #[test]
    fn an_item_counts_toward_each_of_its_tags_and_untagged_items_toward_none() {
        let rows = vec![
            tagged("1", "core", Some(1.0), &["multiplication", "2-step"]),
            tagged("2", "core", Some(0.0), &["multiplication"]),
            tagged("3", "edge", Some(1.0), &[]),
            tagged("4", "edge", None, &["2-step", "2-step"]),
        ];
        let tags = per_tag(&rows, 7);
        let keys: Vec<&str> = tags.keys().map(String::as_str).collect();
        assert_eq!(keys, ["2-step", "multiplication"]);
        let m = &tags["multiplication"];
        assert_eq!(
            (m.n_items, m.n_scored, m.n_skipped, m.n_correct),
            (2, 2, 0, 1)
        );
        assert_eq!(m.mean, Some(0.5));
        let s = &tags["2-step"];
        assert_eq!(
            (s.n_items, s.n_scored, s.n_skipped, s.n_correct),
            (2, 1, 1, 1)
        );
        assert_eq!(s.mean, Some(1.0));
        assert!(per_tag(&[tagged("x", "c", Some(1.0), &[])], 7).is_empty());
    }

    #[test]
    fn tag_intervals_match_a_category_with_the_same_values() {
        let rows: Vec<ItemRow> = (0..25)
            .map(|i| {
                let correct = f64::from(u8::from(i % 5 != 0));
                tagged(&format!("i{i:02}"), "core", Some(correct), &["t"])
            })
            .collect();
        let card = build_scorecard(&rows, 3);
        let (tag, category) = (&card.per_tag["t"], &card.per_category["core"]);
        assert_eq!(tag.ci95, category.ci95);
        assert_eq!(tag.ci95.map(|c| c.method), Some(CiMethod::Wilson));
        assert_eq!(tag.mean, category.mean);
        assert_eq!((tag.n_scored, tag.n_correct), (25, 20));
        let ci = tag.ci95.expect("an interval");
        // Wilson 20/25 at z = 1.959963984540054, from the closed form.
        assert!((ci.low - 0.608_690_496_304_596_7).abs() < 1e-12, "{ci:?}");
        assert!((ci.high - 0.911_394_153_131_974_2).abs() < 1e-12, "{ci:?}");
    }

    #[test]
    fn partial_credit_gets_the_bootstrap_and_counts_only_full_marks() {
        let rows = vec![
            tagged("a", "trace", Some(0.5), &["t"]),
            tagged("b", "trace", Some(1.0), &["t"]),
            tagged("c", "trace", Some(0.25), &["t"]),
        ];
        let tags = per_tag(&rows, 11);
        let t = &tags["t"];
        assert_eq!(t.n_correct, 1);
        assert_eq!(t.ci95.map(|c| c.method), Some(CiMethod::Bootstrap));
        assert_eq!(per_tag(&rows, 11), tags, "seeded: the same every time");
    }

    #[test]
    fn tags_are_order_independent_and_absent_from_untagged_scorecards() {
        let rows = vec![
            tagged("a", "core", Some(1.0), &["x", "y"]),
            tagged("b", "core", Some(0.0), &["y"]),
        ];
        let mut reversed = rows.clone();
        reversed.reverse();
        assert_eq!(per_tag(&rows, 1), per_tag(&reversed, 1));
        let untagged = build_scorecard(&[tagged("a", "core", Some(1.0), &[])], 1);
        let json = serde_json::to_value(&untagged).expect("json");
        assert!(json.get("per_tag").is_none(), "{json}");
        let back: crate::scoring::Scorecard = serde_json::from_value(json).expect("reads");
        assert!(back.per_tag.is_empty());
    }
}
