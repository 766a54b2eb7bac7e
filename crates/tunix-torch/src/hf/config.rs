//! A Hugging Face model folder's `config.json`, read into the dimensions and
//! options of the one Llama-family decoder: sizes, heads and key/value heads
//! (grouped-query attention), RMSNorm epsilon, RoPE (`crate::hf::rope`), tied
//! embeddings, which projections carry biases, and what the family computes
//! differently: Mistral's sliding window, Gemma's `1 + weight` RMSNorm,
//! `sqrt(hidden_size)` embedding scale and tanh-approximated GELU. Known:
//! `LlamaForCausalLM`, `Qwen2ForCausalLM`, `MistralForCausalLM`,
//! `GemmaForCausalLM` (and `GPT2LMHeadModel`, whose `config.json` is read
//! into the same fields by `crate::hf::gpt2_config`); anything this decoder would compute differently
//! (Qwen2's sliding window, other activations, bidirectional attention,
//! other RoPE types) is refused, not ignored.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::hf::error::HfError;
use crate::hf::gpt2_config;
use crate::hf::rope::{self, Rope, RopeScaling};

/// The config file's name in a model folder.
pub const CONFIG_FILE: &str = "config.json";

/// The decoder families this loader knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Architecture {
    /// `LlamaForCausalLM`: biases only where `attention_bias` / `mlp_bias` say.
    Llama,
    /// `Qwen2ForCausalLM`: biases on the q, k and v projections.
    Qwen2,
    /// `MistralForCausalLM`: Llama without biases, attention within a
    /// sliding window when `sliding_window` is set (4096 when absent).
    Mistral,
    /// `GemmaForCausalLM` (Gemma 1): RMSNorm scaled by `1 + weight`, the
    /// embedding output times `sqrt(hidden_size)`, tanh-GELU gating.
    Gemma,
    /// `GPT2LMHeadModel`: its own decoder (`crate::hf::gpt2`), read by
    /// `crate::hf::gpt2_config` into the same fields.
    Gpt2,
}

/// The MLP's gate activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `silu` (SwiGLU).
    Silu,
    /// `gelu_pytorch_tanh` (GeGLU, GELU's tanh approximation).
    GeluTanh,
}

impl Architecture {
    /// The architecture for an `architectures` entry, if known.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "LlamaForCausalLM" => Some(Self::Llama),
            "Qwen2ForCausalLM" => Some(Self::Qwen2),
            "MistralForCausalLM" => Some(Self::Mistral),
            "GemmaForCausalLM" => Some(Self::Gemma),
            "GPT2LMHeadModel" => Some(Self::Gpt2),
            _ => None,
        }
    }

    /// The `architectures` name `transformers` gives it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Llama => "LlamaForCausalLM",
            Self::Qwen2 => "Qwen2ForCausalLM",
            Self::Mistral => "MistralForCausalLM",
            Self::Gemma => "GemmaForCausalLM",
            Self::Gpt2 => "GPT2LMHeadModel",
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
    /// RMSNorm epsilon (LayerNorm's for GPT-2).
    pub rms_norm_eps: f64,
    /// RoPE base.
    pub rope_theta: f64,
    /// RoPE's frequency scaling.
    pub rope_scaling: RopeScaling,
    /// Each token attends to itself and the `window - 1` tokens before it
    /// only (Mistral), when set.
    pub sliding_window: Option<i64>,
    /// The MLP's gate activation.
    pub activation: Activation,
    /// RMSNorm scales by `1 + weight` (Gemma), not `weight`.
    pub norm_offset: bool,
    /// The embedding output is multiplied by `sqrt(hidden_size)` (Gemma).
    pub scale_embedding: bool,
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
    vocab_size: i64,
    hidden_size: i64,
    intermediate_size: i64,
    num_hidden_layers: i64,
    num_attention_heads: i64,
    num_key_value_heads: Option<i64>,
    head_dim: Option<i64>,
    rms_norm_eps: Option<f64>,
    tie_word_embeddings: Option<bool>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    hidden_act: Option<String>,
    hidden_activation: Option<String>,
    use_sliding_window: Option<bool>,
    use_bidirectional_attention: Option<bool>,
    max_position_embeddings: Option<i64>,
}

