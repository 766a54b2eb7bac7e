//! Training: examples encoded for the model and batched, the
//! learning-rate schedule, AdamW with gradient accumulation, checkpoints,
//! evaluation outputs, and the loop that serves a trainer request, written
//! once over a [`trainee::Trainee`] (the built-in GPT today).

pub mod batches;
pub mod checkpoint;
pub mod decode;
pub mod decode_hf;
pub mod device_batch;
pub mod encode;
pub mod fine_tuned;
pub mod gpt_trainee;
pub mod hf_trainee;
pub mod model_eval;
pub mod optim;
pub mod prepare;
pub mod run;
pub mod schedule;
pub mod step;
pub mod token_store;
pub mod train_loop;
pub mod trainee;
