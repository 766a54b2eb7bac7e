//! A Sweep's `metric` and `mode`: a metric without a default direction
//! needs `mode`, `primary_score` needs an eval set, and a base on the
//! built-in trainer can only optimize what that trainer reports. A command
//! trainer's metrics are not known before it runs; the coordinator checks
//! them when a trial ends its first segment.

use super::Checker;
use crate::manifest::sweep::{SweepMetric, SweepSpec};
use crate::manifest::train::TrainSpec;
use crate::runfolder::metric_name_problem;
use crate::suggest;
use crate::trainer::protocol::BUILTIN_METRICS;

impl Checker<'_> {
    /// Check `spec.metric` (with `spec.mode`) against the base `train`,
    /// when it could be read.
    pub(super) fn sweep_metric(&mut self, spec: &SweepSpec, train: Option<&TrainSpec>) {
        let metric = spec.metric.as_str();
        if let Some(problem) = metric_name_problem(metric) {
            self.push("/spec/metric".into(), problem, None);
            return;
        }
        if spec.resolved_mode().is_none() {
            self.push(
                "/spec/metric".into(),
                format!("metric `{metric}` has no default direction, and the Sweep sets no `mode`"),
                Some(
                    "add `mode: max` (larger is better) or `mode: min`; only primary_score (max), loss and val_loss (min) have a default"
                        .into(),
                ),
            );
        }
        let Some(train) = train else { return };
        if metric == SweepMetric::PRIMARY_SCORE && train.eval.is_none() {
            self.push(
                "/spec/metric".into(),
                "metric `primary_score` needs an `eval` section in the base Train spec".to_string(),
                Some("add spec.eval to the base, or use `metric: val_loss`".into()),
            );
            return;
        }
        if train.command.is_some() || metric == SweepMetric::PRIMARY_SCORE {
            return;
        }
        if !BUILTIN_METRICS.contains(&metric) {
            let mut known: Vec<&str> = BUILTIN_METRICS.to_vec();
            known.push(SweepMetric::PRIMARY_SCORE);
            let help = suggest::help_for(metric, &known).map(|h| {
                format!("{h} (primary_score needs an `eval` section; a `command` trainer may report any metric)")
            });
            self.push(
                "/spec/metric".into(),
                format!(
                    "the built-in trainer does not report `{metric}`; it reports {}",
                    known.join(", ")
                ),
                help,
            );
        }
    }
}
