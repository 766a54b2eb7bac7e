//! What the determinism check reads from a run folder: the recorded
//! device, the evaluation (summary and per-item rows), and for Train runs
//! the final checkpoint's weights and the metrics lines without their
//! wall-clock throughput.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsutil::blake3_file;
use crate::runfolder::{EvalItemRecord, EvalSummary, RunFolder, RunKind};
use crate::trainer::protocol::checkpoints;

/// The weights file in a checkpoint folder.
pub const MODEL_FILE: &str = "model.safetensors";
/// The metrics field that measures the machine, not the run.
pub const THROUGHPUT_FIELD: &str = "tokens_per_s";

/// What one run produced, as far as the check compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunContents {
    /// `Eval` or `Train`.
    pub kind: RunKind,
    /// run_manifest.json's `device` (`cpu`, `cuda:0`, `none`).
    pub device: String,
    /// Present when the run evaluated something.
    pub eval: Option<EvalContents>,
    /// Present for Train runs.
    pub train: Option<TrainContents>,
}

/// An evaluation's results.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalContents {
    pub summary: EvalSummary,
    pub items: Vec<EvalItemRecord>,
}

/// A training run's results.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainContents {
    /// The step of the newest complete checkpoint.
    pub final_step: u32,
    /// Its model.safetensors.
    pub weights: PathBuf,
    pub weights_blake3: String,
    /// metrics.jsonl, one value per line, without [`THROUGHPUT_FIELD`].
    pub metrics: Vec<Value>,
}

/// Read a finished run folder.
pub fn read(dir: &Path) -> Result<RunContents> {
    let run = RunFolder::open(dir)?;
    let manifest = run.manifest();
    let eval = if run.has_eval() {
        Some(EvalContents {
            summary: run.summary()?,
            items: run.items()?,
        })
    } else {
        None
    };
    let train = if manifest.kind == RunKind::Train {
        Some(read_train(&run)?)
    } else {
        None
    };
    Ok(RunContents {
        kind: manifest.kind,
        device: manifest.device.clone(),
        eval,
        train,
    })
}

fn read_train(run: &RunFolder) -> Result<TrainContents> {
    let dir = run.dir();
    let last = checkpoints(dir).pop().ok_or_else(|| {
        Error::runtime("the training run left no complete checkpoint to compare").with_path(dir)
    })?;
    let weights = last.dir.join(MODEL_FILE);
    let (weights_blake3, _) = blake3_file(&weights)?;
    let metrics = run
        .metric_lines()?
        .into_iter()
        .map(without_throughput)
        .collect();
    Ok(TrainContents {
        final_step: last.step,
        weights,
        weights_blake3,
        metrics,
    })
}

/// A metrics line without its throughput (which measures the machine).
pub fn without_throughput(mut line: Value) -> Value {
    if let Value::Object(map) = &mut line {
        map.remove(THROUGHPUT_FIELD);
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throughput_is_dropped_and_everything_else_kept() {
        let line = serde_json::json!({"step": 5, "loss": 2.5, "tokens_per_s": 1234.5});
        assert_eq!(
            without_throughput(line),
            serde_json::json!({"step": 5, "loss": 2.5})
        );
    }

    #[test]
    fn a_synthetic_eval_run_reads_without_training_parts() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = tunix_testkit::synthetic::write_run(root.path(), "r", 9, 0.5).expect("run");
        let c = read(&dir).expect("read");
        assert_eq!(c.kind, RunKind::Eval);
        assert_eq!(c.device, "none");
        assert!(c.train.is_none());
        assert_eq!(c.eval.expect("eval").items.len(), 9);
    }
}
