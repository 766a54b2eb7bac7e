use crate::cli::{Format, RunArgs};
use tunix_rt::error::{Error, Result};
use tunix_rt::runner::train_slurm::SlurmTrain;
use tunix_rt::runner::{Job, Observer, Outcome, Quiet, Ran, RunOptions};
use tunix_rt::workspace::Workspace;

use super::progress::TrainProgress;

pub fn run(ws: &Workspace, db: &std::path::Path, args: &RunArgs) -> Result<()> {
    let shown = ws.display_path(&args.manifest).display().to_string();
    let loaded = tunix_rt::manifest::load(ws, &args.manifest, &shown)
        .map_err(|d| Error::invalid_file(&shown, d))?;
    if args.plan {
        let plan = tunix_rt::runner::sweep_plan(ws, &loaded)?;
        let notes = super::plan::notes(ws, &loaded, &plan, args.update_evidence)?;
        super::plan::print(&plan, &notes, args.format)?;
        if args.format == Format::Text {
            if let Some(script) = super::plan::slurm_script(ws, &loaded, &plan)? {
                out!("\n{script}")?;
            }
        }
        return Ok(());
    }
    if let tunix_rt::manifest::Manifest::Sweep(_) = &loaded.manifest {
        if args.until_step.is_some() {
            return Err(Error::bad_input(
                "--until-step applies to Train manifests; a sweep's trials stop at its rungs",
            ));
        }
    }
    let command: Vec<String> = std::env::args().collect();
    let mut job = tunix_rt::runner::plan(ws, &loaded, command.clone())?;
    match &mut job {
        Job::Train(t) => t.until_step = args.until_step,
        Job::Sweep(s) => {
            s.update_evidence = args.update_evidence;
            super::sweep::check_cap(ws, s, args.yes)?;
        }
        _ => {}
    }
    let options = RunOptions {
        detach: args.detach,
    };
    let mut observer = observer(&job, args.format);
    let ran = tunix_rt::runner::run(ws, &job, options, observer.as_mut());
    drop(observer);
    let outcome = match ran? {
        Ran::Done(outcome) => *outcome,
        Ran::Detached(train) => return detached(ws, &train, &args.manifest, args.format),
        Ran::Swept(outcome) => {
            let db = (!args.no_index).then_some(db);
            return super::sweep::finish(ws, db, &outcome, args.format, &command);
        }
    };
    if !args.no_index {
        super::db::record_run(ws, db, &outcome.run_dir)?;
    }
    report(ws, &outcome, args.format)
}

/// `--detach` on a Train job: where it runs and how to collect it.
fn detached(
    ws: &Workspace,
    train: &SlurmTrain,
    manifest: &std::path::Path,
    format: Format,
) -> Result<()> {
    let (job_id, run_dir) = (&train.job_id, &train.run_dir);
    if format == Format::Json {
        return super::print_json(&serde_json::json!({
            "run_dir": run_dir,
            "slurm_job": job_id,
            "detached": true,
            "attached": train.attached,
        }));
    }
    outln!("run          {}", ws.display_path(run_dir).display())?;
    outln!("slurm job    {job_id} (running without a coordinator)")?;
    outln!(
        "then         run {} again to follow it and record it when it ends (or tunix-rt db ingest once `squeue -j {job_id}` no longer lists it)",
        manifest.display()
    )?;
    Ok(())
}

/// The progress display of a job (a sweep's is quiet under `--format
/// json` without a terminal).
pub(super) fn observer(job: &Job, format: Format) -> Box<dyn Observer> {
    match job {
        Job::Train(t) => Box::new(TrainProgress::new(t.spec.training.max_steps)),
        Job::CheckpointEval(_) | Job::HfEval(_) => Box::new(TrainProgress::new(0)),
        Job::Eval(_) => Box::new(Quiet),
        Job::Sweep(s) => Box::new(super::sweep::display(s, format)),
    }
}

/// Run a planned job here with a progress display.
pub fn execute(ws: &Workspace, job: &Job) -> Result<Outcome> {
    tunix_rt::runner::execute(ws, job, observer(job, Format::Text).as_mut())
}

/// Print where the run is and its headline score.
pub fn report(ws: &Workspace, outcome: &Outcome, format: Format) -> Result<()> {
    if format == Format::Json {
        return super::print_json(&serde_json::json!({
            "run_dir": outcome.run_dir,
            "status": outcome.status,
            "summary": outcome.summary,
            "notes": outcome.notes,
        }));
    }
    for note in &outcome.notes {
        outln!("note         {note}")?;
    }
    outln!(
        "run          {}",
        ws.display_path(&outcome.run_dir).display()
    )?;
    if outcome.status == tunix_rt::runfolder::RunStatus::Stopped {
        outln!("status       stopped before max_steps; run the same job again to continue it")?;
    }
    let Some(s) = &outcome.summary else {
        outln!("primary      {}", no_score_reason(outcome))?;
        return Ok(());
    };
    let score = match (s.primary_score, &s.scorecard.ci95) {
        (Some(p), Some(ci)) => format!(
            "{p:.4} (95% CI {:.4}–{:.4}, {:?})",
            ci.low, ci.high, ci.method
        ),
        (Some(p), None) => format!("{p:.4}"),
        (None, _) => "null (no item could be scored)".to_string(),
    };
    let calculator =
        tunix_rt::runfolder::read_manifest(&outcome.run_dir).is_ok_and(|m| m.calculator_assisted());
    let marker = if calculator {
        " calc (calculator-assisted decoding: the decoder computed each <<expr=>> result)"
    } else {
        ""
    };
    outln!("primary      {score}{marker}")?;
    outln!(
        "items        {} scored, {} skipped, {} total",
        s.n_scored,
        s.n_skipped,
        s.n_items
    )?;
    for (cat, c) in &s.scorecard.per_category {
        let mean = c.mean.map_or("null".to_string(), |m| format!("{m:.4}"));
        outln!("  {cat:<10} {mean} (n={})", c.n_scored)?;
    }
    if !s.scorecard.per_tag.is_empty() {
        let tags: Vec<String> = s
            .scorecard
            .per_tag
            .iter()
            .map(|(tag, t)| match t.mean {
                Some(m) => format!("{tag} {}/{} ({m:.2})", t.n_correct, t.n_scored),
                None => format!("{tag} -"),
            })
            .collect();
        outln!("tags         {}", tags.join(", "))?;
    }
    if let Some(t) = s.trace_consistency {
        outln!("trace        {t:.4} mean trace_consistency")?;
    }
    for w in &s.scorecard.warnings {
        outln!("warning      {w}")?;
    }
    Ok(())
}

/// Why a run has no score: it was stopped before its eval runs (at
/// max_steps), or its manifest has no eval section.
fn no_score_reason(outcome: &Outcome) -> &'static str {
    let evaluates =
        tunix_rt::runfolder::read_manifest(&outcome.run_dir).is_ok_and(|m| m.evalset.is_some());
    match (outcome.status, evaluates) {
        (tunix_rt::runfolder::RunStatus::Stopped, true) => {
            "none yet (the eval files are written when training reaches max_steps; run the same job again to continue and score it)"
        }
        _ => "none (the manifest has no eval section)",
    }
}
