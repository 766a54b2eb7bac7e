//! `tunix-rt determinism`: run a manifest's job twice in a temporary
//! folder, print the comparison, and exit 1 when a check that must match
//! differs. Writes nothing in the workspace.

use crate::cli::{DeterminismArgs, Format};
use crate::determinism::{plan_check, render, run_twice, Verdict};
use crate::error::{Error, Result};
use crate::runner::{Job, Observer, Quiet};
use crate::workspace::Workspace;

use super::progress::TrainProgress;

pub fn run(ws: &Workspace, args: &DeterminismArgs) -> Result<()> {
    let shown = ws.display_path(&args.manifest).display().to_string();
    let job = if args.manifest.is_file() {
        let loaded = crate::manifest::load(ws, &args.manifest, &shown)
            .map_err(|d| Error::invalid_file(&shown, d))?;
        plan_check(ws, &loaded, args.train, std::env::args().collect())?
    } else {
        run_job(ws, &args.manifest)?
    };
    let mut observer: Box<dyn Observer> = match &job {
        Job::Train(t) => Box::new(TrainProgress::new(t.spec.training.max_steps)),
        Job::CheckpointEval(_) => Box::new(TrainProgress::new(0)),
        Job::Eval(_) => Box::new(Quiet),
    };
    let report = run_twice(ws, &job, args.keep.as_deref(), observer.as_mut())?;
    match args.format {
        Format::Text => print!("{}", render::text(&report)),
        Format::Json => super::print_json(&report)?,
    }
    if report.verdict == Verdict::NotDeterministic {
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.required && !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        return Err(Error::check_failed(format!(
            "{shown}: not deterministic: two runs differ in {}",
            failed.join(", ")
        )));
    }
    Ok(())
}

/// The determinism job of a Train run: decode its eval set with its newest
/// checkpoint.
fn run_job(ws: &Workspace, run: &std::path::Path) -> Result<Job> {
    let arg = run.to_string_lossy();
    let cwd = std::env::current_dir()
        .map_err(|e| Error::runtime("cannot read the current folder").with_source(e))?;
    let source = crate::runner::source_checkpoint::source_folder(ws, &cwd.join("run"), &arg)?;
    let manifest = crate::runfolder::read_manifest(&source)?;
    let evalset = manifest.evalset.as_ref().ok_or_else(|| {
        Error::bad_input(format!(
            "run {} has no eval set to decode; give an Eval manifest instead",
            manifest.run_id
        ))
    })?;
    let evalset = ws.root().join(&evalset.path);
    Ok(Job::CheckpointEval(Box::new(
        crate::runner::CheckpointEval {
            name: format!("determinism-{}", manifest.run_id),
            labels: Default::default(),
            step: None,
            evalset,
            decoding: None,
            settings: None,
            placement: crate::job::Placement::Numbered {
                root: ws.root().join("submission_runs"),
                name: "determinism".into(),
            },
            config: serde_json::json!({ "checkpoint": { "run": manifest.run_id } }),
            command: std::env::args().collect(),
            source,
        },
    )))
}
