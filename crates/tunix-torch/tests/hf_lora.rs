//! What a trained Hugging Face decoder writes, read back by `transformers`
//! and `peft` (`fixtures/hf/hf_logits.py`, run with `$TUNIX_TEST_PYTHON`;
//! skipped with a message where it is unset, never in CI): a LoRA model's
//! `peft` adapter folder loads over the base model with the Rust model's
//! logits, and merged exports (LoRA and full fine-tuning, tied and untied,
//! f32 and bf16 bases, Gemma's among them) load with `AutoModelForCausalLM`
//! and `AutoTokenizer`. Without Python: the adapter config's fields, the
//! export's files, names and dtypes, and its refusal of a non-empty folder.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::{LoraConfig, LoraTarget};
use tunix_torch::hf::trainable::LLAMA_TARGETS;
use tunix_torch::hf::{HfError, HfModel, HfTokenizer};

const ATOL: f64 = 1e-4;
const IDS: [[i64; 8]; 2] = [
    [1, 17, 42, 255, 3, 99, 128, 7],
    [200, 5, 5, 60, 0, 31, 250, 12],
];

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

/// The venv python, or none (then the test is skipped, except in CI).
fn python() -> Option<OsString> {
    let python = std::env::var_os("TUNIX_TEST_PYTHON");
    assert!(
        python.is_some() || std::env::var_os("CI").is_none(),
        "CI sets TUNIX_TEST_PYTHON (make unit)"
    );
    python
}

const SKIP: &str =
    "skipped: set TUNIX_TEST_PYTHON to a python with torch, transformers and peft (make unit does)";

fn all_targets() -> LoraConfig {
    LoraConfig {
        rank: 4,
        alpha: 6.0,
        dropout: 0.1,
        target_modules: LLAMA_TARGETS.to_vec(),
    }
}

/// A LoRA model over a fixture whose adapters are seeded random (B nonzero).
fn lora_model(name: &str, cfg: &LoraConfig) -> HfModel {
    let mut model =
        HfModel::load_for_training(&fixture(name), Device::Cpu, Kind::Float, Some(cfg), 11)
            .expect("fixture loads");
    tch::manual_seed(12);
    let trained: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().randn_like() * 0.1))
        .collect();
    model.load_trained(&trained).expect("adapters load");
    model
}

fn ids() -> Tensor {
    Tensor::from_slice(&IDS.concat()).view([2, 8])
}

fn rust_logits(model: &HfModel) -> Tensor {
    model.forward(&ids()).expect("forward")
}

/// `hf_logits.py`'s answer for a model folder (and an adapter folder).
fn python_run(python: &OsString, model: &Path, adapter: Option<&Path>) -> serde_json::Value {
    let ids = serde_json::to_string(&IDS).expect("ids");
    let mut cmd = std::process::Command::new(python);
    cmd.arg(fixture("hf_logits.py")).arg(model).arg(ids);
    if let Some(adapter) = adapter {
        cmd.arg(adapter);
    }
    let out = cmd.output().expect("python runs");
    assert!(
        out.status.success(),
        "hf_logits.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("hf_logits.py prints JSON")
}

fn max_diff(answer: &serde_json::Value, want: &Tensor) -> f64 {
    let logits: Vec<Vec<Vec<f32>>> =
        serde_json::from_value(answer["logits"].clone()).expect("logits");
    let got = Tensor::from_slice(&logits.concat().concat()).view(want.size().as_slice());
    (got - want).abs().max().double_value(&[])
}

/// GPT-2's three targets (`c_proj` both attention's and the MLP's).
fn gpt2_targets() -> LoraConfig {
    LoraConfig {
        target_modules: vec![LoraTarget::CAttn, LoraTarget::CProj, LoraTarget::CFc],
        ..all_targets()
    }
}

fn peft_matches(name: &str, python: &OsString) -> f64 {
    let cfg = match name {
        "gpt2" => gpt2_targets(),
        _ => all_targets(),
    };
    let model = lora_model(name, &cfg);
    let tmp = tempfile::tempdir().expect("tempdir");
    let adapter = tmp.path().join("adapter");
    let written = model
        .save_peft_adapter(&adapter, &cfg, "tiny/base")
        .expect("adapter saved");
    assert_eq!(written.len(), 2);
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&written[0]).expect("adapter config"))
            .expect("adapter config");
    assert_eq!(config["fan_in_fan_out"], name == "gpt2", "{name}");
    let answer = python_run(python, &fixture(name), Some(&adapter));
    max_diff(&answer, &rust_logits(&model))
}

#[test]
fn peft_loads_the_adapters_with_the_rust_logits_untied() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let diff = peft_matches("llama-gqa", &python);
    eprintln!("llama-gqa: max |peft - rust| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
}

