//! `tunix-rt sweep export <SWEEP> --optuna-journal FILE`: write a sweep's
//! ledger as an Optuna journal file (see [`tunix_rt::sweep::optuna`] for what
//! maps to what). Reads the sweep folder, its trials' run manifests (start
//! and end times) and the search space (the plan's, else the Sweep manifest
//! the ledger names); writes only FILE, atomically. An existing FILE is
//! refused unless `--force`: Optuna appends to a journal, so it may hold a
//! study someone has been adding trials to.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::cli::{Format, SweepExportArgs};
use tunix_rt::error::{Error, Result};
use tunix_rt::fsutil::write_atomic;
use tunix_rt::manifest::sweep::Distribution;
use tunix_rt::runfolder::layout::trial_dir;
use tunix_rt::sweep::ledger::{Ledger, LEDGER, PLAN};
use tunix_rt::sweep::optuna::{journal, Journal, JournalInput, OptunaState, TrialRun};
use tunix_rt::workspace::Workspace;

pub fn run(ws: &Workspace, args: &SweepExportArgs) -> Result<()> {
    let dir = tunix_rt::runfolder::layout::resolve_sweep_folder(
        &ws.root().join("submission_runs"),
        &args.sweep,
    )?;
    let ledger_path = dir.join(LEDGER);
    let ledger = Ledger::read(&ledger_path)?.ok_or_else(|| {
        Error::bad_input(format!("{} is not a sweep folder", dir.display())).with_path(&ledger_path)
    })?;
    let out = &args.optuna_journal;
    check_target(out, args.force)?;
    let space = search_space(ws, &dir, &ledger);
    let runs = trial_runs(&dir, &ledger);
    let fallback_time = modified(&ledger_path);
    let journal = journal(&JournalInput {
        ledger: &ledger,
        space: space.as_ref(),
        runs: &runs,
        fallback_time: &fallback_time,
    });
    write_atomic(out, &journal.to_bytes())?;
    for note in &journal.notes {
        eprintln!("note: {note}");
    }
    summary(ws, out, &ledger, &journal, args.format)
}

/// FILE may be written: not a folder, and not an existing file unless
/// `force`.
fn check_target(out: &Path, force: bool) -> Result<()> {
    if out.is_dir() {
        return Err(
            Error::bad_input("--optuna-journal names a folder; give the file to write")
                .with_path(out),
        );
    }
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(Error::bad_input(
            "the file exists; Optuna appends to a journal, so it is replaced only with --force",
        )
        .with_path(out));
    }
    Ok(())
}

/// The sweep's search space: the plan's (a TPE sweep records it), else
/// the Sweep manifest's that the ledger names, when it is still that
/// sweep's. None when neither has it.
fn search_space(
    ws: &Workspace,
    dir: &Path,
    ledger: &Ledger,
) -> Option<BTreeMap<String, Distribution>> {
    let from_plan = read_json(&dir.join(PLAN))
        .and_then(|v| v.pointer("/search/search_space").cloned())
        .and_then(|s| serde_json::from_value(s).ok());
    from_plan.or_else(|| {
        let path = ws.root().join(ledger.manifest.as_ref()?);
        let text = std::fs::read_to_string(&path).ok()?;
        let doc: Value = serde_yaml::from_str(&text).ok()?;
        if doc.get("kind")?.as_str()? != "Sweep"
            || doc.pointer("/metadata/name")?.as_str()? != ledger.sweep
        {
            return None;
        }
        serde_json::from_value(doc.pointer("/spec/search_space")?.clone()).ok()
    })
}

fn read_json(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Each started trial's run id and times, from its run manifest (a trial
/// without a readable one is left out: its times fall back).
fn trial_runs(dir: &Path, ledger: &Ledger) -> BTreeMap<String, TrialRun> {
    ledger
        .trials
        .iter()
        .filter_map(|t| {
            let run_dir = trial_dir(dir, &ledger.sweep, &t.trial_id);
            let m = tunix_rt::runfolder::read_manifest(&run_dir).ok()?;
            let run = TrialRun {
                run_id: Some(m.run_id),
                started_at: Some(m.created_at),
                finished_at: m.finished_at,
            };
            Some((t.trial_id.clone(), run))
        })
        .collect()
}

/// When `path` last changed (RFC 3339), else now.
fn modified(path: &Path) -> String {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => humantime::format_rfc3339_seconds(t).to_string(),
        Err(_) => tunix_rt::probe::now_rfc3339(),
    }
}

fn summary(
    ws: &Workspace,
    out: &Path,
    ledger: &Ledger,
    journal: &Journal,
    format: Format,
) -> Result<()> {
    let file = ws.display_path(out).display().to_string();
    let states: BTreeMap<&str, usize> =
        journal.states.iter().map(|(s, n)| (s.name(), *n)).collect();
    let best = ledger.best.as_ref().and_then(|b| {
        let number = ledger
            .trials
            .iter()
            .position(|t| t.trial_id == b.trial_id)?;
        Some((b, number))
    });
    if format == Format::Json {
        return super::print_json(&json!({
            "file": file,
            "study_name": ledger.sweep,
            "trials": ledger.trials.len(),
            "states": states,
            "best": best.map(|(b, number)| json!({
                "trial_id": b.trial_id,
                "number": number,
                "value": b.metric,
            })),
            "notes": journal.notes,
        }));
    }
    outln!(
        "wrote        {file} (Optuna journal, study `{}`)",
        ledger.sweep
    )?;
    let counts: Vec<String> = journal
        .states
        .iter()
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    outln!(
        "trials       {}: {}",
        ledger.trials.len(),
        if counts.is_empty() {
            "none".to_string()
        } else {
            counts.join(", ")
        }
    )?;
    match best {
        Some((b, number)) => outln!(
            "best         {} = trial number {number} ({} {})",
            b.trial_id,
            ledger.metric.as_str(),
            b.metric
        )?,
        None => outln!("best         not decided yet")?,
    }
    if journal.states.contains_key(&OptunaState::Running)
        || journal.states.contains_key(&OptunaState::Waiting)
    {
        outln!(
            "note         the sweep has not finished: its unfinished trials are RUNNING or WAITING"
        )?;
    }
    outln!("open         optuna-dashboard {file}")?;
    Ok(())
}
