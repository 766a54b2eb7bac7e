//! A trained model written as a Hugging Face model folder that
//! `transformers.AutoModelForCausalLM.from_pretrained` loads:
//! `model.safetensors` with every weight by its Hugging Face name, LoRA
//! adapters merged in (`W + (alpha / r) · B A`), each tensor in the dtype
//! the base folder stored it in, tied embeddings kept tied (no
//! `lm_head.weight`); `config.json` and the tokenizer and generation files
//! copied from the base folder when present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::hf::config::CONFIG_FILE;
use crate::hf::error::HfError;
use crate::hf::linear::Linear;
use crate::hf::llama::LlamaModel;
use crate::hf::weights::{stored_kinds, WEIGHTS_FILE};
use crate::hf::write;

/// Files copied from the base folder when present (`config.json` must be).
pub const COPIED: [&str; 5] = [
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
];

impl LlamaModel {
    /// Every weight by its Hugging Face name with the adapters merged in,
    /// detached, in the dtype the model holds it.
    pub fn merged_weights(&self) -> Result<Vec<(String, Tensor)>, HfError> {
        let linears = self.layers.iter().flat_map(|l| l.linears());
        merge(linears, self.weights())
    }
}

/// `weights` (every weight by name) with the adapted ones of `linears`
/// replaced by their merged weights, detached.
pub(super) fn merge<'a>(
    linears: impl Iterator<Item = &'a Linear>,
    weights: Vec<(String, Tensor)>,
) -> Result<Vec<(String, Tensor)>, HfError> {
    let mut merged: BTreeMap<String, Tensor> = BTreeMap::new();
    for lin in linears {
        if lin.lora.is_some() {
            merged.insert(format!("{}.weight", lin.name), lin.merged_weight()?);
        }
    }
    let mut out = Vec::new();
    for (name, t) in weights {
        let t = match merged.remove(&name) {
            Some(m) => m,
            None => t.f_detach()?,
        };
        out.push((name, t));
    }
    Ok(out)
}

/// Write merged `weights` into `out_dir` as a model folder over
/// `base_dir` (see [`crate::hf::HfModel::export_merged`]).
pub(super) fn export(
    weights: &[(String, Tensor)],
    base_dir: &Path,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, HfError> {
    let kinds = stored_kinds(base_dir)?;
    let mut tensors = Vec::new();
    for (name, t) in weights {
        // A GPT-2 base saved from `GPT2Model` stores `wte.weight` for
        // `transformer.wte.weight`.
        let stored = kinds.get(name).or_else(|| {
            name.strip_prefix("transformer.")
                .and_then(|short| kinds.get(short))
        });
        let kind = stored.copied().unwrap_or(t.kind());
        tensors.push((name.clone(), t.f_to_kind(kind)?));
    }
    write::fresh_dir(out_dir)?;
    let weights = out_dir.join(WEIGHTS_FILE);
    write::safetensors(&weights, &tensors)?;
    let mut written = vec![weights];
    for name in std::iter::once(CONFIG_FILE).chain(COPIED) {
        let from = base_dir.join(name);
        if name == CONFIG_FILE || from.is_file() {
            let to = out_dir.join(name);
            write::copy(&from, &to)?;
            written.push(to);
        }
    }
    Ok(written)
}
