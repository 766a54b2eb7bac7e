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
//! - [`ledger`]: `sweep.json`, the sweep's state, read and written atomically.
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
pub mod plan;
pub mod promote;
pub mod slots;
pub mod space;

pub use plan::{expand, SweepPlan, TrialPlan};
