//! `tunix-rt validate` on evidence: run folders, baseline locks and best
//! params validate; unscored m34/m35 evidence and broken evidence files are
//! rejected.

use crate::support::Workspace;

#[test]
fn evidence_run_folders_locks_and_best_params_validate() {
    let ws = Workspace::new();
    let runs = ws.path().join("submission_runs");
    crate::support::fake_run(&runs, "m35_v1", 40, 0.5);
    crate::support::fake_run(&runs, "quickstart", 40, 0.5);
    ws.run(&["baseline", "set", "m35_v1"]).code(0);
    ws.file(
        "submission_runs/m34_v1/best_params.json",
        r#"{"sweep": "s", "trial_id": "t000", "promoted_from_trial_id": "t000",
            "params": {"learning_rate": 0.001}, "mapping": {"learning_rate": "spec.training.learning_rate"},
            "metric": {"name": "primary_score", "mode": "max", "value": 0.5, "ci95": null}}"#,
    );
    let run = ws.run_read_only(&["validate", "submission_runs", "configs/baseline.lock.yaml"]);
    run.code(0)
        .stdout_has("submission_runs/m35_v1: ok (run folder m35_v1)")
        .stdout_has("submission_runs/quickstart: ok (run folder quickstart)")
        .stdout_has("submission_runs/m34_v1/best_params.json: ok (best params s)")
        .stdout_has("configs/baseline.lock.yaml: ok (baseline lock m35_v1)");
}

#[test]
fn unscored_m34_and_m35_evidence_and_broken_evidence_files_are_rejected() {
    let ws = Workspace::new();
    let runs = ws.path().join("submission_runs");
    crate::support::fake_run(&runs, "m35_null", 40, 0.5);
    let summary = runs.join("m35_null/eval_summary.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&summary).expect("read")).expect("json");
    doc["primary_score"] = serde_json::Value::Null;
    std::fs::write(&summary, serde_json::to_vec_pretty(&doc).expect("json")).expect("write");
    ws.run_read_only(&["validate", "submission_runs/m35_null"])
        .code(2)
        .stderr_has("submission_runs/m35_null/eval_summary.json")
        .stderr_has(
            "primary_score is null, but evidence runs named m35_* must have a primary score",
        );
    crate::support::fake_run(&runs, "m34_bare", 40, 0.5);
    std::fs::remove_file(runs.join("m34_bare/eval_summary.json")).expect("rm");
    std::fs::remove_file(runs.join("m34_bare/eval_items.jsonl")).expect("rm");
    ws.run_read_only(&["validate", "submission_runs/m34_bare"])
        .code(2)
        .stderr_has("no eval_summary.json: evidence runs named m34_* must have a primary score");
    ws.file("configs/broken.lock.yaml", "schema_version: 1\nrun_id: 3\n");
    ws.run_read_only(&["validate", "configs/broken.lock.yaml"])
        .code(2)
        .stderr_has("configs/broken.lock.yaml");
    ws.file("out/best_params.json", r#"{"sweep": "s"}"#);
    ws.run_read_only(&["validate", "out/best_params.json"])
        .code(2)
        .stderr_has("out/best_params.json")
        .stderr_has("trial_id");
}
