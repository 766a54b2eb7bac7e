//! Executes jobs and writes their run folders. Only this module and the
//! store do I/O on behalf of a job.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::manifest::eval::ModelSource;
use crate::manifest::{LoadedManifest, Manifest};
use crate::runfolder::{
    git_info, now_rfc3339, to_json_bytes, to_jsonl_bytes, EvalSummary, FileRef, RunManifest,
    RunStatus, StagedRun, EVAL_ITEMS, EVAL_SUMMARY, RUN_LOG, RUN_MANIFEST, SCHEMA_VERSION,
};
use crate::train::job::TrainJob;
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
    /// Folder that holds run folders.
    pub runs_root: PathBuf,
    /// Exact run folder to create (must not exist); overrides `runs_root`.
    pub out: Option<PathBuf>,
    /// The resolved configuration recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
}

/// What a finished evaluation produced.
#[derive(Debug, Clone)]
pub struct EvalOutcome {
    pub run_dir: PathBuf,
    /// The evaluation's summary; none for a Train job without an eval section.
    pub summary: Option<EvalSummary>,
    /// Things the user should know (e.g. a device fallback).
    pub notes: Vec<String>,
}

/// Score the predictions and write the run folder. Bad eval sets or
/// predictions fail before anything is written.
pub fn eval_predictions(ws: &Workspace, job: &PredictionsEval) -> Result<EvalOutcome> {
    let created_at = now_rfc3339();
    let mut log = String::new();
    let evalset_shown = ws.display_path(&job.evalset).display().to_string();
    let evalset = crate::evalset::load(&job.evalset, &evalset_shown)
        .map_err(|d| Error::invalid_file(&evalset_shown, d))?;
    let _ = writeln!(
        log,
        "{created_at} evalset {evalset_shown}: {} items, blake3 {}",
        evalset.items.len(),
        evalset.blake3
    );
    let predictions_shown = ws.display_path(&job.predictions).display().to_string();
    let predictions =
        crate::predictions::load(&job.predictions, &predictions_shown, &evalset.items)
            .map_err(|d| Error::invalid_file(&predictions_shown, d))?;
    let _ = writeln!(
        log,
        "{created_at} predictions {predictions_shown}: {} outputs ({} empty), blake3 {}",
        predictions.by_id.len(),
        predictions.empty_outputs.len(),
        predictions.blake3
    );

    let records = score_items(&evalset.items, &predictions.by_id, &job.settings);
    let evalset_ref = FileRef {
        path: evalset_shown.clone(),
        blake3: evalset.blake3.clone(),
    };
    let summary = summarize(
        &records,
        evalset_ref.clone(),
        predictions.empty_outputs.clone(),
        &job.settings,
    );
    let _ = writeln!(
        log,
        "{} scored {} of {} items ({} skipped): primary_score {}",
        now_rfc3339(),
        summary.n_scored,
        summary.n_items,
        summary.n_skipped,
        summary
            .primary_score
            .map_or("null".to_string(), |s| format!("{s:.4}"))
    );

    let (root, name) = match &job.out {
        Some(out) => out_dir_parts(out)?,
        None => (job.runs_root.clone(), job.name.clone()),
    };
    let mut staged = StagedRun::begin(&root, &name)?;
    staged.write(EVAL_ITEMS, &to_jsonl_bytes(&records)?)?;
    staged.write(EVAL_SUMMARY, &to_json_bytes(&summary)?)?;
    let run_id = match &job.out {
        Some(_) => name.clone(),
        None => staged.final_name(),
    };
    let _ = writeln!(log, "{} run {run_id} complete", now_rfc3339());
    staged.write(RUN_LOG, log.as_bytes())?;
    let stem = job
        .predictions
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let manifest = RunManifest {
        schema_version: SCHEMA_VERSION,
        run_id: run_id.clone(),
        kind: "Eval".to_string(),
        name: job.name.clone(),
        labels: job.labels.clone(),
        status: RunStatus::Completed,
        created_at,
        finished_at: Some(now_rfc3339()),
        git: git_info(ws.root()),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        libtorch_version: crate::doctor::libtorch_version().to_string(),
        device: "none".to_string(),
        model_id: format!("external:{stem}"),
        dataset: None,
        evalset: Some(evalset_ref),
        predictions: Some(FileRef {
            path: predictions_shown,
            blake3: predictions.blake3,
        }),
        config: job.config.clone(),
        command: job.command.clone(),
        seed: Some(job.settings.seed),
        tuning_job_id: None,
        trial_id: None,
        artifacts: staged.artifacts(),
        failure: None,
    };
    staged.write(RUN_MANIFEST, &to_json_bytes(&manifest)?)?;
    let run_dir = staged.commit(&run_id)?;
    Ok(EvalOutcome {
        run_dir,
        summary: Some(summary),
        notes: Vec::new(),
    })
}

