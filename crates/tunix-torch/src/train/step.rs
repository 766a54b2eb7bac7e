//! One optimizer step: `N` forward and backward passes (gradient
//! accumulation; `N` is `training.gradient_accumulation_steps`), each
//! pass's loss divided by `N` so the gradients are averaged, then one
//! clip of the global gradient norm and one AdamW update. With `N = 1` it
//! is the plain step, operation for operation.

use tch::{Kind, Tensor};

use super::batches::Batch;
use super::device_batch::to_tensors;
use super::optim::{clip_grad_norm, zero_grad, AdamW};
use super::trainee::{Trainee, TraineeError};

/// One forward and backward pass: its batch and the seed of its dropout.
pub struct Pass {
    pub dropout_seed: u64,
    pub batch: Batch,
}

/// What a step did.
pub struct StepOutcome {
    /// The mean loss over the passes (0-d, detached).
    pub loss: Tensor,
    /// The global gradient norm before clipping (0-d).
    pub grad_norm: Tensor,
    /// Example tokens (not padding) over all passes.
    pub real_tokens: usize,
    /// Batch positions over all passes.
    pub positions: usize,
}

/// A step's failure and what it was doing.
#[derive(Debug)]
pub struct StepError {
    pub what: &'static str,
    pub source: TraineeError,
}

fn doing<E: Into<TraineeError>>(what: &'static str) -> impl Fn(E) -> StepError {
    move |e| StepError {
        what,
        source: e.into(),
    }
}

/// How a step runs.
pub struct StepSettings {
    pub passes: u32,
    pub lr: f64,
    pub grad_clip: f64,
    /// Make the loss NaN (fault injection).
    pub poison: bool,
}

/// Run one optimizer step over the passes `draw` yields for `0..passes`.
pub fn optimizer_step(
    trainee: &dyn Trainee,
    opt: &mut AdamW,
    settings: &StepSettings,
    mut draw: impl FnMut(u32) -> Pass,
) -> Result<StepOutcome, StepError> {
    let params = trainee.params();
    let device = trainee.device();
    let n = settings.passes.max(1);
    let mut total: Option<Tensor> = None;
    let (mut real_tokens, mut positions) = (0, 0);
    zero_grad(params);
    for k in 0..n {
        let pass = draw(k);
        tch::manual_seed(pass.dropout_seed as i64);
        real_tokens += pass.batch.real_tokens;
        positions += pass.batch.rows * pass.batch.width;
        let tensors = to_tensors(&pass.batch, device).map_err(doing("copying a batch"))?;
        let mut loss = trainee
            .loss(&tensors, true)
            .map_err(doing("running the forward pass"))?;
        if n > 1 {
            loss = loss
                .f_div_scalar(f64::from(n))
                .map_err(doing("averaging gradients"))?;
        }
        if settings.poison && k == 0 {
            loss = loss
                .f_mul_scalar(f64::NAN)
                .map_err(doing("injecting a fault"))?;
        }
        loss.f_backward()
            .map_err(doing("running the backward pass"))?;
        let detached = loss.f_detach().map_err(doing("reading the loss"))?;
        total = Some(match total {
            None => detached,
            Some(t) => t.f_add(&detached).map_err(doing("reading the loss"))?,
        });
    }
    let grad_norm =
        clip_grad_norm(params, settings.grad_clip).map_err(doing("clipping gradients"))?;
    opt.step(params, settings.lr)
        .map_err(doing("updating the weights"))?;
    let loss = match total {
        Some(t) => t,
        None => Tensor::f_zeros([], (Kind::Float, device)).map_err(doing("reading the loss"))?,
    };
    Ok(StepOutcome {
        loss,
        grad_norm,
        real_tokens,
        positions,
    })
}
