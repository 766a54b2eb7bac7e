//! What the ledger learns while a rung runs, as a pure transition: the
//! ledger and one [`Report`] about a trial (or about the executor's own
//! jobs) give the changed ledger, the event to show and whether the
//! ledger must be written. The coordinator turns each executor
//! [`super::super::rung_message::Message`] into a report, reading the
//! trial folder where it must (the metric at the step, the failure a run
//! recorded); nothing here reads or writes a file.

use super::event::SweepEvent;
use crate::runfolder::Failure;
use crate::sweep::ledger::{Ledger, SlurmJob, TrialState};

/// What happened, with the facts the trial folder gave.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Report {
    /// Slurm accepted this job array.
    Submitted(SlurmJob),
    /// A job array an earlier coordinator submitted is being followed.
    Attached(String),
    /// The trial's trainer reported this step.
    Progress(u64),
    /// The trial failed and runs again (retry `attempt` of its class).
    Retrying { failure: Failure, attempt: u32 },
    /// The trial failed for good.
    Failed(Failure),
    /// Ctrl-C cancelled the trial's job.
    Cancelled,
    /// The trial's run ended well at `step` (`completed`: at its
    /// `max_steps`), with the metric there; `missing` is the failure of a
    /// run that never reported the metric at all.
    Reached {
        step: u32,
        completed: bool,
        metric: Option<f64>,
        missing: Option<Failure>,
    },
}

/// What a report did.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Applied {
    /// The event to show, first.
    pub event: Option<SweepEvent>,
    /// Whether the ledger changed (write it after the event).
    pub changed: bool,
}

impl Applied {
    fn shown(event: SweepEvent) -> Self {
        Applied {
            event: Some(event),
            changed: false,
        }
    }

    fn recorded(event: SweepEvent) -> Self {
        Applied {
            event: Some(event),
            changed: true,
        }
    }
}

