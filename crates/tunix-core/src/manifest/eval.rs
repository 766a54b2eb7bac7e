//! The `Eval` kind: score a model's outputs on an eval set.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Decoding, Output};
use crate::device::DeviceSpec;
use crate::scoring::normalize::{AnswerExtraction, Equivalence};

/// What an Eval job does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalSpec {
    /// Eval set (JSONL), relative to this manifest's folder.
    pub evalset: PathBuf,
    /// Where the outputs come from.
    pub model: ModelSource,
    #[serde(default)]
    pub answer_extraction: AnswerExtraction,
    #[serde(default)]
    pub equivalence: Equivalence,
    /// Generation settings (for a checkpoint or hf source).
    #[serde(default)]
    pub decoding: Decoding,
    /// Where a checkpoint or hf model decodes: `auto` (CUDA when
    /// available, else CPU), `cpu`, `cuda` or `cuda:N`. Not part of the
    /// run's identity.
    #[serde(default, skip_serializing_if = "DeviceSpec::is_auto")]
    #[schemars(regex(pattern = r"^(auto|cpu|cuda(:[0-9]+)?)$"))]
    pub device: DeviceSpec,
    #[serde(default)]
    pub output: Output,
}

/// The model whose outputs are scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ModelSource {
    /// A predictions JSONL produced by any model, one
    /// `{"id": ..., "output": ...}` per line.
    Predictions(PathBuf),
    /// A checkpoint of a run made by this tool.
    Checkpoint(CheckpointRef),
    /// A Hugging Face model folder written by `transformers`
    /// (`save_pretrained`): config.json, tokenizer.json and
    /// model.safetensors (or model.safetensors.index.json and its shards),
    /// relative to this manifest's folder. Decoded zero-shot with
    /// `decoding`.
    Hf(PathBuf),
}

/// A run folder and, optionally, which checkpoint step in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRef {
    /// The run folder, relative to this manifest's folder.
    pub run: PathBuf,
    /// Checkpoint step; default: the run's final checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<u32>,
}
