//! A Hugging Face model folder's `config.json`, read into the dimensions the
//! Llama-family decoder needs: sizes, heads and key/value heads (grouped-query
//! attention), RMSNorm epsilon, RoPE base, tied embeddings and which
//! projections carry biases. Only `LlamaForCausalLM` and `Qwen2ForCausalLM`
//! are known; anything this decoder would compute differently (RoPE scaling,
//! sliding windows, activations other than SiLU) is refused, not ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use crate::hf::error::HfError;

/// The config file's name in a model folder.
pub const CONFIG_FILE: &str = "config.json";

/// The decoder families this loader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `LlamaForCausalLM`: biases only where `attention_bias` / `mlp_bias` say.
    Llama,
    /// `Qwen2ForCausalLM`: biases on the q, k and v projections.
    Qwen2,
}

impl Architecture {
    /// The architecture for an `architectures` entry, if known.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "LlamaForCausalLM" => Some(Self::Llama),
            "Qwen2ForCausalLM" => Some(Self::Qwen2),
            _ => None,
        }
    }
}

/// The dimensions and options of a Llama-family decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct HfConfig {
    /// Which family.
    pub architecture: Architecture,
    /// Tokens in the vocabulary.
    pub vocab_size: i64,
    /// Width of the residual stream.
    pub hidden_size: i64,
    /// Width of the MLP's hidden layer.
    pub intermediate_size: i64,
    /// Decoder layers.
    pub num_hidden_layers: i64,
    /// Query heads.
    pub num_attention_heads: i64,
    /// Key/value heads (fewer than query heads under grouped-query attention).
    pub num_key_value_heads: i64,
    /// Width of one head.
    pub head_dim: i64,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// Whether the output head is the token embedding.
    pub tie_word_embeddings: bool,
    /// Biases on the q, k and v projections.
    pub qkv_bias: bool,
    /// A bias on the output projection.
    pub o_bias: bool,
    /// Biases on the MLP's gate, up and down projections.
    pub mlp_bias: bool,
    /// The longest sequence the model was trained for, when the config
    /// says.
    pub max_position_embeddings: Option<i64>,
}

#[derive(Deserialize)]
struct Raw {
    architectures: Option<Vec<String>>,
    vocab_size: i64,
    hidden_size: i64,
    intermediate_size: i64,
    num_hidden_layers: i64,
    num_attention_heads: i64,
    num_key_value_heads: Option<i64>,
    head_dim: Option<i64>,
    rms_norm_eps: Option<f64>,
    rope_theta: Option<f64>,
    rope_scaling: Option<Value>,
    rope_parameters: Option<Value>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    hidden_act: Option<String>,
    use_sliding_window: Option<bool>,
    max_position_embeddings: Option<i64>,
}

impl HfConfig {
    /// Read `config.json` from a model folder.
    pub fn load(dir: &Path) -> Result<Self, HfError> {
        let file = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&file).map_err(|source| HfError::Io {
            file: file.clone(),
            source,
        })?;
        Self::parse(&text, &file)
    }

    /// Parse the text of `file` (named in errors).
    pub fn parse(text: &str, file: &Path) -> Result<Self, HfError> {
        let bad = |message: String| HfError::Config {
            file: file.to_path_buf(),
            message,
        };
        let raw: Raw = serde_json::from_str(text).map_err(|e| bad(format!("invalid: {e}")))?;
        let names = raw.architectures.as_deref().unwrap_or_default();
        let Some(first) = names.first() else {
            return Err(bad("no `architectures` entry".into()));
        };
        let architecture =
            Architecture::from_name(first).ok_or_else(|| HfError::UnknownArchitecture {
                file: file.to_path_buf(),
                found: first.to_string(),
            })?;
        if let Some(act) = raw.hidden_act.as_deref().filter(|a| *a != "silu") {
            return Err(bad(format!("unsupported hidden_act `{act}` (only silu)")));
        }
        if raw.use_sliding_window == Some(true) {
            return Err(bad("unsupported: use_sliding_window is true".into()));
        }
        let rope_theta = rope_theta(&raw, file)?;
        let heads = raw.num_attention_heads;
        let kv_heads = raw.num_key_value_heads.unwrap_or(heads);
        for (name, v) in [
            ("vocab_size", raw.vocab_size),
            ("hidden_size", raw.hidden_size),
            ("intermediate_size", raw.intermediate_size),
            ("num_hidden_layers", raw.num_hidden_layers),
            ("num_attention_heads", heads),
            ("num_key_value_heads", kv_heads),
        ] {
            if v <= 0 {
                return Err(bad(format!("{name} must be positive, got {v}")));
            }
        }
        if heads % kv_heads != 0 {
            return Err(bad(format!(
                "num_attention_heads ({heads}) is not a multiple of num_key_value_heads ({kv_heads})"
            )));
        }
        let head_dim = match raw.head_dim {
            Some(d) if d > 0 => d,
            Some(d) => return Err(bad(format!("head_dim must be positive, got {d}"))),
            None if raw.hidden_size % heads == 0 => raw.hidden_size / heads,
            None => {
                return Err(bad(format!(
                    "hidden_size ({}) is not a multiple of num_attention_heads ({heads})",
                    raw.hidden_size
                )))
            }
        };
        if head_dim % 2 != 0 {
            return Err(bad(format!("head_dim ({head_dim}) must be even for RoPE")));
        }
        let attention_bias = raw.attention_bias.unwrap_or(false);
        let (qkv_bias, o_bias, mlp_bias) = match architecture {
            Architecture::Llama => (
                attention_bias,
                attention_bias,
                raw.mlp_bias.unwrap_or(false),
            ),
            Architecture::Qwen2 => (true, false, false),
        };
        Ok(Self {
            architecture,
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: heads,
            num_key_value_heads: kv_heads,
            head_dim,
            rms_norm_eps: raw.rms_norm_eps.unwrap_or(1e-6),
            rope_theta,
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(false),
            qkv_bias,
            o_bias,
            mlp_bias,
            max_position_embeddings: raw.max_position_embeddings.filter(|&n| n > 0),
        })
    }
}

