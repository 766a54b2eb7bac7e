//! The sweep's metric in a trial's run folder (`metrics.jsonl`): its value
//! at a rung, and the failure of a trial that never reports it (class
//! `metric_missing`). A trial is judged when a segment of it ends (the
//! first rung it reaches, or the end of a sweep without rungs): one whose
//! metrics lines never had the metric fails then, naming the metric and
//! the metrics it did report, instead of ranking last at every rung.

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Result;
use crate::manifest::sweep::SweepMetric;
use crate::runfolder::{
    read_manifest, read_metrics_file, Failure, MetricRecord, RunStatus, METRICS,
};
use crate::trainer::FailureClass;

/// The records of the run folder's `metrics.jsonl` (none when there is no
/// file), read with the format's one bad-line policy.
fn records(run_dir: &Path) -> Result<Vec<MetricRecord>> {
    read_metrics_file(&run_dir.join(METRICS))
}

/// The metric at `step`: the last `metrics.jsonl` line of that step that
/// has it.
/// A trial whose metrics do not read has no metric (its segment then
/// fails through [`missing`], which says why).
pub fn metric_at(run_dir: &Path, step: u32, metric: &SweepMetric) -> Option<f64> {
    records(run_dir)
        .ok()?
        .iter()
        .rev()
        .filter(|r| r.step == u64::from(step))
        .find_map(|r| r.get(metric.as_str()))
}

/// What the trial's run folder says it reached at `rung`, when its run is
/// stopped or completed and has a metrics line at `rung` with the metric:
/// whether the run is completed, and the metric.
pub fn reached(run_dir: &Path, rung: u32, metric: &SweepMetric) -> Option<(bool, f64)> {
    let m = read_manifest(run_dir).ok()?;
    if !matches!(m.status, RunStatus::Stopped | RunStatus::Completed) {
        return None;
    }
    let value = metric_at(run_dir, rung, metric)?;
    Some((m.status == RunStatus::Completed, value))
}

/// The `metric_missing` failure of a trial that reached `step` without
/// any metrics line reporting `metric`; `None` when one did.
pub fn missing(run_dir: &Path, step: u32, metric: &SweepMetric) -> Option<Failure> {
    let records = match records(run_dir) {
        Ok(records) => records,
        Err(e) => {
            return Some(Failure {
                class: FailureClass::MetricMissing.as_str().to_string(),
                message: format!(
                    "the trial reached step {step} but its metrics do not read, so the sweep's metric `{metric}` is missing: {e}"
                ),
            })
        }
    };
    if records.iter().any(|r| r.get(metric.as_str()).is_some()) {
        return None;
    }
    let reported: BTreeSet<&str> = records
        .iter()
        .flat_map(|r| r.values().into_iter().map(|(name, _)| name))
        .collect();
    let reported = if reported.is_empty() {
        "no metrics at all".to_string()
    } else {
        let names: Vec<&str> = reported.into_iter().collect();
        format!("only {}", names.join(", "))
    };
    Some(Failure {
        class: FailureClass::MetricMissing.as_str().to_string(),
        message: format!(
            "the trial reached step {step} without ever reporting the sweep's metric `{metric}`: its metrics lines reported {reported}; report `{metric}` from the trainer, or optimize one of those (spec.metric)"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(lines: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(METRICS), lines).expect("metrics");
        dir
    }

    #[test]
    fn the_metric_at_a_step_is_the_last_line_of_that_step_that_has_it() {
        let dir = folder(
            "{\"step\": 2, \"val/f1\": 0.25}\n{\"step\": 2, \"loss\": 1.0}\n\n{\"step\": 4, \"val/f1\": 0.5, \"val_loss\": 2.0}\n{\"step\": 4, \"val/f1\": 0.75}\n",
        );
        let f1 = SweepMetric::new("val/f1");
        assert_eq!(metric_at(dir.path(), 2, &f1), Some(0.25));
        assert_eq!(metric_at(dir.path(), 4, &f1), Some(0.75));
        assert_eq!(metric_at(dir.path(), 3, &f1), None);
        assert_eq!(
            metric_at(dir.path(), 4, &SweepMetric::val_loss()),
            Some(2.0)
        );
        assert_eq!(missing(dir.path(), 4, &f1), None);
    }

    #[test]
    fn metrics_that_do_not_read_have_no_metric_and_the_failure_says_why() {
        let dir = folder("{\"step\": 2, \"val/f1\": 0.25}\nnot json\n");
        let f1 = SweepMetric::new("val/f1");
        assert_eq!(metric_at(dir.path(), 2, &f1), None);
        let f = missing(dir.path(), 2, &f1).expect("missing");
        assert_eq!(f.class, "metric_missing");
        assert!(
            f.message.contains("its metrics do not read"),
            "{}",
            f.message
        );
        assert!(f.message.contains("metrics.jsonl:2:"), "{}", f.message);
        let half = folder("{\"step\": 2, \"val/f1\": 0.25}\n{\"step\": 3, \"val");
        assert_eq!(metric_at(half.path(), 2, &f1), Some(0.25));
    }

    #[test]
    fn a_metric_never_reported_is_missing_with_what_was_reported() {
        let dir = folder(
            "{\"step\": 1, \"loss\": 2.0, \"train/acc\": 0.1}\n{\"step\": 2, \"loss\": 1.5}\n",
        );
        let f = missing(dir.path(), 2, &SweepMetric::new("val/f1")).expect("missing");
        assert_eq!(f.class, "metric_missing");
        assert!(
            f.message
                .contains("reached step 2 without ever reporting the sweep's metric `val/f1`"),
            "{}",
            f.message
        );
        assert!(
            f.message.contains("reported only loss, train/acc"),
            "{}",
            f.message
        );
        let empty = tempfile::tempdir().expect("tempdir");
        let f = missing(empty.path(), 2, &SweepMetric::val_loss()).expect("missing");
        assert!(
            f.message.contains("reported no metrics at all"),
            "{}",
            f.message
        );
    }
}
