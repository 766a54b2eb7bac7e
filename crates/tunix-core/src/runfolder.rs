//! Run folders: the system of record. `submission_runs/<run>/` holds
//! `run_manifest.json`, `eval_summary.json`, `eval_items.jsonl`,
//! `metrics.jsonl` and `run.log`. This module holds the file formats and
//! their readers ([`RunFolder`] opens a recorded run and reads its files),
//! and [`layout`] the folder layout (control folder, sweep
//! trials, finding a run or sweep folder); `crate::job` claims folders and
//! writes them.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::blake3_hex;
use crate::scoring::Scorecard;

mod folder;
mod kind;
pub mod layout;
mod metrics;
pub mod validate;
pub use folder::RunFolder;
pub use kind::RunKind;
pub use metrics::{
    metric_name_problem, parse_metrics_lines, read_metrics_file, read_metrics_lines, BadLine,
    MetricRecord, METRIC_NAME_MAX, NAMED_METRICS,
};

/// Version of the run-folder file formats.
pub const SCHEMA_VERSION: u32 = 1;

pub const RUN_MANIFEST: &str = "run_manifest.json";
pub const EVAL_SUMMARY: &str = "eval_summary.json";
pub const EVAL_ITEMS: &str = "eval_items.jsonl";
pub const RUN_LOG: &str = "run.log";
pub const METRICS: &str = "metrics.jsonl";

/// Where a run came from and what it produced. The only run-folder file with
/// timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunManifest {
    pub schema_version: u32,
    /// The run folder's name; unique within the runs root.
    pub run_id: String,
    /// `Train`, `Sweep` or `Eval`.
    pub kind: RunKind,
    /// `metadata.name` of the manifest, or the name given on the command line.
    pub name: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    pub status: RunStatus,
    /// RFC 3339 UTC.
    pub created_at: String,
    pub finished_at: Option<String>,
    /// The workspace's git commit, when it is a git repository.
    pub git: Option<GitInfo>,
    pub tool_version: String,
    pub libtorch_version: String,
    /// `cpu`, `cuda:0`, or `none` when no model ran here (external predictions).
    pub device: String,
    /// What produced the outputs: a built-in preset, or `external:<file stem>`.
    pub model_id: String,
    pub dataset: Option<FileRef>,
    pub evalset: Option<FileRef>,
    pub predictions: Option<FileRef>,
    /// The checkpoint an Eval run decoded with (`tunix-rt eval
    /// --checkpoint`, or an Eval manifest's `model: { checkpoint }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointSource>,
    /// The checkpoint a Train run started from (`model: { init }`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<CheckpointSource>,
    /// The run whose stored outputs this Eval run re-scored (`tunix-rt
    /// rescore`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescored_from: Option<RescoreSource>,
    /// The resolved job configuration.
    pub config: serde_json::Value,
    /// The command line that produced the run.
    pub command: Vec<String>,
    pub seed: Option<u64>,
    pub tuning_job_id: Option<String>,
    pub trial_id: Option<String>,
    /// Set on a sweep's promoted evidence folder (`promote.evidence`): the
    /// trial whose run record this folder copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promoted_from_trial_id: Option<String>,
    /// The config identity: blake3 of the resolved spec that affects
    /// results (see `crate::job::identity`); resume requires it to match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
    /// Every other file of the run, with its blake3.
    pub artifacts: Vec<Artifact>,
    /// Why the run failed (status `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// What stopped the run and where (status `interrupted`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interruption: Option<Interruption>,
}

/// A run stopped by a signal to its coordinator (status `interrupted`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Interruption {
    /// `SIGINT` (Ctrl-C) or `SIGTERM`.
    pub signal: String,
    /// The last step the run reported (0: none).
    pub step: u64,
    /// The newest checkpoint's step: where running the job again resumes
    /// (null: from step 0).
    pub resume_step: Option<u32>,
}

/// The checkpoint of a Train run that an Eval run decoded with, or that a
/// Train run started from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckpointSource {
    /// The source Train run.
    pub run_id: String,
    /// The checkpoint's step.
    pub step: u32,
    /// blake3 of the checkpoint's weights (`model.safetensors`), checked
    /// against what the source run recorded.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub blake3: String,
}

/// The run a re-scored Eval run took its raw outputs from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RescoreSource {
    /// The source run.
    pub run_id: String,
    /// The source run folder, relative to the workspace where possible.
    pub run_dir: String,
    /// The scoring-rules version the source was scored under; null when
    /// its eval summary does not record one (written before versions were
    /// recorded).
    pub scoring_rules_version: Option<u32>,
    /// The source's `eval_items.jsonl` (the raw outputs re-scored), with
    /// its blake3.
    pub eval_items: FileRef,
}

/// A classified failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// `bad_config`, `no_predictions`, `ignored_stop`, `nan_loss`,
    /// `out_of_memory`, `timeout`, `crash`, `bad_metrics` or, for a sweep
    /// trial, `metric_missing` (see `trainer::FailureClass`).
    pub class: String,
    pub message: String,
}

