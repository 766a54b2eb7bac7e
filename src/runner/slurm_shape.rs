//! What the Slurm executor's submissions look like, pure: a sweep's rung
//! is one job array of its trials (script and output files in the sweep
//! folder's `slurm/`), a Train job is one plain job (script `slurm.sbatch`
//! and output `slurm-<job id>.out` in its run folder's control folder).
//! [`super::sweep_slurm`] submits and follows; this says how each kind's
//! submission is written, where its files are, which task of a job runs a
//! job's folder, and what Ctrl-C says.

use std::path::{Path, PathBuf};

use super::train::TrainJob;
use crate::manifest::slurm::SlurmSpec;
use crate::runfolder::layout::{CONTROL_DIR, SLURM_DIR};
use crate::slurm::script::Batch;
use crate::workspace::Workspace;

/// A Train job's script, in its run folder's control folder.
pub const SCRIPT: &str = "slurm.sbatch";

/// What the Slurm executor submits.
#[derive(Debug, Clone, Copy)]
pub enum Shape<'a> {
    /// A sweep's rungs: one job array per rung (and per retry).
    Sweep {
        /// The sweep's name.
        name: &'a str,
        /// The sweep folder.
        dir: &'a Path,
        /// `max_concurrent_trials`: at most this many elements of an
        /// array run at once.
        throttle: u32,
    },
    /// A Train job: one job running its one run folder.
    Train,
}

