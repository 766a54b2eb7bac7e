//! Command trainers: the user's own training program, named by a Train
//! spec's `command`, run through the trainer protocol by a shim
//! (`tunix-rt command-trainer`, [`shim::serve`]).
//!
//! The program needs no protocol code of its own. It reads its settings
//! from its arguments (rendered from the `command` templates) and these
//! environment variables, appends metric lines to `$TUNIX_METRICS_FILE`,
//! writes `{"id","output"}` lines for the eval set's items to
//! `$TUNIX_PREDICTIONS_FILE`, may write checkpoints as
//! `$TUNIX_CHECKPOINT_DIR/step-NNNNNNNN/` (with a `state.json`, written
//! last) and resume from `$TUNIX_RESUME_DIR`, and stops after the step
//! `$TUNIX_UNTIL_STEP`. Its stdout and stderr go to the run's log.

pub mod lines;
pub mod shim;
pub mod template;

use std::path::{Path, PathBuf};

/// The run folder.
pub const ENV_RUN_DIR: &str = "TUNIX_RUN_DIR";
/// Where the program appends its metric lines.
pub const ENV_METRICS_FILE: &str = "TUNIX_METRICS_FILE";
/// Where the program writes its predictions for the eval set.
pub const ENV_PREDICTIONS_FILE: &str = "TUNIX_PREDICTIONS_FILE";
/// Where the program writes `step-NNNNNNNN/` checkpoints.
pub const ENV_CHECKPOINT_DIR: &str = "TUNIX_CHECKPOINT_DIR";
/// The sweep trial's id (empty outside a sweep).
pub const ENV_TRIAL_ID: &str = "TUNIX_TRIAL_ID";
/// `training.seed`.
pub const ENV_SEED: &str = "TUNIX_SEED";
/// Stop after this step.
pub const ENV_UNTIL_STEP: &str = "TUNIX_UNTIL_STEP";
/// `training.max_steps`.
pub const ENV_MAX_STEPS: &str = "TUNIX_MAX_STEPS";
/// The checkpoint to resume from (unset on a fresh start).
pub const ENV_RESUME_DIR: &str = "TUNIX_RESUME_DIR";
/// The step of `TUNIX_RESUME_DIR` (0 on a fresh start).
pub const ENV_RESUME_STEP: &str = "TUNIX_RESUME_STEP";
/// The eval set the predictions answer (unset without an eval section).
pub const ENV_EVALSET: &str = "TUNIX_EVALSET";

/// The executable `program` names, run from `cwd`: a name without a slash
/// is looked up in `PATH`, a path is taken relative to `cwd`.
pub fn find_program(program: &str, cwd: &Path) -> Result<PathBuf, String> {
    if program.is_empty() {
        return Err("the command's program (its first element) is empty".into());
    }
    if program.contains('/') {
        let path = cwd.join(program);
        return if is_executable(&path) {
            Ok(path)
        } else if path.is_file() {
            Err(format!(
                "`{program}` ({}) is not executable; `chmod +x` it or run it through its interpreter (e.g. [\"python3\", \"{program}\"])",
                path.display()
            ))
        } else {
            Err(format!(
                "the command `{program}` does not exist ({}); paths in `command` are relative to the workspace root",
                path.display()
            ))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| {
            format!("the command `{program}` is not on PATH; install it, or give its path")
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn programs_are_found_on_path_or_relative_to_the_workspace() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert!(find_program("sh", tmp.path()).is_ok());
        let err = find_program("no-such-trainer-xyz", tmp.path()).expect_err("missing");
        assert!(err.contains("not on PATH"), "{err}");
        let err = find_program("./train.py", tmp.path()).expect_err("missing");
        assert!(err.contains("does not exist"), "{err}");
        std::fs::write(tmp.path().join("train.py"), b"").expect("write");
        let err = find_program("./train.py", tmp.path()).expect_err("not executable");
        assert!(err.contains("not executable"), "{err}");
    }
}
