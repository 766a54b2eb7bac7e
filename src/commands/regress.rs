//! `tunix-rt regress`: the regression gate. Compares a candidate run with
//! the locked baseline, prints the result, and exits 1 only on a clear
//! regression (never with `--informational`); refuses (exit 2) a candidate
//! whose coverage differs from the baseline's by more than
//! `--max-coverage-gap`. Writes nothing.

use crate::cli::{RegressArgs, RegressFormat};
use tunix_rt::error::{Error, Result};
use tunix_rt::regress::evidence::{check_baseline, check_candidate, EvaluatedRun};
use tunix_rt::regress::gate::evaluate;
use tunix_rt::regress::lock::load;
use tunix_rt::regress::report::{build, render_md, render_text, RunRef};
use tunix_rt::regress::{GateSettings, DEFAULT_LOCK};
use tunix_rt::runfolder::layout::resolve_run_folder;
use tunix_rt::scoring::Verdict;
use tunix_rt::workspace::Workspace;

pub fn run(ws: &Workspace, args: &RegressArgs) -> Result<()> {
    let settings = GateSettings {
        threshold: args.threshold,
        alpha: args.alpha,
        max_coverage_gap: args.max_coverage_gap,
    };
    settings.validate()?;
    let lock_path = args
        .baseline
        .clone()
        .unwrap_or_else(|| ws.root().join(DEFAULT_LOCK));
    let shown = ws.display_path(&lock_path).display().to_string();
    let lock = load(&lock_path, &shown)?;
    let baseline = check_baseline(ws, &lock, &shown)?;
    let runs_root = args
        .runs
        .clone()
        .unwrap_or_else(|| ws.root().join("submission_runs"));
    let candidate = EvaluatedRun::read(&resolve_run_folder(&runs_root, &args.candidate)?)?;
    check_candidate(&lock, &candidate)?;
    let outcome = evaluate(&baseline.items, &candidate.items, settings)?;
    let candidate_ref = RunRef::new(
        candidate.manifest.run_id.clone(),
        ws.display_path(&candidate.dir).display().to_string(),
        &outcome.candidate,
    );
    let report = build(&lock, candidate_ref, outcome, settings, args.informational);
    match args.format {
        RegressFormat::Text => out!("{}", render_text(&report))?,
        RegressFormat::Md => out!("{}", render_md(&report))?,
        RegressFormat::Json => super::print_json(&report)?,
    }
    if report.verdict == Verdict::Regressed && !args.informational {
        return Err(Error::check_failed(format!(
            "regression: candidate `{}` is worse than baseline `{}` by more than the \
             threshold {} (the whole CI is below −{})",
            report.candidate.run_id, lock.name, args.threshold, args.threshold
        )));
    }
    Ok(())
}
