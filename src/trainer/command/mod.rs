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
pub mod overrun;
pub mod pace;
mod replay;
pub mod shim;
pub mod template;
pub mod tree;

use std::path::{Path, PathBuf};

/// Launchers whose program is the script they run, not themselves.
const LAUNCHERS: &[&str] = &[
    "python",
    "python3",
    "uv",
    "bash",
    "sh",
    "zsh",
    "node",
    "ruby",
    "perl",
    "Rscript",
    "julia",
    "torchrun",
    "accelerate",
    "deepspeed",
    "srun",
    "env",
];
/// File endings of scripts a launcher runs.
const SCRIPTS: &[&str] = &[".py", ".sh", ".jl", ".R", ".js", ".rb", ".pl", ".lua"];

/// How reports name a command trainer (the run's model column): the script
/// a launcher runs (`python3 train.py` → `train.py`, `python3 -m pkg.train`
/// → `pkg.train`, `torchrun --nproc_per_node 8 train.py` → `train.py`),
/// otherwise the program's file name.
pub fn trainer_name(argv: &[String]) -> String {
    let base = |s: &str| {
        Path::new(s)
            .file_name()
            .map_or_else(|| s.to_string(), |n| n.to_string_lossy().into_owned())
    };
    let Some(program) = argv.first() else {
        return String::new();
    };
    let program = base(program);
    let launcher = LAUNCHERS
        .iter()
        .any(|l| program == *l || program.strip_prefix(l).is_some_and(is_version));
    if !launcher {
        return program;
    }
    let args = &argv[1..];
    if let Some(i) = args.iter().position(|a| a == "-m") {
        if let Some(module) = args.get(i + 1) {
            return module.clone();
        }
    }
    args.iter()
        .find(|a| !a.starts_with('-') && SCRIPTS.iter().any(|e| a.ends_with(e)))
        .map_or(program, |script| base(script))
}

/// `3.11` or `3`: the version suffix of `python3.11`.
fn is_version(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_digit() || c == '.')
}

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
/// The run's own hyperparameters (`spec.params`) as one JSON object.
pub const ENV_PARAMS: &str = "TUNIX_PARAMS";
/// The eval set the predictions answer (unset without an eval section).
pub const ENV_EVALSET: &str = "TUNIX_EVALSET";

/// Why a command's program cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProgramError {
    /// The command's first element is empty.
    #[error("the command's program (its first element) is empty")]
    Empty,
    /// The program's path names a file without execute permission.
    #[error(
        "`{program}` ({}) is not executable; `chmod +x` it or run it through its interpreter (e.g. [\"python3\", \"{program}\"])",
        .path.display()
    )]
    NotExecutable {
        /// The program as the command names it.
        program: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The program's path names nothing.
    #[error(
        "the command `{program}` does not exist ({}); paths in `command` are relative to the workspace root",
        .path.display()
    )]
    Missing {
        /// The program as the command names it.
        program: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// No folder of `PATH` holds an executable of the program's name.
    #[error("the command `{program}` is not on PATH; install it, or give its path")]
    NotOnPath {
        /// The program's name.
        program: String,
    },
}

/// The executable `program` names, run from `cwd`: a name without a slash
/// is looked up in `PATH`, a path is taken relative to `cwd`.
pub fn find_program(program: &str, cwd: &Path) -> Result<PathBuf, ProgramError> {
    if program.is_empty() {
        return Err(ProgramError::Empty);
    }
    if program.contains('/') {
        let path = cwd.join(program);
        return if is_executable(&path) {
            Ok(path)
        } else if path.is_file() {
            Err(ProgramError::NotExecutable {
                program: program.to_string(),
                path,
            })
        } else {
            Err(ProgramError::Missing {
                program: program.to_string(),
                path,
            })
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
        .ok_or_else(|| ProgramError::NotOnPath {
            program: program.to_string(),
        })
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(argv: &[&str]) -> String {
        trainer_name(&argv.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn a_command_trainer_is_named_by_the_script_its_launcher_runs() {
        assert_eq!(name(&["python3", "train.py", "--lr", "0.1"]), "train.py");
        assert_eq!(name(&["/usr/bin/python3.11", "-u", "src/fit.py"]), "fit.py");
        assert_eq!(name(&["python", "-m", "pkg.train", "--x"]), "pkg.train");
        assert_eq!(
            name(&["torchrun", "--nproc_per_node", "8", "train.py"]),
            "train.py"
        );
        assert_eq!(name(&["bash", "run.sh"]), "run.sh");
        assert_eq!(name(&["./my-trainer", "--steps", "5"]), "my-trainer");
        assert_eq!(name(&["python3", "-c", "print(1)"]), "python3");
        assert_eq!(name(&["python3x", "a.py"]), "python3x");
        assert_eq!(name(&[]), "");
    }

    #[test]
    fn programs_are_found_on_path_or_relative_to_the_workspace() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert!(find_program("sh", tmp.path()).is_ok());
        let err = find_program("no-such-trainer-xyz", tmp.path()).expect_err("missing");
        assert!(err.to_string().contains("not on PATH"), "{err}");
        let err = find_program("./train.py", tmp.path()).expect_err("missing");
        assert_eq!(
            err.to_string(),
            format!(
                "the command `./train.py` does not exist ({}); paths in `command` are relative to the workspace root",
                tmp.path().join("./train.py").display()
            )
        );
        std::fs::write(tmp.path().join("train.py"), b"").expect("write");
        let err = find_program("./train.py", tmp.path()).expect_err("not executable");
        assert_eq!(
            err.to_string(),
            format!(
                "`./train.py` ({}) is not executable; `chmod +x` it or run it through its interpreter (e.g. [\"python3\", \"./train.py\"])",
                tmp.path().join("./train.py").display()
            )
        );
        assert_eq!(
            find_program("", tmp.path()).expect_err("empty").to_string(),
            "the command's program (its first element) is empty"
        );
    }
}
