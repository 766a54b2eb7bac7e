//! The record formats besides the run folder's that several layers read
//! and write: the baseline lock, the scoring rules it pins, and a sweep's
//! best parameters. Types, their generated schemas and pure functions over
//! them; where the files live and how they are loaded with positions is
//! the engine's.

pub mod baseline_lock;
pub mod best_params;
pub mod scoring_rules;
