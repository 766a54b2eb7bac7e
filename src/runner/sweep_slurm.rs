//! The Slurm executor: a sweep rung's live trials become one job array
//! (element i runs `tunix-rt worker` on trial i's folder until the rung;
//! `%K` from `max_concurrent_trials`), a Train job one plain job on its
//! run folder ([`Shape`]), and the executor follows them from `scontrol
//! show job` and the run folders. The next rung, a retry, a continuation
//! after ASHA's decision: each is a new array. What to do with each
//! element is [`super::slurm_track`]'s decision; how an ended one went is
//! [`super::slurm_judge`]'s; how a submission is written,
//! [`super::slurm_shape`]'s.
//!
//! - A task that ended (any final state) or vanished from the controller is
//!   judged by its trial folder, never assumed done.
//! - Failures are retried per `max_retries` by resubmitting the trial; the
//!   worker resumes from its newest checkpoint. Jobs carry `--requeue`, so
//!   preempted or requeued tasks come back by themselves and resume.
//! - Every submission is recorded (`Message::Submitted`: in the sweep's
//!   ledger, or a Train run's control folder) before the caller waits on
//!   it: a caller that comes back (after SIGKILL, or `sweep attach` or
//!   `run` again after `--detach`) passes the recorded jobs in and the
//!   executor attaches to those Slurm still knows.
//! - Ctrl-C (SIGINT/SIGTERM) cancels the rung's jobs (`scancel`) and
//!   records the unfinished trials as `cancelled`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::executor::{job_key, Executor, RungEnd, RungWork};
use super::rung_message::Message;
use super::slurm_judge::judge;
pub use super::slurm_shape::Shape;
use super::slurm_track::{element, Element, Next, Track};
use super::train::{self, TrainJob};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::slurm::SlurmSpec;
use crate::manifest::sweep::MaxRetries;
use crate::runfolder::layout::trial_dir;
use crate::runfolder::{read_metrics_file, METRICS};
use crate::slurm::control;
use crate::slurm::interrupt;
use crate::slurm::script;
use crate::sweep::ledger::SlurmJob;
use crate::trainer::Event;
use crate::workspace::Workspace;

/// How often the coordinator asks Slurm; `TUNIX_RT_SLURM_POLL_S` overrides.
const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// Jobs on Slurm: a sweep's trials, one job array per rung (and per
/// retry), or a Train job as one job.
pub struct SlurmExecutor<'a> {
    pub ws: &'a Workspace,
    pub spec: &'a SlurmSpec,
    /// A sweep's arrays or a Train's job.
    pub shape: Shape<'a>,
    pub retries: MaxRetries,
    /// `--detach`: submit and return.
    pub detach: bool,
}

