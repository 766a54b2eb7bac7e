//! One run folder as the index holds it: the run folder's validation
//! (`runfolder::validate`: files read and hashed, manifest and summary
//! checked) and its rows (`eval_items.jsonl` as an Arrow batch, the
//! metrics lines). Pure with respect to the index: this runs on the
//! ingest's worker threads.

use std::path::Path;

use super::items::{ItemBatch, ItemsError};
pub use crate::runfolder::validate::{read_head, FolderError, FolderHead};
use crate::runfolder::{Artifact, EvalSummary, MetricRecord, RunManifest, EVAL_ITEMS};

/// A bad `eval_items.jsonl` (at a line, or as a whole).
impl From<ItemsError> for FolderError {
    fn from(e: ItemsError) -> FolderError {
        match e.line {
            Some(line) => FolderError::at_line(EVAL_ITEMS, line, e.message),
            None => FolderError::in_file(EVAL_ITEMS, e.message),
        }
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

/// Read and validate one run folder (`shown` is its path in messages).
pub fn load_run_folder(dir: &Path, shown: &str) -> Result<RunRecord, FolderError> {
    into_record(read_head(dir, shown)?)
}

/// The run folder as the index holds it: the head's rows parsed and its
/// checks finished.
pub fn into_record(head: FolderHead) -> Result<RunRecord, FolderError> {
    let items = match head.content(EVAL_ITEMS) {
        Some(bytes) => ItemBatch::parse(&head.manifest.run_id, bytes)?,
        None => ItemBatch::empty(),
    };
    let metrics = head.metrics()?;
    head.check()?;
    Ok(RunRecord {
        run_dir: head.run_dir,
        manifest: head.manifest,
        summary: head.summary,
        items,
        metrics,
        files: head.files,
        content_hash: head.content_hash,
    })
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
