//! `tunix-rt determinism`: an Eval manifest scored twice, a tiny CPU Train
//! manifest trained twice (with --train), refusals; nothing is ever
//! written in the workspace.

use crate::support::{predictions, tiny_train, tiny_train_evaluated, Workspace};
use tunix_testkit::manifest::{loguniform, SweepManifestBuilder};

fn eval_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("manifests/preds.jsonl", predictions(&ws, 4));
    ws.file(
        "manifests/e.yaml",
        "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: ext }\nspec:\n  evalset: ../evalsets/eval_v2.jsonl\n  model: { predictions: preds.jsonl }\n",
    );
    ws
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
    ws.file("manifests/t.yaml", tiny_train("tiny", 10).to_yaml());
    ws.run_read_only(&["determinism", "manifests/t.yaml"])
        .code(2)
        .stderr_has("can take long")
        .stderr_has("--train");
}

#[test]
fn a_sweep_is_not_a_single_job_to_check() {
    let ws = Workspace::new();
    ws.file("configs/base.yaml", tiny_train("tiny", 10).to_yaml());
    ws.file(
        "manifests/s.yaml",
        SweepManifestBuilder::based_on("s", "../configs/base.yaml")
            .search("learning_rate", loguniform(1.0e-3, 1.0e-2))
            .num_samples(2)
            .metric("val_loss")
            .to_yaml(),
    );
    ws.run_read_only(&["determinism", "manifests/s.yaml", "--train"])
        .code(2)
        .stderr_has("manifests/s.yaml")
        .stderr_has("a Sweep manifest is not a single job");
}

#[test]
fn a_tiny_cpu_model_trains_to_bit_identical_weights_twice() {
    let ws = Workspace::new();
    ws.file(
        "manifests/t.yaml",
        tiny_train_evaluated("tiny", 10).to_yaml(),
    );
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
    ws.file(
        "manifests/t.yaml",
        tiny_train_evaluated("tiny", 10).to_yaml(),
    );
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

#[test]
fn a_predictions_eval_run_is_checked_by_rescoring_its_stored_outputs() {
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
    for run in ["eval-model-x", "eval-mod", "submission_runs/eval-model-x"] {
        ws.run_read_only(&["determinism", run])
            .code(0)
            .stdout_has("determinism  Eval run eval-model-x, stored outputs re-scored twice and compared with its record")
            .stdout_has("note         run eval-model-x has no checkpoint to decode, so its 120 stored outputs were re-scored twice (no model ran)")
            .stdout_has("match    primary_score                0.75")
            .stdout_has("match    recorded_primary_score       0.75")
            .stdout_has("match    recorded_item_correctness")
            .stdout_has("verdict      deterministic");
    }
    let doc = ws
        .run_read_only(&["determinism", "eval-model-x", "--format", "json"])
        .json();
    assert_eq!(doc["method"], "rescore");
    assert_eq!(doc["run"], "eval-model-x");
    assert_eq!(doc["verdict"], "deterministic");
    ws.run_read_only(&["determinism", "eval-model-x", "--keep", "kept"])
        .code(2)
        .stderr_has("no folders to keep");

    let summary = ws
        .path()
        .join("submission_runs/eval-model-x/eval_summary.json");
    let mut s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("read")).expect("json");
    s["primary_score"] = serde_json::json!(0.8);
    std::fs::write(&summary, serde_json::to_vec_pretty(&s).expect("json")).expect("write");
    ws.run_read_only(&["determinism", "eval-model-x"])
        .code(1)
        .stdout_has("DIFFERS  recorded_primary_score       a 0.8")
        .stdout_has("verdict      NOT deterministic")
        .stderr_has("its stored outputs do not re-score the same way: recorded_primary_score");
}
