//! The built-in GPT presets and their sizes: the `ModelPreset` names a
//! manifest may use, the architecture each stands for, and its parameter
//! count. Pure data; knows nothing about manifests or torch.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The byte-level tokenizer's vocabulary: 256 byte values.
pub const VOCAB_SIZE: u32 = 256;

/// Built-in GPT sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ModelPreset {
    /// 2 layers × 128 wide, 4 heads, context 128 (~0.4M parameters): CPU smoke tests.
    GptNano,
    /// 4 layers × 256 wide, 4 heads, context 256 (~3M parameters): CPU quickstart.
    GptMicro,
    /// 6 layers × 384 wide, 6 heads, context 256 (~10M parameters).
    #[serde(rename = "gpt-10m")]
    Gpt10m,
    /// 12 layers × 768 wide, 12 heads, context 1024 (~100M parameters): GPU.
    #[serde(rename = "gpt-100m")]
    Gpt100m,
}

/// Resolved architecture sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelDims {
    pub n_layer: u32,
    pub n_head: u32,
    pub n_embd: u32,
    pub context_length: u32,
    pub vocab_size: u32,
}

impl ModelDims {
    /// The preset's sizes.
    pub fn preset(preset: ModelPreset) -> Self {
        let (n_layer, n_head, n_embd, context_length) = match preset {
            ModelPreset::GptNano => (2, 4, 128, 128),
            ModelPreset::GptMicro => (4, 4, 256, 256),
            ModelPreset::Gpt10m => (6, 6, 384, 256),
            ModelPreset::Gpt100m => (12, 12, 768, 1024),
        };
        ModelDims {
            n_layer,
            n_head,
            n_embd,
            context_length,
            vocab_size: VOCAB_SIZE,
        }
    }

    /// Trainable parameters: embeddings, blocks (attention + 4× MLP + two
    /// LayerNorms) and the final LayerNorm; the output head is tied to the
    /// token embedding.
    pub fn parameter_count(&self) -> u64 {
        let d = u64::from(self.n_embd);
        let per_block = 4 * d * d + 4 * d + 8 * d * d + 5 * d + 4 * d;
        u64::from(self.vocab_size) * d
            + u64::from(self.context_length) * d
            + u64::from(self.n_layer) * per_block
            + 2 * d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_named_as_documented() {
        let name = |p| serde_json::to_value(p).expect("serializes");
        assert_eq!(name(ModelPreset::GptNano), "gpt-nano");
        assert_eq!(name(ModelPreset::GptMicro), "gpt-micro");
        assert_eq!(name(ModelPreset::Gpt10m), "gpt-10m");
        assert_eq!(name(ModelPreset::Gpt100m), "gpt-100m");
    }

    #[test]
    fn presets_have_the_advertised_sizes() {
        let m = |p| ModelDims::preset(p).parameter_count() as f64 / 1e6;
        assert!(
            (0.3..0.6).contains(&m(ModelPreset::GptNano)),
            "{}",
            m(ModelPreset::GptNano)
        );
        assert!((2.5..4.0).contains(&m(ModelPreset::GptMicro)));
        assert!((9.0..12.0).contains(&m(ModelPreset::Gpt10m)));
        assert!((80.0..110.0).contains(&m(ModelPreset::Gpt100m)));
    }
}
