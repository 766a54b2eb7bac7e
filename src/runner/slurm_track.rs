//! The bookkeeping of a rung on Slurm, pure: which job array element runs
//! each trial now (the newest job that lists it), which recorded jobs a
//! coordinator that comes back should ask Slurm about, what an element's
//! state means for its trial, and what follows a judged end (done, run
//! again as `max_retries` allows, failed for good). [`super::sweep_slurm`]
//! asks Slurm, reads the trial folders and submits; this decides.

use std::collections::{BTreeMap, BTreeSet};

use super::retry::Retries;
use super::slurm_judge::{Ended, Verdict};
use super::Outcome;
use crate::manifest::sweep::MaxRetries;
use crate::runfolder::{Failure, MetricRecord};
use crate::slurm::control::Task;
use crate::slurm::state::{self, Phase};
use crate::sweep::ledger::SlurmJob;

/// A rung's trials and the job arrays that run them.
#[derive(Debug)]
pub(super) struct Track {
    rung: u32,
    /// The trials that have neither reached the rung nor failed for good.
    remaining: BTreeSet<String>,
    /// The job and element that run each trial now.
    owner: BTreeMap<String, (String, usize)>,
    /// The jobs followed, oldest first.
    active: Vec<SlurmJob>,
    /// Trials to submit again after this poll.
    again: Vec<String>,
    retries: Retries,
    /// The newest step reported for each trial.
    steps: BTreeMap<String, u64>,
}

/// What an element of a job array means for its trial now.
#[derive(Debug)]
pub(super) enum Element {
    /// It ended or vanished: judge the trial by its folder.
    Ended(Ended),
    /// It runs: report the trial's progress.
    Running,
    /// It waits (queued, held, a state this version does not know).
    Waiting,
}

/// What follows a trial's judged end.
#[derive(Debug)]
pub(super) enum Next {
    /// It reached the rung.
    Reached(Box<Outcome>),
    /// It failed and runs again (retry `attempt` of its class), in the
    /// next submission.
    Retry { failure: Failure, attempt: u32 },
    /// It failed for good.
    Failed(Failure),
}

impl Track {
    /// The trials `trials` at `rung`, none of them running yet, with the
    /// retries `retried` records for them already counted.
    pub(super) fn new(
        rung: u32,
        trials: impl IntoIterator<Item = String>,
        retried: &BTreeMap<String, Vec<Failure>>,
    ) -> Self {
        Track {
            rung,
            remaining: trials.into_iter().collect(),
            owner: BTreeMap::new(),
            active: Vec::new(),
            again: Vec::new(),
            retries: Retries::used_before(retried),
            steps: BTreeMap::new(),
        }
    }

