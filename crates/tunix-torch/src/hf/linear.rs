//! One projection of the decoder (`q_proj`, ..., `down_proj`): a weight
//! `[out, in]` and optional bias as PyTorch stores them (or `[in, out]` for
//! GPT-2's `Conv1D`, kept in that layout so that its trained tensors and
//! exports are named and shaped as the checkpoint's), held in the base
//! weights' dtype, and optionally a LoRA adapter as `peft` computes it:
//! `W x + b + (alpha / r) · B A dropout(x)`, with `A` `[r, in]` drawn like
//! `peft`'s `kaiming_uniform_(a = sqrt(5))` and `B` `[out, r]` zero, both
//! f32. The input and output are f32; the base product runs in the weight's
//! dtype (bf16 weights are never copied to f32), the adapter's in f32.

use tch::{Device, Kind, Tensor};

use tunix_core::rng::Rng;

use crate::hf::error::HfError;
use crate::hf::weights::Weights;

/// A LoRA adapter on one projection.
pub struct Lora {
    /// `[r, in]`, f32.
    pub a: Tensor,
    /// `[out, r]`, f32.
    pub b: Tensor,
    /// `alpha / r`.
    pub scaling: f64,
    /// Dropout probability on the adapter's input while training.
    pub dropout: f64,
}

impl Lora {
    /// A fresh adapter for a `[out, in]` projection: `A` uniform in
    /// `±1 / sqrt(in)` (the bound of `kaiming_uniform_` with `a = sqrt(5)`)
    /// from its own generator seeded with `seed` (not libtorch's global
    /// one, so nothing else drawing random numbers changes it), `B` zero;
    /// both trainable leaves.
    pub fn init(
        out: i64,
        inp: i64,
        rank: i64,
        alpha: f64,
        dropout: f64,
        device: Device,
        seed: u64,
    ) -> Result<Self, HfError> {
        let bound = 1.0 / (inp as f64).sqrt();
        let mut rng = Rng::new(seed);
        let values: Vec<f32> = (0..rank * inp)
            .map(|_| ((2.0 * rng.next_f64() - 1.0) * bound) as f32)
            .collect();
        let a = Tensor::f_from_slice(&values)?
            .f_view([rank, inp])?
            .f_to_device(device)?
            .f_set_requires_grad(true)?;
        let b = Tensor::f_zeros([out, rank], (Kind::Float, device))?.f_set_requires_grad(true)?;
        Ok(Self {
            a,
            b,
            scaling: alpha / rank as f64,
            dropout,
        })
    }

    /// `(alpha / r) · B A` `[out, in]`, f32.
    pub fn delta(&self) -> Result<Tensor, HfError> {
        Ok(self.b.f_matmul(&self.a)?.f_mul_scalar(self.scaling)?)
    }
}

/// A projection: weight `[out, in]` (`[in, out]` when `conv1d`), optional
/// bias, optional adapter.
pub struct Linear {
    /// The module's name (`model.layers.0.self_attn.q_proj`).
    pub name: String,
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub lora: Option<Lora>,
    /// The weight is stored `[in, out]` (GPT-2's `Conv1D`; `peft`'s
    /// `fan_in_fan_out`).
    pub conv1d: bool,
}

impl Linear {
    /// Take `{name}.weight` (and `{name}.bias` when `bias`) out of `w` in
    /// dtype `kind`.
    pub fn load(
        w: &mut Weights,
        name: &str,
        shape: (i64, i64),
        bias: bool,
        device: Device,
        kind: Kind,
    ) -> Result<Self, HfError> {
        let (out, inp) = shape;
        let weight = w.take_as(&format!("{name}.weight"), &[out, inp], device, kind)?;
        let bias = if bias {
            Some(w.take_as(&format!("{name}.bias"), &[out], device, kind)?)
        } else {
            None
        };
        Ok(Self {
            name: name.to_string(),
            weight,
            bias,
            lora: None,
            conv1d: false,
        })
    }

    /// Take GPT-2's `Conv1D` `{name}.weight` (stored `[in, out]`) and
    /// `{name}.bias` out of `w` in dtype `kind`; `shape` is `(out, in)`.
    pub fn load_conv1d(
        w: &mut Weights,
        name: &str,
        shape: (i64, i64),
        device: Device,
        kind: Kind,
    ) -> Result<Self, HfError> {
        let (out, inp) = shape;
        let weight = w.take_as(&format!("{name}.weight"), &[inp, out], device, kind)?;
        let bias = Some(w.take_as(&format!("{name}.bias"), &[out], device, kind)?);
        Ok(Self {
            name: name.to_string(),
            weight,
            bias,
            lora: None,
            conv1d: true,
        })
    }

    /// `[out, in]`, whatever the stored layout.
    pub fn shape(&self) -> (i64, i64) {
        let s = self.weight.size();
        if self.conv1d {
            (s[1], s[0])
        } else {
            (s[0], s[1])
        }
    }

    /// The module's last name component (`q_proj`, `c_attn`).
    pub fn module(&self) -> &str {
        self.name.rsplit('.').next().unwrap_or(&self.name)
    }

    /// The projection of f32 `x` `[..., in]`, f32 `[..., out]`; dropout on
    /// the adapter's input when `train`.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor, HfError> {
        let kind = self.weight.kind();
        let weight = if self.conv1d {
            self.weight.f_tr()?
        } else {
            self.weight.shallow_clone()
        };
        let y = x
            .f_to_kind(kind)?
            .f_linear(&weight, self.bias.as_ref())?
            .f_to_kind(Kind::Float)?;
        let Some(lora) = &self.lora else {
            return Ok(y);
        };
        let h = x.f_dropout(lora.dropout, train && lora.dropout > 0.0)?;
        let update = h
            .f_matmul(&lora.a.f_tr()?)?
            .f_matmul(&lora.b.f_tr()?)?
            .f_mul_scalar(lora.scaling)?;
        Ok(y.f_add(&update)?)
    }

    /// The weight with the adapter merged in (`W + (alpha / r) · B A`,
    /// transposed for `conv1d`, computed in f32), in the weight's dtype and
    /// layout; the weight itself without an adapter.
    pub fn merged_weight(&self) -> Result<Tensor, HfError> {
        let _guard = tch::no_grad_guard();
        match &self.lora {
            None => Ok(self.weight.f_detach()?),
            Some(lora) => {
                let delta = lora.delta()?;
                let delta = if self.conv1d { delta.f_tr()? } else { delta };
                Ok(self
                    .weight
                    .f_to_kind(Kind::Float)?
                    .f_add(&delta)?
                    .f_to_kind(self.weight.kind())?)
            }
        }
    }
}
