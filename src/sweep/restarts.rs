//! Continuations that start again from step 0.
//!
//! A trial continues to its next rung from its newest checkpoint. A
//! trainer that writes none (a command trainer need not) trains it again
//! from step 0 at every rung: a finalist of rungs 2, 4 and 8 trains
//! 2 + 4 + 8 = 14 steps instead of 8, and nothing fails. The coordinator
//! records each such continuation in the ledger
//! ([`TrialEntry::retrained_from_start`]); the summary says so once, and
//! the plan of a command trainer says beforehand what would happen.

use super::ledger::{Ledger, TrialEntry};

/// Record that `trial` continues to `rung` without a checkpoint
/// (`has_checkpoint` false) after reaching an earlier rung. True when it
/// is a continuation that starts again from step 0.
pub fn record(trial: &mut TrialEntry, rung: u32, has_checkpoint: bool) -> bool {
    let again = trial.last_step > 0 && trial.last_step < rung && !has_checkpoint;
    if again && !trial.retrained_from_start.contains(&rung) {
        trial.retrained_from_start.push(rung);
    }
    again
}

/// The summary's note, when any continuation trained from step 0 again.
pub fn summary_note(ledger: &Ledger) -> Option<String> {
    let mut trials = Vec::new();
    let (mut continuations, mut steps) = (0usize, 0u64);
    for t in &ledger.trials {
        let rungs = &t.retrained_from_start;
        if rungs.is_empty() {
            continue;
        }
        continuations += rungs.len();
        steps += rungs
            .iter()
            .map(|&r| u64::from(previous_rung(&ledger.rungs, r)))
            .sum::<u64>();
        let shown: Vec<String> = rungs.iter().map(u32::to_string).collect();
        let plural = if rungs.len() == 1 { "" } else { "s" };
        trials.push(format!(
            "{} (to step{plural} {})",
            t.trial_id,
            shown.join(", ")
        ));
    }
    if trials.is_empty() {
        return None;
    }
    Some(format!(
        "{continuations} continuation(s) found no checkpoint and trained again from step 0: {}; \
         {steps} step(s) were trained twice. The trainer writes no checkpoints: a command \
         trainer continues from $TUNIX_CHECKPOINT_DIR/step-NNNNNNNN/ (see docs/trainers.md)",
        trials.join(", ")
    ))
}

/// The plan's note for a command trainer with `rungs` (none for one rung).
pub fn plan_note(rungs: &[u32]) -> Option<String> {
    let (&last, earlier) = rungs.split_last()?;
    if earlier.is_empty() {
        return None;
    }
    let total: u64 = rungs.iter().map(|&r| u64::from(r)).sum();
    let shown: Vec<String> = rungs.iter().map(u32::to_string).collect();
    Some(format!(
        "if the command writes no checkpoints ($TUNIX_CHECKPOINT_DIR/step-NNNNNNNN/), every rung \
         after the first trains a trial again from step 0: a trial that reaches step {last} \
         trains {} = {total} steps instead of {last}",
        shown.join(" + ")
    ))
}

/// The rung before `rung` (0 for the first).
fn previous_rung(rungs: &[u32], rung: u32) -> u32 {
    rungs
        .iter()
        .copied()
        .filter(|&r| r < rung)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sweep::{Mode, SweepMetric};
    use crate::sweep::ledger::LEDGER_SCHEMA_VERSION;
    use std::collections::BTreeMap;

    fn ledger(trials: Vec<TrialEntry>) -> Ledger {
        Ledger {
            schema_version: LEDGER_SCHEMA_VERSION,
            sweep: "s".into(),
            identity: "abc".into(),
            metric: SweepMetric::val_loss(),
            mode: Mode::Min,
            rungs: vec![2, 4, 8],
            trials,
            decisions: vec![],
            best: None,
            manifest: None,
            slurm_jobs: vec![],
        }
    }

    #[test]
    fn only_continuations_without_a_checkpoint_are_recorded_once() {
        let mut t = TrialEntry::pending("t000", &BTreeMap::new());
        assert!(!record(&mut t, 2, false), "the first segment starts at 0");
        t.last_step = 2;
        assert!(!record(&mut t, 4, true), "it has a checkpoint");
        assert!(record(&mut t, 4, false));
        assert!(record(&mut t, 4, false), "the coordinator came back");
        assert_eq!(t.retrained_from_start, vec![4]);
    }

    #[test]
    fn the_summary_names_the_trials_and_the_steps_trained_twice() {
        let mut a = TrialEntry::pending("t000", &BTreeMap::new());
        a.retrained_from_start = vec![4, 8];
        let mut b = TrialEntry::pending("t001", &BTreeMap::new());
        b.retrained_from_start = vec![4];
        let c = TrialEntry::pending("t002", &BTreeMap::new());
        let note = summary_note(&ledger(vec![a, b, c])).expect("note");
        assert!(
            note.starts_with(
                "3 continuation(s) found no checkpoint and trained again from step 0: \
                 t000 (to steps 4, 8), t001 (to step 4); 8 step(s) were trained twice."
            ),
            "{note}"
        );
        let none = TrialEntry::pending("t000", &BTreeMap::new());
        assert_eq!(summary_note(&ledger(vec![none])), None);
    }

    #[test]
    fn the_plan_note_counts_the_steps_of_a_finalist() {
        let note = plan_note(&[2, 4, 8]).expect("note");
        assert!(
            note.ends_with("a trial that reaches step 8 trains 2 + 4 + 8 = 14 steps instead of 8"),
            "{note}"
        );
        assert_eq!(plan_note(&[8]), None);
        assert_eq!(plan_note(&[]), None);
    }
}
