//! A Train job on Slurm (`executor: slurm`), as a sweep of one on the
//! Slurm executor ([`super::sweep_slurm`], [`Shape::Train`]): choose and
//! prepare its run folder here, hand the executor the one job (it submits
//! one job that runs `tunix-rt worker` on the folder, with `--requeue`: a
//! preempted or requeued job resumes from its newest checkpoint, follows
//! it and judges the end by the run folder, as a sweep's trials are), and
//! record each submission in the run folder's control folder
//! (`slurm.json`) before waiting on it. Running the manifest again while
//! its job is still queued or running — after `--detach`, or after the
//! coordinator was killed — finds that folder and passes its recorded job
//! to the executor, which attaches to it instead of submitting again.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::executor::{job_key, Executor, RungEnd};
use super::rung_message::Message;
use super::sweep_slurm::{preflight, Shape, SlurmExecutor};
use super::train::{self, TrainJob};
use super::train_run::{no_result, show, work};
use super::{retry, Observer, Ran};
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::job::{identity, Existing, Placement};
use crate::runfolder::layout::CONTROL_DIR;
use crate::slurm::control;
use crate::slurm::interrupt;
use crate::slurm::state::{self, Phase};
use crate::sweep::ledger::SlurmJob;
use crate::workspace::Workspace;

pub use super::slurm_shape::SCRIPT;
/// The submitted job's record, beside the script: `{"job_id", "script"}`.
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

/// Run `job` on Slurm: follow it to its end, reporting its metrics to
/// `observer`, or, with `detach`, return once it is submitted (or found
/// running). Ctrl-C cancels the job (the run folder resumes when the
/// manifest runs again).
pub(super) fn run(
    ws: &Workspace,
    job: &TrainJob,
    detach: bool,
    observer: &mut dyn Observer,
) -> Result<Ran> {
    let spec = job.spec.slurm.as_deref().ok_or_else(|| {
        Error::bad_input("`executor: slurm` needs a `slurm` block").with_path(&job.manifest_path)
    })?;
    preflight(ws, spec).map_err(|e| e.with_path(&job.manifest_path))?;
    let rung = work(job, Vec::new()).rung;
    let (dir, recorded) = match live_job(job, rung)? {
        Some((dir, recorded)) => (dir, vec![recorded]),
        None => (train::prepare(ws, job)?, Vec::new()),
    };
    let placed = TrainJob {
        placement: Placement::Fixed {
            dir: dir.clone(),
            existing: Existing::Resume,
        },
        ..job.clone()
    };
    if !detach {
        interrupt::catch();
    }
    let executor = SlurmExecutor {
        ws,
        spec,
        shape: Shape::Train,
        retries: retry::NONE,
        detach,
    };
    let shown = ws.display_path(&dir).display().to_string();
    let mut attached = None;
    let mut ended = None;
    let end = executor.run_rung(work(&placed, recorded), &mut |_: &str, message: Message| {
        match show(message, observer) {
            Some(Message::Submitted(submitted)) => {
                record(&dir, &submitted)?;
            }
            Some(Message::Attached(job_id)) => {
                observer.note(&format!(
                    "run: attached to Slurm job {job_id} (submitted earlier, still known to Slurm) on {shown}"
                ));
                attached = Some(job_id);
            }
            Some(Message::Done(result)) => ended = Some(*result),
            Some(Message::Failed(f)) => {
                ended = Some(Err(Error::runtime(format!(
                    "the run failed ({}): {}",
                    f.class, f.message
                ))
                .with_path(&dir)));
            }
            _ => {}
        }
        Ok(())
    })?;
    match end {
        RungEnd::Detached { job_ids } => Ok(Ran::Detached(SlurmTrain {
            run_dir: dir.clone(),
            job_id: job_ids.into_iter().next().unwrap_or_default(),
            attached: attached.is_some(),
        })),
        RungEnd::Done => Ok(Ran::Done(Box::new(
            ended.unwrap_or_else(|| Err(no_result()))?,
        ))),
    }
}

/// Record `job` in `dir`'s control folder, before anything waits on it.
fn record(dir: &Path, job: &SlurmJob) -> Result<()> {
    write_atomic(
        &dir.join(CONTROL_DIR).join(JOB_FILE),
        &crate::runfolder::to_json_bytes(&json!({ "job_id": job.job_id, "script": job.script }))?,
    )
}

/// The run folder and recorded job of an earlier submission of `job`'s
/// config that Slurm still lists as queued or running (as the executor's
/// record at `rung`). The candidates are the folders `job` could claim:
/// its fixed folder, or `name`, `name-2`, ... up to the first that does
/// not exist.
fn live_job(job: &TrainJob, rung: u32) -> Result<Option<(PathBuf, SlurmJob)>> {
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
        let Ok(bytes) = std::fs::read(dir.join(CONTROL_DIR).join(JOB_FILE)) else {
            continue;
        };
        let Some(recorded) = recorded_job(&bytes, &job_key(job), rung) else {
            continue;
        };
        let same_config = train::read_job(&dir).is_ok_and(|earlier| {
            earlier.evalset == job.evalset && identity::train(&earlier.spec, None) == config
        });
        if !same_config {
            continue;
        }
        let live = control::tasks(&recorded.job_id)?
            .is_some_and(|tasks| tasks.iter().any(|t| state::phase(&t.state) != Phase::Ended));
        if live {
            return Ok(Some((dir, recorded)));
        }
    }
    Ok(None)
}

/// A run folder's `slurm.json` (`bytes`) as the executor's record of the
/// job that runs the Train job `key` at `rung`; none when it does not
/// read or names no job. A record without `script` (none was ever
/// written without one) names the usual script.
fn recorded_job(bytes: &[u8], key: &str, rung: u32) -> Option<SlurmJob> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    Some(SlurmJob {
        job_id: value["job_id"].as_str()?.to_string(),
        rung,
        trials: vec![key.to_string()],
        script: value["script"].as_str().unwrap_or(SCRIPT).to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_slurm_json_is_the_executors_record_of_the_train_job() {
        let old = br#"{"job_id": "12", "script": "slurm.sbatch"}"#;
        let job = recorded_job(old, "toy", 8).expect("a record");
        assert_eq!(
            job,
            SlurmJob {
                job_id: "12".into(),
                rung: 8,
                trials: vec!["toy".into()],
                script: "slurm.sbatch".into(),
            }
        );
        let without_script = recorded_job(br#"{"job_id": "13"}"#, "toy", 8).expect("a record");
        assert_eq!(without_script.script, SCRIPT);
        assert!(recorded_job(br#"{"script": "slurm.sbatch"}"#, "toy", 8).is_none());
        assert!(recorded_job(br#"{"job_id": 12}"#, "toy", 8).is_none());
        assert!(recorded_job(b"{\"job_id\": \"1", "toy", 8).is_none());
    }

    #[test]
    fn the_record_written_is_the_one_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(CONTROL_DIR)).expect("control dir");
        let job = SlurmJob {
            job_id: "21".into(),
            rung: 4,
            trials: vec!["toy".into()],
            script: SCRIPT.into(),
        };
        record(dir.path(), &job).expect("record");
        let bytes = std::fs::read(dir.path().join(CONTROL_DIR).join(JOB_FILE)).expect("read");
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(
            value,
            json!({"job_id": "21", "script": "slurm.sbatch"}),
            "the recorded format, unchanged"
        );
        assert_eq!(recorded_job(&bytes, "toy", 4), Some(job));
    }
}
