//! The built-in trainer: one [`TrainerRequest`] in, protocol events out.
//! Generates the data, builds (or resumes) the model and optimizer, trains
//! from the resume point to `until_step` with checkpoints, and evaluates.
//! It writes only checkpoints; the coordinator records everything else from
//! the events.

use std::time::Instant;

use tch::{Kind, TchError, Tensor};

use tunix_core::dataset::generate::{Generated, PROGRESS_EVERY};
use tunix_core::dataset::{self, Dataset};
use tunix_core::evalset::EvalSet;
use tunix_core::manifest::train::Batching;
use tunix_core::manifest::train::{ModelConfig, TrainEval, TrainSpec};
use tunix_core::presets::ModelDims;
use tunix_core::protocol::{
    CheckpointWritten, Event, FailureClass, Outputs, Started, TrainerRequest, GRAD_NORM,
};
use tunix_core::rng::derive_seed;
use tunix_core::runfolder::{FileRef, MetricRecord};
use tunix_core::workspace::Workspace;

use super::batches::Examples;
use super::checkpoint::{self, CheckpointState, MODEL_FILE, OPTIMIZER_FILE};
use super::device_batch::{batch_loss, to_tensors};
use super::model_eval::model_outputs;
use super::optim::{clip_grad_norm, zero_grad, AdamW};
use super::schedule::learning_rate;
use crate::emit::Emitter;
use crate::failure::Failure;
use crate::model::device::{self, is_out_of_memory, DeviceChoice, Precision};
use crate::model::gpt::Gpt;

/// Set to a step number to make that step's loss NaN (tests of the
/// failure path; obeyed by test builds only, see `tunix_core::fault`).
pub const FAULT_NAN_ENV: &str = "TUNIX_RT_FAULT_NAN_STEP";

/// Set to a step number to make the trainer stop and wait, forever, right
/// after the checkpoint of that step is complete and reported (tests that
/// kill a run at a known point; obeyed by test builds only).
pub const FAULT_PAUSE_ENV: &str = "TUNIX_RT_FAULT_PAUSE_AFTER_CHECKPOINT";

/// Validation batches evaluated for `val_loss`.
const VAL_BATCHES: usize = 8;

