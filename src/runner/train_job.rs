//! A Train job as a value and its files in the run folder: [`TrainJob`],
//! its config identity (checked before anything is written), the control
//! files a worker runs from (`.job/spec.json`, `.job/request.json`), and
//! preparing a run folder for a job that runs elsewhere (Slurm).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::hf_model::{chat_frame, format_record, prompt_format, HfBase};
use super::source_checkpoint;
use crate::dataset::user::{self, DataFiles};
use crate::dataset::{self, load_evalset};
use crate::error::{Error, Result};
use crate::evalset::EvalSet;
use crate::fsutil::write_atomic;
use crate::job::{self, identity, Claim, Existing, Placement};
use crate::manifest::train::TrainSpec;
use crate::runfolder::layout::{CONTROL_DIR, JOB_SPEC, REQUEST};
use crate::runfolder::{to_json_bytes, FileRef, RunKind};
use crate::trainer::{InitPoint, TrainerRequest};
use crate::workspace::Workspace;

/// Everything a Train job needs, resolved from its manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainJob {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub spec: TrainSpec,
    /// The eval set of the spec's `eval` section, resolved (absolute).
    pub evalset: Option<PathBuf>,
    pub placement: Placement,
    /// The resolved manifest, recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
    /// The manifest file (errors point at it).
    pub manifest_path: PathBuf,
    pub tuning_job_id: Option<String>,
    pub trial_id: Option<String>,
    /// Stop after this step (default `max_steps`); the run is then
    /// `stopped` and resumable.
    pub until_step: Option<u32>,
}

/// Where a job's weights come from besides its own training: the
/// checkpoint a built-in model starts from, or the pretrained model folder
/// fine-tuned and how its prompts are framed.
#[derive(Debug, Default)]
pub(super) struct Start {
    pub init: Option<InitPoint>,
    pub pretrained: Option<Pretrained>,
}

/// A pretrained model folder a job fine-tunes.
#[derive(Debug)]
pub(super) struct Pretrained {
    pub base: HfBase,
    /// The chat template, as a `{prompt}` frame; none: the spec's
    /// `decoding.prompt_template`.
    pub frame: Option<String>,
    /// The prompt format's record in the run's config.
    pub format: serde_json::Value,
}

/// Where the job's weights start from, and its config identity: the spec
/// with its eval set, its own data files and its initial weights (a
/// checkpoint, or a pretrained folder's files and prompt format) by
/// content. Bad data, a bad checkpoint or a bad model folder is refused
/// here, before anything is written.
pub(super) fn job_identity(
    ws: &Workspace,
    job: &TrainJob,
    evalset: Option<&EvalSet>,
    evalset_ref: Option<&FileRef>,
) -> Result<(Start, String)> {
    let data = user_data(ws, job, evalset)?;
    let init = source_checkpoint::init_point(
        ws,
        job.spec.builtin_model(),
        &data_dir(job),
        &job.manifest_path,
    )?;
    let pretrained = pretrained(ws, job)?;
    let weights = match (&init, &pretrained) {
        (Some(p), _) => Some(json!({ "blake3": p.model_blake3 })),
        (None, Some(p)) => {
            // The template, not the day it renders on: a run resumed on
            // another day is the same run (its record keeps the day).
            let mut format = p.format.clone();
            if let Some(f) = format.as_object_mut() {
                f.remove("rendered_on");
            }
            Some(json!({ "files": p.base.files, "prompt_format": format }))
        }
        (None, None) => None,
    };
    let identity = identity::train_from(&job.spec, evalset_ref, &data, weights);
    Ok((Start { init, pretrained }, identity))
}

/// The pretrained model folder of a `model: { hf }` job, hashed, and its
/// prompt framing: the chat template (unless the eval's decoding turns it
/// off or sets its own prompt_template) as a `{prompt}` frame.
fn pretrained(ws: &Workspace, job: &TrainJob) -> Result<Option<Pretrained>> {
    let Ok((model, _)) = job.spec.pretrained() else {
        return Ok(None);
    };
    let dir = ws
        .resolve(&job.manifest_path, &model.hf)
        .map_err(|e| Error::bad_input(format!("model.hf: {e}")).with_path(&job.manifest_path))?;
    let base = HfBase::hash(&dir)?;
    let decoding = job
        .spec
        .eval
        .as_ref()
        .map(|e| e.decoding.clone())
        .unwrap_or_default();
    let chat = prompt_format(&dir, &decoding)?;
    let frame = chat.as_ref().map(chat_frame).transpose()?;
    Ok(Some(Pretrained {
        base,
        frame,
        format: format_record(chat.as_ref()),
    }))
}

