//! Claiming a run folder: choose it, lock it, and decide whether the job
//! starts fresh, resumes an unfinished run of the same config, or is
//! refused. Every kind of job claims its folder here.
//!
//! Rules:
//! - `Numbered` placement (ad-hoc runs): `name`, then `name-2`, `name-3`, …
//!   A free name is created (atomically: `create_dir` fails if another
//!   process took it first). A completed run, a run of another kind, or a
//!   folder without a readable `run_manifest.json` is never touched: the
//!   next number is tried. An unfinished run (`running`, `stopped`,
//!   `failed`) of the same kind resumes when its config identity is the
//!   job's, and is refused otherwise, with or without checkpoints.
//! - `Fixed` placement (trials, `--out`, the worker entrypoint): exactly
//!   that folder. `Existing::Refuse` wants it not to exist yet;
//!   `Existing::Resume` applies the unfinished-run rule to it and starts
//!   fresh in it when it holds no run yet.
//! - The lock (`.lock` in the run folder, an OS file lock released when the
//!   process dies, even by SIGKILL) is held until the claim is dropped.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::runfolder::{read_manifest, RunKind, RunManifest, RunStatus, RUN_MANIFEST};

/// The lock file inside a run folder.
pub const LOCK_FILE: &str = ".lock";

/// Where a job's run folder goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    /// `root/name`, or the first free `root/name-N`.
    Numbered { root: PathBuf, name: String },
    /// Exactly `dir`.
    Fixed { dir: PathBuf, existing: Existing },
}

/// What a `Fixed` placement does when the folder exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// The folder must not exist yet (`--out`).
    Refuse,
    /// Resume the unfinished run in it, or start fresh in it when it holds
    /// no run yet (trials, the worker entrypoint).
    Resume,
}

/// What the job does in its folder.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Nothing was recorded there yet.
    Fresh,
    /// An unfinished run of the same config is there.
    Resume { previous: Box<RunManifest> },
}

/// A claimed, locked run folder.
#[derive(Debug)]
pub struct Claim {
    pub dir: PathBuf,
    pub run_id: String,
    pub decision: Decision,
    /// This claim created the folder (so it may remove it again if the job
    /// is refused before recording anything).
    pub created: bool,
    _lock: File,
}

/// Claim the folder for a job of `kind` whose config identity is
/// `identity`.
pub fn claim(placement: &Placement, kind: RunKind, identity: &str) -> Result<Claim> {
    match placement {
        Placement::Numbered { root, name } => claim_numbered(root, name, kind, identity),
        Placement::Fixed { dir, existing } => claim_fixed(dir, *existing, kind, identity),
    }
}

fn claim_numbered(root: &Path, name: &str, kind: RunKind, identity: &str) -> Result<Claim> {
    std::fs::create_dir_all(root).map_err(|e| Error::io("create the runs folder", root, e))?;
    let mut n = 1u32;
    loop {
        let run_id = if n == 1 {
            name.to_string()
        } else {
            format!("{name}-{n}")
        };
        n += 1;
        let dir = root.join(&run_id);
        if let Some(claim) = try_create(&dir, &run_id)? {
            return Ok(claim);
        }
        let Ok(previous) = read_manifest(&dir) else {
            tracing::debug!("{}: no readable {RUN_MANIFEST}; skipped", dir.display());
            continue;
        };
        if previous.kind != kind || previous.status == RunStatus::Completed {
            tracing::debug!(
                "{}: a {} {} run; skipped",
                dir.display(),
                previous.status.as_str(),
                previous.kind
            );
            continue;
        }
        return resume(dir, run_id, previous, identity);
    }
}

fn claim_fixed(dir: &Path, existing: Existing, kind: RunKind, identity: &str) -> Result<Claim> {
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::bad_input(format!("{} has no folder name", dir.display())))?;
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("create the runs folder", parent, e))?;
    }
    if let Some(claim) = try_create(dir, &run_id)? {
        return Ok(claim);
    }
    if existing == Existing::Refuse {
        return Err(Error::bad_input(format!(
            "{} already exists; choose a new folder (existing runs are never overwritten)",
            dir.display()
        )));
    }
    if !dir.join(RUN_MANIFEST).exists() {
        let lock = lock(dir)?;
        tracing::info!("{}: no run recorded yet; starting fresh", dir.display());
        return Ok(Claim {
            dir: dir.to_path_buf(),
            run_id,
            decision: Decision::Fresh,
            created: false,
            _lock: lock,
        });
    }
    let previous = read_manifest(dir)?;
    if previous.kind != kind {
        return Err(Error::bad_input(format!(
            "{} holds a {} run, not a {kind} run",
            dir.display(),
            previous.kind
        )));
    }
    if previous.status == RunStatus::Completed {
        return Err(Error::bad_input(format!(
            "{} holds a completed run; it is never overwritten",
            dir.display()
        )));
    }
    resume(dir.to_path_buf(), run_id, previous, identity)
}

