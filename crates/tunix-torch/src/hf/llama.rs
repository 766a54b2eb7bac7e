//! The Llama-family decoder (Llama, Qwen2, Mistral, Gemma) as Hugging
//! Face's `transformers` computes it, the residual stream in f32 over weights
//! held in one dtype (f32, or bf16 for training on a GPU): token embedding
//! (times `sqrt(hidden_size)` for Gemma); per layer RMSNorm (scaled by
//! `1 + weight` for Gemma), attention with "rotate half" RoPE (scaled as
//! `crate::hf::rope` says), grouped-query attention (each key/value head
//! serves consecutive query heads), a causal mask (within Mistral's sliding
//! window, `crate::hf::mask`) and the output projection, a residual,
//! RMSNorm, the gated MLP (`down(act(gate(x)) * up(x))`, SiLU or Gemma's
//! tanh-GELU) and a residual; a final RMSNorm and the output head, which is
//! the embedding when `tie_word_embeddings`. Tensor names are the
//! checkpoint's (`model.layers.0.self_attn.q_proj.weight`, ...). One pass
//! (`run`) serves decoding through a [`KvCache`] and training
//! (`crate::hf::loss`), whose LoRA adapters live in the projections
//! (`crate::hf::linear`).

use std::path::Path;

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::LoraConfig;

use crate::hf::cache::{batch_time, KvCache};
use crate::hf::config::{Activation, Architecture, HfConfig};
use crate::hf::error::HfError;
use crate::hf::linear::Linear;
use crate::hf::mask::Attend;
use crate::hf::weights::Weights;

/// One decoder layer.
pub(super) struct Layer {
    pub(super) input_norm: Tensor,
    pub(super) q: Linear,
    pub(super) k: Linear,
    pub(super) v: Linear,
    pub(super) o: Linear,
    pub(super) post_norm: Tensor,
    pub(super) gate: Linear,
    pub(super) up: Linear,
    pub(super) down: Linear,
}

impl Layer {
    /// The projections in a layer's order (q, k, v, o, gate, up, down).
    pub(super) fn linears(&self) -> [&Linear; 7] {
        [
            &self.q, &self.k, &self.v, &self.o, &self.gate, &self.up, &self.down,
        ]
    }

    /// The projections, mutable, in the same order.
    pub(super) fn linears_mut(&mut self) -> [&mut Linear; 7] {
        [
            &mut self.q,
            &mut self.k,
            &mut self.v,
            &mut self.o,
            &mut self.gate,
            &mut self.up,
            &mut self.down,
        ]
    }
}

/// A loaded Llama-family decoder, with LoRA adapters when loaded for
/// LoRA training (`crate::hf::trainable`).
pub struct LlamaModel {
    pub(super) config: HfConfig,
    pub(super) embed: Tensor,
    pub(super) layers: Vec<Layer>,
    pub(super) norm: Tensor,
    /// `None` when tied to the embedding.
    pub(super) lm_head: Option<Tensor>,
    pub(super) device: Device,
    /// The adapters' config when the model carries LoRA adapters.
    pub(super) lora: Option<LoraConfig>,
    /// The trained tensors by checkpoint name (shallow copies sharing the
    /// model's storage and autograd state): every weight, or the adapters.
    pub(super) trainable: Vec<(String, Tensor)>,
}

impl LlamaModel {
    /// Load `config.json` and the weights of a local model folder onto
    /// `device`, in f32, for inference (nothing requires grad).
    pub fn load(dir: &Path, device: Device) -> Result<Self, HfError> {
        let config = HfConfig::load(dir)?;
        let mut weights = Weights::load(dir)?;
        Self::from_weights(config, &mut weights, device)
    }

    /// Build the model from a config and its weights (taken out of
    /// `weights`), in f32, for inference.
    pub fn from_weights(
        config: HfConfig,
        w: &mut Weights,
        device: Device,
    ) -> Result<Self, HfError> {
        Self::from_weights_as(config, w, device, Kind::Float)
    }

