//! tunix-rt: a batch-job runner for ML experiments driven by declarative
//! YAML manifests. See docs/architecture.md for the data flow and the module map.
//!
//! This crate never loads libtorch: built-in training runs in the trainer
//! worker (`tunix-rt-worker`, the `tunix-torch` crate), a separate process
//! spoken to through [`trainer`]'s protocol.
//!
//! Nothing here prints on stdout but the CLI's commands, and they only
//! through `commands::output`, where a closed pipe is a normal end.
#![deny(clippy::print_stdout)]

pub mod cli;
// The CLI's handlers own the terminal: their notes, warnings and progress
// go to stderr (stdout only through `commands::output`).
#[allow(clippy::print_stderr)]
pub mod commands;
pub mod dataset;
pub mod determinism;
pub mod diagnostic;
pub mod doctor;
pub mod error;
pub mod evalset;
pub mod evaluate;
pub mod evidence;
pub mod exit_code;
pub mod fault;
pub mod file_kind;
pub mod fsutil;
pub mod interrupt;
pub mod job;
pub mod jsonl;
pub mod location;
pub mod manifest;
pub mod package;
pub mod predictions;
pub mod presets;
pub mod probe;
pub mod regress;
pub mod report;
pub mod report_input;
pub mod rescore;
pub mod rng;
pub mod runfolder;
pub mod runner;
pub mod schema;
pub mod schema_check;
pub mod scoring;
pub mod site;
pub mod slurm;
pub mod store;
pub mod suggest;
pub mod sweep;
#[doc(hidden)]
pub mod synthetic;
pub mod trainer;
pub mod workspace;

pub use error::{Error, ErrorKind, Result};
