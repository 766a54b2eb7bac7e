//! A sweep rung on Slurm: the live trials of one rung become one job array
//! (element i runs `tunix-rt worker` on trial i's folder until the rung;
//! `%K` from `max_concurrent_trials`), and the coordinator follows it from
//! `scontrol show job` and the trial folders. The next rung, a retry, a
//! continuation after ASHA's decision: each is a new array.
//!
//! - A task that ended (any final state) or vanished from the controller is
//!   judged by its trial folder: a run stopped or completed at the rung
//!   reached it; a failed run failed with its recorded class; anything
//!   else failed with the class of the Slurm state (TIMEOUT → `timeout`,
//!   OUT_OF_MEMORY → `out_of_memory`, else `crash`). Never assumed done.
//! - Failures are retried per `max_retries` by resubmitting the trial; the
//!   worker resumes from its newest checkpoint. Jobs carry `--requeue`, so
//!   preempted or requeued tasks come back by themselves and resume.
//! - Every submission is recorded in the ledger before the coordinator
//!   waits on it: a coordinator that comes back (after SIGKILL, or `sweep
//!   attach` after `--detach`) attaches to the jobs Slurm still knows.
//! - Ctrl-C (SIGINT/SIGTERM) cancels the rung's jobs (`scancel`) and
//!   records the unfinished trials as `cancelled`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::rung_message::{reached_rung, Message};
use super::train::{self, TrainJob};
use super::Outcome;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::slurm::SlurmSpec;
use crate::manifest::sweep::MaxRetries;
use crate::runfolder::layout::{trial_dir, SLURM_DIR};
use crate::runfolder::{read_manifest, Failure, MetricRecord, RunStatus, METRICS};
use crate::slurm::control::{self, Task};
use crate::slurm::interrupt;
use crate::slurm::script::{self, Batch};
use crate::slurm::state::{self, Phase};
use crate::sweep::ledger::SlurmJob;
use crate::workspace::Workspace;

/// How often the coordinator asks Slurm; `TUNIX_RT_SLURM_POLL_S` overrides.
const DEFAULT_POLL: Duration = Duration::from_secs(10);

/// How a rung on Slurm ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RungEnd {
    /// Every trial reached the rung or failed for good.
    Done,
    /// `--detach`: the jobs were submitted (or found running); nobody waits.
    Detached { job_ids: Vec<String> },
}

/// One rung's trials on Slurm.
pub struct SlurmRung<'a> {
    pub ws: &'a Workspace,
    pub spec: &'a SlurmSpec,
    pub sweep: &'a str,
    /// The sweep folder.
    pub dir: &'a Path,
    pub rung: u32,
    pub throttle: u32,
    pub retries: MaxRetries,
    /// The sweep's jobs so far (from the ledger), oldest first.
    pub previous: Vec<SlurmJob>,
    pub detach: bool,
}

/// What a trial folder says after its task ended.
pub(super) enum Verdict {
    Reached(Box<Outcome>),
    Failed(Failure),
}

