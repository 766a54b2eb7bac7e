//! The order a sweep's rungs run in and when each is decided, pure: its
//! brackets (one, over every rung, without Hyperband), when a bracket's
//! first rung runs again (a TPE batch is still to draw), and the rung
//! decisions of successive halving as changes of the ledger (a rung
//! decided before, by a coordinator that then died, is not decided
//! again).

use crate::manifest::sweep::Scheduler;
use crate::sweep::decide;
use crate::sweep::hyperband::Bracket;
use crate::sweep::ledger::{Ledger, RungDecision};

/// The brackets in the order they run, each with its rungs; a sweep
/// without Hyperband (no `brackets`) is one bracket, `None`, over `rungs`.
pub(super) fn brackets(brackets: &[Bracket], rungs: &[u32]) -> Vec<(Option<u32>, Vec<u32>)> {
    match brackets.is_empty() {
        true => vec![(None, rungs.to_vec())],
        false => brackets
            .iter()
            .map(|b| (Some(b.index), b.rungs.clone()))
            .collect(),
    }
}

/// The scheduler's η: how many trials reach a rung for each that
/// continues past it.
pub(super) fn reduction_factor(scheduler: &Scheduler) -> u32 {
    match scheduler {
        Scheduler::Asha(a) => a.reduction_factor,
        Scheduler::Hyperband(h) => h.reduction_factor,
        Scheduler::None => 2,
    }
}

/// Whether trials of `bracket` still await their draw: its first rung
/// runs again, for the next batch.
pub(super) fn awaiting_draw(ledger: &Ledger, bracket: Option<u32>) -> bool {
    ledger
        .trials
        .iter()
        .any(|t| t.bracket == bracket && t.is_awaiting_draw())
}

/// Decide `rung` among the trials of `bracket` ([`decide::rung`]) once
/// they all reached it or failed; none at the last rung (`last`) and for a
/// rung decided already.
pub(super) fn decide(
    ledger: &mut Ledger,
    bracket: Option<u32>,
    rung: u32,
    last: u32,
    reduction_factor: u32,
) -> Option<RungDecision> {
    if rung == last || ledger.decision_in(bracket, rung).is_some() {
        return None;
    }
    Some(decide::rung(ledger, bracket, rung, reduction_factor))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::report::{apply, Report};
    use super::super::start::{behind, start, OnDisk, Rung};
    use super::*;
    use crate::runner::coordinator::testing::{failure, ledger};
    use crate::sweep::ledger::TrialState;

    const FRESH: OnDisk = OnDisk {
        reached: None,
        has_checkpoint: true,
    };

    /// Run `at` to its end with the trials' metrics `metric` (a failure
    /// for a trial not in it), as the coordinator does, with no folder.
    fn run_rung(l: &mut Ledger, at: Rung, metric: &BTreeMap<&str, f64>) -> Vec<String> {
        let found = behind(l, at, &BTreeMap::new())
            .into_iter()
            .map(|(id, step)| (id, step, FRESH))
            .collect();
        let todo = start(l, at, found).todo;
        for id in &todo {
            let report = match metric.get(id.as_str()) {
                Some(&m) => Report::Reached {
                    step: at.rung,
                    completed: at.rung == at.last,
                    metric: Some(m),
                    missing: None,
                },
                None => Report::Failed(failure("crash")),
            };
            apply(l, id, report);
        }
        todo
    }

    fn hyperband(index: u32, rungs: &[u32]) -> Bracket {
        Bracket {
            index,
            s: 0,
            trials: 2,
            rungs: rungs.to_vec(),
        }
    }

    #[test]
    fn a_sweep_without_hyperband_is_one_bracket() {
        assert_eq!(brackets(&[], &[2, 4]), [(None, vec![2, 4])]);
        let b = [hyperband(0, &[1, 3, 9]), hyperband(1, &[3, 9])];
        assert_eq!(
            brackets(&b, &[1, 3, 9]),
            [(Some(0), vec![1, 3, 9]), (Some(1), vec![3, 9])]
        );
        assert_eq!(reduction_factor(&Scheduler::None), 2);
    }

    #[test]
    fn successive_halving_promotes_through_the_ledger() {
        let mut l = ledger(&["t000", "t001", "t002", "t003"]);
        l.rungs = vec![2, 4];
        let at_2 = Rung {
            rung: 2,
            last: 4,
            bracket: None,
        };
        let metric = BTreeMap::from([("t000", 3.0), ("t001", 1.0), ("t002", 2.0)]);
        assert_eq!(run_rung(&mut l, at_2, &metric).len(), 4);
        assert_eq!(l.trials[3].state, TrialState::Failed);
        let d = decide(&mut l, None, 2, 4, 2).expect("decided");
        let continued: Vec<&str> = d.continued.iter().map(|s| s.trial_id.as_str()).collect();
        assert_eq!(
            continued,
            ["t001", "t002"],
            "the best ⌈3/2⌉ of those that reached it"
        );
        assert_eq!(l.trials[0].state, TrialState::Stopped);
        assert_eq!(decide(&mut l, None, 2, 4, 2), None, "decided once");
        let at_4 = Rung { rung: 4, ..at_2 };
        let metric = BTreeMap::from([("t001", 0.9), ("t002", 0.5)]);
        assert_eq!(run_rung(&mut l, at_4, &metric), ["t001", "t002"]);
        assert_eq!(
            decide(&mut l, None, 4, 4, 2),
            None,
            "the last rung is not halved"
        );
        let best = decide::best(&l, 4).expect("best");
        assert_eq!((best.trial_id.as_str(), best.metric), ("t002", 0.5));
    }

    #[test]
    fn hyperband_decides_each_bracket_among_its_own_trials() {
        let mut l = ledger(&["t000", "t001", "t002", "t003"]);
        for (t, b) in l.trials.iter_mut().zip([0, 0, 1, 1]) {
            t.bracket = Some(b);
        }
        let at = |rung, bracket| Rung {
            rung,
            last: 9,
            bracket: Some(bracket),
        };
        let metric = BTreeMap::from([("t000", 2.0), ("t001", 1.0), ("t002", 5.0), ("t003", 4.0)]);
        assert_eq!(run_rung(&mut l, at(3, 0), &metric), ["t000", "t001"]);
        decide(&mut l, Some(0), 3, 9, 2).expect("bracket 0 at 3");
        assert_eq!(l.trials[0].state, TrialState::Stopped);
        assert_eq!(
            l.trials[2].state,
            TrialState::Pending,
            "bracket 1 untouched"
        );
        assert_eq!(run_rung(&mut l, at(3, 1), &metric), ["t002", "t003"]);
        let d = decide(&mut l, Some(1), 3, 9, 2).expect("bracket 1 at 3");
        assert_eq!(d.continued[0].trial_id, "t003");
        assert_eq!(l.decisions.len(), 2);
        assert_eq!(
            decide(&mut l, Some(0), 3, 9, 2),
            None,
            "a resumed sweep keeps its decisions"
        );
    }

    #[test]
    fn a_bracket_awaits_its_draws() {
        let mut l = ledger(&["t000"]);
        l.trials
            .push(crate::sweep::ledger::TrialEntry::awaiting_draw(
                "t001",
                &BTreeMap::new(),
            ));
        assert!(awaiting_draw(&l, None));
        assert!(!awaiting_draw(&l, Some(0)));
        l.trials[1].draw = None;
        assert!(!awaiting_draw(&l, None));
    }
}