/// The model's name in records: the preset, with any size overrides.
pub fn model_id(m: &ModelConfig) -> String {
    let preset = serde_json::to_value(m.preset)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let overrides: Vec<String> = [
        ("n_layer", m.n_layer),
        ("n_head", m.n_head),
        ("n_embd", m.n_embd),
        ("context_length", m.context_length),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
    .collect();
    if overrides.is_empty() {
        preset
    } else {
        format!("{preset}({})", overrides.join(","))
    }
}

/// Everything the loop needs, prepared before the first event.
struct Prepared {
    choice: DeviceChoice,
    dims: ModelDims,
    model: ModelConfig,
    evalset: Option<EvalSet>,
    train: Examples,
    val: Examples,
    dataset_ref: FileRef,
    data_note: String,
    batching_note: String,
}

/// Check the request and build the data; only log lines (generation
/// progress of a large dataset) are reported yet, which the coordinator
/// shows but does not record before `started`, so a refusal leaves the run
/// folder untouched.
fn prepare(req: &TrainerRequest, out: &mut Emitter) -> Result<Prepared, Failure> {
    let spec = &req.spec;
    let max_steps = spec.training.max_steps;
    if req.until_step == 0 || req.until_step > max_steps {
        return Err(Failure::bad_config(format!(
            "until_step {} is outside 1..={max_steps}",
            req.until_step
        )));
    }
    let choice = device::resolve(spec.device, device::cuda_device_count())
        .map_err(|e| Failure::bad_config(e.to_string()))?;
    let (model, dataset_config) = spec
        .builtin()
        .map_err(|e| Failure::bad_config(e.to_string()))?;
    let dims = model.dims();
    let ws = Workspace::at(&req.workspace)?;
    let evalset = req
        .evalset
        .as_deref()
        .map(|p| dataset::load_evalset(&ws, p))
        .transpose()?;
    let (index, _) = dataset::eval_index(&ws, evalset.as_ref())?;
    let template = dataset::prompt_template(spec);
    let manifest = ws.root().join(&req.manifest);
    let manifest_dir = manifest.parent().unwrap_or(ws.root());
    let mut report = |g: Generated| {
        if g.wanted >= PROGRESS_EVERY {
            let _ = out.log(&format!(
                "dataset: {} of {} {} examples generated",
                g.made, g.wanted, g.split
            ));
        }
    };
    let data = dataset::build_reporting(dataset_config, manifest_dir, &index, &mut report)?;
    let train_stream = Dataset::stream(&data.train, &template);
    let val_stream = Dataset::stream(&data.val, &template);
    let context = dims.context_length as usize;
    let loss_on = spec.training.loss_on;
    let batching = spec.training.batching;
    let train = Examples::new(&data.train, &template, context, loss_on, batching);
    let val = Examples::new(&data.val, &template, context, loss_on, batching);
    if train.is_empty() {
        return Err(Failure::bad_config(
            "the training split has no examples; raise dataset.train_examples or add examples to dataset.path",
        ));
    }
    let dataset_ref = FileRef {
        path: dataset::display_name(dataset_config),
        blake3: Dataset::blake3(&train_stream, &val_stream),
    };
    let data_note = format!(
        "dataset {}: {} train examples ({} bytes), {} val ({} bytes); {} dropped for overlapping eval sets",
        dataset_ref.path,
        data.train.len(),
        train_stream.len(),
        data.val.len(),
        val_stream.len(),
        data.rejected.len()
    );
    let layout = match batching {
        Batching::Packed => format!(
            "whole examples packed into rows of {context} tokens, attention within each example"
        ),
        Batching::Padded => format!(
            "one example per row, right-padded to the longest row (at most {context} tokens)"
        ),
    };
    let batching_note = format!(
        "batches ({}): {layout}; loss on {}",
        batching.as_str(),
        loss_on.as_str()
    );
    Ok(Prepared {
        choice,
        dims,
        model: model.clone(),
        evalset,
        train,
        val,
        dataset_ref,
        data_note,
        batching_note,
    })
}

/// Serve the request; returns the step training stopped at.
pub fn run(req: &TrainerRequest, out: &mut Emitter) -> Result<u32, Failure> {
    let p = prepare(req, out)?;
    let spec = &req.spec;
    let t = &spec.training;
    let device = p.choice.device;
    let label = p.choice.label.as_str();
    let tf = |what: &'static str| move |e: TchError| torch_failure(spec, label, what, e);
    let precision = Precision::for_device(device);
    let model = Gpt::new(p.dims, p.model.dropout, precision, device, t.seed)
        .map_err(tf("building the model"))?;
    let params = model.named_parameters();
    let mut opt = AdamW::new(params, t.weight_decay).map_err(tf("building the optimizer"))?;
    let mut start = 0u32;
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
        model
            .load(&weights)
            .map_err(|m| Failure::crash(format!("cannot resume from {}: {m}", dir.display())))?;
        let moments = checkpoint::read_tensors(&dir.join(OPTIMIZER_FILE), &state.optimizer_blake3)?;
        opt.load(params, &moments, u64::from(resume.step))
            .map_err(|m| Failure::crash(format!("cannot resume from {}: {m}", dir.display())))?;
        start = resume.step;
    } else if let Some(init) = &req.init {
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
        model.load(&weights).map_err(|m| {
            Failure::bad_config(format!(
                "model.init: cannot start from {}: {m}",
                init.dir.display()
            ))
        })?;
    }
    out.emit(&Event::Started(Started {
        device: p.choice.label.clone(),
        framework_version: format!("libtorch {}", crate::doctor::libtorch_version()),
        model_id: model_id(&p.model),
        parameters: p.dims.parameter_count(),
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
    out.log(&format!(
        "training {} ({} parameters) on {label} in {}: steps {start}..{} of {}, {} rows of up to {} tokens per step",
        model_id(&p.model),
        p.dims.parameter_count(),
        precision.name(),
        req.until_step,
        t.max_steps,
        t.per_device_batch_size,
        p.dims.context_length
    ))?;
    let loop_state = Loop {
        req,
        model: &model,
        params,
        prepared: &p,
        eval: p.evalset.as_ref().zip(spec.eval.as_ref()),
    };
    loop_state.train(&mut opt, start, out)
}

struct Loop<'a> {
    req: &'a TrainerRequest,
    model: &'a Gpt,
    params: &'a [(String, Tensor)],
    prepared: &'a Prepared,
    eval: Option<(&'a EvalSet, &'a TrainEval)>,
}

impl Loop<'_> {
    fn tf(&self, what: &'static str) -> impl Fn(TchError) -> Failure + '_ {
        move |e| torch_failure(&self.req.spec, &self.prepared.choice.label, what, e)
    }

    fn train(&self, opt: &mut AdamW, start: u32, out: &mut Emitter) -> Result<u32, Failure> {
        let req = self.req;
        let t = &req.spec.training;
        let until = req.until_step;
        let device = self.prepared.choice.device;
        let fault_nan: Option<u32> = tunix_core::fault::step(FAULT_NAN_ENV);
        let fault_pause: Option<u32> = tunix_core::fault::step(FAULT_PAUSE_ENV);
        let rows = t.per_device_batch_size as usize;
        let train = &self.prepared.train;
        let mut interval_tokens = 0usize;
        let mut interval_positions = 0usize;
        let mut loss_sum = Tensor::zeros([], (Kind::Float, device));
        let mut grad_norm_sum = Tensor::zeros([], (Kind::Float, device));
        let mut interval_steps = 0u32;
        let mut interval_start = Instant::now();
        let mut final_record: Option<MetricRecord> = None;
        let mut last_checkpoint = start;
        for step in start..until {
            let lr = learning_rate(step, t.learning_rate, t.warmup_steps, t.max_steps);
            tch::manual_seed(derive_seed(t.seed, &format!("dropout/{step}")) as i64);
            let batch = train.train_batch(t.seed, step, rows);
            interval_tokens += batch.real_tokens;
            interval_positions += batch.rows * batch.width;
            let tensors = to_tensors(&batch, device).map_err(self.tf("copying a batch"))?;
            zero_grad(self.params);
            let mut loss = batch_loss(self.model, &tensors, true)
                .map_err(self.tf("running the forward pass"))?;
            if fault_nan == Some(step + 1) {
                loss = loss
                    .f_mul_scalar(f64::NAN)
                    .map_err(self.tf("injecting a fault"))?;
            }
            loss.f_backward()
                .map_err(self.tf("running the backward pass"))?;
            let grad_norm =
                clip_grad_norm(self.params, t.grad_clip).map_err(self.tf("clipping gradients"))?;
            grad_norm_sum = grad_norm_sum
                .f_add(&grad_norm)
                .map_err(self.tf("reading the gradient norm"))?;
            opt.step(self.params, lr)
                .map_err(self.tf("updating the weights"))?;
            loss_sum = loss_sum
                .f_add(&loss.f_detach().map_err(self.tf("reading the loss"))?)
                .map_err(self.tf("reading the loss"))?;
            interval_steps += 1;
            let done = step + 1;
            let is_last = done == t.max_steps;
            let is_stop = done == until && !is_last;
            let log_now = done % t.log_interval == 0 || is_last || is_stop;
            let eval_now = (t.eval_interval.is_some_and(|n| done % n == 0) && !is_last) || is_stop;
            let ckpt_now =
                t.checkpoint_interval.is_some_and(|n| done % n == 0) || is_last || is_stop;
            if !(log_now || eval_now || ckpt_now) {
                continue;
            }
            let mean = loss_sum
                .f_double_value(&[])
                .map_err(self.tf("reading the loss"))?
                / f64::from(interval_steps);
            if !mean.is_finite() {
                return Err(Failure {
                    class: FailureClass::NanLoss,
                    message: format!(
                        "training loss became {mean} by step {done} (learning rate {lr:.3e}); lower training.learning_rate, raise warmup_steps or lower grad_clip; the last good checkpoint is step {last_checkpoint}"
                    ),
                });
            }
            let elapsed = interval_start.elapsed().as_secs_f64();
            // Useful tokens only: padding is not counted.
            let tokens_per_s = interval_tokens as f64 / elapsed.max(1e-9);
            let padding = 1.0 - interval_tokens as f64 / interval_positions.max(1) as f64;
            if done == t.log_interval.min(until) || is_last {
                out.log(&format!(
                    "step {done}: {:.1}% of batch positions were padding",
                    100.0 * padding
                ))?;
            }
            let mut record = MetricRecord {
                loss: Some(mean),
                lr: Some(lr),
                tokens_per_s: Some(tokens_per_s),
                ..MetricRecord::at(u64::from(done))
            };
            let grad_norm = grad_norm_sum
                .f_double_value(&[])
                .map_err(self.tf("reading the gradient norm"))?
                / f64::from(interval_steps);
            if grad_norm.is_finite() {
                record.set(GRAD_NORM, grad_norm);
            }
            if eval_now {
                record.val_loss = Some(self.val_loss()?);
                self.evaluate(done, false, out)?;
            }
            if log_now || eval_now {
                if is_last {
                    final_record = Some(record);
                } else {
                    out.emit(&Event::Metrics(record))?;
                }
            }
            if ckpt_now {
                let mut state = CheckpointState {
                    step: done,
                    config_hash: req.identity.clone(),
                    seed: t.seed,
                    rng_scheme: checkpoint::RNG_SCHEME.to_string(),
                    loss: Some(mean),
                    model_blake3: String::new(),
                    optimizer_blake3: String::new(),
                };
                let files = checkpoint::save(
                    &req.run_dir,
                    &mut state,
                    self.params,
                    &opt.state(self.params),
                )
                .map_err(Failure::from)?;
                last_checkpoint = done;
                out.emit(&Event::Checkpoint(CheckpointWritten { step: done, files }))?;
                out.log(&format!(
                    "checkpoint step {done} (model blake3 {})",
                    state.model_blake3
                ))?;
                if fault_pause == Some(done) {
                    pause_forever();
                }
            }
            loss_sum = Tensor::zeros([], (Kind::Float, device));
            grad_norm_sum = Tensor::zeros([], (Kind::Float, device));
            interval_steps = 0;
            interval_tokens = 0;
            interval_positions = 0;
            interval_start = Instant::now();
        }
        if until < t.max_steps {
            return Ok(until);
        }
        let mut record = final_record.unwrap_or(MetricRecord::at(u64::from(t.max_steps)));
        record.val_loss = Some(self.val_loss()?);
        self.evaluate(t.max_steps, true, out)?;
        out.emit(&Event::Metrics(record))?;
        Ok(t.max_steps)
    }

    /// Generate outputs on the eval set and report them (the coordinator
    /// scores them).
    fn evaluate(&self, step: u32, last: bool, out: &mut Emitter) -> Result<(), Failure> {
        let Some((set, spec)) = self.eval else {
            return Ok(());
        };
        let total = set.items.len() as u64;
        let mut done = 0u64;
        let mut progress_error = None;
        let outputs = model_outputs(self.model, &set.items, &spec.decoding, |n| {
            done += n as u64;
            if last && progress_error.is_none() {
                if let Err(e) = out.emit(&Event::EvalProgress { done, total }) {
                    progress_error = Some(e);
                }
            }
        })
        .map_err(self.tf("evaluating"))?;
        if let Some(e) = progress_error {
            return Err(e);
        }
        out.emit(&Event::Outputs(Outputs {
            step,
            last,
            outputs: outputs.by_id,
            truncated_prompts: outputs.truncated_prompts,
        }))
    }

    /// Mean loss over the validation batches.
    fn val_loss(&self) -> Result<f64, Failure> {
        let rows = self.req.spec.training.per_device_batch_size as usize;
        val_loss(self.model, &self.prepared.val, rows).map_err(self.tf("computing validation loss"))
    }
}

/// The pause of [`FAULT_PAUSE_ENV`]: wait until killed.
fn pause_forever() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

fn torch_failure(spec: &TrainSpec, device: &str, what: &str, e: TchError) -> Failure {
    let msg = e.to_string();
    if is_out_of_memory(&msg) {
        let b = spec.training.per_device_batch_size;
        Failure {
            class: FailureClass::OutOfMemory,
            message: format!(
                "out of memory on {device} while {what} with per_device_batch_size {b}; lower training.per_device_batch_size (e.g. to {}) or use a smaller model",
                (b / 2).max(1)
            ),
        }
    } else {
        Failure::crash(format!("libtorch failed while {what}: {msg}"))
    }
}

/// Mean loss over the validation batches.
fn val_loss(model: &Gpt, val: &Examples, rows: usize) -> Result<f64, TchError> {
    let _guard = tch::no_grad_guard();
    let batches = val.val_batches(rows, VAL_BATCHES);
    if batches.is_empty() {
        return Ok(f64::NAN);
    }
    let mut total = 0.0;
    for b in &batches {
        let tensors = to_tensors(b, model.device())?;
        total += batch_loss(model, &tensors, false)?.f_double_value(&[])?;
    }
    Ok(total / batches.len() as f64)
}