/// Apply `report` about trial `trial_id` (empty for the executor's own
/// jobs) to `ledger`. A report about a trial the ledger does not hold
/// changes nothing.
pub(super) fn apply(ledger: &mut Ledger, trial_id: &str, report: Report) -> Applied {
    let report = match report {
        Report::Submitted(job) => {
            let event = SweepEvent::SlurmSubmitted {
                job_id: job.job_id.clone(),
                rung: job.rung,
                trials: job.trials.clone(),
            };
            ledger.slurm_jobs.push(job);
            return Applied::recorded(event);
        }
        Report::Attached(job_id) => return Applied::shown(SweepEvent::SlurmAttached { job_id }),
        about_a_trial => about_a_trial,
    };
    let Some(t) = ledger.trial_mut(trial_id) else {
        return Applied::default();
    };
    let trial_id = trial_id.to_string();
    let event = match report {
        // Taken above: they are about no trial.
        Report::Submitted(_) | Report::Attached(_) => return Applied::default(),
        Report::Progress(step) => {
            return Applied::shown(SweepEvent::TrialProgress { trial_id, step })
        }
        Report::Cancelled => {
            t.state = TrialState::Cancelled;
            SweepEvent::TrialCancelled { trial_id }
        }
        Report::Failed(failure) => {
            t.state = TrialState::Failed;
            t.failure = Some(failure.clone());
            SweepEvent::TrialFailed { trial_id, failure }
        }
        Report::Retrying { failure, attempt } => {
            t.retried.push(failure.clone());
            SweepEvent::TrialRetrying {
                trial_id,
                failure,
                attempt,
            }
        }
        Report::Reached {
            step,
            missing: Some(failure),
            ..
        } => {
            t.fail_at(step, failure.clone());
            SweepEvent::TrialFailed { trial_id, failure }
        }
        Report::Reached {
            step,
            completed,
            metric,
            missing: None,
        } => {
            t.reach(step, completed, metric);
            SweepEvent::TrialReached {
                trial_id,
                step,
                metric,
                from_disk: false,
            }
        }
    };
    Applied::recorded(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::coordinator::testing::{failure, ledger};

    fn reached(step: u32, completed: bool, metric: Option<f64>) -> Report {
        Report::Reached {
            step,
            completed,
            metric,
            missing: None,
        }
    }

    #[test]
    fn a_trial_that_reaches_a_rung_records_its_metric_there() {
        let mut l = ledger(&["t000", "t001"]);
        l.trials[0].state = TrialState::Running;
        let a = apply(&mut l, "t000", reached(4, false, Some(1.5)));
        assert!(a.changed);
        assert_eq!(
            a.event,
            Some(SweepEvent::TrialReached {
                trial_id: "t000".into(),
                step: 4,
                metric: Some(1.5),
                from_disk: false,
            })
        );
        let t = &l.trials[0];
        assert_eq!((t.state, t.last_step), (TrialState::Running, 4));
        assert_eq!(t.metrics.get(&4), Some(&Some(1.5)));
        apply(&mut l, "t000", reached(8, true, None));
        let t = &l.trials[0];
        assert_eq!((t.state, t.last_step), (TrialState::Completed, 8));
        assert_eq!(t.metrics.get(&8), Some(&None), "a rung without the metric");
    }

    #[test]
    fn a_run_that_never_reported_the_metric_fails_at_the_step_it_reached() {
        let mut l = ledger(&["t000"]);
        let missing = failure("metric_missing");
        let a = apply(
            &mut l,
            "t000",
            Report::Reached {
                step: 4,
                completed: false,
                metric: None,
                missing: Some(missing.clone()),
            },
        );
        assert!(a.changed);
        let t = &l.trials[0];
        assert_eq!((t.state, t.last_step), (TrialState::Failed, 4));
        assert_eq!(t.failure.as_ref(), Some(&missing));
        assert!(t.metrics.is_empty(), "no metric recorded");
    }

    #[test]
    fn a_retry_is_recorded_and_the_trial_stays_in_the_race() {
        let mut l = ledger(&["t000"]);
        l.trials[0].state = TrialState::Running;
        let a = apply(
            &mut l,
            "t000",
            Report::Retrying {
                failure: failure("crash"),
                attempt: 1,
            },
        );
        assert!(a.changed);
        assert!(matches!(
            a.event,
            Some(SweepEvent::TrialRetrying { attempt: 1, .. })
        ));
        let t = &l.trials[0];
        assert_eq!(t.state, TrialState::Running);
        assert_eq!(t.retried, vec![failure("crash")]);
        assert_eq!(t.failure, None);
    }

    #[test]
    fn a_failure_for_good_takes_the_trial_out() {
        let mut l = ledger(&["t000"]);
        l.trials[0].retried.push(failure("crash"));
        apply(&mut l, "t000", Report::Failed(failure("crash")));
        let t = &l.trials[0];
        assert_eq!(t.state, TrialState::Failed);
        assert!(!t.state.is_live());
        assert_eq!(t.failure, Some(failure("crash")));
    }

    #[test]
    fn a_cancelled_trial_stays_live_for_the_next_run() {
        let mut l = ledger(&["t000"]);
        l.trials[0].state = TrialState::Running;
        let a = apply(&mut l, "t000", Report::Cancelled);
        assert!(a.changed);
        assert_eq!(
            a.event,
            Some(SweepEvent::TrialCancelled {
                trial_id: "t000".into()
            })
        );
        assert_eq!(l.trials[0].state, TrialState::Cancelled);
        assert!(l.trials[0].state.is_live());
    }

    #[test]
    fn a_submission_is_recorded_before_anything_waits_on_it() {
        let mut l = ledger(&["t000", "t001"]);
        let job = SlurmJob {
            job_id: "12".into(),
            rung: 4,
            trials: vec!["t000".into(), "t001".into()],
            script: "slurm/rung-4-1.sbatch".into(),
        };
        let a = apply(&mut l, "", Report::Submitted(job.clone()));
        assert!(a.changed, "written before the executor waits");
        assert_eq!(l.slurm_jobs, vec![job]);
        let a = apply(&mut l, "", Report::Attached("12".into()));
        assert!(!a.changed, "following a recorded job changes nothing");
        assert_eq!(
            a.event,
            Some(SweepEvent::SlurmAttached {
                job_id: "12".into()
            })
        );
    }

    #[test]
    fn progress_is_shown_and_not_written() {
        let mut l = ledger(&["t000"]);
        let before = l.clone();
        let a = apply(&mut l, "t000", Report::Progress(3));
        assert!(!a.changed);
        assert_eq!(
            a.event,
            Some(SweepEvent::TrialProgress {
                trial_id: "t000".into(),
                step: 3
            })
        );
        assert_eq!(l, before);
    }

    #[test]
    fn a_report_about_an_unknown_trial_changes_nothing() {
        let mut l = ledger(&["t000"]);
        let before = l.clone();
        for report in [
            Report::Progress(3),
            Report::Cancelled,
            Report::Failed(failure("crash")),
            reached(4, false, Some(1.0)),
        ] {
            assert_eq!(apply(&mut l, "t999", report), Applied::default());
        }
        assert_eq!(l, before);
    }
}
