//! One recorded run, opened: [`RunFolder::open`] reads its manifest once,
//! and the folder's other files (the eval summary, the per-item records,
//! the metrics) are read through it, each with the one parse and bad-line
//! policy of its format. The modules that read recorded runs (reports,
//! the gate, rescoring, the determinism check, packaging, sweeps' reports)
//! go through it instead of opening files by name.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::{
    read_eval_items, read_manifest, read_metrics_lines, read_summary, EvalItemRecord, EvalSummary,
    MetricRecord, RunManifest, EVAL_ITEMS, EVAL_SUMMARY, METRICS, RUN_MANIFEST,
};
use crate::error::{Error, Result};

/// A run folder whose manifest has been read.
#[derive(Debug, Clone)]
pub struct RunFolder {
    dir: PathBuf,
    manifest: RunManifest,
}

impl RunFolder {
    /// Open the run folder `dir`: read and parse its `run_manifest.json`
    /// (an error naming the file and the position when it is missing or
    /// not a run manifest).
    pub fn open(dir: &Path) -> Result<Self> {
        Ok(RunFolder {
            dir: dir.to_path_buf(),
            manifest: read_manifest(dir)?,
        })
    }

    /// Open the run folder `dir` for a use that needs its evaluation: a
    /// folder without a run manifest, an eval summary or eval items is bad
    /// input, "`shown` has no FILE: only evaluated runs can be `purpose`"
    /// (e.g. "compared").
    pub fn open_evaluated(dir: &Path, shown: &str, purpose: &str) -> Result<Self> {
        for file in [RUN_MANIFEST, EVAL_SUMMARY, EVAL_ITEMS] {
            let path = dir.join(file);
            if !path.is_file() {
                return Err(Error::bad_input(format!(
                    "{shown} has no {file}: only evaluated runs can be {purpose}"
                ))
                .with_path(path));
            }
        }
        Self::open(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &RunManifest {
        &self.manifest
    }

    pub fn into_manifest(self) -> RunManifest {
        self.manifest
    }

    /// Whether the run recorded an evaluation (`eval_summary.json`).
    pub fn has_eval(&self) -> bool {
        self.dir.join(EVAL_SUMMARY).is_file()
    }

    /// Whether the run recorded per-item results (`eval_items.jsonl`).
    pub fn has_items(&self) -> bool {
        self.dir.join(EVAL_ITEMS).is_file()
    }

    /// The eval summary (an error when the run has none or it does not
    /// parse).
    pub fn summary(&self) -> Result<EvalSummary> {
        read_summary(&self.dir)
    }

    /// The per-item records, in file order (blank lines skipped; a line
    /// that does not parse is an error naming it).
    pub fn items(&self) -> Result<Vec<EvalItemRecord>> {
        read_eval_items(&self.dir)
    }

    /// The metrics records (none when the run wrote no metrics).
    pub fn metrics(&self) -> Result<Vec<MetricRecord>> {
        self.metric_lines()
    }

    /// The metrics lines as `T` (e.g. raw JSON values), with the same
    /// bad-line policy as [`RunFolder::metrics`].
    pub fn metric_lines<T: DeserializeOwned>(&self) -> Result<Vec<T>> {
        read_metrics_lines(&self.dir.join(METRICS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::runfolder::{to_json_bytes, RunKind};

    #[test]
    fn an_opened_folder_reads_its_manifest_once_and_its_files_on_demand() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let manifest = RunManifest::new("r1", RunKind::Train, "r1", "2026-01-01T00:00:00Z");
        std::fs::write(
            dir.join(RUN_MANIFEST),
            to_json_bytes(&manifest).expect("json"),
        )
        .expect("manifest");
        std::fs::write(
            dir.join(METRICS),
            "{\"step\": 1, \"loss\": 2.5}\n{\"step\": 2, \"lo",
        )
        .expect("metrics");
        let run = RunFolder::open(dir).expect("open");
        assert_eq!(run.manifest().run_id, "r1");
        assert!(!run.has_eval() && !run.has_items());
        let metrics = run.metrics().expect("metrics");
        assert_eq!(metrics.len(), 1, "the half-written last line is left out");
        assert_eq!(metrics[0].get("loss"), Some(2.5));
        let raw: Vec<serde_json::Value> = run.metric_lines().expect("raw lines");
        assert_eq!(raw, vec![serde_json::json!({"step": 1, "loss": 2.5})]);
        let err = run.summary().expect_err("no summary");
        assert!(err.to_string().contains(EVAL_SUMMARY), "{err}");
        let err = RunFolder::open_evaluated(dir, "runs/r1", "compared").expect_err("no eval");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert_eq!(
            err.message(),
            "runs/r1 has no eval_summary.json: only evaluated runs can be compared"
        );
    }

    #[test]
    fn a_folder_without_a_readable_manifest_does_not_open() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let err = RunFolder::open(tmp.path()).expect_err("no manifest");
        assert!(err.to_string().contains(RUN_MANIFEST), "{err}");
        std::fs::write(tmp.path().join(RUN_MANIFEST), "{\"run_id\": 3}").expect("write");
        let err = RunFolder::open(tmp.path()).expect_err("bad manifest");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.location().is_some(), "{err}");
    }
}
