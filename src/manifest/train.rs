//! The `Train` kind: train a built-in GPT on a generated data set (or run
//! the user's own training command), then evaluate it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Decoding, Output};
use super::slurm::SlurmSpec;
use super::sweep::Executor;
use crate::presets::ModelDims;
pub use crate::presets::ModelPreset;
use crate::scoring::normalize::{AnswerExtraction, Equivalence};

/// What a Train job does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// The built-in model (with `dataset`); omit it when `command` trains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "ModelConfig")]
    pub model: Option<ModelConfig>,
    /// The built-in model's generated training data; omit it when
    /// `command` trains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "DatasetConfig")]
    pub dataset: Option<DatasetConfig>,
    /// Train with your own program instead of the built-in model: its argv,
    /// each element a template (`{{ learning_rate }}`, `{{ trial_id }}`, ...:
    /// every `training` key, plus run_dir, checkpoint_dir, metrics_file,
    /// predictions_file, evalset, trial_id, until_step), run without a
    /// shell in the workspace root. It speaks the command-trainer protocol
    /// (README, "Your own trainer").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub command: Option<Vec<String>>,
    /// Extra environment variables for `command`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    pub training: TrainingConfig,
    /// `auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    #[schemars(regex(pattern = r"^(auto|cpu|cuda(:[0-9]+)?)$"))]
    pub device: String,
    /// Evaluate the trained model on an eval set (at the end, and every
    /// `training.eval_interval` steps when set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval: Option<TrainEval>,
    #[serde(default)]
    pub output: Output,
    /// Where the run trains: `local` (this machine) or `slurm` (one Slurm
    /// job, configured by the `slurm` block). Not part of the run's
    /// identity. A Sweep's own `executor` decides for its trials.
    #[serde(default, skip_serializing_if = "Executor::is_local")]
    pub executor: Executor,
    /// The Slurm job's resources and placement (`executor: slurm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<Box<SlurmSpec>>,
}

impl TrainSpec {
    /// The built-in trainer's model and data, or why this spec has none.
    pub fn builtin(&self) -> std::result::Result<(&ModelConfig, &DatasetConfig), String> {
        match (&self.model, &self.dataset, &self.command) {
            (Some(m), Some(d), None) => Ok((m, d)),
            (_, _, Some(_)) => {
                Err("this spec trains with its own `command`, not the built-in model".to_string())
            }
            (None, _, None) => Err(MISSING_MODEL.to_string()),
            (_, None, None) => Err(MISSING_DATASET.to_string()),
        }
    }
}

/// Why a spec without `model` cannot train.
pub const MISSING_MODEL: &str =
    "`model` is missing: a Train spec needs `model` and `dataset` (the built-in trainer) or `command` (your own trainer)";
/// Why a spec without `dataset` cannot train.
pub const MISSING_DATASET: &str =
    "`dataset` is missing: the built-in trainer needs `model` and `dataset`; or give `command` to train with your own program";

fn default_device() -> String {
    "auto".to_string()
}

/// The model architecture: a preset, optionally with its sizes overridden.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    pub preset: ModelPreset,
    /// Override the preset's number of transformer blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 96))]
    pub n_layer: Option<u32>,
    /// Override the preset's number of attention heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 128))]
    pub n_head: Option<u32>,
    /// Override the preset's embedding width (a multiple of `n_head`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 8, max = 16384))]
    pub n_embd: Option<u32>,
    /// Override the preset's context length in tokens (bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 16, max = 8192))]
    pub context_length: Option<u32>,
    /// Dropout probability.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 0.9))]
    pub dropout: f64,
}

impl ModelConfig {
    /// The preset's sizes with this config's overrides applied.
    pub fn dims(&self) -> ModelDims {
        let base = ModelDims::preset(self.preset);
        ModelDims {
            n_layer: self.n_layer.unwrap_or(base.n_layer),
            n_head: self.n_head.unwrap_or(base.n_head),
            n_embd: self.n_embd.unwrap_or(base.n_embd),
            context_length: self.context_length.unwrap_or(base.context_length),
            vocab_size: base.vocab_size,
        }
    }
}

/// Built-in data sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Generated multi-step arithmetic word problems with step-by-step traces.
    DevReasoningV2,
}

/// The training data: a seeded generator and its split sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    pub name: DatasetName,
    /// Generator seed; the same seed gives the same examples.
    #[serde(default)]
    pub seed: u64,
    /// Training examples to generate.
    #[serde(default = "default_train_examples")]
    #[schemars(range(min = 1, max = 10_000_000))]
    pub train_examples: u32,
    /// Validation examples to generate (disjoint from training).
    #[serde(default = "default_val_examples")]
    #[schemars(range(min = 1, max = 1_000_000))]
    pub val_examples: u32,
    /// Relative weights of easy (2-step), medium (3-step) and hard (4-step) problems.
    #[serde(default)]
    pub difficulty: DifficultyMix,
}

fn default_train_examples() -> u32 {
    20_000
}

fn default_val_examples() -> u32 {
    500
}

/// Relative weights of problem difficulties; at least one must be positive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DifficultyMix {
    #[schemars(range(min = 0.0))]
    pub easy: f64,
    #[schemars(range(min = 0.0))]
    pub medium: f64,
    #[schemars(range(min = 0.0))]
    pub hard: f64,
}

impl Default for DifficultyMix {
    fn default() -> Self {
        DifficultyMix {
            easy: 0.5,
            medium: 0.3,
            hard: 0.2,
        }
    }
}

/// Optimizer and schedule. These names are also the keys a Sweep may
/// search over or override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingConfig {
    /// Peak learning rate of AdamW (after warmup, before cosine decay).
    #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 10.0))]
    pub learning_rate: f64,
    /// Sequences per optimizer step on one device.
    #[schemars(range(min = 1, max = 65536))]
    pub per_device_batch_size: u32,
    /// AdamW weight decay (not applied to norms and biases).
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 10.0))]
    pub weight_decay: f64,
    /// Steps of linear learning-rate warmup.
    #[serde(default)]
    pub warmup_steps: u32,
    /// Optimizer steps to train for.
    #[schemars(range(min = 1))]
    pub max_steps: u32,
    /// Seed for weights initialisation, batch order and dropout.
    #[serde(default)]
    pub seed: u64,
    /// Clip the global gradient norm to this value.
    #[serde(default = "default_grad_clip")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub grad_clip: f64,
    /// Evaluate on the eval set every N steps (and always at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub eval_interval: Option<u32>,
    /// Write a checkpoint every N steps (and always at the end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub checkpoint_interval: Option<u32>,
    /// Log loss, learning rate and throughput every N steps.
    #[serde(default = "default_log_interval")]
    #[schemars(range(min = 1))]
    pub log_interval: u32,
}

fn default_grad_clip() -> f64 {
    1.0
}

fn default_log_interval() -> u32 {
    10
}

/// Evaluation of the trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainEval {
    /// Eval set (JSONL), relative to this manifest's folder.
    pub evalset: PathBuf,
    #[serde(default)]
    pub decoding: Decoding,
    #[serde(default)]
    pub answer_extraction: AnswerExtraction,
    #[serde(default)]
    pub equivalence: Equivalence,
}
