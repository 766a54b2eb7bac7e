//! `tunix-rt eval`, `tunix-rt run` (Eval manifests) and `tunix-rt compare`.

use serde_json::Value;

use crate::support::{predictions, Workspace};

fn read_json(ws: &Workspace, rel: &str) -> Value {
    serde_json::from_slice(&std::fs::read(ws.path().join(rel)).expect("read")).expect("json")
}

#[test]
fn eval_writes_a_complete_run_folder() {
    let ws = Workspace::new();
    ws.file("preds/model-x.jsonl", predictions(&ws, 4));
    let run = ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "preds/model-x.jsonl",
    ]);
    run.code(0)
        .stdout_has("run          submission_runs/eval-model-x")
        .stdout_has("primary      0.7500");
    let dir = ws.path().join("submission_runs/eval-model-x");
    for f in [
        "run_manifest.json",
        "eval_summary.json",
        "eval_items.jsonl",
        "run.log",
    ] {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    let summary = read_json(&ws, "submission_runs/eval-model-x/eval_summary.json");
    assert_eq!(summary["primary_score"], 0.75);
    assert_eq!(summary["n_items"], 120);
    assert_eq!(summary["n_scored"], 120);
    assert_eq!(summary["schema_version"], 1);
    assert_eq!(summary["scorecard"]["ci95"]["method"], "wilson");
    let manifest = read_json(&ws, "submission_runs/eval-model-x/run_manifest.json");
    assert_eq!(manifest["kind"], "Eval");
    assert_eq!(manifest["model_id"], "external:model-x");
    assert_eq!(manifest["evalset"]["blake3"], summary["evalset"]["blake3"]);
    let artifacts: Vec<&str> = manifest["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .map(|a| a["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        artifacts,
        vec!["eval_items.jsonl", "eval_summary.json", "run.log"]
    );
    let items = std::fs::read_to_string(dir.join("eval_items.jsonl")).expect("read");
    let first: Value = serde_json::from_str(items.lines().next().expect("line")).expect("json");
    for key in [
        "id",
        "category",
        "expected",
        "output",
        "extracted",
        "answer_correctness",
        "trace_consistency",
    ] {
        assert!(first.get(key).is_some(), "{key} missing in {first}");
    }
    // A second evaluation never overwrites the first.
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "preds/model-x.jsonl",
    ])
    .code(0)
    .stdout_has("submission_runs/eval-model-x-2");
}

#[test]
fn identical_inputs_give_byte_identical_results() {
    let ws = Workspace::new();
    ws.file("preds/p.jsonl", predictions(&ws, 3));
    for out in ["runs/a", "runs/b"] {
        ws.run(&[
            "eval",
            "--evalset",
            "evalsets/eval_v2.jsonl",
            "--predictions",
            "preds/p.jsonl",
            "--out",
            out,
        ])
        .code(0);
    }
    for f in ["eval_summary.json", "eval_items.jsonl"] {
        let a = std::fs::read(ws.path().join("runs/a").join(f)).expect("a");
        let b = std::fs::read(ws.path().join("runs/b").join(f)).expect("b");
        assert!(a == b, "{f} differs between identical evaluations");
    }
}

#[test]
fn missing_items_are_skipped_and_empty_outputs_score_zero() {
    let ws = Workspace::new();
    let all = predictions(&ws, 1000);
    let mut lines: Vec<String> = all.lines().map(String::from).collect();
    lines.truncate(100);
    lines[1] = r#"{"id": "core-002", "output": ""}"#.to_string();
    ws.file("preds/p.jsonl", lines.join("\n") + "\n");
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "preds/p.jsonl",
        "--out",
        "runs/p",
    ])
    .code(0)
    .stdout_has("100 scored, 20 skipped, 120 total");
    let summary = read_json(&ws, "runs/p/eval_summary.json");
    assert_eq!(summary["n_skipped"], 20);
    assert_eq!(summary["missing_items"].as_array().expect("list").len(), 20);
    assert_eq!(summary["empty_outputs"], serde_json::json!(["core-002"]));
}