/// Lifecycle state of a run: `running` → `completed` | `failed` |
/// `stopped` (at a step before `max_steps`, e.g. a sweep's rung; resumable)
/// | `interrupted` (SIGINT or SIGTERM stopped its coordinator; resumable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
    Stopped,
    Interrupted,
}

impl RunStatus {
    /// The status as written in run_manifest.json and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
            RunStatus::Interrupted => "interrupted",
        }
    }
}

/// The commit a run was made from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GitInfo {
    pub commit: String,
    /// Uncommitted changes were present.
    pub dirty: bool,
}

/// A named input file and its blake3.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Name or path (relative to the workspace where possible).
    pub path: String,
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub blake3: String,
}

/// A file in the run folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// Path relative to the run folder.
    pub path: String,
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub blake3: String,
    pub bytes: u64,
}

impl Artifact {
    /// The artifact for `bytes` stored at `path` in the run folder.
    pub fn new(path: String, bytes: &[u8]) -> Self {
        Artifact {
            path,
            blake3: blake3_hex(bytes),
            bytes: bytes.len() as u64,
        }
    }
}

impl RunManifest {
    /// A `running` manifest with nothing recorded yet; the job fills in
    /// what it learns (device, model, inputs, artifacts) as it goes.
    pub fn new(run_id: &str, kind: RunKind, name: &str, created_at: &str) -> Self {
        RunManifest {
            schema_version: SCHEMA_VERSION,
            run_id: run_id.to_string(),
            kind,
            name: name.to_string(),
            labels: BTreeMap::new(),
            status: RunStatus::Running,
            created_at: created_at.to_string(),
            finished_at: None,
            git: None,
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            libtorch_version: "none".to_string(),
            device: "none".to_string(),
            model_id: String::new(),
            dataset: None,
            evalset: None,
            predictions: None,
            checkpoint: None,
            init: None,
            rescored_from: None,
            config: serde_json::Value::Null,
            command: Vec::new(),
            seed: None,
            tuning_job_id: None,
            trial_id: None,
            promoted_from_trial_id: None,
            config_hash: None,
            artifacts: Vec::new(),
            failure: None,
            interruption: None,
        }
    }
}

/// Where a run's recorded config holds its decoding's `calculator` flag:
/// a Train manifest (`spec.eval.decoding`), an Eval manifest
/// (`spec.decoding`), and the same without the manifest around them.
const CALCULATOR_FLAGS: [&str; 4] = [
    "/spec/eval/decoding/calculator",
    "/spec/decoding/calculator",
    "/eval/decoding/calculator",
    "/decoding/calculator",
];

impl RunManifest {
    /// Whether the run's outputs were decoded with calculator assistance
    /// (`decoding.calculator: true` in its recorded config): a different
    /// measurement from plain decoding, which reports mark. Absent (every
    /// run recorded before the flag existed) is false.
    pub fn calculator_assisted(&self) -> bool {
        calculator_assisted(&self.config)
    }
}

/// Whether recorded config `config` turns calculator-assisted decoding on.
pub fn calculator_assisted(config: &serde_json::Value) -> bool {
    CALCULATOR_FLAGS
        .iter()
        .any(|pointer| config.pointer(pointer).and_then(serde_json::Value::as_bool) == Some(true))
}

/// `path` relative to the run folder `dir`, with `/` separators.
pub fn relative_path(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default()
}

/// Scores of one evaluation. Byte-identical for identical inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalSummary {
    pub schema_version: u32,
    /// Mean answer_correctness over scored items, 0–1; null when none scored.
    pub primary_score: Option<f64>,
    pub n_items: usize,
    pub n_scored: usize,
    pub n_skipped: usize,
    /// Mean trace_consistency over trace items with an output.
    pub trace_consistency: Option<f64>,
    pub scorecard: Scorecard,
    pub evalset: FileRef,
    /// Items with no prediction (skipped).
    pub missing_items: Vec<String>,
    /// Items whose output was empty (scored 0).
    pub empty_outputs: Vec<String>,
    /// The scoring-rules version the items were scored under
    /// (`crate::scoring::SCORING_RULES_VERSION`); absent in summaries
    /// written before versions were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scoring_rules_version: Option<u32>,
}

/// One line of `eval_items.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalItemRecord {
    pub id: String,
    pub category: String,
    pub expected: String,
    /// The model's raw output; null when the item had no prediction.
    pub output: Option<String>,
    /// The answer extracted from the output.
    pub extracted: Option<String>,
    /// Which extraction rule produced it (`marker`, `last_number`, `last_line`).
    pub extraction_rule: Option<crate::scoring::ExtractRule>,
    /// 0–1; null when the item was skipped.
    pub answer_correctness: Option<f64>,
    /// Trace items: fraction of required intermediate values found.
    pub trace_consistency: Option<f64>,
}

impl EvalItemRecord {
    /// The row the scoring functions take.
    pub fn item_row(&self) -> crate::scoring::ItemRow {
        crate::scoring::ItemRow {
            id: self.id.clone(),
            category: self.category.clone(),
            answer_correctness: self.answer_correctness,
            score: None,
            tags: Vec::new(),
        }
    }
}

