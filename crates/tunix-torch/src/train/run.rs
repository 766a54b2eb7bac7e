//! The built-in trainer: one [`TrainerRequest`] in, protocol events out.
//! Picks the model the spec names, prepares the data for it, builds (or
//! resumes) the model and optimizer, reports the start and hands over to
//! the loop (`train_loop.rs`), which is the same for every model kind. It
//! writes only checkpoints; the coordinator records everything else from
//! the events.

use tunix_core::manifest::train::TrainModel;
use tunix_core::protocol::{Event, Started, TrainerRequest};

use super::checkpoint::{self, MODEL_FILE, OPTIMIZER_FILE};
use super::encode::{ByteEncoder, TokenizerEncoder};
use super::gpt_trainee::GptTrainee;
use super::hf_trainee::HfTrainee;
use super::optim::AdamW;
use super::prepare::{prepare, Prepared};
use super::train_loop::Loop;
use super::trainee::{torch_failure, Trainee, TraineeError};
use crate::emit::Emitter;
use crate::failure::Failure;

pub use super::train_loop::{FAULT_NAN_ENV, FAULT_PAUSE_ENV};

/// Serve the request; returns the step training stopped at.
pub fn run(req: &TrainerRequest, out: &mut Emitter) -> Result<u32, Failure> {
    let spec = &req.spec;
    let (model, dataset) = spec
        .worker_model()
        .map_err(|e| Failure::bad_config(e.to_string()))?;
    match model {
        TrainModel::Builtin(config) => {
            let context = config.dims().context_length as usize;
            let p = prepare(req, dataset, context, &ByteEncoder, out)?;
            let mut trainee = GptTrainee::new(config, p.choice.device, spec.training.seed)
                .map_err(|e| torch_failure(spec, &p.choice.label, "building the model", &e))?;
            train(req, &p, &mut trainee, out)
        }
        TrainModel::Hf(m) => {
            let dir = req.model_dir.as_deref().ok_or_else(|| {
                Failure::bad_config("the request names no model folder for model: { hf }")
            })?;
            let choice = crate::model::device::resolve(
                spec.device,
                crate::model::device::cuda_device_count(),
            )
            .map_err(|e| Failure::bad_config(e.to_string()))?;
            let mut trainee = HfTrainee::load(dir, m, choice.device, spec.training.seed)
                .map_err(|e| hf_failure(spec, &choice.label, &e))?;
            let encoder = TokenizerEncoder {
                tokenizer: trainee.tokenizer(),
            };
            let p = prepare(req, dataset, trainee.context_length(), &encoder, out)?;
            train(req, &p, &mut trainee, out)
        }
    }
}

/// Train `trainee` on the prepared data: restore a resume point or the
/// `init` weights, report the start, run the loop.
pub fn train(
    req: &TrainerRequest,
    p: &Prepared,
    trainee: &mut dyn Trainee,
    out: &mut Emitter,
) -> Result<u32, Failure> {
    let spec = &req.spec;
    let t = &spec.training;
    let label = p.choice.label.as_str();
    let params = trainee.params();
    let mut opt = AdamW::new(params, t.weight_decay)
        .map_err(|e| torch_failure(spec, label, "building the optimizer", &e.into()))?;
    let start = restore(req, trainee, &mut opt)?;
    out.emit(&Event::Started(Started {
        device: p.choice.label.clone(),
        framework_version: format!("libtorch {}", crate::doctor::libtorch_version()),
        model_id: trainee.model_id(),
        parameters: trainee.parameter_count(),
        dataset: Some(p.dataset_ref.clone()),
        start_step: start,
        notes: p
            .choice
            .note
            .iter()
            .cloned()
            .chain([p.batching_note.clone()])
            .collect(),
    }))?;
    out.log(&p.data_note)?;
    if let (Some(init), None) = (&req.init, &req.resume) {
        out.log(&format!(
            "weights from run {} step {} (blake3 {}), fresh optimizer",
            init.run_id, init.step, init.model_blake3
        ))?;
    }
    let rows = match t.gradient_accumulation_steps {
        1 => format!("{} rows", t.per_device_batch_size),
        n => format!("{} passes of {} rows", n, t.per_device_batch_size),
    };
    out.log(&format!(
        "training {} ({} parameters) on {label} in {}: steps {start}..{} of {}, {rows} of up to {} tokens per step",
        trainee.model_id(),
        trainee.parameter_count(),
        trainee.precision_name(),
        req.until_step,
        t.max_steps,
        trainee.context_length()
    ))?;
    let looped = Loop {
        req,
        trainee,
        prepared: p,
        eval: p.evalset.as_ref().zip(spec.eval.as_ref()),
    };
    looped.train(&mut opt, start, out)
}

/// Load the resume checkpoint (weights, moments, step) or the `init`
/// weights; returns the step training starts from.
fn restore(
    req: &TrainerRequest,
    trainee: &mut dyn Trainee,
    opt: &mut AdamW,
) -> Result<u32, Failure> {
    if let Some(resume) = &req.resume {
        let dir = &resume.dir;
        let state = checkpoint::read_state(dir)?;
        if state.config_hash != req.identity {
            return Err(Failure::bad_config(format!(
                "checkpoint {} belongs to another config; it cannot be resumed by this job",
                dir.display()
            )));
        }
        if state.step != resume.step {
            return Err(Failure::crash(format!(
                "checkpoint {} records step {}, not {}",
                dir.display(),
                state.step,
                resume.step
            )));
        }
        let weights = checkpoint::read_tensors(&dir.join(MODEL_FILE), &state.model_blake3)?;
        trainee
            .load_weights(&weights)
            .map_err(|m| Failure::crash(format!("cannot resume from {}: {m}", dir.display())))?;
        let moments = checkpoint::read_tensors(&dir.join(OPTIMIZER_FILE), &state.optimizer_blake3)?;
        opt.load(trainee.params(), &moments, u64::from(resume.step))
            .map_err(|m| Failure::crash(format!("cannot resume from {}: {m}", dir.display())))?;
        return Ok(resume.step);
    }
    if let Some(init) = &req.init {
        let state = checkpoint::read_state(&init.dir)?;
        if state.model_blake3 != init.model_blake3 {
            return Err(Failure::bad_config(format!(
                "model.init: checkpoint {} records weights {}, not the {} its run recorded",
                init.dir.display(),
                state.model_blake3,
                init.model_blake3
            )));
        }
        let weights = checkpoint::read_tensors(&init.dir.join(MODEL_FILE), &init.model_blake3)?;
        trainee.load_weights(&weights).map_err(|m| {
            Failure::bad_config(format!(
                "model.init: cannot start from {}: {m}",
                init.dir.display()
            ))
        })?;
    }
    Ok(0)
}

/// A pretrained folder that cannot be loaded is the user's to fix (bad
/// config, naming the file); libtorch's own failures are crashes.
fn hf_failure(
    spec: &tunix_core::manifest::train::TrainSpec,
    device: &str,
    e: &TraineeError,
) -> Failure {
    match e {
        TraineeError::Hf(crate::hf::HfError::Torch(_)) | TraineeError::Torch(_) => {
            torch_failure(spec, device, "loading the pretrained model", e)
        }
        _ => Failure::bad_config(format!("model.hf: {e}")),
    }
}
