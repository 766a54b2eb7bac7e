//! [`HfModel`]: any decoder a model folder holds, picked by its
//! `config.json`'s architecture: the Llama family's one config-driven
//! decoder ([`LlamaModel`]) or GPT-2 ([`Gpt2Model`]). It exposes what the
//! worker calls (greedy decoding's cache and cached pass, the training
//! loss, trained tensors, checkpoint restore, `peft` adapters, the merged
//! export, the config and device), so generation, the trainee, `generate-hf`
//! and `export-hf` keep one code path over both.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::{LoraConfig, LoraTarget};

use crate::hf::cache::{batch_time, KvCache};
use crate::hf::config::{Architecture, HfConfig};
use crate::hf::error::HfError;
use crate::hf::export;
use crate::hf::gpt2::Gpt2Model;
use crate::hf::llama::LlamaModel;
use crate::hf::loss::{check_targets, cross_entropy};
use crate::hf::peft::{save_adapter, Adapter};

/// A loaded decoder of either kind.
pub enum HfModel {
    /// Llama, Qwen2, Mistral, Gemma.
    Llama(LlamaModel),
    /// GPT-2.
    Gpt2(Gpt2Model),
}

/// Run the same expression on whichever decoder `$model` holds.
macro_rules! each {
    ($model:expr, $m:ident => $e:expr) => {
        match $model {
            HfModel::Llama($m) => $e,
            HfModel::Gpt2($m) => $e,
        }
    };
}

impl HfModel {
    /// Load a model folder onto `device` in f32 for inference, as its
    /// `config.json` says.
    pub fn load(dir: &Path, device: Device) -> Result<Self, HfError> {
        Ok(match HfConfig::load(dir)?.architecture {
            Architecture::Gpt2 => Self::Gpt2(Gpt2Model::load(dir, device)?),
            _ => Self::Llama(LlamaModel::load(dir, device)?),
        })
    }

    /// Load a model folder for training (every weight, or LoRA adapters
    /// over a frozen base held in `kind`), as its `config.json` says.
    pub fn load_for_training(
        dir: &Path,
        device: Device,
        kind: Kind,
        lora: Option<&LoraConfig>,
        seed: u64,
    ) -> Result<Self, HfError> {
        let architecture = HfConfig::load(dir)?.architecture;
        let lora = lora.map(|l| with_default_targets(l, architecture));
        let lora = lora.as_ref();
        Ok(match architecture {
            Architecture::Gpt2 => {
                Self::Gpt2(Gpt2Model::load_for_training(dir, device, kind, lora, seed)?)
            }
            _ => Self::Llama(LlamaModel::load_for_training(
                dir, device, kind, lora, seed,
            )?),
        })
    }

    /// The model's config.
    pub fn config(&self) -> &HfConfig {
        each!(self, m => m.config())
    }

    /// The device its weights are on.
    pub fn device(&self) -> Device {
        each!(self, m => m.device())
    }

    /// The most positions a sequence may take, when the model has a hard
    /// limit: GPT-2's learned `n_positions` (RoPE decoders have none).
    pub fn position_limit(&self) -> Option<i64> {
        match self {
            HfModel::Llama(_) => None,
            HfModel::Gpt2(m) => m.config().max_position_embeddings,
        }
    }

    /// The dtype the base weights are held in.
    pub fn base_kind(&self) -> Kind {
        each!(self, m => m.base_kind())
    }

    /// Every weight by its Hugging Face name (adapters not merged).
    pub fn weights(&self) -> Vec<(String, Tensor)> {
        each!(self, m => m.weights())
    }

    /// The trained tensors by checkpoint name.
    pub fn trainable(&self) -> &[(String, Tensor)] {
        each!(self, m => m.trainable())
    }

    /// The adapters' config, when the model carries LoRA adapters.
    pub fn lora(&self) -> Option<&LoraConfig> {
        each!(self, m => m.lora())
    }

    /// Overwrite the trained tensors with a checkpoint's.
    pub fn load_trained(&mut self, tensors: &[(String, Tensor)]) -> Result<(), HfError> {
        each!(self, m => m.load_trained(tensors))
    }

    /// An empty KV cache for `batch` rows of up to `max_len` tokens.
    pub fn new_cache(&self, batch: i64, max_len: i64) -> Result<KvCache, HfError> {
        each!(self, m => m.new_cache(batch, max_len))
    }

    /// Logits for the next tokens after the cached ones (see
    /// [`LlamaModel::forward_cached`]).
    pub fn forward_cached(
        &self,
        ids: &Tensor,
        positions: &Tensor,
        key_mask: &Tensor,
        cache: &mut KvCache,
    ) -> Result<Tensor, HfError> {
        each!(self, m => m.forward_cached(ids, positions, key_mask, cache))
    }

    /// Logits `[batch, time, vocab]` (f32) for token ids `[batch, time]`,
    /// every row at positions `0..time`.
    pub fn forward(&self, ids: &Tensor) -> Result<Tensor, HfError> {
        self.forward_masked(ids, None)
    }

