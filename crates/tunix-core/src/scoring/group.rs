//! Statistics of one group of item rows (a whole run, one category, one
//! tag): the valid values sorted by id, their mean, sample standard
//! deviation and 95% confidence interval. The scorecard and the per-tag
//! figures share these functions, so a category and a tag with the same
//! values get the same interval.
//!
//! The interval is Wilson's score interval when every value is exactly 0
//! or 1, else a seeded percentile bootstrap of the mean.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::intervals::{bootstrap_mean_ci, wilson_ci, Z95};
use super::rows::{item_value, mean, ItemRow};

/// Number of bootstrap resamples behind every scorecard interval.
pub const DEFAULT_BOOTSTRAP_RESAMPLES: usize = 10_000;

/// How a confidence interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CiMethod {
    /// Wilson score interval; used when every value is exactly 0 or 1.
    Wilson,
    /// Seeded percentile bootstrap of the mean; used otherwise.
    Bootstrap,
}

/// A 95% confidence interval for a mean.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ConfidenceInterval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Method used.
    pub method: CiMethod,
}

/// Summary statistics of one category.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CategoryStats {
    /// Rows in this category.
    pub n_items: usize,
    /// Rows with a valid value.
    pub n_scored: usize,
    /// Rows without a valid value.
    pub n_skipped: usize,
    /// Mean value of scored rows; `null` when none.
    pub mean: Option<f64>,
    /// Sample standard deviation; `null` below two scored rows.
    pub stddev: Option<f64>,
    /// 95% confidence interval of the mean; `null` when nothing is scored.
    pub ci95: Option<ConfidenceInterval>,
}

/// Valid values sorted by (id, value), and the sorted ids of skipped rows.
pub(super) fn sorted_values<'a>(
    rows: impl IntoIterator<Item = &'a ItemRow>,
) -> (Vec<f64>, Vec<&'a str>) {
    let mut scored: Vec<(&str, f64)> = Vec::new();
    let mut skipped: Vec<&str> = Vec::new();
    for row in rows {
        match item_value(row) {
            Some(v) => scored.push((&row.id, v)),
            None => skipped.push(&row.id),
        }
    }
    scored.sort_by(|x, y| x.0.cmp(y.0).then(x.1.total_cmp(&y.1)));
    skipped.sort_unstable();
    (scored.into_iter().map(|(_, v)| v).collect(), skipped)
}

/// Sample standard deviation (n − 1 denominator); `None` below two values.
pub(crate) fn sample_stddev(values: &[f64], mean: f64) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    Some((ss / (values.len() - 1) as f64).sqrt())
}

/// Mean, stddev and CI of sorted values.
pub(super) fn summarize(
    values: &[f64],
    seed: u64,
) -> (Option<f64>, Option<f64>, Option<ConfidenceInterval>) {
    let Some(m) = mean(values) else {
        return (None, None, None);
    };
    (Some(m), sample_stddev(values, m), ci95(values, seed))
}

/// Wilson for all-0/1 values, else the seeded percentile bootstrap.
fn ci95(values: &[f64], seed: u64) -> Option<ConfidenceInterval> {
    if values.iter().all(|&v| v == 0.0 || v == 1.0) {
        let successes = values.iter().filter(|&&v| v == 1.0).count() as u64;
        let ci = wilson_ci(successes, values.len() as u64, Z95)?;
        return Some(ConfidenceInterval {
            low: ci.low,
            high: ci.high,
            method: CiMethod::Wilson,
        });
    }
    let ci = bootstrap_mean_ci(values, DEFAULT_BOOTSTRAP_RESAMPLES, seed, 0.95)?;
    Some(ConfidenceInterval {
        low: ci.low,
        high: ci.high,
        method: CiMethod::Bootstrap,
    })
}

/// Statistics of one group's rows (`seed`: its bootstrap's seed).
pub(super) fn category_stats(rows: &[&ItemRow], seed: u64) -> CategoryStats {
    let (values, skipped) = sorted_values(rows.iter().copied());
    let (mean, stddev, ci95) = summarize(&values, seed);
    CategoryStats {
        n_items: rows.len(),
        n_scored: values.len(),
        n_skipped: skipped.len(),
        mean,
        stddev,
        ci95,
    }
}
