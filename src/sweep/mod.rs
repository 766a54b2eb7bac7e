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
//! - [`hyperband`]: Hyperband's brackets (successive halving from several
//!   starting budgets) and which trial is in which — pure.
//! - [`decide`]: a rung decided within a bracket, and the best trial
//!   picked, as changes of the ledger — pure.
//! - [`ties`]: rungs the tie rule alone decided (every metric equal, or
//!   none) — pure.
//! - [`metric`]: the sweep's metric in a trial's run folder, and the
//!   failure of a trial that never reports it.
//! - [`ledger`]: `sweep.json`, the sweep's state, read and written atomically.
//! - [`restarts`]: continuations that found no checkpoint and trained again
//!   from step 0 (the summary's and the plan's notes) — pure.
//! - [`promote`]: the best trial as a Train manifest and a parameters file.
//! - [`tpe`]: the Tree-structured Parzen Estimator (Optuna's TPESampler) — pure.
//! - [`tpe_draw`]: which trials of a TPE sweep are drawn next, from which
//!   results, with what values — pure.
//! - [`slots`]: GPU slots (`CUDA_VISIBLE_DEVICES` round-robin) for trials.
//! - [`diff`]: which keys differ between two plans (refusing to mix sweeps).
//! - [`optuna`]: the ledger as an Optuna journal (`sweep export
//!   --optuna-journal`) — pure.
//!
//! Resolving the base (a Train manifest file or an inline spec) is I/O and
//! lives in [`crate::runner::sweep_plan`]; running the trials in
//! [`crate::runner::coordinator`].

pub mod asha;
pub mod decide;
pub mod diff;
pub use tunix_core::sweep::halving;
pub mod hyperband;
pub use tunix_core::sweep::ledger;
pub mod metric;
pub mod optuna;
pub mod plan;
pub mod promote;
pub mod restarts;
pub mod slots;
pub mod space;
pub use tunix_core::sweep::ties;
pub mod tpe;
pub mod tpe_draw;

pub use plan::{expand, SweepPlan, TrialPlan};
