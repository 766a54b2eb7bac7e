//! `tunix-rt package`: a run folder's evidence as one reproducible zip,
//! `<prefix>_<run_version>_<short-sha>.zip`. The zip holds every regular
//! file of the folder (checkpoints and hidden entries left out) under
//! `<run_version>/`, and `MANIFEST.json` at its root listing each file's
//! path, blake3 and size. The same files give a byte-identical zip (see
//! [`archive`] for what is fixed). Everything is checked before anything
//! is written; the zip is written to a temporary name and renamed.

pub mod archive;
pub mod naming;
pub mod select;

use std::path::{Path, PathBuf};

use serde::Serialize;

pub use archive::{PackageManifest, PackagedFile, MANIFEST_NAME};
pub use naming::{DEFAULT_PREFIX, NO_GIT};

use crate::error::{Error, Result};
use crate::fsutil::{blake3_hex, write_atomic};
use crate::runfolder::{RunFolder, RunStatus, RUN_MANIFEST};
use crate::workspace::normalize_lexically;

/// Where and how to write a package.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// Folder the zip goes into (created when missing).
    pub out_dir: PathBuf,
    /// First part of the zip's name.
    pub prefix: String,
    /// Replace a zip of the same name.
    pub force: bool,
}

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct PackageOutcome {
    /// The zip (absolute).
    pub path: PathBuf,
    /// blake3 of the zip, lowercase hex.
    pub blake3: String,
    /// Size of the zip.
    pub zip_bytes: u64,
    /// Packaged files (MANIFEST.json not counted).
    pub files: usize,
    /// Their total size, uncompressed.
    pub total_bytes: u64,
    pub run_id: String,
    pub run_version: String,
    /// The commit's first 7 hex digits, or `nogit`.
    pub short_sha: String,
    /// The run was made from a working tree with uncommitted changes.
    pub git_dirty: bool,
    /// The run's status when it was packaged.
    pub status: RunStatus,
    /// A zip of the same name was replaced (`--force`).
    pub replaced: bool,
}

/// Package the run folder `run_dir`.
pub fn package(run_dir: &Path, options: &PackageOptions) -> Result<PackageOutcome> {
    let root = run_folder(run_dir)?;
    let run_version = root
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| {
            Error::bad_input("the run folder's name is not valid UTF-8").with_path(&root)
        })?
        .to_string();
    naming::check_name_part("run folder name", &run_version).map_err(|e| e.with_path(&root))?;
    naming::check_name_part("--prefix", &options.prefix)?;
    let files = select::select_files(&root)?;
    let manifest = RunFolder::open(&root)?.into_manifest();
    let short_sha = naming::short_sha(manifest.git.as_ref())
        .map_err(|e| Error::bad_input(e.to_string()).with_path(root.join(RUN_MANIFEST)))?;
    let out_dir = output_folder(&options.out_dir, &root)?;
    let target = out_dir.join(naming::zip_name(&options.prefix, &run_version, &short_sha));
    let replaced = existing_output(&target, options.force)?;
    let header = archive::Header {
        run_id: manifest.run_id.clone(),
        run_version: run_version.clone(),
        git: manifest.git.clone(),
    };
    let (bytes, contents) = archive::build(&header, &files)?;
    write_atomic(&target, &bytes)?;
    Ok(PackageOutcome {
        path: target,
        blake3: blake3_hex(&bytes),
        zip_bytes: bytes.len() as u64,
        files: contents.files.len(),
        total_bytes: contents.files.iter().map(|f| f.size).sum(),
        run_id: manifest.run_id,
        run_version,
        short_sha,
        git_dirty: manifest.git.as_ref().is_some_and(|g| g.dirty),
        status: manifest.status,
        replaced,
    })
}

/// The canonical run folder: `run_dir` must be a folder (not a link to
/// one) holding run_manifest.json.
fn run_folder(run_dir: &Path) -> Result<PathBuf> {
    let given: PathBuf = run_dir.components().collect();
    let meta = std::fs::symlink_metadata(&given)
        .map_err(|e| Error::user_file("open the run folder", run_dir, e))?;
    if meta.file_type().is_symlink() {
        return Err(Error::bad_input(
            "the run folder is a symbolic link; pass the folder it points to",
        )
        .with_path(run_dir));
    }
    if !meta.is_dir() {
        return Err(Error::bad_input("not a run folder: not a folder").with_path(run_dir));
    }
    let root = std::fs::canonicalize(&given)
        .map_err(|e| Error::user_file("open the run folder", run_dir, e))?;
    let manifest = root.join(RUN_MANIFEST);
    match std::fs::symlink_metadata(&manifest) {
        Ok(m) if m.is_file() => Ok(root),
        Ok(m) if m.file_type().is_symlink() => Err(Error::bad_input(format!(
            "symbolic link in the run folder ({RUN_MANIFEST}); a package holds only regular files that live in the run folder"
        ))
        .with_path(manifest)),
        _ => Err(Error::bad_input(format!(
            "not a run folder: it holds no {RUN_MANIFEST}"
        ))
        .with_path(run_dir)),
    }
}

