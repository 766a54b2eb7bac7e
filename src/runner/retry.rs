//! The retry policy's count, pure: how often each trial of a rung has run
//! again for each failure class, and whether a new failure runs it again
//! (`max_retries`). Both executors count with it, the local pool per
//! trial job and a rung on Slurm per rung; the counts start from the
//! retries the sweep's ledger records for each trial, so `max_retries` is
//! a trial's allowance over the whole sweep, across rungs and across
//! coordinators that came back.

use std::collections::BTreeMap;

use crate::manifest::sweep::MaxRetries;
use crate::runfolder::Failure;

/// No retries for any class: a Train job's (it has no `max_retries`; a
/// failure ends it, and running the manifest again resumes it).
pub(super) const NONE: MaxRetries = MaxRetries {
    crash: 0,
    timeout: 0,
    out_of_memory: 0,
    nan_loss: 0,
    bad_config: 0,
    bad_metrics: 0,
    no_predictions: 0,
};

/// The retries used so far, by trial and failure class.
#[derive(Debug, Default)]
pub(super) struct Retries {
    used: BTreeMap<(String, String), u32>,
}

impl Retries {
    /// The counts of the retries `retried` records, by trial: each
    /// failure a trial was run again after counts against its class.
    pub(super) fn used_before<'a>(
        retried: impl IntoIterator<Item = (&'a String, &'a Vec<Failure>)>,
    ) -> Self {
        let mut used = BTreeMap::new();
        for (trial, failures) in retried {
            for f in failures {
                *used.entry((trial.clone(), f.class.clone())).or_insert(0) += 1;
            }
        }
        Self { used }
    }

    /// Count `failure` of `trial`: the retry's attempt number (1 for the
    /// first retry of its class) when `policy` allows another run, else
    /// none (the trial has failed for good).
    pub(super) fn next(
        &mut self,
        trial: &str,
        failure: &Failure,
        policy: MaxRetries,
    ) -> Option<u32> {
        let n = self
            .used
            .entry((trial.to_string(), failure.class.clone()))
            .or_insert(0);
        if *n >= policy.for_class(&failure.class) {
            return None;
        }
        *n += 1;
        Some(*n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(class: &str) -> Failure {
        Failure {
            class: class.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn each_class_has_its_own_allowance_per_trial() {
        let policy = MaxRetries {
            crash: 2,
            ..MaxRetries::default()
        };
        let mut r = Retries::default();
        assert_eq!(r.next("t000", &failure("crash"), policy), Some(1));
        assert_eq!(r.next("t000", &failure("timeout"), policy), Some(1));
        assert_eq!(r.next("t000", &failure("crash"), policy), Some(2));
        assert_eq!(r.next("t000", &failure("crash"), policy), None);
        assert_eq!(r.next("t000", &failure("timeout"), policy), None);
        assert_eq!(r.next("t001", &failure("crash"), policy), Some(1));
    }

    #[test]
    fn classes_without_retries_fail_at_once() {
        let mut r = Retries::default();
        let policy = MaxRetries::default();
        for class in ["nan_loss", "bad_config", "out_of_memory", "metric_missing"] {
            assert_eq!(r.next("t000", &failure(class), policy), None, "{class}");
        }
        let none = MaxRetries {
            crash: 0,
            ..MaxRetries::default()
        };
        assert_eq!(r.next("t000", &failure("crash"), none), None);
        for class in ["crash", "timeout", "out_of_memory", "bad_metrics"] {
            assert_eq!(r.next("train", &failure(class), NONE), None, "{class}");
        }
    }

    #[test]
    fn retries_the_ledger_records_count_against_the_allowance() {
        let policy = MaxRetries {
            crash: 2,
            ..MaxRetries::default()
        };
        let recorded = BTreeMap::from([
            ("t000".to_string(), vec![failure("crash"), failure("crash")]),
            ("t001".to_string(), vec![failure("crash")]),
        ]);
        let mut r = Retries::used_before(&recorded);
        assert_eq!(r.next("t000", &failure("crash"), policy), None, "spent");
        assert_eq!(r.next("t001", &failure("crash"), policy), Some(2));
        assert_eq!(r.next("t001", &failure("crash"), policy), None);
        assert_eq!(r.next("t002", &failure("crash"), policy), Some(1));
    }
}
