//! The Hugging Face Llama-family decoder (`tunix_torch::hf`) against
//! `transformers`: the tiny random models in `fixtures/hf/` (built by
//! `fixtures/hf/make_fixtures.py`, committed, so no Python is needed here)
//! must give the logits `transformers` computed for them (for the newer
//! fixtures a left-padded batch's too, where Mistral's sliding window meets
//! the padding), and broken copies
//! of them must fail with the typed error that names the file and tensor.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use tunix_torch::hf::{HfError, HfModel, LlamaModel};

const ATOL: f64 = 1e-4;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

/// Max |logit - reference| for a fixture model.
fn max_diff(name: &str) -> f64 {
    max_diff_in(&fixture(name))
}

/// Max |logit - reference| for a model folder holding a `reference.json`.
fn max_diff_in(dir: &Path) -> f64 {
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference fixture");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("reference fixture");
    let ids: Vec<Vec<i64>> =
        serde_json::from_value(reference["input_ids"].clone()).expect("reference fixture");
    let logits: Vec<Vec<Vec<f32>>> =
        serde_json::from_value(reference["logits"].clone()).expect("reference fixture");
    let (b, t) = (ids.len() as i64, ids[0].len() as i64);
    let flat_ids: Vec<i64> = ids.concat();
    let flat_ref: Vec<f32> = logits.concat().concat();
    let model = HfModel::load(dir, Device::Cpu).expect("reference fixture");
    let got = model
        .forward(&Tensor::from_slice(&flat_ids).view([b, t]))
        .expect("reference fixture");
    let vocab = model.config().vocab_size;
    assert_eq!(got.size(), [b, t, vocab]);
    assert_eq!(got.kind(), Kind::Float);
    let want = Tensor::from_slice(&flat_ref).view([b, t, vocab]);
    (got - want).abs().max().double_value(&[])
}

/// Max |logit - reference| over the unpadded positions of a fixture's
/// left-padded batch, when it records one.
fn padded_max_diff(name: &str) -> Option<f64> {
    let dir = fixture(name);
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference fixture");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("reference fixture");
    let padded = reference.get("padded")?;
    let rows = |key: &str| -> Vec<Vec<i64>> {
        serde_json::from_value(padded[key].clone()).expect("padded fixture")
    };
    let (ids, mask) = (rows("input_ids"), rows("attention_mask"));
    let logits: Vec<Vec<Vec<f32>>> =
        serde_json::from_value(padded["logits"].clone()).expect("padded fixture");
    let (b, t) = (ids.len() as i64, ids[0].len() as i64);
    let model = HfModel::load(&dir, Device::Cpu).expect("reference fixture");
    let mask = Tensor::from_slice(&mask.concat()).view([b, t]);
    let got = model
        .forward_masked(&Tensor::from_slice(&ids.concat()).view([b, t]), Some(&mask))
        .expect("padded forward");
    let want = Tensor::from_slice(&logits.concat().concat()).view([b, t, -1]);
    let valid = mask.unsqueeze(-1).to_kind(Kind::Float);
    Some(((got - want).abs() * valid).max().double_value(&[]))
}

/// The logits, and the padded batch's where recorded, within [`ATOL`];
/// returns what was measured.
fn check(name: &str) -> String {
    let diff = max_diff(name);
    assert!(diff < ATOL, "{name}: max abs diff {diff}");
    let mut said = format!("{name}: max |logit - transformers| = {diff:.3e}");
    if let Some(diff) = padded_max_diff(name) {
        assert!(diff < ATOL, "{name}: padded max abs diff {diff}");
        said += &format!(", left-padded batch {diff:.3e}");
    }
    said
}

#[test]
fn mistral_sliding_window_and_linear_rope_match_transformers() {
    eprintln!("{}", check("mistral-swa"));
}

#[test]
fn gemma_offset_norm_scaled_embedding_gelu_head_dim_match_transformers() {
    eprintln!("{}", check("gemma"));
}

