//! Sweeps: many Train trials over a search space.
//!
//! Module map (what exists today; execution is not built yet):
//! - [`space`]: sampling one parameter for one trial — pure, counter-based
//!   draws keyed by (sweep seed, trial index, parameter name).
//! - [`plan`]: expanding a Sweep spec and its resolved base Train spec into
//!   trials (grid × `num_samples`, trial ids, each trial's Train spec) — pure.
//! - [`asha`]: ASHA's rungs.
//!
//! Resolving the base (a Train manifest file or an inline spec) is I/O and
//! lives in [`crate::runner::sweep_plan`].

pub mod asha;
pub mod plan;
pub mod space;

pub use plan::{expand, SweepPlan, TrialPlan};
