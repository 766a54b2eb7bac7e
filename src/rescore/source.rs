//! The run being re-scored, read and checked: its manifest, summary and
//! stored raw outputs (`eval_items.jsonl`, which must still be the file the
//! run recorded), and the eval set it was scored on (which must still have
//! the blake3 the run recorded).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::evalset::EvalItem;
use crate::fsutil::blake3_hex;
use crate::runfolder::{
    parse_eval_items, EvalItemRecord, EvalSummary, FileRef, RunFolder, RunManifest, RunStatus,
    EVAL_ITEMS, RUN_MANIFEST,
};
use crate::workspace::Workspace;

/// An evaluated run folder and its eval set, checked.
#[derive(Debug, Clone)]
pub struct Source {
    /// The run folder.
    pub dir: PathBuf,
    /// The folder as shown (relative to the workspace where possible).
    pub shown: String,
    pub manifest: RunManifest,
    pub summary: EvalSummary,
    /// The stored records, with the raw outputs.
    pub items: Vec<EvalItemRecord>,
    /// `eval_items.jsonl` (shown path) and its blake3.
    pub items_file: FileRef,
    /// The eval set the run was scored on, as it recorded it.
    pub evalset: FileRef,
    /// The eval set's items, read from the unchanged file.
    pub evalset_items: Vec<EvalItem>,
}

impl Source {
    /// The raw outputs by item id (items without an output are absent).
    pub fn outputs(&self) -> BTreeMap<String, String> {
        self.items
            .iter()
            .filter_map(|r| r.output.clone().map(|o| (r.id.clone(), o)))
            .collect()
    }
}

/// Read and check the run folder `dir`.
pub fn read(ws: &Workspace, dir: &Path) -> Result<Source> {
    let shown = ws.display_path(dir).display().to_string();
    let run = RunFolder::open_evaluated(dir, &shown, "re-scored")?;
    let manifest = run.manifest().clone();
    if manifest.status == RunStatus::Running {
        return Err(Error::bad_input(format!(
            "run `{}` is still running (or crashed while running); re-score it once it has finished",
            manifest.run_id
        ))
        .with_path(dir.join(RUN_MANIFEST)));
    }
    let evalset = manifest.evalset.clone().ok_or_else(|| {
        Error::bad_input(format!(
            "run `{}` records no eval set, so its outputs cannot be re-scored",
            manifest.run_id
        ))
        .with_path(dir.join(RUN_MANIFEST))
    })?;
    let summary = run.summary()?;
    let items_path = dir.join(EVAL_ITEMS);
    let items_bytes = std::fs::read(&items_path)
        .map_err(|e| Error::user_file("read the eval items", &items_path, e))?;
    let items_blake3 = blake3_hex(&items_bytes);
    if let Some(recorded) = manifest.artifacts.iter().find(|a| a.path == EVAL_ITEMS) {
        if recorded.blake3 != items_blake3 {
            return Err(Error::bad_input(format!(
                "{EVAL_ITEMS} of run `{}` changed since the run recorded it (blake3 {} in {RUN_MANIFEST}, {} now); the stored outputs are no longer the run's evidence",
                manifest.run_id,
                short(&recorded.blake3),
                short(&items_blake3)
            ))
            .with_path(items_path));
        }
    }
    let items = parse_eval_items(&items_bytes, &items_path)?;
    let evalset_items = read_evalset(ws, &manifest.run_id, &evalset)?;
    check_same_items(&manifest.run_id, &items, &evalset_items, &evalset.path)?;
    Ok(Source {
        items_file: FileRef {
            path: ws.display_path(&items_path).display().to_string(),
            blake3: items_blake3,
        },
        dir: dir.to_path_buf(),
        shown,
        manifest,
        summary,
        items,
        evalset,
        evalset_items,
    })
}

/// The eval set `recorded` names (relative to the workspace root unless
/// absolute), refused unless its blake3 is still the recorded one.
fn read_evalset(ws: &Workspace, run_id: &str, recorded: &FileRef) -> Result<Vec<EvalItem>> {
    let path = Path::new(&recorded.path);
    let path = if path.is_absolute() {
        path.to_path_buf()
    } else {
        ws.root().join(path)
    };
    let bytes = std::fs::read(&path).map_err(|e| {
        Error::user_file(
            &format!("read the eval set run `{run_id}` was scored on"),
            &path,
            e,
        )
    })?;
    let now = blake3_hex(&bytes);
    if now != recorded.blake3 {
        return Err(Error::bad_input(format!(
            "the eval set {} changed since run `{run_id}` was scored on it (blake3 {} recorded, {} now); re-scoring needs the exact eval set: restore it (e.g. from git), or evaluate the model again on the new one",
            recorded.path,
            short(&recorded.blake3),
            short(&now)
        ))
        .with_path(path));
    }
    crate::evalset::parse(&recorded.path, &bytes)
        .map_err(|d| Error::invalid_file(&recorded.path, d))
}

/// The run's records must be exactly the eval set's items, once each.
fn check_same_items(
    run_id: &str,
    records: &[EvalItemRecord],
    evalset: &[EvalItem],
    evalset_shown: &str,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    if let Some(dup) = records.iter().find(|r| !seen.insert(r.id.as_str())) {
        return Err(Error::bad_input(format!(
            "{EVAL_ITEMS} of run `{run_id}` holds item `{}` twice",
            dup.id
        )));
    }
    let expected: BTreeSet<&str> = evalset.iter().map(|i| i.id.as_str()).collect();
    let extra: Vec<&str> = seen.difference(&expected).copied().collect();
    let missing: Vec<&str> = expected.difference(&seen).copied().collect();
    if extra.is_empty() && missing.is_empty() {
        return Ok(());
    }
    let list = |ids: &[&str]| {
        let mut shown: Vec<&str> = ids.iter().take(5).copied().collect();
        if ids.len() > 5 {
            shown.push("…");
        }
        shown.join(", ")
    };
    Err(Error::bad_input(format!(
        "{EVAL_ITEMS} of run `{run_id}` does not match the eval set {evalset_shown}: {} item(s) not in the eval set ({}), {} eval-set item(s) without a record ({})",
        extra.len(),
        list(&extra),
        missing.len(),
        list(&missing)
    )))
}

/// A hash as shown in messages: its first 12 characters.
fn short(hash: &str) -> String {
    format!("{}…", hash.chars().take(12).collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evalset::Category;

    fn item(id: &str) -> EvalItem {
        EvalItem {
            id: id.into(),
            category: Category::Core,
            prompt: "p".into(),
            expected_answer: "1".into(),
            required_values: vec![],
            tags: vec![],
        }
    }

    fn record(id: &str) -> EvalItemRecord {
        EvalItemRecord {
            id: id.into(),
            category: "core".into(),
            expected: "1".into(),
            output: Some("1".into()),
            extracted: Some("1".into()),
            extraction_rule: None,
            answer_correctness: Some(1.0),
            trace_consistency: None,
        }
    }

    #[test]
    fn records_must_be_the_eval_sets_items_once_each() {
        let set = [item("a"), item("b")];
        assert!(check_same_items("r", &[record("b"), record("a")], &set, "e").is_ok());
        let dup = check_same_items("r", &[record("a"), record("a"), record("b")], &set, "e")
            .expect_err("duplicate");
        assert!(dup.message().contains("`a` twice"), "{dup}");
        let off =
            check_same_items("r", &[record("a"), record("z")], &set, "e").expect_err("mismatch");
        assert!(off.message().contains("(z)"), "{off}");
        assert!(off.message().contains("(b)"), "{off}");
    }
}
