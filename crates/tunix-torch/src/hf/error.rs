//! Why a Hugging Face model folder cannot be loaded or run: one typed error
//! per cause, each naming the file (and, for weights, the tensor) at fault,
//! so that a message points at what to fix.

use std::path::{Path, PathBuf};

/// Shapes printed as `[64, 32]`.
fn shape(dims: &[i64]) -> String {
    let parts: Vec<String> = dims.iter().map(i64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

/// A Hugging Face model folder that cannot be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum HfError {
    /// A file that cannot be read.
    #[error("{}: cannot read: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// A `config.json` that is not valid JSON, lacks a field or holds
    /// values this loader does not support.
    #[error("{}: {message}", file.display())]
    Config {
        /// The config file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An `architectures` entry this loader does not know.
    #[error(
        "{}: unknown architecture `{found}` (supported: LlamaForCausalLM, Qwen2ForCausalLM, MistralForCausalLM, GemmaForCausalLM, GPT2LMHeadModel)",
        file.display()
    )]
    UnknownArchitecture {
        /// The config file.
        file: PathBuf,
        /// The architecture it names.
        found: String,
    },
    /// A folder with neither `model.safetensors` nor
    /// `model.safetensors.index.json`.
    #[error(
        "{}: no model.safetensors or model.safetensors.index.json",
        dir.display()
    )]
    NoWeights {
        /// The model folder.
        dir: PathBuf,
    },
    /// A shard that the index names but the folder lacks.
    #[error("{}: shard `{}` is missing", index.display(), shard.display())]
    MissingShard {
        /// The index file.
        index: PathBuf,
        /// The missing shard's path.
        shard: PathBuf,
    },
    /// A safetensors file that cannot be parsed.
    #[error("{}: invalid safetensors file: {message}", file.display())]
    Safetensors {
        /// The weights file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A tensor stored in a dtype other than F32, F16 or BF16.
    #[error(
        "{}: tensor `{name}` has dtype {dtype} (supported: F32, F16, BF16)",
        file.display()
    )]
    UnsupportedDtype {
        /// The weights file holding it.
        file: PathBuf,
        /// The tensor's name.
        name: String,
        /// Its dtype as safetensors names it.
        dtype: String,
    },
    /// A tensor the config calls for that no weights file holds.
    #[error("{}: tensor `{name}` is missing", file.display())]
    MissingTensor {
        /// The weights file (or index) searched.
        file: PathBuf,
        /// The tensor's name.
        name: String,
    },
    /// A tensor whose shape is not the one the config implies.
    #[error(
        "{}: tensor `{name}` has shape {}, but config.json implies {}",
        file.display(), shape(found), shape(expected)
    )]
    ShapeMismatch {
        /// The weights file holding it.
        file: PathBuf,
        /// The tensor's name.
        name: String,
        /// The shape the config implies.
        expected: Vec<i64>,
        /// The shape stored.
        found: Vec<i64>,
    },
    /// A tokenizer file (`tokenizer.json`, `tokenizer_config.json`,
    /// `generation_config.json`) that cannot be parsed or names unknown
    /// tokens, or text the tokenizer cannot encode or decode.
    #[error("{}: {message}", file.display())]
    Tokenizer {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A trained tensor (from a checkpoint) that is not one of the model's
    /// trained tensors.
    #[error("trained tensor `{name}` is not one of this model's trained tensors ({trained})")]
    UnknownTrained {
        /// The tensor's name.
        name: String,
        /// What the model trains: every weight, or LoRA adapters.
        trained: String,
    },
    /// A trained tensor of the model that the given tensors lack.
    #[error("trained tensor `{name}` is missing from the given tensors")]
    MissingTrained {
        /// The tensor's name.
        name: String,
    },
    /// A trained tensor whose shape is not the model's.
    #[error(
        "trained tensor `{name}` has shape {}, but the model's is {}",
        shape(found),
        shape(expected)
    )]
    TrainedShape {
        /// The tensor's name.
        name: String,
        /// The model's shape.
        expected: Vec<i64>,
        /// The given shape.
        found: Vec<i64>,
    },
    /// An output folder that already holds files.
    #[error("{}: the output folder exists and is not empty", dir.display())]
    OutputNotEmpty {
        /// The folder.
        dir: PathBuf,
    },
    /// LoRA target modules the architecture does not have.
    #[error("{model} has no {found} module to adapt (its LoRA targets: {allowed})")]
    LoraTarget {
        /// The architecture (`GPT2LMHeadModel`, `LlamaForCausalLM`, ...).
        model: String,
        /// The targets it lacks, comma-separated.
        found: String,
        /// The targets it has, comma-separated.
        allowed: String,
    },
    /// Token ids the model cannot take (wrong rank, out of the vocabulary).
    #[error("invalid input: {0}")]
    Input(String),
    /// A libtorch failure.
    #[error("libtorch: {0}")]
    Torch(#[from] tch::TchError),
}

impl HfError {
    /// A `config.json` problem: `file` and what is wrong with it.
    pub fn config(file: &Path, message: impl Into<String>) -> Self {
        HfError::Config {
            file: file.to_path_buf(),
            message: message.into(),
        }
    }
}