    /// The recorded jobs of this rung that list a trial still to run,
    /// oldest first: ask Slurm about each and [`Track::attach`] those it
    /// still lists.
    pub(super) fn recorded<'a>(&self, recorded: &'a [SlurmJob]) -> Vec<&'a SlurmJob> {
        recorded
            .iter()
            .filter(|j| j.rung == self.rung)
            .filter(|j| j.trials.iter().any(|t| self.remaining.contains(t)))
            .collect()
    }

    /// Follow `job`, which Slurm still lists: it runs every trial it lists
    /// (a newer job takes over the trials it lists again).
    pub(super) fn attach(&mut self, job: SlurmJob) {
        self.follow(job);
    }

    /// Follow `job`, just submitted.
    pub(super) fn submitted(&mut self, job: SlurmJob) {
        self.follow(job);
    }

    fn follow(&mut self, job: SlurmJob) {
        for (i, t) in job.trials.iter().enumerate() {
            self.owner.insert(t.clone(), (job.job_id.clone(), i));
        }
        self.active.push(job);
    }

    /// The trials still to run that no followed job runs: to submit.
    pub(super) fn unowned(&self) -> Vec<String> {
        self.remaining
            .iter()
            .filter(|t| !self.owner.contains_key(*t))
            .cloned()
            .collect()
    }

    /// The jobs followed, oldest first.
    pub(super) fn active(&self) -> &[SlurmJob] {
        &self.active
    }

    /// The trials that have not reached the rung or failed for good.
    pub(super) fn remaining(&self) -> &BTreeSet<String> {
        &self.remaining
    }

    /// The elements of `job` to look at: those that run a trial still to
    /// finish (a trial's older elements no longer count once it was
    /// submitted again).
    pub(super) fn watched<'a>(&self, job: &'a SlurmJob) -> Vec<(usize, &'a str)> {
        job.trials
            .iter()
            .enumerate()
            .filter(|(i, t)| {
                self.remaining.contains(*t)
                    && self
                        .owner
                        .get(*t)
                        .is_some_and(|(id, at)| *id == job.job_id && at == i)
            })
            .map(|(i, t)| (i, t.as_str()))
            .collect()
    }

    /// The metrics records of `trial`'s folder (`records`, in file order)
    /// to report now: those past the newest step reported (all of them
    /// the first time), or the newest alone when its newest step went
    /// back (a retry that resumed from an earlier checkpoint). Each step
    /// is reported once.
    pub(super) fn news(&mut self, trial: &str, records: Vec<MetricRecord>) -> Vec<MetricRecord> {
        let Some(newest) = records.last().map(|r| r.step) else {
            return Vec::new();
        };
        match self.steps.insert(trial.to_string(), newest) {
            Some(shown) if shown == newest => Vec::new(),
            Some(shown) if shown > newest => records.into_iter().last().into_iter().collect(),
            shown => records
                .into_iter()
                .filter(|r| shown.is_none_or(|s| r.step > s))
                .collect(),
        }
    }

    /// Take the verdict on `trial`'s ended element.
    pub(super) fn ended(&mut self, trial: &str, verdict: Verdict, policy: MaxRetries) -> Next {
        match verdict {
            Verdict::Reached(outcome) => {
                self.remaining.remove(trial);
                Next::Reached(outcome)
            }
            Verdict::Failed(failure) => match self.retries.next(trial, &failure, policy) {
                Some(attempt) => {
                    self.again.push(trial.to_string());
                    Next::Retry { failure, attempt }
                }
                None => {
                    self.remaining.remove(trial);
                    Next::Failed(failure)
                }
            },
        }
    }

    /// After a poll: the trials to submit again, in the order they
    /// failed. Their elements no longer count, and jobs that run nothing
    /// any more are no longer followed.
    pub(super) fn take_again(&mut self) -> Vec<String> {
        let again = std::mem::take(&mut self.again);
        for t in &again {
            self.owner.remove(t);
        }
        let owner = &self.owner;
        self.active
            .retain(|j| owner.values().any(|(id, _)| *id == j.job_id));
        again
    }

    /// Whether every trial reached the rung or failed for good.
    pub(super) fn is_done(&self) -> bool {
        self.remaining.is_empty()
    }
}

