//! Evaluating a checkpoint of a Train run: `eval --checkpoint RUN[@STEP]`
//! and Eval manifests with `model: { checkpoint }` decode the eval set with
//! the checkpoint's weights through the built-in worker and write a new
//! Eval run folder naming the source; a changed checkpoint is refused.

use crate::support::{tiny_train_evaluated, Workspace};

fn json(path: std::path::PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json")
}

fn outputs(path: std::path::PathBuf) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("items")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["output"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

/// A workspace with the tiny model trained for 20 steps (checkpoints at
/// 10 and 20, evaluated at the end).
fn trained() -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "manifests/tiny.yaml",
        tiny_train_evaluated("tiny", 20).to_yaml(),
    );
    ws.run(&["run", "manifests/tiny.yaml"]).code(0);
    ws
}

#[test]
fn a_checkpoint_is_decoded_scored_and_recorded_with_its_source() {
    let ws = trained();
    ws.run(&[
        "eval",
        "--checkpoint",
        "tiny@20",
        "--evalset",
        "evalsets/eval_v2.jsonl",
    ])
    .code(0)
    .stdout_has("run          submission_runs/eval-tiny-step-20");
    let run = ws.path().join("submission_runs/eval-tiny-step-20");
    let m = json(run.join("run_manifest.json"));
    assert_eq!(m["kind"], "Eval");
    assert_eq!(m["status"], "completed");
    assert_eq!(m["checkpoint"]["run_id"], "tiny");
    assert_eq!(m["checkpoint"]["step"], 20);
    let source = json(ws.path().join("submission_runs/tiny/run_manifest.json"));
    let recorded = source["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["path"] == "checkpoints/step-00000020/model.safetensors")
        .expect("the source records its weights");
    assert_eq!(m["checkpoint"]["blake3"], recorded["blake3"]);
    assert_eq!(
        outputs(run.join("eval_items.jsonl")),
        outputs(ws.path().join("submission_runs/tiny/eval_items.jsonl")),
        "the same weights and decoding give the training run's own outputs"
    );
    ws.run(&[
        "eval",
        "--checkpoint",
        "tiny@10",
        "--evalset",
        "evalsets/eval_v2.jsonl",
    ])
    .code(0);
    assert_eq!(
        json(
            ws.path()
                .join("submission_runs/eval-tiny-step-10/run_manifest.json")
        )["checkpoint"]["step"],
        10
    );
}

#[test]
fn bad_checkpoints_are_refused_before_anything_is_written() {
    let ws = trained();
    ws.run_read_only(&[
        "eval",
        "--checkpoint",
        "tiny@15",
        "--evalset",
        "evalsets/eval_v2.jsonl",
    ])
    .code(2)
    .stderr_has("run tiny has no checkpoint at step 15; its checkpoints: 10, 20");
    ws.run_read_only(&[
        "eval",
        "--checkpoint",
        "tiny@x",
        "--evalset",
        "evalsets/eval_v2.jsonl",
    ])
    .code(2)
    .stderr_has("is not a step");
    ws.run_read_only(&[
        "eval",
        "--checkpoint",
        "nosuch",
        "--evalset",
        "evalsets/eval_v2.jsonl",
    ])
    .code(2)
    .stderr_has("no run matches `nosuch`");
    let weights = ws
        .path()
        .join("submission_runs/tiny/checkpoints/step-00000020/model.safetensors");
    let mut bytes = std::fs::read(&weights).expect("weights");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&weights, bytes).expect("tamper");
    ws.run_read_only(&[
        "eval",
        "--checkpoint",
        "tiny",
        "--evalset",
        "evalsets/eval_v2.jsonl",
    ])
    .code(2)
    .stderr_has("no longer matches the blake3 its run recorded");
}

#[test]
fn an_eval_manifest_evaluates_a_checkpoint_deterministically() {
    let ws = trained();
    ws.file(
        "manifests/ckpt.yaml",
        "apiVersion: tunix-rt/v1
kind: Eval
metadata:
  name: ckpt
spec:
  evalset: ../evalsets/eval_v2.jsonl
  model:
    checkpoint: { run: tiny, step: 10 }
  decoding:
    max_new_tokens: 16
    batch_size: 64
",
    );
    ws.run(&["run", "manifests/ckpt.yaml"]).code(0);
    let m = json(ws.path().join("submission_runs/ckpt/run_manifest.json"));
    assert_eq!(m["checkpoint"]["step"], 10);
    ws.run_read_only(&["determinism", "manifests/ckpt.yaml"])
        .code(0)
        .stdout_has("deterministic");
}

#[test]
fn determinism_of_a_run_decodes_its_newest_checkpoint_twice() {
    let ws = trained();
    ws.run_read_only(&["determinism", "tiny"])
        .code(0)
        .stdout_has("deterministic");
    ws.run_read_only(&["determinism", "submission_runs/tiny", "--format", "json"])
        .code(0);
    ws.run_read_only(&["determinism", "nosuch"])
        .code(2)
        .stderr_has("no run matches `nosuch`");
}
