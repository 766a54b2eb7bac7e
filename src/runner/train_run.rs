//! A Train job as a sweep of one: [`super::run`] hands its one job to the
//! executors a sweep's rungs use — here the local pool, with one slot that
//! pins nothing ([`LocalPool::pin`] off) and no retries (a Train has no
//! `max_retries`), or Slurm through [`super::train_slurm`] — as a rung at
//! the job's until step, and turns the executor's messages back into what
//! the caller's observer sees (the trainer's events, notes) and the job's
//! outcome.

use super::executor::{Executor, RungWork};
use super::local_pool::LocalPool;
use super::rung_message::Message;
use super::train::TrainJob;
use super::{retry, trainer_for, Observer, Outcome};
use crate::error::{Error, Result};
use crate::sweep::ledger::SlurmJob;
use crate::workspace::Workspace;

/// Run `job` here on the local pool, reporting to `observer`.
pub(super) fn run_local(
    ws: &Workspace,
    job: &TrainJob,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let pool = LocalPool {
        ws,
        trainer: trainer_for(&job.spec)?,
        limit: 1,
        trials_per_gpu: 1,
        retries: retry::NONE,
        pin: false,
    };
    let mut ended = None;
    pool.run_rung(work(job, Vec::new()), &mut |_: &str, message: Message| {
        if let Some(Message::Done(result)) = show(message, observer) {
            ended = Some(*result);
        }
        Ok(())
    })?;
    ended.unwrap_or_else(|| Err(no_result()))
}

/// The rung of a Train job: its one job, to its until step (else
/// `max_steps`), with the Slurm jobs `recorded` for it.
pub(super) fn work(job: &TrainJob, recorded: Vec<SlurmJob>) -> RungWork {
    RungWork {
        rung: job.until_step.unwrap_or(job.spec.training.max_steps),
        jobs: vec![job.clone()],
        recorded,
        retried: Default::default(),
    }
}

/// Show `message` to `observer` when it is the trainer's event or a note;
/// any other message is handed back.
pub(super) fn show(message: Message, observer: &mut dyn Observer) -> Option<Message> {
    match message {
        Message::Event(event) => observer.event(&event),
        Message::Note(note) => observer.note(&note),
        other => return Some(other),
    }
    None
}

/// An executor that ended without the job's result (a bug, not the
/// user's doing).
pub(super) fn no_result() -> Error {
    Error::runtime("the executor ended without the Train job's result")
}
