//! Runs' metrics as curves: a run's `metrics.jsonl` records as one series
//! per metric, the order metrics are shown in, the charts that overlay the
//! runs (training and validation loss together, then one chart per other
//! metric) and each run's final value of every metric. Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::runfolder::MetricRecord;

/// A run's metrics: per metric name, `(step, value)` points by step.
pub type Metrics = BTreeMap<String, Vec<(u64, f64)>>;

/// Metrics shown first, in this order; the others follow by name.
pub const FIRST: [&str; 5] = ["loss", "val_loss", "primary_score", "lr", "tokens_per_s"];

/// The metrics drawn together in the first chart: training loss (solid)
/// and validation loss (dashed).
const LOSSES: [&str; 2] = ["loss", "val_loss"];

/// Every metric of `records` by name, as `(step, value)` by step: one
/// point per step (the last record of a step wins), non-finite values
/// left out.
pub fn series_of(records: &[MetricRecord]) -> Metrics {
    let mut by_name: BTreeMap<String, BTreeMap<u64, f64>> = BTreeMap::new();
    for record in records {
        for (name, value) in record.values() {
            if value.is_finite() {
                by_name
                    .entry(name.to_string())
                    .or_default()
                    .insert(record.step, value);
            }
        }
    }
    by_name
        .into_iter()
        .map(|(name, points)| (name, points.into_iter().collect()))
        .collect()
}

/// The metrics any run recorded a point of, in the order they are shown:
/// [`FIRST`], then the others by name.
pub fn metric_order<'a>(runs: &[&'a Metrics]) -> Vec<&'a str> {
    let names: BTreeSet<&str> = runs
        .iter()
        .flat_map(|m| m.iter())
        .filter(|(_, points)| !points.is_empty())
        .map(|(name, _)| name.as_str())
        .collect();
    let first = FIRST.iter().filter_map(|f| names.get(f).copied());
    let rest = names.iter().copied().filter(|n| !FIRST.contains(n));
    first.chain(rest).collect()
}

/// One chart of a comparison: its title and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartPlan<'a> {
    pub title: String,
    pub lines: Vec<PlannedLine<'a>>,
    /// Whether the chart mixes solid and dashed lines (its legend then
    /// says which is which).
    pub styles: bool,
}

/// A line of a chart: run `run`'s metric `metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedLine<'a> {
    pub run: usize,
    pub metric: &'a str,
    /// Validation loss is dashed.
    pub dashed: bool,
}

/// The charts of `runs`' metrics, on shared axes with one color per run:
/// training and validation loss together (`loss` solid, `val_loss`
/// dashed), then one chart per other metric in [`metric_order`]. A run
/// without points of a metric has no line in its chart.
pub fn chart_plans<'a>(runs: &[&'a Metrics]) -> Vec<ChartPlan<'a>> {
    let has = |run: &Metrics, metric: &str| run.get(metric).is_some_and(|p| !p.is_empty());
    let order = metric_order(runs);
    let mut plans = Vec::new();
    let losses: Vec<PlannedLine> = runs
        .iter()
        .enumerate()
        .flat_map(|(i, run)| {
            LOSSES
                .iter()
                .filter(|m| has(run, m))
                .map(move |m| PlannedLine {
                    run: i,
                    metric: m,
                    dashed: *m == "val_loss",
                })
        })
        .collect();
    if !losses.is_empty() {
        let train = losses.iter().any(|l| !l.dashed);
        let val = losses.iter().any(|l| l.dashed);
        let title = match (train, val) {
            (true, true) => "Training and validation loss",
            (true, false) => "Training loss",
            _ => "Validation loss",
        };
        plans.push(ChartPlan {
            title: title.to_string(),
            lines: losses,
            styles: train && val,
        });
    }
    for metric in order.into_iter().filter(|m| !LOSSES.contains(m)) {
        let lines = runs
            .iter()
            .enumerate()
            .filter(|(_, run)| has(run, metric))
            .map(|(i, _)| PlannedLine {
                run: i,
                metric,
                dashed: false,
            })
            .collect();
        plans.push(ChartPlan {
            title: metric.to_string(),
            lines,
            styles: false,
        });
    }
    plans
}

/// A metric's last recorded value in each run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinalMetric {
    pub metric: String,
    /// Per run (in the runs' order): the value at its last step; null when
    /// the run never recorded the metric.
    pub values: Vec<Option<FinalValue>>,
}

/// A metric's value at a step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct FinalValue {
    pub step: u64,
    pub value: f64,
}