impl Executor for SlurmExecutor<'_> {
    /// `on_message` sees the same messages as the local pool's, plus
    /// `Submitted` (record it before waiting), `Attached` and `Cancelled`.
    fn run_rung(
        &self,
        work: RungWork,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd> {
        let rung = work.rung;
        let jobs: BTreeMap<String, TrainJob> =
            work.jobs.into_iter().map(|j| (job_key(&j), j)).collect();
        let mut track = Track::new(rung, jobs.keys().cloned(), &work.retried);
        for job in track.recorded(&work.recorded) {
            if control::tasks(&job.job_id)?.is_some() {
                track.attach(job.clone());
                on_message("", Message::Attached(job.job_id.clone()))?;
            }
        }
        let mut submitted = work.recorded.len();
        let fresh = track.unowned();
        if !fresh.is_empty() {
            let job = self.submit(rung, &fresh, &jobs, &mut submitted, on_message)?;
            track.submitted(job);
        }
        if self.detach {
            return Ok(RungEnd::Detached {
                job_ids: track.active().iter().map(|j| j.job_id.clone()).collect(),
            });
        }
        let poll = poll_interval();
        loop {
            if let Some(signal) = interrupt::interrupted() {
                return self.cancel(signal, &track, &jobs, on_message);
            }
            for job in track.active().to_vec() {
                let tasks = control::tasks(&job.job_id)?;
                for (i, trial) in track.watched(&job) {
                    let Some(tj) = jobs.get(trial) else {
                        continue;
                    };
                    let run_dir = fixed_dir(tj);
                    let at = self.shape.element(i);
                    let ended = match element(&job.job_id, at, tasks.as_deref()) {
                        Element::Waiting => continue,
                        Element::Running => {
                            progress(&mut track, trial, &run_dir, on_message)?;
                            continue;
                        }
                        Element::Ended(ended) => ended,
                    };
                    // The lines written since the last poll, before the end.
                    progress(&mut track, trial, &run_dir, on_message)?;
                    let output = self.shape.output(&job.job_id, i, &run_dir);
                    let verdict = judge(&run_dir, self.shape.step(rung), &ended, &output);
                    let message = match track.ended(trial, verdict, self.retries) {
                        Next::Reached(outcome) => Message::Done(Box::new(Ok(*outcome))),
                        Next::Retry { failure, attempt } => Message::Retrying { failure, attempt },
                        Next::Failed(failure) => Message::Failed(failure),
                    };
                    on_message(trial, message)?;
                }
            }
            let again = track.take_again();
            if !again.is_empty() {
                let job = self.submit(rung, &again, &jobs, &mut submitted, on_message)?;
                track.submitted(job);
            }
            if track.is_done() {
                return Ok(RungEnd::Done);
            }
            wait(poll);
        }
    }
}

