//! A pretrained folder with a fine-tuned run's checkpoint over it, for
//! decoding (`generate-hf`) and for export (`export-hf`): the folder's model
//! in f32 with the run's LoRA adapters (or all its weights) replaced by
//! the checkpoint's, whose blake3 must be the one the run recorded; and
//! the export, the checkpoint merged into the base weights and written as
//! a Hugging Face folder.

use std::path::Path;

use tch::{Device, Kind};

use tunix_core::protocol::{Event, HfExportRequest, Started, TrainedCheckpoint};

use super::checkpoint::{self, MODEL_FILE};
use crate::emit::Emitter;
use crate::failure::Failure;
use crate::hf::{HfError, HfModel};

/// The folder `dir`'s model on `device` with `trained`'s weights in.
pub fn load(
    dir: &Path,
    trained: Option<&TrainedCheckpoint>,
    device: Device,
) -> Result<HfModel, Failure> {
    let bad = |what: &str, e: HfError| Failure::bad_config(format!("{what}: {e}"));
    let Some(trained) = trained else {
        return HfModel::load(dir, device).map_err(|e| bad("loading the model", e));
    };
    let state = checkpoint::read_state(&trained.dir)?;
    if state.model_blake3 != trained.model_blake3 {
        return Err(Failure::bad_config(format!(
            "checkpoint {} holds weights {}, not the {} its run recorded",
            trained.dir.display(),
            state.model_blake3,
            trained.model_blake3
        )));
    }
    let tensors = checkpoint::read_tensors(&trained.dir.join(MODEL_FILE), &trained.model_blake3)?;
    let mut model = HfModel::load_for_training(dir, device, Kind::Float, trained.lora.as_ref(), 0)
        .map_err(|e| bad("loading the model", e))?;
    model.load_trained(&tensors).map_err(|e| {
        bad(
            &format!(
                "the checkpoint {} does not fit the model",
                trained.dir.display()
            ),
            e,
        )
    })?;
    Ok(model)
}

/// Serve an export request: merge, write, report.
pub fn export(req: &HfExportRequest, out: &mut Emitter) -> Result<u32, Failure> {
    let model = load(&req.model_dir, Some(&req.checkpoint), Device::Cpu)?;
    let state = checkpoint::read_state(&req.checkpoint.dir)?;
    out.emit(&Event::Started(Started {
        device: "cpu".into(),
        framework_version: format!("libtorch {}", crate::doctor::libtorch_version()),
        model_id: String::new(),
        parameters: 0,
        dataset: None,
        start_step: state.step,
        notes: Vec::new(),
    }))?;
    let written = model
        .export_merged(&req.model_dir, &req.out_dir)
        .map_err(|e| Failure::crash(format!("writing {}: {e}", req.out_dir.display())))?;
    out.log(&format!(
        "wrote {} files to {}",
        written.len(),
        req.out_dir.display()
    ))?;
    Ok(state.step)
}
