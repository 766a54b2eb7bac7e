//! tunix-core: the formats the engine (`tunix-rt`) and the trainer worker
//! (`tunix-torch`) share, and the pure code over them — errors and
//! diagnostics, manifests as types, eval sets, predictions, the generated
//! and user datasets, scoring and statistics, the run folder's formats and
//! layout, and the trainer protocol. Nothing here opens the index, renders
//! a template, parses a command line or loads libtorch: the worker depends
//! on this crate alone.

pub mod dataset;
pub mod device;
pub mod diagnostic;
pub mod error;
pub mod evalset;
pub mod evaluate;
pub mod exit_code;
pub mod fault;
pub mod file_kind;
pub mod formats;
pub mod fsutil;
pub mod interrupt;
pub mod jsonl;
pub mod location;
pub mod manifest;
pub mod predictions;
pub mod presets;
pub mod protocol;
pub mod rng;
pub mod runfolder;
pub mod schema_check;
pub mod scoring;
pub mod shell;
pub mod suggest;
pub mod sweep;
pub mod workspace;

pub use error::{Error, ErrorKind, Result};