fn bad_predictions(contents: &[u8], expected: &[&str]) {
    let ws = Workspace::new();
    ws.file("preds/p.jsonl", contents);
    let run = ws.run_read_only(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "preds/p.jsonl",
    ]);
    run.code(2).stderr_has("nothing was written");
    for text in expected {
        run.stderr_has(text);
    }
}

#[test]
fn malformed_lines_are_refused_with_line_numbers() {
    bad_predictions(
        b"{\"id\": \"core-001\", \"output\": \"Answer: 29\"}\n{\"id\": \"core-002\" \"output\": \"x\"}\n",
        &["preds/p.jsonl:2:", "malformed line"],
    );
}

#[test]
fn unknown_ids_are_refused() {
    bad_predictions(
        b"{\"id\": \"core-999\", \"output\": \"1\"}\n",
        &["preds/p.jsonl:1:1: error: unknown id `core-999`"],
    );
}

#[test]
fn duplicate_ids_are_refused() {
    bad_predictions(
        b"{\"id\": \"core-001\", \"output\": \"1\"}\n{\"id\": \"core-001\", \"output\": \"2\"}\n",
        &["preds/p.jsonl:2:1: error: duplicate id `core-001` (first on line 1)"],
    );
}

#[test]
fn invalid_utf8_is_refused() {
    bad_predictions(
        b"{\"id\": \"core-001\", \"output\": \"\xff\"}\n",
        &["preds/p.jsonl:1:31: error: line is not valid UTF-8"],
    );
}

#[test]
fn huge_outputs_are_refused() {
    let big = format!(
        "{{\"id\": \"core-001\", \"output\": \"{}\"}}\n",
        "9".repeat(2 << 20)
    );
    bad_predictions(big.as_bytes(), &["outputs are limited to 1048576"]);
}

#[test]
fn existing_out_folder_is_never_overwritten() {
    let ws = Workspace::new();
    ws.file("preds/p.jsonl", predictions(&ws, 3));
    ws.file("runs/a/keep.txt", "precious");
    ws.run_read_only(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "preds/p.jsonl",
        "--out",
        "runs/a",
    ])
    .code(2)
    .stderr_has("already exists");
}

#[test]
fn eval_manifest_runs_through_run() {
    let ws = Workspace::new();
    ws.file("manifests/preds.jsonl", predictions(&ws, 5));
    ws.file(
        "manifests/e.yaml",
        "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: ext, labels: { model: x } }\nspec:\n  evalset: ../evalsets/eval_v2.jsonl\n  model: { predictions: preds.jsonl }\n",
    );
    ws.run(&["run", "manifests/e.yaml"])
        .code(0)
        .stdout_has("run          submission_runs/ext");
    let manifest = read_json(&ws, "submission_runs/ext/run_manifest.json");
    assert_eq!(manifest["labels"]["model"], "x");
    assert_eq!(manifest["config"]["kind"], "Eval");
    assert_eq!(
        read_json(&ws, "submission_runs/ext/eval_summary.json")["primary_score"],
        0.8
    );
}

#[test]
fn eval_and_run_of_the_same_evaluation_have_one_config_identity() {
    let ws = Workspace::new();
    ws.file("manifests/preds.jsonl", predictions(&ws, 5));
    ws.file(
        "manifests/e.yaml",
        "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: ext, labels: { model: x } }\nspec:\n  evalset: ../evalsets/eval_v2.jsonl\n  model: { predictions: preds.jsonl }\n",
    );
    ws.run(&["run", "manifests/e.yaml"]).code(0);
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "manifests/preds.jsonl",
    ])
    .code(0);
    let from_run = read_json(&ws, "submission_runs/ext/run_manifest.json");
    let from_eval = read_json(&ws, "submission_runs/eval-preds/run_manifest.json");
    let hash = from_run["config_hash"].as_str().expect("identity recorded");
    assert_eq!(hash.len(), 64);
    assert_eq!(from_eval["config_hash"], from_run["config_hash"]);
    let indexed = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT DISTINCT config_hash FROM runs",
        ])
        .code(0)
        .json();
    assert_eq!(indexed.as_array().map(Vec::len), Some(1), "{indexed}");
    assert_eq!(indexed[0]["config_hash"], hash);
}

