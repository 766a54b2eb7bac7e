//! Train manifests with `model: { hf: PATH }`: a Hugging Face folder written
//! by transformers (tunix-torch's committed fixtures) is fine-tuned with
//! LoRA on the user's JSONL, stopped and resumed to the same weights,
//! evaluated through a checkpoint Eval, and exported as a merged Hugging
//! Face folder that transformers loads with the logits of the base model
//! plus the run's PEFT adapter; full fine-tuning runs as well; misuse is
//! refused with nothing written.

use std::path::{Path, PathBuf};

use crate::support::{repo, Workspace};

fn fixture(name: &str) -> PathBuf {
    repo()
        .join("crates/tunix-torch/tests/fixtures/hf")
        .join(name)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// Copy the fixture folder `name` to `models/<name>` in `ws`.
fn copy_model(ws: &Workspace, name: &str) {
    let to = ws.path().join("models").join(name);
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(fixture(name)).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// Training data (prompt/completion and chat messages) and an eval set.
fn data(ws: &Workspace) {
    let mut lines = Vec::new();
    for i in 0..24 {
        let (a, b) = (i % 7 + 1, i % 5 + 2);
        let line = if i % 3 == 0 {
            serde_json::json!({ "messages": [
                { "role": "user", "content": format!("What is {a} plus {b}?") },
                { "role": "assistant", "content": format!("{a} + {b} = {}. Answer: {}", a + b, a + b) },
            ] })
        } else {
            serde_json::json!({
                "prompt": format!("What is {a} plus {b}?"),
                "completion": format!("{a} + {b} = {}. Answer: {}", a + b, a + b),
            })
        };
        lines.push(line.to_string());
    }
    ws.file("data/train.jsonl", lines.join("\n") + "\n");
    let items: Vec<String> = (0..4)
        .map(|i| {
            serde_json::json!({ "id": format!("e{i}"), "category": "core", "prompt": format!("What is {} times 3?", i + 10), "expected_answer": format!("{}", (i + 10) * 3), "tags": [] })
                .to_string()
        })
        .collect();
    ws.file("evalsets/small.jsonl", items.join("\n") + "\n");
}

/// A LoRA (or, with `lora` empty, full) fine-tune of `models/<model>`.
fn train_manifest(name: &str, model: &str, lora: &str, max_steps: u32) -> String {
    format!(
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: {name}
spec:
  model:
    hf: ../models/{model}
{lora}  dataset:
    path: ../data/train.jsonl
    val_fraction: 0.25
  training:
    learning_rate: 0.01
    per_device_batch_size: 3
    gradient_accumulation_steps: 2
    max_steps: {max_steps}
    checkpoint_interval: 2
    log_interval: 1
    seed: 3
  device: cpu
  eval:
    evalset: ../evalsets/small.jsonl
    decoding:
      max_new_tokens: 6
      stop: []
"
    )
}

const LORA: &str = "    lora: { rank: 4, alpha: 8, target_modules: [q_proj, v_proj, down_proj] }\n";

/// The blake3 the run recorded for its final checkpoint's weights.
fn final_weights(run: &Path, step: &str) -> String {
    let m = json(&run.join("run_manifest.json"));
    let path = format!("checkpoints/{step}/model.safetensors");
    m["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["path"] == path.as_str())
        .map(|a| a["blake3"].as_str().expect("blake3").to_string())
        .expect("the run records its weights")
}

#[test]
fn a_lora_fine_tune_resumes_to_the_same_weights_and_is_evaluated_and_exported() {
    let ws = Workspace::new();
    copy_model(&ws, "qwen2-tied");
    data(&ws);
    ws.file(
        "manifests/lora.yaml",
        train_manifest("lora", "qwen2-tied", LORA, 4),
    );
    ws.run(&["run", "manifests/lora.yaml", "--until-step", "2"])
        .code(0);
    let run = ws.path().join("submission_runs/lora");
    assert_eq!(json(&run.join("run_manifest.json"))["status"], "stopped");
    ws.run(&["run", "manifests/lora.yaml"]).code(0);
    let m = json(&run.join("run_manifest.json"));
    assert_eq!(m["status"], "completed", "{m}");
    let model_id = m["model_id"].as_str().expect("model_id");
    assert!(model_id.starts_with("hf:qwen2-tied"), "{model_id}");
    assert!(model_id.contains("lora"), "{model_id}");
    let files = m["config"]["hf_model"]["files"].as_array().expect("files");
    assert_eq!(files.len(), 3, "config, tokenizer, weights: {files:?}");
    assert_eq!(m["config"]["prompt_format"]["format"], "chat_template");
    let step = run.join("checkpoints/step-00000004");
    for f in ["adapter_config.json", "adapter_model.safetensors"] {
        assert!(step.join(f).is_file(), "{f} in {}", step.display());
    }
    let adapter = json(&step.join("adapter_config.json"));
    assert_eq!(adapter["peft_type"], "LORA");
    assert_eq!(adapter["r"], 4);
    assert!(run.join("eval_summary.json").is_file());

    // The same run without the stop: the same final weights.
    let straight = Workspace::new();
    copy_model(&straight, "qwen2-tied");
    data(&straight);
    straight.file(
        "manifests/lora.yaml",
        train_manifest("lora", "qwen2-tied", LORA, 4),
    );
    straight.run(&["run", "manifests/lora.yaml"]).code(0);
    assert_eq!(
        final_weights(&run, "step-00000004"),
        final_weights(
            &straight.path().join("submission_runs/lora"),
            "step-00000004"
        ),
        "stopping at step 2 and resuming gives the uninterrupted weights"
    );

    // A checkpoint Eval decodes with the adapters over the base folder.
    ws.file(
        "manifests/eval.yaml",
        "apiVersion: tunix-rt/v1
kind: Eval
metadata:
  name: lora-eval
spec:
  evalset: ../evalsets/small.jsonl
  model:
    checkpoint: { run: ../submission_runs/lora }
",
    );
    ws.run(&["run", "manifests/eval.yaml"]).code(0);
    let e = json(
        &ws.path()
            .join("submission_runs/lora-eval/run_manifest.json"),
    );
    assert_eq!(e["status"], "completed", "{e}");
    assert_eq!(e["checkpoint"]["step"], 4);
    assert_eq!(e["model_id"], format!("{model_id}@step-4"));

    // Export: a merged folder, written once.
    let out = ws.run(&["export", "lora", "--hf", "exported", "--format", "json"]);
    out.code(0);
    let exported = ws.path().join("exported");
    for f in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "tunix_export.json",
    ] {
        assert!(exported.join(f).is_file(), "{f} exported");
    }
    assert!(
        !std::fs::read_dir(ws.path()).expect("ls").any(|e| e
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .contains("tunix-export")),
        "no staging folder left behind"
    );
    let before = ws.snapshot();
    ws.run(&["export", "lora", "--hf", "exported"])
        .code(2)
        .stderr_has("already exists");
    assert_eq!(ws.snapshot(), before, "nothing written");
    check_in_transformers(&ws.path().join("models/qwen2-tied"), &step, &exported);
}

/// With the venv's transformers and peft: the exported folder gives the
/// logits of the base model with the checkpoint's PEFT adapter.
#[allow(clippy::print_stderr)] // a test helper (not a #[test]): says why it skips
fn check_in_transformers(base: &Path, adapter: &Path, exported: &Path) {
    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!("skipped: set TUNIX_TEST_PYTHON to a python with transformers and peft (make unit does)");
        return;
    };
    let script = r#"
import sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base, adapter, exported = sys.argv[1:4]
ids = torch.tensor([[1, 5, 9, 2, 7, 3, 11, 4]])
with torch.no_grad():
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32), adapter)
    merged = AutoModelForCausalLM.from_pretrained(exported, dtype=torch.float32)
    a = peft(ids).logits
    b = merged(ids).logits
    base_logits = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)(ids).logits
    stored = AutoModelForCausalLM.from_pretrained(exported, dtype="auto").dtype
