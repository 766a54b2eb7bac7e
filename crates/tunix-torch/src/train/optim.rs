//! AdamW with decoupled weight decay (Loshchilov & Hutter), written out so
//! its state can be checkpointed and restored exactly. The update follows
//! PyTorch's `torch.optim.AdamW` (single-tensor path) operation for
//! operation; weight decay applies to matrices and embeddings only.

use tch::{Kind, TchError, Tensor};

use crate::model::gpt::decays;

pub const BETA1: f64 = 0.9;
pub const BETA2: f64 = 0.95;
pub const EPS: f64 = 1e-8;

/// Why saved optimizer moments cannot be restored.
#[derive(Debug, thiserror::Error)]
pub enum MomentsError {
    /// A moment with no saved tensor.
    #[error("optimizer tensor `{key}` is missing")]
    Missing {
        /// The moment's name, e.g. `exp_avg.wte.weight`.
        key: String,
    },
    /// A saved tensor whose shape is not its parameter's.
    #[error("optimizer tensor `{key}` has the wrong shape")]
    Shape {
        /// The moment's name.
        key: String,
        /// The saved tensor's shape.
        found: Vec<i64>,
        /// The parameter's shape.
        expected: Vec<i64>,
    },
    /// Copying the saved tensor failed in libtorch.
    #[error("{key}: {error}")]
    Copy {
        /// The moment's name.
        key: String,
        /// What libtorch said.
        error: TchError,
    },
}

/// Moments of one parameter.
struct Moments {
    exp_avg: Tensor,
    exp_avg_sq: Tensor,
    decay: bool,
}

/// The optimizer and its state.
pub struct AdamW {
    weight_decay: f64,
    /// Updates applied so far.
    step: u64,
    moments: Vec<Moments>,
}

impl AdamW {
    /// Zeroed state for `params` (in the order later passed to `step`).
    pub fn new(params: &[(String, Tensor)], weight_decay: f64) -> Result<Self, TchError> {
        let moments = params
            .iter()
            .map(|(_, p)| {
                Ok(Moments {
                    exp_avg: p.f_zeros_like()?,
                    exp_avg_sq: p.f_zeros_like()?,
                    decay: decays(p),
                })
            })
            .collect::<Result<_, TchError>>()?;
        Ok(AdamW {
            weight_decay,
            step: 0,
            moments,
        })
    }

    pub fn steps_taken(&self) -> u64 {
        self.step
    }

    /// Apply one update with learning rate `lr` from the parameters' grads.
    pub fn step(&mut self, params: &[(String, Tensor)], lr: f64) -> Result<(), TchError> {
        let _guard = tch::no_grad_guard();
        self.step += 1;
        let t = self.step as i32;
        let bias1 = 1.0 - BETA1.powi(t);
        let bias2_sqrt = (1.0 - BETA2.powi(t)).sqrt();
        let step_size = lr / bias1;
        for ((_, p), m) in params.iter().zip(&mut self.moments) {
            let grad = p.grad();
            if !grad.defined() {
                continue;
            }
            let mut p = p.shallow_clone();
            if m.decay && self.weight_decay > 0.0 {
                let _ = p.f_mul_scalar_(1.0 - lr * self.weight_decay)?;
            }
            let _ = m.exp_avg.f_lerp_(&grad, 1.0 - BETA1)?;
            let _ = m.exp_avg_sq.f_mul_scalar_(BETA2)?;
            let _ = m
                .exp_avg_sq
                .f_add_(&grad.f_square()?.f_mul_scalar(1.0 - BETA2)?)?;
            let denom = m
                .exp_avg_sq
                .f_sqrt()?
                .f_div_scalar(bias2_sqrt)?
                .f_add_scalar(EPS)?;
            let _ = p.f_sub_(&m.exp_avg.f_div(&denom)?.f_mul_scalar(step_size)?)?;
        }
        Ok(())
    }

    /// The moments, named after their parameters, for a checkpoint.
    pub fn state(&self, params: &[(String, Tensor)]) -> Vec<(String, Tensor)> {
        let mut out = Vec::with_capacity(2 * params.len());
        for ((name, _), m) in params.iter().zip(&self.moments) {
            out.push((format!("exp_avg.{name}"), m.exp_avg.shallow_clone()));
            out.push((format!("exp_avg_sq.{name}"), m.exp_avg_sq.shallow_clone()));
        }
        out
    }

    /// Restore moments written by [`AdamW::state`] and the step count.
    pub fn load(
        &mut self,
        params: &[(String, Tensor)],
        tensors: &[(String, Tensor)],
        step: u64,
    ) -> Result<(), MomentsError> {
        let by_name: std::collections::BTreeMap<&str, &Tensor> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let _guard = tch::no_grad_guard();
        for ((name, p), m) in params.iter().zip(&mut self.moments) {
            for (prefix, dst) in [
                ("exp_avg", &mut m.exp_avg),
                ("exp_avg_sq", &mut m.exp_avg_sq),
            ] {
                let key = format!("{prefix}.{name}");
                let src = by_name
                    .get(key.as_str())
                    .ok_or_else(|| MomentsError::Missing { key: key.clone() })?;
                if src.size() != p.size() {
                    return Err(MomentsError::Shape {
                        key,
                        found: src.size(),
                        expected: p.size(),
                    });
                }
                dst.f_copy_(src)
                    .map_err(|error| MomentsError::Copy { key, error })?;
            }
        }
        self.step = step;
        Ok(())
    }
}

