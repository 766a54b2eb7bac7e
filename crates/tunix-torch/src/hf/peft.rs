//! A LoRA model's adapters as a `peft` adapter folder, which
//! `peft.PeftModel.from_pretrained(base, dir)` loads over the base model:
//! `adapter_config.json` (`peft`'s `LoraConfig` fields: `LORA` for
//! `CAUSAL_LM`, rank, alpha, dropout, target modules, no bias,
//! `fan_in_fan_out` only for GPT-2's `Conv1D` weights, no rsLoRA or DoRA,
//! inference mode) and
//! `adapter_model.safetensors` (f32, `peft`'s names without the adapter
//! name: `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).

use std::path::{Path, PathBuf};

use serde_json::json;
use tch::Tensor;
use tunix_core::manifest::train::LoraConfig;

use crate::hf::error::HfError;
use crate::hf::write;

/// The adapter config's file name.
pub const ADAPTER_CONFIG: &str = "adapter_config.json";
/// The adapter weights' file name.
pub const ADAPTER_WEIGHTS: &str = "adapter_model.safetensors";

/// `peft`'s `adapter_config.json` for `lora` over `base_model`;
/// `fan_in_fan_out` when the adapted weights are stored `[in, out]`
/// (GPT-2's `Conv1D`), as `peft` records it.
pub fn adapter_config(
    lora: &LoraConfig,
    base_model: &str,
    fan_in_fan_out: bool,
) -> serde_json::Value {
    let mut targets: Vec<&str> = lora.target_modules.iter().map(|t| t.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    json!({
        "peft_type": "LORA",
        "task_type": "CAUSAL_LM",
        "base_model_name_or_path": base_model,
        "revision": null,
        "inference_mode": true,
        "r": lora.rank,
        "lora_alpha": lora.alpha,
        "lora_dropout": lora.dropout,
        "target_modules": targets,
        "exclude_modules": null,
        "bias": "none",
        "fan_in_fan_out": fan_in_fan_out,
        "use_rslora": false,
        "use_dora": false,
        "lora_bias": false,
        "modules_to_save": null,
        "init_lora_weights": true,
        "layers_to_transform": null,
        "layers_pattern": null,
        "rank_pattern": {},
        "alpha_pattern": {},
        "auto_mapping": null,
    })
}

/// A model's adapters, as [`save_adapter`] writes them.
pub(super) struct Adapter<'a> {
    /// The config they were built with (none: the model trains every weight).
    pub ours: Option<&'a LoraConfig>,
    /// The adapters by `peft`'s names.
    pub trainable: &'a [(String, Tensor)],
    /// The adapted weights are stored `[in, out]`.
    pub fan_in_fan_out: bool,
}

/// Write `adapter` into `dir` as a `peft` adapter folder (see
/// [`crate::hf::HfModel::save_peft_adapter`]).
pub(super) fn save_adapter(
    adapter: &Adapter<'_>,
    dir: &Path,
    lora: &LoraConfig,
    base_model: &str,
) -> Result<Vec<PathBuf>, HfError> {
    let Some(ours) = adapter.ours else {
        return Err(HfError::Input(
            "the model has no LoRA adapters to save (it trains every weight)".into(),
        ));
    };
    if ours != lora {
        return Err(HfError::Input(format!(
            "the adapters were built with {ours:?}, not {lora:?}"
        )));
    }
    std::fs::create_dir_all(dir).map_err(|source| HfError::Io {
        file: dir.to_path_buf(),
        source,
    })?;
    let weights = dir.join(ADAPTER_WEIGHTS);
    write::safetensors(&weights, adapter.trainable)?;
    let config = dir.join(ADAPTER_CONFIG);
    let value = adapter_config(lora, base_model, adapter.fan_in_fan_out);
    let text = serde_json::to_string_pretty(&value)
        .map_err(|e| HfError::Input(format!("adapter config: {e}")))?;
    write::bytes(&config, format!("{text}\n").as_bytes())?;
    Ok(vec![config, weights])
}
