//! Starting a rung, as pure transitions of the ledger: recording a TPE
//! batch's draws before any of it runs; picking the live trials of the
//! rung's bracket that are short of their step; and, from what their
//! folders say, taking what is already there (a coordinator that was
//! killed, interrupted or detached left it) or marking the rest running.
//! The coordinator reads the folders; nothing here touches a file.

use std::collections::BTreeMap;

use super::event::SweepEvent;
use crate::sweep::ledger::{Ledger, ResultDraw, TrialState};
use crate::sweep::restarts;
use crate::sweep::tpe_draw::Draw;

/// Where a rung brings trials: to `rung` (of `last`, the final one), the
/// trials of `bracket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rung {
    pub rung: u32,
    pub last: u32,
    pub bracket: Option<u32>,
}

/// What a trial's folder says before the trial runs towards its step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct OnDisk {
    /// Its run stopped or completed at the step with the sweep's metric
    /// there: whether it completed, and the metric.
    pub reached: Option<(bool, f64)>,
    /// It has a checkpoint to continue from (read only when it has not
    /// reached the step).
    pub has_checkpoint: bool,
}

/// How a rung starts.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Started {
    /// The trials to run, in ledger order.
    pub todo: Vec<String>,
    /// The trials found at their step already, in ledger order.
    pub events: Vec<SweepEvent>,
}

/// Record the draws of a TPE batch (each trial's values and what the
/// draw saw); the event to show, none for an empty batch.
pub(super) fn drawn(ledger: &mut Ledger, batch: &[Draw]) -> Option<SweepEvent> {
    let first = batch.first()?;
    for d in batch {
        if let Some(t) = ledger.trial_mut(&d.trial_id) {
            t.params = d.params.clone();
            t.draw = Some(ResultDraw {
                drawn: true,
                observed: d.observed.clone(),
                pending: d.pending.clone(),
            });
        }
    }
    Some(SweepEvent::TrialsDrawn {
        trials: batch.iter().map(|d| d.trial_id.clone()).collect(),
        observed: first.observed.len(),
    })
}

/// The live trials of `at`'s bracket, drawn already, that have not reached
/// their step at this rung, each with that step (`steps`; the rung for a
/// trial not in it), in ledger order.
pub(super) fn behind(
    ledger: &Ledger,
    at: Rung,
    steps: &BTreeMap<String, u32>,
) -> Vec<(String, u32)> {
    ledger
        .trials
        .iter()
        .filter(|t| t.bracket == at.bracket && !t.is_awaiting_draw() && t.state.is_live())
        .map(|t| {
            let step = steps.get(&t.trial_id).copied().unwrap_or(at.rung);
            (t, step)
        })
        .filter(|(t, step)| t.last_step < *step)
        .map(|(t, step)| (t.trial_id.clone(), step))
        .collect()
}

