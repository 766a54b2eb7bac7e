//! `tunix-rt run` on Train manifests: the run folder, determinism,
//! resume after SIGKILL, failures, and `tunix-rt data`.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use tunix_testkit::manifest::TrainManifestBuilder;

use crate::support::{tiny_train, tiny_train_evaluated, wait_for, Workspace};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn weights(run_dir: &Path, step: u32) -> Vec<u8> {
    std::fs::read(run_dir.join(format!("checkpoints/step-{step:08}/model.safetensors")))
        .expect("final weights")
}

#[test]
fn training_writes_a_complete_run_folder_and_indexes_it() {
    let ws = Workspace::new();
    ws.file(
        "manifests/t.yaml",
        tiny_train_evaluated("t", 20).eval_interval(10).to_yaml(),
    );
    ws.run(&["run", "manifests/t.yaml"])
        .code(0)
        .stdout_has("run          submission_runs/t")
        .stdout_has("items        120 scored");
    let dir = ws.path().join("submission_runs/t");
    let m = read_json(&dir.join("run_manifest.json"));
    assert_eq!(m["kind"], "Train");
    assert_eq!(m["status"], "completed");
    assert_eq!(m["device"], "cpu");
    assert_eq!(
        m["model_id"],
        "gpt-nano(n_layer=1,n_head=2,n_embd=32,context_length=192)"
    );
    assert!(m["dataset"]["blake3"]
        .as_str()
        .is_some_and(|h| h.len() == 64));
    let artifacts = m["artifacts"].as_array().expect("artifacts");
    let final_weights = artifacts
        .iter()
        .find(|a| a["path"] == "checkpoints/step-00000020/model.safetensors")
        .expect("final checkpoint recorded");
    assert_eq!(
        final_weights["blake3"].as_str().expect("hash"),
        blake3::hash(&weights(&dir, 20)).to_hex().as_str()
    );
    for f in [
        "eval_items.jsonl",
        "eval_summary.json",
        "metrics.jsonl",
        "run.log",
    ] {
        assert!(artifacts.iter().any(|a| a["path"] == f), "{f} not recorded");
    }
    let metrics: Vec<Value> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let steps: Vec<u64> = metrics
        .iter()
        .map(|r| r["step"].as_u64().expect("step"))
        .collect();
    assert_eq!(steps, vec![5, 10, 15, 20]);
    assert!(
        metrics[1]["primary_score"].is_number(),
        "intermediate eval at step 10"
    );
    assert!(metrics[3]["val_loss"].is_number() && metrics[3]["primary_score"].is_number());
    for r in &metrics {
        let norm = r["grad_norm"].as_f64().unwrap_or(-1.0);
        assert!(
            norm > 0.0 && norm.is_finite(),
            "grad_norm on every line: {r}"
        );
    }
    let items = std::fs::read_to_string(dir.join("eval_items.jsonl")).expect("items");
    assert_eq!(items.lines().count(), 120);
    let summary = read_json(&dir.join("eval_summary.json"));
    assert_eq!(summary["n_items"], 120);
    let rows = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT kind, status, device FROM runs",
        ])
        .code(0)
        .json();
    assert_eq!(rows[0]["kind"], "Train");
    assert_eq!(rows[0]["status"], "completed");
    let keys = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT key, count(*) AS n FROM metric_values GROUP BY key ORDER BY key",
        ])
        .code(0)
        .json();
    assert_eq!(
        keys,
        serde_json::json!([
            {"key": "grad_norm", "n": 4}, {"key": "loss", "n": 4}, {"key": "lr", "n": 4},
            {"key": "primary_score", "n": 2}, {"key": "tokens_per_s", "n": 4},
            {"key": "val_loss", "n": 2}
        ])
    );
}

#[test]
fn identical_manifests_give_bit_identical_weights_and_never_overwrite() {
    let ws = Workspace::new();
    ws.file("manifests/d.yaml", tiny_train("d", 15).to_yaml());
    ws.run(&["run", "manifests/d.yaml"]).code(0);
    ws.run(&["run", "manifests/d.yaml"])
        .code(0)
        .stdout_has("submission_runs/d-2");
    let a = ws.path().join("submission_runs/d");
    let b = ws.path().join("submission_runs/d-2");
    assert_eq!(weights(&a, 15), weights(&b, 15));
    assert_eq!(
        std::fs::read(a.join("metrics.jsonl"))
            .map(|m| strip_rates(&m))
            .expect("metrics"),
        std::fs::read(b.join("metrics.jsonl"))
            .map(|m| strip_rates(&m))
            .expect("metrics")
    );
}