print((a - b).abs().max().item(), (a - base_logits).abs().max().item(), stored == torch.bfloat16)
"#;
    let out = std::process::Command::new(python)
        .env("HF_HUB_OFFLINE", "1")
        .arg("-c")
        .arg(script)
        .arg(base)
        .arg(adapter)
        .arg(exported)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [merged, adapted, bf16] = fields[..] else {
        panic!("unexpected output: {text}");
    };
    let (merged, adapted): (f64, f64) = (
        merged.parse().expect("number"),
        adapted.parse().expect("number"),
    );
    // A bf16 base is exported in bf16: the merged weights are rounded
    // once, as peft's merge_and_unload on a bf16 model rounds them.
    let tolerance = if bf16 == "True" { 3e-2 } else { 1e-4 };
    assert!(merged < tolerance, "exported vs base + adapter: {text}");
    assert!(
        adapted > 10.0 * tolerance,
        "the adapter changed the model: {text}"
    );
}

#[test]
fn a_full_fine_tune_of_an_untied_model_runs() {
    let ws = Workspace::new();
    copy_model(&ws, "llama-gqa");
    data(&ws);
    ws.file(
        "manifests/full.yaml",
        train_manifest("full", "llama-gqa", "", 2),
    );
    ws.run(&["run", "manifests/full.yaml"]).code(0);
    let run = ws.path().join("submission_runs/full");
    let m = json(&run.join("run_manifest.json"));
    assert_eq!(m["status"], "completed", "{m}");
    assert_eq!(m["config"]["prompt_format"]["format"], "prompt_template");
    assert!(run
        .join("checkpoints/step-00000002/model.safetensors")
        .is_file());
    assert!(!run
        .join("checkpoints/step-00000002/adapter_config.json")
        .exists());
    ws.run(&["export", "full", "--hf", "out/full-hf"]).code(0);
    assert!(ws.path().join("out/full-hf/model.safetensors").is_file());
}

