//! `tunix-rt run <sweep.yaml>` (through `runner::run`, as every job): the
//! trial cap, the sweep's progress display (plain lines on stderr without
//! a terminal), then indexing the trials and printing the trial table,
//! the best trial and where the promoted files went.

use std::io::IsTerminal;

use super::sweep_progress::SweepProgress;
use super::sweep_summary::{self, Align};
use crate::cli::Format;
use tunix_rt::error::{Error, Result};
use tunix_rt::runner::coordinator::{SweepEvent, SweepOutcome};
use tunix_rt::runner::{Observer, SweepJob};
use tunix_rt::store::ingest::{ingest, Scope};
use tunix_rt::store::{Store, Wait};
use tunix_rt::sweep::ledger::TrialState;
use tunix_rt::sweep::ties::describe;
use tunix_rt::trainer::Event;
use tunix_rt::workspace::Workspace;

/// Refuse a plan of more than [`TRIAL_CAP`] trials unless `yes`.
pub fn check_cap(ws: &Workspace, sweep: &SweepJob, yes: bool) -> Result<()> {
    let trials = sweep.plan.trials.len();
    if trials <= TRIAL_CAP || yes {
        return Ok(());
    }
    let path = &sweep.loaded.path;
    Err(Error::bad_input(format!(
        "the plan has {trials} trials, more than the cap of {TRIAL_CAP}; see them with `tunix-rt run {} --plan`, then run with --yes to start them all, or shrink the grid or num_samples",
        ws.display_path(path).display()
    ))
    .with_path(path))
}

/// The sweep's progress display: a bar on a terminal, else plain lines on
/// stderr (none under `--format json` without a terminal). The bar is
/// cleared when the display is dropped.
pub fn display(sweep: &SweepJob, format: Format) -> SweepDisplay {
    let quiet = format == Format::Json && !std::io::stderr().is_terminal();
    let plan = &sweep.plan;
    let last_rung = plan
        .rungs
        .last()
        .copied()
        .or_else(|| plan.trials.first().map(|t| t.spec.training.max_steps))
        .unwrap_or(0);
    let (metric, mode) = match &sweep.loaded.manifest {
        tunix_rt::manifest::Manifest::Sweep(s) => (
            s.spec.metric.to_string(),
            s.spec.resolved_mode().unwrap_or_default(),
        ),
        _ => (String::new(), tunix_rt::manifest::sweep::Mode::default()),
    };
    SweepDisplay {
        progress: SweepProgress::new(plan.trials.len(), mode, last_rung, quiet),
        metric,
    }
}

/// Shows a sweep's events (see [`display`]).
pub struct SweepDisplay {
    progress: SweepProgress,
    metric: String,
}

impl Observer for SweepDisplay {
    fn event(&mut self, _event: &Event) {}

    fn sweep(&mut self, event: &SweepEvent) {
        let metric = &self.metric;
        self.progress.event(event, || progress_line(event, metric));
    }
}

impl Drop for SweepDisplay {
    fn drop(&mut self) {
        self.progress.finish();
    }
}

/// After a sweep started by `command` ran to `outcome`: say where its
/// detached jobs are, or index its trials in `db` (unless none) and print
/// the trial table, the best trial and where the promoted files went; a
/// sweep with no best trial fails.
pub fn finish(
    ws: &Workspace,
    db: Option<&std::path::Path>,
    outcome: &SweepOutcome,
    format: Format,
    command: &[String],
) -> Result<()> {
    if let Some(job_ids) = &outcome.detached {
        return detached(ws, outcome, job_ids, format);
    }
    if let Some(db) = db {
        index(ws, db, outcome)?;
    }
    report(ws, outcome, format, command)?;
    if outcome.ledger.best.is_none() {
        return Err(Error::runtime(sweep_summary::no_best(&outcome.ledger)));
    }
    Ok(())
}