/// Metric lines without the timing-dependent tokens/s.
fn strip_rates(bytes: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).expect("json");
            v.as_object_mut().expect("object").remove("tokens_per_s");
            v
        })
        .collect()
}

#[test]
fn a_run_killed_with_sigkill_resumes_to_bit_identical_weights() {
    let max_steps = 60;
    let job = |name: &str| {
        tiny_train(name, max_steps)
            .checkpoint_interval(20)
            .to_yaml()
    };
    let reference = Workspace::new();
    reference.file("manifests/r.yaml", job("r"));
    reference.run(&["run", "manifests/r.yaml"]).code(0);

    // The trainer stops right after its step-20 checkpoint (a documented
    // fault-injection point), so the kill lands mid-run every time.
    let ws = Workspace::new();
    ws.file("manifests/r.yaml", job("r"));
    let dir = ws.path().join("submission_runs/r");
    let mut child = ws
        .command(&["run", "manifests/r.yaml"])
        .env("TUNIX_RT_FAULT_PAUSE_AFTER_CHECKPOINT", "20")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let first = dir.join("checkpoints/step-00000020/state.json");
    wait_for("the step-20 checkpoint", Duration::from_secs(300))
        .watching(&mut child)
        .until(|| first.exists());
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let killed = read_json(&dir.join("run_manifest.json"));
    assert_eq!(killed["status"], "running", "the kill landed mid-run");
    assert!(!dir.join(format!("checkpoints/step-{:08}", 40)).exists());

    ws.run(&["run", "manifests/r.yaml"])
        .code(0)
        .stdout_has("submission_runs/r\n");
    assert!(!ws.path().join("submission_runs/r-2").exists());
    let log = std::fs::read_to_string(dir.join("run.log")).expect("log");
    assert!(log.contains("resumed from checkpoint step 20"), "{log}");
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "completed"
    );
    assert_eq!(
        weights(&dir, max_steps),
        weights(&reference.path().join("submission_runs/r"), max_steps),
        "resumed weights differ from an uninterrupted run"
    );
    assert_eq!(
        metric_steps(&dir),
        vec![5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60]
    );
}

/// The steps of a run's metrics.jsonl, in file order.
fn metric_steps(dir: &Path) -> Vec<u64> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["step"]
                .as_u64()
                .expect("step")
        })
        .collect()
}

/// Fail a run at step 10 with a NaN loss, before its first checkpoint (at
/// 20): an unfinished run with a metrics line (step 5) and no checkpoint.
fn fail_before_the_first_checkpoint(ws: &Workspace, yaml: &str) {
    ws.file("manifests/u.yaml", yaml);
    let out = ws
        .command(&["run", "manifests/u.yaml"])
        .env("TUNIX_RT_FAULT_NAN_STEP", "7")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let dir = ws.path().join("submission_runs/u");
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "failed"
    );
    assert!(!dir.join("checkpoints/step-00000010").exists());
    assert_eq!(metric_steps(&dir), vec![5]);
}

fn unfinished(name: &str) -> TrainManifestBuilder {
    tiny_train(name, 20).checkpoint_interval(20)
}

#[test]
fn an_unfinished_run_without_a_checkpoint_is_refused_under_another_config() {
    let ws = Workspace::new();
    fail_before_the_first_checkpoint(&ws, &unfinished("u").to_yaml());
    ws.file(
        "manifests/u.yaml",
        unfinished("u").learning_rate(1.0e-3).to_yaml(),
    );
    let before = ws.snapshot();
    ws.run(&["run", "manifests/u.yaml"])
        .code(2)
        .stderr_has("holds an unfinished Train run")
        .stderr_has("set output.name");
    assert_eq!(before, ws.snapshot(), "nothing may be written");
}

