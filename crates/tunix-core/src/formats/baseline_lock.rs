//! The baseline lock's format (`configs/baseline.lock.yaml`): the run a
//! regression gate compares candidates against, pinned by its eval set,
//! its per-item correctness and its scoring rules, and the lock's
//! generated schema. Loading and writing the YAML is the engine's
//! `regress::lock`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::scoring_rules::ScoringRules;
use crate::runfolder::FileRef;
use crate::schema_check::generate;
use crate::scoring::CiMethod;

/// Version of the lock file format.
pub const LOCK_SCHEMA_VERSION: u32 = 1;
/// Where `baseline set` writes and `regress` reads, relative to the
/// workspace root.
pub const DEFAULT_LOCK: &str = "configs/baseline.lock.yaml";
/// The lock's schema file in `schemas/`.
pub const LOCK_SCHEMA_FILE: &str = "baseline_lock.schema.json";

/// A locked baseline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineLock {
    /// Lock file format version: `1`.
    pub schema_version: u32,
    /// A name for the baseline (default: the run id).
    pub name: String,
    /// The baseline run's id.
    pub run_id: String,
    /// The baseline run folder, relative to the workspace root.
    pub run_dir: String,
    /// The eval set the baseline was scored on; candidates must match its
    /// blake3.
    pub evalset: FileRef,
    /// The baseline's primary score.
    pub score: LockedScore,
    /// blake3 over the sorted `id:correctness` lines of the baseline's
    /// eval_items.jsonl (skipped items as `id:null`).
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub items_blake3: String,
    /// The scoring rules the baseline was scored under; candidates must
    /// match them.
    pub scoring_rules: ScoringRules,
    /// Version of tunix-rt that wrote the lock.
    pub tool_version: String,
    /// Who set the baseline (`$USER`, or `unknown`).
    pub set_by: String,
    /// When the baseline was set (RFC 3339 UTC).
    pub set_at: String,
}

/// The baseline's primary score and its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedScore {
    /// Mean answer correctness over scored items, 0–1.
    pub primary: f64,
    /// The 95% confidence interval; null when the scorecard has none.
    pub ci95: Option<LockedInterval>,
    /// Items in the eval set.
    pub n_items: usize,
    /// Items with a correctness value.
    pub n_scored: usize,
}

/// A confidence interval as the lock records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedInterval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// `wilson` or `bootstrap`.
    pub method: CiMethod,
}

/// The lock's JSON Schema, generated from [`BaselineLock`].
pub fn schema() -> serde_json::Value {
    generate::<BaselineLock>()
}
