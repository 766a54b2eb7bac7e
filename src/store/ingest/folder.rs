//! One run folder read for the index: every file (checkpoints excluded)
//! read and hashed with blake3, `run_manifest.json` and `eval_summary.json`
//! checked against their schemas, `eval_items.jsonl` and `metrics.jsonl`
//! parsed line by line. Pure with respect to the index: this runs on the
//! ingest's worker threads.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use super::items::{ItemBatch, ItemsError};
use crate::runfolder::{
    relative_path, Artifact, EvalSummary, MetricRecord, RunManifest, EVAL_ITEMS, EVAL_SUMMARY,
    METRICS, RUN_MANIFEST,
};
use crate::schema_check::CompiledSchema;

/// Why a run folder cannot be indexed: the file of the folder (and line)
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

/// A bad `eval_items.jsonl` (at a line, or as a whole).
impl From<ItemsError> for FolderError {
    fn from(e: ItemsError) -> FolderError {
        match e.line {
            Some(line) => FolderError::at_line(EVAL_ITEMS, line, e.message),
            None => FolderError::in_file(EVAL_ITEMS, e.message),
        }
    }
}

/// The reason as the ingest report and diagnostics show it.
impl From<FolderError> for String {
    fn from(e: FolderError) -> String {
        e.to_string()
    }
}

/// A validated run folder, ready to insert.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub run_dir: String,
    pub manifest: RunManifest,
    pub summary: Option<EvalSummary>,
    /// The `eval_items` rows.
    pub items: ItemBatch,
    pub metrics: Vec<MetricRecord>,
    /// Every file of the folder (checkpoints excluded), hashed.
    pub files: Vec<Artifact>,
    /// blake3 over the folder's files: changes when any of them changes.
    pub content_hash: String,
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

/// Read and validate one run folder (`shown` is its path in messages).
pub fn load_run_folder(dir: &Path, shown: &str) -> Result<RunRecord, FolderError> {
    read_head(dir, shown)?.into_record()
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
    /// Parse the rows and finish the checks: the run folder as the index
    /// holds it.
    pub fn into_record(self) -> Result<RunRecord, FolderError> {
        let items = match self.contents.get(EVAL_ITEMS) {
            Some(bytes) => ItemBatch::parse(&self.manifest.run_id, bytes)?,
            None => ItemBatch::empty(),
        };
        let metrics: Vec<MetricRecord> = self
            .contents
            .get(METRICS)
            .map(|b| parse_lines(b, METRICS))
            .transpose()?
            .unwrap_or_default();
        self.check()?;
        Ok(RunRecord {
            run_dir: self.run_dir,
            manifest: self.manifest,
            summary: self.summary,
            items,
            metrics,
            files: self.files,
            content_hash: self.content_hash,
        })
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
    fn check(&self) -> Result<(), FolderError> {
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

fn parse_lines<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    file: &str,
) -> Result<Vec<T>, FolderError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| FolderError::in_file(file, format!("not UTF-8: {e}")))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| FolderError::at_line(file, i + 1, e.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_show_file_and_line_where_known() {
        assert_eq!(
            FolderError::at_line("eval_items.jsonl", 7, "bad").to_string(),
            "eval_items.jsonl:7: bad"
        );
        assert_eq!(
            FolderError::in_file("run.log", "cannot read: gone").to_string(),
            "run.log: cannot read: gone"
        );
        assert_eq!(FolderError::folder("no").to_string(), "no");
        assert_eq!(String::from(FolderError::folder("no")), "no");
        for line in [Some(7), None] {
            let items = ItemsError {
                line,
                message: "bad".to_string(),
            };
            assert_eq!(
                FolderError::from(items.clone()).to_string(),
                items.to_string()
            );
        }
    }

    #[test]
    fn a_folder_reads_validates_and_hashes_like_its_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let run = tunix_testkit::synthetic::write_run(dir.path(), "r1", 9, 0.5).expect("run");
        let record = load_run_folder(&run, "runs/r1").expect("valid");
        assert_eq!(record.items.len(), 9);
        assert_eq!(record.run_dir, "runs/r1");
        let head = read_head(&run, "runs/r1").expect("head");
        assert_eq!(head.content_hash, record.content_hash);
        let unchanged = head.into_unchanged().expect("checks pass");
        assert_eq!(unchanged.manifest.run_id, "r1");

        let items = run.join(EVAL_ITEMS);
        let text = std::fs::read_to_string(&items).expect("read");
        let broken: String = text
            .lines()
            .enumerate()
            .map(|(i, l)| match i {
                1 => format!("{}\n", l.replace("\"category\"", "\"categroy\"")),
                _ => format!("{l}\n"),
            })
            .collect();
        std::fs::write(&items, broken).expect("write");
        let err = load_run_folder(&run, "runs/r1").expect_err("line 2 is bad");
        assert_eq!(
            (err.file.as_deref(), err.line),
            (Some(EVAL_ITEMS), Some(2)),
            "{err}"
        );
        assert!(err.message.contains("unknown field `categroy`"), "{err}");
    }
}
