//! A Train job on Slurm (`executor: slurm`): prepare its run folder here,
//! submit one job that runs `tunix-rt worker` on it (with `--requeue`: a
//! preempted or requeued job resumes from its newest checkpoint), follow it
//! from `scontrol show job` and the run folder's metrics, and judge the end
//! by the run folder, as a sweep's trials are.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::sweep_slurm::{last_step, poll_interval, preflight, tunix_rt_binary, wait};
use super::train::{self, TrainJob, CONTROL_DIR};
use super::{Observer, Outcome};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::runfolder::{read_manifest, MetricRecord, RunStatus, METRICS};
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

/// How a Train job on Slurm ended for the caller.
#[derive(Debug)]
pub enum TrainEnd {
    /// The run ended (completed, or stopped at `--until-step`).
    Finished(Box<Outcome>),
    /// `--detach`: submitted; nobody waits.
    Detached { job_id: String, run_dir: PathBuf },
}

/// Run `job` as a Slurm job; `observer` sees its metrics as they appear.
pub fn run(
    ws: &Workspace,
    job: &TrainJob,
    detach: bool,
    observer: &mut dyn Observer,
) -> Result<TrainEnd> {
    let spec = job.spec.slurm.as_deref().ok_or_else(|| {
        Error::bad_input("`executor: slurm` needs a `slurm` block").with_path(&job.manifest_path)
    })?;
    preflight(ws, spec).map_err(|e| e.with_path(&job.manifest_path))?;
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
    if detach {
        return Ok(TrainEnd::Detached {
            job_id,
            run_dir: dir,
        });
    }
    interrupt::catch();
    let poll = poll_interval();
    let mut shown = 0u64;
    loop {
        if interrupt::interrupted() {
            let cancelled = control::cancel(&job_id);
            return Err(Error::runtime(format!(
                "interrupted: {} Slurm job {job_id}; the run folder {} resumes from its newest checkpoint when the manifest runs again",
                if cancelled.is_ok() { "cancelled" } else { "could not cancel" },
                ws.display_path(&dir).display()
            )));
        }
        let ended = match control::tasks(&job_id)? {
            None => Some(format!("Slurm no longer lists job {job_id}")),
            Some(tasks) => tasks
                .into_iter()
                .find(|t| state::phase(&t.state) == Phase::Ended)
                .map(|t| {
                    format!(
                        "Slurm job {job_id} ended {} (exit code {})",
                        t.state,
                        t.exit_code.as_deref().unwrap_or("unknown")
                    )
                }),
        };
        shown = show_metrics(&dir, shown, observer);
        if let Some(how) = ended {
            return judge(&dir, &how, &control_dir.join(format!("slurm-{job_id}.out")));
        }
        wait(poll);
    }
}

/// Pass the metrics lines past step `shown` to `observer`; the newest step.
fn show_metrics(dir: &Path, shown: u64, observer: &mut dyn Observer) -> u64 {
    if last_step(dir).is_none_or(|s| s <= shown) {
        return shown;
    }
    let text = std::fs::read_to_string(dir.join(METRICS)).unwrap_or_default();
    let mut newest = shown;
    for r in text
        .lines()
        .filter_map(|l| serde_json::from_str::<MetricRecord>(l).ok())
        .filter(|r| r.step > shown)
    {
        newest = newest.max(r.step);
        observer.event(&Event::Metrics(r));
    }
    newest
}

/// What the run folder says after the job ended.
fn judge(dir: &Path, how: &str, output: &Path) -> Result<TrainEnd> {
    match read_manifest(dir) {
        Ok(m) if matches!(m.status, RunStatus::Completed | RunStatus::Stopped) => {
            let summary = std::fs::read(dir.join(crate::runfolder::EVAL_SUMMARY))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            Ok(TrainEnd::Finished(Box::new(Outcome {
                run_dir: dir.to_path_buf(),
                status: m.status,
                summary,
                notes: Vec::new(),
            })))
        }
        Ok(m) if m.status == RunStatus::Failed => {
            let (class, message) = m.failure.map_or(("crash".to_string(), String::new()), |f| {
                (f.class, f.message)
            });
            Err(Error::runtime(format!(
                "the run failed ({class}): {message}; {how}; see {}",
                output.display()
            ))
            .with_path(dir))
        }
        _ => Err(Error::runtime(format!(
            "{how} without recording an outcome in the run folder; see {}",
            output.display()
        ))
        .with_path(dir)),
    }
}
