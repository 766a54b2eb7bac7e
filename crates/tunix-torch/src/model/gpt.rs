//! A GPT-style decoder in libtorch: learned token and position embeddings,
//! pre-LayerNorm blocks with causal self-attention through
//! `scaled_dot_product_attention` and a 4× GELU MLP, a final LayerNorm and
//! an output head tied to the token embedding.
//!
//! Parameters are plain f32 tensors named like nanoGPT's (`h.0.attn.c_attn.weight`,
//! weights stored `[out, in]` as in PyTorch), so a checkpoint loads into a
//! PyTorch model with the same layout. Matrix products run in the
//! [`Precision`]'s kind; LayerNorm, softmax statistics and the loss stay f32.

use tch::{Device, Kind, Reduction, TchError, Tensor};

use super::device::Precision;
use tunix_core::presets::ModelDims;

type TResult<T> = Result<T, TchError>;

/// Standard deviation of the normal initialisation (GPT-2's).
const INIT_STD: f64 = 0.02;
const LN_EPS: f64 = 1e-5;

/// Why tensors (e.g. a checkpoint's) cannot be loaded into a [`Gpt`].
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A tensor that names no parameter of this model.
    #[error("unexpected tensor `{name}` for this model")]
    Unexpected {
        /// The tensor's name.
        name: String,
    },
    /// A parameter with no tensor.
    #[error("tensor `{name}` is missing")]
    Missing {
        /// The parameter's name.
        name: String,
    },
    /// A tensor whose shape is not its parameter's.
    #[error("tensor `{name}` has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// The parameter's name.
        name: String,
        /// The tensor's shape.
        found: Vec<i64>,
        /// The parameter's shape.
        expected: Vec<i64>,
    },
    /// Copying the tensor into its parameter failed in libtorch.
    #[error("tensor `{name}`: {error}")]
    Copy {
        /// The parameter's name.
        name: String,
        /// What libtorch said.
        error: TchError,
    },
}

/// One transformer block's parameters.
struct Block {
    ln_1: (Tensor, Tensor),
    c_attn: (Tensor, Tensor),
    attn_proj: (Tensor, Tensor),
    ln_2: (Tensor, Tensor),
    c_fc: (Tensor, Tensor),
    mlp_proj: (Tensor, Tensor),
}

/// Keys and values of every layer for the tokens seen so far.
#[derive(Default)]
pub struct KvCache {
    layers: Vec<Option<(Tensor, Tensor)>>,
}

impl KvCache {
    pub fn new(n_layer: usize) -> Self {
        KvCache {
            layers: (0..n_layer).map(|_| None).collect(),
        }
    }
}

/// The model.
pub struct Gpt {
    dims: ModelDims,
    dropout: f64,
    precision: Precision,
    device: Device,
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: (Tensor, Tensor),
    /// Every parameter, in a fixed order, sharing storage with the fields.
    named: Vec<(String, Tensor)>,
}

