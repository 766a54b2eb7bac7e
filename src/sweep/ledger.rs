//! The sweep ledger, `sweep.json` in the sweep folder: the plan's identity,
//! every trial's state, the decision of each rung and, at the end, the best
//! trial. Written atomically after every change, so a killed coordinator
//! leaves the last consistent state; what a trial reached is re-read from
//! its run folder on resume, so the ledger can lag a trial but never lead it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::halving::Scored;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::sweep::{Mode, SweepMetric};
use crate::runfolder::{to_json_bytes, Failure};

/// The ledger's file name in the sweep folder.
pub const LEDGER: &str = "sweep.json";
/// The resolved plan the ledger's identity hashes, written once beside the
/// ledger (it names what differs when another manifest meets the folder).
pub const PLAN: &str = "plan.json";
/// Version of the ledger's format.
pub const LEDGER_SCHEMA_VERSION: u32 = 1;

/// Everything the coordinator knows about a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    pub schema_version: u32,
    /// The sweep's name (`metadata.name`).
    pub sweep: String,
    /// Canonical hash of the resolved plan (trials' specs, rungs, metric,
    /// mode); a sweep folder only ever holds one plan.
    pub identity: String,
    pub metric: SweepMetric,
    pub mode: Mode,
    /// The steps at which trials are compared (ASHA's rungs), or just
    /// `max_steps` without a scheduler.
    pub rungs: Vec<u32>,
    pub trials: Vec<TrialEntry>,
    /// One entry per decided rung, in rung order.
    pub decisions: Vec<RungDecision>,
    /// The promoted trial, once the sweep has finished.
    pub best: Option<BestTrial>,
    /// The Sweep manifest (relative to the workspace), for `tunix-rt sweep
    /// attach`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// The Slurm jobs submitted for this sweep (`executor: slurm`), oldest
    /// first: a coordinator that comes back attaches to them instead of
    /// submitting again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slurm_jobs: Vec<SlurmJob>,
}

/// One Slurm job array of a sweep: the trials of one rung (or their
/// retries), element i running `trials[i]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlurmJob {
    pub job_id: String,
    pub rung: u32,
    pub trials: Vec<String>,
    /// The job script, relative to the sweep folder.
    pub script: String,
}

/// One trial's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialEntry {
    pub trial_id: String,
    /// The searched parameters' values.
    pub params: BTreeMap<String, Value>,
    pub state: TrialState,
    /// The last rung (step) the trial reached.
    pub last_step: u32,
    /// The trial's metric at each rung it reached (null: none reported).
    pub metrics: BTreeMap<u32, Option<f64>>,
    /// The rung and metric that stopped it (state `stopped`).
    pub stopped_at: Option<StopPoint>,
    /// Why it failed (state `failed`).
    pub failure: Option<Failure>,
    /// Failures that were retried, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried: Vec<Failure>,
}

/// Where a trial stands in the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// Not started yet.
    Pending,
    /// Started and still in the race (possibly waiting at a rung).
    Running,
    /// Stopped by the scheduler at a rung.
    Stopped,
    /// Ran to `max_steps`.
    Completed,
    /// Its trainer failed; it takes no further part.
    Failed,
    /// Its job was cancelled by Ctrl-C on the coordinator; running the
    /// sweep again continues it.
    Cancelled,
}

impl TrialState {
    /// Still in the race: not stopped, completed or failed (a cancelled
    /// trial continues when the sweep runs again).
    pub fn is_live(self) -> bool {
        matches!(
            self,
            TrialState::Pending | TrialState::Running | TrialState::Cancelled
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            TrialState::Pending => "pending",
            TrialState::Running => "running",
            TrialState::Stopped => "stopped",
            TrialState::Completed => "completed",
            TrialState::Failed => "failed",
            TrialState::Cancelled => "cancelled",
        }
    }
}

/// Where the scheduler stopped a trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopPoint {
    pub rung: u32,
    pub metric: Option<f64>,
}

/// What the scheduler decided at one rung (both lists in rank order).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RungDecision {
    pub rung: u32,
    pub continued: Vec<Scored>,
    pub stopped: Vec<Scored>,
}

/// The sweep's best trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestTrial {
    pub trial_id: String,
    pub metric: f64,
    pub params: BTreeMap<String, Value>,
}

impl Ledger {
    /// Read the ledger at `path`; `None` when there is none yet.
    pub fn read(path: &Path) -> Result<Option<Ledger>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read the sweep ledger", path, e)),
        };
        let ledger: Ledger = serde_json::from_slice(&bytes).map_err(|e| {
            Error::runtime(format!("the sweep ledger is not valid: {e}")).with_path(path)
        })?;
        if ledger.schema_version != LEDGER_SCHEMA_VERSION {
            return Err(Error::runtime(format!(
                "the sweep ledger has schema_version {}; this version reads {LEDGER_SCHEMA_VERSION}",
                ledger.schema_version
            ))
            .with_path(path));
        }
        Ok(Some(ledger))
    }

    /// Write the ledger to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        write_atomic(path, &to_json_bytes(self)?)
    }

    pub fn trial_mut(&mut self, trial_id: &str) -> Option<&mut TrialEntry> {
        self.trials.iter_mut().find(|t| t.trial_id == trial_id)
    }

    pub fn decision(&self, rung: u32) -> Option<&RungDecision> {
        self.decisions.iter().find(|d| d.rung == rung)
    }
}

impl TrialEntry {
    /// A trial that has not started.
    pub fn pending(trial_id: &str, params: &BTreeMap<String, Value>) -> Self {
        TrialEntry {
            trial_id: trial_id.to_string(),
            params: params.clone(),
            state: TrialState::Pending,
            last_step: 0,
            metrics: BTreeMap::new(),
            stopped_at: None,
            failure: None,
            retried: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        let mut params = BTreeMap::new();
        params.insert("learning_rate".to_string(), serde_json::json!(0.003));
        let mut trial = TrialEntry::pending("t000", &params);
        trial.metrics.insert(4, Some(2.5));
        trial.metrics.insert(8, None);
        Ledger {
            schema_version: LEDGER_SCHEMA_VERSION,
            sweep: "s".into(),
            identity: "abc".into(),
            metric: SweepMetric::ValLoss,
            mode: Mode::Min,
            rungs: vec![4, 8],
            trials: vec![trial],
            decisions: vec![],
            best: None,
            manifest: Some("manifests/s.yaml".into()),
            slurm_jobs: vec![SlurmJob {
                job_id: "12".into(),
                rung: 4,
                trials: vec!["t000".into()],
                script: "slurm/rung-4-1.sbatch".into(),
            }],
        }
    }

    #[test]
    fn round_trips_through_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LEDGER);
        assert_eq!(Ledger::read(&path).expect("read"), None);
        let l = ledger();
        l.write(&path).expect("write");
        assert_eq!(Ledger::read(&path).expect("read"), Some(l));
    }

    #[test]
    fn another_schema_version_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(LEDGER);
        let mut l = ledger();
        l.schema_version = 99;
        l.write(&path).expect("write");
        let err = Ledger::read(&path).expect_err("refused");
        assert!(err.to_string().contains("schema_version 99"), "{err}");
    }
}
