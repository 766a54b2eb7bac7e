//! Synthetic but valid run folders, written through the real scoring and
//! run-folder code. Fixtures for tests and benchmarks (they need many
//! realistic runs without training or predictions files).

use std::path::{Path, PathBuf};

use tunix_core::error::{Error, Result};
use tunix_core::evalset::{Category, EvalItem};
use tunix_core::evaluate::{score_items, summarize, EvalSettings};
use tunix_core::fsutil::write_atomic;
use tunix_core::runfolder::{
    to_json_bytes, to_jsonl_bytes, Artifact, FileRef, RunKind, RunManifest, RunStatus, EVAL_ITEMS,
    EVAL_SUMMARY, RUN_MANIFEST,
};

/// A runs root for the run-id resolution tests: `run-weak` (skill 0.3)
/// and `run-strong` (0.9) at the top, and `sweep-1/trial-01` (0.5) inside
/// a folder that is not a run, each with 30 items.
pub fn write_runs_root(root: &Path) -> Result<()> {
    write_run(root, "run-weak", 30, 0.3)?;
    write_run(root, "run-strong", 30, 0.9)?;
    write_run(&root.join("sweep-1"), "trial-01", 30, 0.5)?;
    Ok(())
}

/// Write `root/<run_id>` with `n_items` items on a synthetic eval set, a
/// fraction `skill` of them answered correctly (deterministically: the same
/// arguments give the same files).
pub fn write_run(root: &Path, run_id: &str, n_items: usize, skill: f64) -> Result<PathBuf> {
    let items: Vec<EvalItem> = (0..n_items)
        .map(|i| EvalItem {
            id: format!("item-{i:06}"),
            category: [Category::Core, Category::Trace, Category::Edge][i % 3],
            prompt: format!("What is {i} + 1?"),
            expected_answer: (i + 1).to_string(),
            required_values: if i % 3 == 1 {
                vec![i.to_string()]
            } else {
                vec![]
            },
            tags: vec![],
        })
        .collect();
    let outputs = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let right = ((i * 7919) % 1000) as f64 / 1000.0 < skill;
            let answer = if right {
                item.expected_answer.clone()
            } else {
                "0".to_string()
            };
            (
                item.id.clone(),
                format!("{i} + 1 = {answer}. Answer: {answer}"),
            )
        })
        .collect();
    let settings = EvalSettings::default();
    let records = score_items(&items, &outputs, &settings);
    let evalset = FileRef {
        path: "evalsets/synthetic.jsonl".into(),
        blake3: "00".repeat(32),
    };
    let summary = summarize(&records, &items, evalset.clone(), vec![], &settings);
    let dir = root.join(run_id);
    let staging = root.join(format!(".synthetic-{run_id}"));
    let files = [
        (EVAL_ITEMS, to_jsonl_bytes(&records)?),
        (EVAL_SUMMARY, to_json_bytes(&summary)?),
    ];
    let mut artifacts = Vec::new();
    for (name, bytes) in &files {
        write_atomic(&staging.join(name), bytes)?;
        artifacts.push(Artifact::new(name.to_string(), bytes));
    }
    let mut manifest = RunManifest::new(run_id, RunKind::Eval, run_id, "2026-11-20T10:00:00Z");
    manifest.labels = [("model".to_string(), format!("m{}", (skill * 10.0) as u32))].into();
    manifest.status = RunStatus::Completed;
    manifest.finished_at = Some("2026-11-20T10:01:00Z".into());
    manifest.model_id = format!("external:{run_id}");
    manifest.evalset = Some(evalset);
    manifest.config = serde_json::json!({ "skill": skill });
    manifest.command = vec!["synthetic".into()];
    manifest.seed = Some(0);
    manifest.artifacts = artifacts;
    write_atomic(&staging.join(RUN_MANIFEST), &to_json_bytes(&manifest)?)?;
    std::fs::rename(&staging, &dir).map_err(|e| Error::io("move the run into place", &dir, e))?;
    Ok(dir)
}
