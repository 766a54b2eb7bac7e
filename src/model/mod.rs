//! The built-in GPT model: sizes, byte tokenizer, the network in libtorch,
//! device choice and KV-cache greedy generation.

pub mod device;
pub mod dims;
pub mod generate;
pub mod gpt;
pub mod tokenizer;