    /// Logits `[batch, time, vocab]` of token ids `[batch, time]` whose
    /// `mask` (nonzero = token, zero = padding) marks padding; each row's
    /// positions count its tokens only (see [`LlamaModel::forward_masked`]).
    pub fn forward_masked(&self, ids: &Tensor, mask: Option<&Tensor>) -> Result<Tensor, HfError> {
        let (b, t) = batch_time(ids)?;
        let device = self.device();
        let mask = match mask {
            Some(m) => m.f_to_device(device)?.f_ne(0)?,
            None => Tensor::f_ones([b, t], (Kind::Bool, device))?,
        };
        if mask.size() != [b, t] {
            return Err(HfError::Input(format!(
                "mask must be [{b}, {t}], got {:?}",
                mask.size()
            )));
        }
        let positions = mask
            .f_to_kind(Kind::Int64)?
            .f_cumsum(1, Kind::Int64)?
            .f_sub_scalar(1)?
            .f_clamp_min(0)?;
        let mut cache = self.new_cache(b, t)?;
        self.forward_cached(ids, &positions, &mask, &mut cache)
    }

    /// Training logits: padded rows, or packed rows with their
    /// `(positions, segments)`.
    pub fn logits_train(
        &self,
        inputs: &Tensor,
        packed: Option<(&Tensor, &Tensor)>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        each!(self, m => m.logits_train(inputs, packed, train))
    }

    /// Mean next-token cross-entropy of `inputs` predicting `targets`
    /// (`[batch, time]`, -100 = no loss), with grad; rows as in
    /// [`HfModel::logits_train`].
    pub fn loss(
        &self,
        inputs: &Tensor,
        targets: &Tensor,
        packed: Option<(&Tensor, &Tensor)>,
        train: bool,
    ) -> Result<Tensor, HfError> {
        check_targets(inputs, targets)?;
        let logits = self.logits_train(inputs, packed, train)?;
        cross_entropy(&logits, targets, self.config().vocab_size)
    }

    /// Every weight by name with the adapters merged in, detached.
    pub fn merged_weights(&self) -> Result<Vec<(String, Tensor)>, HfError> {
        each!(self, m => m.merged_weights())
    }

    /// Write the model, adapters merged, into `out_dir` (created, or taken
    /// when empty) as a model folder over `base_dir`, the folder it was
    /// loaded from: `model.safetensors` in the base's stored dtypes, then
    /// `config.json` and the tokenizer and generation files that
    /// `base_dir` has. Each file is written under a temporary name and
    /// renamed; returns the paths written.
    pub fn export_merged(&self, base_dir: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, HfError> {
        export::export(&self.merged_weights()?, base_dir, out_dir)
    }

    /// Write the adapters into `dir` (created when missing) as a `peft`
    /// adapter folder; `lora` must be the model's own adapters' config and
    /// `base_model` is recorded as `base_model_name_or_path`. Each file is
    /// written under a temporary name and renamed; returns the two paths.
    pub fn save_peft_adapter(
        &self,
        dir: &Path,
        lora: &LoraConfig,
        base_model: &str,
    ) -> Result<Vec<PathBuf>, HfError> {
        let adapter = Adapter {
            ours: self.lora(),
            trainable: self.trainable(),
            // GPT-2's `Conv1D` weights are stored transposed.
            fan_in_fan_out: matches!(self, HfModel::Gpt2(_)),
        };
        save_adapter(&adapter, dir, lora, base_model)
    }
}

/// `lora` with its targets, or, when it names none, the attention
/// projections `peft` adapts by default for `architecture`: `q_proj` and
/// `v_proj` (the Llama family), `c_attn` (GPT-2).
pub fn with_default_targets(lora: &LoraConfig, architecture: Architecture) -> LoraConfig {
    let mut lora = lora.clone();
    if lora.target_modules.is_empty() {
        lora.target_modules = match architecture {
            Architecture::Gpt2 => vec![LoraTarget::CAttn],
            _ => vec![LoraTarget::QProj, LoraTarget::VProj],
        };
    }
    lora
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapters_without_targets_take_the_architectures_attention_projections() {
        let lora = LoraConfig {
            rank: 4,
            alpha: 8.0,
            dropout: 0.0,
            target_modules: Vec::new(),
        };
        let targets = |a| with_default_targets(&lora, a).target_modules;
        assert_eq!(
            targets(Architecture::Llama),
            [LoraTarget::QProj, LoraTarget::VProj]
        );
        assert_eq!(targets(Architecture::Gpt2), [LoraTarget::CAttn]);
        let given = LoraConfig {
            target_modules: vec![LoraTarget::DownProj],
            ..lora.clone()
        };
        assert_eq!(
            with_default_targets(&given, Architecture::Gpt2).target_modules,
            [LoraTarget::DownProj],
            "given targets are kept (and refused later if the model lacks them)"
        );
    }
}
