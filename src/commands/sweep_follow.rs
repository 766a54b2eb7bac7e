//! `tunix-rt sweep status <SWEEP>` and `tunix-rt sweep attach <SWEEP>`:
//! follow a sweep from its folder (the ledger names its manifest and its
//! Slurm jobs), e.g. one started with `run --detach`.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::{Format, SweepAttachArgs, SweepStatusArgs};
use tunix_rt::error::{Error, Result};
use tunix_rt::slurm::control;
use tunix_rt::sweep::ledger::{Ledger, LEDGER};
use tunix_rt::workspace::Workspace;

use super::sweep_summary::Align;

pub fn status(ws: &Workspace, args: &SweepStatusArgs) -> Result<()> {
    let (dir, ledger) = read(ws, &args.sweep)?;
    let slurm_tools = control::TOOLS
        .iter()
        .all(|t| tunix_rt::trainer::command::find_program(t, Path::new("/")).is_ok());
    let jobs: Vec<serde_json::Value> = ledger
        .slurm_jobs
        .iter()
        .map(|job| {
            let tasks = if slurm_tools {
                control::tasks(&job.job_id)
            } else {
                Err(Error::runtime("Slurm's client commands are not on PATH"))
            };
            let states: Vec<serde_json::Value> = match &tasks {
                Ok(Some(tasks)) => job
                    .trials
                    .iter()
                    .enumerate()
                    .map(|(i, trial)| {
                        let task = tasks.iter().find(|t| t.index == Some(i as u32));
                        json!({
                            "trial_id": trial,
                            "task": format!("{}_{i}", job.job_id),
                            "state": task.map_or("unknown", |t| t.state.as_str()),
                            "exit_code": task.and_then(|t| t.exit_code.clone()),
                            "restarts": task.map_or(0, |t| t.restarts),
                        })
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let known = match &tasks {
                Ok(Some(_)) => "known".to_string(),
                Ok(None) => "no longer known to Slurm (trial folders are the record)".to_string(),
                Err(e) => format!("not reachable: {e}"),
            };
            json!({
                "job_id": job.job_id,
                "rung": job.rung,
                "script": job.script,
                "slurm": known,
                "tasks": states,
            })
        })
        .collect();
    if args.format == Format::Json {
        return super::print_json(&json!({
            "sweep_dir": dir,
            "ledger": ledger,
            "slurm_jobs": jobs,
        }));
    }
    outln!("sweep        {}", ws.display_path(&dir).display())?;
    if let Some(m) = &ledger.manifest {
        outln!("manifest     {m}")?;
    }
    let rows: Vec<Vec<String>> = ledger
        .trials
        .iter()
        .map(|t| {
            vec![
                t.trial_id.clone(),
                super::sweep_summary::status(t),
                t.last_step.to_string(),
            ]
        })
        .collect();
    let align = [Align::Left, Align::Left, Align::Right];
    for line in super::sweep_summary::lines(&["trial", "status", "step"], &align, &rows) {
        outln!("{line}")?;
    }
    for line in super::sweep_summary::tie_rule_lines(&ledger) {
        outln!("{line}")?;
    }
    for job in &jobs {
        outln!(
            "slurm job {} (rung {}): {}",
            job["job_id"].as_str().unwrap_or(""),
            job["rung"],
            job["slurm"].as_str().unwrap_or("")
        )?;
        for task in job["tasks"].as_array().into_iter().flatten() {
            outln!(
                "  {:<12} {:<6} {:<14} exit {}",
                task["task"].as_str().unwrap_or(""),
                task["trial_id"].as_str().unwrap_or(""),
                task["state"].as_str().unwrap_or(""),
                task["exit_code"].as_str().unwrap_or("-"),
            )?;
        }
    }
    match &ledger.best {
        Some(b) => outln!("best         {} ({:.4})", b.trial_id, b.metric)?,
        None => outln!("best         not decided yet")?,
    }
    Ok(())
}

pub fn attach(ws: &Workspace, db: &Path, args: &SweepAttachArgs) -> Result<()> {
    let (dir, ledger) = read(ws, &args.sweep)?;
    let manifest = ledger.manifest.as_ref().ok_or_else(|| {
        Error::bad_input(format!(
            "{} does not name its manifest (written by an older version); run `tunix-rt run <the sweep's manifest>` instead",
            ws.display_path(&dir.join(LEDGER)).display()
        ))
    })?;
    let run = crate::cli::RunArgs {
        manifest: ws.root().join(manifest),
        until_step: None,
        plan: false,
        yes: true,
        no_index: args.no_index,
        detach: false,
        update_evidence: false,
        format: args.format,
    };
    super::run::run(ws, db, &run)
}

/// The sweep folder `sweep` (a name under submission_runs/, or a folder)
/// and its ledger.
fn read(ws: &Workspace, sweep: &Path) -> Result<(PathBuf, Ledger)> {
    let by_name = ws.root().join("submission_runs").join(sweep);
    let dir = if sweep.join(LEDGER).is_file() {
        sweep.to_path_buf()
    } else {
        by_name
    };
    let ledger = Ledger::read(&dir.join(LEDGER))?.ok_or_else(|| {
        Error::bad_input(format!(
            "no sweep `{}`: {} has no {LEDGER} (give a sweep's name under submission_runs/ or its folder)",
            sweep.display(),
            ws.display_path(&dir).display()
        ))
    })?;
    Ok((dir, ledger))
}
