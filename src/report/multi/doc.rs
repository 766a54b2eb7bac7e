//! The comparison of runs as JSON: the N-run document, and what the
//! paired report of two runs gains (their metrics, final metrics and
//! config differences), with the notes both show.

use serde::Serialize;

use super::super::compare::CompareDoc;
use super::super::{num, ComparisonFigures, RunSummary};
use super::config::{diff_configs, ConfigDiff};
use super::input::{MultiInput, MultiRun};
use super::items::{item_matrix, ItemResults};
use super::pairs::{holm_results, n_tested};
use super::series::{final_metrics, FinalMetric, Metrics};
use crate::scoring::Verdict;

/// The version of the N-run comparison's JSON document.
pub const COMPARE_RUNS_SCHEMA_VERSION: u32 = 1;

/// The label of run `i` (0-based): `A` to `Z`, then `R27`, `R28`, ...
pub fn label(i: usize) -> String {
    match u8::try_from(i) {
        Ok(n) if n < 26 => char::from(b'A' + n).to_string(),
        _ => format!("R{}", i + 1),
    }
}

/// The comparison of N runs as JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompareRunsDoc<'a> {
    /// Version of this document's layout: 1.
    pub schema_version: u32,
    /// The runs, in the order given, each with its label (`A`, `B`, ...).
    pub runs: Vec<RunDoc<'a>>,
    /// The config keys whose values differ between the runs.
    pub config_diff: ConfigDiff,
    /// Each metric's value at each run's last step.
    pub final_metrics: Vec<FinalMetric>,
    /// The multiple-comparison correction of the pairs' verdicts: `holm`.
    pub correction: &'static str,
    /// How many pairs were tested (the family the correction is over).
    pub n_tests: usize,
    /// The paired test of each pair of evaluated runs, with the
    /// Holm-adjusted p-value and the verdict decided on it.
    pub pairs: Vec<PairDoc<'a>>,
    /// Every item of any evaluated run with each evaluated run's result:
    /// flipped items first, each group by id.
    pub items: Vec<ItemDoc<'a>>,
    /// Notes about the comparison (runs without eval results, incomplete
    /// runs, pairs left untested, ...); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One run and what it recorded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunDoc<'a> {
    /// `A`, `B`, ...
    pub label: String,
    /// Whether the run has eval results.
    pub evaluated: bool,
    /// Identity and scores (scores null when not evaluated).
    pub run: &'a RunSummary,
    /// Each metric of `metrics.jsonl` as `[step, value]` points.
    pub metrics: &'a Metrics,
}

/// The paired comparison of run `b` against run `a`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairDoc<'a> {
    /// A's label.
    pub a: String,
    /// B's label.
    pub b: String,
    pub a_run_id: &'a str,
    pub b_run_id: &'a str,
    /// The paired test, as a two-run comparison computes it (its `verdict`
    /// is the uncorrected one).
    pub figures: &'a ComparisonFigures,
    /// The p-value after Holm's correction over the tested pairs.
    pub p_holm: Option<f64>,
    /// The verdict on the Holm-adjusted p-value.
    pub verdict_holm: Verdict,
}

/// One item across the evaluated runs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemDoc<'a> {
    pub id: &'a str,
    pub category: &'a str,
    pub expected: &'a str,
    /// Whether the runs' values differ (a missing value counted as 0).
    pub flipped: bool,
    /// Each evaluated run's result, in the runs' order.
    pub results: Vec<ItemCellDoc<'a>>,
}

/// A run's result on an item.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemCellDoc<'a> {
    /// The run's label.
    pub run: String,
    /// Whether the run has a row for the item.
    pub present: bool,
    pub extracted: Option<&'a str>,
    /// Correctness in [0, 1]; null when missing or without a valid value
    /// (counted as wrong).
    pub correct: Option<f64>,
}

/// What the paired report of two runs gains in JSON: both runs' metrics,
/// their final values and the config differences, beside every field of
/// the paired comparison.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairRunsDoc<'a> {
    #[serde(flatten)]
    pub compare: CompareDoc<'a>,
    /// A's and B's metrics.
    pub metrics: Vec<RunMetricsDoc<'a>>,
    /// Each metric's value at each run's last step, A then B.
    pub final_metrics: Vec<FinalMetric>,
    /// The config keys whose values differ between A and B.
    pub config_diff: ConfigDiff,
}

/// A run's metrics in the paired report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunMetricsDoc<'a> {
    pub label: String,
    pub run_id: &'a str,
    pub metrics: &'a Metrics,
}

