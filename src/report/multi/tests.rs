//! The comparison of runs: the N-run report in every format (golden
//! files), hostile text, runs without eval results, the sections the
//! paired report gains, the terminal summary.

use std::collections::BTreeMap;

use serde_json::json;

use super::super::fixtures::{self, PAYLOADS};
use super::super::{ComparisonFigures, ReportFormat, RunSummary, Templates};
use super::*;
use crate::scoring::compare::DiffCiMethod;
use crate::scoring::{CiMethod, ConfidenceInterval, FullSetScore, PairedTest, Pairing, Verdict};

/// A run with the fields the golden files show.
fn summary(run_id: &str, name: &str, kind: &str) -> RunSummary {
    RunSummary {
        run_id: run_id.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
        model_id: "gpt-nano".to_string(),
        dataset: Some("dev-reasoning-v3".to_string()),
        config_hash: "c0ffee00d15ea5e5".to_string(),
        labels: BTreeMap::new(),
        created_at: "2026-11-20T10:00:00Z".to_string(),
        git_commit: Some("3f9a2c1d0e5b7a6c4d3e2f1a0b9c8d7e6f5a4b3c".to_string()),
        git_dirty: false,
        evalset_path: String::new(),
        evalset_blake3: String::new(),
        primary_score: None,
        ci_low: None,
        ci_high: None,
        ci_method: None,
        n_items: 0,
        n_scored: 0,
        n_skipped: 0,
        status: "completed".to_string(),
        full_set: None,
        category_means: BTreeMap::new(),
        sweep_id: None,
        loss_curve: Vec::new(),
        scoring_rules_version: None,
        calculator: false,
        tag_scores: BTreeMap::new(),
    }
}

/// `run` scored on the fixture eval set: `correct` of `scored` of 4 items.
fn scored(mut run: RunSummary, correct: usize, scored: usize) -> RunSummary {
    run.evalset_path = "evalsets/eval_v2.jsonl".to_string();
    run.evalset_blake3 = "ab".repeat(32);
    run.primary_score = Some(correct as f64 / scored as f64);
    run.ci_low = Some(0.1);
    run.ci_high = Some(0.9);
    run.ci_method = Some(CiMethod::Wilson);
    run.n_items = 4;
    run.n_scored = scored as u64;
    run.n_skipped = 4 - scored as u64;
    run.full_set = Some(FullSetScore {
        n_items: 4,
        n_scored: scored,
        coverage: Some(scored as f64 / 4.0),
        score: Some(correct as f64 / 4.0),
        ci95: Some(ConfidenceInterval {
            low: 0.05,
            high: 0.95,
            method: CiMethod::Wilson,
        }),
    });
    run
}

fn item(id: &str, expected: &str, extracted: Option<&str>, correct: Option<f64>) -> RunItem {
    RunItem {
        id: id.to_string(),
        category: id.split('-').next().unwrap_or_default().to_string(),
        expected: expected.to_string(),
        extracted: extracted.map(str::to_string),
        correct,
    }
}

fn metrics(rows: &[(&str, &[(u64, f64)])]) -> Metrics {
    rows.iter()
        .map(|(name, points)| (name.to_string(), points.to_vec()))
        .collect()
}

fn pair_figures(p: f64, diff_pp: f64) -> ComparisonFigures {
    ComparisonFigures {
        n_pairs: 4,
        pairing: Pairing::Union,
        n_only_in_a: 0,
        only_in_a: vec![],
        n_only_in_b: 0,
        only_in_b: vec![],
        n_skipped: 1,
        n_unscored_a: 0,
        n_unscored_b: 1,
        mean_a: Some(0.5),
        mean_b: Some(0.5 + diff_pp / 100.0),
        diff_pp: Some(diff_pp),
        diff_ci_low_pp: Some(diff_pp - 20.0),
        diff_ci_high_pp: Some(diff_pp + 20.0),
        diff_ci_method: Some(DiffCiMethod::NewcombeHybridScore),
        test: Some(PairedTest::McnemarExact),
        p_value: Some(p),
        verdict: Verdict::NoEvidence,
        min_detectable_difference_pp: Some(60.0),
        alpha: 0.05,
        min_effect_pp: 0.0,
        warnings: vec!["only 4 pairs: the CI is wide".to_string()],
    }
}

