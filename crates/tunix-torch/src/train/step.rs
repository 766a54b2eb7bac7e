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
    // Each pass seeds libtorch's global generator for its dropout masks.
    let _rng = crate::model::rng::lock();
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

#[cfg(test)]
mod tests {
    use super::*;
    use tunix_core::dataset::Example;
    use tunix_core::manifest::train::{Batching, LossOn, ModelConfig};

    use crate::train::batches::Examples;
    use crate::train::encode::ByteEncoder;
    use crate::train::gpt_trainee::GptTrainee;

    fn trainee() -> GptTrainee {
        let config: ModelConfig = serde_json::from_value(serde_json::json!({
            "preset": "gpt-nano", "n_layer": 1, "n_head": 2, "n_embd": 32, "context_length": 32
        }))
        .expect("config");
        GptTrainee::new(&config, tch::Device::Cpu, 7).expect("model")
    }

    /// Eight examples of the same length: padded batches without padding.
    fn examples() -> Examples {
        let examples: Vec<Example> = (0..8)
            .map(|i| Example {
                prompt: format!("{i}+{i}?"),
                completion: format!("={}", i % 5),
                answer: String::new(),
                steps: 1,
            })
            .collect();
        Examples::new(
            &examples,
            "Q: {prompt} A:",
            32,
            LossOn::All,
            Batching::Padded,
            &ByteEncoder,
        )
        .expect("bytes")
    }

    fn settings(passes: u32) -> StepSettings {
        StepSettings {
            passes,
            lr: 1e-2,
            grad_clip: 1.0,
            poison: false,
        }
    }

    /// Train `steps` steps, each over `groups` of example indices (one
    /// pass per group); returns the weights and the last step's loss.
    fn train(groups: &[&[usize]], steps: usize) -> (Vec<Tensor>, f64) {
        let model = trainee();
        let data = examples();
        let mut opt = AdamW::new(model.params(), 0.1).expect("optimizer");
        let mut loss = f64::NAN;
        for _ in 0..steps {
            let outcome =
                optimizer_step(&model, &mut opt, &settings(groups.len() as u32), |k| Pass {
                    dropout_seed: 0,
                    batch: data.batch(groups[k as usize]),
                })
                .expect("step");
            loss = outcome.loss.double_value(&[]);
            assert_eq!(outcome.real_tokens, outcome.positions);
        }
        let weights = model.params().iter().map(|(_, p)| p.copy()).collect();
        (weights, loss)
    }

    #[test]
    fn two_passes_of_b_rows_update_as_one_pass_of_2b_rows() {
        let (whole, whole_loss) = train(&[&[0, 1, 2, 3, 4, 5]], 2);
        let (halves, halves_loss) = train(&[&[0, 1, 2], &[3, 4, 5]], 2);
        assert!((whole_loss - halves_loss).abs() < 1e-5);
        for (a, b) in whole.iter().zip(&halves) {
            assert!(a.allclose(b, 0.0, 1e-5, false), "weights differ");
        }
        let (other, _) = train(&[&[0, 1, 2], &[6, 7, 0]], 2);
        assert!(!whole.iter().zip(&other).all(|(a, b)| a.equal(b)));
    }

    /// One pass is the plain step, bit for bit: zero the gradients, loss,
    /// backward, clip, update.
    #[test]
    fn one_pass_is_the_plain_step() {
        let (ours, _) = train(&[&[0, 1, 2, 3]], 3);
        let model = trainee();
        let data = examples();
        let params = model.params();
        let mut opt = AdamW::new(params, 0.1).expect("optimizer");
        for _ in 0..3 {
            let tensors = to_tensors(&data.batch(&[0, 1, 2, 3]), tch::Device::Cpu).expect("copy");
            zero_grad(params);
            let rng = crate::model::rng::lock();
            tch::manual_seed(0);
            model.loss(&tensors, true).expect("loss").backward();
            drop(rng);
            let _norm = clip_grad_norm(params, 1.0).expect("clip");
            opt.step(params, 1e-2).expect("update");
        }
        for ((_, p), o) in params.iter().zip(&ours) {
            assert!(p.equal(o), "not bit-identical");
        }
    }
}
