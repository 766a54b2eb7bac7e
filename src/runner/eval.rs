//! Scoring an external model's predictions on an eval set, recorded
//! through the run lifecycle. Bad eval sets or predictions fail before
//! anything is written.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::Outcome;
use crate::error::{Error, Result};
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::job::{self, identity, Placement, RunRecord};
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{
    to_json_bytes, to_jsonl_bytes, EvalItemRecord, EvalSummary, FileRef, RunKind, RunManifest,
    RunStatus, EVAL_ITEMS, EVAL_SUMMARY,
};
use crate::workspace::Workspace;

/// Scoring an external model's predictions on an eval set.
#[derive(Debug, Clone)]
pub struct PredictionsEval {
    /// Run name (the run folder's default name).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub evalset: PathBuf,
    pub predictions: PathBuf,
    pub settings: EvalSettings,
    /// Where the run folder goes.
    pub placement: Placement,
    /// The resolved configuration recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
}

/// Score the predictions and record the run.
pub fn eval_predictions(ws: &Workspace, job: &PredictionsEval) -> Result<Outcome> {
    let created_at = now_rfc3339();
    let evalset_shown = ws.display_path(&job.evalset).display().to_string();
    let evalset = crate::evalset::load(&job.evalset, &evalset_shown)
        .map_err(|d| Error::invalid_file(&evalset_shown, d))?;
    let predictions_shown = ws.display_path(&job.predictions).display().to_string();
    let predictions =
        crate::predictions::load(&job.predictions, &predictions_shown, &evalset.items)
            .map_err(|d| Error::invalid_file(&predictions_shown, d))?;
    let records = score_items(&evalset.items, &predictions.by_id, &job.settings);
    let evalset_ref = FileRef {
        path: evalset_shown.clone(),
        blake3: evalset.blake3.clone(),
    };
    let predictions_ref = FileRef {
        path: predictions_shown.clone(),
        blake3: predictions.blake3.clone(),
    };
    let summary = summarize(
        &records,
        &evalset.items,
        evalset_ref.clone(),
        predictions.empty_outputs.clone(),
        &job.settings,
    );
    let identity = identity::eval(&evalset_ref, &predictions_ref, &job.settings);

    let claim = job::claim(&job.placement, RunKind::Eval, &identity)?;
    let stem = job
        .predictions
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut manifest = RunManifest::new(&claim.run_id, RunKind::Eval, &job.name, &created_at);
    manifest.labels = job.labels.clone();
    manifest.git = git_info(ws.root());
    manifest.model_id = format!("external:{stem}");
    manifest.evalset = Some(evalset_ref);
    manifest.predictions = Some(predictions_ref);
    manifest.config = job.config.clone();
    manifest.command = job.command.clone();
    manifest.seed = Some(job.settings.seed);
    manifest.config_hash = Some(identity);
    let mut run = RunRecord::begin(claim, manifest)?;
    run.log(&format!(
        "evalset {evalset_shown}: {} items, blake3 {}",
        evalset.items.len(),
        evalset.blake3
    ))?;
    run.log(&format!(
        "predictions {predictions_shown}: {} outputs ({} empty), blake3 {}",
        predictions.by_id.len(),
        predictions.empty_outputs.len(),
        predictions.blake3
    ))?;
    let written = publish_scores(&mut run, &records, &summary);
    if let Err(e) = written {
        let failure = crate::runfolder::Failure {
            class: "crash".to_string(),
            message: e.to_string(),
        };
        run.finish(RunStatus::Failed, Some(failure))?;
        return Err(e);
    }
    run.log(&format!("run {} complete", run.run_id()))?;
    let run_dir = run.finish(RunStatus::Completed, None)?;
    Ok(Outcome {
        run_dir,
        status: RunStatus::Completed,
        summary: Some(summary),
        notes: Vec::new(),
    })
}

/// Write the scored items and the summary into the run and log the score.
pub fn publish_scores(
    run: &mut RunRecord,
    records: &[EvalItemRecord],
    summary: &EvalSummary,
) -> Result<()> {
    run.publish(EVAL_ITEMS, &to_jsonl_bytes(records)?)?;
    run.publish(EVAL_SUMMARY, &to_json_bytes(summary)?)?;
    run.log(&format!(
        "scored {} of {} items ({} skipped): primary_score {}",
        summary.n_scored,
        summary.n_items,
        summary.n_skipped,
        summary
            .primary_score
            .map_or("null".to_string(), |s| format!("{s:.4}"))
    ))
}