/// Three evaluated runs (the second calculator-assisted and incomplete,
/// with hostile text) and a Train run without eval results.
fn fixture() -> MultiInput {
    let a = scored(summary("eval-base", "baseline-gpt-nano", "Eval"), 2, 4);
    let mut b = scored(summary("eval-calc", "<b>calc</b> {{ 7*7 }}", "Eval"), 3, 3);
    b.calculator = true;
    let c = scored(summary("eval-seed1", "seed-1", "Eval"), 1, 4);
    let t = summary("train-lr3", "train-lr3", "Train");
    let config = |skill: f64, extra: serde_json::Value| {
        json!({
            "apiVersion": "tunix-rt/v1",
            "kind": "Train",
            "metadata": { "name": "x", "labels": { "team": "nlp" } },
            "spec": { "training": { "learning_rate": skill, "max_steps": 600 }, "extra": extra }
        })
    };
    let runs = vec![
        MultiRun {
            summary: a,
            evaluated: true,
            config: config(0.001, json!(null)),
            metrics: metrics(&[
                ("loss", &[(0, 3.0), (300, 1.5), (600, 1.0)]),
                ("val_loss", &[(300, 1.75), (600, 1.25)]),
                ("lr", &[(0, 0.001), (600, 0.0001)]),
            ]),
            items: vec![
                item("core-001", "54", Some("54"), Some(1.0)),
                item("core-002", "12", Some("{{ 7*7 }}"), Some(0.0)),
                item("edge-001", "YES", Some("yes"), Some(1.0)),
                item("trace-001", "0.5", None, Some(0.0)),
            ],
        },
        MultiRun {
            summary: b,
            evaluated: true,
            config: config(0.003, json!(PAYLOADS[1])),
            metrics: metrics(&[
                ("loss", &[(0, 3.1), (300, 1.25), (600, 0.75)]),
                ("val_loss", &[(600, 1.5)]),
                ("grad_norm", &[(300, 0.5)]),
            ]),
            items: vec![
                item("core-001", "54", Some("54"), Some(1.0)),
                item("core-002", "12", Some(PAYLOADS[0]), Some(1.0)),
                item("edge-001", "YES", Some("yes"), Some(1.0)),
            ],
        },
        MultiRun {
            summary: c,
            evaluated: true,
            config: config(0.001, json!(null)),
            metrics: Metrics::new(),
            items: vec![
                item("core-001", "54", Some("5"), Some(0.0)),
                item("core-002", "12", Some("12"), Some(1.0)),
                item("edge-001", "YES", Some("yes"), Some(1.0)),
                item("trace-001", "0.5", Some("1/2"), Some(0.5)),
            ],
        },
        MultiRun {
            summary: t,
            evaluated: false,
            config: config(0.003, json!(null)),
            metrics: metrics(&[
                ("loss", &[(0, 2.9), (600, 0.9)]),
                ("val_loss", &[(600, 1.1)]),
                ("train/acc", &[(600, 0.75)]),
                ("tokens_per_s", &[(600, 12345.6)]),
            ]),
            items: vec![],
        },
    ];
    MultiInput {
        runs,
        pairs: vec![
            RunPair {
                a: 0,
                b: 1,
                figures: pair_figures(0.02, 25.0),
            },
            RunPair {
                a: 0,
                b: 2,
                figures: pair_figures(0.5, -12.5),
            },
            RunPair {
                a: 1,
                b: 2,
                figures: pair_figures(0.01, -37.5),
            },
        ],
        notes: vec!["a note from reading the runs".to_string()],
    }
}

fn render(input: &MultiInput, format: ReportFormat) -> String {
    let t = Templates::builtin().expect("templates");
    render_runs(&t, &RunsComparison::Many(input.clone()), format).expect("render")
}

#[test]
fn golden_html() {
    let html = render(&fixture(), ReportFormat::Html);
    fixtures::assert_html_self_contained(&html);
    fixtures::assert_golden("compare_many.html", &html);
}

#[test]
fn golden_markdown() {
    let md = render(&fixture(), ReportFormat::Md);
    assert_eq!(fixtures::assert_markdown(&md), 5, "{md}");
    fixtures::assert_golden("compare_many.md", &md);
}

#[test]
fn golden_json() {
    fixtures::assert_golden("compare_many.json", &render(&fixture(), ReportFormat::Json));
}