#[test]
fn a_changed_base_folder_is_refused_before_anything_is_written() {
    let ws = Workspace::new();
    copy_model(&ws, "qwen2-tied");
    data(&ws);
    ws.file(
        "manifests/lora.yaml",
        train_manifest("lora", "qwen2-tied", LORA, 2),
    );
    ws.run(&["run", "manifests/lora.yaml"]).code(0);
    // `tunix-rt data` frames the examples as the worker did: the same
    // data set blake3 as the run recorded.
    let data = ws
        .run(&["data", "manifests/lora.yaml", "--format", "json"])
        .json();
    let recorded = json(&ws.path().join("submission_runs/lora/run_manifest.json"));
    assert_eq!(data["blake3"], recorded["dataset"]["blake3"]);
    let config = ws.path().join("models/qwen2-tied/config.json");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push('\n');
    std::fs::write(&config, text).expect("write");
    let before = ws.snapshot();
    ws.run(&["export", "lora", "--hf", "exported"])
        .code(2)
        .stderr_has("is not the one run lora was fine-tuned from: config.json changed");
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/small.jsonl",
        "--checkpoint",
        "lora",
    ])
    .code(2)
    .stderr_has("is not the one run lora was fine-tuned from: config.json changed");
    assert_eq!(ws.snapshot(), before, "nothing written");
}

#[test]
fn exporting_a_built_in_run_is_refused() {
    let ws = Workspace::new();
    ws.file(
        "manifests/tiny.yaml",
        crate::support::tiny_train("tiny", 10).to_yaml(),
    );
    ws.run(&["run", "manifests/tiny.yaml"]).code(0);
    let before = ws.snapshot();
    ws.run(&["export", "tiny", "--hf", "exported"])
        .code(2)
        .stderr_has("trained the built-in GPT");
    assert_eq!(ws.snapshot(), before, "nothing written");
}

#[test]
fn lora_without_a_pretrained_model_and_calculator_decoding_are_refused() {
    let ws = Workspace::new();
    copy_model(&ws, "qwen2-tied");
    data(&ws);
    let text = train_manifest("lora", "qwen2-tied", LORA, 2).replace(
        "      stop: []\n",
        "      stop: []\n      calculator: true\n",
    );
    ws.file("manifests/calc.yaml", text);
    ws.run(&["validate", "manifests/calc.yaml"])
        .code(2)
        .stderr_has("calculator-assisted decoding is available for the built-in model only");
    let text = train_manifest("lora", "qwen2-tied", LORA, 2)
        .replace("    hf: ../models/qwen2-tied\n", "    preset: gpt-nano\n");
    ws.file("manifests/builtin-lora.yaml", text);
    ws.run(&["validate", "manifests/builtin-lora.yaml"])
        .code(2)
        .stderr_has("unknown key `lora`");
    assert!(!ws.path().join("submission_runs").exists());
}

#[test]
fn a_sweep_searches_the_adapters_rank_and_the_learning_rate() {
    let ws = Workspace::new();
    copy_model(&ws, "qwen2-tied");
    data(&ws);
    // The base lives in another folder than the sweep: its paths (the
    // model folder among them) are relative to its own folder.
    ws.file(
        "manifests/bases/lora.yaml",
        train_manifest("lora", "qwen2-tied", LORA, 2).replace("../", "../../"),
    );
    ws.file(
        "manifests/sweep.yaml",
        "apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: lora-sweep
spec:
  base: bases/lora.yaml
  search: random
  num_samples: 2
  seed: 1
  metric: val_loss
  mode: min
  search_space:
    learning_rate: { loguniform: [0.001, 0.02] }
    model.lora.rank: { choice: [2, 8] }
",
    );
    ws.run(&["run", "manifests/sweep.yaml", "--yes"])
        .code(0)
        .stdout_has("model.lora.rank → spec.model.lora.rank");
    let ranks: Vec<u64> = ["t000", "t001"]
        .iter()
        .map(|t| {
            let m = json(&ws.path().join(format!(
                "submission_runs/lora-sweep/trials/lora-sweep-{t}/run_manifest.json"
            )));
            assert_eq!(m["status"], "completed", "{t}: {m}");
            m["config"]["spec"]["model"]["lora"]["rank"]
                .as_u64()
                .expect("rank")
        })
        .collect();
    assert!(ranks.iter().all(|r| [2, 8].contains(r)), "{ranks:?}");
}
