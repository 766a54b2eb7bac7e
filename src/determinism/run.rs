//! Running one job twice for the determinism check: each run goes into its
//! own folder under a fresh temporary directory (never the workspace's
//! runs, never the index), Train jobs each in a fresh trainer process;
//! then both folders are read and compared. The temporary directory is
//! removed at the end, after `--keep` copied the two folders out.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::compare::{compare, DeterminismReport};
use super::contents::{self, RunContents};
use super::weights::{self, WeightDiff};
use crate::error::{Error, Result};
use crate::job::{Existing, Placement};
use crate::manifest::{LoadedManifest, Manifest};
use crate::runner::{execute, not_a_single_job, plan, Job, Observer};
use crate::workspace::Workspace;

/// The two runs' folder names inside the temporary directory and `--keep`.
pub const RUN_NAMES: [&str; 2] = ["a", "b"];

/// Plan the job to check. A Train job needs `allow_train` (training twice
/// can take long); refused with exit 2 otherwise.
pub fn plan_check(
    ws: &Workspace,
    loaded: &LoadedManifest,
    allow_train: bool,
    command: Vec<String>,
) -> Result<Job> {
    if let Manifest::Sweep(_) = &loaded.manifest {
        return Err(not_a_single_job(loaded));
    }
    let job = plan(ws, loaded, command)?;
    if matches!(job, Job::Train(_)) && !allow_train {
        return Err(Error::bad_input(
            "this is a Train manifest: the determinism check would train the model twice, which can take long; pass --train to do it",
        )
        .with_path(&loaded.path));
    }
    Ok(job)
}

/// Run `job` twice and compare the runs. `keep`, a folder that must not
/// exist yet, receives copies of both run folders (`a/`, `b/`).
pub fn run_twice(
    ws: &Workspace,
    job: &Job,
    keep: Option<&Path>,
    observer: &mut dyn Observer,
) -> Result<DeterminismReport> {
    if let Some(keep) = keep {
        if keep.exists() {
            return Err(Error::bad_input(
                "--keep wants a folder that does not exist yet; nothing was run",
            )
            .with_path(keep));
        }
    }
    let temp = TempDir::create()?;
    let mut runs = Vec::with_capacity(RUN_NAMES.len());
    for name in RUN_NAMES {
        let dir = temp.path().join(name);
        let outcome = execute(ws, &placed(job, &dir), observer)?;
        runs.push(outcome.run_dir);
    }
    let (a, b) = (contents::read(&runs[0])?, contents::read(&runs[1])?);
    let mut report = compare(&a, &b, weight_diff(&a, &b)?);
    if let Some(keep) = keep {
        for (name, dir) in RUN_NAMES.iter().zip(&runs) {
            copy_tree(dir, &keep.join(name))?;
        }
        report.kept = Some(ws.display_path(keep).display().to_string());
    }
    Ok(report)
}

/// The job, writing its run folder exactly at `dir`.
fn placed(job: &Job, dir: &Path) -> Job {
    let placement = Placement::Fixed {
        dir: dir.to_path_buf(),
        existing: Existing::Refuse,
    };
    let mut job = job.clone();
    match &mut job {
        Job::Eval(e) => e.placement = placement,
        Job::CheckpointEval(c) => c.placement = placement,
        Job::HfEval(h) => h.placement = placement,
        Job::Train(t) => t.placement = placement,
        // No one run folder: `plan_check` refuses it, `execute` too.
        Job::Sweep(_) => {}
    }
    job
}

/// The difference of the final weights, when their hashes differ.
fn weight_diff(a: &RunContents, b: &RunContents) -> Result<Option<WeightDiff>> {
    let (Some(ta), Some(tb)) = (&a.train, &b.train) else {
        return Ok(None);
    };
    if ta.weights_blake3 == tb.weights_blake3 {
        return Ok(None);
    }
    let read = |p: &Path| std::fs::read(p).map_err(|e| Error::io("read the weights", p, e));
    weights::diff(&read(&ta.weights)?, &read(&tb.weights)?).map(Some)
}

/// Copy the files of `from` to the new folder `to`.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.map_err(|e| {
            Error::runtime("cannot read a run folder")
                .with_path(from)
                .with_source(e)
        })?;
        let rel = entry.path().strip_prefix(from).unwrap_or(entry.path());
        let target = to.join(rel);
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target)
                .map_err(|e| Error::io("create a folder", &target, e))?;
        } else if entry.file_type().is_file() {
            std::fs::copy(entry.path(), &target)
                .map_err(|e| Error::io("copy a run file", &target, e))?;
        }
    }
    Ok(())
}

/// A uniquely named folder under the system's temporary directory,
/// removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> Result<Self> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "tunix-rt-determinism-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let dir = std::env::temp_dir().join(name);
        std::fs::create_dir(&dir).map_err(|e| Error::io("create a temporary folder", &dir, e))?;
        Ok(TempDir(dir))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