#[test]
fn json_has_every_section_and_holm_verdicts() {
    let v: serde_json::Value =
        serde_json::from_str(&render(&fixture(), ReportFormat::Json)).expect("json");
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["runs"][3]["label"], "D");
    assert_eq!(v["runs"][3]["evaluated"], false);
    assert_eq!(v["runs"][3]["metrics"]["train/acc"], json!([[600, 0.75]]));
    assert_eq!(v["correction"], "holm");
    assert_eq!(v["n_tests"], 3);
    // p = 0.02, 0.5, 0.01 → Holm 0.04, 0.5, 0.03.
    let holm: Vec<f64> = (0..3)
        .map(|i| v["pairs"][i]["p_holm"].as_f64().expect("p"))
        .collect();
    assert!(
        (holm[0] - 0.04).abs() < 1e-12 && (holm[2] - 0.03).abs() < 1e-12,
        "{holm:?}"
    );
    assert_eq!(v["pairs"][0]["verdict_holm"], "improved");
    assert_eq!(v["pairs"][1]["verdict_holm"], "no_evidence");
    assert_eq!(v["pairs"][2]["verdict_holm"], "regressed");
    assert_eq!(v["pairs"][2]["a"], "B");
    assert_eq!(v["config_diff"]["n_keys"], 6);
    assert_eq!(v["config_diff"]["n_equal"], 4);
    assert_eq!(
        v["config_diff"]["differing"][0]["key"],
        "spec.training.learning_rate"
    );
    assert_eq!(v["final_metrics"][0]["metric"], "loss");
    assert_eq!(
        v["final_metrics"][1]["values"][3],
        json!({"step": 600, "value": 1.1})
    );
    assert_eq!(v["items"][0]["flipped"], true);
    assert_eq!(v["items"][0]["results"].as_array().map(Vec::len), Some(3));
    let trace = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["id"] == "trace-001")
        .expect("trace-001");
    assert_eq!(
        trace["results"][1],
        json!({"run": "B", "present": false, "extracted": null, "correct": null})
    );
    let notes = v["notes"].as_array().expect("notes");
    assert!(notes[0]
        .as_str()
        .expect("note")
        .starts_with("D (train-lr3) has no eval results"));
    assert!(notes
        .iter()
        .any(|n| n.as_str().expect("note").starts_with("B is incomplete")));
    assert!(notes.iter().any(|n| n
        .as_str()
        .expect("note")
        .starts_with("B used the calculator and A, C did not")));
}

#[test]
fn the_pages_state_the_correction_and_show_every_section() {
    let html = render(&fixture(), ReportFormat::Html);
    for section in [
        "<h2>Runs</h2>",
        "<h2>Paired tests</h2>",
        "<strong>Holm's method</strong> over the 3 tests",
        "<h2>Training curves</h2>",
        "<title>Training and validation loss</title>",
        "<title>train/acc</title>",
        "<title>grad_norm</title>",
        "<h2>Final metrics</h2>",
        "<h2>Config differences</h2>",
        "2 of 6 config keys differ; 4 are equal in every run.",
        "<h2>Items</h2>",
        "data-filter=\"items-table\"",
        "B improved over A",
        "No evidence that C differs from A",
        "C regressed from B",
    ] {
        assert!(html.contains(section), "{section} missing");
    }
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "losses, lr, tokens_per_s, grad_norm, train/acc"
    );
    let md = render(&fixture(), ReportFormat::Md);
    for section in [
        "### Paired tests",
        "**Holm's method** over the 3 tests",
        "### Final metrics",
        "### Config differences",
        "### Flipped items (3)",
        "| B − A | B improved over A |",
    ] {
        assert!(md.contains(section), "{section} missing:\n{md}");
    }
}

#[test]
fn payloads_are_literal_text_in_every_format() {
    let mut input = fixture();
    let all = PAYLOADS.join(" ");
    input.runs[0].summary.name = all.clone();
    input.runs[3].summary.name = all.clone();
    input.runs[0].config["spec"]["extra"] = json!(all);
    input.runs[0].items[0].expected = all.clone();
    input.runs[0]
        .metrics
        .insert(all.clone(), vec![(1, 1.0), (2, 2.0)]);
    input.pairs[0].figures.warnings.push(all.clone());
    input.notes.push(all.clone());
    for format in [ReportFormat::Html, ReportFormat::Md] {
        fixtures::assert_payloads_inert(&render(&input, format), format);
    }
    let text = render_runs_text(&RunsComparison::Many(input));
    assert!(text.contains(PAYLOADS[0]), "text is not markup: {text}");
}

#[test]
fn runs_without_eval_results_say_there_is_nothing_to_test() {
    let mut input = fixture();
    input.runs.retain(|r| !r.evaluated);
    let mut other = input.runs[0].clone();
    other.summary.run_id = "train-lr1".into();
    other.summary.name = "train-lr1".into();
    other.config["spec"]["training"]["learning_rate"] = json!(0.001);
    input.runs.push(other);
    input.pairs.clear();
    input.notes.clear();
    let html = render(&input, ReportFormat::Html);
    assert!(html.contains("There are no eval results to test"), "{html}");
    assert!(!html.contains("<h2>Items</h2>"));
    assert!(html.contains("<title>Training and validation loss</title>"));
    assert!(html.contains("1 of 6 config keys differ"), "{html}");
    let md = render(&input, ReportFormat::Md);
    assert!(md.contains("There are no eval results to test"), "{md}");
    assert!(
        md.contains("| val_loss | 1.1000 @ 600 | 1.1000 @ 600 |"),
        "{md}"
    );
    let v: serde_json::Value =
        serde_json::from_str(&render(&input, ReportFormat::Json)).expect("json");
    assert_eq!(v["n_tests"], 0);
    assert!(v["notes"][0]
        .as_str()
        .expect("note")
        .contains("there are no eval results to test"));
    let text = render_runs_text(&RunsComparison::Many(input));
    assert!(text.contains("  A  train-lr3  not evaluated\n"), "{text}");
    assert!(
        text.contains("note: none of the runs has eval results"),
        "{text}"
    );
    assert!(
        text.contains("  val_loss      A 1.1000 @ 600 | B 1.1000 @ 600\n"),
        "{text}"
    );
    assert!(!text.contains("Paired tests"), "{text}");
}

