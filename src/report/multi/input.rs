//! What a comparison of runs shows: the input types the caller (the run
//! folders or the index) fills.

use std::collections::BTreeMap;

use serde::Serialize;

use super::super::{CompareInput, ComparisonFigures, RunSummary};

/// A comparison of two or more runs, as the commands render it.
#[derive(Debug, Clone, PartialEq)]
pub enum RunsComparison {
    /// Two evaluated runs: the paired report of B against A, with the
    /// runs' curves, final metrics and config differences added.
    Pair {
        pair: Box<CompareInput>,
        runs: MultiInput,
    },
    /// Three or more runs, or runs not all evaluated: the report of N runs.
    Many(MultiInput),
}

impl RunsComparison {
    /// The runs compared, in the order given.
    pub fn runs(&self) -> &MultiInput {
        match self {
            RunsComparison::Pair { runs, .. } | RunsComparison::Many(runs) => runs,
        }
    }
}

/// Runs side by side: what each recorded, and the paired tests between
/// the evaluated ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiInput {
    /// The runs, in the order given (the first is A, the second B, ...).
    pub runs: Vec<MultiRun>,
    /// The paired test of each pair of evaluated runs that can be paired
    /// (on the same eval set, or any two with different eval sets
    /// allowed), the earlier run as A.
    pub pairs: Vec<RunPair>,
    /// Notes from reading the runs (pairs left untested, ...).
    pub notes: Vec<String>,
}

/// One run of a comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MultiRun {
    /// Identity and, when evaluated, scores (`full_set` filled).
    pub summary: RunSummary,
    /// Whether the run has eval results (`eval_summary.json` and
    /// `eval_items.jsonl`); a run without is compared on its curves,
    /// final metrics and config only.
    pub evaluated: bool,
    /// The recorded config (`run_manifest.json`'s `config`).
    pub config: serde_json::Value,
    /// Each metric of `metrics.jsonl` by name, as `(step, value)` by step.
    pub metrics: BTreeMap<String, Vec<(u64, f64)>>,
    /// The run's eval items; empty when it was not evaluated.
    pub items: Vec<RunItem>,
}

/// An eval item as the comparison of runs shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunItem {
    pub id: String,
    pub category: String,
    pub expected: String,
    /// The answer extracted from the output; none when none was found.
    pub extracted: Option<String>,
    /// Correctness in [0, 1]; none when the item has no valid value.
    pub correct: Option<f64>,
}

/// The paired comparison of run `b` against run `a` (indexes into the
/// runs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunPair {
    pub a: usize,
    pub b: usize,
    /// The statistics module's figures, differences in percentage points.
    pub figures: ComparisonFigures,
}
