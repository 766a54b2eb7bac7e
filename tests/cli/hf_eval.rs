//! Eval manifests with `model: { hf: PATH }`: a Hugging Face folder written
//! by transformers (tunix-torch's committed fixtures) is decoded zero-shot
//! by the built-in worker, and the recorded outputs are transformers'
//! `generate` continuations (generate.json's `batch_text`); a folder that
//! lacks a file is refused before anything runs.

use std::path::{Path, PathBuf};

use crate::support::{repo, Workspace};

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("crates/tunix-torch/tests/fixtures/hf")
        .join(name)
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json")
}

/// Copy the fixture folder `name` to `models/<name>` in `ws`.
fn copy_model(ws: &Workspace, name: &str) -> PathBuf {
    let to = ws.path().join("models").join(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(fixture(name)).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    to
}

/// An eval set of generate.json's prompts and a manifest decoding them with
/// `models/<name>` as transformers did (no template, no stop strings, the
/// same `max_new_tokens`); returns generate.json.
fn setup(ws: &Workspace, name: &str) -> serde_json::Value {
    let reference = json(fixture(name).join("generate.json"));
    let lines: Vec<String> = reference["prompts"]
        .as_array()
        .expect("prompts")
        .iter()
        .enumerate()
        .map(|(i, p)| {
            serde_json::json!({ "id": format!("p{i}"), "category": "core", "prompt": p, "expected_answer": "1", "tags": [] })
                .to_string()
        })
        .collect();
    ws.file("evalsets/prompts.jsonl", lines.join("\n") + "\n");
    ws.file(
        "manifests/eval.yaml",
        format!(
            "apiVersion: tunix-rt/v1
kind: Eval
metadata:
  name: base-{name}
spec:
  evalset: ../evalsets/prompts.jsonl
  model:
    hf: ../models/{name}
  decoding:
    prompt_template: \"{{prompt}}\"
    max_new_tokens: {}
    stop: []
    batch_size: 8
",
            reference["max_new_tokens"]
        ),
    );
    reference
}

fn outputs(run: &Path) -> Vec<String> {
    std::fs::read_to_string(run.join("eval_items.jsonl"))
        .expect("items")
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("json");
            v["output"].as_str().expect("output").to_string()
        })
        .collect()
}

#[test]
fn hf_folders_decode_as_transformers_generate() {
    for name in ["qwen2-tied", "llama-gqa"] {
        let ws = Workspace::new();
        copy_model(&ws, name);
        let reference = setup(&ws, name);
        ws.run(&["run", "manifests/eval.yaml"]).code(0);
        let run = ws.path().join(format!("submission_runs/base-{name}"));
        let want: Vec<String> = reference["batch_text"]
            .as_array()
            .expect("batch_text")
            .iter()
            .map(|t| t.as_str().expect("text").to_string())
            .collect();
        assert_eq!(outputs(&run), want, "{name}: transformers' continuations");
        let m = json(run.join("run_manifest.json"));
        assert_eq!(m["kind"], "Eval");
        assert_eq!(m["status"], "completed");
        assert_eq!(m["model_id"], format!("hf:{name}"));
        assert_eq!(
            m["config"]["prompt_format"]["format"], "prompt_template",
            "the manifest's own prompt_template wins over qwen2-tied's chat template"
        );
        let hf = &m["config"]["hf_model"];
        assert_eq!(hf["path"], format!("models/{name}"));
        let files: Vec<&str> = hf["files"]
            .as_array()
            .expect("files")
            .iter()
            .map(|f| f["file"].as_str().expect("file"))
            .collect();
        assert!(files.contains(&"tokenizer.json"), "{files:?}");
        assert!(
            files.iter().any(|f| f.ends_with(".safetensors")),
            "the weights are part of the identity: {files:?}"
        );
        ws.run(&["report", "leaderboard", "--format", "md"])
            .code(0)
            .stdout_has(&format!("base-{name}"));
    }
}

/// With the default `prompt_template` the folder's chat template frames the
/// prompts (recorded in the run's config); a template that calls
/// `raise_exception` stops the run with its message and file.
#[test]
fn a_chat_template_frames_the_prompts_and_its_errors_are_located() {
    let ws = Workspace::new();
    let dir = copy_model(&ws, "qwen2-tied");
    setup(&ws, "qwen2-tied");
    let manifest = ws.path().join("manifests/eval.yaml");
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    std::fs::write(
        &manifest,
        text.replace("    prompt_template: \"{prompt}\"\n", ""),
    )
    .expect("write");
    ws.run(&["run", "manifests/eval.yaml"]).code(0);
    let m = json(
        ws.path()
            .join("submission_runs/base-qwen2-tied/run_manifest.json"),
    );
    let format = &m["config"]["prompt_format"];
    assert_eq!(format["format"], "chat_template", "{format}");
    assert_eq!(format["file"], "tokenizer_config.json", "{format}");

    std::fs::write(
        dir.join("chat_template.jinja"),
        "{{ raise_exception('System role not supported') }}",
    )
    .expect("template");
    ws.file(
        "manifests/eval.yaml",
        text.replace("    prompt_template: \"{prompt}\"\n", "")
            .replace("name: base-qwen2-tied", "name: raises"),
    );
    ws.run(&["run", "manifests/eval.yaml"])
        .code(2)
        .stderr_has("System role not supported")
        .stderr_has("qwen2-tied/chat_template.jinja");
}

