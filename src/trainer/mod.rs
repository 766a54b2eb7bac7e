//! Trainers behind one process protocol: the coordinator tells a trainer
//! its run folder, `until_step` and resume point; the trainer reports
//! events as JSON lines (see [`protocol`]). The built-in GPT worker
//! (`tunix-rt-worker`, the only program that loads libtorch) is the first
//! implementation; a user's own training command can speak the same lines.

pub mod locate;
pub mod process;
pub mod protocol;

pub use process::{TrainerCommand, TrainerExit};
pub use protocol::{Event, FailureClass, ResumePoint, TrainerRequest};
