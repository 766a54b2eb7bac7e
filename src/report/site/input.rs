//! What the static site shows: the leaderboard's input, what each run's
//! folder holds (config, metrics, items with their prompts), the
//! comparisons of runs with their eval set's leader and the sweeps. The
//! caller (`crate::site`) fills it; rendering is pure.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::report::sweep::SweepInput;
use crate::report::{CompareInput, LeaderboardInput};
use crate::runfolder::EvalItemRecord;

/// Everything the site's pages show.
#[derive(Debug, Clone)]
pub struct SiteInput {
    /// The runs, their ranks and ties: every matching run gets a page.
    pub leaderboard: LeaderboardInput,
    /// What each run's folder holds, by run id.
    pub runs: BTreeMap<String, RunDetails>,
    /// Run B against the leader of its eval set (A), for every ranked run
    /// that is not a leader (see [`super::leader_pairs`]).
    pub compares: Vec<CompareInput>,
    /// The sweeps under the runs root.
    pub sweeps: Vec<SiteSweep>,
    /// Problems met while reading (shown on the front page).
    pub notes: Vec<String>,
}

/// What a run's folder holds beyond the index's figures.
#[derive(Debug, Clone, Default)]
pub struct RunDetails {
    /// The run folder as shown to the reader; `None` when it was not found.
    pub folder: Option<String>,
    /// The recorded config (`run_manifest.json`'s `config`).
    pub config: Option<Value>,
    /// Each metric of `metrics.jsonl` by name, as `(step, value)` by step.
    pub metrics: BTreeMap<String, Vec<(u64, f64)>>,
    /// The items of `eval_items.jsonl`, with their prompts; `None` when the
    /// run has no readable items.
    pub items: Option<Vec<ItemDetails>>,
    /// Where the prompts came from.
    pub prompts: PromptSource,
    /// What could not be read, in words.
    pub problems: Vec<String>,
}

/// One eval item of a run: its record and, from the eval set, its prompt
/// and tags.
#[derive(Debug, Clone)]
pub struct ItemDetails {
    pub record: EvalItemRecord,
    /// The question as the eval set states it; `None` when unavailable.
    pub prompt: Option<String>,
    /// The item's tags in the eval set.
    pub tags: Vec<String>,
}

/// Where a run's prompts came from: the eval set its manifest names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum PromptSource {
    /// The run names no eval set.
    #[default]
    NotRecorded,
    /// The eval set file, unchanged since the run (same blake3).
    Found { path: String },
    /// The eval set file, changed since the run: its prompts may differ
    /// from those the run answered.
    Changed { path: String },
    /// The eval set file is gone.
    Gone { path: String },
    /// The eval set file cannot be read or is not a valid eval set.
    Unreadable { path: String, reason: String },
}

/// A sweep folder: its report's input, or why it could not be read.
#[derive(Debug, Clone)]
pub struct SiteSweep {
    /// The sweep's name (its folder's name when the ledger is unreadable).
    pub name: String,
    pub report: SweepReport,
}

/// A sweep's report input, or why there is none.
#[derive(Debug, Clone)]
pub enum SweepReport {
    Read(Box<SweepInput>),
    Unreadable(String),
}
