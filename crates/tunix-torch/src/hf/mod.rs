//! Pretrained Hugging Face decoders, read from a local model folder and run
//! in libtorch: `config` parses `config.json` (the Llama family:
//! `LlamaForCausalLM`, `Qwen2ForCausalLM`), `weights` reads
//! `model.safetensors` or its sharded index and checks every tensor's dtype
//! and shape, `llama` is the forward pass in f32, checked against
//! `transformers` by `tests/hf_reference.rs`, with a preallocated KV cache
//! for decoding; `tokenizer` loads `tokenizer.json` and the stop ids,
//! `generate` is batched greedy decoding with left padding, checked against
//! `transformers`' `generate` by `tests/hf_generate.rs`. Nothing here
//! touches the network; [`HfError`] names the file behind each failure.

pub mod config;
pub mod error;
pub mod generate;
pub mod llama;
pub mod tokenizer;
pub mod weights;

pub use config::{Architecture, HfConfig};
pub use error::HfError;
pub use generate::{generate_greedy, GenerateOptions};
pub use llama::{KvCache, LlamaModel};
pub use tokenizer::HfTokenizer;
pub use weights::Weights;
