//! GPT-2 (`GPT2LMHeadModel`) as `transformers` computes it, the residual
//! stream in f32 over weights held in one dtype: token embedding
//! (`transformer.wte`) plus a learned position embedding (`transformer.wpe`)
//! at per-row positions; per block LayerNorm with bias (`ln_1`), attention
//! from the fused `attn.c_attn` projection (q, k, v in that order, as many
//! key/value heads as query heads, scaled by `1 / sqrt(head_dim)`, causal
//! with a boolean mask) and `attn.c_proj`, a residual, LayerNorm (`ln_2`),
//! the MLP `mlp.c_proj(gelu_new(mlp.c_fc(x)))` and a residual; a final
//! LayerNorm (`ln_f`) and the head tied to `wte`. The four projections are
//! `Conv1D`s, weights stored `[in, out]` (`crate::hf::linear`'s `conv1d`),
//! which is also how LoRA adapts them (`peft`'s `fan_in_fan_out`). Tensor
//! names are `GPT2LMHeadModel`'s (`transformer.h.0.attn.c_attn.weight`); a
//! checkpoint saved from `GPT2Model` (no `transformer.` prefix) is read as
//! well. Decoding shares the Llama decoder's [`KvCache`] and its masks;
//! training, LoRA, adapters and export live in `crate::hf::gpt2_train`.

use std::path::Path;

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::LoraConfig;

use crate::hf::cache::{batch_time, KvCache};
use crate::hf::config::{Architecture, HfConfig};
use crate::hf::error::HfError;
use crate::hf::linear::Linear;
use crate::hf::mask::Attend;
use crate::hf::weights::Weights;

/// The module prefix of `GPT2LMHeadModel`'s decoder.
const PREFIX: &str = "transformer.";

/// A LayerNorm's weight and bias.
pub(super) struct Norm {
    pub(super) name: String,
    pub(super) weight: Tensor,
    pub(super) bias: Tensor,
}

impl Norm {
    fn load(
        w: &mut Weights,
        name: String,
        h: i64,
        dev: Device,
        kind: Kind,
    ) -> Result<Self, HfError> {
        let weight = w.take_as(&format!("{name}.weight"), &[h], dev, kind)?;
        let bias = w.take_as(&format!("{name}.bias"), &[h], dev, kind)?;
        Ok(Self { name, weight, bias })
    }

    fn forward(&self, x: &Tensor, eps: f64) -> Result<Tensor, HfError> {
        let h = *x.size().last().unwrap_or(&0);
        let (w, b) = (
            self.weight.f_to_kind(Kind::Float)?,
            self.bias.f_to_kind(Kind::Float)?,
        );
        Ok(x.f_layer_norm([h], Some(&w), Some(&b), eps, false)?)
    }

    fn push(&self, out: &mut Vec<(String, Tensor)>) {
        out.push((format!("{}.weight", self.name), self.weight.shallow_clone()));
        out.push((format!("{}.bias", self.name), self.bias.shallow_clone()));
    }
}

/// One GPT-2 block.
pub(super) struct Block {
    pub(super) ln_1: Norm,
    pub(super) c_attn: Linear,
    pub(super) attn_proj: Linear,
    pub(super) ln_2: Norm,
    pub(super) c_fc: Linear,
    pub(super) mlp_proj: Linear,
}

impl Block {
    /// The projections in a block's order (`c_attn`, `attn.c_proj`,
    /// `c_fc`, `mlp.c_proj`).
    pub(super) fn linears(&self) -> [&Linear; 4] {
        [&self.c_attn, &self.attn_proj, &self.c_fc, &self.mlp_proj]
    }

    /// The projections, mutable, in the same order.
    pub(super) fn linears_mut(&mut self) -> [&mut Linear; 4] {
        [
            &mut self.c_attn,
            &mut self.attn_proj,
            &mut self.c_fc,
            &mut self.mlp_proj,
        ]
    }
}

/// A loaded GPT-2, with LoRA adapters when loaded for LoRA training.
pub struct Gpt2Model {
    pub(super) config: HfConfig,
    pub(super) wte: Tensor,
    pub(super) wpe: Tensor,
    pub(super) blocks: Vec<Block>,
    pub(super) ln_f: Norm,
    /// `None` when tied to `wte`.
    pub(super) lm_head: Option<Tensor>,
    pub(super) device: Device,
    /// The adapters' config when the model carries LoRA adapters.
    pub(super) lora: Option<LoraConfig>,
    /// The trained tensors by checkpoint name: every weight, or the adapters.
    pub(super) trainable: Vec<(String, Tensor)>,
}

