//! Where Train jobs run, behind one trait: the sweep coordinator hands an
//! [`Executor`] one rung's trial jobs, and [`super::run`] a Train job as a
//! rung of one, and each hears back, as [`Message`]s, what happens to
//! each job, without knowing where it runs. Two executors implement it:
//! the local process pool ([`super::local_pool`]) and Slurm
//! ([`super::sweep_slurm`]: job arrays for a sweep, one job for a Train).

use std::collections::BTreeMap;

use super::rung_message::Message;
use super::train::TrainJob;
use crate::error::Result;
use crate::runfolder::Failure;
use crate::sweep::ledger::SlurmJob;

/// One rung's work for an executor.
pub(super) struct RungWork {
    /// The rung's step (each job stops at its own `until_step`, which a
    /// trial with a smaller `max_steps` reaches first).
    pub rung: u32,
    /// The trials' jobs, each with a fixed trial folder.
    pub jobs: Vec<TrainJob>,
    /// The Slurm jobs the ledger records for the sweep, oldest first: an
    /// executor that comes back follows those still running instead of
    /// submitting again.
    pub recorded: Vec<SlurmJob>,
    /// The failures each trial was already run again after (the ledger's
    /// `retried`): they count against its `max_retries`.
    pub retried: BTreeMap<String, Vec<Failure>>,
}

/// The key an executor's messages name a job by: its trial id, or, for a
/// Train job (which has none, and records none), its name.
pub(super) fn job_key(job: &TrainJob) -> String {
    job.trial_id.clone().unwrap_or_else(|| job.name.clone())
}

/// How an executor's rung ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RungEnd {
    /// Every trial reached the rung or failed for good.
    Done,
    /// `--detach`: the jobs were submitted (or found running); nobody
    /// waits for them.
    Detached { job_ids: Vec<String> },
}

/// Runs trial jobs somewhere.
pub(super) trait Executor {
    /// Bring `work`'s jobs to the rung. `on_message` sees each message as
    /// it arrives, with the job's [`job_key`] (empty for messages about
    /// the executor's own jobs: `Submitted`, `Attached`); an error from it
    /// stops the rung and is returned.
    fn run_rung(
        &self,
        work: RungWork,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd>;
}
