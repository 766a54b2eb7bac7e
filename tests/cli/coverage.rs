//! A run that leaves eval items out (issue 21): its primary score over
//! the items it kept looks perfect, but the leaderboard ranks on the
//! full-eval-set score, every report marks it incomplete, `compare` pairs
//! the union of items with a missing one counted as wrong, and `regress`
//! refuses it (exit 2) unless the coverage gap is allowed, then counts the
//! missing items as lost. The Markdown of each report is checked with a
//! CommonMark parser. And which runs the leaderboard lists: evaluated,
//! finished ones unless `--all`, each with its status.

use serde_json::Value;

use crate::report::run_ids;
use crate::support::{fake_run, Workspace};

/// A workspace with two predictions runs on eval_v2 (120 items), indexed:
/// `full` answers every item (90 right: every fourth is wrong) and
/// `gamed_run` submitted only 11 answers, all right (items 1 to 11; 9 of
/// them among `full`'s right ones). Its primary score is 1.0000 over its
/// 11 scored items; over the eval set it is 11/120.
fn gamed_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("preds/full.jsonl", crate::support::predictions(&ws, 4));
    let all_right = crate::support::predictions(&ws, usize::MAX);
    let gamed: String = all_right
        .lines()
        .skip(1)
        .take(11)
        .map(|l| format!("{l}\n"))
        .collect();
    ws.file("preds/gamed.jsonl", gamed);
    for (name, file) in [
        ("full", "preds/full.jsonl"),
        ("gamed_run", "preds/gamed.jsonl"),
    ] {
        ws.run(&[
            "eval",
            "--evalset",
            "evalsets/eval_v2.jsonl",
            "--predictions",
            file,
            "--name",
            name,
        ])
        .code(0);
    }
    ws
}

#[test]
fn a_run_that_leaves_items_out_is_not_ranked_first_and_is_marked() {
    let ws = gamed_workspace();
    let json = ws.run_read_only(&["report", "leaderboard", "--format", "json"]);
    json.code(0);
    let v = json.json();
    assert_eq!(v["ranked_by"], "full_set_score");
    assert_eq!(run_ids(&v), ["full", "gamed_run"], "{v}");
    let gamed = &v["runs"][1];
    assert_eq!(gamed["primary_score"], 1.0);
    assert_eq!(gamed["incomplete"], true);
    assert_eq!(gamed["rank"], 2);
    assert_eq!(gamed["full_set"]["n_scored"], 11);
    let full_score = gamed["full_set"]["score"].as_f64().expect("a score");
    assert!((full_score - 11.0 / 120.0).abs() < 1e-12, "{gamed}");
    assert_eq!(gamed["rank_decided_by"]["rule"], "paired_test");
    assert_eq!(gamed["rank_decided_by"]["against"], "full");
    assert_eq!(v["runs"][0]["incomplete"], false);
    assert_eq!(v["runs"][0]["status"], "completed");
    let md = ws.run_read_only(&["report", "leaderboard"]);
    md.code(0)
        .stdout_has("| 2 | paired, Holm p ")
        .stdout_has("| 9.2% ⚠ incomplete | 1.0000 [")
        .stdout_has("**Ranked by the full-set score.**");
    assert_eq!(markdown_tables(&md.stdout), 2, "runs and tags");
    ws.run(&["report", "leaderboard", "-o", "lb.html"]).code(0);
    let html = std::fs::read_to_string(ws.path().join("lb.html")).expect("read");
    assert!(html.contains("9.2% <span class=\"incomplete\""), "{html}");
    // compare pairs the union: the 109 missing items are losses.
    let text = ws.run_read_only(&["compare", "full", "gamed_run"]);
    text.code(0)
        .stdout_has("B regressed from A")
        .stdout_has("coverage  A 100.0%, B 9.2% (INCOMPLETE)")
        .stdout_has("over 120 items (every item of either run)")
        .stdout_has("counted as wrong   0 items in A, 109 in B")
        .stdout_has("note: B is incomplete: coverage 9.2% (11 of 120 items scored)");
    let c = ws.run_read_only(&["compare", "full", "gamed_run", "--format", "json"]);
    let c = c.json();
    assert_eq!(c["schema_version"], 2);
    assert_eq!(c["figures"]["n_pairs"], 120);
    assert_eq!(c["figures"]["n_unscored_b"], 109);
    let diff = c["figures"]["diff_pp"].as_f64().expect("pp");
    assert!((diff - (11.0 - 90.0) / 1.2).abs() < 1e-9, "{diff}");
    let cmd = ws.run_read_only(&["report", "compare", "full", "gamed_run"]);
    cmd.code(0)
        .stdout_has("| coverage | 100.0% | 9.2% ⚠ incomplete |");
    markdown_tables(&cmd.stdout);
}