#[test]
fn an_unfinished_run_without_a_checkpoint_restarts_with_clean_metrics() {
    let ws = Workspace::new();
    fail_before_the_first_checkpoint(&ws, &unfinished("u").to_yaml());
    ws.run(&["run", "manifests/u.yaml"])
        .code(0)
        .stdout_has("submission_runs/u\n");
    let dir = ws.path().join("submission_runs/u");
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "completed"
    );
    assert_eq!(
        metric_steps(&dir),
        vec![5, 10, 15, 20],
        "no step recorded twice"
    );
    let log = std::fs::read_to_string(dir.join("run.log")).expect("log");
    assert!(log.contains("restarted from step 0"), "{log}");
}

#[test]
fn editing_labels_or_description_does_not_block_resume() {
    let ws = Workspace::new();
    fail_before_the_first_checkpoint(&ws, &unfinished("u").to_yaml());
    ws.file(
        "manifests/u.yaml",
        unfinished("u")
            .label("team", "a")
            .description("now described")
            .to_yaml(),
    );
    ws.run(&["run", "manifests/u.yaml"])
        .code(0)
        .stdout_has("submission_runs/u\n");
    assert!(!ws.path().join("submission_runs/u-2").exists());
}

#[test]
fn a_run_stopped_at_a_step_continues_to_the_same_weights() {
    let reference = Workspace::new();
    reference.file("manifests/s.yaml", tiny_train("s", 20).to_yaml());
    reference.run(&["run", "manifests/s.yaml"]).code(0);

    let ws = Workspace::new();
    ws.file("manifests/s.yaml", tiny_train("s", 20).to_yaml());
    ws.run(&["run", "manifests/s.yaml", "--until-step", "8"])
        .code(0)
        .stdout_has("stopped before max_steps");
    let dir = ws.path().join("submission_runs/s");
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "stopped"
    );
    assert!(dir.join("checkpoints/step-00000008/state.json").exists());
    let stopped = ws
        .run(&["db", "query", "--format", "json", "SELECT status FROM runs"])
        .code(0)
        .json();
    assert_eq!(stopped[0]["status"], "stopped");

    ws.run(&["run", "manifests/s.yaml"]).code(0);
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "completed"
    );
    assert_eq!(
        weights(&dir, 20),
        weights(&reference.path().join("submission_runs/s"), 20),
        "stopping at step 8 and continuing changed the weights"
    );
    assert_eq!(metric_steps(&dir), vec![5, 8, 10, 15, 20]);
}

#[test]
fn the_worker_entrypoint_runs_a_prepared_folder_without_the_index() {
    let ws = Workspace::new();
    ws.file("manifests/w.yaml", tiny_train("w", 20).to_yaml());
    ws.run(&["run", "manifests/w.yaml", "--until-step", "10"])
        .code(0);
    let db = ws.path().join("tunix.duckdb");
    let index_before = std::fs::read(&db).expect("index");
    ws.run(&["worker", "submission_runs/w", "--until-step", "15"])
        .code(0)
        .stdout_has("stopped before max_steps");
    ws.run(&["worker", "submission_runs/w"]).code(0);
    let dir = ws.path().join("submission_runs/w");
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "completed"
    );
    assert_eq!(
        std::fs::read(&db).expect("index"),
        index_before,
        "the worker opened the index"
    );
    assert!(!ws.path().join("tunix.duckdb.wal").exists());
    ws.run(&["worker", "submission_runs/w"])
        .code(2)
        .stderr_has("holds a completed run");
    ws.run(&["worker", "manifests"])
        .code(2)
        .stderr_has("not a prepared run folder");
}

