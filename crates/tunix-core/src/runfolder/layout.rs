//! The run-folder layout: the names of the folders and control files under
//! the runs root (`submission_runs/`), the paths built from them, and
//! finding a run or sweep folder from what the user typed (a path, a run
//! id or a unique prefix of one, a sweep name). Names, paths and listings
//! only: the record files' formats and readers are in
//! [`crate::runfolder`], and `crate::job` claims and writes the folders.
//!
//! - A run folder holds the record files (`run_manifest.json`, ...) and
//!   the hidden control folder [`CONTROL_DIR`] (`.job/`): the job spec the
//!   worker entrypoint runs ([`JOB_SPEC`]) and the trainer's request
//!   ([`REQUEST`]).
//! - A sweep folder `submission_runs/<sweep>/` holds `sweep.json` (the
//!   ledger), one Train run folder per trial under [`TRIALS_DIR`]
//!   ([`trial_dir`]), and on Slurm the job scripts and Slurm's output
//!   files under [`SLURM_DIR`].

use std::path::{Path, PathBuf};

use super::RUN_MANIFEST;
use crate::error::{Error, Result};

/// The sweep ledger's file name in a sweep folder (what makes it one).
pub const LEDGER: &str = "sweep.json";
/// The hidden folder in a run folder that holds the job's spec and the
/// trainer's request.
pub const CONTROL_DIR: &str = ".job";
/// The job spec the worker entrypoint runs (`tunix-rt worker RUN_DIR`).
pub const JOB_SPEC: &str = "spec.json";
/// The request the trainer process reads.
pub const REQUEST: &str = "request.json";

/// The folder under a sweep folder that holds the trials' run folders.
pub const TRIALS_DIR: &str = "trials";

/// The folder in a sweep folder that holds the job scripts and Slurm's
/// output files.
pub const SLURM_DIR: &str = "slurm";

/// The trial's run folder inside the sweep folder `dir`.
pub fn trial_dir(dir: &Path, sweep: &str, trial_id: &str) -> PathBuf {
    dir.join(TRIALS_DIR).join(format!("{sweep}-{trial_id}"))
}

/// Run folders under `runs_root`: folders holding run_manifest.json, up to
/// three levels down (sweeps nest trials), skipping hidden and staging folders.
pub fn find_run_folders(runs_root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(runs_root)
        .min_depth(1)
        .max_depth(3)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !e.file_name().to_string_lossy().starts_with('.') && e.file_name() != "checkpoints"
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir() && e.path().join(RUN_MANIFEST).is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// The run folder `arg` names: a folder holding `run_manifest.json`, or the
/// run folder under `runs_root` whose name (the run id) is `arg` or, when
/// no name is, starts with `arg` (the prefix must be unique).
pub fn resolve_run_folder(runs_root: &Path, arg: &str) -> Result<PathBuf> {
    let as_path = Path::new(arg);
    if as_path.is_dir() {
        if as_path.join(RUN_MANIFEST).is_file() {
            return Ok(as_path.to_path_buf());
        }
        return Err(Error::bad_input(format!(
            "`{arg}` is a folder but not a run folder (it has no {RUN_MANIFEST})"
        ))
        .with_path(as_path));
    }
    let folders = find_run_folders(runs_root);
    let id = |p: &PathBuf| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let exact: Vec<&PathBuf> = folders.iter().filter(|p| id(p) == arg).collect();
    let matches: Vec<&PathBuf> = match exact.as_slice() {
        [] => folders.iter().filter(|p| id(p).starts_with(arg)).collect(),
        _ => exact,
    };
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] if folders.is_empty() => Err(Error::bad_input(format!(
            "no run matches `{arg}`: it is not a folder, and {} holds no run folders",
            runs_root.display()
        ))),
        [] => {
            let ids: Vec<String> = folders.iter().map(id).collect();
            let hint = crate::suggest::closest(arg, ids.iter().map(String::as_str))
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_else(|| format!("; known runs: {}", preview(&ids)));
            Err(Error::bad_input(format!(
                "no run matches `{arg}` (not a folder, nor a run id under {}){hint}",
                runs_root.display()
            )))
        }
        many => {
            let shown: Vec<String> = many.iter().map(|p| p.display().to_string()).collect();
            Err(Error::bad_input(format!(
                "`{arg}` matches {} runs: {}; give more of the id, or a path",
                many.len(),
                preview(&shown)
            )))
        }
    }
}

/// The first ten of `names`, with how many more.
fn preview(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(10)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        format!("{shown}, … ({} more)", names.len() - 10)
    } else {
        shown
    }
}

