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
use super::ties::{describe, TieRule};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::sweep::{Mode, SweepMetric};
use crate::runfolder::{to_json_bytes, Failure};

pub use crate::runfolder::layout::LEDGER;
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
    /// The rungs it continued towards without a checkpoint to resume
    /// from: its trainer trained it again from step 0 (a command trainer
    /// that writes no checkpoints). See [`super::restarts`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retrained_from_start: Vec<u32>,
    /// How its non-grid values were drawn, for a trial drawn from the
    /// results of earlier trials (TPE after its startup trials); absent
    /// for trials drawn at random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draw: Option<ResultDraw>,
    /// Its Hyperband bracket (see [`super::hyperband`]); absent without
    /// Hyperband.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<u32>,
}

/// A trial whose values are drawn from earlier results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultDraw {
    /// Whether the values are drawn yet: `params` holds only the grid
    /// values until they are.
    pub drawn: bool,
    /// The trials whose results the draw saw (each with its metric at the
    /// first rung, or none when it failed), in trial order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed: Vec<String>,
    /// Trials drawn in the same batch before this one, which the draw
    /// counted as pending (Optuna's constant liar).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<String>,
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
    /// Set when the trials' metrics could not tell them apart (all equal,
    /// or none reported) and the tie rule alone decided the rung.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_rule: Option<TieRule>,
    /// The Hyperband bracket whose trials were compared; absent without
    /// Hyperband.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<u32>,
}

/// The sweep's best trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BestTrial {
    pub trial_id: String,
    pub metric: f64,
    pub params: BTreeMap<String, Value>,
    /// Set when every completed trial had the same metric, so the tie
    /// rule alone picked this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tie_rule: Option<TieRule>,
}

/// A rung, or the final pick of the best, that the tie rule alone decided.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TieRuleNote {
    /// The rung's step (for the final pick: the last rung).
    pub rung: u32,
    /// `no_metric` or `all_equal`.
    pub rule: TieRule,
    /// Whether this is the final pick of the best trial, not a rung's
    /// halving.
    pub final_pick: bool,
    /// What happened, in one sentence.
    pub message: String,
}

impl Ledger {
    /// The rungs, then the final pick, that the tie rule alone decided.
    pub fn tie_rule_notes(&self) -> Vec<TieRuleNote> {
        let metric = self.metric.as_str();
        let mut out: Vec<TieRuleNote> = self
            .decisions
            .iter()
            .filter_map(|d| {
                let rule = d.tie_rule?;
                let n = d.continued.len() + d.stopped.len();
                let value = d.continued.first().and_then(|s| s.metric);
                Some(TieRuleNote {
                    rung: d.rung,
                    rule,
                    final_pick: false,
                    message: format!(
                        "rung {}: {}",
                        d.rung,
                        describe(rule, metric, d.rung, n, value)
                    ),
                })
            })
            .collect();
        if let Some((best, rule)) = self.best.as_ref().and_then(|b| Some((b, b.tie_rule?))) {
            let step = self.rungs.last().copied().unwrap_or_default();
            let n = self
                .trials
                .iter()
                .filter(|t| t.state == TrialState::Completed)
                .count();
            out.push(TieRuleNote {
                rung: step,
                rule,
                final_pick: true,
                message: format!(
                    "best trial {}: {}",
                    best.trial_id,
                    describe(rule, metric, step, n, Some(best.metric))
                ),
            });
        }
        out
    }

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

    /// The decision at `rung` among the trials of `bracket` (`None`: the
    /// sweep has no brackets).
    pub fn decision_in(&self, bracket: Option<u32>, rung: u32) -> Option<&RungDecision> {
        self.decisions
            .iter()
            .find(|d| d.rung == rung && d.bracket == bracket)
    }
}

impl TrialEntry {
    /// Record reaching `rung` with the metric `value`; `completed`: its
    /// run ended at max_steps.
    pub fn reach(&mut self, rung: u32, completed: bool, value: Option<f64>) {
        self.last_step = rung;
        self.metrics.insert(rung, value);
        self.state = if completed {
            TrialState::Completed
        } else {
            TrialState::Running
        };
    }

    /// Record a failure judged when the trial reached `rung` (its run
    /// itself ended well).
    pub fn fail_at(&mut self, rung: u32, failure: Failure) {
        self.last_step = rung;
        self.state = TrialState::Failed;
        self.failure = Some(failure);
    }

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
            retrained_from_start: Vec::new(),
            draw: None,
            bracket: None,
        }
    }

    /// A trial whose non-grid values are drawn later, from results.
    pub fn awaiting_draw(trial_id: &str, grid: &BTreeMap<String, Value>) -> Self {
        TrialEntry {
            draw: Some(ResultDraw {
                drawn: false,
                observed: Vec::new(),
                pending: Vec::new(),
            }),
            ..TrialEntry::pending(trial_id, grid)
        }
    }

    /// Whether the trial's values are still to be drawn.
    pub fn is_awaiting_draw(&self) -> bool {
        self.draw.as_ref().is_some_and(|d| !d.drawn)
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
            metric: SweepMetric::val_loss(),
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
    fn rungs_and_the_final_pick_decided_by_the_tie_rule_are_noted() {
        let mut l = ledger();
        let scored = |id: &str, metric: Option<f64>| Scored {
            trial_id: id.into(),
            metric,
        };
        l.decisions = vec![
            RungDecision {
                rung: 4,
                continued: vec![scored("t000", None)],
                stopped: vec![scored("t001", None)],
                tie_rule: Some(TieRule::NoMetric),
                bracket: None,
            },
            RungDecision {
                rung: 8,
                continued: vec![scored("t000", Some(1.0))],
                stopped: vec![scored("t002", Some(2.0))],
                tie_rule: None,
                bracket: None,
            },
        ];
        l.best = Some(BestTrial {
            trial_id: "t000".into(),
            metric: 1.5,
            params: BTreeMap::new(),
            tie_rule: Some(TieRule::AllEqual),
        });
        l.trials[0].state = TrialState::Completed;
        let mut second = l.trials[0].clone();
        second.trial_id = "t001".into();
        l.trials.push(second);
        let notes = l.tie_rule_notes();
        let text: Vec<&str> = notes.iter().map(|n| n.message.as_str()).collect();
        assert_eq!(
            text,
            vec![
                "rung 4: decided by the tie rule (smaller trial id first): none of the 2 trials had val_loss at step 4",
                "best trial t000: decided by the tie rule (smaller trial id first): all 2 trials had val_loss = 1.5 at step 8",
            ]
        );
        assert!(notes[1].final_pick && !notes[0].final_pick);
        let json = serde_json::to_value(&l).expect("json");
        assert_eq!(json["decisions"][0]["tie_rule"], "no_metric");
        assert!(json["decisions"][1].get("tie_rule").is_none());
        let mut old = json.clone();
        old["best"]
            .as_object_mut()
            .and_then(|b| b.remove("tie_rule"))
            .expect("written");
        let back: Ledger = serde_json::from_value(old).expect("ledgers without tie_rule read");
        assert_eq!(back.best.and_then(|b| b.tie_rule), None);
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
