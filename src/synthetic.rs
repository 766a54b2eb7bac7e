//! Synthetic but valid run folders, written through the real scoring and
//! run-folder code. For tests and benchmarks: they need many realistic runs
//! without training or predictions files.

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::evalset::{Category, EvalItem};
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::runfolder::{
    to_json_bytes, to_jsonl_bytes, FileRef, RunManifest, RunStatus, StagedRun, EVAL_ITEMS,
    EVAL_SUMMARY, RUN_MANIFEST, SCHEMA_VERSION,
};

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
    let summary = summarize(&records, evalset.clone(), vec![], &settings);
    let mut staged = StagedRun::begin(root, run_id)?;
    staged.write(EVAL_ITEMS, &to_jsonl_bytes(&records)?)?;
    staged.write(EVAL_SUMMARY, &to_json_bytes(&summary)?)?;
    let manifest = RunManifest {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.to_string(),
        kind: "Eval".into(),
        name: run_id.to_string(),
        labels: [("model".to_string(), format!("m{}", (skill * 10.0) as u32))].into(),
        status: RunStatus::Completed,
        created_at: "2026-11-20T10:00:00Z".into(),
        finished_at: Some("2026-11-20T10:01:00Z".into()),
        git: None,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        libtorch_version: crate::doctor::libtorch_version().into(),
        device: "none".into(),
        model_id: format!("external:{run_id}"),
        dataset: None,
        evalset: Some(evalset),
        predictions: None,
        config: serde_json::json!({ "skill": skill }),
        command: vec!["synthetic".into()],
        seed: Some(0),
        tuning_job_id: None,
        trial_id: None,
        artifacts: staged.artifacts(),
        failure: None,
    };
    staged.write(RUN_MANIFEST, &to_json_bytes(&manifest)?)?;
    staged.commit(run_id)
}