/// The RoPE base, from `rope_theta` or (newer `transformers`)
/// `rope_parameters.rope_theta`; RoPE scaling other than `default` is refused.
fn rope_theta(raw: &Raw, file: &Path) -> Result<f64, HfError> {
    let bad = |message: String| HfError::Config {
        file: PathBuf::from(file),
        message,
    };
    for (key, value) in [
        ("rope_scaling", &raw.rope_scaling),
        ("rope_parameters", &raw.rope_parameters),
    ] {
        let Some(value) = value.as_ref().filter(|v| !v.is_null()) else {
            continue;
        };
        let kind = value
            .get("rope_type")
            .or_else(|| value.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("default");
        if kind != "default" {
            return Err(bad(format!("unsupported {key}: rope_type `{kind}`")));
        }
    }
    let nested = raw
        .rope_parameters
        .as_ref()
        .and_then(|p| p.get("rope_theta"))
        .and_then(Value::as_f64);
    Ok(raw.rope_theta.or(nested).unwrap_or(10000.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<HfConfig, HfError> {
        HfConfig::parse(text, Path::new("m/config.json"))
    }

    const BASE: &str = r#""vocab_size": 256, "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 4"#;

    #[test]
    fn llama_defaults_and_gqa() {
        let c = parse(&format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "num_key_value_heads": 2,
            "rope_theta": 500000.0, "rms_norm_eps": 1e-5, "rope_scaling": null}}"#
        ))
        .unwrap();
        assert_eq!(c.architecture, Architecture::Llama);
        assert_eq!((c.num_key_value_heads, c.head_dim), (2, 16));
        assert_eq!((c.rope_theta, c.rms_norm_eps), (500000.0, 1e-5));
        assert!(!c.tie_word_embeddings && !c.qkv_bias && !c.o_bias && !c.mlp_bias);
    }

    #[test]
    fn qwen2_has_qkv_biases_and_nested_rope_theta() {
        let c = parse(&format!(
            r#"{{"architectures": ["Qwen2ForCausalLM"], {BASE}, "tie_word_embeddings": true,
            "rope_parameters": {{"rope_type": "default", "rope_theta": 1000000.0}}}}"#
        ))
        .unwrap();
        assert_eq!(c.architecture, Architecture::Qwen2);
        assert!(c.qkv_bias && !c.o_bias && c.tie_word_embeddings);
        assert_eq!((c.num_key_value_heads, c.rope_theta), (4, 1e6));
    }

    #[test]
    fn refusals_name_the_file() {
        let unknown = parse(&format!(
            r#"{{"architectures": ["GPT2LMHeadModel"], {BASE}}}"#
        ));
        let msg = unknown.unwrap_err().to_string();
        assert!(
            msg.contains("m/config.json") && msg.contains("GPT2LMHeadModel"),
            "{msg}"
        );
        let scaled = parse(&format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "rope_scaling": {{"rope_type": "llama3"}}}}"#
        ));
        assert!(scaled.unwrap_err().to_string().contains("llama3"));
        let gqa = parse(&format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "num_key_value_heads": 3}}"#
        ));
        assert!(gqa.unwrap_err().to_string().contains("num_key_value_heads"));
        let missing = parse(r#"{"architectures": ["LlamaForCausalLM"]}"#);
        assert!(matches!(missing, Err(HfError::Config { .. })));
    }
}
