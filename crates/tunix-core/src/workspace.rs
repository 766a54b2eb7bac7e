//! The workspace: the folder that holds manifests, eval sets and run folders.
//! Relative paths in manifests resolve against the manifest's folder and must
//! stay inside the workspace.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Entries whose presence marks a folder as a tunix-rt workspace root.
const MARKERS: &[&str] = &["manifests", "submission_runs", "tunix.duckdb", ".git"];

/// The workspace root and helpers to resolve paths against it.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// A workspace rooted at `root` (made absolute and lexically normalized).
    pub fn at(root: &Path) -> Result<Self> {
        let abs = absolute(root)?;
        Ok(Workspace {
            root: normalize_lexically(&abs),
        })
    }

    /// The root given explicitly, else the nearest ancestor of the current
    /// directory that holds one of `manifests/`, `submission_runs/`,
    /// `tunix.duckdb` or `.git`, else the current directory.
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        if let Some(root) = explicit {
            return Workspace::at(root);
        }
        let cwd = std::env::current_dir()
            .map_err(|e| Error::runtime("cannot read the current directory").with_source(e))?;
        let found = cwd
            .ancestors()
            .find(|dir| MARKERS.iter().any(|m| dir.join(m).exists()));
        match found {
            Some(dir) => tracing::info!("workspace {} (found from {})", dir.display(), cwd.display()),
            None => tracing::info!(
                "workspace {} (no ancestor holds manifests/, submission_runs/, tunix.duckdb or .git)",
                cwd.display()
            ),
        }
        Workspace::at(found.unwrap_or(&cwd))
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Resolve `value` (as written in the file `base_file`) to an absolute
    /// path. Relative paths resolve against the file's folder and may not
    /// leave the workspace; absolute paths are taken as written.
    pub fn resolve(&self, base_file: &Path, value: &Path) -> Result<PathBuf, ResolveError> {
        if value.as_os_str().is_empty() {
            return Err(ResolveError::Empty);
        }
        if value.is_absolute() {
            return Ok(normalize_lexically(value));
        }
        let base_dir = absolute(base_file)
            .map_err(ResolveError::BaseFile)?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        let joined = normalize_lexically(&base_dir.join(value));
        if joined.starts_with(&self.root) {
            Ok(joined)
        } else {
            Err(ResolveError::Outside {
                value: value.to_path_buf(),
                resolved: joined,
                root: self.root.clone(),
            })
        }
    }

    /// `path` relative to the workspace root when it lies inside it.
    pub fn display_path(&self, path: &Path) -> PathBuf {
        let abs = absolute(path).map(|p| normalize_lexically(&p));
        match abs {
            Ok(abs) => abs
                .strip_prefix(&self.root)
                .map(Path::to_path_buf)
                .unwrap_or(abs),
            Err(_) => path.to_path_buf(),
        }
    }
}

/// Why a path written in a file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The path is the empty string.
    #[error("path is empty")]
    Empty,
    /// The file the path is written in has no absolute path.
    #[error("{0}")]
    BaseFile(Error),
    /// A relative path leads out of the workspace.
    #[error(
        "relative path `{}` resolves to {}, outside the workspace {}; keep inputs and outputs inside the workspace or use an absolute path",
        .value.display(),
        .resolved.display(),
        .root.display()
    )]
    Outside {
        /// The path as written.
        value: PathBuf,
        /// Where it leads.
        resolved: PathBuf,
        /// The workspace root it leaves.
        root: PathBuf,
    },
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| Error::io("resolve the path", path, e))
}

/// Remove `.` and resolve `..` without touching the file system.
pub fn normalize_lexically(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(component);
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ws() -> Workspace {
        Workspace::at(Path::new("/ws")).expect("absolute path")
    }

    #[test]
    fn relative_paths_resolve_against_the_file_folder() {
        let got = ws()
            .resolve(
                Path::new("/ws/manifests/a.yaml"),
                Path::new("../evalsets/e.jsonl"),
            )
            .expect("inside");
        assert_eq!(got, PathBuf::from("/ws/evalsets/e.jsonl"));
    }

    #[test]
    fn escaping_the_workspace_is_refused() {
        let err = ws()
            .resolve(
                Path::new("/ws/manifests/a.yaml"),
                Path::new("../../etc/passwd"),
            )
            .expect_err("outside");
        assert_eq!(
            err.to_string(),
            "relative path `../../etc/passwd` resolves to /etc/passwd, outside the workspace /ws; keep inputs and outputs inside the workspace or use an absolute path"
        );
        let err = ws()
            .resolve(Path::new("/ws/a.yaml"), Path::new(""))
            .expect_err("empty");
        assert_eq!(err.to_string(), "path is empty");
    }

    #[test]
    fn absolute_paths_are_kept() {
        let got = ws()
            .resolve(Path::new("/ws/a.yaml"), Path::new("/data/x/../y"))
            .expect("absolute");
        assert_eq!(got, PathBuf::from("/data/y"));
    }

    #[test]
    fn lexical_normalization() {
        assert_eq!(
            normalize_lexically(Path::new("/a/./b/../c")),
            PathBuf::from("/a/c")
        );
    }
}
