//! Per-tag figures as the reports show them: the union of the runs' tags,
//! one run's figures for one tag as a table cell (mean, fully correct /
//! scored items, 95% CI), and a comparison's per-tag figures of A and B
//! with the difference of their means.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;
use serde::Serialize;

use super::templates::trusted;
use super::{num, RunSummary};
use crate::scoring::TagStats;

/// Every tag of `runs`, sorted.
pub(super) fn tag_names<'a>(runs: impl IntoIterator<Item = &'a RunSummary>) -> Vec<&'a str> {
    let set: BTreeSet<&str> = runs
        .into_iter()
        .flat_map(|r| r.tag_scores.keys().map(String::as_str))
        .collect();
    set.into_iter().collect()
}

/// One run's figures for one tag, as text.
#[derive(Debug, Serialize)]
pub(super) struct TagCell {
    /// Whether the run has items with this tag.
    known: bool,
    /// `0.7500`, or `—`.
    mean: Value,
    /// `[0.6087, 0.9114]`, or empty without an interval.
    ci: Value,
    /// Fully correct / scored items: `20/25`.
    counts: Value,
    /// Sort key of the cell: the mean, empty when missing.
    key: Value,
}

/// The cell of `stats` (none: the run has no item with the tag).
pub(super) fn cell(stats: Option<&TagStats>) -> TagCell {
    let mean = stats.and_then(|s| s.mean);
    let ci = stats
        .and_then(|s| s.ci95)
        .filter(|c| c.low.is_finite() && c.high.is_finite())
        .map(|c| {
            format!(
                "[{}, {}]",
                num::fixed(Some(c.low)),
                num::fixed(Some(c.high))
            )
        })
        .unwrap_or_default();
    TagCell {
        known: stats.is_some(),
        mean: trusted(num::fixed(mean)),
        ci: trusted(ci),
        counts: trusted(
            stats
                .map(|s| format!("{}/{}", s.n_correct, s.n_scored))
                .unwrap_or_else(|| num::NONE.to_string()),
        ),
        key: trusted(num::sort_key(mean)),
    }
}

/// One tag's figures in A and B.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TagDelta<'a> {
    /// A's figures; null when A has no item with this tag.
    pub a: Option<&'a TagStats>,
    /// B's figures; null when B has no item with this tag.
    pub b: Option<&'a TagStats>,
    /// B's mean − A's mean in percentage points, when both are known (a
    /// difference of means, not a paired test).
    pub delta_pp: Option<f64>,
}

/// Both runs' figures for every tag either has.
pub(super) fn tag_deltas<'a>(
    a: &'a RunSummary,
    b: &'a RunSummary,
) -> BTreeMap<&'a str, TagDelta<'a>> {
    tag_names([a, b])
        .into_iter()
        .map(|name| {
            let (ta, tb) = (a.tag_scores.get(name), b.tag_scores.get(name));
            let mean = |t: Option<&TagStats>| t.and_then(|t| t.mean).filter(|m| m.is_finite());
            let delta = mean(ta).zip(mean(tb)).map(|(x, y)| (y - x) * 100.0);
            (
                name,
                TagDelta {
                    a: ta,
                    b: tb,
                    delta_pp: delta,
                },
            )
        })
        .collect()
}

/// `positive`, `negative`, `zero` or `none`: a difference's CSS class.
pub(super) fn sign(delta: Option<f64>) -> &'static str {
    match delta {
        None => "none",
        Some(x) if x > 0.0 => "positive",
        Some(x) if x < 0.0 => "negative",
        Some(_) => "zero",
    }
}

/// One tag row of the comparison.
#[derive(Debug, Serialize)]
pub(super) struct TagDeltaView<'a> {
    name: &'a str,
    a: TagCell,
    b: TagCell,
    /// `+5.00 pp`, or `—`.
    delta: Value,
    sign: &'static str,
}

/// The comparison's tag rows, by tag.
pub(super) fn delta_rows<'a>(deltas: &BTreeMap<&'a str, TagDelta<'_>>) -> Vec<TagDeltaView<'a>> {
    deltas
        .iter()
        .map(|(name, d)| TagDeltaView {
            name,
            a: cell(d.a),
            b: cell(d.b),
            delta: trusted(num::pp(d.delta_pp)),
            sign: sign(d.delta_pp),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::{CiMethod, ConfidenceInterval};

    fn stats(n: usize, correct: usize) -> TagStats {
        TagStats {
            n_items: n,
            n_scored: n,
            n_skipped: 0,
            n_correct: correct,
            mean: Some(correct as f64 / n as f64),
            ci95: Some(ConfidenceInterval {
                low: 0.25,
                high: 0.875,
                method: CiMethod::Wilson,
            }),
        }
    }

    #[test]
    fn a_cell_shows_mean_counts_and_interval() {
        let c = cell(Some(&stats(4, 3)));
        assert!(c.known);
        assert_eq!(c.mean.to_string(), "0.7500");
        assert_eq!(c.counts.to_string(), "3/4");
        assert_eq!(c.ci.to_string(), "[0.2500, 0.8750]");
        assert_eq!(c.key.to_string(), "0.75");
        let none = cell(None);
        assert!(!none.known);
        assert_eq!(none.mean.to_string(), "—");
        assert_eq!(none.ci.to_string(), "");
        assert_eq!(none.key.to_string(), "");
    }

    #[test]
    fn deltas_cover_the_union_and_need_both_means() {
        let mut a = super::super::fixtures::baseline();
        let mut b = a.clone();
        a.tag_scores = [
            ("x".to_string(), stats(4, 1)),
            ("y".to_string(), stats(2, 2)),
        ]
        .into();
        b.tag_scores = [
            ("x".to_string(), stats(4, 3)),
            ("z".to_string(), stats(1, 0)),
        ]
        .into();
        let d = tag_deltas(&a, &b);
        assert_eq!(d.keys().copied().collect::<Vec<_>>(), ["x", "y", "z"]);
        assert_eq!(d["x"].delta_pp, Some(50.0));
        assert_eq!((d["y"].delta_pp, d["y"].b), (None, None));
        assert_eq!(d["z"].a, None);
        let rows = delta_rows(&d);
        assert_eq!(
            rows.iter().map(|r| r.sign).collect::<Vec<_>>(),
            ["positive", "none", "none"]
        );
        assert_eq!(sign(Some(-0.1)), "negative");
        assert_eq!(sign(Some(0.0)), "zero");
    }
}