#[test]
fn invalid_manifest_runs_nothing() {
    let ws = Workspace::new();
    ws.file("manifests/e.yaml", "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: ext }\nspec:\n  evalset: ../evalsets/eval_v2.jsonl\n  modle: {}\n");
    ws.run_read_only(&["run", "manifests/e.yaml"])
        .code(2)
        .stderr_has("manifests/e.yaml:6:3: error: unknown key `modle`");
}

#[test]
fn a_chat_template_setting_without_a_hugging_face_model_runs_nothing() {
    let ws = Workspace::new();
    ws.file("manifests/preds.jsonl", predictions(&ws, 2));
    ws.file("manifests/e.yaml", "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: ext }\nspec:\n  evalset: ../evalsets/eval_v2.jsonl\n  model: { predictions: preds.jsonl }\n  decoding:\n    chat_template: true\n");
    ws.run_read_only(&["run", "manifests/e.yaml"])
        .code(2)
        .stderr_has("manifests/e.yaml:8:5: error: `chat_template` applies to a Hugging Face model (`model: { hf: ... }`); these outputs come from a predictions file")
        .stderr_has("remove `chat_template`");
}

#[test]
fn compare_gives_a_paired_verdict() {
    let ws = Workspace::new();
    ws.file("preds/weak.jsonl", predictions(&ws, 2));
    ws.file("preds/strong.jsonl", predictions(&ws, 40));
    for (p, out) in [
        ("preds/weak.jsonl", "runs/weak"),
        ("preds/strong.jsonl", "runs/strong"),
    ] {
        ws.run(&[
            "eval",
            "--evalset",
            "evalsets/eval_v2.jsonl",
            "--predictions",
            p,
            "--out",
            out,
        ])
        .code(0);
    }
    let run = ws.run_read_only(&["report", "compare", "weak", "strong", "--format", "json"]);
    run.code(0);
    let v = run.json();
    assert_eq!(v["figures"]["verdict"], "improved");
    assert_eq!(v["figures"]["test"], "mcnemar_exact");
    assert_eq!(v["figures"]["n_pairs"], 120);
    let back = ws.run_read_only(&["report", "compare", "strong", "weak", "--format", "json"]);
    assert_eq!(back.json()["figures"]["verdict"], "regressed");
    let same = ws.run_read_only(&["report", "compare", "weak", "weak", "--format", "json"]);
    assert_eq!(same.json()["figures"]["verdict"], "no_evidence");
}

#[test]
fn eval_summaries_have_per_tag_figures_from_the_eval_sets_tags() {
    let ws = Workspace::new();
    ws.file("preds/model-x.jsonl", predictions(&ws, 4));
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "preds/model-x.jsonl",
    ])
    .code(0);
    let summary = read_json(&ws, "submission_runs/eval-model-x/eval_summary.json");
    let tags = &summary["scorecard"]["per_tag"];
    let multiplication = &tags["multiplication"];
    assert_eq!(multiplication["n_items"], 74, "{tags}");
    assert_eq!(multiplication["ci95"]["method"], "wilson");
    let correct = multiplication["n_correct"].as_u64().expect("count");
    let mean = multiplication["mean"].as_f64().expect("mean");
    assert!(
        (mean - correct as f64 / 74.0).abs() < 1e-12,
        "{multiplication}"
    );
    assert_eq!(tags.as_object().map(|t| t.len()), Some(17), "{tags}");
}