    /// Build the model with its weights in dtype `kind`; nothing requires
    /// grad, and [`LlamaModel::trainable`](Self::trainable) lists every
    /// weight by its Hugging Face name.
    pub(super) fn from_weights_as(
        config: HfConfig,
        w: &mut Weights,
        device: Device,
        kind: Kind,
    ) -> Result<Self, HfError> {
        let c = &config;
        if c.architecture == Architecture::Gpt2 {
            return Err(HfError::Input(
                "GPT2LMHeadModel is not a Llama-family decoder (load it as an HfModel)".into(),
            ));
        }
        let (h, hd) = (c.hidden_size, c.head_dim);
        let (q_out, kv_out) = (c.num_attention_heads * hd, c.num_key_value_heads * hd);
        let embed = w.take_as(
            "model.embed_tokens.weight",
            &[c.vocab_size, h],
            device,
            kind,
        )?;
        let mut layers = Vec::new();
        for i in 0..c.num_hidden_layers {
            let p = format!("model.layers.{i}");
            let a = format!("{p}.self_attn");
            let m = format!("{p}.mlp");
            let im = c.intermediate_size;
            let mut lin = |name: &str, shape, bias| -> Result<Linear, HfError> {
                Linear::load(w, name, shape, bias, device, kind)
            };
            layers.push(Layer {
                q: lin(&format!("{a}.q_proj"), (q_out, h), c.qkv_bias)?,
                k: lin(&format!("{a}.k_proj"), (kv_out, h), c.qkv_bias)?,
                v: lin(&format!("{a}.v_proj"), (kv_out, h), c.qkv_bias)?,
                o: lin(&format!("{a}.o_proj"), (h, q_out), c.o_bias)?,
                gate: lin(&format!("{m}.gate_proj"), (im, h), c.mlp_bias)?,
                up: lin(&format!("{m}.up_proj"), (im, h), c.mlp_bias)?,
                down: lin(&format!("{m}.down_proj"), (h, im), c.mlp_bias)?,
                input_norm: w.take_as(
                    &format!("{p}.input_layernorm.weight"),
                    &[h],
                    device,
                    kind,
                )?,
                post_norm: w.take_as(
                    &format!("{p}.post_attention_layernorm.weight"),
                    &[h],
                    device,
                    kind,
                )?,
            });
        }
        let norm = w.take_as("model.norm.weight", &[h], device, kind)?;
        let lm_head = if c.tie_word_embeddings {
            None
        } else {
            Some(w.take_as("lm_head.weight", &[c.vocab_size, h], device, kind)?)
        };
        let mut model = Self {
            config,
            embed,
            layers,
            norm,
            lm_head,
            device,
            lora: None,
            trainable: Vec::new(),
        };
        model.trainable = model.weights();
        Ok(model)
    }

