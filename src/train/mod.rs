//! Training the built-in GPT: the generated data set and its
//! decontamination, batches, the learning-rate schedule, AdamW,
//! checkpoints, and the job that ties them to a run folder.

pub mod batches;
pub mod checkpoint;
pub mod data;
pub mod decontam;
pub mod job;
pub mod model_eval;
pub mod optim;
pub mod schedule;