#[test]
fn peft_loads_the_adapters_with_the_rust_logits_tied_with_biases() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let diff = peft_matches("qwen2-tied", &python);
    eprintln!("qwen2-tied: max |peft - rust| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
}

#[test]
fn peft_loads_gpt2_conv1d_adapters_fan_in_fan_out_with_the_rust_logits() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let diff = peft_matches("gpt2", &python);
    eprintln!("gpt2: max |peft - rust| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
}

#[test]
fn merged_lora_export_of_gpt2_keeps_conv1d_layout_and_the_tied_head() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let model = lora_model("gpt2", &gpt2_targets());
    let (answer, want, reloaded, tokens) = export_and_read("gpt2", &model, &python);
    let dtypes = answer["dtypes"].as_object().expect("dtypes");
    assert!(!dtypes.contains_key("lm_head.weight"), "tied: no lm_head");
    assert!(dtypes.contains_key("transformer.h.0.attn.c_attn.weight"));
    let diff = max_diff(&answer, &want);
    eprintln!("gpt2 merged: max |transformers - rust LoRA| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
    assert!(max_diff(&answer, &reloaded) < ATOL);
    assert_eq!(json_tokens(&answer), tokens);
}

/// Export a model over a fixture; the export's answer from Python, the
/// Rust model's logits, the export's own logits in Rust, and its tokens.
fn export_and_read(
    name: &str,
    model: &HfModel,
    python: &OsString,
) -> (serde_json::Value, Tensor, Tensor, Vec<u32>) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("merged");
    model.export_merged(&fixture(name), &out).expect("exported");
    let answer = python_run(python, &out, None);
    let reloaded = HfModel::load(&out, Device::Cpu).expect("the export loads");
    let tokens = HfTokenizer::load(&out)
        .expect("tokenizer")
        .encode("Hello world", false)
        .expect("encodes");
    (answer, rust_logits(model), rust_logits(&reloaded), tokens)
}

fn json_tokens(answer: &serde_json::Value) -> Vec<u32> {
    serde_json::from_value(answer["tokens"].clone()).expect("tokens")
}

#[test]
fn merged_lora_export_of_an_f32_untied_model_loads_in_transformers() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let model = lora_model("llama-gqa", &all_targets());
    let (answer, want, reloaded, tokens) = export_and_read("llama-gqa", &model, &python);
    let diff = max_diff(&answer, &want);
    eprintln!("llama-gqa merged: max |transformers - rust LoRA| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
    assert!(max_diff(&answer, &reloaded) < ATOL);
    assert_eq!(json_tokens(&answer), tokens);
    assert_eq!(answer["dtypes"]["lm_head.weight"], "F32");
}

#[test]
fn merged_lora_export_of_a_bf16_tied_model_stays_bf16_and_tied() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let model = lora_model("qwen2-tied", &all_targets());
    let (answer, want, reloaded, tokens) = export_and_read("qwen2-tied", &model, &python);
    let dtypes = answer["dtypes"].as_object().expect("dtypes");
    assert!(!dtypes.contains_key("lm_head.weight"), "tied: no lm_head");
    assert!(dtypes.values().all(|d| d == "BF16"), "{dtypes:?}");
    let exact = max_diff(&answer, &reloaded);
    let rounded = max_diff(&answer, &want);
    eprintln!(
        "qwen2-tied merged (bf16): max |transformers - rust on the export| {exact:.2e}, \
         |transformers - rust LoRA| {rounded:.2e} (bf16 rounding of the merged weights)"
    );
    assert!(exact < ATOL, "{exact}");
    assert!(rounded < 5e-2, "{rounded}");
    assert_eq!(json_tokens(&answer), tokens);
}

#[test]
fn full_fine_tuned_export_loads_in_transformers() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let dir = fixture("llama-gqa");
    let mut model =
        HfModel::load_for_training(&dir, Device::Cpu, Kind::Float, None, 0).expect("fixture loads");
    tch::manual_seed(3);
    let trained: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.detach() + t.detach().randn_like() * 0.05))
        .collect();
    model.load_trained(&trained).expect("weights load");
    let (answer, want, _, _) = export_and_read("llama-gqa", &model, &python);
    let diff = max_diff(&answer, &want);
    eprintln!("llama-gqa full fine-tuning export: max |transformers - rust| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
}

#[test]
fn peft_loads_the_adapters_over_mistral_and_llama3_rope() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    for name in ["mistral-swa", "llama3-rope"] {
        let diff = peft_matches(name, &python);
        eprintln!("{name}: max |peft - rust| logits {diff:.2e}");
        assert!(diff < ATOL, "{name}: {diff}");
    }
}

