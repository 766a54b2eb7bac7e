//! Test run folders for the index and the report inputs: a synthetic run
//! (`tunix_testkit::synthetic::write_run`) given item tags and, optionally, the
//! calculator flag in its recorded config.

use std::path::{Path, PathBuf};

use crate::runfolder::{
    read_eval_items, read_manifest, read_summary, to_json_bytes, EVAL_SUMMARY, RUN_MANIFEST,
};
use crate::scoring::{build_scorecard, ItemRow, DEFAULT_BOOTSTRAP_SEED};

/// The tags synthetic item `i` gets: none when `i % 3 == 2`; otherwise
/// `all`, and `even` too when `i` is even.
pub fn tags_of(i: usize) -> Vec<String> {
    match (i % 3, i % 2) {
        (2, _) => vec![],
        (_, 0) => vec!["all".into(), "even".into()],
        _ => vec!["all".into()],
    }
}

/// Write synthetic run `run_id` under `root` (`n` items answered right
/// with probability `skill`), with per-tag figures from [`tags_of`] in its
/// summary and `decoding.calculator` = `calculator` in its config.
pub fn tagged_run(root: &Path, run_id: &str, n: usize, skill: f64, calculator: bool) -> PathBuf {
    let dir = tunix_testkit::synthetic::write_run(root, run_id, n, skill).expect("synthetic run");
    let rows: Vec<ItemRow> = read_eval_items(&dir)
        .expect("items")
        .iter()
        .enumerate()
        .map(|(i, r)| ItemRow {
            tags: tags_of(i),
            ..r.item_row()
        })
        .collect();
    let mut summary = read_summary(&dir).expect("summary");
    summary.scorecard = build_scorecard(&rows, DEFAULT_BOOTSTRAP_SEED);
    write(
        &dir.join(EVAL_SUMMARY),
        &to_json_bytes(&summary).expect("json"),
    );
    let mut manifest = read_manifest(&dir).expect("manifest");
    manifest.config = serde_json::json!({
        "kind": "Train",
        "spec": { "eval": { "decoding": { "calculator": calculator } } }
    });
    write(
        &dir.join(RUN_MANIFEST),
        &to_json_bytes(&manifest).expect("json"),
    );
    dir
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
}
