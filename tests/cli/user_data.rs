//! Your own training data (`dataset.path`): the manifest rules, every bad
//! line located as `file:line`, `overlap: drop` vs `refuse`, and that `run`
//! checks the data before it starts a trainer (a fake worker stands in for
//! libtorch: it records its request and exits).

use std::path::Path;

use serde_json::Value;

use tunix_testkit::manifest::{OverlapPolicy, TrainManifestBuilder};

use crate::support::{repo, tiny_train_evaluated, Run, Workspace};

/// The fixture `name` from `tests/fixtures/user_data/`.
fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/user_data").join(name)).expect("fixture")
}

/// The tiny Train manifest `u` on the user's own data at `path`.
fn own_data(path: &str) -> TrainManifestBuilder {
    tiny_train_evaluated("u", 5).own_data(path)
}

/// `data/train.jsonl` with a fifth of it held out for validation.
fn fraction() -> TrainManifestBuilder {
    own_data("../data/train.jsonl").val_fraction(0.2)
}

/// A workspace with `data/train.jsonl` = the fixture `train`,
/// `data/val.jsonl`, and the manifest `manifests/u.yaml` (YAML text).
fn workspace(train: &str, manifest: &str) -> Workspace {
    let ws = Workspace::new();
    ws.file("data/train.jsonl", fixture(train));
    ws.file("data/val.jsonl", fixture("val.jsonl"));
    ws.file("manifests/u.yaml", manifest);
    ws
}

#[test]
fn data_reports_your_own_files_with_their_hashes() {
    let ws = workspace("train.jsonl", &fraction().to_yaml());
    let report = ws
        .run_read_only(&[
            "data",
            "manifests/u.yaml",
            "--check-overlap",
            "--format",
            "json",
        ])
        .code(0)
        .json();
    assert_eq!(report["train_examples"], 16);
    assert_eq!(report["val_examples"], 4);
    assert_eq!(report["files"][0]["path"], "data/train.jsonl");
    let hash = blake3::hash(&fixture("train.jsonl")).to_hex().to_string();
    assert_eq!(report["files"][0]["blake3"], hash.as_str());
    assert_eq!(report["rejected"], serde_json::json!([]));
    assert_eq!(report["overlaps_remaining"], 0);
    assert_eq!(
        report["dataset"],
        "../data/train.jsonl (val_fraction 0.2, seed 0)"
    );
}

#[test]
fn data_reads_conversations_and_a_validation_file_and_dumps_both() {
    let ws = Workspace::new();
    ws.file("data/chat.jsonl", fixture("chat.jsonl"));
    ws.file("data/val.jsonl", fixture("val.jsonl"));
    ws.file(
        "manifests/u.yaml",
        own_data("../data/chat.jsonl")
            .val_path("../data/val.jsonl")
            .to_yaml(),
    );
    ws.run(&["data", "manifests/u.yaml", "--out", "dump.jsonl"])
        .code(0)
        .stdout_has("examples     10 train")
        .stdout_has("file         data/chat.jsonl (blake3 ")
        .stdout_has("file         data/val.jsonl (blake3 ");
    let dump = std::fs::read_to_string(ws.path().join("dump.jsonl")).expect("dump");
    let rows: Vec<Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(rows.len(), 13);
    let ada = rows
        .iter()
        .find(|r| r["prompt"].as_str().is_some_and(|p| p.contains("Ada buys")))
        .expect("Ada's conversation");
    assert_eq!(ada["prompt"], "Answer with the steps, then `Answer: N`.\nAda buys 40 cups and breaks 2. How many are left?");
    assert_eq!(ada["completion"], "40-2=38. Answer: 38");
    assert_eq!(ada["answer"], "38");
    assert_eq!(rows.iter().filter(|r| r["split"] == "val").count(), 3);
}

