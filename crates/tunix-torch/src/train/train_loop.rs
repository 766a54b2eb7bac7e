//! The training loop, the same for every [`Trainee`]: from the resume
//! point to `until_step`, one optimizer step each (`step.rs`: gradient
//! accumulation, clipping, AdamW), the warmup-cosine schedule, metrics
//! every `log_interval` steps, the NaN check, validation loss and eval
//! outputs, checkpoints, and the fault hooks of the tests.

use std::time::Instant;

use tch::{Kind, Tensor};

use tunix_core::evalset::EvalSet;
use tunix_core::manifest::train::TrainEval;
use tunix_core::protocol::{
    CheckpointWritten, Event, FailureClass, Outputs, TrainerRequest, GRAD_NORM,
};
use tunix_core::rng::derive_seed;
use tunix_core::runfolder::MetricRecord;

use super::batches::Examples;
use super::checkpoint::{self, CheckpointState};
use super::device_batch::to_tensors;
use super::optim::AdamW;
use super::prepare::Prepared;
use super::schedule::learning_rate;
use super::step::{optimizer_step, Pass, StepSettings};
use super::trainee::{torch_failure, Trainee, TraineeError};
use crate::emit::Emitter;
use crate::failure::Failure;

/// Set to a step number to make that step's loss NaN (tests of the
/// failure path; obeyed by test builds only, see `tunix_core::fault`).
pub const FAULT_NAN_ENV: &str = "TUNIX_RT_FAULT_NAN_STEP";

/// Set to a step number to make the trainer stop and wait, forever, right
/// after the checkpoint of that step is complete and reported (tests that
/// kill a run at a known point; obeyed by test builds only).
pub const FAULT_PAUSE_ENV: &str = "TUNIX_RT_FAULT_PAUSE_AFTER_CHECKPOINT";

/// Validation batches evaluated for `val_loss`.
const VAL_BATCHES: usize = 8;

/// One training run's loop.
pub struct Loop<'a> {
    pub req: &'a TrainerRequest,
    pub trainee: &'a dyn Trainee,
    pub prepared: &'a Prepared,
    pub eval: Option<(&'a EvalSet, &'a TrainEval)>,
}

/// Running sums over the steps since the last report.
struct Interval {
    loss: Tensor,
    grad_norm: Tensor,
    steps: u32,
    tokens: usize,
    positions: usize,
    start: Instant,
}

impl Interval {
    fn new(trainee: &dyn Trainee) -> Self {
        let zero = || Tensor::zeros([], (Kind::Float, trainee.device()));
        Interval {
            loss: zero(),
            grad_norm: zero(),
            steps: 0,
            tokens: 0,
            positions: 0,
            start: Instant::now(),
        }
    }
}