impl Gpt2Model {
    /// Load `config.json` and the weights of a local GPT-2 folder onto
    /// `device`, in f32, for inference.
    pub fn load(dir: &Path, device: Device) -> Result<Self, HfError> {
        let config = HfConfig::load(dir)?;
        let mut weights = Weights::load(dir)?;
        Self::from_weights_as(config, &mut weights, device, Kind::Float)
    }

    /// Build the model with its weights in dtype `kind`; nothing requires
    /// grad, and `trainable` lists every weight by its Hugging Face name.
    pub(super) fn from_weights_as(
        config: HfConfig,
        w: &mut Weights,
        device: Device,
        kind: Kind,
    ) -> Result<Self, HfError> {
        let c = &config;
        if c.architecture != Architecture::Gpt2 {
            return Err(HfError::Input(format!(
                "{} is not GPT-2 (load it as an HfModel)",
                c.architecture.name()
            )));
        }
        if !w.contains("transformer.wte.weight") && w.contains("wte.weight") {
            w.add_prefix(PREFIX);
        }
        let (h, im) = (c.hidden_size, c.intermediate_size);
        let n_pos = c.max_position_embeddings.unwrap_or(0);
        let wte = w.take_as("transformer.wte.weight", &[c.vocab_size, h], device, kind)?;
        let wpe = w.take_as("transformer.wpe.weight", &[n_pos, h], device, kind)?;
        let mut blocks = Vec::new();
        for i in 0..c.num_hidden_layers {
            let p = format!("{PREFIX}h.{i}");
            let mut conv = |name: String, shape| Linear::load_conv1d(w, &name, shape, device, kind);
            let c_attn = conv(format!("{p}.attn.c_attn"), (3 * h, h))?;
            let attn_proj = conv(format!("{p}.attn.c_proj"), (h, h))?;
            let c_fc = conv(format!("{p}.mlp.c_fc"), (im, h))?;
            let mlp_proj = conv(format!("{p}.mlp.c_proj"), (h, im))?;
            blocks.push(Block {
                ln_1: Norm::load(w, format!("{p}.ln_1"), h, device, kind)?,
                c_attn,
                attn_proj,
                ln_2: Norm::load(w, format!("{p}.ln_2"), h, device, kind)?,
                c_fc,
                mlp_proj,
            });
        }
        let ln_f = Norm::load(w, format!("{PREFIX}ln_f"), h, device, kind)?;
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            Some(w.take_as("lm_head.weight", &[c.vocab_size, h], device, kind)?)
        };
        let mut model = Self {
            config,
            wte,
            wpe,
            blocks,
            ln_f,
            lm_head,
            device,
            lora: None,
            trainable: Vec::new(),
        };
        model.trainable = model.weights();
        Ok(model)
    }

    /// Every weight and bias by its Hugging Face name (`lm_head.weight`
    /// only when untied), shallow copies, adapters not merged.
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![
            (format!("{PREFIX}wte.weight"), self.wte.shallow_clone()),
            (format!("{PREFIX}wpe.weight"), self.wpe.shallow_clone()),
        ];
        let linear = |out: &mut Vec<(String, Tensor)>, lin: &Linear| {
            out.push((format!("{}.weight", lin.name), lin.weight.shallow_clone()));
            if let Some(b) = &lin.bias {
                out.push((format!("{}.bias", lin.name), b.shallow_clone()));
            }
        };
        for block in &self.blocks {
            block.ln_1.push(&mut out);
            linear(&mut out, &block.c_attn);
            linear(&mut out, &block.attn_proj);
            block.ln_2.push(&mut out);
            linear(&mut out, &block.c_fc);
            linear(&mut out, &block.mlp_proj);
        }
        self.ln_f.push(&mut out);
        if let Some(head) = &self.lm_head {
            out.push(("lm_head.weight".to_string(), head.shallow_clone()));
        }
        out
    }

    /// The model's config.
    pub fn config(&self) -> &HfConfig {
        &self.config
    }

    /// The device its weights are on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// An empty KV cache for `batch` rows of up to `max_len` tokens.
    pub fn new_cache(&self, batch: i64, max_len: i64) -> Result<KvCache, HfError> {
        let c = &self.config;
        let shape = [batch, c.num_attention_heads, max_len, c.head_dim];
        KvCache::zeros(c.num_hidden_layers, shape, self.device)
    }

    /// Logits for the next tokens after the cached ones, as
    /// [`crate::hf::LlamaModel::forward_cached`] (positions index `wpe`).
    pub fn forward_cached(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        key_mask: &Tensor,
        cache: &mut KvCache,
    ) -> Result<Tensor, HfError> {
        let _guard = tch::no_grad_guard();
        let ids = self.checked_ids(ids)?;
        let layers = self.blocks.len();
        let allowed = cache.attend(&ids, (positions, key_mask), None, layers, self.device)?;
        let positions = positions.f_to_device(self.device)?;
        let logits = self.run(&ids, &positions, allowed, Some(&*cache), false)?;
        cache.advance(ids.size()[1]);
        Ok(logits)
    }

    /// Token ids `[batch, time]` as int64 on the device, checked to be in
    /// the vocabulary.
    pub(super) fn checked_ids(&self, ids: &Tensor) -> Result<Tensor, HfError> {
        batch_time(ids)?;
        let ids = ids.f_to_kind(Kind::Int64)?.f_to_device(self.device)?;
        check_range(&ids, self.config.vocab_size, "token ids")?;
        Ok(ids)
    }

    /// Logits `[batch, time, vocab]` (f32) of checked ids at `positions`
    /// (`[batch, time]`, on the device, each below `n_positions`),
    /// attending as `attend` says; with a cache, the new keys and values
    /// are written into it after its filled entries (the caller advances
    /// it). Dropout on the adapters' input when `train`.
    pub(super) fn run(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        attend: Attend,
        cache: Option<&KvCache>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        let c = &self.config;
        let (b, t) = batch_time(ids)?;
        check_range(positions, self.wpe.size()[0], "positions (n_positions)")?;
        let tok = self.wte.f_index_select(0, &ids.f_view([-1])?)?;
        let pos = self.wpe.f_index_select(0, &positions.f_reshape([-1])?)?;
        let mut x = tok
            .f_to_kind(Kind::Float)?
            .f_add(&pos.f_to_kind(Kind::Float)?)?
            .f_view([b, t, -1])?;
        let eps = c.rms_norm_eps;
        for (i, block) in self.blocks.iter().enumerate() {
            let kv = cache.map(|cache| cache.layer(i));
            let n = block.ln_1.forward(&x, eps)?;
            x = x.f_add(&self.attention(block, &n, &attend, kv, train)?)?;
            let n = block.ln_2.forward(&x, eps)?;
            let m = block.c_fc.forward(&n, train)?.f_gelu("tanh")?;
            x = x.f_add(&block.mlp_proj.forward(&m, train)?)?;
        }
        let x = self.ln_f.forward(&x, eps)?;
        let head = self.lm_head.as_ref().unwrap_or(&self.wte);
        Ok(x.f_to_kind(head.kind())?
            .f_matmul(&head.f_tr()?)?
            .f_to_kind(Kind::Float)?)
    }

    /// Multi-head attention of the new tokens `x` through `c_attn`, over
    /// themselves or the cached entries and themselves, then `attn.c_proj`.
    fn attention(
        &self,
        l: &Block,
        x: &Tensor,
        attend: &Attend,
        cache: Option<(&Tensor, &Tensor, i64)>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        let c = &self.config;
        let (b, t) = (x.size()[0], x.size()[1]);
        let (nh, hd, h) = (c.num_attention_heads, c.head_dim, c.hidden_size);
        let qkv = l.c_attn.forward(x, train)?;
        let heads = |i: i64| -> Result<Tensor, HfError> {
            Ok(qkv
                .f_narrow(2, i * h, h)?
                .f_view([b, t, nh, hd])?
                .f_transpose(1, 2)?)
        };
        let (q, mut k, mut v) = (heads(0)?, heads(1)?, heads(2)?);
        if let Some((cache_k, cache_v, start)) = cache {
            cache_k.f_narrow(2, start, t)?.f_copy_(&k)?;
            cache_v.f_narrow(2, start, t)?.f_copy_(&v)?;
            k = cache_k.f_narrow(2, 0, start + t)?;
            v = cache_v.f_narrow(2, 0, start + t)?;
        }
        let (mask, causal) = match attend {
            Attend::Causal => (None, true),
            Attend::Mask(m) => (Some(m), false),
        };
        let out =
            Tensor::f_scaled_dot_product_attention(&q, &k, &v, mask, 0.0, causal, None, false)?
                .f_transpose(1, 2)?
                .f_contiguous()?
                .f_view([b, t, h])?;
        l.attn_proj.forward(&out, train)
    }
}

/// Every value of int64 `t` in `0..end`, else an input error naming `what`.
fn check_range(t: &Tensor, end: i64, what: &str) -> Result<(), HfError> {
    let (lo, hi) = (
        t.f_min()?.f_int64_value(&[])?,
        t.f_max()?.f_int64_value(&[])?,
    );
    if lo < 0 || hi >= end {
        return Err(HfError::Input(format!(
            "{what} must be in 0..{end}, got {lo}..={hi}"
        )));
    }
    Ok(())
}