/// What element `index` of job array `job_id` (the job itself when
/// `None`: a Train job is no array) means, from the tasks Slurm lists for
/// the job (`None`: Slurm no longer lists the job).
pub(super) fn element(job_id: &str, index: Option<usize>, tasks: Option<&[Task]>) -> Element {
    let Some(tasks) = tasks else {
        return Element::Ended(Ended::Vanished(job_id.to_string()));
    };
    let (task, id) = match index {
        Some(i) => (
            tasks.iter().find(|t| t.index == Some(i as u32)),
            format!("{job_id}_{i}"),
        ),
        None => (tasks.first(), job_id.to_string()),
    };
    let Some(task) = task else {
        return Element::Ended(Ended::Vanished(id));
    };
    match state::phase(&task.state) {
        Phase::Ended => Element::Ended(Ended::Task(id, task.clone())),
        Phase::Running => Element::Running,
        _ => Element::Waiting,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::runfolder::RunStatus;

    fn job(id: &str, rung: u32, trials: &[&str]) -> SlurmJob {
        SlurmJob {
            job_id: id.into(),
            rung,
            trials: trials.iter().map(|t| t.to_string()).collect(),
            script: format!("slurm/rung-{rung}-{id}.sbatch"),
        }
    }

    fn track(trials: &[&str]) -> Track {
        Track::new(4, trials.iter().map(|t| t.to_string()), &BTreeMap::new())
    }

    fn reached() -> Verdict {
        Verdict::Reached(Box::new(Outcome {
            run_dir: PathBuf::from("/s/trials/t"),
            status: RunStatus::Stopped,
            summary: None,
            notes: Vec::new(),
        }))
    }

    fn failed(class: &str) -> Verdict {
        Verdict::Failed(Failure {
            class: class.into(),
            message: "m".into(),
        })
    }

    fn task(index: u32, state: &str) -> Task {
        Task {
            index: Some(index),
            state: state.into(),
            exit_code: None,
            restarts: 0,
            reason: "None".into(),
        }
    }

    fn watched(t: &Track, j: &SlurmJob) -> Vec<String> {
        t.watched(j)
            .into_iter()
            .map(|(i, t)| format!("{i}:{t}"))
            .collect()
    }

    #[test]
    fn a_coordinator_that_comes_back_asks_only_about_its_rungs_unfinished_jobs() {
        let t = track(&["t001", "t002"]);
        let recorded = [
            job("10", 2, &["t001", "t002"]),
            job("11", 4, &["t000"]),
            job("12", 4, &["t001", "t002"]),
            job("13", 4, &["t002"]),
        ];
        let ids: Vec<&str> = t
            .recorded(&recorded)
            .iter()
            .map(|j| j.job_id.as_str())
            .collect();
        assert_eq!(
            ids,
            ["12", "13"],
            "other rungs and finished trials' jobs are left alone"
        );
    }

    #[test]
    fn a_job_slurm_still_lists_is_followed_and_not_submitted_again() {
        let mut t = track(&["t000", "t001", "t002"]);
        t.attach(job("12", 4, &["t000", "t001"]));
        assert_eq!(t.unowned(), ["t002"], "only the trial no job runs");
        t.submitted(job("14", 4, &["t002"]));
        assert!(t.unowned().is_empty());
        let ids: Vec<&str> = t.active().iter().map(|j| j.job_id.as_str()).collect();
        assert_eq!(ids, ["12", "14"], "what --detach reports");
    }

    #[test]
    fn a_job_slurm_forgot_leaves_its_trials_to_submit_again() {
        let t = track(&["t000", "t001"]);
        // Job 12 was asked about and not listed: never attached.
        assert_eq!(t.unowned(), ["t000", "t001"]);
    }

    #[test]
    fn the_newest_job_that_lists_a_trial_runs_it() {
        let mut t = track(&["t000", "t001"]);
        let first = job("12", 4, &["t000", "t001"]);
        let retry = job("13", 4, &["t001"]);
        t.attach(first.clone());
        t.attach(retry.clone());
        assert_eq!(watched(&t, &first), ["0:t000"]);
        assert_eq!(watched(&t, &retry), ["0:t001"]);
    }

    #[test]
    fn an_elements_state_says_whether_to_judge_it() {
        let tasks = [task(0, "RUNNING"), task(1, "PENDING"), task(2, "COMPLETED")];
        assert!(matches!(
            element("7", Some(0), Some(&tasks)),
            Element::Running
        ));
        assert!(matches!(
            element("7", Some(1), Some(&tasks)),
            Element::Waiting
        ));
        assert!(matches!(
            element("7", Some(2), Some(&tasks)),
            Element::Ended(Ended::Task(id, _)) if id == "7_2"
        ));
        assert!(matches!(
            element("7", Some(3), Some(&tasks)),
            Element::Ended(Ended::Vanished(id)) if id == "7_3"
        ));
        assert!(matches!(
            element("7", Some(0), None),
            Element::Ended(Ended::Vanished(id)) if id == "7"
        ));
        for state in [
            "FAILED",
            "TIMEOUT",
            "OUT_OF_MEMORY",
            "CANCELLED",
            "PREEMPTED",
        ] {
            assert!(
                matches!(
                    element("7", Some(0), Some(&[task(0, state)])),
                    Element::Ended(_)
                ),
                "{state}"
            );
        }
    }

    #[test]
    fn a_reached_trial_is_done_and_no_longer_watched() {
        let mut t = track(&["t000", "t001"]);
        let j = job("12", 4, &["t000", "t001"]);
        t.submitted(j.clone());
        assert!(matches!(
            t.ended("t000", reached(), MaxRetries::default()),
            Next::Reached(_)
        ));
        assert_eq!(watched(&t, &j), ["1:t001"]);
        assert!(!t.is_done());
        t.ended("t001", reached(), MaxRetries::default());
        assert!(t.is_done());
        assert!(t.take_again().is_empty());
    }

    #[test]
    fn a_failure_runs_again_while_its_class_has_retries_then_fails_for_good() {
        let policy = MaxRetries::default(); // crash: 1, nan_loss: 0
        let mut t = track(&["t000", "t001", "t002"]);
        let first = job("12", 4, &["t000", "t001", "t002"]);
        t.submitted(first.clone());
        assert!(matches!(
            t.ended("t000", failed("crash"), policy),
            Next::Retry { attempt: 1, .. }
        ));
        assert!(matches!(
            t.ended("t001", failed("nan_loss"), policy),
            Next::Failed(f) if f.class == "nan_loss"
        ));
        assert_eq!(t.take_again(), ["t000"]);
        assert_eq!(
            watched(&t, &first),
            ["2:t002"],
            "t000's old element no longer counts"
        );
        assert_eq!(t.unowned(), ["t000"]);
        let retry = job("13", 4, &["t000"]);
        t.submitted(retry.clone());
        assert_eq!(watched(&t, &retry), ["0:t000"]);
        assert!(matches!(
            t.ended("t000", failed("crash"), policy),
            Next::Failed(_)
        ));
        assert!(t.take_again().is_empty());
        assert_eq!(
            t.remaining().iter().collect::<Vec<_>>(),
            ["t002"],
            "what Ctrl-C records as cancelled"
        );
    }

    #[test]
    fn a_retry_the_ledger_records_is_spent_for_a_coordinator_that_came_back() {
        let policy = MaxRetries::default(); // crash: 1
        let crash = Failure {
            class: "crash".into(),
            message: "m".into(),
        };
        let retried = BTreeMap::from([("t000".to_string(), vec![crash])]);
        let mut t = Track::new(4, ["t000".to_string(), "t001".to_string()], &retried);
        t.submitted(job("12", 4, &["t000", "t001"]));
        assert!(matches!(
            t.ended("t000", failed("crash"), policy),
            Next::Failed(_)
        ));
        assert!(matches!(
            t.ended("t001", failed("crash"), policy),
            Next::Retry { attempt: 1, .. }
        ));
    }

    #[test]
    fn a_job_that_runs_nothing_any_more_is_no_longer_followed() {
        let mut t = track(&["t000"]);
        t.submitted(job("12", 4, &["t000"]));
        t.ended("t000", failed("timeout"), MaxRetries::default());
        assert_eq!(t.take_again(), ["t000"]);
        assert!(t.active().is_empty(), "job 12 runs no trial now");
    }

    fn records(steps: &[u64]) -> Vec<MetricRecord> {
        steps
            .iter()
            .map(|s| {
                serde_json::from_value(serde_json::json!({"step": s, "loss": 1.0})).expect("record")
            })
            .collect()
    }

    fn steps(v: Vec<MetricRecord>) -> Vec<u64> {
        v.iter().map(|r| r.step).collect()
    }

    #[test]
    fn each_metrics_record_is_news_once() {
        let mut t = track(&["t000"]);
        assert!(t.news("t000", records(&[])).is_empty());
        assert_eq!(steps(t.news("t000", records(&[1, 2, 3]))), [1, 2, 3]);
        assert!(t.news("t000", records(&[1, 2, 3])).is_empty());
        assert_eq!(steps(t.news("t000", records(&[1, 2, 3, 4, 5]))), [4, 5]);
        // A retry resumed from step 2: its newest step is news.
        assert_eq!(steps(t.news("t000", records(&[1, 2]))), [2]);
        assert_eq!(steps(t.news("t001", records(&[4]))), [4]);
    }
}
