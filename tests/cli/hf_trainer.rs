//! trainers/hf_peft/train.py, the transformers + peft example trainer,
//! run through `tunix-rt run` as a `command` trainer: LoRA adapters on the
//! tiny random Qwen2 fixture (crates/tunix-torch/tests/fixtures/hf/qwen2-tied,
//! which has a chat template) for 10 CPU steps on a small JSONL data set,
//! evaluated on a small eval set; then the same run stopped at step 5 and
//! resumed from its checkpoint must log the same losses. Needs a python3
//! with torch, transformers and peft (TUNIX_TEST_PYTHON, as `make unit`
//! sets it).

use std::path::{Path, PathBuf};

use crate::support::{repo, Workspace};

/// Every (a, b) with a, b in 1..=9: the first 12 (in a fixed shuffled
/// order) are the eval set, the rest the training data.
fn additions() -> Vec<(u32, u32)> {
    let pairs: Vec<(u32, u32)> = (1..=9).flat_map(|a| (1..=9).map(move |b| (a, b))).collect();
    // A fixed permutation (multiplying by a unit mod 81) mixes small and
    // large operands into both sets.
    (0..pairs.len()).map(|i| pairs[(i * 29) % 81]).collect()
}

/// The manifest: train.py on models/qwen2-tied, LoRA r 8, 10 steps of
/// 2 x 8 rows, a checkpoint every 5 steps, greedy predictions of 8 tokens.
fn manifest() -> String {
    let script = repo().join("trainers/hf_peft/train.py");
    format!(
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: hf-lora
spec:
  command: [\"python3\", \"{script}\",
            \"--model\", \"models/qwen2-tied\", \"--data\", \"data/train.jsonl\",
            \"--lora-r\", \"{{{{ params.lora_r }}}}\", \"--lora-alpha\", \"{{{{ params.lora_alpha }}}}\",
            \"--lr\", \"{{{{ learning_rate }}}}\", \"--batch-size\", \"{{{{ per_device_batch_size }}}}\",
            \"--grad-accum\", \"{{{{ gradient_accumulation_steps }}}}\", \"--warmup-steps\", \"{{{{ warmup_steps }}}}\",
            \"--max-steps\", \"{{{{ max_steps }}}}\", \"--seed\", \"{{{{ seed }}}}\",
            \"--checkpoint-interval\", \"{{{{ checkpoint_interval }}}}\", \"--max-new-tokens\", \"8\"]
  env: {{ TOKENIZERS_PARALLELISM: \"false\" }}
  params: {{ lora_r: 8, lora_alpha: 16 }}
  training:
    learning_rate: 5.0e-3
    per_device_batch_size: 8
    gradient_accumulation_steps: 2
    warmup_steps: 2
    max_steps: 10
    seed: 0
    checkpoint_interval: 5
  eval:
    evalset: ../evalsets/add_v1.jsonl
",
        script = script.display()
    )
}

/// A workspace with the model, the data, the eval set and the manifest.
fn workspace() -> Workspace {
    let ws = Workspace::new();
    let model = repo().join("crates/tunix-torch/tests/fixtures/hf/qwen2-tied");
    let to = ws.path().join("models/qwen2-tied");
    std::fs::create_dir_all(&to).expect("mkdir");
    for entry in std::fs::read_dir(&model).expect("fixture") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
    let pairs = additions();
    let (eval, train) = pairs.split_at(12);
    let mut evalset = String::new();
    for (i, (a, b)) in eval.iter().enumerate() {
        let item = serde_json::json!({
            "id": format!("add-{i:03}"), "category": "core", "prompt": format!("What is {a} + {b}?"),
            "expected_answer": (a + b).to_string(), "tags": ["addition"]
        });
        evalset.push_str(&format!("{item}\n"));
    }
    let mut data = String::new();
    for (a, b) in train {
        let row = serde_json::json!({"prompt": format!("What is {a} + {b}?"), "completion": format!("Answer: {}", a + b)});
        data.push_str(&format!("{row}\n"));
    }
    // One example in the chat format, which the trainer reads too.
    data.push_str(
        &serde_json::json!({"messages": [
            {"role": "user", "content": "What is 10 + 10?"},
            {"role": "assistant", "content": "Answer: 20"}
        ]})
        .to_string(),
    );
    data.push('\n');
    ws.file("evalsets/add_v1.jsonl", evalset);
    ws.file("data/train.jsonl", data);
    ws.file("manifests/hf.yaml", manifest());
    ws
}

/// `tunix-rt ARGS` in `ws` with `python_dir` first on PATH; asserts exit 0
/// and returns stdout.
fn run(ws: &Workspace, python_dir: &Path, args: &[&str]) -> String {
    let path = std::env::join_paths(std::iter::once(python_dir.to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .expect("PATH");
    let out = ws.command(args).env("PATH", path).output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "tunix-rt {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

fn read_json(path: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json")
}

/// (step, loss) of every metrics.jsonl line that has a loss.
fn losses(run: &Path) -> Vec<(u64, f64)> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter_map(|v| Some((v["step"].as_u64()?, v.get("loss")?.as_f64()?)))
        .collect()
}

#[test]
fn the_hf_peft_trainer_fine_tunes_evaluates_checkpoints_and_resumes() {
    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!("skipped: set TUNIX_TEST_PYTHON to a python with torch, transformers and peft (make unit does)");
        return;
    };
    let probe = std::process::Command::new(&python)
        .args(["-c", "import torch, transformers, peft"])
        .output()
        .expect("start TUNIX_TEST_PYTHON");
    assert!(
        probe.status.success(),
        "TUNIX_TEST_PYTHON lacks torch, transformers or peft (make unit installs them):\n{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let python_dir = PathBuf::from(python)
        .parent()
        .expect("TUNIX_TEST_PYTHON names a file")
        .to_path_buf();

    // Straight through: 10 steps, scored.
    let straight = workspace();
    let stdout = run(&straight, &python_dir, &["run", "manifests/hf.yaml"]);
    assert!(stdout.contains("primary      "), "{stdout}");
    let run_dir = straight.path().join("submission_runs/hf-lora");
    let m = read_json(run_dir.join("run_manifest.json"));
    assert_eq!(m["status"], "completed", "{m:#}");
    assert_eq!(m["device"], "external");
    let summary = read_json(run_dir.join("eval_summary.json"));
    assert_eq!(summary["n_items"], 12, "{summary:#}");
    assert_eq!(summary["n_scored"], 12, "{summary:#}");
    let curve = losses(&run_dir);
    assert_eq!(
        curve.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>(),
        "one loss line per step: {curve:?}"
    );
    assert!(
        curve.iter().all(|(_, l)| l.is_finite() && *l > 0.0),
        "{curve:?}"
    );
    // Decreasing-ish: the last three steps' mean well below the first
    // three's (6.19, 5.94, 5.41 ... 4.07, 3.98, 3.92 when written).
    let first = curve[..3].iter().map(|(_, l)| l).sum::<f64>() / 3.0;
    let last = curve[7..].iter().map(|(_, l)| l).sum::<f64>() / 3.0;
    assert!(last < first * 0.85, "the loss did not go down: {curve:?}");
    for step in ["step-00000005", "step-00000010"] {
        let ckpt = run_dir.join("checkpoints").join(step);
        for file in [
            "adapter_config.json",
            "adapter_model.safetensors",
            "optimizer.pt",
            "state.json",
        ] {
            assert!(ckpt.join(file).is_file(), "{} lacks {file}", ckpt.display());
        }
    }
    let adapter = read_json(run_dir.join("checkpoints/step-00000010/adapter_config.json"));
    assert_eq!(adapter["r"], 8, "{adapter:#}");
    assert_eq!(adapter["peft_type"], "LORA", "{adapter:#}");
    let artifacts: Vec<&str> = m["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter_map(|a| a["path"].as_str())
        .collect();
    assert!(
        artifacts.contains(&"checkpoints/step-00000010/adapter_model.safetensors"),
        "{artifacts:?}"
    );
    let validated = straight.run(&["validate", "submission_runs/hf-lora"]);
    assert_eq!(validated.code, 0, "{validated:?}");

    // Stopped at step 5, then resumed from its checkpoint: the same losses
    // and the same outputs as straight through.
    let resumed = workspace();
    let stdout = run(
        &resumed,
        &python_dir,
        &["run", "manifests/hf.yaml", "--until-step", "5"],
    );
    assert!(stdout.contains("stopped before max_steps"), "{stdout}");
    run(&resumed, &python_dir, &["run", "manifests/hf.yaml"]);
    let resumed_dir = resumed.path().join("submission_runs/hf-lora");
    assert_eq!(
        read_json(resumed_dir.join("run_manifest.json"))["status"],
        "completed"
    );
    let log = std::fs::read_to_string(resumed_dir.join("run.log")).expect("log");
    assert!(log.contains("resumed from checkpoint step 5"), "{log}");
    assert!(log.contains("steps 6..10 of 10"), "{log}");
    let resumed_curve = losses(&resumed_dir);
    assert_eq!(resumed_curve.len(), curve.len(), "{resumed_curve:?}");
    for ((s1, l1), (s2, l2)) in curve.iter().zip(&resumed_curve) {
        assert_eq!(s1, s2);
        assert!(
            (l1 - l2).abs() <= 1e-6 * l1.abs(),
            "step {s1}: straight loss {l1}, resumed {l2}"
        );
    }
    assert_eq!(
        std::fs::read(resumed_dir.join("eval_items.jsonl")).expect("items"),
        std::fs::read(run_dir.join("eval_items.jsonl")).expect("items"),
        "the resumed run's outputs differ from the straight run's"
    );
}
