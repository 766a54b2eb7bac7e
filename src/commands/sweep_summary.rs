//! The text of a sweep's summary (`run <sweep>`, `sweep status`): the
//! trial table, aligned (every column as wide as its widest cell, a
//! `failed:out_of_memory` status included; the step right-aligned; the
//! last column unpadded), the rungs the tie rule alone decided, why
//! nothing was promoted, and the notes at its end.

use tunix_rt::runner::coordinator::SweepOutcome;
use tunix_rt::runner::sweep_promote::withheld_message;
use tunix_rt::sweep::ledger::{Ledger, TrialEntry, TrialState};
use tunix_rt::sweep::restarts::summary_note;

/// How a column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A trial's status cell: its state, with the failure class when failed.
pub fn status(t: &TrialEntry) -> String {
    match (&t.state, &t.failure) {
        (TrialState::Failed, Some(f)) => format!("failed:{}", f.class),
        (s, _) => s.name().to_string(),
    }
}

/// `header` and `rows` as lines, columns separated by two spaces.
pub fn lines(header: &[&str], align: &[Align], rows: &[Vec<String>]) -> Vec<String> {
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    let all: Vec<&Vec<String>> = std::iter::once(&header).chain(rows).collect();
    let columns = header.len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            all.iter()
                .filter_map(|r| r.get(c))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    all.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(c, cell)| {
                    let width = widths.get(c).copied().unwrap_or(0);
                    let last = c + 1 == row.len();
                    match align.get(c).copied().unwrap_or(Align::Left) {
                        Align::Right => format!("{cell:>width$}"),
                        Align::Left if last => cell.clone(),
                        Align::Left => format!("{cell:<width$}"),
                    }
                })
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}

/// One line per rung (and final pick) the tie rule alone decided.
pub fn tie_rule_lines(l: &Ledger) -> Vec<String> {
    l.tie_rule_notes()
        .into_iter()
        .map(|n| format!("tie rule     {}", n.message))
        .collect()
}

/// Why the sweep promoted nothing: failures (shown above), cancelled
/// trials, or completed trials without the metric at the last step.
pub fn no_best(l: &Ledger) -> String {
    let count = |state: TrialState| l.trials.iter().filter(|t| t.state == state).count();
    let head = format!(
        "no trial completed with a value of {}, so nothing was promoted",
        l.metric
    );
    let (failed, cancelled) = (count(TrialState::Failed), count(TrialState::Cancelled));
    if failed > 0 {
        return format!("{head}; see the failures above");
    }
    if cancelled > 0 {
        return format!(
            "{head}: {cancelled} trial(s) were cancelled; run the same command again to continue them"
        );
    }
    let last = l.rungs.last().copied().unwrap_or_default();
    format!(
        "{head}: the completed trials reported no {} at step {last}; the trainer must report it on its metrics line of the last step",
        l.metric
    )
}

/// The summary's notes: a promotion withheld from committed evidence
/// (how to regenerate it; `command` is this process's command line), and
/// continuations that trained again from step 0.
pub fn notes(outcome: &SweepOutcome, command: &[String]) -> Vec<String> {
    let rerun = || {
        let without: Vec<String> = command
            .iter()
            .filter(|w| *w != "--update-evidence")
            .cloned()
            .collect();
        if without.iter().skip(1).any(|w| w == "run") {
            return tunix_rt::interrupt::rerun_command(&without);
        }
        match &outcome.ledger.manifest {
            Some(m) => format!("tunix-rt run {m}"),
            None => "tunix-rt run <the sweep's manifest>".to_string(),
        }
    };
    let withheld = outcome
        .withheld
        .as_ref()
        .map(|w| withheld_message(w, &rerun()));
    withheld
        .into_iter()
        .chain(summary_note(&outcome.ledger))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        let rows = vec![
            vec![
                "t000".into(),
                "completed".into(),
                "4".into(),
                "lr=0.1".into(),
            ],
            vec![
                "t001".into(),
                "failed:timeout".into(),
                "12".into(),
                "lr=0.2".into(),
            ],
        ];
        let out = lines(
            &["trial", "status", "step", "params"],
            &[Align::Left, Align::Left, Align::Right, Align::Left],
            &rows,
        );
        assert_eq!(
            out,
            vec![
                "trial  status          step  params",
                "t000   completed          4  lr=0.1",
                "t001   failed:timeout    12  lr=0.2",
            ]
        );
    }

    #[test]
    fn the_status_names_the_failure_class() {
        let mut t = TrialEntry::pending("t000", &Default::default());
        assert_eq!(status(&t), "pending");
        t.state = TrialState::Failed;
        t.failure = Some(tunix_rt::runfolder::Failure {
            class: "metric_missing".into(),
            message: "m".into(),
        });
        assert_eq!(status(&t), "failed:metric_missing");
    }

    #[test]
    fn nothing_promoted_points_at_the_failures_only_when_there_are_some() {
        let mut t = TrialEntry::pending("t000", &Default::default());
        t.state = TrialState::Completed;
        let mut l: Ledger = serde_json::from_value(serde_json::json!({
            "schema_version": tunix_rt::sweep::ledger::LEDGER_SCHEMA_VERSION,
            "sweep": "s", "identity": "x", "metric": "val/f1", "mode": "max",
            "rungs": [4], "trials": [t], "decisions": [], "best": null,
        }))
        .expect("ledger");
        let text = no_best(&l);
        assert!(!text.contains("failures above"), "{text}");
        assert!(text.contains("reported no val/f1 at step 4"), "{text}");
        l.trials[0].state = TrialState::Cancelled;
        assert!(no_best(&l).contains("1 trial(s) were cancelled"));
        l.trials[0].state = TrialState::Failed;
        assert!(no_best(&l).ends_with("; see the failures above"));
    }
}
