use crate::cli::EvalArgs;
use tunix_rt::error::{Error, Result};
use tunix_rt::evaluate::EvalSettings;
use tunix_rt::job::{Existing, Placement};
use tunix_rt::runner::checkpoint_eval::parse_checkpoint_arg;
use tunix_rt::runner::source_checkpoint::source_folder;
use tunix_rt::runner::{CheckpointEval, HfEval, Job, PredictionsEval};
use tunix_rt::workspace::Workspace;

pub fn run(ws: &Workspace, db: &std::path::Path, args: &EvalArgs) -> Result<()> {
    let placement = |name: &str| match &args.out {
        Some(dir) => Placement::Fixed {
            dir: dir.clone(),
            existing: Existing::Refuse,
        },
        None => Placement::Numbered {
            root: ws.root().join("submission_runs"),
            name: name.to_string(),
        },
    };
    let job = match (&args.predictions, &args.checkpoint, &args.hf) {
        (Some(predictions), None, None) => predictions_job(ws, args, predictions, &placement),
        (None, Some(checkpoint), None) => checkpoint_job(ws, args, checkpoint, &placement)?,
        (None, None, Some(dir)) => hf_job(ws, args, dir, &placement)?,
        _ => {
            return Err(Error::bad_input(
                "give exactly one of --predictions FILE, --checkpoint RUN[@STEP] and --hf DIR",
            ))
        }
    };
    let outcome = super::run::execute(ws, &job)?;
    super::db::record_run(ws, db, &outcome.run_dir)?;
    super::run::report(ws, &outcome, args.format)
}

fn predictions_job(
    ws: &Workspace,
    args: &EvalArgs,
    predictions: &std::path::Path,
    placement: &dyn Fn(&str) -> Placement,
) -> Job {
    let stem = predictions
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "predictions".to_string());
    let name = args.name.clone().unwrap_or_else(|| format!("eval-{stem}"));
    let settings = EvalSettings {
        seed: tunix_rt::scoring::DEFAULT_BOOTSTRAP_SEED,
        ..EvalSettings::default()
    };
    Job::Eval(Box::new(PredictionsEval {
        config: serde_json::json!({
            "evalset": ws.display_path(&args.evalset),
            "predictions": ws.display_path(predictions),
            "answer_extraction": settings.extraction,
            "equivalence": settings.equivalence,
        }),
        placement: placement(&name),
        name,
        labels: Default::default(),
        evalset: args.evalset.clone(),
        predictions: predictions.to_path_buf(),
        settings,
        command: std::env::args().collect(),
    }))
}

fn checkpoint_job(
    ws: &Workspace,
    args: &EvalArgs,
    checkpoint: &str,
    placement: &dyn Fn(&str) -> Placement,
) -> Result<Job> {
    let (run, step) = parse_checkpoint_arg(checkpoint)?;
    let cwd = std::env::current_dir()
        .map_err(|e| Error::runtime("cannot read the current folder").with_source(e))?;
    let source = source_folder(ws, &cwd.join("eval"), run)?;
    let run_id = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| run.to_string());
    let name = args.name.clone().unwrap_or_else(|| match step {
        Some(s) => format!("eval-{run_id}-step-{s}"),
        None => format!("eval-{run_id}"),
    });
    Ok(Job::CheckpointEval(Box::new(CheckpointEval {
        config: serde_json::json!({
            "evalset": ws.display_path(&args.evalset),
            "checkpoint": { "run": ws.display_path(&source), "step": step },
        }),
        placement: placement(&name),
        name,
        labels: Default::default(),
        source,
        step,
        evalset: args.evalset.clone(),
        decoding: None,
        device: None,
        settings: None,
        command: std::env::args().collect(),
    })))
}

fn hf_job(
    ws: &Workspace,
    args: &EvalArgs,
    dir: &std::path::Path,
    placement: &dyn Fn(&str) -> Placement,
) -> Result<Job> {
    let cwd = std::env::current_dir()
        .map_err(|e| Error::runtime("cannot read the current folder").with_source(e))?;
    let model_dir = std::path::absolute(cwd.join(dir)).map_err(|e| {
        Error::bad_input("cannot resolve the folder")
            .with_path(dir)
            .with_source(e)
    })?;
    if !model_dir.is_dir() {
        return Err(Error::bad_input(
            "--hf: not a folder; give the folder a transformers model was saved to (save_pretrained)",
        )
        .with_path(&model_dir));
    }
    let folder = model_dir
        .file_name()
        .map_or_else(|| "hf".to_string(), |n| n.to_string_lossy().into_owned());
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| format!("eval-{folder}"));
    let settings = EvalSettings {
        seed: tunix_rt::scoring::DEFAULT_BOOTSTRAP_SEED,
        ..EvalSettings::default()
    };
    let decoding = tunix_rt::manifest::common::Decoding::default();
    Ok(Job::HfEval(Box::new(HfEval {
        config: serde_json::json!({
            "evalset": ws.display_path(&args.evalset),
            "hf": ws.display_path(&model_dir),
            "answer_extraction": settings.extraction,
            "equivalence": settings.equivalence,
            "decoding": decoding,
        }),
        placement: placement(&name),
        name,
        labels: Default::default(),
        model_dir,
        evalset: args.evalset.clone(),
        decoding,
        device: Default::default(),
        settings,
        command: std::env::args().collect(),
        fine_tuned: None,
    })))
}