impl SlurmExecutor<'_> {
    /// Submit `trials` as one submission for `rung`; recorded through
    /// `on_message` before anything waits on it.
    fn submit(
        &self,
        rung: u32,
        trials: &[String],
        jobs: &BTreeMap<String, TrainJob>,
        submitted: &mut usize,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<SlurmJob> {
        let mut run_dirs = Vec::new();
        for t in trials {
            let job = jobs
                .get(t)
                .ok_or_else(|| Error::runtime(format!("trial {t} is not in this rung")))?;
            run_dirs.push(train::prepare(self.ws, job)?);
        }
        let first = trials.first().and_then(|t| jobs.get(t));
        *submitted += 1;
        let first_dir = run_dirs.first().cloned().unwrap_or_default();
        let (script_path, rel) = self.shape.script(rung, *submitted, &first_dir);
        let tunix_rt = tunix_rt_binary(self.spec)?;
        let batch = self
            .shape
            .batch(self.ws, self.spec, &tunix_rt, rung, trials, first, run_dirs);
        let sub = script::render(&batch, &script_path);
        write_atomic(&script_path, sub.script.as_bytes())?;
        let job_id = control::submit(&sub.options, &script_path)?;
        tracing::info!("submitted Slurm job {job_id} ({})", batch.title);
        let job = SlurmJob {
            job_id,
            rung,
            trials: trials.to_vec(),
            script: rel,
        };
        on_message("", Message::Submitted(job.clone()))?;
        Ok(job)
    }

    /// The script the first submission of a sweep's `rung` would write,
    /// for `run --plan` (nothing is written or submitted).
    pub fn planned_script(&self, rung: u32, trials: &[String]) -> Result<String> {
        let Shape::Sweep { name, dir, .. } = self.shape else {
            return Err(Error::runtime("a Train job has no rung plan"));
        };
        let run_dirs = trials.iter().map(|t| trial_dir(dir, name, t)).collect();
        let tunix_rt = tunix_rt_binary(self.spec)?;
        let batch = self
            .shape
            .batch(self.ws, self.spec, &tunix_rt, rung, trials, None, run_dirs);
        let (path, _) = self.shape.script(rung, 1, dir);
        Ok(script::render(&batch, &path).script)
    }

    /// Ctrl-C or SIGTERM (`signal`): cancel the followed jobs, record the
    /// unfinished trials as cancelled, end as interrupted (exit 130 or 143).
    fn cancel(
        &self,
        signal: crate::interrupt::Signal,
        track: &Track,
        jobs: &BTreeMap<String, TrainJob>,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd> {
        let mut problems = Vec::new();
        for job in track.active() {
            if let Err(e) = control::cancel(&job.job_id) {
                problems.push(e.to_string());
            }
        }
        for trial in track.remaining() {
            on_message(trial, Message::Cancelled)?;
        }
        let ids: Vec<&str> = track.active().iter().map(|j| j.job_id.as_str()).collect();
        let run_dir = jobs.values().next().map(fixed_dir).unwrap_or_default();
        let message = self.shape.interrupted(
            signal,
            &ids,
            &problems,
            track.remaining().len(),
            &self.ws.display_path(&run_dir),
        );
        Err(Error::interrupted(signal, message))
    }
}

/// Report a running trial's metrics records that are news, each as the
/// trainer's event.
fn progress(
    track: &mut Track,
    trial: &str,
    run_dir: &Path,
    on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
) -> Result<()> {
    let records = read_metrics_file(&run_dir.join(METRICS)).unwrap_or_default();
    for record in track.news(trial, records) {
        on_message(trial, Message::Event(Box::new(Event::Metrics(record))))?;
    }
    Ok(())
}

/// The run folder of a job (fixed for a trial, and for a Train job once
/// its folder is chosen).
fn fixed_dir(job: &TrainJob) -> PathBuf {
    match &job.placement {
        crate::job::Placement::Fixed { dir, .. } => dir.clone(),
        crate::job::Placement::Numbered { root, name } => root.join(name),
    }
}

/// The binary the compute nodes run: the manifest's `tunix_rt`, else this
/// one.
pub(super) fn tunix_rt_binary(spec: &SlurmSpec) -> Result<PathBuf> {
    match &spec.tunix_rt {
        Some(p) => Ok(p.clone()),
        None => std::env::current_exe()
            .map(|exe| without_deleted(&exe))
            .map_err(|e| Error::runtime(format!("cannot find the tunix-rt binary's path: {e}"))),
    }
}

/// Linux names a running binary that was replaced on disk (an upgrade, a
/// rebuild) `PATH (deleted)`; jobs submitted now run what is at PATH.
fn without_deleted(exe: &Path) -> PathBuf {
    exe.to_str()
        .and_then(|s| s.strip_suffix(" (deleted)"))
        .map_or_else(|| exe.to_path_buf(), PathBuf::from)
}

/// Check, before anything is written, that the cluster can be used: the
/// workspace lies in `shared_dir`, the client commands exist and the
/// controller answers.
pub fn preflight(ws: &Workspace, spec: &SlurmSpec) -> Result<()> {
    let shared = std::fs::canonicalize(&spec.shared_dir).map_err(|e| {
        Error::bad_input(format!(
            "slurm.shared_dir {} cannot be read here ({e}); it must be a folder this machine and the compute nodes share",
            spec.shared_dir.display()
        ))
    })?;
    let root = std::fs::canonicalize(ws.root()).unwrap_or_else(|_| ws.root().to_path_buf());
    if !root.starts_with(&shared) {
        return Err(Error::bad_input(format!(
            "the workspace {} is not inside slurm.shared_dir {}: the compute nodes would not see the trial folders; move the workspace onto the shared filesystem, or set shared_dir to the folder that holds it",
            root.display(),
            shared.display()
        )));
    }
    control::preflight()
}

/// The poll interval.
pub(super) fn poll_interval() -> Duration {
    std::env::var("TUNIX_RT_SLURM_POLL_S")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(DEFAULT_POLL, Duration::from_secs_f64)
}

/// Sleep `d`, waking early on Ctrl-C.
pub(super) fn wait(d: Duration) {
    let end = std::time::Instant::now() + d;
    while std::time::Instant::now() < end && interrupt::interrupted().is_none() {
        std::thread::sleep(Duration::from_millis(50).min(d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_binary_is_run_from_its_path() {
        assert_eq!(
            without_deleted(Path::new("/opt/bin/tunix-rt (deleted)")),
            PathBuf::from("/opt/bin/tunix-rt")
        );
        assert_eq!(
            without_deleted(Path::new("/opt/bin/tunix-rt")),
            PathBuf::from("/opt/bin/tunix-rt")
        );
    }
}
