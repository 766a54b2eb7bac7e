//! Training the built-in GPT: batches, the learning-rate schedule, AdamW,
//! checkpoints, evaluation outputs, and the loop that serves a trainer
//! request.

pub mod batches;
pub mod checkpoint;
pub mod decode;
pub mod decode_hf;
pub mod device_batch;
pub mod model_eval;
pub mod optim;
pub mod run;
pub mod schedule;
