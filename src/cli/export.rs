//! `tunix-rt export`'s arguments.

use std::path::PathBuf;

use clap::Args;

use super::Format;

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The run to export, `RUN[@STEP]`: its folder, or its run id (or a
    /// unique prefix of one) under submission_runs/; `@STEP` picks a
    /// checkpoint (default: the newest).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Write a Hugging Face model folder here (config.json,
    /// model.safetensors with any LoRA adapters merged in, the tokenizer
    /// files), loadable with transformers' `from_pretrained`. The folder
    /// must not exist yet.
    #[arg(long, value_name = "DIR")]
    pub hf: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}
