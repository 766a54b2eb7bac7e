//! The built-in GPT model: byte tokenizer, the network in libtorch, device
//! choice and KV-cache greedy generation. Sizes come from the presets in
//! `tunix_core::presets`.

pub mod device;
pub mod generate;
pub mod gpt;
pub mod rng;
pub mod tokenizer;
