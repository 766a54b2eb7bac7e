//! What the executors (the local pool, Slurm) tell their caller — the
//! sweep coordinator, or [`super::run`] for a Train job — about a job, and
//! the facts about a trial's run folder that they and the coordinator
//! check: whether it reached a rung, and the failure it records.

use std::path::Path;

use super::Outcome;
use crate::error::{Error, ErrorKind, Result};
use crate::runfolder::{read_manifest, read_metrics_file, Failure, METRICS};
use crate::sweep::ledger::SlurmJob;
use crate::trainer::{Event, FailureClass};

/// What an executor (the local pool, or Slurm) tells its caller about a
/// job.
pub(super) enum Message {
    /// The trainer reported this event; metrics arrive with the
    /// coordinator's scores filled in, as an [`super::Observer`] sees them.
    /// A sweep takes the step of each metrics record.
    Event(Box<Event>),
    /// Something the user should know now (a resumed run, a device
    /// fallback): [`super::Observer::note`].
    Note(String),
    /// The job failed and runs again.
    Retrying { failure: Failure, attempt: u32 },
    /// The job ended (after any retries).
    Done(Box<Result<Outcome>>),
    /// The job failed for good, as the executor judged it.
    Failed(Failure),
    /// Slurm accepted this job array (record it before waiting on it).
    Submitted(SlurmJob),
    /// A job array an earlier coordinator submitted is being followed.
    Attached(String),
    /// Ctrl-C cancelled the trial's job.
    Cancelled,
}

/// Whether the run folder has a metrics line at step `rung` (metrics that
/// do not read have none).
pub(super) fn reached_rung(run_dir: &Path, rung: u32) -> bool {
    read_metrics_file(&run_dir.join(METRICS))
        .is_ok_and(|records| records.iter().any(|r| r.step == u64::from(rung)))
}

/// The failure a trial's run folder records, else `error`: bad input (the
/// trial's config or files refused before it ran, which running it again
/// cannot fix) as `bad_config`, anything else as a crash.
pub(super) fn failure_of(run_dir: &Path, error: &Error) -> Failure {
    let class = match error.kind() {
        ErrorKind::BadInput => FailureClass::BadConfig,
        _ => FailureClass::Crash,
    };
    read_manifest(run_dir)
        .ok()
        .and_then(|m| m.failure)
        .unwrap_or(Failure {
            class: class.as_str().into(),
            message: error.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_refused_as_bad_input_fails_as_bad_config_not_as_a_crash() {
        let none = Path::new("/nonexistent/trial");
        let refused = failure_of(none, &Error::bad_input("model.hf: no such folder"));
        assert_eq!(refused.class, "bad_config");
        assert_eq!(refused.message, "model.hf: no such folder");
        let crashed = failure_of(none, &Error::runtime("the trainer died"));
        assert_eq!(crashed.class, "crash");
    }
}
