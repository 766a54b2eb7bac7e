//! A checkpoint of another Train run, named by a manifest or the command
//! line (`model: { checkpoint }` of an Eval, `model: { init }` of a Train):
//! the source run's record, its Train spec, and the checkpoint's weights,
//! checked against the blake3 the source run recorded before anything is
//! written.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::blake3_file;
use crate::manifest::train::TrainSpec;
use crate::runfolder::{read_manifest, RunManifest};
use crate::trainer::protocol::{checkpoint_dir_name, checkpoints, CHECKPOINTS, MODEL_FILE};
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
    if source.kind != "Train" {
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