    /// Every weight, bias and norm scale by its Hugging Face name
    /// (`model.embed_tokens.weight`, ..., `lm_head.weight` only when
    /// untied), as shallow copies of the model's tensors (adapters not
    /// merged).
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        let mut out = vec![(
            "model.embed_tokens.weight".to_string(),
            self.embed.shallow_clone(),
        )];
        for (i, layer) in self.layers.iter().enumerate() {
            let p = format!("model.layers.{i}");
            out.push((
                format!("{p}.input_layernorm.weight"),
                layer.input_norm.shallow_clone(),
            ));
            for lin in &layer.linears()[..4] {
                push_linear(&mut out, lin);
            }
            out.push((
                format!("{p}.post_attention_layernorm.weight"),
                layer.post_norm.shallow_clone(),
            ));
            for lin in &layer.linears()[4..] {
                push_linear(&mut out, lin);
            }
        }
        out.push(("model.norm.weight".to_string(), self.norm.shallow_clone()));
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
        let shape = [batch, c.num_key_value_heads, max_len, c.head_dim];
        KvCache::zeros(c.num_hidden_layers, shape, self.device)
    }

    /// Logits `[batch, time, vocab]` for the next `time` tokens of each row
    /// after the `cache.len()` already cached, whose keys and values are
    /// written into the cache in place. `positions` (`[batch, time]`) are
    /// the tokens' RoPE positions; `key_mask` (`[batch, cache.len() +
    /// time]`, bool) marks the cached and new entries a token may attend to
    /// (besides the causal order: each token always attends to itself).
    pub fn forward_cached(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        key_mask: &Tensor,
        cache: &mut KvCache,
    ) -> Result<Tensor, HfError> {
        let _guard = tch::no_grad_guard();
        let ids = self.checked_ids(ids)?;
        let c = &self.config;
        let layers = self.layers.len();
        let allowed = cache.attend(
            &ids,
            (positions, key_mask),
            c.sliding_window,
            layers,
            self.device,
        )?;
        let positions = positions.f_to_device(self.device)?;
        let logits = self.run(&ids, &positions, allowed, Some(&*cache), false)?;
        cache.advance(ids.size()[1]);
        Ok(logits)
    }

    /// Token ids `[batch, time]` as int64 on the model's device, each
    /// checked to be in the vocabulary.
    pub(super) fn checked_ids(&self, ids: &Tensor) -> Result<Tensor, HfError> {
        batch_time(ids)?;
        let ids = ids.f_to_kind(Kind::Int64)?.f_to_device(self.device)?;
        let (lo, hi) = (
            ids.f_min()?.f_int64_value(&[])?,
            ids.f_max()?.f_int64_value(&[])?,
        );
        let vocab = self.config.vocab_size;
        if lo < 0 || hi >= vocab {
            return Err(HfError::Input(format!(
                "token ids must be in 0..{vocab}, got {lo}..={hi}"
            )));
        }
        Ok(ids)
    }

    /// Logits `[batch, time, vocab]` (f32) of checked token ids at RoPE
    /// `positions` (`[batch, time]`, on the device), attending as `attend`
    /// says; with a cache, the new keys and values are written into it after
    /// its `len()` entries (the caller advances it). Dropout on the adapters'
    /// input when `train`.
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
        let (cos, sin) = self.rope(positions)?;
        let mut x = self
            .embed
            .f_index_select(0, &ids.f_view([-1])?)?
            .f_to_kind(Kind::Float)?
            .f_view([b, t, -1])?;
        if c.scale_embedding {
            x = x.f_mul(&self.embed_scale()?)?;
        }
        let offset = c.norm_offset;
        for (i, layer) in self.layers.iter().enumerate() {
            let kv = cache.map(|cache| cache.layer(i));
            let n = rms_norm(&x, &layer.input_norm, c.rms_norm_eps, offset)?;
            let a = self.attention(layer, &n, (&cos, &sin), &attend, kv, train)?;
            x = x.f_add(&a)?;
            let n = rms_norm(&x, &layer.post_norm, c.rms_norm_eps, offset)?;
            let g = layer.gate.forward(&n, train)?;
            let g = match c.activation {
                Activation::Silu => g.f_silu()?,
                Activation::GeluTanh => g.f_gelu("tanh")?,
            };
            let m = layer
                .down
                .forward(&g.f_mul(&layer.up.forward(&n, train)?)?, train)?;
            x = x.f_add(&m)?;
        }
        let x = rms_norm(&x, &self.norm, c.rms_norm_eps, offset)?;
        let head = self.lm_head.as_ref().unwrap_or(&self.embed);
        Ok(x.f_to_kind(head.kind())?
            .f_matmul(&head.f_tr()?)?
            .f_to_kind(Kind::Float)?)
    }

    /// Gemma's embedding scale `sqrt(hidden_size)`, a 0-d f32 tensor,
    /// rounded to the embedding's dtype as `transformers` casts it.
    fn embed_scale(&self) -> Result<Tensor, HfError> {
        let scale = (self.config.hidden_size as f64).sqrt();
        Ok(Tensor::f_scalar_tensor(scale, (Kind::Float, self.device))?
            .f_to_kind(self.embed.kind())?
            .f_to_kind(Kind::Float)?)
    }

    /// RoPE's cos and sin `[batch, 1, time, head_dim]` at `positions`
    /// (`[batch, time]`), as `transformers` builds them: the inverse
    /// frequencies of `crate::hf::rope`, repeated over both halves.
    fn rope(&self, positions: &Tensor) -> Result<(Tensor, Tensor), HfError> {
        let inv_freq = self
            .config
            .rope()
            .inv_freq(self.config.head_dim, self.device)?;
        let pos = positions.f_to_kind(Kind::Float)?;
        let freqs = pos.f_unsqueeze(-1)?.f_mul(&inv_freq)?;
        let emb = Tensor::f_cat(&[&freqs, &freqs], -1)?.f_unsqueeze(1)?;
        Ok((emb.f_cos()?, emb.f_sin()?))
    }

    /// Attention of the new tokens `x`: over themselves alone, or over
    /// the cached ones and themselves (a layer's keys, values and the
    /// number of entries before them), their keys and values then written
    /// into the cache in place.
    fn attention(
        &self,
        l: &Layer,
        x: &Tensor,
        (cos, sin): (&Tensor, &Tensor),
        attend: &Attend,
        cache: Option<(&Tensor, &Tensor, i64)>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        let c = &self.config;
        let (b, t) = (x.size()[0], x.size()[1]);
        let (nh, nkv, hd) = (c.num_attention_heads, c.num_key_value_heads, c.head_dim);
        let heads = |y: Tensor, n: i64| -> Result<Tensor, HfError> {
            Ok(y.f_view([b, t, n, hd])?.f_transpose(1, 2)?)
        };
        let q = apply_rope(&heads(l.q.forward(x, train)?, nh)?, cos, sin)?;
        let mut k = apply_rope(&heads(l.k.forward(x, train)?, nkv)?, cos, sin)?;
        let mut v = heads(l.v.forward(x, train)?, nkv)?;
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
        // Grouped-query attention inside SDPA (`enable_gqa`: each key/value
        // head serves consecutive query heads, as `transformers`'
        // `repeat_kv`), without copying the keys and values per query head.
        let gqa = nh != nkv;
        let out = Tensor::f_scaled_dot_product_attention(&q, &k, &v, mask, 0.0, causal, None, gqa)?
            .f_transpose(1, 2)?
            .f_contiguous()?
            .f_view([b, t, nh * hd])?;
        l.o.forward(&out, train)
    }
}

