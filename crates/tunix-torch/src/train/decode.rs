//! Decoding an eval set with a checkpoint's weights (`tunix-rt-worker
//! generate`): the same KV-cache greedy generation as the evaluation at the
//! end of training, on a model rebuilt from the checkpoint.

use tunix_core::dataset;
use tunix_core::protocol::{Event, FailureClass, GenerateRequest, Outputs, Started};
use tunix_core::workspace::Workspace;

use super::checkpoint::{self, MODEL_FILE};
use super::gpt_trainee::model_id;
use super::model_eval::model_outputs;
use crate::emit::Emitter;
use crate::failure::Failure;
use crate::model::device::{self, is_out_of_memory, Precision};
use crate::model::gpt::Gpt;

/// Serve the request; returns the checkpoint's step.
pub fn run(req: &GenerateRequest, out: &mut Emitter) -> Result<u32, Failure> {
    let choice = device::resolve(req.device, device::cuda_device_count()).map_err(|e| Failure {
        class: FailureClass::BadConfig,
        message: e.to_string(),
    })?;
    let ws = Workspace::at(&req.workspace)?;
    let set = dataset::load_evalset(&ws, &req.evalset)?;
    let state = checkpoint::read_state(&req.checkpoint)?;
    let dims = req.model.dims();
    let torch = |what: &'static str| {
        move |e: tch::TchError| {
            let msg = e.to_string();
            Failure {
                class: if is_out_of_memory(&msg) {
                    FailureClass::OutOfMemory
                } else {
                    FailureClass::Crash
                },
                message: format!("{what}: {msg}"),
            }
        }
    };
    let model = Gpt::new(
        dims,
        req.model.dropout,
        Precision::for_device(choice.device),
        choice.device,
        state.seed,
    )
    .map_err(torch("building the model"))?;
    let weights = checkpoint::read_tensors(&req.checkpoint.join(MODEL_FILE), &state.model_blake3)?;
    model.load(&weights).map_err(|m| Failure {
        class: FailureClass::Crash,
        message: format!("cannot load {}: {m}", req.checkpoint.display()),
    })?;
    out.emit(&Event::Started(Started {
        device: choice.label.clone(),
        framework_version: format!("libtorch {}", crate::doctor::libtorch_version()),
        model_id: model_id(&req.model),
        parameters: dims.parameter_count(),
        dataset: None,
        start_step: state.step,
        notes: choice.note.iter().cloned().collect(),
    }))?;
    let total = set.items.len() as u64;
    let mut done = 0u64;
    let mut progress_error = None;
    let outputs = model_outputs(
        &model,
        &set.items,
        &req.decoding,
        &req.decoding.prompt_template,
        |n| {
            done += n as u64;
            if progress_error.is_none() {
                if let Err(e) = out.emit(&Event::EvalProgress { done, total }) {
                    progress_error = Some(e);
                }
            }
        },
    )
    .map_err(torch("decoding"))?;
    if let Some(e) = progress_error {
        return Err(e);
    }
    out.emit(&Event::Outputs(Outputs {
        step: state.step,
        last: true,
        outputs: outputs.by_id,
        truncated_prompts: outputs.truncated_prompts,
    }))?;
    Ok(state.step)
}
