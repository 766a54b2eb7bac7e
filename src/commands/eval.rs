use crate::cli::EvalArgs;
use crate::error::Result;
use crate::evaluate::EvalSettings;
use crate::job::{Existing, Placement};
use crate::runner::PredictionsEval;
use crate::workspace::Workspace;

pub fn run(ws: &Workspace, db: &std::path::Path, args: &EvalArgs) -> Result<()> {
    let stem = args
        .predictions
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "predictions".to_string());
    let name = args.name.clone().unwrap_or_else(|| format!("eval-{stem}"));
    let settings = EvalSettings {
        seed: crate::scoring::DEFAULT_BOOTSTRAP_SEED,
        ..EvalSettings::default()
    };
    let job = PredictionsEval {
        config: serde_json::json!({
            "evalset": ws.display_path(&args.evalset),
            "predictions": ws.display_path(&args.predictions),
            "answer_extraction": settings.extraction,
            "equivalence": settings.equivalence,
        }),
        name: name.clone(),
        labels: Default::default(),
        evalset: args.evalset.clone(),
        predictions: args.predictions.clone(),
        settings,
        placement: match &args.out {
            Some(dir) => Placement::Fixed {
                dir: dir.clone(),
                existing: Existing::Refuse,
            },
            None => Placement::Numbered {
                root: ws.root().join("submission_runs"),
                name,
            },
        },
        command: std::env::args().collect(),
    };
    let outcome = crate::runner::eval_predictions(ws, &job)?;
    super::db::record_run(ws, db, &outcome.run_dir)?;
    super::run::report(ws, &outcome, args.format)
}
