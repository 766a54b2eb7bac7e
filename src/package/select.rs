//! Which files of a run folder go into a package: every regular file,
//! recursively, except the contents of `checkpoints/` folders (referenced
//! by hash in run_manifest.json) and hidden entries (`.lock`, `.job/`,
//! staging files). A symbolic link anywhere in the folder, or anything that
//! is neither a file nor a folder, is refused: a package holds exactly the
//! bytes that live inside the run folder.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::trainer::protocol::CHECKPOINTS;

/// One file to package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceFile {
    /// Path relative to the run folder, `/`-separated.
    pub rel: String,
    /// Where the file is on disk.
    pub path: PathBuf,
    /// Its size when it was listed.
    pub size: u64,
}

/// Whether an entry (of any kind) is hidden: its name starts with a dot.
fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// The files of the run folder `root` to package, sorted by relative
/// path, with paths under the canonical `root`. Refuses symbolic links and
/// special files anywhere in the folder (checkpoints and hidden entries
/// included), names that are not UTF-8, and files resolving outside `root`.
pub fn select_files(root: &Path) -> Result<Vec<EvidenceFile>> {
    let root = &std::fs::canonicalize(root)
        .map_err(|e| Error::user_file("open the run folder", root, e))?;
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| list_error(root, e))?;
        let path = entry.path();
        let kind = entry.file_type();
        if kind.is_symlink() {
            return Err(Error::bad_input(format!(
                "symbolic link in the run folder ({}); a package holds only regular files that live in the run folder: replace the link with the file it points to, or remove it",
                shown_rel(root, path)
            ))
            .with_path(path));
        }
        if !kind.is_file() && !kind.is_dir() {
            return Err(Error::bad_input(format!(
                "not a regular file or folder ({}); remove it from the run folder",
                shown_rel(root, path)
            ))
            .with_path(path));
        }
        if !kind.is_file() || excluded(root, path) {
            continue;
        }
        let rel = relative_utf8(root, path)?;
        let real = std::fs::canonicalize(path)
            .map_err(|e| Error::io("resolve the file to package", path, e))?;
        if real != root.join(&rel) {
            return Err(Error::bad_input(format!(
                "resolves to {}, outside the run folder or through a link; nothing was written",
                real.display()
            ))
            .with_path(path));
        }
        let size = entry.metadata().map_err(|e| list_error(root, e))?.len();
        files.push(EvidenceFile {
            rel,
            path: path.to_path_buf(),
            size,
        });
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(files)
}

/// Whether `path` lies in a hidden entry or a `checkpoints/` folder of the
/// run folder `root`.
fn excluded(root: &Path, path: &Path) -> bool {
    let Ok(rel) = path.strip_prefix(root) else {
        return true;
    };
    let mut components = rel.components().peekable();
    while let Some(c) = components.next() {
        let name = c.as_os_str();
        let is_folder = components.peek().is_some();
        if is_hidden(name) || (is_folder && name == CHECKPOINTS) {
            return true;
        }
    }
    false
}

/// `path` relative to `root`, `/`-separated; refused when not UTF-8 (zip
/// entry names and MANIFEST.json are UTF-8).
fn relative_utf8(root: &Path, path: &Path) -> Result<String> {
    let rel = path.strip_prefix(root).map_err(|_| {
        Error::bad_input("resolves outside the run folder; nothing was written").with_path(path)
    })?;
    let mut parts = Vec::new();
    for c in rel.components() {
        match c {
            std::path::Component::Normal(name) => match name.to_str() {
                Some(s) => parts.push(s),
                None => {
                    return Err(Error::bad_input(
                        "file name is not valid UTF-8; rename it to package the run",
                    )
                    .with_path(path))
                }
            },
            _ => {
                return Err(Error::bad_input(
                    "resolves outside the run folder; nothing was written",
                )
                .with_path(path))
            }
        }
    }
    Ok(parts.join("/"))
}

/// `path` relative to the run folder, for messages.
fn shown_rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.display().to_string())
}

