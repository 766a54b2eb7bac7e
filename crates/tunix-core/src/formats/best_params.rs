//! The best-parameters file's format (`promote.params`, schema
//! `schemas/best_params.schema.json`), written when a sweep promotes its
//! best trial and read by `validate` and by users' tools.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::manifest::sweep::{Mode, SweepMetric};
use crate::scoring::ConfidenceInterval;

/// The parameters file (`promote.params`, schema
/// `schemas/best_params.schema.json`): the trial, its sampled values, where
/// they went and its metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BestParams {
    /// The sweep's name.
    pub sweep: String,
    pub trial_id: String,
    /// The trial the promoted config comes from (the same as `trial_id`).
    pub promoted_from_trial_id: String,
    /// The raw sampled values, by parameter.
    pub params: BTreeMap<String, Value>,
    /// Each parameter's field in the promoted spec.
    pub mapping: BTreeMap<String, String>,
    pub metric: BestMetric,
}

/// The promoted trial's metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BestMetric {
    pub name: SweepMetric,
    pub mode: Mode,
    pub value: f64,
    /// The primary score's 95% CI, when the trial was evaluated.
    pub ci95: Option<ConfidenceInterval>,
}
