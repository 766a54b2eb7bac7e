//! `tunix-rt rescore`, and the leaderboard's refusal to rank runs scored
//! under different scoring-rules versions side by side.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

use crate::support::{predictions, Run, Workspace};

fn read_json(ws: &Workspace, rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(ws.path().join(rel)).expect("read")).expect("json")
}

/// Every file under `rel` with its contents.
fn folder(ws: &Workspace, rel: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    ws.snapshot()
        .into_iter()
        .filter(|(p, _)| p.starts_with(rel))
        .collect()
}

/// A workspace with the Eval run `submission_runs/eval-<stem>` of
/// predictions wrong on every `wrong_every`th item.
fn evaluated(ws: &Workspace, stem: &str, wrong_every: usize) {
    ws.file(&format!("preds/{stem}.jsonl"), predictions(ws, wrong_every));
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        &format!("preds/{stem}.jsonl"),
    ])
    .code(0);
}

fn query(ws: &Workspace, sql: &str) -> Value {
    let run = ws.run(&["db", "query", "--format", "json", sql]);
    run.code(0);
    run.json()
}

#[test]
fn rescoring_under_the_current_rules_changes_nothing_and_names_its_source() {
    let ws = Workspace::new();
    evaluated(&ws, "model-x", 4);
    let source_before = folder(&ws, "submission_runs/eval-model-x");
    assert_eq!(
        read_json(&ws, "submission_runs/eval-model-x/eval_summary.json")["scoring_rules_version"],
        1,
        "every new summary records its scoring-rules version"
    );

    let run = ws.run(&["rescore", "eval-model-x"]);
    run.code(0)
        .stdout_has("source       submission_runs/eval-model-x (run eval-model-x, scoring rules 1)")
        .stdout_has("rules        current: scoring rules 1")
        .stdout_has("primary      0.7500 -> 0.7500 (+0.0000)")
        .stdout_has(
            "120 total: 0 flipped (0 to correct, 0 to incorrect), 0 extracted answers changed",
        )
        .stdout_has("run          submission_runs/eval-model-x-rescored");
    assert!(!run.stdout.contains("flipped      id"), "{}", run.stdout);

    assert_eq!(
        folder(&ws, "submission_runs/eval-model-x"),
        source_before,
        "the source folder is never edited"
    );
    let new = "submission_runs/eval-model-x-rescored";
    let manifest = read_json(&ws, &format!("{new}/run_manifest.json"));
    assert_eq!(manifest["kind"], "Eval");
    assert_eq!(manifest["status"], "completed");
    assert_eq!(manifest["model_id"], "external:model-x");
    let from = &manifest["rescored_from"];
    assert_eq!(from["run_id"], "eval-model-x");
    assert_eq!(from["run_dir"], "submission_runs/eval-model-x");
    assert_eq!(from["scoring_rules_version"], 1);
    assert_eq!(
        from["eval_items"]["path"],
        "submission_runs/eval-model-x/eval_items.jsonl"
    );
    assert_eq!(manifest["config"]["rules"], "current");
    let summary = read_json(&ws, &format!("{new}/eval_summary.json"));
    assert_eq!(summary["scoring_rules_version"], 1);
    assert_eq!(summary["primary_score"], 0.75);
    assert_eq!(
        std::fs::read(ws.path().join(format!("{new}/eval_items.jsonl"))).expect("read"),
        source_before[&PathBuf::from("submission_runs/eval-model-x/eval_items.jsonl")],
        "the same outputs under the same rules give the same records"
    );

    let rows = query(
        &ws,
        "SELECT run_id, scoring_rules_version FROM runs ORDER BY run_id",
    );
    assert_eq!(rows[1]["run_id"], "eval-model-x-rescored");
    assert_eq!(rows[1]["scoring_rules_version"], 1);

    ws.run(&["rescore", "eval-model-x"])
        .code(0)
        .stdout_has("run          submission_runs/eval-model-x-rescored-2");
}