/// `--detach`: where the sweep's jobs are and how to follow them.
fn detached(
    ws: &Workspace,
    outcome: &SweepOutcome,
    job_ids: &[String],
    format: Format,
) -> Result<()> {
    let name = &outcome.ledger.sweep;
    if format == Format::Json {
        return super::print_json(&serde_json::json!({
            "sweep_dir": outcome.dir,
            "detached": true,
            "slurm_jobs": job_ids,
        }));
    }
    outln!("sweep        {}", ws.display_path(&outcome.dir).display())?;
    outln!(
        "slurm jobs   {} (running without a coordinator)",
        job_ids.join(", ")
    )?;
    outln!("status       tunix-rt sweep status {name}")?;
    outln!(
        "attach       tunix-rt sweep attach {name}   (decides the rungs, indexes and promotes)"
    )?;
    Ok(())
}

/// The plain line of a sweep event (none for step progress).
fn progress_line(event: &SweepEvent, metric: &str) -> Option<String> {
    Some(match event {
        SweepEvent::TrialProgress { .. } => return None,
        SweepEvent::TrialRetrying {
            trial_id,
            failure,
            attempt,
        } => format!(
            "sweep: {trial_id} failed ({}), retry {attempt}: {}",
            failure.class,
            first_line(&failure.message)
        ),
        SweepEvent::Resumed { decided_rungs } => {
            format!("sweep: resuming ({decided_rungs} rung(s) already decided)")
        }
        SweepEvent::RungStarted { rung, trials } => {
            format!("sweep: {} to step {rung}", trials.join(", "))
        }
        SweepEvent::TrialReached {
            trial_id,
            step,
            metric,
            from_disk,
        } => format!(
            "sweep: {trial_id} at step {step}: {}{}",
            show(*metric),
            if *from_disk { " (already on disk)" } else { "" }
        ),
        SweepEvent::TrialFailed { trial_id, failure } => format!(
            "sweep: {trial_id} failed ({}): {}",
            failure.class, failure.message
        ),
        SweepEvent::SlurmSubmitted {
            job_id,
            rung,
            trials,
        } => format!(
            "sweep: submitted Slurm job {job_id}: {} to step {rung}",
            trials.join(", ")
        ),
        SweepEvent::SlurmAttached { job_id } => {
            format!(
                "sweep: attached to Slurm job {job_id} (submitted earlier, still known to Slurm)"
            )
        }
        SweepEvent::TrialCancelled { trial_id } => format!("sweep: {trial_id} cancelled"),
        SweepEvent::TrialsDrawn { trials, observed } => format!(
            "sweep: TPE drew {} from the results of {observed} trial(s)",
            trials.join(", ")
        ),
        SweepEvent::RungDecided(d) => format!(
            "sweep: rung {}: continue {}; stop {}{}",
            d.rung,
            ids(&d.continued),
            ids(&d.stopped),
            d.tie_rule.map_or_else(String::new, |rule| {
                let value = d.continued.first().and_then(|s| s.metric);
                let n = d.continued.len() + d.stopped.len();
                format!(" ({})", describe(rule, metric, d.rung, n, value))
            })
        ),
    })
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

fn ids(v: &[tunix_rt::sweep::halving::Scored]) -> String {
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .map(|s| s.trial_id.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn show(metric: Option<f64>) -> String {
    metric.map_or("none".to_string(), |m| format!("{m:.4}"))
}

/// Plans with more trials than this need `--yes`.
pub const TRIAL_CAP: usize = 256;

/// Lines of a failed trial's log quoted in the summary.
const LOG_TAIL: usize = 5;

/// Each failed trial: its class, its message's first line and the last
/// lines of its run.log; retried failures are counted.
fn print_failures(ws: &Workspace, outcome: &SweepOutcome) -> Result<()> {
    let l = &outcome.ledger;
    let retried: usize = l.trials.iter().map(|t| t.retried.len()).sum();
    let failed: Vec<_> = l
        .trials
        .iter()
        .filter_map(|t| t.failure.as_ref().map(|f| (t, f)))
        .filter(|(t, _)| t.state == TrialState::Failed)
        .collect();
    if failed.is_empty() && retried == 0 {
        return Ok(());
    }
    outln!(
        "failures     {} trial(s) failed; {retried} failure(s) were retried",
        failed.len()
    )?;
    for (t, f) in failed {
        let dir = tunix_rt::runfolder::layout::trial_dir(&outcome.dir, &l.sweep, &t.trial_id);
        outln!("  {} {}: {}", t.trial_id, f.class, first_line(&f.message))?;
        let log =
            std::fs::read_to_string(dir.join(tunix_rt::runfolder::RUN_LOG)).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        for line in &lines[lines.len().saturating_sub(LOG_TAIL)..] {
            outln!("    | {line}")?;
        }
        outln!(
            "    log: {}",
            ws.display_path(&dir.join(tunix_rt::runfolder::RUN_LOG))
                .display()
        )?;
    }
    Ok(())
}

/// Index every trial's run folder (the sweep folder nests them).
fn index(ws: &Workspace, db: &std::path::Path, outcome: &SweepOutcome) -> Result<()> {
    let store = match Store::open_write(db, Wait::Yes) {
        Ok(store) => store,
        Err(e) if tunix_rt::store::is_busy(&e) => {
            let written = ws.display_path(&outcome.dir).display().to_string();
            super::db::indexed_later(&e, &written);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let report = ingest(&store, ws.root(), Scope::Root(&outcome.dir)).map_err(|e| {
        Error::runtime(format!(
            "the sweep was written to {} but could not be indexed ({e}); run `tunix-rt db ingest` to retry",
            ws.display_path(&outcome.dir).display()
        ))
    })?;
    if report.skipped.is_empty() {
        return Ok(());
    }
    Err(Error::runtime(format!(
        "the sweep was written to {} but some trials could not be indexed: {}",
        ws.display_path(&outcome.dir).display(),
        report
            .skipped
            .iter()
            .map(|(p, r)| format!("{p}: {r}"))
            .collect::<Vec<_>>()
            .join("; ")
    )))
}

fn report(
    ws: &Workspace,
    outcome: &SweepOutcome,
    format: Format,
    command: &[String],
) -> Result<()> {
    let l = &outcome.ledger;
    let promoted = outcome.promoted.as_ref().map(|p| {
        (
            ws.display_path(&p.config).display().to_string(),
            ws.display_path(&p.params).display().to_string(),
        )
    });
    let notes = sweep_summary::notes(outcome, command);
    if format == Format::Json {
        let mut doc = serde_json::json!({
            "sweep_dir": outcome.dir,
            "ledger": l,
            "promoted": promoted.as_ref().map(|(c, p)| serde_json::json!({"config": c, "params": p})),
            "promoted_from_trial_id": l.best.as_ref().map(|b| &b.trial_id),
            "mapping": l.best.as_ref().map(tunix_rt::sweep::promote::mapping),
            "evidence_skipped": outcome.withheld.as_ref().map(|w| serde_json::json!({
                "best_trial_id": w.trial_id,
                "files": w.files,
            })),
        });
        if !notes.is_empty() {
            doc["notes"] = serde_json::json!(notes);
        }
        return super::print_json(&doc);
    }
    outln!("sweep        {}", ws.display_path(&outcome.dir).display())?;
    let rows: Vec<Vec<String>> = l
        .trials
        .iter()
        .map(|t| {
            let params = t
                .params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let metric = t.metrics.get(&t.last_step).copied().flatten();
            vec![
                t.trial_id.clone(),
                sweep_summary::status(t),
                t.last_step.to_string(),
                show(metric),
                params,
            ]
        })
        .collect();
    let align = [
        Align::Left,
        Align::Left,
        Align::Right,
        Align::Left,
        Align::Left,
    ];
    let header = ["trial", "status", "step", l.metric.as_str(), "params"];
    for line in sweep_summary::lines(&header, &align, &rows) {
        outln!("{line}")?;
    }
    print_failures(ws, outcome)?;
    for line in sweep_summary::tie_rule_lines(l) {
        outln!("{line}")?;
    }
    match &l.best {
        Some(b) => outln!("best         {} ({} {:.4})", b.trial_id, l.metric, b.metric)?,
        None => outln!("best         none (no trial completed with a metric)")?,
    }
    if let Some(best) = &l.best {
        let mapping: Vec<String> = tunix_rt::sweep::promote::mapping(best)
            .iter()
            .map(|(k, v)| format!("{k} → {v}"))
            .collect();
        outln!("mapping      {}", mapping.join(", "))?;
    }
    if let Some((config, params)) = promoted {
        outln!("promoted     {config}")?;
        outln!("params       {params}")?;
    }
    for note in notes {
        outln!("note         {note}")?;
    }
    Ok(())
}