impl HfConfig {
    /// GPT-2's dimensions in these fields: as many key/value heads as
    /// query heads, LayerNorm's epsilon, tanh-GELU, biases everywhere, no
    /// RoPE (its positions are learned).
    fn gpt2(d: gpt2_config::Gpt2Dims) -> Self {
        Self {
            architecture: Architecture::Gpt2,
            vocab_size: d.vocab_size,
            hidden_size: d.hidden,
            intermediate_size: d.inner,
            num_hidden_layers: d.layers,
            num_attention_heads: d.heads,
            num_key_value_heads: d.heads,
            head_dim: d.hidden / d.heads,
            rms_norm_eps: d.eps,
            rope_theta: 10000.0,
            rope_scaling: RopeScaling::None,
            sliding_window: None,
            activation: Activation::GeluTanh,
            norm_offset: false,
            scale_embedding: false,
            tie_word_embeddings: d.tied,
            qkv_bias: true,
            o_bias: true,
            mlp_bias: true,
            max_position_embeddings: Some(d.positions),
        }
    }

    /// RoPE's base and scaling.
    pub fn rope(&self) -> Rope {
        Rope {
            theta: self.rope_theta,
            scaling: self.rope_scaling.clone(),
        }
    }

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
        let value: Value = serde_json::from_str(text).map_err(|e| bad(format!("invalid: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(bad("invalid: not a JSON object".into()));
        };
        let first = object
            .get("architectures")
            .and_then(Value::as_array)
            .and_then(|names| names.first());
        let Some(first) = first else {
            return Err(bad("no `architectures` entry".into()));
        };
        let first = first.as_str().unwrap_or_default();
        let architecture =
            Architecture::from_name(first).ok_or_else(|| HfError::UnknownArchitecture {
                file: file.to_path_buf(),
                found: first.to_string(),
            })?;
        if architecture == Architecture::Gpt2 {
            return gpt2_config::parse(&value, file).map(Self::gpt2);
        }
        let raw = Raw::deserialize(&value).map_err(|e| bad(format!("invalid: {e}")))?;
        let activation = activation(architecture, &raw, file)?;
        let sliding_window = sliding_window(architecture, object, &raw, file)?;
        if raw.use_bidirectional_attention == Some(true) {
            return Err(bad(
                "unsupported: use_bidirectional_attention is true".into()
            ));
        }
        let rope = rope::parse(object, file)?;
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
            Architecture::Mistral => (false, false, false),
            Architecture::Gemma => (attention_bias, attention_bias, false),
            Architecture::Gpt2 => (true, true, true),
        };
        let gemma = architecture == Architecture::Gemma;
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
            rope_theta: rope.theta,
            rope_scaling: rope.scaling,
            sliding_window,
            activation,
            norm_offset: gemma,
            scale_embedding: gemma,
            tie_word_embeddings: raw.tie_word_embeddings.unwrap_or(gemma),
            qkv_bias,
            o_bias,
            mlp_bias,
            max_position_embeddings: raw.max_position_embeddings.filter(|&n| n > 0),
        })
    }
}

/// The gate activation: SiLU, or for Gemma GELU's tanh approximation
/// (`hidden_activation`, else `hidden_act`; Gemma's legacy `gelu` means the
/// tanh approximation, as transformers reads it).
fn activation(architecture: Architecture, raw: &Raw, file: &Path) -> Result<Activation, HfError> {
    if architecture == Architecture::Gemma {
        let act = raw
            .hidden_activation
            .as_deref()
            .or(raw.hidden_act.as_deref())
            .unwrap_or("gelu_pytorch_tanh");
        return match act {
            "gelu_pytorch_tanh" | "gelu" => Ok(Activation::GeluTanh),
            other => Err(HfError::config(
                file,
                format!("unsupported Gemma activation `{other}` (only gelu_pytorch_tanh)"),
            )),
        };
    }
    match raw.hidden_act.as_deref() {
        None | Some("silu") => Ok(Activation::Silu),
        Some(other) => Err(HfError::config(
            file,
            format!("unsupported hidden_act `{other}` (only silu)"),
        )),
    }
}