/// Create `dir` if it does not exist yet and lock it.
fn try_create(dir: &Path, run_id: &str) -> Result<Option<Claim>> {
    match std::fs::create_dir(dir) {
        Ok(()) => {
            let lock = lock(dir)?;
            tracing::info!("claimed new run folder {}", dir.display());
            Ok(Some(Claim {
                dir: dir.to_path_buf(),
                run_id: run_id.to_string(),
                decision: Decision::Fresh,
                created: true,
                _lock: lock,
            }))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(Error::io("create the run folder", dir, e)),
    }
}

/// The unfinished run `previous` in `dir`: resume it if its identity is
/// `identity`, refuse otherwise.
fn resume(dir: PathBuf, run_id: String, previous: RunManifest, identity: &str) -> Result<Claim> {
    let recorded = previous.config_hash.as_deref().unwrap_or("");
    if recorded != identity {
        let was = if recorded.is_empty() {
            "an unknown config (recorded before config identities)".to_string()
        } else {
            format!("config {}", short(recorded))
        };
        return Err(Error::bad_input(format!(
            "run folder {} holds an unfinished {} run of {was}, not of this manifest's config {}; set output.name to start a new run, or delete that folder",
            dir.display(),
            previous.kind,
            short(identity)
        )));
    }
    let lock = lock(&dir)?;
    tracing::info!(
        "{}: resuming the {} run (same config {})",
        dir.display(),
        previous.status.as_str(),
        short(identity)
    );
    Ok(Claim {
        dir,
        run_id,
        decision: Decision::Resume {
            previous: Box::new(previous),
        },
        created: false,
        _lock: lock,
    })
}

impl Claim {
    /// Give the folder up after the job was refused before anything was
    /// recorded: a folder this claim created is removed again.
    pub fn abandon(self) {
        if self.created {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Hold an exclusive lock on the run folder until the returned file drops;
/// the holder's pid is written into the lock file for others' messages.
fn lock(dir: &Path) -> Result<File> {
    match try_lock(&dir.join(LOCK_FILE))? {
        Lock::Held(file) => Ok(file),
        Lock::Busy { holder } => Err(Error::runtime(format!(
            "run folder {} is in use by {}; wait for it to finish",
            dir.display(),
            holder_name(holder.as_deref())
        ))),
    }
}

/// The outcome of [`try_lock`].
#[derive(Debug)]
pub enum Lock {
    /// Held until the file drops (also when the process dies).
    Held(File),
    /// Another process holds it; its pid when it wrote one.
    Busy { holder: Option<String> },
}

/// Try to take the exclusive OS lock on the file `path` (created if
/// missing) without waiting; on success this process's pid is written in.
pub fn try_lock(path: &Path) -> Result<Lock> {
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| Error::io("open the lock file", path, e))?;
    match file.try_lock() {
        Ok(()) => {
            let pid = std::process::id().to_string();
            file.set_len(0)
                .and_then(|()| file.write_all(pid.as_bytes()))
                .map_err(|e| Error::io("write the lock file", path, e))?;
            Ok(Lock::Held(file))
        }
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            Ok(Lock::Busy {
                holder: (!holder.is_empty()).then(|| holder.to_string()),
            })
        }
        Err(TryLockError::Error(e)) => Err(Error::io("take the lock", path, e)),
    }
}

/// "process N", or a generic name when the holder wrote no pid.
pub fn holder_name(holder: Option<&str>) -> String {
    match holder {
        Some(pid) => format!("process {pid}"),
        None => "another tunix-rt process".to_string(),
    }
}

/// The first 12 characters of a hash (by characters, never bytes).
pub fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runfolder::{to_json_bytes, SCHEMA_VERSION};

    fn manifest(run_id: &str, kind: RunKind, status: RunStatus, identity: &str) -> RunManifest {
        let mut m = RunManifest::new(run_id, kind, run_id, "2026-12-01T00:00:00Z");
        m.status = status;
        m.config_hash = Some(identity.to_string());
        assert_eq!(m.schema_version, SCHEMA_VERSION);
        m
    }

    fn record(root: &Path, run_id: &str, kind: RunKind, status: RunStatus, identity: &str) {
        let dir = root.join(run_id);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let bytes = to_json_bytes(&manifest(run_id, kind, status, identity)).expect("json");
        std::fs::write(dir.join(RUN_MANIFEST), bytes).expect("write");
    }

    fn numbered(root: &Path) -> Placement {
        Placement::Numbered {
            root: root.to_path_buf(),
            name: "r".into(),
        }
    }

    #[test]
    fn a_free_name_is_created_fresh_and_locked() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let claim = claim(&numbered(tmp.path()), RunKind::Train, "h1").expect("claim");
        assert_eq!(claim.run_id, "r");
        assert_eq!(claim.decision, Decision::Fresh);
        assert!(claim.created);
        let err =
            claim_fixed(&claim.dir, Existing::Resume, RunKind::Train, "h1").expect_err("locked");
        let holder = format!("in use by process {}", std::process::id());
        assert!(err.to_string().contains(&holder), "{err}");
        assert_eq!(err.exit_code(), 3);
    }

    #[test]
    fn completed_runs_other_kinds_and_unknown_folders_are_skipped() {
        let tmp = tempfile::tempdir().expect("tempdir");
        record(tmp.path(), "r", RunKind::Train, RunStatus::Completed, "h1");
        record(tmp.path(), "r-2", RunKind::Eval, RunStatus::Running, "h1");
        std::fs::create_dir_all(tmp.path().join("r-3")).expect("mkdir");
        let claim = claim(&numbered(tmp.path()), RunKind::Train, "h1").expect("claim");
        assert_eq!(claim.run_id, "r-4");
        assert_eq!(claim.decision, Decision::Fresh);
    }

    #[test]
    fn an_unfinished_run_of_the_same_config_resumes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        for status in [RunStatus::Running, RunStatus::Stopped, RunStatus::Failed] {
            record(tmp.path(), "r", RunKind::Train, status, "h1");
            let claim = claim(&numbered(tmp.path()), RunKind::Train, "h1").expect("claim");
            assert_eq!(claim.run_id, "r");
            assert!(!claim.created);
            assert!(matches!(claim.decision, Decision::Resume { .. }));
        }
    }

    #[test]
    fn an_unfinished_run_of_another_config_is_refused_with_or_without_checkpoints() {
        let tmp = tempfile::tempdir().expect("tempdir");
        record(tmp.path(), "r", RunKind::Train, RunStatus::Running, "h1");
        let err = claim(&numbered(tmp.path()), RunKind::Train, "h2").expect_err("refused");
        assert!(err.to_string().contains("unfinished Train run"), "{err}");
        assert!(err.to_string().contains("set output.name"), "{err}");
        assert_eq!(err.exit_code(), 2);
        assert!(!tmp.path().join("r-2").exists());
    }

    #[test]
    fn fixed_placements_refuse_or_resume() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("trials/t1");
        let first = claim_fixed(&dir, Existing::Resume, RunKind::Train, "h").expect("fresh");
        assert_eq!(first.decision, Decision::Fresh);
        drop(first);
        let again = claim_fixed(&dir, Existing::Resume, RunKind::Train, "h").expect("no run yet");
        assert_eq!(again.decision, Decision::Fresh);
        drop(again);
        let err = claim_fixed(&dir, Existing::Refuse, RunKind::Train, "h").expect_err("exists");
        assert!(err.to_string().contains("already exists"), "{err}");
        record(
            tmp.path(),
            "trials/t1",
            RunKind::Train,
            RunStatus::Completed,
            "h",
        );
        let err = claim_fixed(&dir, Existing::Resume, RunKind::Train, "h").expect_err("completed");
        assert!(err.to_string().contains("completed run"), "{err}");
    }

    #[test]
    fn abandoning_removes_only_a_folder_the_claim_created() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fresh = claim(&numbered(tmp.path()), RunKind::Train, "h").expect("claim");
        let dir = fresh.dir.clone();
        fresh.abandon();
        assert!(!dir.exists());
        record(tmp.path(), "r", RunKind::Train, RunStatus::Running, "h");
        claim(&numbered(tmp.path()), RunKind::Train, "h")
            .expect("claim")
            .abandon();
        assert!(dir.join(RUN_MANIFEST).exists());
    }

    #[test]
    fn hashes_are_shortened_by_characters() {
        assert_eq!(short("ééééééééééééééé"), "éééééééééééé");
        assert_eq!(short("abc"), "abc");
    }
}
