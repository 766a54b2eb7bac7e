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

pub mod determinism;
pub mod doctor;
pub mod evidence;
pub mod job;
pub mod manifest;
pub mod package;
pub mod probe;
pub mod regress;
pub mod report;
pub mod report_input;
pub mod rescore;
pub mod runner;
pub mod schema;
pub mod site;
pub mod slurm;
pub mod store;
pub mod sweep;
pub mod trainer;

pub use tunix_core::{Error, ErrorKind, Result};

// The shared formats and pure code, from the core crate, at the paths the
// engine has always used.
pub use tunix_core::{
    dataset, device, diagnostic, error, evalset, evaluate, exit_code, fault, file_kind, fsutil,
    interrupt, jsonl, location, predictions, presets, rng, runfolder, schema_check, scoring,
    suggest, workspace,
};
