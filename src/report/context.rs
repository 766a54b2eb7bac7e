//! A run as the templates see it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::RunSummary;
use crate::scoring::{CiMethod, FullSetScore, TagStats};

/// A run as the templates see it: every [`RunSummary`] field, borrowed,
/// except `loss_curve` (drawn as SVG instead; converting thousands of points
/// per run into template values would dominate rendering time).
#[derive(Debug, Serialize)]
pub(super) struct RunContext<'a> {
    run_id: &'a str,
    name: &'a str,
    kind: &'a str,
    model_id: &'a str,
    dataset: Option<&'a str>,
    config_hash: &'a str,
    labels: &'a BTreeMap<String, String>,
    created_at: &'a str,
    git_commit: Option<&'a str>,
    git_dirty: bool,
    evalset_path: &'a str,
    evalset_blake3: &'a str,
    primary_score: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    ci_method: Option<CiMethod>,
    n_items: u64,
    n_scored: u64,
    n_skipped: u64,
    status: &'a str,
    full_set: Option<FullSetScore>,
    category_means: &'a BTreeMap<String, Option<f64>>,
    sweep_id: Option<&'a str>,
    /// Number of points in the loss curve.
    loss_points: usize,
    scoring_rules_version: Option<u32>,
    calculator: bool,
    tag_scores: &'a BTreeMap<String, TagStats>,
}

impl<'a> From<&'a RunSummary> for RunContext<'a> {
    fn from(run: &'a RunSummary) -> Self {
        // Destructured without `..`: a new RunSummary field fails to compile
        // here until templates get it too.
        let RunSummary {
            run_id,
            name,
            kind,
            model_id,
            dataset,
            config_hash,
            labels,
            created_at,
            git_commit,
            git_dirty,
            evalset_path,
            evalset_blake3,
            primary_score,
            ci_low,
            ci_high,
            ci_method,
            n_items,
            n_scored,
            n_skipped,
            status,
            full_set,
            category_means,
            sweep_id,
            loss_curve,
            scoring_rules_version,
            calculator,
            tag_scores,
        } = run;
        RunContext {
            run_id,
            name,
            kind,
            model_id,
            dataset: dataset.as_deref(),
            config_hash,
            labels,
            created_at,
            git_commit: git_commit.as_deref(),
            git_dirty: *git_dirty,
            evalset_path,
            evalset_blake3,
            primary_score: *primary_score,
            ci_low: *ci_low,
            ci_high: *ci_high,
            ci_method: *ci_method,
            n_items: *n_items,
            n_scored: *n_scored,
            n_skipped: *n_skipped,
            status,
            full_set: *full_set,
            category_means,
            sweep_id: sweep_id.as_deref(),
            loss_points: loss_curve.len(),
            scoring_rules_version: *scoring_rules_version,
            calculator: *calculator,
            tag_scores,
        }
    }
}
