//! What the reports show: the input types the caller (the store, the CLI)
//! fills. Their serialized form is part of the JSON documents.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::scoring::compare::DiffCiMethod;
use crate::scoring::{
    full_set_from_summary, CiMethod, FullSetScore, PairedTest, Pairing, TagStats, Verdict,
};

/// One run as the reports show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    /// Unique run id (the run folder's id in the index).
    pub run_id: String,
    /// Human name from the manifest.
    pub name: String,
    /// Job kind (`Train`, `Sweep`, `Eval`).
    pub kind: String,
    /// Model identifier.
    pub model_id: String,
    /// Training dataset name, when there was one.
    pub dataset: Option<String>,
    /// Hash of the resolved config.
    pub config_hash: String,
    /// Labels from the manifest.
    pub labels: BTreeMap<String, String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Git commit the run was made from.
    pub git_commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    pub git_dirty: bool,
    /// Eval set path.
    pub evalset_path: String,
    /// Eval set blake3.
    pub evalset_blake3: String,
    /// Primary score in [0, 1]; null when nothing was scored.
    pub primary_score: Option<f64>,
    /// Lower bound of the primary score's 95% CI.
    pub ci_low: Option<f64>,
    /// Upper bound of the primary score's 95% CI.
    pub ci_high: Option<f64>,
    /// How the CI was computed (`wilson`, `bootstrap`).
    pub ci_method: Option<CiMethod>,
    /// Items in the eval set.
    pub n_items: u64,
    /// Items with a valid score.
    pub n_scored: u64,
    /// Items skipped (no prediction, no valid score).
    pub n_skipped: u64,
    /// The run's status as recorded (`completed`, `stopped`, `failed`,
    /// `running`, `interrupted`); empty when unknown.
    #[serde(default)]
    pub status: String,
    /// The score over the whole eval set, an item without a valid value
    /// counted as wrong, with its 95% CI and the run's coverage (scored /
    /// items): what the leaderboard ranks and gates decide on. Reports
    /// built by tunix-rt always fill it; when absent it is derived from the
    /// primary score and the counts ([`RunSummary::decision`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_set: Option<FullSetScore>,
    /// Mean score per item category; null when nothing in it was scored.
    pub category_means: BTreeMap<String, Option<f64>>,
    /// Sweep (tuning job) the run belongs to.
    pub sweep_id: Option<String>,
    /// `(step, loss)` from `metrics.jsonl`; empty when none.
    pub loss_curve: Vec<(u64, f64)>,
    /// The scoring-rules version of the run's eval summary; absent when it
    /// records none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring_rules_version: Option<u32>,
    /// Whether the run's outputs were decoded with calculator assistance
    /// (its config's `decoding.calculator`): the decoder computed the
    /// arithmetic the model wrote, so its score is a different measurement
    /// from a plain run's. Reports mark it `calc`.
    #[serde(default)]
    pub calculator: bool,
    /// Per eval-item tag: items, scored, skipped, fully correct, mean and
    /// 95% CI of the run's items with that tag (an item counts toward each
    /// of its tags); empty when its eval set has no tags or the run was
    /// scored before per-tag figures were recorded.
    #[serde(default)]
    pub tag_scores: BTreeMap<String, TagStats>,
}

impl RunSummary {
    /// The full-eval-set score decisions use: `full_set`, or, when the
    /// input does not carry it, the value derived from the primary score
    /// and the counts (exact for 0/1 items; no interval otherwise).
    pub fn decision(&self) -> FullSetScore {
        self.full_set.unwrap_or_else(|| {
            full_set_from_summary(
                self.primary_score,
                self.n_scored as usize,
                self.n_items as usize,
                self.ci_method == Some(CiMethod::Wilson),
            )
        })
    }
}

/// What a leaderboard shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeaderboardInput {
    /// Heading of the report.
    pub title: String,
    /// Active filters as `(key, value)`, shown as `key=value`.
    pub filters: Vec<(String, String)>,
    /// The runs shown, in any order (the report sorts them).
    pub runs: Vec<RunSummary>,
    /// The other runs that match the filters (a page shows the best
    /// runs): not shown, but their scores take part in the ranks and ties
    /// of the shown runs, and they count in "showing N of M".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unshown: Vec<RunScore>,
    /// Notes shown above the ranking (e.g. runs scored under different
    /// scoring rules ranked side by side).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Per-item values of the matching runs (shown or not), for the paired
    /// tests that decide ties between runs on the same eval set; a run
    /// missing here is told apart from others by intervals only.
    #[serde(default, skip_serializing_if = "ItemTable::is_empty")]
    pub items: ItemTable,
}