#[test]
fn a_rules_file_that_changes_extraction_lists_every_flip() {
    let ws = Workspace::new();
    evaluated(&ws, "model-x", 4);
    ws.file(
        "rules/some.yaml",
        "answer_extraction:\n  markers: [\"Some\"]\n",
    );
    let source_before = folder(&ws, "submission_runs/eval-model-x");
    let run = ws.run(&[
        "rescore",
        "submission_runs/eval-model-x",
        "--rules",
        "rules/some.yaml",
        "--format",
        "json",
    ]);
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["scoring_rules_version"], 1);
    let r = &doc["runs"][0];
    assert_eq!(r["rules"], "rules/some.yaml");
    assert_eq!(r["answer_extraction"]["markers"][0], "Some");
    let flips = r["flips"].as_array().expect("flips");
    assert!(!flips.is_empty(), "text answers no longer match: {r}");
    assert_eq!(r["n_flipped"], flips.len());
    assert_eq!(r["n_lost"], flips.len());
    assert_eq!(r["n_gained"], 0);
    for f in flips {
        assert_eq!(f["old_correctness"], 1.0, "{f}");
        assert_eq!(f["new_correctness"], 0.0, "{f}");
        let old = f["old_extracted"].as_str().expect("old");
        let new = f["new_extracted"].as_str().expect("new");
        assert_eq!(new, format!("steps. Answer: {old}"), "{f}");
    }
    let old = r["old"]["primary_score"].as_f64().expect("old");
    let new = r["new"]["primary_score"].as_f64().expect("new");
    assert!((old - new - flips.len() as f64 / 120.0).abs() < 1e-9, "{r}");
    assert_eq!(r["run_dir"], "submission_runs/eval-model-x-rescored");
    assert_eq!(folder(&ws, "submission_runs/eval-model-x"), source_before);

    let manifest = read_json(
        &ws,
        "submission_runs/eval-model-x-rescored/run_manifest.json",
    );
    assert_eq!(manifest["config"]["rules"], "rules/some.yaml");
    assert_eq!(
        manifest["config"]["answer_extraction"]["markers"][0],
        "Some"
    );
    assert_eq!(manifest["config"]["rules_file"]["path"], "rules/some.yaml");

    let text = ws.run(&[
        "rescore",
        "eval-model-x",
        "--rules",
        "rules/some.yaml",
        "--dry-run",
    ]);
    text.code(0)
        .stdout_has("flipped      id, correctness old -> new, extracted old -> new:")
        .stdout_has(" 1 -> 0  ");
    let id = flips[0]["id"].as_str().expect("id");
    let line = text
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(id))
        .expect("the flip is listed");
    assert!(line.contains("\"steps. Answer: "), "{line}");
}

#[test]
fn a_dry_run_writes_nothing() {
    let ws = Workspace::new();
    evaluated(&ws, "model-x", 4);
    ws.file(
        "rules/last.yaml",
        "answer_extraction:\n  order: [last_line]\n",
    );
    ws.run_read_only(&["rescore", "eval-model", "--dry-run"])
        .code(0)
        .stdout_has("run          none written (--dry-run)");
    let run = ws.run_read_only(&[
        "rescore",
        "eval-model-x",
        "--rules",
        "rules/last.yaml",
        "--dry-run",
        "--format",
        "json",
    ]);
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["dry_run"], true);
    assert_eq!(doc["runs"][0]["run_dir"], Value::Null);
    assert_eq!(doc["runs"][0]["source"]["run_id"], "eval-model-x");
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let ws = Workspace::new();
    evaluated(&ws, "model-x", 4);
    let check = |args: &[&str], message: &str| -> Run {
        let run = ws.run_read_only(args);
        run.code(2).stderr_has(message);
        run
    };
    check(&["rescore", "no-such-run"], "no run matches `no-such-run`");
    check(
        &["rescore", "eval-model-x", "no-such-run"],
        "no run matches `no-such-run`",
    );
    check(
        &["rescore", "eval-model-x", "--rules", "missing.yaml"],
        "missing.yaml",
    );

    ws.file("rules/typo.yaml", "answer_extraction:\n  marker: [x]\n");
    check(
        &["rescore", "eval-model-x", "--rules", "rules/typo.yaml"],
        "rules/typo.yaml:2:",
    );
    ws.file(
        "rules/blank.yaml",
        "answer_extraction:\n  markers: [\"Answer:\", \" \"]\n",
    );
    check(
        &["rescore", "eval-model-x", "--rules", "rules/blank.yaml"],
        "a marker may not be empty",
    );
    ws.file("rules/tol.yaml", "equivalence:\n  float_rel_tol: 2\n");
    check(
        &["rescore", "eval-model-x", "--rules", "rules/tol.yaml"],
        "must be in [0, 1)",
    );

    let set = ws.path().join("evalsets/eval_v2.jsonl");
    let mut text = std::fs::read_to_string(&set).expect("read");
    text = text.replacen("\"29\"", "\"30\"", 1);
    std::fs::write(&set, text).expect("write");
    check(
        &["rescore", "eval-model-x"],
        "the eval set evalsets/eval_v2.jsonl changed since run `eval-model-x` was scored on it",
    );
    std::fs::remove_file(&set).expect("remove");
    check(&["rescore", "eval-model-x"], "evalsets/eval_v2.jsonl");
}