#[test]
fn gemma_peft_adapter_and_merged_exports_load_in_transformers() {
    let Some(python) = python() else {
        eprintln!("{SKIP}");
        return;
    };
    let diff = peft_matches("gemma", &python);
    eprintln!("gemma: max |peft - rust| logits {diff:.2e}");
    assert!(diff < ATOL, "{diff}");

    let model = lora_model("gemma", &all_targets());
    let (answer, want, reloaded, tokens) = export_and_read("gemma", &model, &python);
    let dtypes = answer["dtypes"].as_object().expect("dtypes");
    assert!(!dtypes.contains_key("lm_head.weight"), "tied: no lm_head");
    assert!(dtypes.values().all(|d| d == "BF16"), "{dtypes:?}");
    let (exact, rounded) = (max_diff(&answer, &reloaded), max_diff(&answer, &want));
    eprintln!(
        "gemma merged LoRA (bf16): max |transformers - rust on the export| {exact:.2e}, \
         |transformers - rust LoRA| {rounded:.2e}"
    );
    assert!(exact < ATOL && rounded < 5e-2, "{exact} {rounded}");
    assert_eq!(json_tokens(&answer), tokens);

    let mut full = HfModel::load_for_training(&fixture("gemma"), Device::Cpu, Kind::Float, None, 0)
        .expect("fixture loads");
    tch::manual_seed(5);
    let trained: Vec<(String, Tensor)> = full
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.detach() + t.detach().randn_like() * 0.05))
        .collect();
    full.load_trained(&trained).expect("weights load");
    let (answer, _, reloaded, _) = export_and_read("gemma", &full, &python);
    let diff = max_diff(&answer, &reloaded);
    eprintln!("gemma full fine-tuning export: max |transformers - rust on the export| {diff:.2e}");
    assert!(diff < ATOL, "{diff}");
}

#[test]
fn gemma_export_stores_the_norm_weights_not_one_plus_them() {
    let dir = fixture("gemma");
    let model =
        HfModel::load_for_training(&dir, Device::Cpu, Kind::Float, None, 0).expect("fixture loads");
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("merged");
    model.export_merged(&dir, &out).expect("exported");
    let base = Tensor::read_safetensors(dir.join("model.safetensors")).expect("base");
    let exported = Tensor::read_safetensors(out.join("model.safetensors")).expect("export");
    assert_eq!(base.len(), exported.len());
    for (name, t) in &base {
        let (_, e) = exported.iter().find(|(n, _)| n == name).expect(name);
        assert_eq!(e.kind(), t.kind(), "{name}");
        assert!(e.equal(t), "{name} changed on export");
    }
}

#[test]
fn adapter_config_has_peft_fields_and_the_export_refuses_a_used_folder() {
    let cfg = LoraConfig {
        rank: 8,
        alpha: 16.0,
        dropout: 0.05,
        target_modules: vec![LoraTarget::VProj, LoraTarget::QProj],
    };
    let model = lora_model("qwen2-tied", &cfg);
    let tmp = tempfile::tempdir().expect("tempdir");
    let adapter = tmp.path().join("adapter");
    model
        .save_peft_adapter(&adapter, &cfg, "Qwen/Qwen2.5-0.5B")
        .expect("saved");
    let text = std::fs::read_to_string(adapter.join("adapter_config.json")).expect("config");
    let config: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(config["peft_type"], "LORA");
    assert_eq!(config["task_type"], "CAUSAL_LM");
    assert_eq!(config["r"], 8);
    assert_eq!(config["lora_alpha"], 16.0);
    assert_eq!(
        config["target_modules"],
        serde_json::json!(["q_proj", "v_proj"])
    );
    assert_eq!(config["base_model_name_or_path"], "Qwen/Qwen2.5-0.5B");
    let saved = Tensor::read_safetensors(adapter.join("adapter_model.safetensors")).expect("read");
    assert_eq!(saved.len(), 2 * 2 * 2);
    assert!(saved
        .iter()
        .all(|(n, t)| n.starts_with("base_model.model.model.layers.") && t.kind() == Kind::Float));
    let other = LoraConfig {
        rank: 4,
        ..cfg.clone()
    };
    assert!(model.save_peft_adapter(&adapter, &other, "b").is_err());

    let used = tmp.path().join("used");
    std::fs::create_dir(&used).expect("mkdir");
    std::fs::write(used.join("x"), "x").expect("write");
    let err = model
        .export_merged(&fixture("qwen2-tied"), &used)
        .expect_err("a used folder");
    assert!(matches!(err, HfError::OutputNotEmpty { .. }), "{err}");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let written = model
        .export_merged(&fixture("qwen2-tied"), &empty)
        .expect("an empty folder is taken");
    let mut names: Vec<String> = written
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "config.json",
            "generation_config.json",
            "model.safetensors",
            "tokenizer.json",
            "tokenizer_config.json"
        ]
    );
    let hidden = std::fs::read_dir(&empty)
        .expect("list")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .count();
    assert_eq!(hidden, 0, "no temporary file is left");
}
