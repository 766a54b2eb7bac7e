//! tunix-torch: the built-in GPT trainer of tunix-rt, the only code that
//! loads libtorch. It runs as the `tunix-rt-worker` process and speaks the
//! trainer protocol of `tunix_core::protocol`: a request file in, JSON-line
//! events out, checkpoints in the run folder.

pub mod doctor;
pub mod emit;
pub mod failure;
pub mod hf;
pub mod model;
pub mod train;
pub mod worker;
