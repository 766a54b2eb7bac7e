//! tunix-rt: a batch-job runner for ML experiments driven by declarative
//! YAML manifests. See docs/architecture.md for the data flow and the module map.
//!
//! This crate never loads libtorch: built-in training runs in the trainer
//! worker (`tunix-rt-worker`, the `tunix-torch` crate), a separate process
//! spoken to through [`trainer`]'s protocol.
//!
//! The library never prints (the workspace lints deny `print_stdout`,
//! `print_stderr` and `exit`): the command line (clap types and command
//! handlers) lives in the `tunix-rt` binary (`src/main.rs`, `src/cli.rs`,
//! `src/commands/`), which owns the terminal.

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
