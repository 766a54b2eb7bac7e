//! The regression report's tests: an incomplete candidate in every
//! format, Markdown checked with a CommonMark parser, code spans.

use super::*;
use crate::regress::gate::evaluate;
use crate::regress::rules::ScoringRules;
use crate::runfolder::{EvalItemRecord, FileRef};

fn item(id: &str, c: Option<f64>) -> EvalItemRecord {
    EvalItemRecord {
        id: id.into(),
        category: "core".into(),
        expected: "a_b|c".into(),
        output: None,
        extracted: c.map(|_| "x_y*z".to_string()),
        extraction_rule: None,
        answer_correctness: c,
        trace_consistency: None,
    }
}

/// The gamed run of the issue against a baseline answering half: the
/// candidate submitted 11 right answers and nothing else.
fn report() -> RegressReport {
    let base: Vec<EvalItemRecord> = (0..120)
        .map(|i| item(&format!("q_{i:03}"), Some(f64::from(i < 60))))
        .collect();
    let cand: Vec<EvalItemRecord> = (0..120)
        .map(|i| item(&format!("q_{i:03}"), (i < 11).then_some(1.0)))
        .collect();
    let settings = GateSettings {
        threshold: 0.02,
        alpha: 0.05,
        max_coverage_gap: 1.0,
    };
    let outcome = evaluate(&base, &cand, settings).expect("gated");
    let lock = BaselineLock {
        schema_version: 1,
        name: "base_line".into(),
        run_id: "base_line".into(),
        run_dir: "submission_runs/base_line".into(),
        evalset: FileRef {
            path: "evalsets/eval_v2.jsonl".into(),
            blake3: "ab".repeat(32),
        },
        score: super::super::lock::LockedScore {
            primary: 0.5,
            ci95: None,
            n_items: 120,
            n_scored: 120,
        },
        items_blake3: "00".repeat(32),
        scoring_rules: ScoringRules::of_run(&serde_json::json!({})).expect("rules"),
        tool_version: "0".into(),
        set_by: "me".into(),
        set_at: "now".into(),
    };
    let candidate = RunRef::new(
        "gamed_run".into(),
        "submission_runs/gamed_run".into(),
        &outcome.candidate,
    );
    build(&lock, candidate, outcome, settings, false)
}

#[test]
fn every_format_marks_the_incomplete_run_and_counts_its_losses() {
    let r = report();
    assert_eq!(r.verdict, Verdict::Regressed);
    assert_eq!((r.lost.len(), r.gained.len()), (49, 0));
    assert!(r.candidate.incomplete && !r.baseline.incomplete);
    let text = render_text(&r);
    assert!(
        text.contains("candidate  gamed_run (submission_runs/gamed_run)  0.0917  coverage 9.2% (11 of 120 scored) INCOMPLETE\n"),
        "{text}"
    );
    assert!(text.contains("difference -40.83 pp ["), "{text}");
    assert!(
        text.contains("baseline x_y*z (1)  candidate missing (0)"),
        "{text}"
    );
    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["schema_version"], 2);
    assert!((json["diff_pp"].as_f64().unwrap_or(0.0) + 40.8333).abs() < 1e-3);
    assert!(json["diff_ci"]["high_pp"].as_f64().unwrap_or(0.0) < -2.0);
    assert_eq!(json["threshold_pp"], 2.0);
    assert_eq!(json["candidate"]["incomplete"], true);
    assert_eq!(json["lost"][0]["candidate_missing"], true);
}

#[test]
fn markdown_renders_as_markdown() {
    let md = render_md(&report());
    assert!(
        md.contains("Candidate `gamed_run` against baseline `base_line`: the whole CI"),
        "{md}"
    );
    assert!(
        md.contains(
            "| Coverage | baseline 100.0%, candidate 9.2% (11 of 120 scored) ⚠ incomplete |"
        ),
        "{md}"
    );
    assert!(md.contains("| Difference | **-40.83 pp** ["), "{md}");
    assert!(
        md.contains("| q_011 | a_b\\|c | x_y\\*z (1) | missing (0) |"),
        "{md}"
    );
    assert_eq!(crate::report::fixtures::assert_markdown(&md), 2, "{md}");
}

#[test]
fn code_spans_fence_backticks_and_escape_nothing() {
    assert_eq!(code("run_a"), "`run_a`");
    assert_eq!(code("a`b"), "``a`b``");
    assert_eq!(code("`x"), "`` `x ``");
    assert_eq!(code("a|b\nc"), "`a|b c`");
    assert_eq!(md_escape("x_y _z_ <b>"), "x_y \\_z\\_ &lt;b&gt;");
}