impl Loop<'_> {
    fn tf<E: Into<TraineeError>>(&self, what: &'static str) -> impl Fn(E) -> Failure + '_ {
        move |e| torch_failure(&self.req.spec, &self.prepared.choice.label, what, &e.into())
    }

    /// Train from `start` to the request's `until_step`; returns the step
    /// reached.
    pub fn train(&self, opt: &mut AdamW, start: u32, out: &mut Emitter) -> Result<u32, Failure> {
        let req = self.req;
        let t = &req.spec.training;
        let until = req.until_step;
        let fault_nan: Option<u32> = tunix_core::fault::step(FAULT_NAN_ENV);
        let fault_pause: Option<u32> = tunix_core::fault::step(FAULT_PAUSE_ENV);
        let rows = t.per_device_batch_size as usize;
        let passes = t.gradient_accumulation_steps.max(1);
        let train = &self.prepared.train;
        let mut interval = Interval::new(self.trainee);
        let mut final_record: Option<MetricRecord> = None;
        let mut last_checkpoint = start;
        for step in start..until {
            let lr = learning_rate(step, t.learning_rate, t.warmup_steps, t.max_steps);
            let settings = StepSettings {
                passes,
                lr,
                grad_clip: t.grad_clip,
                poison: fault_nan == Some(step + 1),
            };
            // Pass k of step s is micro-batch s·N + k: with N = 1, the
            // step's own batch and dropout seed.
            let draw = |k: u32| {
                let micro = u64::from(step) * u64::from(passes) + u64::from(k);
                Pass {
                    dropout_seed: derive_seed(t.seed, &format!("dropout/{micro}")),
                    batch: train.train_batch(t.seed, micro, rows),
                }
            };
            let outcome = optimizer_step(self.trainee, opt, &settings, draw).map_err(|e| {
                torch_failure(&req.spec, &self.prepared.choice.label, e.what, &e.source)
            })?;
            interval.tokens += outcome.real_tokens;
            interval.positions += outcome.positions;
            interval.grad_norm = interval
                .grad_norm
                .f_add(&outcome.grad_norm)
                .map_err(self.tf("reading the gradient norm"))?;
            interval.loss = interval
                .loss
                .f_add(&outcome.loss)
                .map_err(self.tf("reading the loss"))?;
            interval.steps += 1;
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
            let mean = interval
                .loss
                .f_double_value(&[])
                .map_err(self.tf("reading the loss"))?
                / f64::from(interval.steps);
            if !mean.is_finite() {
                return Err(Failure {
                    class: FailureClass::NanLoss,
                    message: format!(
                        "training loss became {mean} by step {done} (learning rate {lr:.3e}); lower training.learning_rate, raise warmup_steps or lower grad_clip; the last good checkpoint is step {last_checkpoint}"
                    ),
                });
            }
            let elapsed = interval.start.elapsed().as_secs_f64();
            // Useful tokens only: padding is not counted.
            let tokens_per_s = interval.tokens as f64 / elapsed.max(1e-9);
            let padding = 1.0 - interval.tokens as f64 / interval.positions.max(1) as f64;
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
            let grad_norm = interval
                .grad_norm
                .f_double_value(&[])
                .map_err(self.tf("reading the gradient norm"))?
                / f64::from(interval.steps);
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
                self.checkpoint(done, mean, opt, out)?;
                last_checkpoint = done;
                if fault_pause == Some(done) {
                    pause_forever();
                }
            }
            interval = Interval::new(self.trainee);
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

    /// Write the checkpoint of step `done` and report it.
    fn checkpoint(
        &self,
        done: u32,
        loss: f64,
        opt: &AdamW,
        out: &mut Emitter,
    ) -> Result<(), Failure> {
        let req = self.req;
        let params = self.trainee.params();
        let mut state = CheckpointState {
            step: done,
            config_hash: req.identity.clone(),
            seed: req.spec.training.seed,
            rng_scheme: checkpoint::RNG_SCHEME.to_string(),
            loss: Some(loss),
            model_blake3: String::new(),
            optimizer_blake3: String::new(),
        };
        let extras = |dir: &std::path::Path| {
            self.trainee.checkpoint_extras(dir).map_err(|e| {
                tunix_core::error::Error::runtime(format!("cannot write the checkpoint: {e}"))
                    .with_path(dir)
            })
        };
        let files = checkpoint::save(
            &req.run_dir,
            &mut state,
            params,
            &opt.state(params),
            &extras,
        )
        .map_err(Failure::from)?;
        out.emit(&Event::Checkpoint(CheckpointWritten { step: done, files }))?;
        out.log(&format!(
            "checkpoint step {done} (model blake3 {})",
            state.model_blake3
        ))
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
        let mut progress = |n: usize| {
            done += n as u64;
            if last && progress_error.is_none() {
                if let Err(e) = out.emit(&Event::EvalProgress { done, total }) {
                    progress_error = Some(e);
                }
            }
        };
        let outputs = self
            .trainee
            .outputs(
                &set.items,
                &spec.decoding,
                &self.prepared.template,
                &mut progress,
            )
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
        val_loss(self.trainee, &self.prepared.val, rows)
            .map_err(self.tf("computing validation loss"))
    }
}

/// The pause of [`FAULT_PAUSE_ENV`]: wait until killed.
fn pause_forever() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// Mean loss over the validation batches.
fn val_loss(trainee: &dyn Trainee, val: &Examples, rows: usize) -> Result<f64, TraineeError> {
    let _guard = tch::no_grad_guard();
    let batches = val.val_batches(rows, VAL_BATCHES);
    if batches.is_empty() {
        return Ok(f64::NAN);
    }
    let mut total = 0.0;
    for b in &batches {
        let tensors = to_tensors(b, trainee.device())?;
        total += trainee.loss(&tensors, false)?.f_double_value(&[])?;
    }
    Ok(total / batches.len() as f64)
}
