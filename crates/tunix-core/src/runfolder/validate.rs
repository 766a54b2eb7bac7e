//! Validating a run folder as the evidence rules and the index see it:
//! every file (checkpoints excluded) read and hashed with blake3,
//! `run_manifest.json` and `eval_summary.json` checked against their
//! schemas, the summary and the items present together, the run id naming
//! the folder, and (for [`validate_run_folder`]) the item and metrics
//! lines parsed. Pure with respect to the index: the index's ingest runs
//! [`read_head`] on its worker threads and builds its rows from the head.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use super::{
    parse_eval_items, parse_metrics_lines, relative_path, Artifact, EvalSummary, MetricRecord,
    RunManifest, EVAL_ITEMS, EVAL_SUMMARY, METRICS, RUN_MANIFEST,
};
use crate::schema_check::CompiledSchema;

/// Why a run folder is not valid (cannot be indexed or committed as
/// evidence): the file of the folder (and line)
/// at fault where there is one. Shown as `file:line: message`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", shown(.file.as_deref(), *.line, .message))]
pub struct FolderError {
    /// The file, relative to the run folder.
    pub file: Option<String>,
    /// 1-based line in `file`.
    pub line: Option<usize>,
    pub message: String,
}

fn shown(file: Option<&str>, line: Option<usize>, message: &str) -> String {
    match (file, line) {
        (Some(file), Some(line)) => format!("{file}:{line}: {message}"),
        (Some(file), None) => format!("{file}: {message}"),
        (None, _) => message.to_string(),
    }
}

impl FolderError {
    /// A problem of the folder as a whole.
    pub fn folder(message: impl Into<String>) -> FolderError {
        FolderError {
            file: None,
            line: None,
            message: message.into(),
        }
    }

    /// A problem of file `file`.
    pub fn in_file(file: &str, message: impl Into<String>) -> FolderError {
        FolderError {
            file: Some(file.to_string()),
            line: None,
            message: message.into(),
        }
    }

    /// A problem at line `line` of file `file`.
    pub fn at_line(file: &str, line: usize, message: impl Into<String>) -> FolderError {
        FolderError {
            file: Some(file.to_string()),
            line: Some(line),
            message: message.into(),
        }
    }
}

/// The reason as the ingest report and diagnostics show it.
impl From<FolderError> for String {
    fn from(e: FolderError) -> String {
        e.to_string()
    }
}

/// A run folder whose files were read, hashed, and whose manifest and
/// summary were validated; its rows are not parsed yet.
#[derive(Debug)]
pub struct FolderHead {
    pub run_dir: String,
    pub manifest: RunManifest,
    pub summary: Option<EvalSummary>,
    pub files: Vec<Artifact>,
    pub content_hash: String,
    /// File contents by path relative to the folder.
    contents: BTreeMap<String, Vec<u8>>,
}

/// Read every file of run folder `dir`, hash them, and validate the
/// manifest and summary.
pub fn read_head(dir: &Path, shown: &str) -> Result<FolderHead, FolderError> {
    static MANIFEST: OnceLock<CompiledSchema> = OnceLock::new();
    static SUMMARY: OnceLock<CompiledSchema> = OnceLock::new();
    let mut files: Vec<Artifact> = Vec::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != "checkpoints")
    {
        let entry = entry.map_err(|e| FolderError::folder(format!("cannot list: {e}")))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = relative_path(dir, entry.path());
        let bytes = std::fs::read(entry.path())
            .map_err(|e| FolderError::in_file(&rel, format!("cannot read: {e}")))?;
        files.push(Artifact::new(rel.clone(), &bytes));
        contents.insert(rel, bytes);
    }
    let mut hasher = blake3::Hasher::new();
    for f in &files {
        hasher.update(f.path.as_bytes());
        hasher.update(b"\0");
        hasher.update(f.blake3.as_bytes());
    }
    let get = |name: &str| contents.get(name).map(Vec::as_slice);
    let manifest: RunManifest = parse_checked(
        get(RUN_MANIFEST).unwrap_or_default(),
        RUN_MANIFEST,
        schema_of::<RunManifest>(&MANIFEST),
    )?;
    let summary: Option<EvalSummary> = get(EVAL_SUMMARY)
        .map(|b| parse_checked(b, EVAL_SUMMARY, schema_of::<EvalSummary>(&SUMMARY)))
        .transpose()?;
    Ok(FolderHead {
        run_dir: shown.to_string(),
        manifest,
        summary,
        files,
        content_hash: hasher.finalize().to_hex().to_string(),
        contents,
    })
}

impl FolderHead {
    /// The bytes of the folder's file `name` (relative to the folder), as
    /// read; `None` when it has none (or after [`FolderHead::into_unchanged`]).
    pub fn content(&self, name: &str) -> Option<&[u8]> {
        self.contents.get(name).map(Vec::as_slice)
    }

    /// The metrics lines, by the format's one policy
    /// ([`parse_metrics_lines`]).
    pub fn metrics(&self) -> Result<Vec<MetricRecord>, FolderError> {
        let Some(bytes) = self.content(METRICS) else {
            return Ok(Vec::new());
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|e| FolderError::in_file(METRICS, format!("not UTF-8: {e}")))?;
        parse_metrics_lines(text)
            .map_err(|bad| FolderError::at_line(METRICS, bad.line, bad.message))
    }