impl Gpt {
    /// A freshly initialised model. Initialisation draws from the CPU
    /// generator seeded with `seed`, so it is the same on every device.
    pub fn new(
        dims: ModelDims,
        dropout: f64,
        precision: Precision,
        device: Device,
        seed: u64,
    ) -> TResult<Self> {
        // Seeding and drawing must not interleave with another thread's
        // (libtorch's CPU generator is global).
        let _rng = crate::model::rng::lock();
        tch::manual_seed(seed as i64);
        let d = i64::from(dims.n_embd);
        let mut named: Vec<(String, Tensor)> = Vec::new();
        let mut param = |name: String, init: TResult<Tensor>| -> TResult<Tensor> {
            let t = init?.f_to_device(device)?.set_requires_grad(true);
            named.push((name, t.shallow_clone()));
            Ok(t)
        };
        let normal = |shape: &[i64], std: f64| -> TResult<Tensor> {
            Tensor::f_randn(shape, (Kind::Float, Device::Cpu))?.f_mul_scalar(std)
        };
        let zeros = |shape: &[i64]| Tensor::f_zeros(shape, (Kind::Float, Device::Cpu));
        let ones = |shape: &[i64]| Tensor::f_ones(shape, (Kind::Float, Device::Cpu));
        // Residual projections are scaled down by depth (GPT-2).
        let proj_std = INIT_STD / (2.0 * f64::from(dims.n_layer)).sqrt();

        let wte = param(
            "wte.weight".into(),
            normal(&[i64::from(dims.vocab_size), d], INIT_STD),
        )?;
        let wpe = param(
            "wpe.weight".into(),
            normal(&[i64::from(dims.context_length), d], INIT_STD),
        )?;
        let mut blocks = Vec::with_capacity(dims.n_layer as usize);
        for i in 0..dims.n_layer {
            let p = |s: &str| format!("h.{i}.{s}");
            blocks.push(Block {
                ln_1: (
                    param(p("ln_1.weight"), ones(&[d]))?,
                    param(p("ln_1.bias"), zeros(&[d]))?,
                ),
                c_attn: (
                    param(p("attn.c_attn.weight"), normal(&[3 * d, d], INIT_STD))?,
                    param(p("attn.c_attn.bias"), zeros(&[3 * d]))?,
                ),
                attn_proj: (
                    param(p("attn.c_proj.weight"), normal(&[d, d], proj_std))?,
                    param(p("attn.c_proj.bias"), zeros(&[d]))?,
                ),
                ln_2: (
                    param(p("ln_2.weight"), ones(&[d]))?,
                    param(p("ln_2.bias"), zeros(&[d]))?,
                ),
                c_fc: (
                    param(p("mlp.c_fc.weight"), normal(&[4 * d, d], INIT_STD))?,
                    param(p("mlp.c_fc.bias"), zeros(&[4 * d]))?,
                ),
                mlp_proj: (
                    param(p("mlp.c_proj.weight"), normal(&[d, 4 * d], proj_std))?,
                    param(p("mlp.c_proj.bias"), zeros(&[d]))?,
                ),
            });
        }
        let ln_f = (
            param("ln_f.weight".into(), ones(&[d]))?,
            param("ln_f.bias".into(), zeros(&[d]))?,
        );
        Ok(Gpt {
            dims,
            dropout,
            precision,
            device,
            wte,
            wpe,
            blocks,
            ln_f,
            named,
        })
    }

    pub fn dims(&self) -> ModelDims {
        self.dims
    }

