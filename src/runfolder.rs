//! Run folders: the system of record. `submission_runs/<run>/` holds
//! `run_manifest.json`, `eval_summary.json`, `eval_items.jsonl` and
//! `run.log`. A new folder is staged under a temporary name and renamed into
//! place when complete, so a failed job never leaves a half-written run, and
//! an existing run is never overwritten.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{blake3_hex, write_atomic};
use crate::scoring::Scorecard;

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
    pub kind: String,
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
    /// The resolved job configuration.
    pub config: serde_json::Value,
    /// The command line that produced the run.
    pub command: Vec<String>,
    pub seed: Option<u64>,
    pub tuning_job_id: Option<String>,
    pub trial_id: Option<String>,
    /// Every other file of the run, with its blake3.
    pub artifacts: Vec<Artifact>,
    /// Why the run failed (status `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
}

/// A classified failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Failure {
    /// `nan_loss`, `out_of_memory`, `bad_config` or `crash`.
    pub class: String,
    pub message: String,
}

/// Lifecycle state of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Failed,
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

/// One line of `metrics.jsonl` (training progress). Unknown fields are
/// ignored so newer writers stay readable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricRecord {
    pub step: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_score: Option<f64>,
}

/// blake3 of a JSON value with object keys sorted: equal configs hash
/// equal whatever order their keys were written in.
pub fn config_hash(value: &serde_json::Value) -> String {
    fn canonical(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<&String, serde_json::Value> =
                    map.iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(canonical).collect())
            }
            other => other.clone(),
        }
    }
    blake3_hex(canonical(value).to_string().as_bytes())
}

impl EvalItemRecord {
    /// The row the scoring functions take.
    pub fn item_row(&self) -> crate::scoring::ItemRow {
        crate::scoring::ItemRow {
            id: self.id.clone(),
            category: self.category.clone(),
            answer_correctness: self.answer_correctness,
            score: None,
        }
    }
}

/// A run folder being written under a temporary name.
pub struct StagedRun {
    staging: PathBuf,
    root: PathBuf,
    name: String,
    artifacts: Vec<Artifact>,
}

impl StagedRun {
    /// Start a run folder named `name` (or `name-2`, `name-3`, … when taken)
    /// under `root`.
    pub fn begin(root: &Path, name: &str) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io("create the runs folder", root, e))?;
        let staging = root.join(format!(".staging-{name}-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging)
                .map_err(|e| Error::io("clear the staging folder", &staging, e))?;
        }
        std::fs::create_dir(&staging)
            .map_err(|e| Error::io("create the staging folder", &staging, e))?;
        Ok(StagedRun {
            staging,
            root: root.to_path_buf(),
            name: name.to_string(),
            artifacts: Vec::new(),
        })
    }

    /// Write a file into the run and record it as an artifact.
    pub fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.staging.join(rel), bytes)?;
        self.artifacts.push(Artifact::new(rel.to_string(), bytes));
        Ok(())
    }

    /// Write `value` as pretty JSON with a final newline.
    pub fn write_json<T: Serialize>(&mut self, rel: &str, value: &T) -> Result<()> {
        self.write(rel, &to_json_bytes(value)?)
    }

    /// The artifacts written so far, sorted by path.
    pub fn artifacts(&self) -> Vec<Artifact> {
        let mut a = self.artifacts.clone();
        a.sort_by(|x, y| x.path.cmp(&y.path));
        a
    }

    /// The folder name this run will get.
    pub fn final_name(&self) -> String {
        let mut candidate = self.name.clone();
        let mut n = 2;
        while self.root.join(&candidate).exists() {
            candidate = format!("{}-{n}", self.name);
            n += 1;
        }
        candidate
    }

    /// Rename the staged folder into place; returns its path.
    pub fn commit(self, final_name: &str) -> Result<PathBuf> {
        let target = self.root.join(final_name);
        if target.exists() {
            return Err(Error::runtime(format!(
                "run folder {} appeared while writing; the new run is kept at {}",
                target.display(),
                self.staging.display()
            )));
        }
        std::fs::rename(&self.staging, &target)
            .map_err(|e| Error::io("move the run into place", &target, e))?;
        Ok(target)
    }
}

impl Drop for StagedRun {
    fn drop(&mut self) {
        if self.staging.exists() {
            let _ = std::fs::remove_dir_all(&self.staging);
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

/// The current time as RFC 3339 UTC (seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The git commit of `dir` and whether the tree has uncommitted changes, or
/// None outside a git repository (or without git).
pub fn git_info(dir: &Path) -> Option<GitInfo> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { commit, dirty })
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
    let text =
        std::fs::read_to_string(&path).map_err(|e| Error::io("read the eval items", &path, e))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| {
                Error::bad_input(format!("not a valid eval item record: {e}"))
                    .with_path(&path)
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
    fn staged_runs_appear_whole_and_never_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut first = StagedRun::begin(dir.path(), "r").expect("begin");
        first.write("a.txt", b"1").expect("write");
        let name = first.final_name();
        assert_eq!(name, "r");
        first.commit(&name).expect("commit");
        let mut second = StagedRun::begin(dir.path(), "r").expect("begin");
        second.write("a.txt", b"2").expect("write");
        assert_eq!(second.final_name(), "r-2");
        let path = second.commit("r-2").expect("commit");
        assert_eq!(
            std::fs::read(dir.path().join("r/a.txt")).expect("read"),
            b"1"
        );
        assert_eq!(std::fs::read(path.join("a.txt")).expect("read"), b"2");
    }

    #[test]
    fn config_hash_ignores_key_order() {
        let a = serde_json::json!({"a": 1, "b": {"c": 2, "d": [1, {"e": 3, "f": 4}]}});
        let b = serde_json::json!({"b": {"d": [1, {"f": 4, "e": 3}], "c": 2}, "a": 1});
        assert_eq!(config_hash(&a), config_hash(&b));
        assert_ne!(config_hash(&a), config_hash(&serde_json::json!({"a": 2})));
    }

    #[test]
    fn abandoned_runs_leave_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let mut run = StagedRun::begin(dir.path(), "r").expect("begin");
            run.write("a.txt", b"1").expect("write");
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 0);
    }
}
