//! Finding the built-in trainer worker (`tunix-rt-worker`, the only
//! program that loads libtorch): `$TUNIX_RT_WORKER` when set, else the
//! file of that name next to the running `tunix-rt` executable.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Environment variable naming the worker executable.
pub const WORKER_ENV: &str = "TUNIX_RT_WORKER";

/// The worker's file name.
pub const WORKER_NAME: &str = "tunix-rt-worker";

/// The worker executable, or an error naming both places looked at.
pub fn worker() -> Result<PathBuf> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(WORKER_NAME)));
    find(std::env::var_os(WORKER_ENV).map(PathBuf::from), beside)
}

fn find(from_env: Option<PathBuf>, beside: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(path) = from_env {
        if path.is_file() {
            tracing::debug!("trainer worker from ${WORKER_ENV}: {}", path.display());
            return Ok(path);
        }
        return Err(Error::runtime(format!(
            "${WORKER_ENV} is set to {}, which is not a file; point it at the `{WORKER_NAME}` executable or unset it",
            path.display()
        )));
    }
    if let Some(path) = beside.as_deref().filter(|p| p.is_file()) {
        tracing::debug!("trainer worker beside tunix-rt: {}", path.display());
        return Ok(path.to_path_buf());
    }
    let looked = beside.as_deref().map_or(
        "(the executable's folder is unknown)".to_string(),
        |p: &Path| p.display().to_string(),
    );
    Err(Error::runtime(format!(
        "the trainer worker `{WORKER_NAME}` was not found: not at {looked} (beside tunix-rt) and ${WORKER_ENV} is not set; built-in training and checkpoint evaluation need it: build it with `cargo build -p tunix-torch` (or `make build`), install it next to tunix-rt, or set {WORKER_ENV} to its path"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_variable_wins_and_must_name_a_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("w");
        std::fs::write(&file, b"").expect("write");
        assert_eq!(find(Some(file.clone()), None).expect("found"), file);
        let err = find(Some(tmp.path().join("missing")), Some(file)).expect_err("missing");
        assert!(
            err.to_string().contains("TUNIX_RT_WORKER is set to"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_worker_names_both_places() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let beside = tmp.path().join(WORKER_NAME);
        let err = find(None, Some(beside.clone())).expect_err("missing");
        let text = err.to_string();
        assert!(text.contains(&beside.display().to_string()), "{text}");
        assert!(text.contains("TUNIX_RT_WORKER is not set"), "{text}");
        assert_eq!(err.exit_code(), 3);
        std::fs::write(&beside, b"").expect("write");
        assert_eq!(find(None, Some(beside.clone())).expect("found"), beside);
    }
}
