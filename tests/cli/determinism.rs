//! `tunix-rt determinism`: an Eval manifest scored twice, a tiny CPU Train
//! manifest trained twice (with --train), refusals; nothing is ever
//! written in the workspace.

use serde_json::Value;

use crate::support::Workspace;

fn predictions(ws: &Workspace) -> String {
    let text = std::fs::read_to_string(ws.path().join("evalsets/eval_v2.jsonl")).expect("read");
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let item: Value = serde_json::from_str(line).expect("json");
        let answer = if i % 4 == 0 {
            "-12345".to_string()
        } else {
            item["expected_answer"]
                .as_str()
                .expect("answer")
                .to_string()
        };
        let row = serde_json::json!({"id": item["id"], "output": format!("Some steps. Answer: {answer}")});
        out.push_str(&row.to_string());
        out.push('\n');
    }
    out
}

fn eval_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("manifests/preds.jsonl", predictions(&ws));
    ws.file(
        "manifests/e.yaml",
        "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: ext }\nspec:\n  evalset: ../evalsets/eval_v2.jsonl\n  model: { predictions: preds.jsonl }\n",
    );
    ws
}

/// The Train manifest of tests/cli/train.rs, small enough for CI.
fn train_manifest(eval: bool) -> String {
    let eval = if eval {
        "  eval:\n    evalset: ../evalsets/eval_v2.jsonl\n    decoding:\n      max_new_tokens: 8\n      batch_size: 64\n"
    } else {
        ""
    };
    format!(
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: tiny
spec:
  model:
    preset: gpt-nano
    n_layer: 1
    n_head: 2
    n_embd: 32
    context_length: 192
  dataset:
    name: dev-reasoning-v2
    train_examples: 300
    val_examples: 20
  training:
    learning_rate: 3.0e-3
    per_device_batch_size: 4
    warmup_steps: 5
    max_steps: 10
    checkpoint_interval: 10
    log_interval: 5
  device: cpu
{eval}"
    )
}

#[test]
fn an_eval_manifest_scored_twice_is_deterministic_and_writes_nothing() {
    let ws = eval_workspace();
    ws.run_read_only(&["determinism", "manifests/e.yaml"])
        .code(0)
        .stdout_has("determinism  Eval job, evaluated twice, device none")
        .stdout_has("match    primary_score                0.75")
        .stdout_has("match    scorecard_counts")
        .stdout_has("match    item_correctness")
        .stdout_has("match    raw_outputs_blake3")
        .stdout_has("verdict      deterministic");
    assert!(!ws.path().join("submission_runs").exists());
    assert!(!ws.path().join("tunix.duckdb").exists());
}

#[test]
fn json_output_is_one_stable_document() {
    let ws = eval_workspace();
    let run = ws.run_read_only(&["determinism", "manifests/e.yaml", "--format", "json"]);
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["kind"], "Eval");
    assert_eq!(doc["verdict"], "deterministic");
    let checks = doc["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "device",
            "primary_score",
            "scorecard_counts",
            "item_correctness",
            "raw_outputs_blake3"
        ]
    );
    for c in checks {
        assert_eq!(c["ok"], true);
        assert_eq!(c["a"], c["b"]);
    }
    assert_eq!(doc["differing_items"], serde_json::json!([]));
}

#[test]
fn keep_copies_both_run_folders_and_refuses_an_existing_folder() {
    let ws = eval_workspace();
    ws.run(&["determinism", "manifests/e.yaml", "--keep", "kept"])
        .code(0)
        .stdout_has("kept         kept/a and kept/b");
    for run in ["a", "b"] {
        for f in ["run_manifest.json", "eval_summary.json", "eval_items.jsonl"] {
            assert!(
                ws.path().join("kept").join(run).join(f).is_file(),
                "{run}/{f}"
            );
        }
    }
    assert_eq!(
        std::fs::read(ws.path().join("kept/a/eval_items.jsonl")).expect("a"),
        std::fs::read(ws.path().join("kept/b/eval_items.jsonl")).expect("b")
    );
    ws.run_read_only(&["determinism", "manifests/e.yaml", "--keep", "kept"])
        .code(2)
        .stderr_has("does not exist yet");
}

#[test]
fn a_train_manifest_needs_train() {
    let ws = Workspace::new();
    ws.file("manifests/t.yaml", train_manifest(false));
    ws.run_read_only(&["determinism", "manifests/t.yaml"])
        .code(2)
        .stderr_has("can take long")
        .stderr_has("--train");
}

#[test]
fn a_tiny_cpu_model_trains_to_bit_identical_weights_twice() {
    let ws = Workspace::new();
    ws.file("manifests/t.yaml", train_manifest(true));
    let run = ws.run_read_only(&[
        "determinism",
        "manifests/t.yaml",
        "--train",
        "--format",
        "json",
    ]);
    run.code(0);
    let doc = run.json();
    assert_eq!(doc["kind"], "Train");
    assert_eq!(doc["device"], "cpu");
    assert_eq!(doc["tolerance"], "bit_exact");
    assert_eq!(doc["verdict"], "deterministic", "{doc:#}");
    let checks = doc["checks"].as_array().expect("checks");
    let names: Vec<&str> = checks.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "device",
            "final_weights_blake3",
            "metrics_without_throughput",
            "primary_score",
            "scorecard_counts",
            "item_correctness",
            "raw_outputs_blake3"
        ]
    );
    let weights = &checks[1]["a"];
    assert_eq!(weights["step"], 10);
    assert_eq!(weights["blake3"].as_str().map(str::len), Some(64));
    assert_eq!(checks[2]["a"]["lines"], 2);
}

#[test]
fn a_nondeterministic_trainer_fails_the_check_with_the_differing_items() {
    let ws = Workspace::new();
    ws.file("manifests/t.yaml", train_manifest(true));
    let before = ws.snapshot();
    let out = ws
        .command(&["determinism", "manifests/t.yaml", "--train"])
        .env(
            "TUNIX_RT_WORKER",
            crate::support::repo().join("tests/fixtures/trainers/coin_flip.py"),
        )
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("NOT deterministic"), "{stdout}");
    assert!(
        stdout.contains("-98765"),
        "both outputs of a differing item: {stdout}"
    );
    assert_eq!(before, ws.snapshot(), "the check wrote into the workspace");
}
