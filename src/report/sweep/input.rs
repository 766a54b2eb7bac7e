//! What the sweep report takes: the sweep's ledger, the search space when
//! the Sweep manifest was found, and what each started trial's run folder
//! holds. [`super::folder`] fills it from a sweep folder; tests fill it by
//! hand.

use std::collections::BTreeMap;

use crate::manifest::sweep::Distribution;
use crate::runfolder::{Failure, RunStatus};
use crate::scoring::ItemRow;
use tunix_core::sweep::ledger::Ledger;

/// Everything the sweep report shows.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepInput {
    /// The sweep folder as shown (relative to the workspace when inside it).
    pub folder: String,
    /// The sweep's ledger (`sweep.json`): trials, rungs, metric, mode, best.
    pub ledger: Ledger,
    /// The search space, when the Sweep manifest was found; without it the
    /// parameters' axes are inferred from their values.
    pub space: Option<SearchSpace>,
    /// What each started trial's run folder holds, by trial id.
    pub runs: BTreeMap<String, TrialRun>,
    /// Significance level of the tie test: a trial is tied with the best
    /// when the `1 − alpha` CI of their paired difference includes 0.
    pub alpha: f64,
}

/// The search space of the Sweep manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchSpace {
    /// The Sweep manifest it was read from, as shown.
    pub source: String,
    /// Each searched parameter's distribution, by name.
    pub params: BTreeMap<String, Distribution>,
}

/// What one trial's run folder holds.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRun {
    /// The run id (the run folder's name, `<sweep>-<trial_id>`).
    pub run_id: String,
    /// The run's status in `run_manifest.json`.
    pub status: RunStatus,
    /// Why the run failed (`run_manifest.json` `failure`).
    pub failure: Option<Failure>,
    /// `(step, loss)` from `metrics.jsonl`, by step; finite values only.
    pub loss: Vec<(u64, f64)>,
    /// `(step, value)` of the sweep's metric where `metrics.jsonl` has it,
    /// by step; finite values only.
    pub metric: Vec<(u64, f64)>,
    /// The items of `eval_items.jsonl`; `None` when the run has none.
    pub items: Option<Vec<ItemRow>>,
}