/// Per-item values of runs: item ids once, and per run its (item index,
/// value) pairs sorted by index, a row without a valid value as 0 and an
/// id the run has on more than one row as NaN (ambiguous: never paired).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ItemTable {
    /// Item ids, sorted; indexes below point into it.
    pub ids: Vec<String>,
    /// Per run id: its items as `(index into ids, value)`, sorted by index.
    pub runs: BTreeMap<String, Vec<(u32, f64)>>,
}

impl ItemTable {
    /// Whether no run has items here.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }
}

/// A run's scores: what ranking needs of a run that is not shown.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunScore {
    /// Unique run id.
    pub run_id: String,
    /// Primary score in [0, 1]; null when nothing was scored.
    pub primary_score: Option<f64>,
    /// Lower bound of the primary score's 95% CI.
    pub ci_low: Option<f64>,
    /// Upper bound of the primary score's 95% CI.
    pub ci_high: Option<f64>,
    /// Whether the run was decoded with calculator assistance.
    #[serde(default)]
    pub calculator: bool,
    /// Eval set blake3 (runs on the same eval set are told apart by paired
    /// tests); empty when unknown.
    #[serde(default)]
    pub evalset_blake3: String,
    /// The full-eval-set score the leaderboard ranks on; null for a run
    /// without items (it is not ranked).
    #[serde(default)]
    pub full_set: Option<FullSetScore>,
}

/// One item of a paired comparison: the same eval item in run A and run B.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemDiff {
    /// Eval item id.
    pub id: String,
    /// Eval item category.
    pub category: String,
    /// Expected answer.
    pub expected: String,
    /// Answer extracted from A's output.
    pub a_extracted: Option<String>,
    /// A's answer correctness in [0, 1]; null when A has no valid value
    /// (missing or skipped: counted as wrong).
    pub a_correct: Option<f64>,
    /// Answer extracted from B's output.
    pub b_extracted: Option<String>,
    /// B's answer correctness in [0, 1]; null when B has no valid value
    /// (missing or skipped: counted as wrong).
    pub b_correct: Option<f64>,
}

/// The statistics module's paired comparison of B against A. Scores are
/// on the 0–1 scale; differences (`*_pp`) in percentage points.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComparisonFigures {
    /// Items compared: every item of either run (`union` pairing), or of
    /// both (`shared`, runs on different eval sets).
    pub n_pairs: u64,
    /// `union` or `shared`.
    pub pairing: Pairing,
    /// Number of item ids only in A.
    pub n_only_in_a: u64,
    /// Item ids only in A (counted as wrong in B under `union` pairing).
    pub only_in_a: Vec<String>,
    /// Number of item ids only in B.
    pub n_only_in_b: u64,
    /// Item ids only in B (counted as wrong in A under `union` pairing).
    pub only_in_b: Vec<String>,
    /// Items in both runs without a valid value in at least one.
    pub n_skipped: u64,
    /// Compared items without a valid value in A, counted as wrong.
    pub n_unscored_a: u64,
    /// Compared items without a valid value in B, counted as wrong.
    pub n_unscored_b: u64,
    /// Mean of A over the pairs (0–1; missing values count 0).
    pub mean_a: Option<f64>,
    /// Mean of B over the pairs (0–1; missing values count 0).
    pub mean_b: Option<f64>,
    /// Mean of B − A over the pairs, in percentage points.
    pub diff_pp: Option<f64>,
    /// Lower bound of the difference's CI, in percentage points.
    pub diff_ci_low_pp: Option<f64>,
    /// Upper bound of the difference's CI, in percentage points.
    pub diff_ci_high_pp: Option<f64>,
    /// How the difference's CI was computed (`newcombe_hybrid_score`,
    /// `percentile_bootstrap`).
    pub diff_ci_method: Option<DiffCiMethod>,
    /// The test behind `p_value` (`mcnemar_exact`, `paired_bootstrap`).
    pub test: Option<PairedTest>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// `improved` | `no_evidence` | `regressed`.
    pub verdict: Verdict,
    /// Minimum detectable difference at 80% power, in percentage points.
    pub min_detectable_difference_pp: Option<f64>,
    /// Significance level.
    pub alpha: f64,
    /// Smallest difference that counts as a change, in percentage points.
    pub min_effect_pp: f64,
    /// Caveats (small samples, missing items, ...).
    pub warnings: Vec<String>,
}

/// What a comparison report shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompareInput {
    /// The baseline run.
    pub a: RunSummary,
    /// The candidate run.
    pub b: RunSummary,
    /// The paired comparison of B against A.
    pub figures: ComparisonFigures,
    /// Items of either run, in any order (the report sorts them).
    pub items: Vec<ItemDiff>,
    /// Whether A and B were scored on different eval sets.
    pub evalsets_differ: bool,
}