/// Remove `scoring_rules_version` from a run's eval summary, as a run
/// scored before versions were recorded has none.
fn forget_rules_version(ws: &Workspace, run: &str) {
    let rel = format!("submission_runs/{run}/eval_summary.json");
    let mut summary = read_json(ws, &rel);
    summary
        .as_object_mut()
        .expect("object")
        .remove("scoring_rules_version");
    ws.file(&rel, serde_json::to_vec_pretty(&summary).expect("json"));
}

#[test]
fn the_leaderboard_refuses_to_mix_rules_versions_unless_told() {
    let ws = Workspace::new();
    evaluated(&ws, "p-old", 5);
    evaluated(&ws, "p-new", 3);
    forget_rules_version(&ws, "eval-p-old");
    ws.run(&["db", "ingest"])
        .code(0)
        .stdout_has("updated   eval-p-old");

    ws.run_read_only(&["report", "leaderboard"])
        .code(2)
        .stderr_has("scored under different scoring rules")
        .stderr_has("unknown (not recorded): 1 run (eval-p-old); version 1: 1 run")
        .stderr_has("tunix-rt rescore")
        .stderr_has("--allow-mixed-rules");

    let run = ws.run_read_only(&[
        "report",
        "leaderboard",
        "--allow-mixed-rules",
        "--format",
        "json",
    ]);
    run.code(0);
    let doc = run.json();
    let note = doc["notes"][0].as_str().expect("a note");
    assert!(note.contains("different scoring rules"), "{note}");
    let versions: BTreeMap<String, Value> = doc["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["run_id"].as_str().expect("id").to_string(),
                r.get("scoring_rules_version")
                    .cloned()
                    .unwrap_or(Value::Null),
            )
        })
        .collect();
    assert_eq!(versions["eval-p-new"], 1);
    assert_eq!(versions["eval-p-old"], Value::Null);
    ws.run_read_only(&[
        "report",
        "leaderboard",
        "--allow-mixed-rules",
        "--format",
        "md",
    ])
    .code(0)
    .stdout_has("**Note:** runs scored under different scoring rules");
    ws.run_read_only(&[
        "report",
        "leaderboard",
        "--allow-mixed-rules",
        "--format",
        "html",
    ])
    .code(0)
    .stdout_has("<strong>Note:</strong> runs scored under different scoring rules");

    let one = ws.run_read_only(&[
        "report",
        "leaderboard",
        "--model",
        "external:p-new",
        "--format",
        "json",
    ]);
    one.code(0);
    assert!(one.json().get("notes").is_none(), "one version: no note");

    let run = ws.run(&["rescore", "eval-p-old", "--format", "json"]);
    run.code(0);
    assert_eq!(
        run.json()["runs"][0]["source"]["scoring_rules_version"],
        Value::Null
    );
    let manifest = read_json(&ws, "submission_runs/eval-p-old-rescored/run_manifest.json");
    assert_eq!(
        manifest["rescored_from"]["scoring_rules_version"],
        Value::Null
    );
    ws.run_read_only(&["report", "leaderboard", "--model", "external:p-old"])
        .code(2)
        .stderr_has("unknown (not recorded): 1 run (eval-p-old); version 1: 1 run");
}