/// `transformers`' RMSNorm: `weight * x / sqrt(mean(x²) + eps)`, or
/// Gemma's `(1 + weight)` in f32 when `offset`.
fn rms_norm(x: &Tensor, weight: &Tensor, eps: f64, offset: bool) -> Result<Tensor, HfError> {
    let var = x
        .f_pow_tensor_scalar(2)?
        .f_mean_dim(-1, true, Kind::Float)?;
    let normed = x.f_mul(&var.f_add_scalar(eps)?.f_rsqrt()?)?;
    if offset {
        return Ok(normed.f_mul(&weight.f_to_kind(Kind::Float)?.f_add_scalar(1.0)?)?);
    }
    Ok(normed.f_mul(weight)?)
}

/// `x * cos + rotate_half(x) * sin`, `rotate_half([x1, x2]) = [-x2, x1]`.
fn apply_rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor, HfError> {
    let half = x.size()[3] / 2;
    let x1 = x.f_narrow(-1, 0, half)?;
    let x2 = x.f_narrow(-1, half, half)?;
    let rotated = Tensor::f_cat(&[&x2.f_neg()?, &x1], -1)?;
    Ok(x.f_mul(cos)?.f_add(&rotated.f_mul(sin)?)?)
}

/// A projection's weight and bias by their Hugging Face names.
fn push_linear(out: &mut Vec<(String, Tensor)>, lin: &Linear) {
    out.push((format!("{}.weight", lin.name), lin.weight.shallow_clone()));
    if let Some(bias) = &lin.bias {
        out.push((format!("{}.bias", lin.name), bias.shallow_clone()));
    }
}
