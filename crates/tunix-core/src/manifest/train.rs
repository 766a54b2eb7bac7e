//! The `Train` kind: train a built-in GPT, or fine-tune a pretrained
//! Hugging Face model ([`model`]), on a generated data set or the user's
//! own (or run the user's own training command), then evaluate it.

mod model;

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Decoding, Output, ParamValue};
use super::slurm::SlurmSpec;
use crate::device::DeviceSpec;
use crate::presets::ModelDims;
pub use crate::presets::ModelPreset;
use crate::scoring::normalize::{AnswerExtraction, Equivalence};
pub use model::{HfTrainModel, LoraConfig, LoraTarget, TrainModel};

/// What a Train job does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainSpec {
    /// The model to train (with `dataset`): the built-in GPT (`preset`) or
    /// a pretrained Hugging Face model folder (`hf`), fine-tuned in full or
    /// with LoRA adapters. Omit it when `command` trains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "TrainModel")]
    pub model: Option<TrainModel>,
    /// The built-in model's training data (generated, or your own JSONL
    /// files); omit it when `command` trains.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "DatasetConfig")]
    pub dataset: Option<DatasetConfig>,
    /// Train with your own program instead of the built-in model: its argv,
    /// each element a template (`{{ learning_rate }}`, `{{ trial_id }}`, ...:
    /// every `training` key, `params.NAME`, plus run_dir, checkpoint_dir,
    /// metrics_file, predictions_file, evalset, trial_id, until_step), run without a
    /// shell in the workspace root. It speaks the command-trainer protocol
    /// (README, "Your own trainer").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>", length(min = 1))]
    pub command: Option<Vec<String>>,
    /// Extra environment variables for `command`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Your own hyperparameters, for `command`: any names your program
    /// takes (`{x: 0.5, optimizer: adamw}`), each a template variable
    /// `{{ params.x }}` and, all together, the JSON object in
    /// `TUNIX_PARAMS`. A Sweep searches them as `params.x`. Names: 1–64
    /// characters of `[A-Za-z0-9_]`, starting with a letter.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("propertyNames" = { "pattern": "^[A-Za-z][A-Za-z0-9_]{0,63}$" }))]
    pub params: BTreeMap<String, ParamValue>,
    pub training: TrainingConfig,
    /// `auto` (CUDA when available, else CPU), `cpu`, `cuda` or `cuda:N`.
    #[serde(default = "default_device")]
    #[schemars(regex(pattern = r"^(auto|cpu|cuda(:[0-9]+)?)$"))]
    pub device: DeviceSpec,
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

/// Where trials run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// Processes on this machine.
    #[default]
    Local,
    /// Jobs on a Slurm cluster (`sbatch`), configured by the `slurm` block.
    Slurm,
}

impl Executor {
    pub fn is_local(&self) -> bool {
        *self == Executor::Local
    }
}

impl TrainSpec {
    /// The built-in GPT's config and data, or why this spec has none.
    pub fn builtin(&self) -> std::result::Result<(&ModelConfig, &DatasetConfig), NotBuiltin> {
        match self.worker_model()? {
            (TrainModel::Builtin(m), d) => Ok((m, d)),
            (TrainModel::Hf(_), _) => Err(NotBuiltin::Pretrained),
        }
    }

    /// The pretrained model's config and data, or why this spec has none.
    pub fn pretrained(&self) -> std::result::Result<(&HfTrainModel, &DatasetConfig), NotBuiltin> {
        match self.worker_model()? {
            (TrainModel::Hf(m), d) => Ok((m, d)),
            (TrainModel::Builtin(_), _) => Err(NotBuiltin::BuiltinModel),
        }
    }

    /// The model and data the built-in worker trains (either model kind),
    /// or why this spec has none.
    pub fn worker_model(&self) -> std::result::Result<(&TrainModel, &DatasetConfig), NotBuiltin> {
        match (&self.model, &self.dataset, &self.command) {
            (Some(m), Some(d), None) => Ok((m, d)),
            (_, _, Some(_)) => Err(NotBuiltin::OwnCommand),
            (None, _, None) => Err(NotBuiltin::MissingModel),
            (_, None, None) => Err(NotBuiltin::MissingDataset),
        }
    }

    /// The built-in GPT's config, when `model` names a preset.
    pub fn builtin_model(&self) -> Option<&ModelConfig> {
        self.model.as_ref().and_then(TrainModel::builtin)
    }
}

/// Why a Train spec has no built-in model and data to train.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotBuiltin {
    /// The spec trains with its own `command`.
    #[error("this spec trains with its own `command`, not the built-in model")]
    OwnCommand,
    /// The spec has neither `model` nor `command`.
    #[error("{}", MISSING_MODEL)]
    MissingModel,
    /// The spec has `model` but no `dataset`, and no `command`.
    #[error("{}", MISSING_DATASET)]
    MissingDataset,
    /// The spec fine-tunes a pretrained model (`model: { hf }`).
    #[error("this spec fine-tunes a pretrained model (`model: {{ hf }}`), not the built-in GPT")]
    Pretrained,
    /// The spec trains the built-in GPT (`model: { preset }`).
    #[error("this spec trains the built-in GPT (`model: {{ preset }}`), not a pretrained model")]
    BuiltinModel,
}

/// Why a spec without `model` cannot train.
pub const MISSING_MODEL: &str =
    "`model` is missing: a Train spec needs `model` and `dataset` (the built-in trainer) or `command` (your own trainer)";
/// Why a spec without `dataset` cannot train.
pub const MISSING_DATASET: &str =
    "`dataset` is missing: the built-in trainer needs `model` and `dataset`; or give `command` to train with your own program";

