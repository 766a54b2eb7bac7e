//! Trainers behind one process protocol: the coordinator tells a trainer
//! its run folder, `until_step` and resume point; the trainer reports
//! events as JSON lines (see [`protocol`]). The built-in GPT worker
//! (`tunix-rt-worker`, the only program that loads libtorch) is the first
//! implementation; a program that speaks these lines is a trainer too, and
//! a Train spec's own `command` (which needs no protocol code) runs behind
//! the [`command`] shim.

pub mod command;
pub mod locate;
pub mod process;
pub use tunix_core::protocol;

pub use process::{TrainerCommand, TrainerExit};
pub use protocol::{Event, FailureClass, InitPoint, ResumePoint, TrainerRequest};
