//! Pretrained Hugging Face decoders, read from a local model folder and run
//! in libtorch: `config` parses `config.json` (the Llama family through one
//! config-driven decoder: `LlamaForCausalLM`, `Qwen2ForCausalLM`,
//! `MistralForCausalLM`, `GemmaForCausalLM`; `gpt2_config` reads
//! `GPT2LMHeadModel`'s into the same fields), `rope` computes RoPE's
//! frequencies (default, linear, llama3), `mask` which keys a token attends
//! to (causal, Mistral's sliding window), `weights` reads
//! `model.safetensors` or its sharded index and checks every tensor's dtype
//! and shape, `llama` is the forward pass (f32 activations), checked against
//! `transformers` by `tests/hf_reference.rs`, with a preallocated KV cache
//! for decoding (`cache`, shared by both decoders); `gpt2` and `gpt2_train` are GPT-2's forward pass and
//! training over the same pieces (Conv1D projections, LayerNorm, learned
//! positions), and `model`'s [`HfModel`] is either decoder behind one
//! interface; `tokenizer` loads `tokenizer.json` and the stop ids,
//! `generate` is batched greedy decoding with left padding, checked against
//! `transformers`' `generate` by `tests/hf_generate.rs`. Training: `linear`
//! holds a projection and its LoRA adapter, `trainable` loads a model for
//! full fine-tuning or LoRA and names and restores its trained tensors,
//! `loss` is the training forward pass over padded or packed rows, `peft`
//! writes the adapters as a `peft` adapter folder and `export` the merged
//! weights as a model folder `transformers` loads (`write` puts each file in
//! place through a temporary name); `tests/hf_train.rs` and
//! `tests/hf_lora.rs` check them against `transformers` and `peft`. Nothing
//! here touches the network; [`HfError`] names the file behind each failure.

pub mod cache;
pub mod config;
pub mod error;
pub mod export;
pub mod generate;
pub mod gpt2;
pub mod gpt2_config;
pub mod gpt2_train;
pub mod linear;
pub mod llama;
pub mod loss;
mod mask;
pub mod model;
pub mod peft;
pub mod rope;
pub mod tokenizer;
pub mod trainable;
pub mod weights;
pub mod write;

pub use cache::KvCache;
pub use config::{Activation, Architecture, HfConfig};
pub use error::HfError;
pub use generate::{generate_greedy, GenerateOptions};
pub use gpt2::Gpt2Model;
pub use llama::LlamaModel;
pub use model::HfModel;
pub use rope::{Rope, RopeScaling};
pub use tokenizer::HfTokenizer;
pub use weights::Weights;
