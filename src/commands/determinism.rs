//! `tunix-rt determinism`: run a manifest's job twice in a temporary
//! folder (or re-score a recorded run's stored outputs twice when it has
//! no checkpoint to decode), print the comparison, and exit 1 when a check
//! that must match differs. Writes nothing in the workspace.

use std::path::{Path, PathBuf};

use crate::cli::{DeterminismArgs, Format};
use tunix_rt::determinism::{plan_check, render, rescore_twice, run_twice, Method, Verdict};
use tunix_rt::error::{Error, Result};
use tunix_rt::runner::Job;
use tunix_rt::workspace::Workspace;

/// What the check does with its argument.
enum Check {
    /// Run a job twice.
    Rerun(Job),
    /// Re-score a recorded run's stored outputs twice.
    Rescore(PathBuf),
}

pub fn run(ws: &Workspace, args: &DeterminismArgs) -> Result<()> {
    let shown = ws.display_path(&args.manifest).display().to_string();
    let check = if args.manifest.is_file() {
        let loaded = tunix_rt::manifest::load(ws, &args.manifest, &shown)
            .map_err(|d| Error::invalid_file(&shown, d))?;
        Check::Rerun(plan_check(
            ws,
            &loaded,
            args.train,
            std::env::args().collect(),
        )?)
    } else {
        run_check(ws, &args.manifest)?
    };
    let report = match check {
        Check::Rerun(job) => {
            let mut observer = super::run::observer(&job, Format::Text);
            run_twice(ws, &job, args.keep.as_deref(), observer.as_mut())?
        }
        Check::Rescore(dir) => {
            if args.keep.is_some() {
                return Err(Error::bad_input(format!(
                    "--keep copies the two run folders of a rerun, but {shown} has no checkpoint to decode: its stored outputs are re-scored in memory, so there are no folders to keep; nothing was run"
                )));
            }
            rescore_twice(ws, &dir)?
        }
    };
    match args.format {
        Format::Text => out!("{}", render::text(&report))?,
        Format::Json => super::print_json(&report)?,
    }
    if report.verdict == Verdict::NotDeterministic {
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.required && !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        let what = match report.method {
            Method::Rerun => "two runs differ in",
            Method::Rescore => "its stored outputs do not re-score the same way:",
        };
        return Err(Error::check_failed(format!(
            "{shown}: not deterministic: {what} {}",
            failed.join(", ")
        )));
    }
    Ok(())
}

/// The check of a recorded run (its folder, id or unique id prefix): a
/// built-in Train run with a checkpoint decodes its eval set with the
/// newest one; any other run (an Eval run, a command trainer's run, a
/// Train run whose checkpoints are gone) has its stored outputs re-scored.
fn run_check(ws: &Workspace, run: &Path) -> Result<Check> {
    let arg = run.to_string_lossy();
    let cwd = std::env::current_dir()
        .map_err(|e| Error::runtime("cannot read the current folder").with_source(e))?;
    let source = tunix_rt::runner::source_checkpoint::source_folder(ws, &cwd.join("run"), &arg)?;
    let manifest = tunix_rt::runfolder::read_manifest(&source)?;
    let builtin = manifest.kind == tunix_rt::runfolder::RunKind::Train
        && !manifest.config["spec"]["model"].is_null();
    if !builtin || tunix_rt::trainer::protocol::checkpoints(&source).is_empty() {
        return Ok(Check::Rescore(source));
    }
    let evalset = manifest.evalset.as_ref().ok_or_else(|| {
        Error::bad_input(format!(
            "run {} has no eval set to decode; give an Eval manifest instead",
            manifest.run_id
        ))
    })?;
    let evalset = ws.root().join(&evalset.path);
    Ok(Check::Rerun(Job::CheckpointEval(Box::new(
        tunix_rt::runner::CheckpointEval {
            name: format!("determinism-{}", manifest.run_id),
            labels: Default::default(),
            step: None,
            evalset,
            decoding: None,
            device: None,
            settings: None,
            placement: tunix_rt::job::Placement::Numbered {
                root: ws.root().join("submission_runs"),
                name: "determinism".into(),
            },
            config: serde_json::json!({ "checkpoint": { "run": manifest.run_id } }),
            command: std::env::args().collect(),
            source,
        },
    ))))
}
