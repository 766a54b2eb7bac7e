//! Probes of the world outside the job: the clock, the workspace's git
//! commit and the files git tracks. Kept apart so the file formats and the
//! lifecycle stay pure.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::runfolder::GitInfo;

/// The current time as RFC 3339 UTC (seconds).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The git commit of `dir` and whether the tree has uncommitted changes, or
/// None outside a git repository (or without git).
///
/// Asked once per folder per process: every trial of a sweep records the
/// commit the sweep started from (and a large repository's `git status` is
/// not paid per trial).
pub fn git_info(dir: &Path) -> Option<GitInfo> {
    static SEEN: OnceLock<Mutex<HashMap<PathBuf, Option<GitInfo>>>> = OnceLock::new();
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some(known) = seen.lock().ok().and_then(|m| m.get(dir).cloned()) {
        return known;
    }
    let info = ask_git(dir);
    if let Ok(mut m) = seen.lock() {
        m.insert(dir.to_path_buf(), info.clone());
    }
    info
}

fn ask_git(dir: &Path) -> Option<GitInfo> {
    let run = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"])?;
    let dirty =
        run(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(GitInfo { commit, dirty })
}

/// The files among `paths` (files or folders, relative to `dir`) that git
/// tracks in the repository of `dir`, relative to `dir`; empty without
/// git or outside a repository.
pub fn git_tracked(dir: &Path, paths: &[PathBuf]) -> Vec<PathBuf> {
    if paths.is_empty() {
        return Vec::new();
    }
    let output = std::process::Command::new("git")
        .arg("--literal-pathspecs")
        .args(["ls-files", "-z", "--"])
        .args(paths)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output();
    match output {
        Ok(o) if o.status.success() => o
            .stdout
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| PathBuf::from(String::from_utf8_lossy(name).into_owned()))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_seconds() {
        let t = now_rfc3339();
        assert_eq!(t.len(), "2026-12-01T00:00:00Z".len(), "{t}");
        assert!(t.ends_with('Z'));
    }

    #[test]
    fn outside_git_there_is_no_commit() {
        let dir = tempfile::tempdir().expect("tempdir");
        if std::process::Command::new("git")
            .args(["rev-parse", "--show-toplevel"])
            .current_dir(dir.path())
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return;
        }
        assert_eq!(git_info(dir.path()), None);
    }
}