#[test]
fn llama3_rope_scaling_matches_transformers() {
    eprintln!("{}", check("llama3-rope"));
}

#[test]
fn gpt2_layernorm_conv1d_learned_positions_tied_match_transformers() {
    eprintln!("{}", check("gpt2"));
}

#[test]
fn gpt2_saved_from_gpt2model_without_the_transformer_prefix_loads() {
    let (_tmp, dir) = copy("gpt2");
    rewrite(&dir, |tensors| {
        for (name, _) in tensors.iter_mut() {
            *name = name.trim_start_matches("transformer.").to_string();
        }
    });
    let diff = max_diff_in(&dir);
    assert!(diff < ATOL, "gpt2 without prefix: {diff}");
    // Stored in bf16 without the prefix: the export keeps bf16 under the
    // prefixed names.
    rewrite(&dir, |tensors| {
        for (_, t) in tensors.iter_mut() {
            *t = t.to_kind(Kind::BFloat16);
        }
    });
    let model = HfModel::load(&dir, Device::Cpu).expect("bf16 copy loads");
    let out = dir.parent().expect("tempdir").join("exported");
    model.export_merged(&dir, &out).expect("exported");
    let kinds = tunix_torch::hf::weights::stored_kinds(&out).expect("export headers");
    assert_eq!(
        kinds.get("transformer.h.0.attn.c_attn.weight"),
        Some(&Kind::BFloat16)
    );
    assert!(kinds.values().all(|k| *k == Kind::BFloat16), "{kinds:?}");
}

#[test]
fn gpt2_is_refused_by_the_llama_decoder_and_vice_versa() {
    let msg = LlamaModel::load(&fixture("gpt2"), Device::Cpu)
        .err()
        .expect("refused")
        .to_string();
    assert!(msg.contains("GPT2LMHeadModel"), "{msg}");
    let msg = tunix_torch::hf::Gpt2Model::load(&fixture("llama-gqa"), Device::Cpu)
        .err()
        .expect("refused")
        .to_string();
    assert!(msg.contains("LlamaForCausalLM"), "{msg}");
}

#[test]
fn the_window_and_the_rope_scaling_matter_in_the_references() {
    for (name, from, to) in [
        (
            "mistral-swa",
            "\"sliding_window\": 5",
            "\"sliding_window\": null",
        ),
        (
            "mistral-swa",
            "\"rope_type\": \"linear\"",
            "\"rope_type\": \"default\"",
        ),
        (
            "llama3-rope",
            "\"rope_type\": \"llama3\"",
            "\"rope_type\": \"default\"",
        ),
    ] {
        let (_tmp, dir) = copy(name);
        let config = dir.join("config.json");
        let text = std::fs::read_to_string(&config).unwrap();
        assert!(text.contains(from), "{name}: {from}");
        std::fs::write(&config, text.replace(from, to)).unwrap();
        let diff = max_diff_in(&dir);
        assert!(diff > 1e-2, "{name} without {from}: {diff}");
    }
}

#[test]
fn new_fixtures_record_a_padded_batch() {
    for name in ["mistral-swa", "gemma", "llama3-rope", "gpt2"] {
        assert!(padded_max_diff(name).is_some(), "{name}");
    }
}

#[test]
fn llama_gqa_untied_sharded_f32_matches_transformers() {
    let diff = max_diff("llama-gqa");
    eprintln!("llama-gqa: max |logit - transformers| = {diff:.3e}");
    assert!(diff < ATOL, "max abs diff {diff}");
}

#[test]
fn qwen2_biases_tied_bf16_matches_transformers() {
    let diff = max_diff("qwen2-tied");
    eprintln!("qwen2-tied: max |logit - transformers| = {diff:.3e}");
    assert!(diff < ATOL, "max abs diff {diff}");
}