/// The output folder, absolute, with the part that exists resolved. It
/// must not lie inside the run folder (the package would package itself
/// next time) and, when it exists, must be a folder.
fn output_folder(out_dir: &Path, root: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(out_dir)
        .map_err(|e| Error::user_file("resolve the output folder", out_dir, e))?;
    let lexical = normalize_lexically(&abs);
    let mut existing = lexical.as_path();
    let mut missing = Vec::new();
    let resolved = loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            break missing
                .iter()
                .rev()
                .fold(real, |p: PathBuf, part| p.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                missing.push(name.to_os_string());
                existing = parent;
            }
            _ => break lexical.clone(),
        }
    };
    if resolved.starts_with(root) {
        return Err(Error::bad_input(
            "the output folder lies inside the run folder; write the package somewhere else (-o DIR)",
        )
        .with_path(out_dir));
    }
    match std::fs::metadata(&resolved) {
        Ok(m) if !m.is_dir() => {
            Err(Error::bad_input("the output folder is not a folder").with_path(out_dir))
        }
        _ => Ok(resolved),
    }
}

/// Whether `target` exists (and may be replaced): refused without `force`,
/// and always when it is a folder.
fn existing_output(target: &Path, force: bool) -> Result<bool> {
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(false);
    };
    if meta.is_dir() {
        return Err(Error::bad_input(
            "a folder has the package's name; move it away or choose another --prefix",
        )
        .with_path(target));
    }
    if !force {
        return Err(Error::bad_input(
            "the package already exists; pass --force to replace it (nothing was written)",
        )
        .with_path(target));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runfolder::{read_manifest, GitInfo};

    fn run(root: &Path, id: &str) -> PathBuf {
        tunix_testkit::synthetic::write_run(root, id, 6, 0.5).expect("synthetic run")
    }

    fn options(out: &Path) -> PackageOptions {
        PackageOptions {
            out_dir: out.to_path_buf(),
            prefix: DEFAULT_PREFIX.to_string(),
            force: false,
        }
    }

    fn set_git(dir: &Path, git: Option<GitInfo>) {
        let mut m = read_manifest(dir).expect("manifest");
        m.git = git;
        write_atomic(
            &dir.join(RUN_MANIFEST),
            &crate::runfolder::to_json_bytes(&m).expect("json"),
        )
        .expect("write");
    }

    #[test]
    fn names_the_zip_from_folder_and_commit() {
        let ws = tempfile::tempdir().expect("tempdir");
        let dir = run(ws.path(), "m35_v1");
        set_git(
            &dir,
            Some(GitInfo {
                commit: "ABCDEF0123456789abcdef0123456789abcdef01".into(),
                dirty: true,
            }),
        );
        let out = ws.path().join("dist");
        let got = package(&dir, &options(&out)).expect("package");
        assert_eq!(
            got.path.file_name().expect("name"),
            "tunix-rt_m35_v1_abcdef0.zip"
        );
        assert!(got.git_dirty);
        assert_eq!(got.files, 3);
        assert!(got.path.is_file());
        assert_eq!(
            got.blake3,
            blake3_hex(&std::fs::read(&got.path).expect("zip"))
        );
    }

    #[test]
    fn runs_without_git_are_named_nogit_and_existing_zips_need_force() {
        let ws = tempfile::tempdir().expect("tempdir");
        let dir = run(ws.path(), "r1");
        let out = ws.path().join("dist");
        let mut opts = options(&out);
        opts.prefix = "evidence".into();
        let first = package(&dir, &opts).expect("package");
        assert_eq!(
            first.path.file_name().expect("name"),
            "evidence_r1_nogit.zip"
        );
        assert!(!first.replaced);
        let err = package(&dir, &opts).expect_err("exists");
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(err.to_string().contains("--force"), "{err}");
        opts.force = true;
        let again = package(&dir, &opts).expect("forced");
        assert!(again.replaced);
        assert_eq!(again.blake3, first.blake3);
    }

    #[test]
    fn not_a_run_folder_is_bad_input() {
        let ws = tempfile::tempdir().expect("tempdir");
        let out = ws.path().join("dist");
        let err = package(ws.path(), &options(&out)).expect_err("no manifest");
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(err.to_string().contains("not a run folder"), "{err}");
        let err = package(&ws.path().join("missing"), &options(&out)).expect_err("missing");
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(!out.exists());
    }

    #[test]
    fn the_output_folder_may_not_lie_inside_the_run_folder() {
        let ws = tempfile::tempdir().expect("tempdir");
        let dir = run(ws.path(), "r1");
        let err = package(&dir, &options(&dir.join("dist"))).expect_err("inside");
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(err.to_string().contains("inside the run folder"), "{err}");
        assert!(!dir.join("dist").exists());
        let err = package(&dir, &options(&dir)).expect_err("the folder itself");
        assert!(err.to_string().contains("inside the run folder"), "{err}");
    }

    #[test]
    fn a_bad_prefix_or_commit_is_refused_before_writing() {
        let ws = tempfile::tempdir().expect("tempdir");
        let dir = run(ws.path(), "r1");
        let out = ws.path().join("dist");
        let mut opts = options(&out);
        opts.prefix = "../up".into();
        let err = package(&dir, &opts).expect_err("prefix");
        assert!(err.to_string().contains("--prefix"), "{err}");
        set_git(
            &dir,
            Some(GitInfo {
                commit: "unknown".into(),
                dirty: false,
            }),
        );
        let err = package(&dir, &options(&out)).expect_err("commit");
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(err.to_string().contains("run_manifest.json"), "{err}");
        assert!(!out.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_run_folder_is_refused() {
        let ws = tempfile::tempdir().expect("tempdir");
        let dir = run(ws.path(), "r1");
        let link = ws.path().join("latest");
        std::os::unix::fs::symlink(&dir, &link).expect("symlink");
        let err = package(&link, &options(&ws.path().join("dist"))).expect_err("link");
        assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }
}
