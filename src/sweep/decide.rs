//! The scheduler's decisions as changes of the ledger: a rung decided
//! among one bracket's trials, and the best trial picked at the end —
//! pure functions of the ledger.

use super::halving::{self, Scored};
use super::ledger::{BestTrial, Ledger, RungDecision, StopPoint, TrialState};
use super::ties::tie_rule;

/// Decide `rung` among the live trials of `bracket` (`None`: a sweep
/// without brackets) that reached it: the best `⌈n/η⌉` continue
/// ([`halving::decide`]), the others are marked stopped there. The
/// decision is appended to the ledger and returned.
pub fn rung(
    ledger: &mut Ledger,
    bracket: Option<u32>,
    rung: u32,
    reduction_factor: u32,
) -> RungDecision {
    let reached: Vec<Scored> = ledger
        .trials
        .iter()
        .filter(|t| t.bracket == bracket && t.state.is_live() && t.last_step >= rung)
        .map(|t| Scored {
            trial_id: t.trial_id.clone(),
            metric: t.metrics.get(&rung).copied().flatten(),
        })
        .collect();
    let split = halving::decide(&reached, ledger.mode, reduction_factor);
    for s in &split.stopped {
        if let Some(t) = ledger.trial_mut(&s.trial_id) {
            t.state = TrialState::Stopped;
            t.stopped_at = Some(StopPoint {
                rung,
                metric: s.metric,
            });
        }
    }
    let decision = RungDecision {
        rung,
        continued: split.continued,
        stopped: split.stopped,
        tie_rule: tie_rule(&reached),
        bracket,
    };
    ledger.decisions.push(decision.clone());
    decision
}

/// The best of the trials that completed, by their metric at the step
/// each ended at (`last`, or a trial's own smaller `max_steps` in a sweep
/// without a scheduler that searches it), ranked by the halving's rule;
/// none when no completed trial has a metric.
pub fn best(ledger: &Ledger, last: u32) -> Option<BestTrial> {
    let finalists: Vec<Scored> = ledger
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Completed)
        .map(|t| Scored {
            trial_id: t.trial_id.clone(),
            metric: t.metrics.get(&t.last_step.min(last)).copied().flatten(),
        })
        .collect();
    let final_tie = tie_rule(&finalists);
    let top = halving::rank(&finalists, ledger.mode).into_iter().next()?;
    let metric = top.metric.filter(|m| !m.is_nan())?;
    let params = ledger
        .trials
        .iter()
        .find(|t| t.trial_id == top.trial_id)?
        .params
        .clone();
    Some(BestTrial {
        trial_id: top.trial_id,
        metric,
        params,
        tie_rule: final_tie,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::manifest::sweep::{Mode, SweepMetric};
    use crate::sweep::ledger::{TrialEntry, LEDGER_SCHEMA_VERSION};

    fn ledger(trials: &[(&str, Option<u32>, f64)]) -> Ledger {
        Ledger {
            schema_version: LEDGER_SCHEMA_VERSION,
            sweep: "s".into(),
            identity: "x".into(),
            metric: SweepMetric::val_loss(),
            mode: Mode::Min,
            rungs: vec![10, 30],
            trials: trials
                .iter()
                .map(|(id, bracket, loss)| {
                    let mut t = TrialEntry::pending(id, &BTreeMap::new());
                    t.bracket = *bracket;
                    t.reach(10, false, Some(*loss));
                    t
                })
                .collect(),
            decisions: Vec::new(),
            best: None,
            manifest: None,
            slurm_jobs: Vec::new(),
        }
    }

    #[test]
    fn a_rung_is_decided_within_its_bracket() {
        let mut l = ledger(&[
            ("t000", Some(0), 3.0),
            ("t001", Some(0), 1.0),
            ("t002", Some(0), 2.0),
            ("t003", Some(1), 9.0),
        ]);
        let d = rung(&mut l, Some(0), 10, 3);
        assert_eq!(d.continued.len(), 1);
        assert_eq!(d.continued[0].trial_id, "t001");
        assert_eq!(d.bracket, Some(0));
        assert_eq!(
            l.trials[3].state,
            TrialState::Running,
            "other bracket untouched"
        );
        assert_eq!(l.trials[0].state, TrialState::Stopped);
        assert_eq!(l.decision_in(Some(0), 10), Some(&d));
        assert_eq!(l.decision_in(Some(1), 10), None);
    }

    #[test]
    fn the_best_completed_trial_is_picked() {
        let mut l = ledger(&[("t000", None, 3.0), ("t001", None, 1.0)]);
        assert_eq!(best(&l, 30), None, "nothing completed");
        for (t, v) in l.trials.iter_mut().zip([0.5, 0.7]) {
            t.reach(30, true, Some(v));
        }
        let b = best(&l, 30).expect("best");
        assert_eq!((b.trial_id.as_str(), b.metric), ("t000", 0.5));
    }
}
