//! Sweeps: many Train trials over a search space.
//!
//! Module map:
//! - [`space`]: sampling one parameter for one trial — pure, counter-based
//!   draws keyed by (sweep seed, trial index, parameter name).
//! - [`plan`]: expanding a Sweep spec and its resolved base Train spec into
//!   trials (grid × `num_samples`, trial ids, each trial's Train spec) — pure.
//! - [`asha`]: ASHA's rungs.
//! - [`halving`]: which trials continue past a rung (synchronous successive
//!   halving, deterministic ties) — pure.
//! - [`ties`]: rungs the tie rule alone decided (every metric equal, or
//!   none) — pure.
//! - [`metric`]: the sweep's metric in a trial's run folder, and the
//!   failure of a trial that never reports it.
//! - [`ledger`]: `sweep.json`, the sweep's state, read and written atomically.
//! - [`restarts`]: continuations that found no checkpoint and trained again
//!   from step 0 (the summary's and the plan's notes) — pure.
//! - [`promote`]: the best trial as a Train manifest and a parameters file.
//! - [`slots`]: GPU slots (`CUDA_VISIBLE_DEVICES` round-robin) for trials.
//! - [`diff`]: which keys differ between two plans (refusing to mix sweeps).
//!
//! Resolving the base (a Train manifest file or an inline spec) is I/O and
//! lives in [`crate::runner::sweep_plan`]; running the trials in
//! [`crate::runner::sweep_exec`].

pub mod asha;
pub mod diff;
pub mod halving;
pub mod ledger;
pub mod metric;
pub mod plan;
pub mod promote;
pub mod restarts;
pub mod slots;
pub mod space;
pub mod ties;

pub use plan::{expand, SweepPlan, TrialPlan};