#[test]
fn a_candidate_that_leaves_items_out_is_refused_or_loses_them() {
    let ws = gamed_workspace();
    ws.run(&["baseline", "set", "full"]).code(0);
    ws.run_read_only(&["regress", "--candidate", "gamed_run"])
        .code(2)
        .stderr_has("the candidate's coverage (9.2%: 11 of 120 items scored) differs from the baseline's (100.0%: 120 of 120)")
        .stderr_has("--max-coverage-gap");
    ws.run_read_only(&["regress", "--candidate", "gamed_run", "--informational"])
        .code(2);
    let run = ws.run_read_only(&[
        "regress",
        "--candidate",
        "gamed_run",
        "--max-coverage-gap",
        "1",
    ]);
    run.code(1)
        .stdout_has("Regression gate: REGRESSED")
        .stdout_has("coverage 9.2% (11 of 120 scored) INCOMPLETE")
        .stdout_has("Lost (baseline right, candidate wrong): 81")
        .stdout_has("Gained (baseline wrong, candidate right): 2")
        .stdout_has("candidate missing (0)");
    let md = ws.run_read_only(&[
        "regress",
        "--candidate",
        "gamed_run",
        "--max-coverage-gap",
        "1",
        "--format",
        "md",
    ]);
    md.code(1)
        .stdout_has("Candidate `gamed_run` against baseline `full`")
        .stdout_has("⚠ incomplete");
    assert_eq!(markdown_tables(&md.stdout), 3, "{}", md.stdout);
    let json = ws.run_read_only(&[
        "regress",
        "--candidate",
        "gamed_run",
        "--max-coverage-gap",
        "1",
        "--format",
        "json",
    ]);
    let v = json.json();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["n_pairs"], 120);
    assert_eq!(v["candidate"]["incomplete"], true);
    assert_eq!(v["max_coverage_gap_pp"], 100.0);
    ws.run_read_only(&["regress", "--candidate", "full", "--max-coverage-gap", "2"])
        .code(2)
        .stderr_has("--max-coverage-gap must be in [0, 1]");
}

#[test]
fn the_leaderboard_lists_finished_runs_unless_asked_for_all_with_their_status() {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-done", 60, 0.5);
    fake_run(&root, "run-failed", 60, 0.9);
    fake_run(&root, "run-stopped", 60, 0.3);
    for (run, status) in [("run-failed", "failed"), ("run-stopped", "stopped")] {
        let path = root.join(run).join("run_manifest.json");
        let mut m: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        m["status"] = Value::String(status.to_string());
        std::fs::write(&path, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    }
    ws.run(&["db", "ingest"]).code(0);
    let v = ws
        .run_read_only(&["report", "leaderboard", "--format", "json"])
        .json();
    assert_eq!(run_ids(&v), ["run-done", "run-stopped"]);
    assert_eq!(v["runs"][1]["status"], "stopped");
    let all = ws
        .run_read_only(&["report", "leaderboard", "--all", "--format", "json"])
        .json();
    assert_eq!(run_ids(&all), ["run-failed", "run-done", "run-stopped"]);
    assert_eq!(all["runs"][0]["status"], "failed");
    ws.run_read_only(&["report", "leaderboard"])
        .code(0)
        .stdout_has("runs=evaluated, completed or stopped (--all lists every run)")
        .stdout_has("| stopped |");
}

/// Check Markdown from the binary the way the unit tests do: tables parse
/// as tables and no code span or text shows a backslash escape. Returns
/// the number of tables.
fn markdown_tables(md: &str) -> usize {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let mut tables = 0;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Code(code) => assert!(!code.contains('\\'), "`{code}` in\n{md}"),
            Event::Text(text) => assert!(
                !text.contains("\\_") && !text.contains("\\|") && !text.contains("\\*"),
                "{text:?} in\n{md}"
            ),
            Event::Start(Tag::Table(_)) => tables += 1,
            _ => {}
        }
    }
    let delimiters = md
        .lines()
        .filter(|l| {
            l.starts_with('|') && l.contains("---") && l.chars().all(|c| "|-: ".contains(c))
        })
        .count();
    assert_eq!(tables, delimiters, "a table did not parse:\n{md}");
    tables
}