/// A fake trainer worker: copies its request to `$REQUEST_COPY` and fails.
fn fake_worker(ws: &Workspace) -> std::path::PathBuf {
    let path = ws.path().join("fake-worker.sh");
    ws.file(
        "fake-worker.sh",
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --request ]; then cp \"$2\" \"$REQUEST_COPY\"; fi\n  shift\ndone\necho 'fake worker: no training here' >&2\nexit 1\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// `tunix-rt run manifests/u.yaml` with the fake worker; its request, if it
/// was started.
fn run_with_fake_worker(ws: &Workspace) -> (Run, Option<Value>) {
    let worker = fake_worker(ws);
    let copy = ws.path().join("request-copy.json");
    let _ = std::fs::remove_file(&copy);
    let out = ws
        .command(&["run", "manifests/u.yaml", "--no-index"])
        .env("TUNIX_RT_WORKER", &worker)
        .env("REQUEST_COPY", &copy)
        .output()
        .expect("run");
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let request = std::fs::read(&copy)
        .ok()
        .map(|b| serde_json::from_slice(&b).expect("request json"));
    (run, request)
}

fn no_run_folder(ws: &Workspace) {
    let runs = ws.path().join("submission_runs");
    let entries: Vec<_> = std::fs::read_dir(&runs)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(entries.is_empty(), "run folders were written: {entries:?}");
}

/// Every bad-line class: `data` and `run` exit 2 naming `file:line` and the
/// field, and `run` starts no trainer and writes no run folder.
fn refused(fixture_name: &str, expected: &[&str]) {
    let ws = workspace(fixture_name, &fraction().to_yaml());
    ws.run_read_only(&["validate", "manifests/u.yaml"]).code(0);
    let data = ws.run_read_only(&["data", "manifests/u.yaml"]);
    data.code(2).stderr_has("nothing was written");
    let (run, request) = run_with_fake_worker(&ws);
    run.code(2);
    assert!(request.is_none(), "the trainer was started: {run:?}");
    no_run_folder(&ws);
    for text in expected {
        data.stderr_has(text);
        run.stderr_has(text);
    }
}

#[test]
fn bad_json_is_refused_at_its_line() {
    refused(
        "bad_json.jsonl",
        &["data/train.jsonl:3:43: error: invalid JSON: trailing comma"],
    );
}

#[test]
fn a_missing_field_is_refused_at_its_line() {
    refused(
        "missing_field.jsonl",
        &[
            "data/train.jsonl:3:1: error: missing field `completion`",
            "help: each line is",
        ],
    );
}

#[test]
fn an_empty_completion_is_refused_at_its_line() {
    refused(
        "empty_completion.jsonl",
        &["data/train.jsonl:3:1: error: `completion` is empty (\"\") (at /completion)"],
    );
}

#[test]
fn a_wrong_role_order_is_refused_at_its_line() {
    refused(
        "role_order.jsonl",
        &[
            "data/train.jsonl:3:1: error: message 1 is `user` where `assistant` was expected (at /messages/1/role)",
            "turns alternate `user`, `assistant`",
        ],
    );
}

#[test]
fn a_non_utf8_line_is_refused_at_its_line() {
    refused(
        "non_utf8.jsonl",
        &[
            "data/train.jsonl:3:24: error: line is not valid UTF-8 (byte 0xE8)",
            "save the file as UTF-8",
        ],
    );
}

#[test]
fn drop_trains_without_an_eval_question_and_reports_it() {
    let ws = workspace("overlap.jsonl", &fraction().to_yaml());
    let report = ws
        .run_read_only(&[
            "data",
            "manifests/u.yaml",
            "--check-overlap",
            "--format",
            "json",
        ])
        .code(0)
        .json();
    let rejected = report["rejected"].as_array().expect("rejected");
    assert_eq!(rejected.len(), 1, "{report}");
    assert_eq!(rejected[0]["source"], "data/train.jsonl:3");
    assert_eq!(rejected[0]["eval_item"], "evalsets/eval_v2.jsonl:core-001");
    assert_eq!(rejected[0]["kind"], "exact");
    assert_eq!(
        report["train_examples"].as_u64().unwrap() + report["val_examples"].as_u64().unwrap(),
        5
    );
    assert_eq!(report["overlaps_remaining"], 0);
    ws.run_read_only(&["data", "manifests/u.yaml"])
        .code(0)
        .stdout_has("rejected     1 example(s) overlapped an eval prompt and were dropped")
        .stdout_has(
            "  data/train.jsonl:3 exact ~ evalsets/eval_v2.jsonl:core-001: Mia has 4 boxes",
        );
}

#[test]
fn refuse_stops_before_anything_is_written() {
    let ws = workspace(
        "overlap.jsonl",
        &fraction().overlap(OverlapPolicy::Refuse).to_yaml(),
    );
    let expected = [
        "dataset.overlap is `refuse` and 1 example(s) overlap an eval set: data/train.jsonl:3 ~ evalsets/eval_v2.jsonl:core-001 (exact)",
        "set `dataset.overlap: drop`",
    ];
    let data = ws.run_read_only(&["data", "manifests/u.yaml"]);
    data.code(2);
    let (run, request) = run_with_fake_worker(&ws);
    run.code(2);
    assert!(request.is_none(), "the trainer was started: {run:?}");
    no_run_folder(&ws);
    for text in expected {
        data.stderr_has(text);
        run.stderr_has(text);
    }
}

#[test]
fn the_trainer_finds_the_data_beside_the_manifest_and_its_identity_is_by_content() {
    let ws = workspace("train.jsonl", &fraction().to_yaml());
    let (run, request) = run_with_fake_worker(&ws);
    let request = request.unwrap_or_else(|| panic!("the trainer was not started: {run:?}"));
    no_run_folder(&ws);
    // The worker resolves the data against the manifest's folder.
    let manifest_file = Path::new(request["manifest"].as_str().expect("manifest"));
    assert!(manifest_file.is_absolute(), "{}", manifest_file.display());
    let path = request["spec"]["dataset"]["path"].as_str().expect("path");
    assert_eq!(path, "../data/train.jsonl");
    let resolved = manifest_file.parent().expect("folder").join(path);
    assert_eq!(
        std::fs::read(resolved).expect("readable"),
        fixture("train.jsonl")
    );
    let identity = request["identity"].clone();

    // Renamed: the same identity.
    std::fs::rename(
        ws.path().join("data/train.jsonl"),
        ws.path().join("data/renamed.jsonl"),
    )
    .expect("rename");
    ws.file(
        "manifests/u.yaml",
        own_data("../data/renamed.jsonl")
            .val_fraction(0.2)
            .to_yaml(),
    );
    let (_, renamed) = run_with_fake_worker(&ws);
    assert_eq!(renamed.expect("started")["identity"], identity);

    // Edited: another identity.
    let mut edited = fixture("train.jsonl");
    edited.extend_from_slice(b"{\"prompt\": \"One more?\", \"completion\": \"Answer: 1\"}\n");
    ws.file("data/renamed.jsonl", edited);
    let (_, changed) = run_with_fake_worker(&ws);
    assert_ne!(changed.expect("started")["identity"], identity);
}

/// The tiny Train manifest `u` as literal text with `dataset` (indented
/// by four spaces) as its dataset block, which starts at line 13: the
/// located messages of [`invalid`] name lines of this text.
fn located(dataset: &str) -> String {
    format!(
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: u
spec:
  model:
    preset: gpt-nano
    n_layer: 1
    n_head: 2
    n_embd: 32
    context_length: 192
  dataset:
{dataset}  training:
    learning_rate: 3.0e-3
    per_device_batch_size: 4
    warmup_steps: 5
    max_steps: 5
    checkpoint_interval: 10
    log_interval: 5
  device: cpu
  eval:
    evalset: ../evalsets/eval_v2.jsonl
    decoding:
      max_new_tokens: 16
      batch_size: 64
"
    )
}

/// Validate [`located`]`(dataset)`; expect exit 2 and each `expected`
/// text on stderr.
fn invalid(dataset: &str, expected: &[&str]) {
    let ws = workspace("train.jsonl", &located(dataset));
    let run = ws.run_read_only(&["validate", "manifests/u.yaml"]);
    run.code(2);
    for text in expected {
        run.stderr_has(text);
    }
}

#[test]
fn the_manifest_rules_are_located() {
    invalid(
        "    name: dev-reasoning-v2\n    path: ../data/train.jsonl\n    val_fraction: 0.2\n",
        &[
            "manifests/u.yaml:14:5: error: `name` and `path` are both set",
            "(at /spec/dataset/path)",
        ],
    );
    invalid(
        "    path: ../data/train.jsonl\n",
        &[
            "manifests/u.yaml:13:5: error: `path` needs `val_path`",
            "add `val_fraction: 0.05`",
        ],
    );
    invalid(
        "    path: ../data/train.jsonl\n    val_path: ../data/val.jsonl\n    val_fraction: 0.2\n",
        &["manifests/u.yaml:15:5: error: `val_path` and `val_fraction` are both set"],
    );
    invalid(
        "    name: dev-reasoning-v2\n    val_fraction: 0.2\n",
        &["manifests/u.yaml:14:5: error: `val_fraction` applies to your own data"],
    );
    invalid(
        "    seed: 3\n",
        &["error: `dataset` needs `name`", "(at /spec/dataset)"],
    );
    invalid(
        "    path: ../data/nope.jsonl\n    val_path: ../data\n",
        &[
            "manifests/u.yaml:13:11: error: `../data/nope.jsonl` does not exist",
            "(at /spec/dataset/path)",
            "error: `../data` is a folder",
            "(at /spec/dataset/val_path)",
        ],
    );
    invalid(
        "    path: ../data/train.jsonl\n    val_fraction: 1.0\n",
        &["(at /spec/dataset/val_fraction)"],
    );
}