/// `--out DIR`: DIR must not exist yet; it is created whole at the end.
fn out_dir_parts(out: &Path) -> Result<(PathBuf, String)> {
    if out.exists() {
        return Err(Error::bad_input(format!(
            "--out {} already exists; choose a new folder (existing runs are never overwritten)",
            out.display()
        )));
    }
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::bad_input(format!("--out {} has no folder name", out.display())))?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok((parent, name))
}

/// Run a loaded manifest.
pub fn run_manifest(
    ws: &Workspace,
    loaded: &LoadedManifest,
    command: Vec<String>,
) -> Result<EvalOutcome> {
    let resolve = |p: &Path| {
        ws.resolve(&loaded.path, p)
            .map_err(|e| Error::bad_input(e).with_path(&loaded.path))
    };
    match &loaded.manifest {
        Manifest::Eval(m) => {
            let spec = &m.spec;
            let predictions = match &spec.model {
                ModelSource::Predictions(p) => resolve(p)?,
                ModelSource::Checkpoint(_) => {
                    return Err(Error::bad_input(
                        "evaluating a checkpoint from an Eval manifest is not supported yet; a Train manifest's `eval` section evaluates its model at the end of training, or score a predictions file (`model: { predictions: file.jsonl }`)",
                    )
                    .with_path(&loaded.path))
                }
            };
            let runs_root = match &spec.output.root {
                Some(r) => resolve(r)?,
                None => ws.root().join("submission_runs"),
            };
            let job = PredictionsEval {
                name: spec.output.name.clone().unwrap_or_else(|| m.metadata.name.clone()),
                labels: m.metadata.labels.clone(),
                evalset: resolve(&spec.evalset)?,
                predictions,
                settings: EvalSettings {
                    extraction: spec.answer_extraction.clone(),
                    equivalence: spec.equivalence,
                    seed: crate::scoring::DEFAULT_BOOTSTRAP_SEED,
                },
                runs_root,
                out: None,
                config: serde_json::to_value(m).unwrap_or_default(),
                command,
            };
            eval_predictions(ws, &job)
        }
        Manifest::Train(m) => {
            let spec = &m.spec;
            let runs_root = match &spec.output.root {
                Some(r) => resolve(r)?,
                None => ws.root().join("submission_runs"),
            };
            let evalset = spec.eval.as_ref().map(|e| resolve(&e.evalset)).transpose()?;
            let job = TrainJob {
                name: m.metadata.name.clone(),
                labels: m.metadata.labels.clone(),
                spec: spec.clone(),
                evalset,
                runs_root,
                run_name: spec.output.name.clone().unwrap_or_else(|| m.metadata.name.clone()),
                config: serde_json::to_value(m).unwrap_or_default(),
                command,
                manifest_path: loaded.path.clone(),
                tuning_job_id: None,
                trial_id: None,
            };
            let outcome = crate::train::job::run(ws, &job)?;
            Ok(EvalOutcome {
                run_dir: outcome.run_dir,
                summary: outcome.summary,
                notes: outcome.notes,
            })
        }
        other => Err(Error::bad_input(format!(
            "running {} manifests needs the sweep runtime, which this version does not have yet; `tunix-rt validate` checks them",
            other.kind().name()
        ))
        .with_path(&loaded.path)),
    }
}