/// Mistral's attention window: `sliding_window` (transformers' default 4096
/// when the key is absent, none when null); other families have none and
/// Qwen2's `use_sliding_window: true` is refused.
fn sliding_window(
    architecture: Architecture,
    object: &serde_json::Map<String, Value>,
    raw: &Raw,
    file: &Path,
) -> Result<Option<i64>, HfError> {
    if raw.use_sliding_window == Some(true) {
        return Err(HfError::config(
            file,
            "unsupported: use_sliding_window is true",
        ));
    }
    if architecture != Architecture::Mistral {
        return Ok(None);
    }
    match object.get("sliding_window") {
        None => Ok(Some(4096)),
        Some(Value::Null) => Ok(None),
        Some(v) => match v.as_i64() {
            Some(n) if n > 0 => Ok(Some(n)),
            _ => Err(HfError::config(
                file,
                format!("sliding_window must be a positive integer, got {v}"),
            )),
        },
    }
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
            r#"{{"architectures": ["OPTForCausalLM"], {BASE}}}"#
        ));
        let msg = unknown.unwrap_err().to_string();
        assert!(
            msg.contains("m/config.json") && msg.contains("OPTForCausalLM"),
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
        for (extra, want) in [
            (
                r#""architectures": ["Qwen2ForCausalLM"], "use_sliding_window": true"#,
                "use_sliding_window",
            ),
            (
                r#""architectures": ["LlamaForCausalLM"], "hidden_act": "gelu""#,
                "hidden_act `gelu`",
            ),
            (
                r#""architectures": ["GemmaForCausalLM"], "hidden_act": "relu""#,
                "relu",
            ),
            (
                r#""architectures": ["GemmaForCausalLM"], "use_bidirectional_attention": true"#,
                "bidirectional",
            ),
            (
                r#""architectures": ["MistralForCausalLM"], "sliding_window": 0"#,
                "sliding_window",
            ),
        ] {
            let msg = parse(&format!("{{{extra}, {BASE}}}"))
                .unwrap_err()
                .to_string();
            assert!(msg.contains(want), "{msg}");
        }
    }

    #[test]
    fn mistral_window_and_llama3_rope() {
        let c = parse(&format!(
            r#"{{"architectures": ["MistralForCausalLM"], {BASE}, "sliding_window": 8, "attention_bias": true,
            "rope_scaling": {{"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 32}}, "rope_theta": 5e5}}"#
        ))
        .unwrap();
        assert_eq!(
            (c.architecture, c.sliding_window),
            (Architecture::Mistral, Some(8))
        );
        assert!(!c.qkv_bias && !c.o_bias && !c.norm_offset && !c.tie_word_embeddings);
        assert_eq!(c.rope_theta, 5e5);
        assert!(matches!(
            c.rope_scaling,
            RopeScaling::Llama3 { factor: 8.0, .. }
        ));
        let absent = parse(&format!(
            r#"{{"architectures": ["MistralForCausalLM"], {BASE}}}"#
        ));
        assert_eq!(absent.unwrap().sliding_window, Some(4096));
        let null = parse(&format!(
            r#"{{"architectures": ["MistralForCausalLM"], {BASE}, "sliding_window": null}}"#
        ));
        assert_eq!(null.unwrap().sliding_window, None);
        let llama = parse(&format!(
            r#"{{"architectures": ["LlamaForCausalLM"], {BASE}, "sliding_window": 8}}"#
        ));
        assert_eq!(llama.unwrap().sliding_window, None);
    }

    #[test]
    fn gemma_offset_norm_scaled_embedding_gelu_and_its_own_head_dim() {
        let c = parse(&format!(
            r#"{{"architectures": ["GemmaForCausalLM"], {BASE}, "head_dim": 32,
            "num_key_value_heads": 1, "hidden_act": "gelu", "hidden_activation": null}}"#
        ))
        .unwrap();
        assert_eq!(c.architecture, Architecture::Gemma);
        assert_eq!((c.head_dim, c.num_key_value_heads), (32, 1));
        assert_eq!(c.activation, Activation::GeluTanh);
        assert!(c.norm_offset && c.scale_embedding && c.tie_word_embeddings);
        assert_eq!(c.sliding_window, None);
    }
}