/// Start `at` for the trials `found` ([`behind`]'s, each with what its
/// folder says): one whose folder reached its step is recorded there
/// (completed only at the last rung); the others are marked running,
/// a continuation that finds no checkpoint noted ([`restarts`]).
pub(super) fn start(ledger: &mut Ledger, at: Rung, found: Vec<(String, u32, OnDisk)>) -> Started {
    let found: BTreeMap<String, (u32, OnDisk)> = found
        .into_iter()
        .map(|(id, step, disk)| (id, (step, disk)))
        .collect();
    let mut started = Started::default();
    for t in ledger.trials.iter_mut() {
        let Some(&(step, disk)) = found.get(&t.trial_id) else {
            continue;
        };
        if let Some((completed, value)) = disk.reached {
            t.reach(step, completed && at.rung == at.last, Some(value));
            started.events.push(SweepEvent::TrialReached {
                trial_id: t.trial_id.clone(),
                step,
                metric: Some(value),
                from_disk: true,
            });
            continue;
        }
        restarts::record(t, at.rung, disk.has_checkpoint);
        t.state = TrialState::Running;
        started.todo.push(t.trial_id.clone());
    }
    started
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::runner::coordinator::testing::{failure, ledger};

    const AT_4: Rung = Rung {
        rung: 4,
        last: 8,
        bracket: None,
    };
    const NOTHING: OnDisk = OnDisk {
        reached: None,
        has_checkpoint: false,
    };
    const CHECKPOINT: OnDisk = OnDisk {
        reached: None,
        has_checkpoint: true,
    };

    fn on_disk(l: &Ledger, at: Rung, says: &[(&str, OnDisk)]) -> Vec<(String, u32, OnDisk)> {
        let says: BTreeMap<&str, OnDisk> = says.iter().copied().collect();
        behind(l, at, &BTreeMap::new())
            .into_iter()
            .map(|(id, step)| {
                let disk = says.get(id.as_str()).copied().unwrap_or(NOTHING);
                (id, step, disk)
            })
            .collect()
    }

    fn ids(found: &[(String, u32)]) -> Vec<&str> {
        found.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn a_fresh_rung_runs_every_live_trial_of_its_bracket() {
        let mut l = ledger(&["t000", "t001", "t002", "t003"]);
        l.trials[1].bracket = Some(1);
        l.trials[2].state = TrialState::Failed;
        l.trials[2].failure = Some(failure("nan_loss"));
        l.trials[3].state = TrialState::Stopped;
        assert_eq!(ids(&behind(&l, AT_4, &BTreeMap::new())), ["t000"]);
        let bracket_1 = Rung {
            bracket: Some(1),
            ..AT_4
        };
        assert_eq!(ids(&behind(&l, bracket_1, &BTreeMap::new())), ["t001"]);
        let found = on_disk(&l, AT_4, &[]);
        let s = start(&mut l, AT_4, found);
        assert_eq!(s.todo, ["t000"]);
        assert!(s.events.is_empty());
        assert_eq!(l.trials[0].state, TrialState::Running);
        assert!(
            l.trials[0].retrained_from_start.is_empty(),
            "its first segment"
        );
    }

    #[test]
    fn a_trial_past_its_step_or_awaiting_its_draw_is_not_started() {
        let mut l = ledger(&["t000", "t001", "t002"]);
        l.trials[0].reach(4, false, Some(1.0));
        l.trials[1] = crate::sweep::ledger::TrialEntry::awaiting_draw("t001", &BTreeMap::new());
        let steps = BTreeMap::from([("t002".to_string(), 3)]);
        assert_eq!(behind(&l, AT_4, &steps), [("t002".to_string(), 3)]);
        l.trials[2].reach(3, false, Some(2.0));
        assert!(
            behind(&l, AT_4, &steps).is_empty(),
            "a trial with a smaller max_steps stops at its own"
        );
    }

    #[test]
    fn a_trial_running_when_the_coordinator_died_is_taken_from_its_folder_when_it_got_there() {
        let mut l = ledger(&["t000", "t001", "t002"]);
        for t in l.trials.iter_mut() {
            t.state = TrialState::Running;
        }
        let found = on_disk(
            &l,
            AT_4,
            &[(
                "t000",
                OnDisk {
                    reached: Some((false, 1.25)),
                    has_checkpoint: true,
                },
            )],
        );
        let s = start(&mut l, AT_4, found);
        assert_eq!(
            s.events,
            [SweepEvent::TrialReached {
                trial_id: "t000".into(),
                step: 4,
                metric: Some(1.25),
                from_disk: true,
            }]
        );
        assert_eq!(s.todo, ["t001", "t002"], "the others run again (resume)");
        let t = &l.trials[0];
        assert_eq!((t.state, t.last_step), (TrialState::Running, 4));
        assert_eq!(t.metrics.get(&4), Some(&Some(1.25)));
    }

    #[test]
    fn a_completed_run_found_on_disk_completes_only_at_the_last_rung() {
        let mut l = ledger(&["t000"]);
        let done = OnDisk {
            reached: Some((true, 0.5)),
            has_checkpoint: true,
        };
        let found = on_disk(&l, AT_4, &[("t000", done)]);
        start(&mut l, AT_4, found);
        assert_eq!(l.trials[0].state, TrialState::Running, "rung 4 of 8");
        let at_8 = Rung { rung: 8, ..AT_4 };
        let found = on_disk(&l, at_8, &[("t000", done)]);
        start(&mut l, at_8, found);
        assert_eq!(l.trials[0].state, TrialState::Completed);
    }

    #[test]
    fn a_continuation_without_a_checkpoint_is_noted_as_a_restart() {
        let mut l = ledger(&["t000", "t001"]);
        for t in l.trials.iter_mut() {
            t.reach(4, false, Some(1.0));
        }
        let at_8 = Rung { rung: 8, ..AT_4 };
        let found = on_disk(&l, at_8, &[("t000", CHECKPOINT)]);
        let s = start(&mut l, at_8, found);
        assert_eq!(s.todo, ["t000", "t001"]);
        assert!(l.trials[0].retrained_from_start.is_empty());
        assert_eq!(l.trials[1].retrained_from_start, [8]);
    }

    #[test]
    fn a_cancelled_trial_runs_again_when_the_sweep_runs_again() {
        let mut l = ledger(&["t000", "t001"]);
        l.trials[0].state = TrialState::Cancelled;
        l.trials[1].state = TrialState::Failed;
        let found = on_disk(&l, AT_4, &[("t000", CHECKPOINT)]);
        let s = start(&mut l, AT_4, found);
        assert_eq!(s.todo, ["t000"], "a failed trial stays failed");
        assert_eq!(l.trials[0].state, TrialState::Running);
    }

    #[test]
    fn a_batch_is_recorded_before_it_runs() {
        let mut l = ledger(&[]);
        l.trials = vec![
            crate::sweep::ledger::TrialEntry::awaiting_draw("t004", &BTreeMap::new()),
            crate::sweep::ledger::TrialEntry::awaiting_draw("t005", &BTreeMap::new()),
        ];
        assert_eq!(drawn(&mut l, &[]), None);
        let draw = |id: &str, pending: &[&str]| Draw {
            trial_id: id.into(),
            params: BTreeMap::from([("lr".to_string(), serde_json::json!(0.1))]),
            observed: vec!["t000".into(), "t001".into()],
            pending: pending.iter().map(|p| p.to_string()).collect(),
        };
        let event = drawn(&mut l, &[draw("t004", &[]), draw("t005", &["t004"])]);
        assert_eq!(
            event,
            Some(SweepEvent::TrialsDrawn {
                trials: vec!["t004".into(), "t005".into()],
                observed: 2,
            })
        );
        assert!(l.trials.iter().all(|t| !t.is_awaiting_draw()));
        let d = l.trials[1].draw.as_ref().expect("draw");
        assert_eq!(d.pending, ["t004"]);
        assert_eq!(l.trials[1].params["lr"], serde_json::json!(0.1));
    }
}
