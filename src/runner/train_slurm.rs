//! A Train job on Slurm (`executor: slurm`): prepare its run folder here,
//! submit one job that runs `tunix-rt worker` on it (with `--requeue`: a
//! preempted or requeued job resumes from its newest checkpoint), follow it
//! from `scontrol show job` and the run folder's metrics, and judge the end
//! by the run folder, as a sweep's trials are. Running the manifest again
//! while its job is still queued or running attaches to that job (the job
//! id is kept in the run folder's control folder).

use std::path::{Path, PathBuf};

use serde_json::json;

use super::slurm_judge::{judge, last_step, Ended, Verdict};
use super::sweep_slurm::{poll_interval, preflight, tunix_rt_binary, wait};
use super::train::{self, TrainJob};
use super::{Observer, Outcome};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::job::{identity, Placement};
use crate::runfolder::layout::CONTROL_DIR;
use crate::runfolder::{read_metrics_file, METRICS};
use crate::slurm::control;
use crate::slurm::interrupt;
use crate::slurm::script::{self, Batch};
use crate::slurm::state::{self, Phase};
use crate::trainer::Event;
use crate::workspace::Workspace;

/// The job script in the run folder's control folder.
pub const SCRIPT: &str = "slurm.sbatch";
/// The submitted job's id, beside the script.
pub const JOB_FILE: &str = "slurm.json";

/// A Train job on Slurm: its run folder and its job.
#[derive(Debug)]
pub struct SlurmTrain {
    pub run_dir: PathBuf,
    pub job_id: String,
    /// Whether an earlier `tunix-rt run` submitted the job (found still
    /// queued or running) rather than this one.
    pub attached: bool,
}

/// Submit `job` as one Slurm job, or, when an earlier `run` of the same
/// config submitted one that Slurm still lists as queued or running,
/// attach to that job instead of submitting a second.
pub fn start(ws: &Workspace, job: &TrainJob) -> Result<SlurmTrain> {
    let spec = job.spec.slurm.as_deref().ok_or_else(|| {
        Error::bad_input("`executor: slurm` needs a `slurm` block").with_path(&job.manifest_path)
    })?;
    preflight(ws, spec).map_err(|e| e.with_path(&job.manifest_path))?;
    if let Some((run_dir, job_id)) = live_job(job)? {
        return Ok(SlurmTrain {
            run_dir,
            job_id,
            attached: true,
        });
    }
    let dir = train::prepare(ws, job)?;
    let control_dir = dir.join(CONTROL_DIR);
    let script_path = control_dir.join(SCRIPT);
    let tunix_rt = tunix_rt_binary(spec)?;
    let batch = Batch {
        job_name: format!("tunix-{}", job.name),
        title: format!("tunix-rt Train run {}", job.name),
        workspace: ws.root(),
        tunix_rt: &tunix_rt,
        run_dirs: vec![dir.clone()],
        array: false,
        throttle: None,
        until_step: job.until_step,
        output: control_dir.join("slurm-%j.out"),
        spec,
    };
    let sub = script::render(&batch, &script_path);
    write_atomic(&script_path, sub.script.as_bytes())?;
    let job_id = control::submit(&sub.options, &script_path)?;
    write_atomic(
        &control_dir.join(JOB_FILE),
        &crate::runfolder::to_json_bytes(&json!({ "job_id": job_id, "script": SCRIPT }))?,
    )?;
    tracing::info!("submitted Slurm job {job_id} for {}", dir.display());
    Ok(SlurmTrain {
        run_dir: dir,
        job_id,
        attached: false,
    })
}

/// Follow `train` until its job ends, then judge it by its run folder;
/// `observer` sees the run's metrics as they appear. Ctrl-C cancels the
/// job (the run folder resumes when the manifest runs again).
pub fn follow(ws: &Workspace, train: &SlurmTrain, observer: &mut dyn Observer) -> Result<Outcome> {
    let (dir, job_id) = (&train.run_dir, &train.job_id);
    let control_dir = dir.join(CONTROL_DIR);
    interrupt::catch();
    let poll = poll_interval();
    let mut shown = 0u64;
    loop {
        if let Some(signal) = interrupt::interrupted() {
            let cancelled = control::cancel(job_id);
            return Err(Error::interrupted(signal, format!(
                "interrupted by {signal}: {} Slurm job {job_id}; the run folder {} resumes from its newest checkpoint when the manifest runs again",
                if cancelled.is_ok() { "cancelled" } else { "could not cancel" },
                ws.display_path(dir).display()
            )));
        }
        let ended = match control::tasks(job_id)? {
            None => Some(Ended::Vanished(job_id.clone())),
            Some(tasks) => tasks
                .into_iter()
                .find(|t| state::phase(&t.state) == Phase::Ended)
                .map(|t| Ended::Task(job_id.clone(), t)),
        };
        shown = show_metrics(dir, shown, observer);
        if let Some(ended) = ended {
            let output = control_dir.join(format!("slurm-{job_id}.out"));
            return match judge(dir, None, &ended, &output) {
                Verdict::Reached(outcome) => Ok(*outcome),
                Verdict::Failed(f) => Err(Error::runtime(format!(
                    "the run failed ({}): {}",
                    f.class, f.message
                ))
                .with_path(dir)),
            };
        }
        wait(poll);
    }
}

/// The run folder and job of an earlier submission of `job`'s config that
/// Slurm still lists as queued or running. The candidates are the folders
/// `job` could claim: its fixed folder, or `name`, `name-2`, ... up to the
/// first that does not exist.
fn live_job(job: &TrainJob) -> Result<Option<(PathBuf, String)>> {
    let candidates: Vec<PathBuf> = match &job.placement {
        Placement::Fixed { dir, .. } => vec![dir.clone()],
        Placement::Numbered { root, name } => (1u32..)
            .map(|n| match n {
                1 => root.join(name),
                _ => root.join(format!("{name}-{n}")),
            })
            .take_while(|dir| dir.is_dir())
            .collect(),
    };
    let config = identity::train(&job.spec, None);
    for dir in candidates {
        let Some(job_id) = recorded_job(&dir) else {
            continue;
        };
        let same_config = train::read_job(&dir).is_ok_and(|recorded| {
            recorded.evalset == job.evalset && identity::train(&recorded.spec, None) == config
        });
        if !same_config {
            continue;
        }
        let live = control::tasks(&job_id)?
            .is_some_and(|tasks| tasks.iter().any(|t| state::phase(&t.state) != Phase::Ended));
        if live {
            return Ok(Some((dir, job_id)));
        }
    }
    Ok(None)
}

/// The Slurm job id recorded in `dir`'s control folder, if any.
fn recorded_job(dir: &Path) -> Option<String> {
    let bytes = std::fs::read(dir.join(CONTROL_DIR).join(JOB_FILE)).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value["job_id"].as_str().map(str::to_string)
}

/// Pass the metrics lines past step `shown` to `observer`; the newest step.
fn show_metrics(dir: &Path, shown: u64, observer: &mut dyn Observer) -> u64 {
    if last_step(dir).is_none_or(|s| s <= shown) {
        return shown;
    }
    let records = read_metrics_file(&dir.join(METRICS)).unwrap_or_default();
    let mut newest = shown;
    for r in records.into_iter().filter(|r| r.step > shown) {
        newest = newest.max(r.step);
        observer.event(&Event::Metrics(r));
    }
    newest
}
