//! Pretrained Hugging Face decoders, read from a local model folder and run
//! in libtorch: `config` parses `config.json` (the Llama family:
//! `LlamaForCausalLM`, `Qwen2ForCausalLM`), `weights` reads
//! `model.safetensors` or its sharded index and checks every tensor's dtype
//! and shape, `llama` is the forward pass in f32, checked against
//! `transformers` by `tests/hf_reference.rs`. Nothing here touches the
//! network; [`HfError`] names the file behind each failure.

pub mod config;
pub mod error;
pub mod llama;
pub mod weights;

pub use config::{Architecture, HfConfig};
pub use error::HfError;
pub use llama::LlamaModel;
pub use weights::Weights;
