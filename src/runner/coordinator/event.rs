//! What the coordinator reports while a sweep runs: one [`SweepEvent`]
//! per thing that happened, for the caller to show (nothing in the
//! coordinator prints).

use crate::runfolder::Failure;
use crate::sweep::ledger::RungDecision;

/// What the coordinator reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepEvent {
    /// The ledger was found: the sweep continues where it stopped.
    Resumed { decided_rungs: usize },
    /// These trials start (or continue) towards `rung`.
    RungStarted { rung: u32, trials: Vec<String> },
    /// A trial reached `step` (from its run, or found on disk).
    TrialReached {
        trial_id: String,
        step: u32,
        metric: Option<f64>,
        from_disk: bool,
    },
    /// A running trial's trainer reported a step.
    TrialProgress { trial_id: String, step: u64 },
    /// A trial's trainer failed and the trial runs again (retry `attempt`
    /// of its failure class), from its newest checkpoint.
    TrialRetrying {
        trial_id: String,
        failure: Failure,
        attempt: u32,
    },
    /// A trial's trainer failed.
    TrialFailed { trial_id: String, failure: Failure },
    /// The scheduler decided a rung.
    RungDecided(RungDecision),
    /// Slurm accepted a job array of these trials for `rung`.
    SlurmSubmitted {
        job_id: String,
        rung: u32,
        trials: Vec<String>,
    },
    /// A Slurm job of an earlier coordinator is still known to Slurm: this
    /// one follows it instead of submitting again.
    SlurmAttached { job_id: String },
    /// Ctrl-C cancelled the trial's job; it continues when the sweep runs
    /// again.
    TrialCancelled { trial_id: String },
    /// TPE drew these trials' values from the results of `observed`
    /// earlier trials.
    TrialsDrawn {
        trials: Vec<String>,
        observed: usize,
    },
}