#[test]
fn a_folder_missing_a_file_is_refused_with_the_fix() {
    for (missing, says) in [
        ("tokenizer.json", "add tokenizer.json"),
        ("config.json", "add config.json"),
        ("model.safetensors", "add model.safetensors"),
    ] {
        let ws = Workspace::new();
        let dir = copy_model(&ws, "qwen2-tied");
        setup(&ws, "qwen2-tied");
        std::fs::remove_file(dir.join(missing)).expect("remove");
        ws.run(&["run", "manifests/eval.yaml"])
            .code(2)
            .stderr_has("eval.yaml:")
            .stderr_has("/spec/model/hf")
            .stderr_has(says);
        assert!(
            !ws.path().join("submission_runs").exists()
                || std::fs::read_dir(ws.path().join("submission_runs"))
                    .expect("runs")
                    .next()
                    .is_none(),
            "nothing is written when {missing} is missing"
        );
    }
}

#[test]
fn eval_hf_on_the_command_line_is_a_zero_shot_row() {
    let ws = Workspace::new();
    copy_model(&ws, "qwen2-tied");
    setup(&ws, "qwen2-tied");
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/prompts.jsonl",
        "--hf",
        "models/qwen2-tied",
    ])
    .code(0)
    .stdout_has("run          submission_runs/eval-qwen2-tied");
    let m = json(
        ws.path()
            .join("submission_runs/eval-qwen2-tied/run_manifest.json"),
    );
    assert_eq!(m["status"], "completed");
    assert_eq!(m["model_id"], "hf:qwen2-tied");
    assert_eq!(m["config"]["prompt_format"]["format"], "chat_template");
    let before = ws.snapshot();
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/prompts.jsonl",
        "--hf",
        "models/qwen2-tied",
        "--checkpoint",
        "x",
    ])
    .code(2)
    .stderr_has("cannot be used with");
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/prompts.jsonl",
        "--hf",
        "models/none",
    ])
    .code(2)
    .stderr_has("--hf: not a folder");
    assert_eq!(ws.snapshot(), before, "nothing written");
}

#[test]
fn an_eval_says_where_it_decodes_and_a_predictions_eval_may_not() {
    let ws = Workspace::new();
    copy_model(&ws, "llama-gqa");
    setup(&ws, "llama-gqa");
    let manifest = std::fs::read_to_string(ws.path().join("manifests/eval.yaml")).expect("read");
    ws.file(
        "manifests/eval.yaml",
        manifest.replace("  decoding:\n", "  device: cpu\n  decoding:\n"),
    );
    ws.run(&["run", "manifests/eval.yaml"]).code(0);
    let m = json(
        ws.path()
            .join("submission_runs/base-llama-gqa/run_manifest.json"),
    );
    assert_eq!(m["device"], "cpu");
    ws.file("preds.jsonl", "{\"id\": \"p0\", \"output\": \"1\"}\n");
    ws.file(
        "manifests/preds.yaml",
        "apiVersion: tunix-rt/v1
kind: Eval
metadata:
  name: preds
spec:
  evalset: ../evalsets/prompts.jsonl
  model:
    predictions: ../preds.jsonl
  device: cuda
",
    );
    let before = ws.snapshot();
    ws.run(&["run", "manifests/preds.yaml"]).code(2).stderr_has(
        "manifests/preds.yaml:9:3: error: `device` says where a checkpoint or hf model decodes",
    );
    assert_eq!(ws.snapshot(), before, "nothing written");
}

#[test]
fn a_prompt_longer_than_gpt2s_positions_keeps_its_end_and_is_logged() {
    let ws = Workspace::new();
    copy_model(&ws, "gpt2");
    let long = "Tom has four apples and buys seven more. ".repeat(12);
    let items = [("short", "What is 2 + 3?".to_string()), ("long", long)];
    let lines: Vec<String> = items
        .iter()
        .map(|(id, prompt)| {
            serde_json::json!({ "id": id, "category": "core", "prompt": prompt, "expected_answer": "5", "tags": [] })
                .to_string()
        })
        .collect();
    ws.file("evalsets/lengths.jsonl", lines.join("\n") + "\n");
    ws.file(
        "manifests/eval.yaml",
        "apiVersion: tunix-rt/v1
kind: Eval
metadata:
  name: gpt2-lengths
spec:
  evalset: ../evalsets/lengths.jsonl
  model:
    hf: ../models/gpt2
  decoding:
    prompt_template: \"{prompt}\"
    max_new_tokens: 8
    stop: []
",
    );
    ws.run(&["run", "manifests/eval.yaml"]).code(0);
    let run = ws.path().join("submission_runs/gpt2-lengths");
    let log = std::fs::read_to_string(run.join("run.log")).expect("log");
    assert!(
        log.contains("1 prompt(s) longer than the model's positions lost their start: long"),
        "{log}"
    );
    assert_eq!(outputs(&run).len(), 2, "both items decoded");
}