/// Zero every parameter's gradient.
pub fn zero_grad(params: &[(String, Tensor)]) {
    for (_, p) in params {
        let mut p = p.shallow_clone();
        p.zero_grad();
    }
}

/// Scale gradients so their global L2 norm is at most `max_norm`, without
/// a device round trip (as `torch.nn.utils.clip_grad_norm_`). Returns the
/// norm before clipping, as a 0-d tensor.
pub fn clip_grad_norm(params: &[(String, Tensor)], max_norm: f64) -> Result<Tensor, TchError> {
    let _guard = tch::no_grad_guard();
    let grads: Vec<Tensor> = params
        .iter()
        .map(|(_, p)| p.grad())
        .filter(Tensor::defined)
        .collect();
    let squares = grads
        .iter()
        .map(|g| g.f_square()?.f_sum(Kind::Float))
        .collect::<Result<Vec<_>, _>>()?;
    let total = Tensor::f_stack(&squares, 0)?.f_sum(Kind::Float)?.f_sqrt()?;
    let coef = total
        .f_add_scalar(1e-6)?
        .f_reciprocal()?
        .f_mul_scalar(max_norm)?
        .f_clamp_max(1.0)?;
    for g in &grads {
        let mut g = g.shallow_clone();
        let _ = g.f_mul_(&coef)?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;

    fn param(values: &[f32], shape: &[i64]) -> (String, Tensor) {
        let t = Tensor::from_slice(values)
            .view(shape)
            .set_requires_grad(true);
        ("w".to_string(), t)
    }

    /// The same update, computed by hand in f64 from the paper's equations.
    #[test]
    fn one_step_matches_the_reference_equations() {
        let params = vec![param(&[1.0, -2.0, 0.5, 3.0], &[2, 2])];
        let grad = [0.1f64, -0.3, 0.0, 2.0];
        let (lr, wd) = (0.01, 0.1);
        let mut opt = AdamW::new(&params, wd).unwrap();
        for step in 1..=3u64 {
            zero_grad(&params);
            let g = Tensor::from_slice(&grad).to_kind(Kind::Float).view([2, 2]);
            (&params[0].1 * &g).sum(Kind::Float).backward();
            opt.step(&params, lr).unwrap();
            assert_eq!(opt.steps_taken(), step);
        }
        let mut expected = Vec::new();
        for (i, &g) in grad.iter().enumerate() {
            let mut p = [1.0f64, -2.0, 0.5, 3.0][i];
            let (mut m, mut v) = (0.0f64, 0.0f64);
            for t in 1..=3 {
                p *= 1.0 - lr * wd;
                m = BETA1 * m + (1.0 - BETA1) * g;
                v = BETA2 * v + (1.0 - BETA2) * g * g;
                let mhat = m / (1.0 - BETA1.powi(t));
                let vhat = v / (1.0 - BETA2.powi(t));
                p -= lr * mhat / (vhat.sqrt() + EPS);
            }
            expected.push(p);
        }
        let got = Vec::<f32>::try_from(params[0].1.view([-1])).unwrap();
        for (g, e) in got.iter().zip(&expected) {
            assert!((f64::from(*g) - e).abs() < 1e-5, "{got:?} vs {expected:?}");
        }
    }

    #[test]
    fn norms_and_biases_get_no_weight_decay() {
        let params = vec![param(&[1.0, 1.0], &[2])];
        let mut opt = AdamW::new(&params, 0.5).unwrap();
        zero_grad(&params);
        (&params[0].1 * 0.0).sum(Kind::Float).backward();
        opt.step(&params, 0.1).unwrap();
        let got = Vec::<f32>::try_from(&params[0].1).unwrap();
        assert_eq!(got, vec![1.0, 1.0]);
    }

    #[test]
    fn clipping_scales_to_the_max_norm_and_leaves_small_gradients() {
        let a = Tensor::zeros([2], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        let params = vec![("a".to_string(), a)];
        (&params[0].1 * Tensor::from_slice(&[3.0f32, 4.0]))
            .sum(Kind::Float)
            .backward();
        let norm = clip_grad_norm(&params, 1.0).unwrap().double_value(&[]);
        assert!((norm - 5.0).abs() < 1e-6);
        let g = Vec::<f32>::try_from(params[0].1.grad()).unwrap();
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
        let _norm = clip_grad_norm(&params, 10.0).unwrap();
        let g2 = Vec::<f32>::try_from(params[0].1.grad()).unwrap();
        assert_eq!(g, g2);
    }

    #[test]
    fn state_round_trips() {
        let params = vec![param(&[1.0, 2.0, 3.0, 4.0], &[2, 2])];
        let mut opt = AdamW::new(&params, 0.1).unwrap();
        (&params[0].1 * 2.0).sum(Kind::Float).backward();
        opt.step(&params, 0.1).unwrap();
        let saved: Vec<(String, Tensor)> = opt
            .state(&params)
            .into_iter()
            .map(|(n, t)| (n, t.copy()))
            .collect();
        let mut fresh = AdamW::new(&params, 0.1).unwrap();
        fresh.load(&params, &saved, 1).unwrap();
        for ((_, a), (_, b)) in fresh.state(&params).iter().zip(&saved) {
            assert!(a.equal(b));
        }
        assert!(fresh
            .load(&params, &saved[..1], 1)
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }
}