fn default_device() -> DeviceSpec {
    DeviceSpec::Auto
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
    /// Start from another Train run's weights (fine-tuning, with a fresh
    /// optimizer) instead of a random initialisation. The checkpoint is
    /// checked against the blake3 its run recorded, and its architecture
    /// must match this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitFrom>,
}

/// The checkpoint a Train run starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InitFrom {
    /// The source run: a run folder (relative to the manifest's folder), or
    /// a run id or unique prefix under `submission_runs/`.
    #[schemars(length(min = 1))]
    pub run: String,
    /// The checkpoint's step; default: the run's newest checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
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
    /// Generated multi-step arithmetic word problems with step-by-step
    /// traces (prices with cents, answers most-significant digit first).
    /// Kept reproducible under this name.
    DevReasoningV2,
    /// Generated integer word problems covering eval_v2's kinds, balanced
    /// over operand sizes and operators, one-step drills and 1- to 4-step
    /// problems, with GSM8K-style calculator annotations
    /// (`<<4*9=36>>`) in the trace.
    DevReasoningV3,
}

impl DatasetName {
    /// The name as written in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::DevReasoningV2 => "dev-reasoning-v2",
            DatasetName::DevReasoningV3 => "dev-reasoning-v3",
        }
    }
}

/// How generated traces write the numbers of calculator annotations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TraceFormat {
    /// The numbers themselves.
    #[default]
    Literal,
    /// `nK` for the prompt's K-th number, `rK` for the K-th result.
    References,
}

impl TraceFormat {
    fn is_default(&self) -> bool {
        *self == TraceFormat::Literal
    }
}

/// What to do with training examples whose prompt overlaps an eval set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum OverlapPolicy {
    /// Report them and train without them.
    #[default]
    Drop,
    /// Report them and refuse to train (exit 2).
    Refuse,
}

impl OverlapPolicy {
    fn is_default(&self) -> bool {
        *self == OverlapPolicy::Drop
    }
}

/// The training data: a seeded generator (`name`) and its split sizes, or
/// your own JSONL files (`path`, with `val_path` or `val_fraction`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// A built-in generator; omit it when `path` names your own data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<DatasetName>,
    /// Your own training data (JSONL, relative to the manifest's folder):
    /// one example per line, `{"prompt": ..., "completion": ...}` or
    /// `{"messages": [{"role": ..., "content": ...}, ...]}` (the last
    /// assistant turn is the completion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Your own validation data (same format as `path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_path: Option<PathBuf>,
    /// Without `val_path`: the share of `path`'s examples held out for
    /// validation (chosen by `seed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))]
    pub val_fraction: Option<f64>,
    /// Examples whose prompt overlaps an eval set are always reported;
    /// `drop` trains without them, `refuse` stops before training.
    #[serde(default, skip_serializing_if = "OverlapPolicy::is_default")]
    pub overlap: OverlapPolicy,
    /// Generator seed (the same seed gives the same examples), and the
    /// shuffle seed of your own data.
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
    /// How `dev-reasoning-v3` writes its calculator annotations:
    /// `literal` numbers (GSM8K's `<<4*9=36>>`) or `references`
    /// (`<<n1*n2=36>> <<r1-n3=29>> Answer: r2`: `nK` is the K-th number of
    /// the prompt, `rK` the K-th result), which only calculator-assisted
    /// decoding (`decoding.calculator`) evaluates and writes out as numbers.
    #[serde(default, skip_serializing_if = "TraceFormat::is_default")]
    pub trace: TraceFormat,
    /// Relative weights of easy (2-step), medium (3-step) and hard (4-step) problems.
    #[serde(default)]
    pub difficulty: DifficultyMix,
}

fn default_accumulation() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
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
    /// Sequences per forward pass on one device.
    #[schemars(range(min = 1, max = 65536))]
    pub per_device_batch_size: u32,
    /// Forward/backward passes whose gradients are summed (averaged) into
    /// one optimizer step: a step sees `per_device_batch_size ×
    /// gradient_accumulation_steps` rows with the memory of one pass.
    #[serde(default = "default_accumulation", skip_serializing_if = "is_one")]
    #[schemars(range(min = 1, max = 4096))]
    pub gradient_accumulation_steps: u32,
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
    /// Which tokens the loss is computed on: `completion` (the answer
    /// only; the prompt is context), `all` (prompt and completion) or
    /// `completion-except-calculator`. Always recorded in the run's config,
    /// with `batching`: how the run's batches were built.
    #[serde(default)]
    pub loss_on: LossOn,
    /// How examples become batch rows: `packed` (several whole examples
    /// per row of `context_length` tokens, attention never crossing an
    /// example boundary) or `padded` (one example per row, right-padded).
    /// `per_device_batch_size` counts rows either way.
    #[serde(default)]
    pub batching: Batching,
}

/// How training examples are laid out in batch rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Batching {
    /// Several examples per row, each attending only to itself, with
    /// positions counted from its own start.
    #[default]
    Packed,
    /// One example per row, right-padded to the batch's longest row.
    Padded,
}

impl Batching {
    pub fn as_str(self) -> &'static str {
        match self {
            Batching::Packed => "packed",
            Batching::Padded => "padded",
        }
    }
}

/// The tokens of an example that the training loss is computed on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LossOn {
    /// The completion and its end-of-example newline.
    #[default]
    Completion,
    /// Every token of the example.
    All,
    /// The completion, except the results of calculator annotations (the
    /// `36>>` of `<<4*9=36>>`), which `decoding.calculator` writes: the
    /// model learns which operations to write, not the arithmetic.
    CompletionExceptCalculator,
}

impl LossOn {
    pub fn as_str(self) -> &'static str {
        match self {
            LossOn::Completion => "completion",
            LossOn::All => "all",
            LossOn::CompletionExceptCalculator => "completion-except-calculator",
        }
    }
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