fn list_error(root: &Path, err: walkdir::Error) -> Error {
    let path = err.path().unwrap_or(root).to_path_buf();
    match err.into_io_error() {
        Some(io) => Error::io("list the run folder", &path, io),
        None => Error::runtime("cannot list the run folder").with_path(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, bytes: &[u8]) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write");
    }

    fn rels(files: &[EvidenceFile]) -> Vec<&str> {
        files.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn every_regular_file_but_checkpoints_and_hidden_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        write(root, "run_manifest.json", b"{}");
        write(root, "run.log", b"log");
        write(root, "metrics.jsonl", b"");
        write(root, "extra/notes/a.txt", b"a");
        write(root, "checkpoints/step-00000010/model.safetensors", b"w");
        write(root, ".lock", b"1");
        write(root, ".job/spec.json", b"{}");
        write(root, "extra/.hidden", b"h");
        write(root, ".run_manifest.json.tmp-1", b"x");
        let files = select_files(root).expect("select");
        let real = std::fs::canonicalize(root).expect("canonical");
        assert_eq!(
            rels(&files),
            [
                "extra/notes/a.txt",
                "metrics.jsonl",
                "run.log",
                "run_manifest.json"
            ]
        );
        assert_eq!(files[2].size, 3);
        assert_eq!(files[2].path, real.join("run.log"));
    }

    #[test]
    fn a_file_named_like_the_checkpoints_folder_is_evidence() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "notes/checkpoints", b"a file, not the folder");
        let files = select_files(dir.path()).expect("select");
        assert_eq!(rels(&files), ["notes/checkpoints"]);
    }

    #[test]
    fn paths_sort_bytewise_whatever_the_walk_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        for rel in ["b.txt", "a/z.txt", "a.txt", "B.txt", "a-b/c.txt"] {
            write(dir.path(), rel, b"x");
        }
        let files = select_files(dir.path()).expect("select");
        assert_eq!(
            rels(&files),
            ["B.txt", "a-b/c.txt", "a.txt", "a/z.txt", "b.txt"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symbolic_links_are_refused_anywhere_with_their_path() {
        for link in [
            "evidence.txt",
            "sub/evidence.txt",
            "checkpoints/latest",
            ".job/x",
        ] {
            let dir = tempfile::tempdir().expect("tempdir");
            write(dir.path(), "run_manifest.json", b"{}");
            let target = dir.path().join("run_manifest.json");
            let at = dir.path().join(link);
            std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
            std::os::unix::fs::symlink(&target, &at).expect("symlink");
            let err = select_files(dir.path()).expect_err("refused");
            assert_eq!(err.exit_code(), crate::error::EXIT_BAD_INPUT);
            let real = std::fs::canonicalize(dir.path()).expect("canonical");
            assert_eq!(err.path(), Some(real.join(link).as_path()));
            assert!(err.to_string().contains("symbolic link"), "{err}");
            assert!(err.to_string().contains(link), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_folder_is_refused_not_followed() {
        let outside = tempfile::tempdir().expect("tempdir");
        write(outside.path(), "secret.txt", b"s");
        let dir = tempfile::tempdir().expect("tempdir");
        std::os::unix::fs::symlink(outside.path(), dir.path().join("data")).expect("symlink");
        let err = select_files(dir.path()).expect_err("refused");
        assert!(err.to_string().contains("symbolic link"), "{err}");
    }

    #[test]
    fn exclusion_applies_to_hidden_and_checkpoint_folders_only() {
        let root = Path::new("/r");
        assert!(excluded(root, Path::new("/r/.job/spec.json")));
        assert!(excluded(root, Path::new("/r/checkpoints/step-1/m")));
        assert!(excluded(root, Path::new("/r/trial-1/checkpoints/x")));
        assert!(excluded(root, Path::new("/r/a/.tmp")));
        assert!(!excluded(root, Path::new("/r/checkpoints")));
        assert!(!excluded(root, Path::new("/r/eval_items.jsonl")));
        assert!(excluded(root, Path::new("/elsewhere/x")));
    }
}