/// The N-run document of `input`.
pub fn document(input: &MultiInput) -> CompareRunsDoc<'_> {
    let runs = &input.runs;
    let figures: Vec<&ComparisonFigures> = input.pairs.iter().map(|p| &p.figures).collect();
    let pairs = input
        .pairs
        .iter()
        .zip(holm_results(&figures))
        .map(|(p, holm)| PairDoc {
            a: label(p.a),
            b: label(p.b),
            a_run_id: &runs[p.a].summary.run_id,
            b_run_id: &runs[p.b].summary.run_id,
            figures: &p.figures,
            p_holm: holm.p_holm,
            verdict_holm: holm.verdict,
        })
        .collect();
    CompareRunsDoc {
        schema_version: COMPARE_RUNS_SCHEMA_VERSION,
        runs: runs
            .iter()
            .enumerate()
            .map(|(i, r)| RunDoc {
                label: label(i),
                evaluated: r.evaluated,
                run: &r.summary,
                metrics: &r.metrics,
            })
            .collect(),
        config_diff: config_diff(runs),
        final_metrics: finals(runs),
        correction: "holm",
        n_tests: n_tested(&figures),
        pairs,
        items: items(runs),
        notes: notes(input),
    }
}

/// The paired document of `compare`, with `runs`' metrics and config.
pub fn pair_document<'a>(compare: CompareDoc<'a>, runs: &'a MultiInput) -> PairRunsDoc<'a> {
    PairRunsDoc {
        compare,
        metrics: runs
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| RunMetricsDoc {
                label: label(i),
                run_id: &r.summary.run_id,
                metrics: &r.metrics,
            })
            .collect(),
        final_metrics: finals(&runs.runs),
        config_diff: config_diff(&runs.runs),
    }
}

/// The differences between the runs' configs.
pub fn config_diff(runs: &[MultiRun]) -> ConfigDiff {
    let configs: Vec<&serde_json::Value> = runs.iter().map(|r| &r.config).collect();
    diff_configs(&configs)
}

/// The runs' final metrics.
pub fn finals(runs: &[MultiRun]) -> Vec<FinalMetric> {
    let metrics: Vec<&Metrics> = runs.iter().map(|r| &r.metrics).collect();
    final_metrics(&metrics)
}

/// The indexes of the evaluated runs.
pub fn evaluated(runs: &[MultiRun]) -> Vec<usize> {
    (0..runs.len()).filter(|&i| runs[i].evaluated).collect()
}

/// The items of the evaluated runs side by side.
fn items(runs: &[MultiRun]) -> Vec<ItemDoc<'_>> {
    let shown = evaluated(runs);
    let slices: Vec<&[super::input::RunItem]> =
        shown.iter().map(|&i| runs[i].items.as_slice()).collect();
    item_matrix(&slices)
        .into_iter()
        .map(|row: ItemResults| ItemDoc {
            id: row.id,
            category: row.category,
            expected: row.expected,
            flipped: row.flipped,
            results: shown
                .iter()
                .zip(row.results)
                .map(|(&i, r)| ItemCellDoc {
                    run: label(i),
                    present: r.is_some(),
                    extracted: r.and_then(|r| r.extracted.as_deref()),
                    correct: r.and_then(|r| r.correct),
                })
                .collect(),
        })
        .collect()
}

/// The notes of the N-run report: which runs have no eval results (and
/// that nothing can be tested when fewer than two have), incomplete runs,
/// a mix of calculator-assisted and plain runs, then the caller's notes.
fn notes(input: &MultiInput) -> Vec<String> {
    let runs = &input.runs;
    let shown = evaluated(runs);
    let mut out = Vec::new();
    match shown.as_slice() {
        [] => out.push(
            "none of the runs has eval results, so there are no eval results to test: they are compared on their curves, final metrics and config".to_string(),
        ),
        [one] => out.push(format!(
            "only {} has eval results, so there are no eval results to test (a paired test needs two evaluated runs); the others are compared on their curves, final metrics and config",
            label(*one)
        )),
        _ => {}
    }
    if shown.len() > 1 {
        for (i, r) in runs.iter().enumerate().filter(|(_, r)| !r.evaluated) {
            out.push(format!(
                "{} ({}) has no eval results: it is compared on its curves, final metrics and config only",
                label(i),
                r.summary.name
            ));
        }
    }
    for &i in &shown {
        let full = runs[i].summary.decision();
        if !full.complete() && full.n_items > 0 {
            out.push(format!(
                "{} is incomplete: coverage {} ({} of {} items scored); its {} unscored items count as wrong in its pairings and in its full-set score {}",
                label(i),
                num::percent(full.coverage),
                full.n_scored,
                full.n_items,
                full.n_items - full.n_scored,
                num::fixed(full.score)
            ));
        }
    }
    let (with, without): (Vec<usize>, Vec<usize>) =
        shown.iter().partition(|&&i| runs[i].summary.calculator);
    if !with.is_empty() && !without.is_empty() {
        let names = |ids: &[usize]| ids.iter().map(|&i| label(i)).collect::<Vec<_>>().join(", ");
        out.push(format!(
            "{} used the calculator and {} did not: different measurements (the decoder computed the arithmetic the model wrote), so differences between them also measure the calculator",
            names(&with),
            names(&without)
        ));
    }
    out.extend(input.notes.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_letters_then_numbered() {
        assert_eq!(label(0), "A");
        assert_eq!(label(25), "Z");
        assert_eq!(label(26), "R27");
        assert_eq!(label(1000), "R1001");
    }
}