impl SlurmRung<'_> {
    /// Bring `jobs` (trial jobs, each with a fixed trial folder) to the
    /// rung; `on_message` sees the same messages as the local pool's, plus
    /// `Submitted` (record it before waiting) and `Cancelled`.
    pub(super) fn run(
        &self,
        jobs: Vec<TrainJob>,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd> {
        let mut remaining: BTreeMap<String, TrainJob> = jobs
            .into_iter()
            .filter_map(|j| Some((j.trial_id.clone()?, j)))
            .collect();
        // Which job runs each trial now: the newest that lists it.
        let mut owner: BTreeMap<String, (String, usize)> = BTreeMap::new();
        let mut active: Vec<SlurmJob> = Vec::new();
        for job in self.previous.iter().filter(|j| j.rung == self.rung) {
            if !job.trials.iter().any(|t| remaining.contains_key(t)) {
                continue;
            }
            if control::tasks(&job.job_id)?.is_some() {
                for (i, t) in job.trials.iter().enumerate() {
                    owner.insert(t.clone(), (job.job_id.clone(), i));
                }
                active.push(job.clone());
                on_message("", Message::Attached(job.job_id.clone()))?;
            }
        }
        let fresh: Vec<String> = remaining
            .keys()
            .filter(|t| !owner.contains_key(*t))
            .cloned()
            .collect();
        let mut submitted = self.previous.len();
        if !fresh.is_empty() {
            let job = self.submit(&fresh, &remaining, &mut submitted, on_message)?;
            for (i, t) in job.trials.iter().enumerate() {
                owner.insert(t.clone(), (job.job_id.clone(), i));
            }
            active.push(job);
        }
        if self.detach {
            return Ok(RungEnd::Detached {
                job_ids: active.iter().map(|j| j.job_id.clone()).collect(),
            });
        }
        let poll = poll_interval();
        let mut used: BTreeMap<(String, String), u32> = BTreeMap::new();
        let mut steps: BTreeMap<String, u64> = BTreeMap::new();
        loop {
            if let Some(signal) = interrupt::interrupted() {
                return self.cancel(signal, &active, &remaining, on_message);
            }
            let mut again = Vec::new();
            for job in &active {
                let tasks = control::tasks(&job.job_id)?;
                for (i, trial) in job.trials.iter().enumerate() {
                    if owner.get(trial) != Some(&(job.job_id.clone(), i)) {
                        continue;
                    }
                    let Some(tj) = remaining.get(trial) else {
                        continue;
                    };
                    let run_dir = fixed_dir(tj);
                    let ended = match &tasks {
                        None => Some(Ended::Vanished(job.job_id.clone())),
                        Some(tasks) => match tasks.iter().find(|t| t.index == Some(i as u32)) {
                            None => Some(Ended::Vanished(format!("{}_{i}", job.job_id))),
                            Some(t) if state::phase(&t.state) == Phase::Ended => {
                                Some(Ended::Task(format!("{}_{i}", job.job_id), t.clone()))
                            }
                            Some(t) => {
                                if state::phase(&t.state) == Phase::Running {
                                    self.progress(trial, &run_dir, &mut steps, on_message)?;
                                }
                                None
                            }
                        },
                    };
                    let Some(ended) = ended else { continue };
                    let output = self
                        .dir
                        .join(SLURM_DIR)
                        .join(format!("{}_{i}.out", job.job_id));
                    match judge(&run_dir, Some(self.rung), &ended, &output) {
                        Verdict::Reached(outcome) => {
                            remaining.remove(trial);
                            on_message(trial, Message::Done(Box::new(Ok(*outcome))))?;
                        }
                        Verdict::Failed(failure) => {
                            let n = used
                                .entry((trial.clone(), failure.class.clone()))
                                .or_insert(0);
                            if *n < self.retries.for_class(&failure.class) {
                                *n += 1;
                                let attempt = *n;
                                on_message(trial, Message::Retrying { failure, attempt })?;
                                again.push(trial.clone());
                            } else {
                                remaining.remove(trial);
                                on_message(trial, Message::Failed(failure))?;
                            }
                        }
                    }
                }
            }
            for t in &again {
                owner.remove(t);
            }
            active.retain(|j| owner.values().any(|(id, _)| *id == j.job_id));
            if !again.is_empty() {
                let job = self.submit(&again, &remaining, &mut submitted, on_message)?;
                for (i, t) in job.trials.iter().enumerate() {
                    owner.insert(t.clone(), (job.job_id.clone(), i));
                }
                active.push(job);
            }
            if remaining.is_empty() {
                return Ok(RungEnd::Done);
            }
            wait(poll);
        }
    }

    /// Submit `trials` as one array; recorded through `on_message` before
    /// anything waits on it.
    fn submit(
        &self,
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
        *submitted += 1;
        let rel = format!("{SLURM_DIR}/rung-{}-{}.sbatch", self.rung, *submitted);
        let script_path = self.dir.join(&rel);
        let tunix_rt = tunix_rt_binary(self.spec)?;
        let batch = self.batch(trials, run_dirs, &tunix_rt);
        let sub = script::render(&batch, &script_path);
        write_atomic(&script_path, sub.script.as_bytes())?;
        let job_id = control::submit(&sub.options, &script_path)?;
        let job = SlurmJob {
            job_id,
            rung: self.rung,
            trials: trials.to_vec(),
            script: rel,
        };
        on_message("", Message::Submitted(job.clone()))?;
        Ok(job)
    }

    /// The job array of `trials` (whose folders are `run_dirs`).
    fn batch<'b>(
        &'b self,
        trials: &[String],
        run_dirs: Vec<PathBuf>,
        tunix_rt: &'b Path,
    ) -> Batch<'b> {
        Batch {
            job_name: format!("tunix-{}-r{}", self.sweep, self.rung),
            title: format!(
                "tunix-rt sweep {}, rung {} (step {}): {}",
                self.sweep,
                self.rung,
                self.rung,
                trials.join(", ")
            ),
            workspace: self.ws.root(),
            tunix_rt,
            run_dirs,
            array: true,
            throttle: Some(self.throttle.min(trials.len() as u32).max(1)),
            until_step: Some(self.rung),
            output: self.dir.join(SLURM_DIR).join("%A_%a.out"),
            spec: self.spec,
        }
    }

    /// The script the first submission of this rung would write, for
    /// `run --plan` (nothing is written or submitted).
    pub fn planned_script(&self, trials: &[String]) -> Result<String> {
        let run_dirs = trials
            .iter()
            .map(|t| trial_dir(self.dir, self.sweep, t))
            .collect();
        let tunix_rt = tunix_rt_binary(self.spec)?;
        let batch = self.batch(trials, run_dirs, &tunix_rt);
        let path = self
            .dir
            .join(format!("{SLURM_DIR}/rung-{}-1.sbatch", self.rung));
        Ok(script::render(&batch, &path).script)
    }

    /// Ctrl-C or SIGTERM (`signal`): cancel the jobs, record the unfinished
    /// trials as cancelled, end as interrupted (exit 130 or 143).
    fn cancel(
        &self,
        signal: crate::interrupt::Signal,
        active: &[SlurmJob],
        remaining: &BTreeMap<String, TrainJob>,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd> {
        let mut problems = Vec::new();
        for job in active {
            if let Err(e) = control::cancel(&job.job_id) {
                problems.push(e.to_string());
            }
        }
        for trial in remaining.keys() {
            on_message(trial, Message::Cancelled)?;
        }
        let ids: Vec<&str> = active.iter().map(|j| j.job_id.as_str()).collect();
        let mut message = format!(
            "interrupted by {signal}: cancelled Slurm job(s) {} (scancel); {} unfinished trial(s) recorded as cancelled; run the same command again to continue them",
            ids.join(", "),
            remaining.len()
        );
        if !problems.is_empty() {
            message.push_str(&format!("; could not cancel: {}", problems.join("; ")));
        }
        Err(Error::interrupted(signal, message))
    }

    /// Report a running trial's newest step once.
    fn progress(
        &self,
        trial: &str,
        run_dir: &Path,
        steps: &mut BTreeMap<String, u64>,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<()> {
        let Some(step) = last_step(run_dir) else {
            return Ok(());
        };
        if steps.insert(trial.to_string(), step) != Some(step) {
            on_message(trial, Message::Progress(step))?;
        }
        Ok(())
    }
}

/// How a task stopped being something to wait for.
pub(super) enum Ended {
    /// Slurm no longer lists it (the id shown).
    Vanished(String),
    /// It ended in a final state.
    Task(String, Task),
}

/// What the run folder says after its task ended: it reached `step` (any
/// step when `None`) if it stopped or completed with a metrics line there;
/// else the failure it recorded; else a failure named after the task's
/// final state, pointing at its Slurm output file `output`.
pub(super) fn judge(run_dir: &Path, step: Option<u32>, ended: &Ended, output: &Path) -> Verdict {
    let manifest = read_manifest(run_dir).ok();
    if let Some(m) = &manifest {
        if matches!(m.status, RunStatus::Stopped | RunStatus::Completed)
            && step.is_none_or(|s| reached_rung(run_dir, s))
        {
            let summary = std::fs::read(run_dir.join(crate::runfolder::EVAL_SUMMARY))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            return Verdict::Reached(Box::new(Outcome {
                run_dir: run_dir.to_path_buf(),
                status: m.status,
                summary,
                notes: Vec::new(),
            }));
        }
        if m.status == RunStatus::Failed {
            if let Some(f) = &m.failure {
                return Verdict::Failed(f.clone());
            }
        }
    }
    let at = step.map(|s| format!(" at step {s}")).unwrap_or_default();
    Verdict::Failed(match ended {
        Ended::Vanished(id) => Failure {
            class: crate::trainer::FailureClass::Crash.as_str().into(),
            message: format!(
                "Slurm no longer lists job {id} (it ended longer ago than MinJobAge, or was purged) and its run folder records no outcome{at}"
            ),
        },
        Ended::Task(id, task) => Failure {
            class: state::failure_class(&task.state).as_str().into(),
            message: format!(
                "Slurm job {id} ended {} (exit code {}, reason {}) without recording an outcome{at}; see {}",
                task.state,
                task.exit_code.as_deref().unwrap_or("unknown"),
                task.reason,
                output.display()
            ),
        },
    })
}

/// The trial folder of a trial job.
fn fixed_dir(job: &TrainJob) -> PathBuf {
    match &job.placement {
        crate::job::Placement::Fixed { dir, .. } => dir.clone(),
        crate::job::Placement::Numbered { root, name } => root.join(name),
    }
}

/// The newest step in a run folder's metrics.
pub(super) fn last_step(run_dir: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(run_dir.join(METRICS)).ok()?;
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str::<MetricRecord>(l).ok())
        .map(|r| r.step)
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
    use crate::runfolder::{to_json_bytes, RunKind, RunManifest, RUN_MANIFEST};

    fn folder(
        status: Option<RunStatus>,
        failure: Option<(&str, &str)>,
        steps: &[u32],
    ) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(status) = status {
            let mut m = RunManifest::new("t", RunKind::Train, "t", "2026-12-01T00:00:00Z");
            m.status = status;
            m.failure = failure.map(|(class, message)| Failure {
                class: class.into(),
                message: message.into(),
            });
            std::fs::write(
                dir.path().join(RUN_MANIFEST),
                to_json_bytes(&m).expect("json"),
            )
            .expect("write");
        }
        let lines: String = steps
            .iter()
            .map(|s| format!("{{\"step\":{s},\"loss\":1.0}}\n"))
            .collect();
        std::fs::write(dir.path().join(METRICS), lines).expect("metrics");
        dir
    }

    fn task(state: &str) -> Ended {
        Ended::Task(
            "7_0".into(),
            Task {
                index: Some(0),
                state: state.into(),
                exit_code: Some("0:15".into()),
                restarts: 0,
                reason: "TimeLimit".into(),
            },
        )
    }

    fn failed(v: Verdict) -> Failure {
        match v {
            Verdict::Failed(f) => f,
            Verdict::Reached(o) => panic!("reached: {o:?}"),
        }
    }

    #[test]
    fn an_ended_task_is_judged_by_its_trial_folder() {
        let output = Path::new("/s/slurm/7_0.out");
        let at_rung = folder(Some(RunStatus::Stopped), None, &[1, 2, 3, 4]);
        let vanished = Ended::Vanished("7".into());
        assert!(matches!(
            judge(at_rung.path(), Some(4), &vanished, output),
            Verdict::Reached(_)
        ));
        // Stopped at an earlier rung: the task did not bring it to this one.
        let earlier = folder(Some(RunStatus::Stopped), None, &[1, 2]);
        let f = failed(judge(earlier.path(), Some(4), &task("TIMEOUT"), output));
        assert_eq!(f.class, "timeout");
        assert!(
            f.message
                .contains("Slurm job 7_0 ended TIMEOUT (exit code 0:15"),
            "{}",
            f.message
        );
        assert!(
            f.message
                .ends_with("outcome at step 4; see /s/slurm/7_0.out"),
            "{}",
            f.message
        );
        let nan = folder(
            Some(RunStatus::Failed),
            Some(("nan_loss", "loss is NaN")),
            &[1],
        );
        assert_eq!(
            failed(judge(nan.path(), Some(4), &task("FAILED"), output)).class,
            "nan_loss"
        );
        let empty = folder(None, None, &[]);
        let f = failed(judge(empty.path(), Some(4), &vanished, output));
        assert_eq!(f.class, "crash");
        assert!(f.message.contains("no longer lists job 7"), "{}", f.message);
        let oom = folder(Some(RunStatus::Running), None, &[1]);
        assert_eq!(
            failed(judge(oom.path(), Some(4), &task("OUT_OF_MEMORY"), output)).class,
            "out_of_memory"
        );
        // A Train job (no step to reach): stopped at any step is its end.
        assert!(matches!(
            judge(earlier.path(), None, &task("COMPLETED"), output),
            Verdict::Reached(_)
        ));
        let timed_out = failed(judge(oom.path(), None, &task("TIMEOUT"), output));
        assert_eq!(timed_out.class, "timeout");
        assert!(
            timed_out
                .message
                .ends_with("without recording an outcome; see /s/slurm/7_0.out"),
            "{}",
            timed_out.message
        );
    }

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
