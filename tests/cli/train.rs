//! `tunix-rt run` on Train manifests: the run folder, determinism,
//! resume after SIGKILL, failures, and `tunix-rt data`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::Workspace;

/// A Train manifest for a model small enough for CI.
fn manifest(name: &str, max_steps: u32, extra_training: &str, eval: bool) -> String {
    let eval = if eval {
        "  eval:\n    evalset: ../evalsets/eval_v2.jsonl\n    decoding:\n      max_new_tokens: 16\n      batch_size: 64\n"
    } else {
        ""
    };
    format!(
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: {name}
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
    max_steps: {max_steps}
    checkpoint_interval: 10
    log_interval: 5
{extra_training}  device: cpu
{eval}"
    )
}

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
        manifest("t", 20, "    eval_interval: 10\n", true),
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
}

#[test]
fn identical_manifests_give_bit_identical_weights_and_never_overwrite() {
    let ws = Workspace::new();
    ws.file("manifests/d.yaml", manifest("d", 15, "", false));
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
    let max_steps = 150;
    let slow = |name: &str| {
        manifest(name, max_steps, "", false)
            .replace("per_device_batch_size: 4", "per_device_batch_size: 8")
            .replace("checkpoint_interval: 10", "checkpoint_interval: 20")
    };
    let reference = Workspace::new();
    reference.file("manifests/r.yaml", slow("r"));
    reference.run(&["run", "manifests/r.yaml"]).code(0);

    let ws = Workspace::new();
    ws.file("manifests/r.yaml", slow("r"));
    let dir = ws.path().join("submission_runs/r");
    let mut child = ws
        .command(&["run", "manifests/r.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let first = dir.join("checkpoints/step-00000020/state.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !first.exists() {
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "training ended early"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let killed = read_json(&dir.join("run_manifest.json"));
    assert_eq!(killed["status"], "running", "the kill landed mid-run");
    assert!(!dir
        .join(format!("checkpoints/step-{max_steps:08}"))
        .exists());

    ws.run(&["run", "manifests/r.yaml"])
        .code(0)
        .stdout_has("submission_runs/r\n");
    assert!(!ws.path().join("submission_runs/r-2").exists());
    let log = std::fs::read_to_string(dir.join("run.log")).expect("log");
    assert!(log.contains("resumed from checkpoint step"), "{log}");
    assert_eq!(
        read_json(&dir.join("run_manifest.json"))["status"],
        "completed"
    );
    assert_eq!(
        weights(&dir, max_steps),
        weights(&reference.path().join("submission_runs/r"), max_steps),
        "resumed weights differ from an uninterrupted run"
    );
    let steps: Vec<u64> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["step"]
                .as_u64()
                .expect("step")
        })
        .collect();
    let mut sorted = steps.clone();
    sorted.dedup();
    assert_eq!(steps, sorted, "no step logged twice after resume");
}

#[test]
fn a_nan_loss_fails_the_run_with_a_clear_error_and_a_failed_status() {
    let ws = Workspace::new();
    ws.file("manifests/n.yaml", manifest("n", 20, "", false));
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
    if tunix_rt::model::device::cuda_device_count() > 0 {
        return;
    }
    let ws = Workspace::new();
    ws.file(
        "manifests/c.yaml",
        manifest("c", 5, "", false).replace("device: cpu", "device: cuda"),
    );
    ws.run_read_only(&["run", "manifests/c.yaml"])
        .code(2)
        .stderr_has("manifests/c.yaml")
        .stderr_has("device: cuda was asked for, but libtorch sees no CUDA device")
        .stderr_has("use `device: auto`");
}

#[test]
fn too_little_data_for_one_context_window_is_refused_before_writing() {
    let ws = Workspace::new();
    ws.file(
        "manifests/s.yaml",
        manifest("s", 5, "", false).replace("train_examples: 300", "train_examples: 1"),
    );
    ws.run_read_only(&["run", "manifests/s.yaml"])
        .code(2)
        .stderr_has("raise dataset.train_examples");
}

#[test]
fn data_check_overlap_reports_no_overlap_for_the_quickstart() {
    let ws = Workspace::new();
    ws.file("manifests/t.yaml", manifest("t", 5, "", true));
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
    ws.file("manifests/t.yaml", manifest("t", 5, "", true));
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
fn checkpoints_load_into_the_pytorch_reference_model_with_the_same_loss() {
    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!("skipped: set TUNIX_TEST_PYTHON to a python with torch and safetensors (make unit does)");
        return;
    };
    let ws = Workspace::new();
    ws.file("manifests/p.yaml", manifest("p", 10, "", false));
    ws.run(&["run", "manifests/p.yaml"]).code(0);
    let weights = ws
        .path()
        .join("submission_runs/p/checkpoints/step-00000010/model.safetensors");

    let ids: Vec<i64> = "Q: 2+3?\nA: 2+3=5. Answer: 5\n"
        .bytes()
        .map(i64::from)
        .collect();
    let dims = tunix_rt::model::dims::ModelDims {
        n_layer: 1,
        n_head: 2,
        n_embd: 32,
        context_length: 192,
        vocab_size: 256,
    };
    let model = tunix_rt::model::gpt::Gpt::new(
        dims,
        0.0,
        tunix_rt::model::device::Precision::F32,
        tch::Device::Cpu,
        0,
    )
    .expect("model");
    model
        .load(&tch::Tensor::read_safetensors(&weights).expect("read"))
        .expect("load");
    let x = tch::Tensor::from_slice(&ids[..ids.len() - 1]).unsqueeze(0);
    let y = tch::Tensor::from_slice(&ids[1..]).unsqueeze(0);
    let ours = model.loss(&x, &y, false).expect("loss").double_value(&[]);

    let script = format!(
        "import sys, torch; sys.path.insert(0, {bench:?})
from safetensors.torch import load_file
from train_ref import Gpt
m = Gpt(1, 2, 32, 192)
m.load_state_dict(load_file(sys.argv[1]), strict=True)
ids = torch.tensor([[{ids}]])
with torch.no_grad():
    print(m(ids[:, :-1], ids[:, 1:]).item())",
        bench = crate::support::repo().join("bench").display().to_string(),
        ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&weights)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a loss");
    assert!(
        (ours - theirs).abs() < 1e-4,
        "tunix-rt loss {ours} vs PyTorch loss {theirs}"
    );
}
