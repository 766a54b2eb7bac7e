//! tunix-rt: a batch-job runner for ML experiments driven by declarative
//! YAML manifests. See DESIGN.md for the data flow and the module map.

pub mod cli;
pub mod commands;
pub mod diagnostic;
pub mod doctor;
pub mod error;
pub mod evalset;
pub mod evaluate;
pub mod fsutil;
pub mod jsonl;
pub mod location;
pub mod manifest;
pub mod model;
pub mod predictions;
pub mod presets;
pub mod progress;
pub mod report;
pub mod report_input;
pub mod runfolder;
pub mod runner;
pub mod schema;
pub mod schema_check;
pub mod scoring;
pub mod store;
pub mod suggest;
pub mod synthetic;
pub mod train;
pub mod workspace;

pub use error::{Error, ErrorKind, Result};