/// Pretty JSON with a final newline.
pub fn to_json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| Error::runtime("cannot serialize JSON").with_source(e))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// One compact JSON object per line.
pub fn to_jsonl_bytes<T: Serialize>(rows: &[T]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for row in rows {
        serde_json::to_writer(&mut out, row)
            .map_err(|e| Error::runtime("cannot serialize JSON").with_source(e))?;
        out.push(b'\n');
    }
    Ok(out)
}

/// Read a run folder's `run_manifest.json`.
pub fn read_manifest(run_dir: &Path) -> Result<RunManifest> {
    let path = run_dir.join(RUN_MANIFEST);
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read the run manifest", &path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::bad_input(format!("not a valid run manifest: {e}"))
            .with_path(&path)
            .with_location(crate::error::Location {
                line: e.line(),
                column: e.column(),
            })
    })
}

/// Read a run folder's `eval_summary.json`.
pub fn read_summary(run_dir: &Path) -> Result<EvalSummary> {
    let path = run_dir.join(EVAL_SUMMARY);
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read the eval summary", &path, e))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        Error::bad_input(format!("not a valid eval summary: {e}"))
            .with_path(&path)
            .with_location(crate::error::Location {
                line: e.line(),
                column: e.column(),
            })
    })
}

/// Read a run folder's `eval_items.jsonl`.
pub fn read_eval_items(run_dir: &Path) -> Result<Vec<EvalItemRecord>> {
    let path = run_dir.join(EVAL_ITEMS);
    let bytes = std::fs::read(&path).map_err(|e| Error::io("read the eval items", &path, e))?;
    parse_eval_items(&bytes, &path)
}

/// The records of an `eval_items.jsonl` read from `path` as `bytes`: blank
/// lines are skipped; a line that is not a record is an error naming it.
pub fn parse_eval_items(bytes: &[u8], path: &Path) -> Result<Vec<EvalItemRecord>> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Error::bad_input(format!("the eval items are not UTF-8: {e}")).with_path(path)
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                Error::bad_input(format!("not a valid eval item record: {e}"))
                    .with_path(path)
                    .with_location(crate::error::Location {
                        line: i + 1,
                        column: e.column(),
                    })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_manifests_without_an_identity_still_read() {
        let mut m = RunManifest::new("r", RunKind::Eval, "r", "2026-01-01T00:00:00Z");
        m.status = RunStatus::Stopped;
        let text = String::from_utf8(to_json_bytes(&m).expect("json")).expect("utf8");
        assert!(!text.contains("config_hash"));
        assert!(text.contains("\"status\": \"stopped\""));
        let back: RunManifest = serde_json::from_str(&text).expect("reads");
        assert_eq!(back, m);
        assert!(!text.contains("rescored_from"));
    }

    #[test]
    fn the_calculator_flag_comes_from_the_recorded_decoding() {
        let mut m = RunManifest::new("r", RunKind::Train, "r", "2026-01-01T00:00:00Z");
        assert!(!m.calculator_assisted(), "no config");
        m.config = serde_json::json!({
            "kind": "Train",
            "spec": { "eval": { "decoding": { "max_new_tokens": 64 } } }
        });
        assert!(!m.calculator_assisted(), "absent is false");
        m.config["spec"]["eval"]["decoding"]["calculator"] = serde_json::json!(true);
        assert!(m.calculator_assisted());
        m.config["spec"]["eval"]["decoding"]["calculator"] = serde_json::json!(false);
        assert!(!m.calculator_assisted());
        for config in [
            serde_json::json!({"kind": "Eval", "spec": {"decoding": {"calculator": true}}}),
            serde_json::json!({"eval": {"decoding": {"calculator": true}}}),
            serde_json::json!({"decoding": {"calculator": true}}),
        ] {
            assert!(calculator_assisted(&config), "{config}");
        }
        assert!(!calculator_assisted(
            &serde_json::json!({"calculator": true})
        ));
        assert!(!calculator_assisted(
            &serde_json::json!({"decoding": {"calculator": "yes"}})
        ));
    }

    #[test]
    fn summaries_without_a_rules_version_still_read() {
        let records = vec![EvalItemRecord {
            id: "a".into(),
            category: "core".into(),
            expected: "1".into(),
            output: Some("1".into()),
            extracted: Some("1".into()),
            extraction_rule: None,
            answer_correctness: Some(1.0),
            trace_consistency: None,
        }];
        let evalset = FileRef {
            path: "e.jsonl".into(),
            blake3: "0".repeat(64),
        };
        let settings = crate::evaluate::EvalSettings::default();
        let summary = crate::evaluate::summarize(&records, &[], evalset, vec![], &settings);
        assert_eq!(
            summary.scoring_rules_version,
            Some(crate::scoring::SCORING_RULES_VERSION)
        );
        let mut value = serde_json::to_value(&summary).expect("json");
        value
            .as_object_mut()
            .and_then(|o| o.remove("scoring_rules_version"))
            .expect("written");
        let old: EvalSummary = serde_json::from_value(value).expect("old summaries read");
        assert_eq!(old.scoring_rules_version, None);
    }
}