/// The folder the job's relative data paths (`dataset.path`,
/// `dataset.val_path`) resolve against: its manifest's.
fn data_dir(job: &TrainJob) -> PathBuf {
    job.manifest_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The user's own training data of a built-in Train job, read and checked
/// exactly as the trainer will read it (every line, the eval-set overlap
/// policy) before anything is written, so bad data is exit 2 with its
/// `file:line` and no run folder; and its files by content, for the config
/// identity. Nothing for generated data or a command trainer.
fn user_data(ws: &Workspace, job: &TrainJob, evalset: Option<&EvalSet>) -> Result<DataFiles> {
    let config = match job.spec.worker_model() {
        Ok((_, config)) if config.name.is_none() && config.path.is_some() => config,
        _ => return Ok(DataFiles::default()),
    };
    let (index, _) = dataset::eval_index(ws, evalset)?;
    let data = user::load_files(config, &data_dir(job), Some(ws), &index)?;
    for (at, r) in data.rejected_at.iter().zip(&data.dataset.rejected) {
        tracing::info!(
            "dataset: dropping {at}: overlaps {} ({})",
            r.overlap.eval_item,
            r.overlap.kind
        );
    }
    Ok(data.files)
}

/// Write `.job/spec.json` (what the worker entrypoint runs: this job, in
/// exactly this folder) and `.job/request.json`; returns the request's path.
pub(super) fn write_control_files(
    claim: &Claim,
    job: &TrainJob,
    request: &TrainerRequest,
) -> Result<PathBuf> {
    write_job_spec(job, &claim.dir)?;
    let path = claim.dir.join(CONTROL_DIR).join(REQUEST);
    write_atomic(&path, &to_json_bytes(request)?)?;
    Ok(path)
}

/// Write `dir/.job/spec.json`: `job`, pinned to exactly `dir`.
fn write_job_spec(job: &TrainJob, dir: &Path) -> Result<()> {
    let pinned = TrainJob {
        placement: Placement::Fixed {
            dir: dir.to_path_buf(),
            existing: Existing::Resume,
        },
        until_step: None,
        ..job.clone()
    };
    write_atomic(
        &dir.join(CONTROL_DIR).join(JOB_SPEC),
        &to_json_bytes(&pinned)?,
    )
}

/// Prepare `job` to run elsewhere (`tunix-rt worker DIR`, e.g. as a Slurm
/// job): choose and claim its run folder as [`super::train::execute`] would, write the
/// job spec there and release the folder again. The run folder's path.
pub fn prepare(ws: &Workspace, job: &TrainJob) -> Result<PathBuf> {
    let evalset = job
        .evalset
        .as_deref()
        .map(|p| load_evalset(ws, p))
        .transpose()?;
    let evalset_ref = evalset.as_ref().map(|e| FileRef {
        path: ws.display_path(&e.path).display().to_string(),
        blake3: e.blake3.clone(),
    });
    let (_, identity) = job_identity(ws, job, evalset.as_ref(), evalset_ref.as_ref())?;
    let claim = job::claim(&job.placement, RunKind::Train, &identity)?;
    if let Err(e) = write_job_spec(job, &claim.dir) {
        claim.abandon();
        return Err(e);
    }
    Ok(claim.dir.clone())
}

/// Read the job spec a coordinator left in `run_dir`.
pub fn read_job(run_dir: &Path) -> Result<TrainJob> {
    let path = run_dir.join(CONTROL_DIR).join(JOB_SPEC);
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::bad_input(format!(
            "{} is not a prepared run folder (no {CONTROL_DIR}/{JOB_SPEC}); `tunix-rt run` prepares one",
            run_dir.display()
        ))
        .with_source(e)
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::runtime(format!("the job spec is not valid: {e}")).with_path(&path))
}