/// Each metric's value at the last step each run recorded it, metrics in
/// [`metric_order`].
pub fn final_metrics(runs: &[&Metrics]) -> Vec<FinalMetric> {
    metric_order(runs)
        .into_iter()
        .map(|metric| FinalMetric {
            metric: metric.to_string(),
            values: runs
                .iter()
                .map(|run| {
                    run.get(metric)
                        .and_then(|p| p.iter().max_by_key(|(step, _)| *step))
                        .map(|&(step, value)| FinalValue { step, value })
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metrics(rows: &[(&str, &[(u64, f64)])]) -> Metrics {
        rows.iter()
            .map(|(name, points)| (name.to_string(), points.to_vec()))
            .collect()
    }

    #[test]
    fn records_become_one_series_per_metric_by_step() {
        let mut first = MetricRecord::at(20);
        first.set("loss", 1.5);
        first.set("train/acc", 0.5);
        let mut earlier = MetricRecord::at(10);
        earlier.set("loss", 2.5);
        earlier.set("val_loss", 2.75);
        let mut again = MetricRecord::at(20);
        again.set("loss", 1.25);
        let mut bad = MetricRecord::at(30);
        bad.set("loss", f64::NAN);
        let series = series_of(&[first, earlier, again, bad]);
        assert_eq!(series["loss"], vec![(10, 2.5), (20, 1.25)]);
        assert_eq!(series["val_loss"], vec![(10, 2.75)]);
        assert_eq!(series["train/acc"], vec![(20, 0.5)]);
        assert_eq!(series.len(), 3);
        assert!(series_of(&[]).is_empty());
    }

    #[test]
    fn metrics_are_ordered_known_first_then_by_name() {
        let a = metrics(&[
            ("zeta", &[(1, 1.0)]),
            ("lr", &[(1, 0.1)]),
            ("grad_norm", &[(1, 2.0)]),
            ("empty", &[]),
        ]);
        let b = metrics(&[("val_loss", &[(1, 1.0)]), ("loss", &[(1, 1.0)])]);
        assert_eq!(
            metric_order(&[&a, &b]),
            ["loss", "val_loss", "lr", "grad_norm", "zeta"]
        );
    }

    #[test]
    fn losses_share_a_chart_and_every_other_metric_gets_one() {
        let a = metrics(&[
            ("loss", &[(0, 3.0), (10, 2.0)]),
            ("val_loss", &[(10, 2.5)]),
            ("grad_norm", &[(10, 1.0)]),
        ]);
        let b = metrics(&[("loss", &[(0, 2.0)]), ("train/acc", &[(0, 0.1)])]);
        let plans = chart_plans(&[&a, &b]);
        let titles: Vec<&str> = plans.iter().map(|p| p.title.as_str()).collect();
        assert_eq!(
            titles,
            ["Training and validation loss", "grad_norm", "train/acc"]
        );
        assert!(plans[0].styles);
        assert_eq!(
            plans[0].lines,
            [
                PlannedLine {
                    run: 0,
                    metric: "loss",
                    dashed: false
                },
                PlannedLine {
                    run: 0,
                    metric: "val_loss",
                    dashed: true
                },
                PlannedLine {
                    run: 1,
                    metric: "loss",
                    dashed: false
                },
            ]
        );
        assert_eq!(plans[2].lines.len(), 1);
        assert_eq!(plans[2].lines[0].run, 1);
        let only_val = metrics(&[("val_loss", &[(5, 1.0)])]);
        let plans = chart_plans(&[&only_val]);
        assert_eq!(plans[0].title, "Validation loss");
        assert!(!plans[0].styles);
        assert!(chart_plans(&[&Metrics::new()]).is_empty());
    }

    #[test]
    fn final_values_are_at_each_runs_last_step() {
        let a = metrics(&[("loss", &[(0, 3.0), (10, 2.0)]), ("val_loss", &[(10, 2.5)])]);
        let b = metrics(&[("loss", &[(0, 2.0), (30, 1.0)])]);
        let finals = final_metrics(&[&a, &b]);
        assert_eq!(finals.len(), 2);
        assert_eq!(finals[0].metric, "loss");
        assert_eq!(
            finals[0].values,
            [
                Some(FinalValue {
                    step: 10,
                    value: 2.0
                }),
                Some(FinalValue {
                    step: 30,
                    value: 1.0
                })
            ]
        );
        assert_eq!(finals[1].metric, "val_loss");
        assert_eq!(finals[1].values[1], None);
    }
}