/// A copy of a fixture folder in a tempdir.
fn copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("fixture copy");
    let dir = tmp.path().join(name);
    std::fs::create_dir(&dir).expect("fixture copy");
    for entry in std::fs::read_dir(fixture(name)).expect("fixture copy") {
        let path = entry.expect("fixture copy").path();
        std::fs::copy(&path, dir.join(path.file_name().expect("fixture copy")))
            .expect("fixture copy");
    }
    (tmp, dir)
}

fn load_err(dir: &Path) -> HfError {
    match HfModel::load(dir, Device::Cpu) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e,
    }
}

/// Rewrite a single-file fixture's weights through `edit`.
fn rewrite(dir: &Path, edit: impl FnOnce(&mut Vec<(String, Tensor)>)) {
    let file = dir.join("model.safetensors");
    let mut tensors = Tensor::read_safetensors(&file).expect("fixture copy");
    edit(&mut tensors);
    Tensor::write_safetensors(&tensors, &file).expect("fixture copy");
}

#[test]
fn unknown_architecture_names_the_config_file() {
    let (_tmp, dir) = copy("qwen2-tied");
    let config = dir.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("Qwen2ForCausalLM", "OPTForCausalLM")).unwrap();
    let err = load_err(&dir);
    assert!(
        matches!(err, HfError::UnknownArchitecture { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&config.display().to_string()) && msg.contains("OPTForCausalLM"),
        "{msg}"
    );
}

#[test]
fn missing_tensor_is_named() {
    let (_tmp, dir) = copy("qwen2-tied");
    let gone = "model.layers.1.self_attn.k_proj.bias";
    rewrite(&dir, |t| t.retain(|(name, _)| name != gone));
    let msg = load_err(&dir).to_string();
    assert!(
        msg.contains(gone) && msg.contains("model.safetensors") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn shape_mismatch_names_the_tensor_and_both_shapes() {
    let (_tmp, dir) = copy("qwen2-tied");
    let config = dir.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("\"intermediate_size\": 128", "\"intermediate_size\": 96"),
    )
    .unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, HfError::ShapeMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    for part in [
        "model.layers.0.mlp.gate_proj.weight",
        "[128, 64]",
        "[96, 64]",
        "model.safetensors",
    ] {
        assert!(msg.contains(part), "{part} not in {msg}");
    }
}

#[test]
fn missing_shard_names_the_index_and_the_shard() {
    let (_tmp, dir) = copy("llama-gqa");
    std::fs::remove_file(dir.join("model-00002-of-00003.safetensors")).unwrap();
    let err = load_err(&dir);
    assert!(matches!(err, HfError::MissingShard { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("model.safetensors.index.json") && msg.contains("model-00002-of-00003"),
        "{msg}"
    );
}

#[test]
fn unsupported_dtype_is_named_and_f16_is_accepted() {
    let (_tmp, dir) = copy("qwen2-tied");
    let name = "model.norm.weight";
    rewrite(&dir, |t| {
        for (n, tensor) in t.iter_mut() {
            *tensor = tensor.to_kind(if n == name { Kind::Double } else { Kind::Half });
        }
    });
    let msg = load_err(&dir).to_string();
    assert!(msg.contains(name) && msg.contains("F64"), "{msg}");
    rewrite(&dir, |t| {
        for (_, tensor) in t.iter_mut() {
            *tensor = tensor.to_kind(Kind::Half);
        }
    });
    assert!(LlamaModel::load(&dir, Device::Cpu).is_ok());
}

#[test]
fn no_weights_and_bad_ids_are_refused() {
    let (_tmp, dir) = copy("qwen2-tied");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    assert!(matches!(load_err(&dir), HfError::NoWeights { .. }));
    let model = HfModel::load(&fixture("qwen2-tied"), Device::Cpu).unwrap();
    let out_of_vocab = Tensor::from_slice(&[1i64, 320]).view([1, 2]);
    assert!(matches!(
        model.forward(&out_of_vocab),
        Err(HfError::Input(_))
    ));
    assert!(matches!(
        model.forward(&Tensor::from_slice(&[1i64, 2])),
        Err(HfError::Input(_))
    ));
}