/// The sweep folder `arg` names: a folder holding `sweep.json`, or the
/// folder `runs_root/<arg>` when it holds one. Anything else is bad input
/// naming what was looked for.
pub fn resolve_sweep_folder(runs_root: &Path, arg: &str) -> Result<PathBuf> {
    let as_path = Path::new(arg);
    if as_path.is_dir() {
        if as_path.join(LEDGER).is_file() {
            return Ok(as_path.to_path_buf());
        }
        return Err(Error::bad_input(format!(
            "`{arg}` is a folder but not a sweep folder (it has no {LEDGER})"
        ))
        .with_path(as_path));
    }
    let by_name = runs_root.join(arg);
    if by_name.join(LEDGER).is_file() {
        return Ok(by_name);
    }
    let known = known_sweeps(runs_root);
    let hint = match crate::suggest::closest(arg, known.iter().map(String::as_str)) {
        Some(c) => format!("; did you mean `{c}`?"),
        None if known.is_empty() => format!("; {} holds no sweeps", runs_root.display()),
        None => format!("; known sweeps: {}", known.join(", ")),
    };
    Err(Error::bad_input(format!(
        "no sweep `{arg}`: it is not a folder, and there is no {}{hint}",
        by_name.join(LEDGER).display()
    )))
}

/// Names of the folders under `runs_root` that hold a sweep ledger.
fn known_sweeps(runs_root: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(runs_root) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join(LEDGER).is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// A runs root with two runs and a sweep folder holding a third: only
    /// what the layout looks at (a run folder is one with a run manifest).
    fn runs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for run in ["run-weak", "run-strong", "sweep-1/trial-01"] {
            let folder = dir.path().join(run);
            std::fs::create_dir_all(&folder).expect("mkdir");
            std::fs::write(folder.join(RUN_MANIFEST), "{}").expect("manifest");
        }
        dir
    }

    #[test]
    fn runs_resolve_by_path_id_prefix_and_inside_sweeps() {
        let dir = runs();
        let root = dir.path();
        let weak = root.join("run-weak");
        let path = weak.to_str().expect("utf-8");
        assert_eq!(resolve_run_folder(root, path).expect("path"), weak);
        assert_eq!(resolve_run_folder(root, "run-weak").expect("id"), weak);
        assert_eq!(resolve_run_folder(root, "run-w").expect("prefix"), weak);
        assert_eq!(
            resolve_run_folder(root, "trial").expect("nested"),
            root.join("sweep-1/trial-01")
        );
        let err = resolve_run_folder(root, "run-").expect_err("ambiguous");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert!(err.message().contains("`run-` matches 2 runs"), "{err}");
        let err = resolve_run_folder(root, "run-wek").expect_err("typo");
        assert!(err.message().contains("did you mean `run-weak`?"), "{err}");
        let sweep = root.join("sweep-1");
        let err = resolve_run_folder(root, sweep.to_str().expect("utf-8")).expect_err("not a run");
        assert!(
            err.message().contains("is a folder but not a run folder"),
            "{err}"
        );
    }

    #[test]
    fn trials_live_under_the_sweep_folder_named_by_sweep_and_trial() {
        assert_eq!(
            trial_dir(Path::new("runs/s"), "s", "t000"),
            Path::new("runs/s/trials/s-t000")
        );
    }

    #[test]
    fn sweeps_resolve_by_name_or_folder_and_unknown_ones_say_where_they_were_looked_for() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let runs = tmp.path().join("submission_runs");
        let dir = runs.join("s");
        std::fs::create_dir_all(trial_dir(&dir, "s", "t000")).expect("mkdir");
        std::fs::write(dir.join(LEDGER), "{}").expect("ledger");
        assert_eq!(resolve_sweep_folder(&runs, "s").expect("name"), dir);
        let path = dir.to_str().expect("utf-8");
        assert_eq!(resolve_sweep_folder(&runs, path).expect("path"), dir);
        let err = resolve_sweep_folder(&runs, "nope").expect_err("unknown");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        let text = err.to_string();
        assert!(text.contains("no sweep `nope`"), "{text}");
        assert!(text.contains("submission_runs/nope/sweep.json"), "{text}");
        assert!(text.contains("known sweeps: s"), "{text}");
        let trials = dir.join(TRIALS_DIR);
        let err = resolve_sweep_folder(&runs, trials.to_str().expect("utf-8"))
            .expect_err("not a sweep folder");
        assert!(err.to_string().contains("has no sweep.json"), "{err}");
        let empty = tempfile::tempdir().expect("tempdir");
        let err = resolve_sweep_folder(empty.path(), "x").expect_err("none");
        assert!(err.to_string().contains("holds no sweeps"), "{err}");
    }
}