    /// Finish the checks without parsing the rows: for a folder whose
    /// files are byte for byte those already indexed (and validated then).
    pub fn into_unchanged(mut self) -> Result<FolderHead, FolderError> {
        self.check()?;
        self.contents.clear();
        Ok(self)
    }

    /// The checks across files: summary and items together, and the run
    /// id naming the folder.
    pub fn check(&self) -> Result<(), FolderError> {
        if self.summary.is_some() != self.contents.contains_key(EVAL_ITEMS) {
            return Err(FolderError::folder(format!(
                "{EVAL_SUMMARY} and {EVAL_ITEMS} must both be present or both absent"
            )));
        }
        let folder_name = Path::new(&self.run_dir)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if self.manifest.run_id != folder_name {
            return Err(FolderError::folder(format!(
                "run_id `{}` in {RUN_MANIFEST} does not match the folder name `{folder_name}`",
                self.manifest.run_id
            )));
        }
        Ok(())
    }
}

fn schema_of<T: schemars::JsonSchema>(
    cell: &'static OnceLock<CompiledSchema>,
) -> &'static CompiledSchema {
    cell.get_or_init(|| {
        CompiledSchema::new(crate::schema_check::generate::<T>())
            .unwrap_or_else(|e| panic!("generated schema must compile: {e}"))
    })
}

fn parse_checked<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    file: &str,
    schema: &CompiledSchema,
) -> Result<T, FolderError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| FolderError::in_file(file, format!("invalid JSON: {e}")))?;
    if let Some(issue) = schema.check(&value).into_iter().next() {
        return Err(FolderError::in_file(
            file,
            format!("{} (at {})", issue.message, issue.pointer),
        ));
    }
    serde_json::from_value(value).map_err(|e| FolderError::in_file(file, e.to_string()))
}

/// A run folder that passed every check.
#[derive(Debug)]
pub struct ValidRun {
    pub manifest: RunManifest,
    pub summary: Option<EvalSummary>,
    /// Records in `eval_items.jsonl`.
    pub n_items: usize,
    /// Lines in `metrics.jsonl`.
    pub n_metrics: usize,
}

/// Read and validate the run folder `dir` (`shown` is its path in
/// messages): the head's checks, every `eval_items.jsonl` line an item
/// record (blank lines skipped), every metrics line a metrics record.
pub fn validate_run_folder(dir: &Path, shown: &str) -> Result<ValidRun, FolderError> {
    let head = read_head(dir, shown)?;
    let n_items = match head.content(EVAL_ITEMS) {
        Some(bytes) => item_lines(bytes)?,
        None => 0,
    };
    let n_metrics = head.metrics()?.len();
    let head = head.into_unchanged()?;
    Ok(ValidRun {
        manifest: head.manifest,
        summary: head.summary,
        n_items,
        n_metrics,
    })
}

/// How many item records `eval_items.jsonl`'s bytes hold, by the
/// format's reader ([`parse_eval_items`]); its first bad line is the error.
fn item_lines(bytes: &[u8]) -> Result<usize, FolderError> {
    parse_eval_items(bytes, Path::new(EVAL_ITEMS))
        .map(|records| records.len())
        .map_err(|e| match e.location() {
            Some(at) => FolderError::at_line(EVAL_ITEMS, at.line, e.message()),
            None => FolderError::in_file(EVAL_ITEMS, e.message()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runfolder::{to_json_bytes, RunKind};

    fn folder(root: &Path, id: &str) -> std::path::PathBuf {
        let dir = root.join(id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let manifest = RunManifest::new(id, RunKind::Train, id, "2026-01-01T00:00:00Z");
        std::fs::write(
            dir.join(RUN_MANIFEST),
            to_json_bytes(&manifest).expect("json"),
        )
        .expect("manifest");
        dir
    }

    #[test]
    fn a_train_folder_validates_and_each_rule_names_its_file_and_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = folder(tmp.path(), "r1");
        std::fs::write(
            dir.join(METRICS),
            "{\"step\": 1, \"loss\": 2}\n{\"step\": 2",
        )
        .expect("w");
        let run = validate_run_folder(&dir, "runs/r1").expect("valid");
        assert_eq!((run.manifest.run_id.as_str(), run.n_metrics), ("r1", 1));
        assert_eq!(run.n_items, 0);

        std::fs::write(dir.join(METRICS), "{\"step\": 1}\nnope\n{\"step\": 2}\n").expect("w");
        let err = validate_run_folder(&dir, "runs/r1").expect_err("bad metrics line");
        assert_eq!((err.file.as_deref(), err.line), (Some(METRICS), Some(2)));

        std::fs::remove_file(dir.join(METRICS)).expect("rm");
        std::fs::write(dir.join(EVAL_ITEMS), "\n").expect("w");
        let err = validate_run_folder(&dir, "runs/r1").expect_err("items without summary");
        assert!(err.message.contains("must both be present"), "{err}");

        let other = folder(tmp.path(), "r2");
        std::fs::rename(&other, tmp.path().join("renamed")).expect("mv");
        let err = validate_run_folder(&tmp.path().join("renamed"), "runs/renamed")
            .expect_err("run id names the folder");
        assert!(
            err.message.contains("does not match the folder name"),
            "{err}"
        );
    }
}
