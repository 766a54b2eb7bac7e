//! `GPT2LMHeadModel`'s `config.json` (`n_embd`, `n_layer`, `n_head`,
//! `n_inner`, `n_positions`, `layer_norm_epsilon`, `activation_function`)
//! read into [`Gpt2Dims`], which `crate::hf::config` turns into the fields
//! of its `HfConfig` that `crate::hf::gpt2` uses:
//! multi-head attention (as many key/value heads as query heads), an MLP
//! of `n_inner` (4·`n_embd` when null), biases everywhere, the head tied to
//! the token embedding unless `tie_word_embeddings` says otherwise, and
//! `n_positions` learned positions. What GPT-2 would compute differently
//! is refused, not ignored: activations other than `gelu_new` (GELU's tanh
//! approximation), unscaled attention (`scale_attn_weights: false`) and
//! `scale_attn_by_inverse_layer_idx`.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::error::HfError;

#[derive(Deserialize)]
struct Raw {
    vocab_size: i64,
    n_embd: i64,
    n_layer: i64,
    n_head: i64,
    n_inner: Option<i64>,
    n_positions: i64,
    layer_norm_epsilon: Option<f64>,
    activation_function: Option<String>,
    scale_attn_weights: Option<bool>,
    scale_attn_by_inverse_layer_idx: Option<bool>,
    tie_word_embeddings: Option<bool>,
}

/// GPT-2's dimensions, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpt2Dims {
    /// Tokens in the vocabulary.
    pub vocab_size: i64,
    /// `n_embd`.
    pub hidden: i64,
    /// `n_inner`, or 4·`n_embd`.
    pub inner: i64,
    /// `n_layer`.
    pub layers: i64,
    /// `n_head`.
    pub heads: i64,
    /// `n_positions`.
    pub positions: i64,
    /// `layer_norm_epsilon` (1e-5 when absent).
    pub eps: f64,
    /// Whether the head is `wte` (true unless `tie_word_embeddings` is false).
    pub tied: bool,
}

/// Read a GPT-2 `config.json` value read from `file` (named in errors).
pub fn parse(value: &Value, file: &Path) -> Result<Gpt2Dims, HfError> {
    let bad = |message: String| HfError::config(file, message);
    let raw = Raw::deserialize(value).map_err(|e| bad(format!("invalid: {e}")))?;
    let inner = raw.n_inner.unwrap_or(4 * raw.n_embd);
    for (name, v) in [
        ("vocab_size", raw.vocab_size),
        ("n_embd", raw.n_embd),
        ("n_layer", raw.n_layer),
        ("n_head", raw.n_head),
        ("n_inner", inner),
        ("n_positions", raw.n_positions),
    ] {
        if v <= 0 {
            return Err(bad(format!("{name} must be positive, got {v}")));
        }
    }
    if raw.n_embd % raw.n_head != 0 {
        return Err(bad(format!(
            "n_embd ({}) is not a multiple of n_head ({})",
            raw.n_embd, raw.n_head
        )));
    }
    match raw.activation_function.as_deref() {
        None | Some("gelu_new") | Some("gelu_pytorch_tanh") => {}
        Some(other) => {
            return Err(bad(format!(
                "unsupported activation_function `{other}` (only gelu_new)"
            )))
        }
    }
    if raw.scale_attn_weights == Some(false) {
        return Err(bad("unsupported: scale_attn_weights is false".into()));
    }
    if raw.scale_attn_by_inverse_layer_idx == Some(true) {
        return Err(bad(
            "unsupported: scale_attn_by_inverse_layer_idx is true".into()
        ));
    }
    Ok(Gpt2Dims {
        vocab_size: raw.vocab_size,
        hidden: raw.n_embd,
        inner,
        layers: raw.n_layer,
        heads: raw.n_head,
        positions: raw.n_positions,
        eps: raw.layer_norm_epsilon.unwrap_or(1e-5),
        tied: raw.tie_word_embeddings.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(extra: &str) -> Result<Gpt2Dims, HfError> {
        let text = format!(
            r#"{{"architectures": ["GPT2LMHeadModel"], "vocab_size": 320, "n_embd": 64,
            "n_layer": 2, "n_head": 4, "n_inner": null, "n_positions": 64{extra}}}"#
        );
        parse(
            &serde_json::from_str(&text).unwrap(),
            Path::new("gpt2/config.json"),
        )
    }

    #[test]
    fn gpt2_sizes_and_defaults() {
        let d = parse_with("").unwrap();
        assert_eq!((d.hidden, d.inner, d.layers, d.heads), (64, 256, 2, 4));
        assert_eq!((d.positions, d.eps, d.tied), (64, 1e-5, true));
    }

    #[test]
    fn gpt2_refusals_name_the_field() {
        for (extra, want) in [
            (
                r#", "activation_function": "relu""#,
                "activation_function `relu`",
            ),
            (r#", "scale_attn_weights": false"#, "scale_attn_weights"),
            (
                r#", "scale_attn_by_inverse_layer_idx": true"#,
                "scale_attn_by_inverse_layer_idx",
            ),
            (r#", "n_head": 5"#, "n_head"),
        ] {
            let msg = parse_with(extra).unwrap_err().to_string();
            assert!(msg.contains(want), "{msg}");
            assert!(msg.starts_with("gpt2/config.json: "), "{msg}");
        }
    }
}
