//! The determinism check of a recorded run that cannot run again: an Eval
//! run of a predictions file, a command trainer's run, a Train run whose
//! checkpoints are gone. Its stored raw outputs are re-scored twice under
//! the run's own settings; the two re-scorings must agree with each other
//! and, when the scoring rules are still the ones the run was scored
//! under, with the scores the run recorded. Nothing is written.

use std::path::Path;

use serde_json::json;

use super::compare::{check, compare, correctness_digest, verdict, DeterminismReport, Method};
use super::contents::{EvalContents, RunContents};
use crate::error::{Error, Result};
use crate::rescore::{self, Rules};
use crate::runfolder::{EvalItemRecord, EvalSummary, RunKind, EVAL_ITEMS};
use crate::scoring::SCORING_RULES_VERSION;
use crate::workspace::Workspace;

/// Re-score the stored outputs of the run folder `dir` twice and compare.
pub fn rescore_twice(ws: &Workspace, dir: &Path) -> Result<DeterminismReport> {
    if !dir.join(EVAL_ITEMS).is_file() {
        let shown = ws.display_path(dir).display().to_string();
        return Err(Error::bad_input(format!(
            "{shown} has no checkpoint to decode and no stored outputs ({EVAL_ITEMS}) to re-score: the determinism check of a run needs one of them"
        )));
    }
    let source = rescore::source::read(ws, dir)?;
    let first = rescore::rescore(source.clone(), &Rules::Current)?;
    let second = rescore::rescore(source.clone(), &Rules::Current)?;
    let recorded = Recorded {
        run_id: &source.manifest.run_id,
        kind: source.manifest.kind,
        summary: &source.summary,
        items: &source.items,
    };
    Ok(report(
        &recorded,
        (&first.summary, &first.records),
        (&second.summary, &second.records),
    ))
}

/// What the checked run recorded.
struct Recorded<'a> {
    run_id: &'a str,
    kind: RunKind,
    summary: &'a EvalSummary,
    items: &'a [EvalItemRecord],
}

/// The report of two re-scorings of the recorded run (pure).
fn report(
    recorded: &Recorded<'_>,
    first: (&EvalSummary, &[EvalItemRecord]),
    second: (&EvalSummary, &[EvalItemRecord]),
) -> DeterminismReport {
    let contents = |(summary, items): (&EvalSummary, &[EvalItemRecord])| RunContents {
        kind: recorded.kind,
        device: "none".to_string(),
        eval: Some(EvalContents {
            summary: summary.clone(),
            items: items.to_vec(),
        }),
        train: None,
    };
    let mut report = compare(&contents(first), &contents(second), None);
    report.method = Method::Rescore;
    report.run = Some(recorded.run_id.to_string());
    let n_outputs = recorded.items.iter().filter(|r| r.output.is_some()).count();
    report.notes.push(format!(
        "run {} has no checkpoint to decode, so its {n_outputs} stored outputs were re-scored twice (no model ran)",
        recorded.run_id
    ));
    match recorded.summary.scoring_rules_version {
        Some(v) if v == SCORING_RULES_VERSION => {
            report
                .checks
                .extend(against_record(recorded.summary, recorded.items, first));
        }
        version => report.notes.push(format!(
            "the run was scored under scoring rules {} (now version {SCORING_RULES_VERSION}), so its recorded scores are not compared; `tunix-rt rescore {}` lists what the current rules change",
            version.map_or("of unknown version".to_string(), |v| format!("version {v}")),
            recorded.run_id
        )),
    }
    report.verdict = verdict(&report.checks);
    report
}

/// The first re-scoring against what the run recorded.
fn against_record(
    recorded: &EvalSummary,
    recorded_items: &[EvalItemRecord],
    (summary, items): (&EvalSummary, &[EvalItemRecord]),
) -> Vec<super::Check> {
    let flipped = super::compare::differing_items(recorded_items, items).len();
    vec![
        check(
            "recorded_primary_score",
            true,
            json!(recorded.primary_score),
            json!(summary.primary_score),
            Some("a: as recorded, b: re-scored".to_string()),
        ),
        check(
            "recorded_item_correctness",
            true,
            json!(correctness_digest(recorded_items)),
            json!(correctness_digest(items)),
            Some(format!(
                "{flipped} item(s) differ from the recorded eval_items.jsonl"
            )),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::determinism::Verdict;
    use crate::runfolder::{read_eval_items, read_summary};

    fn recorded_run(root: &Path) -> (EvalSummary, Vec<EvalItemRecord>) {
        let dir = tunix_testkit::synthetic::write_run(root, "r", 40, 0.5).expect("synthetic run");
        (
            read_summary(&dir).expect("summary"),
            read_eval_items(&dir).expect("items"),
        )
    }

    fn recorded<'a>(summary: &'a EvalSummary, items: &'a [EvalItemRecord]) -> Recorded<'a> {
        Recorded {
            run_id: "r",
            kind: RunKind::Eval,
            summary,
            items,
        }
    }

    #[test]
    fn outputs_that_rescore_to_their_record_are_deterministic() {
        let root = tempfile::tempdir().expect("tempdir");
        let (summary, items) = recorded_run(root.path());
        let r = report(
            &recorded(&summary, &items),
            (&summary, &items),
            (&summary, &items),
        );
        assert_eq!(r.method, Method::Rescore);
        assert_eq!(r.run.as_deref(), Some("r"));
        assert_eq!(r.device, "none");
        assert_eq!(r.verdict, Verdict::Deterministic, "{r:#?}");
        let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
        assert!(names.contains(&"recorded_primary_score"), "{names:?}");
        assert!(names.contains(&"recorded_item_correctness"), "{names:?}");
        assert!(r.notes[0].contains("40 stored outputs were re-scored twice"));
    }

    #[test]
    fn a_record_that_disagrees_with_its_outputs_fails() {
        let root = tempfile::tempdir().expect("tempdir");
        let (summary, items) = recorded_run(root.path());
        let mut stored = summary.clone();
        stored.primary_score = stored.primary_score.map(|p| p + 0.125);
        let r = report(
            &recorded(&stored, &items),
            (&summary, &items),
            (&summary, &items),
        );
        assert_eq!(r.verdict, Verdict::NotDeterministic);
        let failed: Vec<&str> = r
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["recorded_primary_score"]);
    }

    #[test]
    fn two_rescorings_that_disagree_fail() {
        let root = tempfile::tempdir().expect("tempdir");
        let (summary, items) = recorded_run(root.path());
        let mut other = items.clone();
        other[0].answer_correctness = other[0].answer_correctness.map(|c| 1.0 - c);
        let r = report(
            &recorded(&summary, &items),
            (&summary, &items),
            (&summary, &other),
        );
        assert_eq!(r.verdict, Verdict::NotDeterministic);
        assert_eq!(r.n_differing_items, 1);
    }

    #[test]
    fn a_run_scored_under_other_rules_is_only_compared_with_itself() {
        let root = tempfile::tempdir().expect("tempdir");
        let (summary, items) = recorded_run(root.path());
        let mut stored = summary.clone();
        stored.scoring_rules_version = None;
        stored.primary_score = Some(0.0);
        let r = report(
            &recorded(&stored, &items),
            (&summary, &items),
            (&summary, &items),
        );
        assert_eq!(r.verdict, Verdict::Deterministic);
        assert!(r.checks.iter().all(|c| !c.name.starts_with("recorded_")));
        assert!(
            r.notes.iter().any(|n| n.contains("rescore r")),
            "{:?}",
            r.notes
        );
    }
}
