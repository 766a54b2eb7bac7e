//! What a run folder says once its Slurm task ended or vanished from the
//! controller: the verdict (reached, or failed with a class). Never
//! assumed done: a run stopped or completed at the step reached it; a
//! failed run failed with its recorded class; anything else failed with
//! the class of the Slurm state (TIMEOUT → `timeout`, OUT_OF_MEMORY →
//! `out_of_memory`, else `crash`). A sweep's rungs and a Train job on
//! Slurm are judged alike.

use std::path::Path;

use super::rung_message::reached_rung;
use super::Outcome;
use crate::runfolder::{read_manifest, Failure, RunStatus};
use crate::slurm::control::Task;
use crate::slurm::state;

/// What a trial folder says after its task ended.
#[derive(Debug)]
pub(super) enum Verdict {
    Reached(Box<Outcome>),
    Failed(Failure),
}

/// How a task stopped being something to wait for.
#[derive(Debug)]
pub(super) enum Ended {
    /// Slurm no longer lists it (the id shown).
    Vanished(String),
    /// It ended in a final state.
    Task(String, Task),
}

/// What the run folder says after its task ended: it reached `step` (any
/// step when `None`) if it stopped or completed with a metrics line there;
/// else the failure it recorded; else a failure named after the task's
/// final state, pointing at its Slurm output file `output`.
pub(super) fn judge(run_dir: &Path, step: Option<u32>, ended: &Ended, output: &Path) -> Verdict {
    let manifest = read_manifest(run_dir).ok();
    if let Some(m) = &manifest {
        if matches!(m.status, RunStatus::Stopped | RunStatus::Completed)
            && step.is_none_or(|s| reached_rung(run_dir, s))
        {
            let summary = crate::runfolder::read_summary(run_dir).ok();
            return Verdict::Reached(Box::new(Outcome {
                run_dir: run_dir.to_path_buf(),
                status: m.status,
                summary,
                notes: Vec::new(),
            }));
        }
        if m.status == RunStatus::Failed {
            if let Some(f) = &m.failure {
                return Verdict::Failed(f.clone());
            }
        }
    }
    let at = step.map(|s| format!(" at step {s}")).unwrap_or_default();
    Verdict::Failed(match ended {
        Ended::Vanished(id) => Failure {
            class: crate::trainer::FailureClass::Crash.as_str().into(),
            message: format!(
                "Slurm no longer lists job {id} (it ended longer ago than MinJobAge, or was purged) and its run folder records no outcome{at}"
            ),
        },
        Ended::Task(id, task) => Failure {
            class: state::failure_class(&task.state).as_str().into(),
            message: format!(
                "Slurm job {id} ended {} (exit code {}, reason {}) without recording an outcome{at}; see {}",
                task.state,
                task.exit_code.as_deref().unwrap_or("unknown"),
                task.reason,
                output.display()
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runfolder::{to_json_bytes, RunKind, RunManifest, METRICS, RUN_MANIFEST};

    fn folder(
        status: Option<RunStatus>,
        failure: Option<(&str, &str)>,
        steps: &[u32],
    ) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(status) = status {
            let mut m = RunManifest::new("t", RunKind::Train, "t", "2026-12-01T00:00:00Z");
            m.status = status;
            m.failure = failure.map(|(class, message)| Failure {
                class: class.into(),
                message: message.into(),
            });
            std::fs::write(
                dir.path().join(RUN_MANIFEST),
                to_json_bytes(&m).expect("json"),
            )
            .expect("write");
        }
        let lines: String = steps
            .iter()
            .map(|s| format!("{{\"step\":{s},\"loss\":1.0}}\n"))
            .collect();
        std::fs::write(dir.path().join(METRICS), lines).expect("metrics");
        dir
    }

    fn task(state: &str) -> Ended {
        Ended::Task(
            "7_0".into(),
            Task {
                index: Some(0),
                state: state.into(),
                exit_code: Some("0:15".into()),
                restarts: 0,
                reason: "TimeLimit".into(),
            },
        )
    }

    fn failed(v: Verdict) -> Failure {
        match v {
            Verdict::Failed(f) => f,
            Verdict::Reached(o) => panic!("reached: {o:?}"),
        }
    }

    #[test]
    fn an_ended_task_is_judged_by_its_trial_folder() {
        let output = Path::new("/s/slurm/7_0.out");
        let at_rung = folder(Some(RunStatus::Stopped), None, &[1, 2, 3, 4]);
        let vanished = Ended::Vanished("7".into());
        assert!(matches!(
            judge(at_rung.path(), Some(4), &vanished, output),
            Verdict::Reached(_)
        ));
        // Stopped at an earlier rung: the task did not bring it to this one.
        let earlier = folder(Some(RunStatus::Stopped), None, &[1, 2]);
        let f = failed(judge(earlier.path(), Some(4), &task("TIMEOUT"), output));
        assert_eq!(f.class, "timeout");
        assert!(
            f.message
                .contains("Slurm job 7_0 ended TIMEOUT (exit code 0:15"),
            "{}",
            f.message
        );
        assert!(
            f.message
                .ends_with("outcome at step 4; see /s/slurm/7_0.out"),
            "{}",
            f.message
        );
        let nan = folder(
            Some(RunStatus::Failed),
            Some(("nan_loss", "loss is NaN")),
            &[1],
        );
        assert_eq!(
            failed(judge(nan.path(), Some(4), &task("FAILED"), output)).class,
            "nan_loss"
        );
        let empty = folder(None, None, &[]);
        let f = failed(judge(empty.path(), Some(4), &vanished, output));
        assert_eq!(f.class, "crash");
        assert!(f.message.contains("no longer lists job 7"), "{}", f.message);
        let oom = folder(Some(RunStatus::Running), None, &[1]);
        assert_eq!(
            failed(judge(oom.path(), Some(4), &task("OUT_OF_MEMORY"), output)).class,
            "out_of_memory"
        );
        // A Train job (no step to reach): stopped at any step is its end.
        assert!(matches!(
            judge(earlier.path(), None, &task("COMPLETED"), output),
            Verdict::Reached(_)
        ));
        let timed_out = failed(judge(oom.path(), None, &task("TIMEOUT"), output));
        assert_eq!(timed_out.class, "timeout");
        assert!(
            timed_out
                .message
                .ends_with("without recording an outcome; see /s/slurm/7_0.out"),
            "{}",
            timed_out.message
        );
    }
}