    pub fn device(&self) -> Device {
        self.device
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Every parameter with its name, in a fixed order.
    pub fn named_parameters(&self) -> &[(String, Tensor)] {
        &self.named
    }

    /// Overwrite the parameters with `tensors` (e.g. read from a
    /// checkpoint). Every parameter must be present with its exact shape;
    /// extra names are an error too.
    pub fn load(&self, tensors: &[(String, Tensor)]) -> Result<(), LoadError> {
        let by_name: std::collections::BTreeMap<&str, &Tensor> =
            tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
        for name in by_name.keys() {
            if !self.named.iter().any(|(n, _)| n == name) {
                return Err(LoadError::Unexpected {
                    name: name.to_string(),
                });
            }
        }
        let _guard = tch::no_grad_guard();
        for (name, param) in &self.named {
            let src = by_name
                .get(name.as_str())
                .ok_or_else(|| LoadError::Missing { name: name.clone() })?;
            if src.size() != param.size() {
                return Err(LoadError::Shape {
                    name: name.clone(),
                    found: src.size(),
                    expected: param.size(),
                });
            }
            let mut dst = param.shallow_clone();
            dst.f_copy_(src).map_err(|error| LoadError::Copy {
                name: name.clone(),
                error,
            })?;
        }
        Ok(())
    }

    /// Logits `[B, T, vocab]` (f32) for token ids `[B, T]` at positions
    /// `0..T`, with causal attention.
    pub fn forward(&self, idx: &Tensor, train: bool) -> TResult<Tensor> {
        let t = idx.size()[1];
        let pos = Tensor::f_arange(t, (Kind::Int64, self.device))?.f_unsqueeze(0)?;
        self.forward_inner(idx, &pos, None, None, train)
    }

    /// Mean next-token cross-entropy of `idx` predicting `targets`.
    pub fn loss(&self, idx: &Tensor, targets: &Tensor, train: bool) -> TResult<Tensor> {
        self.cross_entropy(&self.forward(idx, train)?, targets)
    }

    /// Mean cross-entropy of `logits` `[B, T, vocab]` against `targets`
    /// `[B, T]`, skipping targets of -100.
    fn cross_entropy(&self, logits: &Tensor, targets: &Tensor) -> TResult<Tensor> {
        let v = i64::from(self.dims.vocab_size);
        logits.f_view([-1, v])?.f_cross_entropy_loss::<Tensor>(
            &targets.f_view([-1])?,
            None,
            Reduction::Mean,
            -100,
            0.0,
        )
    }

    /// Mean next-token cross-entropy of packed rows: tokens `idx` `[B, T]`
    /// at positions `pos` `[B, T]`, each attending only to earlier tokens
    /// of its own segment (`segments` `[B, T]`, equal ids = one example).
    pub fn loss_packed(
        &self,
        idx: &Tensor,
        pos: &Tensor,
        segments: &Tensor,
        targets: &Tensor,
        train: bool,
    ) -> TResult<Tensor> {
        let t = idx.size()[1];
        let same = segments
            .f_unsqueeze(2)?
            .f_eq_tensor(&segments.f_unsqueeze(1)?)?;
        let causal = Tensor::f_ones([t, t], (Kind::Bool, self.device))?.f_tril(0)?;
        let mask = same.f_logical_and(&causal)?.f_unsqueeze(1)?;
        let logits = self.forward_inner(idx, pos, Some(&mask), None, train)?;
        self.cross_entropy(&logits, targets)
    }

    /// Logits for new tokens `idx` `[B, T]` at explicit positions `pos`
    /// `[B, T]`, attending to the cached keys and the new ones through the
    /// boolean `mask` `[B, 1, T, cached + T]` (true = may attend). Appends
    /// the new keys and values to `cache`.
    pub fn forward_cached(
        &self,
        idx: &Tensor,
        pos: &Tensor,
        mask: &Tensor,
        cache: &mut KvCache,
    ) -> TResult<Tensor> {
        self.forward_inner(idx, pos, Some(mask), Some(cache), false)
    }

    fn forward_inner(
        &self,
        idx: &Tensor,
        pos: &Tensor,
        mask: Option<&Tensor>,
        mut cache: Option<&mut KvCache>,
        train: bool,
    ) -> TResult<Tensor> {
        let tok = Tensor::f_embedding(&self.wte, idx, -1, false, false)?;
        let posemb = Tensor::f_embedding(&self.wpe, pos, -1, false, false)?;
        let mut x = tok.f_add(&posemb)?.f_dropout(self.dropout, train)?;
        for (i, block) in self.blocks.iter().enumerate() {
            let layer_cache = cache.as_mut().and_then(|c| c.layers.get_mut(i));
            let h = layer_norm(&x, &block.ln_1)?;
            let a = self.attention(block, &h, mask, layer_cache, train)?;
            x = x.f_add(&a.f_dropout(self.dropout, train)?)?;
            let h = layer_norm(&x, &block.ln_2)?;
            let m = self.linear(&h, &block.c_fc)?.f_gelu("tanh")?;
            let m = self.linear(&m, &block.mlp_proj)?;
            x = x.f_add(&m.f_dropout(self.dropout, train)?)?;
        }
        let h = layer_norm(&x, &self.ln_f)?;
        let kind = self.precision.kind();
        h.f_to_kind(kind)?
            .f_linear::<Tensor>(&self.wte.f_to_kind(kind)?, None)?
            .f_to_kind(Kind::Float)
    }

    fn attention(
        &self,
        block: &Block,
        h: &Tensor,
        mask: Option<&Tensor>,
        cache: Option<&mut Option<(Tensor, Tensor)>>,
        train: bool,
    ) -> TResult<Tensor> {
        let size = h.size();
        let (b, t, c) = (size[0], size[1], size[2]);
        let n_head = i64::from(self.dims.n_head);
        let qkv = self.linear(h, &block.c_attn)?;
        let heads = |x: &Tensor| -> TResult<Tensor> {
            x.f_view([b, t, n_head, c / n_head])?.f_transpose(1, 2)
        };
        let parts = qkv.f_split(c, 2)?;
        let q = heads(&parts[0])?;
        let mut k = heads(&parts[1])?;
        let mut v = heads(&parts[2])?;
        if let Some(slot) = cache {
            if let Some((pk, pv)) = slot.as_ref() {
                k = Tensor::f_cat(&[pk, &k], 2)?;
                v = Tensor::f_cat(&[pv, &v], 2)?;
            }
            *slot = Some((k.shallow_clone(), v.shallow_clone()));
        }
        let dropout = if train { self.dropout } else { 0.0 };
        let y = Tensor::f_scaled_dot_product_attention(
            &q,
            &k,
            &v,
            mask,
            dropout,
            mask.is_none(),
            None,
            false,
        )?;
        let y = y.f_transpose(1, 2)?.f_contiguous()?.f_view([b, t, c])?;
        self.linear(&y, &block.attn_proj)
    }

    /// `x W^T + b` in the compute kind.
    fn linear(&self, x: &Tensor, (w, bias): &(Tensor, Tensor)) -> TResult<Tensor> {
        let kind = self.precision.kind();
        x.f_to_kind(kind)?
            .f_linear(&w.f_to_kind(kind)?, Some(bias.f_to_kind(kind)?))
    }
}

/// LayerNorm in f32.
fn layer_norm(x: &Tensor, (w, b): &(Tensor, Tensor)) -> TResult<Tensor> {
    let d = w.size()[0];
    x.f_to_kind(Kind::Float)?
        .f_layer_norm([d], Some(w), Some(b), LN_EPS, true)
}

/// Whether a parameter gets weight decay: matrices and embeddings do;
/// LayerNorm weights and biases (all 1-D) do not.
pub fn decays(param: &Tensor) -> bool {
    param.dim() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> ModelDims {
        ModelDims {
            n_layer: 2,
            n_head: 2,
            n_embd: 16,
            context_length: 32,
            vocab_size: 256,
        }
    }

    #[test]
    fn parameter_count_matches_the_formula() {
        let model = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 0).unwrap();
        let n: i64 = model
            .named_parameters()
            .iter()
            .map(|(_, t)| t.numel() as i64)
            .sum();
        assert_eq!(n as u64, tiny().parameter_count());
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() {
        let a = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 7).unwrap();
        let b = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 7).unwrap();
        let c = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 8).unwrap();
        let eq = |x: &Gpt, y: &Gpt| {
            x.named_parameters()
                .iter()
                .zip(y.named_parameters())
                .all(|((_, p), (_, q))| p.equal(q))
        };
        assert!(eq(&a, &b));
        assert!(!eq(&a, &c));
    }

    #[test]
    fn attention_is_causal() {
        let model = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 1).unwrap();
        let a = Tensor::from_slice(&[1i64, 2, 3, 4, 5]).unsqueeze(0);
        let b = Tensor::from_slice(&[1i64, 2, 3, 9, 9]).unsqueeze(0);
        let la = model.forward(&a, false).unwrap();
        let lb = model.forward(&b, false).unwrap();
        // Positions before the first difference see the same prefix.
        assert!(la
            .narrow(1, 0, 3)
            .allclose(&lb.narrow(1, 0, 3), 1e-6, 1e-6, false));
        assert!(!la
            .narrow(1, 3, 1)
            .allclose(&lb.narrow(1, 3, 1), 1e-6, 1e-6, false));
    }

    #[test]
    fn cached_decoding_matches_the_full_forward_pass() {
        let model = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 2).unwrap();
        let ids = [10i64, 20, 30, 40, 50, 60];
        let full = model
            .forward(&Tensor::from_slice(&ids).unsqueeze(0), false)
            .unwrap();
        let mut cache = KvCache::new(2);
        let prefix = Tensor::from_slice(&ids[..4]).unsqueeze(0);
        let pos = Tensor::arange(4, (Kind::Int64, Device::Cpu)).unsqueeze(0);
        let mask = Tensor::ones([4, 4], (Kind::Bool, Device::Cpu))
            .tril(0)
            .view([1, 1, 4, 4]);
        let mut last = model
            .forward_cached(&prefix, &pos, &mask, &mut cache)
            .unwrap()
            .narrow(1, 3, 1);
        for (i, &id) in ids.iter().enumerate().skip(4) {
            assert!(last.allclose(&full.narrow(1, i as i64 - 1, 1), 1e-5, 1e-5, false));
            let step = Tensor::from_slice(&[id]).view([1, 1]);
            let pos = Tensor::from_slice(&[i as i64]).view([1, 1]);
            let mask = Tensor::ones([1, 1, 1, i as i64 + 1], (Kind::Bool, Device::Cpu));
            last = model
                .forward_cached(&step, &pos, &mask, &mut cache)
                .unwrap();
        }
        assert!(last.allclose(&full.narrow(1, 5, 1), 1e-5, 1e-5, false));
    }

    #[test]
    fn a_packed_example_has_the_loss_it_has_alone() {
        let model = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 4).unwrap();
        let a = [1i64, 2, 3, 4, 5];
        let ignore = -100i64;
        // Alone: loss of `a` predicting its shifted self.
        let alone = model
            .loss(
                &Tensor::from_slice(&a[..4]).unsqueeze(0),
                &Tensor::from_slice(&a[1..]).unsqueeze(0),
                false,
            )
            .unwrap()
            .double_value(&[]);
        // Packed after `b`, whose targets are ignored: same loss.
        let idx = Tensor::from_slice(&[9i64, 8, 1, 2, 3, 4]).unsqueeze(0);
        let pos = Tensor::from_slice(&[0i64, 1, 0, 1, 2, 3]).unsqueeze(0);
        let seg = Tensor::from_slice(&[0i64, 0, 1, 1, 1, 1]).unsqueeze(0);
        let tgt = Tensor::from_slice(&[ignore, ignore, 2, 3, 4, 5]).unsqueeze(0);
        let packed = model
            .loss_packed(&idx, &pos, &seg, &tgt, false)
            .unwrap()
            .double_value(&[]);
        assert!((alone - packed).abs() < 1e-6, "{alone} vs {packed}");
        // Without the segment mask the neighbour leaks in.
        let one_seg = Tensor::from_slice(&[1i64; 6]).unsqueeze(0);
        let leaked = model
            .loss_packed(&idx, &pos, &one_seg, &tgt, false)
            .unwrap()
            .double_value(&[]);
        assert!((alone - leaked).abs() > 1e-6);
    }

    #[test]
    fn bf16_compute_stays_close_to_f32() {
        let f = Gpt::new(tiny(), 0.0, Precision::F32, Device::Cpu, 3).unwrap();
        let h = Gpt::new(tiny(), 0.0, Precision::Bf16, Device::Cpu, 3).unwrap();
        let x = Tensor::from_slice(&[5i64, 6, 7, 8]).unsqueeze(0);
        let y = Tensor::from_slice(&[6i64, 7, 8, 9]).unsqueeze(0);
        let lf = f.loss(&x, &y, false).unwrap().double_value(&[]);
        let lh = h.loss(&x, &y, false).unwrap().double_value(&[]);
        assert!((lf - lh).abs() < 0.05, "{lf} vs {lh}");
        // Gradients reach the f32 master weights through the casts.
        h.loss(&x, &y, true).unwrap().backward();
        let g = h.named_parameters()[0].1.grad();
        assert_eq!(g.kind(), Kind::Float);
        assert!(g.abs().sum(Kind::Float).double_value(&[]) > 0.0);
    }
}
