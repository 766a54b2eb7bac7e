//! A checkpoint of another Train run, named by a manifest or the command
//! line (`model: { checkpoint }` of an Eval, `model: { init }` of a Train):
//! the source run's record, its Train spec, and the checkpoint's weights,
//! checked against the blake3 the source run recorded before anything is
//! written.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::blake3_file;
use crate::manifest::train::{ModelConfig, TrainSpec};
use crate::runfolder::{read_manifest, RunKind, RunManifest};
use crate::trainer::protocol::{checkpoint_dir_name, checkpoints, CHECKPOINTS, MODEL_FILE};
use crate::trainer::InitPoint;
use crate::workspace::Workspace;

/// One checked checkpoint of a Train run.
#[derive(Debug, Clone)]
pub struct SourceCheckpoint {
    /// The source run's record.
    pub source: RunManifest,
    /// The source run's Train spec (it trained the built-in model).
    pub spec: TrainSpec,
    pub step: u32,
    /// The checkpoint folder.
    pub dir: PathBuf,
    /// blake3 of the checkpoint's weights, as recorded and as on disk.
    pub blake3: String,
}

/// The checkpoint at `step` (none: the newest) of the Train run in
/// `source_dir`, refused (bad input) when the run is not a built-in Train
/// run, has no such checkpoint, does not record its weights, or the
/// weights changed since. `purpose` completes "refusing to ...".
pub fn resolve(
    ws: &Workspace,
    source_dir: &Path,
    step: Option<u32>,
    purpose: &str,
) -> Result<SourceCheckpoint> {
    let source = read_manifest(source_dir)?;
    let shown = ws.display_path(source_dir).display().to_string();
    if source.kind != RunKind::Train {
        return Err(Error::bad_input(format!(
            "{shown} is a {} run; only Train runs have checkpoints",
            source.kind
        )));
    }
    let spec: TrainSpec = serde_json::from_value(source.config["spec"].clone()).map_err(|e| {
        Error::bad_input(format!(
            "{shown}: its run_manifest.json config is not a Train spec this version reads: {e}"
        ))
    })?;
    if spec.model.is_none() {
        return Err(Error::bad_input(format!(
            "run {} trained with its own `command`, not the built-in model, so it has no built-in checkpoint; refusing to {purpose}",
            source.run_id
        )));
    }
    let available = checkpoints(source_dir);
    let steps: Vec<String> = available.iter().map(|c| c.step.to_string()).collect();
    let point = match step {
        Some(step) => available.iter().find(|c| c.step == step),
        None => available.last(),
    }
    .ok_or_else(|| {
        Error::bad_input(format!(
            "run {} has no checkpoint{}; its checkpoints: {}",
            source.run_id,
            step.map_or(String::new(), |s| format!(" at step {s}")),
            if steps.is_empty() {
                "none".to_string()
            } else {
                steps.join(", ")
            }
        ))
    })?;
    let rel = format!(
        "{CHECKPOINTS}/{}/{MODEL_FILE}",
        checkpoint_dir_name(point.step)
    );
    let recorded = source
        .artifacts
        .iter()
        .find(|a| a.path == rel)
        .map(|a| a.blake3.clone())
        .ok_or_else(|| {
            Error::bad_input(format!(
                "run {} does not record {rel} in its run_manifest.json, so its weights cannot be checked; use a checkpoint the run recorded",
                source.run_id
            ))
        })?;
    let (actual, _) = blake3_file(&point.dir.join(MODEL_FILE))?;
    if actual != recorded {
        return Err(Error::bad_input(format!(
            "{shown}/{rel} no longer matches the blake3 its run recorded ({} now, {} recorded): the checkpoint changed after training; refusing to {purpose}",
            crate::job::claim::short(&actual),
            crate::job::claim::short(&recorded)
        )));
    }
    Ok(SourceCheckpoint {
        step: point.step,
        dir: point.dir.clone(),
        blake3: actual,
        source,
        spec,
    })
}

/// The source run folder a manifest or the command line names: a folder
/// (relative to `base`), else a run id or unique prefix under
/// `submission_runs/`.
pub fn source_folder(ws: &Workspace, base: &Path, run: &str) -> Result<PathBuf> {
    let as_path = ws.resolve(base, Path::new(run));
    match as_path {
        Ok(p) if p.is_dir() => Ok(p),
        _ => crate::runfolder::layout::resolve_run_folder(&ws.root().join("submission_runs"), run),
    }
}

/// The checkpoint a built-in Train job with `model` starts from
/// (`model: { init }`, its run named relative to `base`),
/// checked before anything is written: the source run recorded these
/// weights, they are unchanged, and the architecture is this job's.
pub fn init_point(
    ws: &Workspace,
    model: Option<&ModelConfig>,
    base: &Path,
    manifest: &Path,
) -> Result<Option<InitPoint>> {
    let Some((model, init)) = model.and_then(|m| m.init.as_ref().map(|i| (m, i))) else {
        return Ok(None);
    };
    let in_manifest = |e: Error| e.with_path(manifest);
    let dir = source_folder(ws, base, &init.run).map_err(in_manifest)?;
    let point = resolve(ws, &dir, init.step, "start a run from it").map_err(in_manifest)?;
    let theirs = point.spec.builtin_model().map(|m| m.dims());
    if let Some(theirs) = theirs.filter(|d| *d != model.dims()) {
        return Err(in_manifest(Error::bad_input(format!(
            "model.init: run {} step {} has another architecture ({}) than this model ({}); set model's preset and sizes to the source run's, or train from scratch",
            point.source.run_id,
            point.step,
            describe_dims(&theirs),
            describe_dims(&model.dims())
        ))));
    }
    Ok(Some(InitPoint {
        run_id: point.source.run_id,
        step: point.step,
        dir: point.dir,
        model_blake3: point.blake3,
    }))
}

fn describe_dims(d: &crate::presets::ModelDims) -> String {
    format!(
        "n_layer {}, n_head {}, n_embd {}, context_length {}, vocab {}",
        d.n_layer, d.n_head, d.n_embd, d.context_length, d.vocab_size
    )
}
