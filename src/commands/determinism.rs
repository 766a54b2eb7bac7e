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
    let loaded = crate::manifest::load(ws, &args.manifest, &shown)
        .map_err(|d| Error::invalid_file(&shown, d))?;
    let job = plan_check(ws, &loaded, args.train, std::env::args().collect())?;
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