#[test]
fn the_terminal_summary_has_scores_verdicts_and_differing_keys() {
    let text = render_runs_text(&RunsComparison::Many(fixture()));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "4 runs:");
    assert_eq!(
        lines[1],
        "  A  baseline-gpt-nano (eval-base)  full-set score 0.5000 [0.0500, 0.9500], coverage 100.0%, 4 items"
    );
    assert!(
        lines[2].ends_with("coverage 75.0% (INCOMPLETE), 4 items, calc"),
        "{text}"
    );
    assert_eq!(lines[4], "  D  train-lr3  not evaluated");
    for expected in [
        "Paired tests, each difference in pp with its 95% CI; verdicts on p-values corrected with Holm's method over 3 tests at alpha 0.05:",
        "  B − A  +25.00 pp [+5.00, +45.00]  McNemar exact, p = 0.0200, Holm p = 0.0400  B improved over A",
        "  C − B  -37.50 pp [-57.50, -17.50]  McNemar exact, p = 0.0100, Holm p = 0.0300  C regressed from B",
        "Config: 2 of 6 keys differ (4 equal; metadata.name not compared):",
        "  spec.training.learning_rate  A 0.001 | B 0.003 | C 0.001 | D 0.003",
        "  tokens_per_s  A — | B — | C — | D 1.235e4 @ 600",
        "3 of 4 items flipped between the evaluated runs",
    ] {
        assert!(text.contains(expected), "{expected:?} missing:\n{text}");
    }
}

#[test]
fn two_evaluated_runs_keep_the_paired_report_and_gain_the_sections() {
    let t = Templates::builtin().expect("templates");
    let pair = fixtures::compare();
    let mut runs = fixture();
    runs.runs.truncate(2);
    runs.pairs.clear();
    let input = RunsComparison::Pair {
        pair: Box::new(pair.clone()),
        runs,
    };
    let plain = super::super::render_compare(&t, &pair, ReportFormat::Html).expect("html");
    let html = render_runs(&t, &input, ReportFormat::Html).expect("html");
    fixtures::assert_html_self_contained(&html);
    let at = plain.rfind("</main>").expect("main");
    assert!(
        html.starts_with(&plain[..at]),
        "the paired page comes first"
    );
    assert!(html.ends_with(&plain[at..]), "and ends as before");
    let added = &html[at..html.len() - (plain.len() - at)];
    assert!(added.contains("<h2>Training curves</h2>"));
    assert!(added.contains("<title>Training and validation loss</title>"));
    assert!(added.contains("<h2>Config differences</h2>"));
    assert!(added.contains("2 of 6 config keys differ"));
    let plain_md = super::super::render_compare(&t, &pair, ReportFormat::Md).expect("md");
    let md = render_runs(&t, &input, ReportFormat::Md).expect("md");
    assert!(md.starts_with(plain_md.trim_end()));
    assert!(md.contains("### Config differences"));
    fixtures::assert_markdown(&md);
    let json: serde_json::Value =
        serde_json::from_str(&render_runs(&t, &input, ReportFormat::Json).expect("json"))
            .expect("json");
    let before: serde_json::Value = serde_json::from_str(
        &super::super::render_compare(&t, &pair, ReportFormat::Json).expect("json"),
    )
    .expect("json");
    for (key, value) in before.as_object().expect("object") {
        assert_eq!(&json[key], value, "{key} changed");
    }
    assert_eq!(json["config_diff"]["differing"][1]["key"], "spec.extra");
    assert_eq!(json["metrics"][1]["label"], "B");
    assert_eq!(json["final_metrics"][0]["metric"], "loss");
    let text = render_runs_text(&input);
    assert!(text.starts_with(&super::super::render_compare_text(&pair)));
    assert!(text.contains("Config: 2 of 6 keys differ"), "{text}");
    assert!(
        text.contains("  loss       A 1.0000 @ 600 | B 0.7500 @ 600"),
        "{text}"
    );
}

#[test]
fn sections_go_before_main_or_body_or_at_the_end() {
    assert_eq!(splice_html("<main>x</main>".into(), "S"), "<main>xS</main>");
    assert_eq!(splice_html("<body>x</body>".into(), "S"), "<body>xS</body>");
    assert_eq!(splice_html("x".into(), "S"), "xS");
}
