//! Exporting a run that fine-tuned a pretrained model as a Hugging Face
//! model folder (`tunix-rt export RUN --hf DIR`): the run's checkpoint is
//! merged into its base weights by the built-in worker (`export-hf`) and
//! written with the base folder's config and tokenizer, so `transformers`
//! loads it with `from_pretrained`. The base folder is checked against the
//! run's record of it first; the worker writes into a staging folder beside
//! `DIR`, which is renamed into place only once it finished, so `DIR` is
//! either complete or absent. `tunix_export.json` in it names the source
//! run, step and weights.

use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::json;

use super::decode::worker_error;
use super::hf_model::HfBase;
use super::source_checkpoint;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::runfolder::to_json_bytes;
use crate::trainer::process;
use crate::trainer::protocol::{Event, HfExportRequest, TrainedCheckpoint, PROTOCOL_VERSION};
use crate::trainer::TrainerCommand;
use crate::workspace::Workspace;

/// The provenance file written into the exported folder.
pub const PROVENANCE_FILE: &str = "tunix_export.json";

/// What was exported.
#[derive(Debug, Clone, Serialize)]
pub struct Exported {
    /// The folder written.
    pub dir: PathBuf,
    pub run_id: String,
    pub step: u32,
    /// blake3 of the checkpoint's trained weights.
    pub checkpoint_blake3: String,
    /// Whether LoRA adapters were merged into the base weights.
    pub merged_lora: bool,
    /// The files written, relative to `dir`.
    pub files: Vec<String>,
}

/// Export checkpoint `step` (none: the newest) of the run in `run_dir` to
/// the new folder `out` with `worker` (the built-in worker's `export-hf`).
pub fn export_hf(
    ws: &Workspace,
    run_dir: &Path,
    step: Option<u32>,
    out: &Path,
    worker: &TrainerCommand,
) -> Result<Exported> {
    let point = source_checkpoint::resolve(ws, run_dir, step, "export it")?;
    let run_id = point.source.run_id.clone();
    let Ok((model, _)) = point.spec.pretrained() else {
        return Err(Error::bad_input(format!(
            "run {run_id} trained the built-in GPT; `export --hf` writes Hugging Face model folders of runs that fine-tuned one (`model: {{ hf: ... }}`)"
        )));
    };
    let base = HfBase::recorded(ws, &point.source.config, &run_id)?;
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(Error::bad_input(format!(
            "{} already exists; name a new folder to export to (nothing is overwritten)",
            out.display()
        )));
    }
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| {
        Error::bad_input("cannot create the export's parent folder")
            .with_path(&parent)
            .with_source(e)
    })?;
    let name = out
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let staging =
        Staging::create(parent.join(format!(".{name}.tunix-export-{}", std::process::id())))?;
    let written = staging.0.join("model");
    let checkpoint = TrainedCheckpoint {
        dir: point.dir.clone(),
        model_blake3: point.blake3.clone(),
        lora: model.lora.clone(),
    };
    let request = HfExportRequest {
        protocol: PROTOCOL_VERSION,
        model_dir: base.dir.clone(),
        checkpoint,
        out_dir: std::path::absolute(&written).unwrap_or(written.clone()),
    };
    let request_path = staging.0.join("request.json");
    write_atomic(&request_path, &to_json_bytes(&request)?)?;
    let mut failed = None;
    let exit = process::run(worker, &request_path, |event| {
        match event {
            Event::Failed(f) => failed = Some(f),
            Event::Log { message } => tracing::info!("worker: {message}"),
            _ => {}
        }
        Ok(())
    });
    let finished = matches!(&exit, Ok(e) if e.status.success()) && failed.is_none();
    if !finished || !written.is_dir() {
        return Err(worker_error(exit, failed));
    }
    let provenance = json!({
        "source_run": run_id,
        "step": point.step,
        "checkpoint_blake3": point.blake3,
        "base_model": base.record(ws),
        "lora": model.lora,
    });
    write_atomic(
        &written.join(PROVENANCE_FILE),
        &serde_json::to_vec_pretty(&provenance).unwrap_or_default(),
    )?;
    let mut files: Vec<String> = std::fs::read_dir(&written)
        .map_err(|e| {
            Error::runtime("cannot list the export")
                .with_path(&written)
                .with_source(e)
        })?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    files.sort();
    std::fs::rename(&written, out).map_err(|e| {
        Error::runtime("cannot move the export into place")
            .with_path(out)
            .with_source(e)
    })?;
    Ok(Exported {
        dir: out.to_path_buf(),
        run_id,
        step: point.step,
        checkpoint_blake3: point.blake3,
        merged_lora: model.lora.is_some(),
        files,
    })
}

/// A staging folder, removed with everything in it when dropped.
struct Staging(PathBuf);

impl Staging {
    fn create(dir: PathBuf) -> Result<Self> {
        std::fs::create_dir(&dir).map_err(|e| {
            Error::runtime("cannot create a staging folder for the export")
                .with_path(&dir)
                .with_source(e)
        })?;
        Ok(Self(dir))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
