//! What a Train job trains: the built-in GPT ([`ModelConfig`], a preset
//! and its sizes) or a pretrained Hugging Face model folder
//! ([`HfTrainModel`]), fine-tuned in full or with LoRA adapters
//! ([`LoraConfig`]).

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ModelConfig;

/// The model a Train job trains: the built-in GPT, named by `preset`, or a
/// pretrained Hugging Face model folder, named by `hf`.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum TrainModel {
    /// The built-in GPT, trained from scratch (or from `init`).
    Builtin(ModelConfig),
    /// A pretrained Hugging Face model, fine-tuned.
    Hf(HfTrainModel),
}

impl TrainModel {
    /// The built-in GPT's config.
    pub fn builtin(&self) -> Option<&ModelConfig> {
        match self {
            TrainModel::Builtin(m) => Some(m),
            TrainModel::Hf(_) => None,
        }
    }

    /// The pretrained model's config.
    pub fn pretrained(&self) -> Option<&HfTrainModel> {
        match self {
            TrainModel::Hf(m) => Some(m),
            TrainModel::Builtin(_) => None,
        }
    }
}

/// A mapping with an `hf` key is a pretrained model, any other the built-in
/// GPT; each form then reports its own unknown or missing keys.
impl<'de> Deserialize<'de> for TrainModel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(d)?;
        let pretrained = value.as_object().is_some_and(|m| m.contains_key("hf"));
        if pretrained {
            serde_json::from_value(value)
                .map(TrainModel::Hf)
                .map_err(D::Error::custom)
        } else {
            serde_json::from_value(value)
                .map(TrainModel::Builtin)
                .map_err(D::Error::custom)
        }
    }
}

/// A pretrained Hugging Face decoder to fine-tune: all its weights, or
/// low-rank adapters (`lora`) over its frozen weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HfTrainModel {
    /// The model folder written by `transformers` (`save_pretrained`):
    /// config.json, tokenizer.json and model.safetensors (or
    /// model.safetensors.index.json and its shards), relative to this
    /// manifest's folder. Nothing is downloaded. Its weights' blake3 is
    /// part of the run's identity.
    pub hf: PathBuf,
    /// Train low-rank adapters on the named projections and keep the base
    /// weights frozen; omit it to fine-tune every weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraConfig>,
    /// The longest training example in tokens (prompt and completion; a
    /// longer one keeps its end). Default: 1024, or the model's
    /// `max_position_embeddings` when smaller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16, max = 131072))]
    pub context_length: Option<u32>,
}

/// Low-rank adapters (LoRA, as `peft` computes them): each target
/// projection `W x` becomes `W x + (alpha / rank) · B A dropout(x)`, `A`
/// random, `B` zero at the start; only `A` and `B` train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LoraConfig {
    /// The adapters' rank `r`.
    #[serde(default = "default_lora_rank")]
    #[schemars(range(min = 1, max = 1024))]
    pub rank: u32,
    /// The scale numerator: updates are scaled by `alpha / rank`.
    #[serde(default = "default_lora_alpha")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub alpha: f64,
    /// Dropout on the adapters' input while training.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 0.9))]
    pub dropout: f64,
    /// The projections that get adapters, in every layer. Default (none
    /// given): the attention projections `peft` picks for the
    /// architecture, `[q_proj, v_proj]` for the Llama family and
    /// `[c_attn]` for GPT-2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_modules: Vec<LoraTarget>,
}

fn default_lora_rank() -> u32 {
    8
}

fn default_lora_alpha() -> f64 {
    16.0
}

/// A decoder projection LoRA can adapt (`transformers`' module names): the
/// Llama family's `q_proj` ... `down_proj`, GPT-2's `c_attn` (q, k and v
/// fused), `c_proj` (attention output and MLP down projection, as `peft`
/// matches both) and `c_fc`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum LoraTarget {
    QProj,
    KProj,
    VProj,
    OProj,
    GateProj,
    UpProj,
    DownProj,
    CAttn,
    CProj,
    CFc,
}

impl LoraTarget {
    /// Every target, in a layer's order (the Llama family's, then GPT-2's).
    pub const ALL: [LoraTarget; 10] = [
        LoraTarget::QProj,
        LoraTarget::KProj,
        LoraTarget::VProj,
        LoraTarget::OProj,
        LoraTarget::GateProj,
        LoraTarget::UpProj,
        LoraTarget::DownProj,
        LoraTarget::CAttn,
        LoraTarget::CProj,
        LoraTarget::CFc,
    ];

    /// The module's name in `transformers` (and `peft`'s `target_modules`).
    pub fn as_str(self) -> &'static str {
        match self {
            LoraTarget::QProj => "q_proj",
            LoraTarget::KProj => "k_proj",
            LoraTarget::VProj => "v_proj",
            LoraTarget::OProj => "o_proj",
            LoraTarget::GateProj => "gate_proj",
            LoraTarget::UpProj => "up_proj",
            LoraTarget::DownProj => "down_proj",
            LoraTarget::CAttn => "c_attn",
            LoraTarget::CProj => "c_proj",
            LoraTarget::CFc => "c_fc",
        }
    }
}
