//! Bringing a bracket's live trials to a rung: read what their folders
//! say, start the rung ([`super::start`]), hand the rest to the executor,
//! and turn each of its messages into a [`Report`] (reading the trial
//! folder where the message needs it) that changes the ledger
//! ([`super::report`]), which is written after every change.

use std::collections::BTreeMap;
use std::path::Path;

use super::event::SweepEvent;
use super::report::{apply, Report};
use super::start::{behind, start, OnDisk, Rung};
use super::trials::Trials;
use crate::error::Result;
use crate::manifest::sweep::SweepMetric;
use crate::runfolder::RunStatus;
use crate::runner::executor::{Executor, RungEnd, RungWork};
use crate::runner::rung_message::{failure_of, Message};
use crate::runner::train::TrainJob;
use crate::sweep::ledger::Ledger;
use crate::sweep::metric::{metric_at, missing, reached};
use crate::trainer::protocol::newest_checkpoint;
use crate::trainer::Event;

/// Bring every live trial of `at`'s bracket to its step: take what is on
/// disk, run the rest with `executor`. Some(job ids) when the trials were
/// left to Slurm (`--detach`).
pub(super) fn run_to(
    trials: &Trials,
    executor: &dyn Executor,
    at: Rung,
    ledger: &mut Ledger,
    ledger_path: &Path,
    on_event: &mut dyn FnMut(&SweepEvent),
) -> Result<Option<Vec<String>>> {
    let rung = at.rung;
    let metric = ledger.metric.clone();
    let steps = trials.steps_at(ledger, rung)?;
    let found = behind(ledger, at, &steps)
        .into_iter()
        .map(|(id, step)| {
            let run_dir = trials.run_dir(&id);
            let reached = reached(&run_dir, step, &metric);
            let has_checkpoint = reached.is_none() && newest_checkpoint(&run_dir).is_some();
            let disk = OnDisk {
                reached,
                has_checkpoint,
            };
            (id, step, disk)
        })
        .collect();
    let started = start(ledger, at, found);
    for event in &started.events {
        on_event(event);
    }
    ledger.write(ledger_path)?;
    let todo = started.todo;
    if todo.is_empty() {
        return Ok(None);
    }
    on_event(&SweepEvent::RungStarted {
        rung,
        trials: todo.clone(),
    });
    let jobs = todo
        .iter()
        .map(|id| {
            let step = steps.get(id).copied().unwrap_or(rung);
            trials.job(&trials.trial(ledger, id)?, step)
        })
        .collect::<Result<Vec<TrainJob>>>()?;
    let retried = ledger
        .trials
        .iter()
        .filter(|t| todo.contains(&t.trial_id) && !t.retried.is_empty())
        .map(|t| (t.trial_id.clone(), t.retried.clone()))
        .collect();
    let work = RungWork {
        rung,
        jobs,
        recorded: ledger.slurm_jobs.clone(),
        retried,
    };
    let mut handle = |trial_id: &str, message: Message| -> Result<()> {
        let Some(report) = report_of(trials, ledger, trial_id, message, &steps, at, &metric)?
        else {
            return Ok(());
        };
        let applied = apply(ledger, trial_id, report);
        if let Some(event) = &applied.event {
            on_event(event);
        }
        if applied.changed {
            ledger.write(ledger_path)?;
        }
        Ok(())
    };
    match executor.run_rung(work, &mut handle)? {
        RungEnd::Done => Ok(None),
        RungEnd::Detached { job_ids } => Ok(Some(job_ids)),
    }
}

/// What an executor's `message` about `trial_id` tells the ledger: the
/// metric at the trial's step when its run ended well, the failure its
/// folder records when it did not. None for a message about a trial the
/// ledger does not hold; an interrupted run ends the rung with its error
/// (the trial stays `running` in the ledger and resumes when the sweep
/// runs again).
fn report_of(
    trials: &Trials,
    ledger: &Ledger,
    trial_id: &str,
    message: Message,
    steps: &BTreeMap<String, u32>,
    at: Rung,
    metric: &SweepMetric,
) -> Result<Option<Report>> {
    let known = || ledger.trials.iter().any(|t| t.trial_id == trial_id);
    Ok(Some(match message {
        Message::Submitted(job) => Report::Submitted(job),
        Message::Attached(job_id) => Report::Attached(job_id),
        _ if !known() => return Ok(None),
        Message::Event(event) => match *event {
            Event::Metrics(record) => Report::Progress(record.step),
            _ => return Ok(None),
        },
        Message::Note(_) => return Ok(None),
        Message::Retrying { failure, attempt } => Report::Retrying { failure, attempt },
        Message::Failed(failure) => Report::Failed(failure),
        Message::Cancelled => Report::Cancelled,
        Message::Done(result) => match *result {
            Ok(outcome) => {
                let run_dir = trials.run_dir(trial_id);
                let step = steps.get(trial_id).copied().unwrap_or(at.rung);
                let value = metric_at(&run_dir, step, metric);
                let missing = match value {
                    Some(_) => None,
                    None => missing(&run_dir, step, metric),
                };
                Report::Reached {
                    step,
                    completed: outcome.status == RunStatus::Completed,
                    metric: value,
                    missing,
                }
            }
            Err(e) if e.interrupted_by().is_some() => return Err(e),
            Err(e) => Report::Failed(failure_of(&trials.run_dir(trial_id), &e)),
        },
    }))
}