impl Shape<'_> {
    /// The batch that runs the jobs `keys` (the first of them `first`,
    /// whose folders are `run_dirs`) at `rung`.
    #[allow(clippy::too_many_arguments)] // the parts of one submission
    pub(super) fn batch<'b>(
        &'b self,
        ws: &'b Workspace,
        spec: &'b SlurmSpec,
        tunix_rt: &'b Path,
        rung: u32,
        keys: &[String],
        first: Option<&TrainJob>,
        run_dirs: Vec<PathBuf>,
    ) -> Batch<'b> {
        let (job_name, title, array, throttle, until_step, output) = match self {
            Shape::Sweep {
                name,
                dir,
                throttle,
            } => (
                format!("tunix-{name}-r{rung}"),
                format!(
                    "tunix-rt sweep {name}, rung {rung} (step {rung}): {}",
                    keys.join(", ")
                ),
                true,
                Some((*throttle).min(keys.len() as u32).max(1)),
                Some(rung),
                dir.join(SLURM_DIR).join("%A_%a.out"),
            ),
            Shape::Train => {
                let name = first.map(|j| j.name.as_str()).unwrap_or_default();
                let control_dir = run_dirs.first().map(|d| d.join(CONTROL_DIR));
                (
                    format!("tunix-{name}"),
                    format!("tunix-rt Train run {name}"),
                    false,
                    None,
                    first.and_then(|j| j.until_step),
                    control_dir.unwrap_or_default().join("slurm-%j.out"),
                )
            }
        };
        Batch {
            job_name,
            title,
            workspace: ws.root(),
            tunix_rt,
            run_dirs,
            array,
            throttle,
            until_step,
            output,
            spec,
        }
    }

    /// Where the `n`th submission's script goes (the first folder of the
    /// submission is `run_dir`), and its name as the record keeps it
    /// (relative to the sweep folder, or to the run's control folder).
    pub(super) fn script(&self, rung: u32, n: usize, run_dir: &Path) -> (PathBuf, String) {
        match self {
            Shape::Sweep { dir, .. } => {
                let rel = format!("{SLURM_DIR}/rung-{rung}-{n}.sbatch");
                (dir.join(&rel), rel)
            }
            Shape::Train => (run_dir.join(CONTROL_DIR).join(SCRIPT), SCRIPT.to_string()),
        }
    }

    /// The task of a job that runs its `i`th folder: that array element,
    /// or the one job.
    pub(super) fn element(&self, i: usize) -> Option<usize> {
        match self {
            Shape::Sweep { .. } => Some(i),
            Shape::Train => None,
        }
    }

    /// Slurm's output file of `job_id`'s `i`th folder `run_dir`.
    pub(super) fn output(&self, job_id: &str, i: usize, run_dir: &Path) -> PathBuf {
        match self {
            Shape::Sweep { dir, .. } => dir.join(SLURM_DIR).join(format!("{job_id}_{i}.out")),
            Shape::Train => run_dir
                .join(CONTROL_DIR)
                .join(format!("slurm-{job_id}.out")),
        }
    }

    /// The step an ended task's folder must have reached: the rung's,
    /// or, for a Train job, any (stopped or completed is its end).
    pub(super) fn step(&self, rung: u32) -> Option<u32> {
        match self {
            Shape::Sweep { .. } => Some(rung),
            Shape::Train => None,
        }
    }

    /// What Ctrl-C or SIGTERM (`signal`) says after cancelling `job_ids`
    /// (`problems`: the cancellations that failed), with `unfinished`
    /// jobs left (a Train job's folder `run_dir`, as the user sees it).
    pub(super) fn interrupted(
        &self,
        signal: crate::interrupt::Signal,
        job_ids: &[&str],
        problems: &[String],
        unfinished: usize,
        run_dir: &Path,
    ) -> String {
        match self {
            Shape::Sweep { .. } => {
                let mut message = format!(
                    "interrupted by {signal}: cancelled Slurm job(s) {} (scancel); {unfinished} unfinished trial(s) recorded as cancelled; run the same command again to continue them",
                    job_ids.join(", "),
                );
                if !problems.is_empty() {
                    message.push_str(&format!("; could not cancel: {}", problems.join("; ")));
                }
                message
            }
            Shape::Train => format!(
                "interrupted by {signal}: {} Slurm job {}; the run folder {} resumes from its newest checkpoint when the manifest runs again",
                if problems.is_empty() {
                    "cancelled"
                } else {
                    "could not cancel"
                },
                job_ids.join(", "),
                run_dir.display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interrupt::Signal;

    #[test]
    fn a_train_jobs_files_are_in_its_control_folder() {
        let run = Path::new("/ws/submission_runs/toy-2");
        let (path, rel) = Shape::Train.script(8, 1, run);
        assert_eq!(path, run.join(".job/slurm.sbatch"));
        assert_eq!(rel, "slurm.sbatch", "what slurm.json records");
        assert_eq!(
            Shape::Train.output("12", 0, run),
            run.join(".job/slurm-12.out")
        );
        assert_eq!(Shape::Train.element(0), None, "one job, no array");
        assert_eq!(Shape::Train.step(8), None);
    }

    #[test]
    fn a_sweeps_files_are_in_its_slurm_folder() {
        let dir = Path::new("/ws/submission_runs/s");
        let sweep = Shape::Sweep {
            name: "s",
            dir,
            throttle: 2,
        };
        let trial = dir.join("trials/s-t001");
        let (path, rel) = sweep.script(4, 3, &trial);
        assert_eq!(rel, "slurm/rung-4-3.sbatch");
        assert_eq!(path, dir.join("slurm/rung-4-3.sbatch"));
        assert_eq!(sweep.output("12", 1, &trial), dir.join("slurm/12_1.out"));
        assert_eq!(sweep.element(1), Some(1));
        assert_eq!(sweep.step(4), Some(4));
    }

    #[test]
    fn ctrl_c_says_what_was_cancelled_and_how_to_continue() {
        let run = Path::new("submission_runs/toy");
        assert_eq!(
            Shape::Train.interrupted(Signal::Terminate, &["12"], &[], 1, run),
            "interrupted by SIGTERM: cancelled Slurm job 12; the run folder submission_runs/toy resumes from its newest checkpoint when the manifest runs again"
        );
        let failed = Shape::Train.interrupted(Signal::Interrupt, &["12"], &["no".into()], 1, run);
        assert!(
            failed.starts_with("interrupted by SIGINT: could not cancel Slurm job 12;"),
            "{failed}"
        );
        let sweep = Shape::Sweep {
            name: "s",
            dir: Path::new("/s"),
            throttle: 1,
        };
        assert_eq!(
            sweep.interrupted(Signal::Interrupt, &["12", "13"], &[], 2, run),
            "interrupted by SIGINT: cancelled Slurm job(s) 12, 13 (scancel); 2 unfinished trial(s) recorded as cancelled; run the same command again to continue them"
        );
    }
}