#[test]
fn a_missing_trainer_worker_is_a_clear_error_and_nothing_is_written() {
    let ws = Workspace::new();
    ws.file("manifests/m.yaml", tiny_train("m", 5).to_yaml());
    let before = ws.snapshot();
    let out = ws
        .command(&["run", "manifests/m.yaml"])
        .env("TUNIX_RT_WORKER", ws.path().join("no-such-worker"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TUNIX_RT_WORKER is set to"), "{stderr}");
    assert!(stderr.contains("tunix-rt-worker"), "{stderr}");
    assert_eq!(before, ws.snapshot());
}

#[test]
fn a_nan_loss_fails_the_run_with_a_clear_error_and_a_failed_status() {
    let ws = Workspace::new();
    ws.file("manifests/n.yaml", tiny_train("n", 20).to_yaml());
    let run = ws
        .command(&["run", "manifests/n.yaml"])
        .env("TUNIX_RT_FAULT_NAN_STEP", "7")
        .output()
        .expect("run");
    assert_eq!(run.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("training loss became NaN by step 10"),
        "{stderr}"
    );
    assert!(stderr.contains("lower training.learning_rate"), "{stderr}");
    assert!(
        stderr.contains("last good checkpoint is step 0"),
        "{stderr}"
    );
    let m = read_json(&ws.path().join("submission_runs/n/run_manifest.json"));
    assert_eq!(m["status"], "failed");
    assert_eq!(m["failure"]["class"], "nan_loss");
}

#[test]
fn cuda_without_a_gpu_is_a_clear_error_and_nothing_is_written() {
    let ws = Workspace::new();
    let doctor = ws.run(&["doctor", "--format", "json"]).json();
    if doctor["cuda_available"] == true {
        eprintln!("skipped: this machine has a CUDA device");
        return;
    }
    ws.file(
        "manifests/c.yaml",
        tiny_train("c", 5).device("cuda").to_yaml(),
    );
    ws.run_read_only(&["run", "manifests/c.yaml"])
        .code(2)
        .stderr_has("manifests/c.yaml")
        .stderr_has("device: cuda was asked for, but libtorch sees no CUDA device")
        .stderr_has("use `device: auto`");
}

#[test]
fn data_check_overlap_reports_no_overlap_for_the_quickstart() {
    let ws = Workspace::new();
    ws.file("manifests/t.yaml", tiny_train_evaluated("t", 5).to_yaml());
    let report = ws
        .run_read_only(&[
            "data",
            "manifests/t.yaml",
            "--check-overlap",
            "--format",
            "json",
        ])
        .code(0)
        .json();
    assert_eq!(report["eval_files"][0], "evalsets/eval_v2.jsonl");
    assert_eq!(report["eval_prompts"], 120);
    assert_eq!(report["train_examples"], 300);
    assert_eq!(report["overlaps_remaining"], 0);
}

#[test]
fn data_check_overlap_catches_an_eval_set_that_copies_training_prompts() {
    let ws = Workspace::new();
    ws.file("manifests/t.yaml", tiny_train_evaluated("t", 5).to_yaml());
    let dump = ws.run(&["data", "manifests/t.yaml", "--out", "train.jsonl"]);
    dump.code(0);
    assert!(dump.stdout.contains("train.jsonl"), "{dump:?}");
    let first: Value = serde_json::from_str(
        std::fs::read_to_string(ws.path().join("train.jsonl"))
            .expect("dump")
            .lines()
            .next()
            .expect("a line"),
    )
    .expect("json");
    let copied = serde_json::json!({
        "id": "leak-1", "category": "core",
        "prompt": first["prompt"], "expected_answer": first["answer"],
    });
    ws.file("evalsets/leaky.jsonl", format!("{copied}\n"));
    let report = ws
        .run(&[
            "data",
            "manifests/t.yaml",
            "--check-overlap",
            "--format",
            "json",
        ])
        .code(0)
        .json();
    assert_eq!(report["overlaps_remaining"], 0);
    let rejected = report["rejected"].as_array().expect("rejected");
    assert!(
        rejected
            .iter()
            .any(|r| r["eval_item"] == "evalsets/leaky.jsonl:leak-1" && r["kind"] == "exact"),
        "{report}"
    );
}

#[test]
fn a_run_stopped_before_max_steps_says_its_score_comes_later() {
    let ws = Workspace::new();
    ws.file("manifests/e.yaml", tiny_train_evaluated("e", 10).to_yaml());
    let stopped = ws.run(&["run", "manifests/e.yaml", "--until-step", "5", "--no-index"]);
    stopped
        .code(0)
        .stdout_has("stopped before max_steps")
        .stdout_has(
            "primary      none yet (the eval files are written when training reaches max_steps",
        );
    assert!(
        !stopped.stdout.contains("no eval section"),
        "the manifest has one: {}",
        stopped.stdout
    );
    ws.file("manifests/n.yaml", tiny_train("n", 10).to_yaml());
    ws.run(&["run", "manifests/n.yaml", "--until-step", "5", "--no-index"])
        .code(0)
        .stdout_has("primary      none (the manifest has no eval section)");
}
