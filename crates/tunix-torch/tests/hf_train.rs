//! Training the Hugging Face decoder (`tunix_torch::hf`), without Python:
//! full fine-tuning's loss and every gradient's norm equal what
//! `transformers` recorded in `fixtures/hf/*/train.json`
//! (`make_fixtures.py --train-reference`); packed rows give each example's
//! padded logits and loss; under LoRA only the adapters get grads and a few
//! AdamW steps lower the loss; a checkpoint's tensors are restored by name
//! and wrong ones refused.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::{LoraConfig, LoraTarget};
use tunix_torch::hf::trainable::LLAMA_TARGETS;
use tunix_torch::hf::{HfError, HfModel, LlamaModel};
use tunix_torch::train::optim::AdamW;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

fn matrix(rows: &[Vec<i64>]) -> Tensor {
    let (b, t) = (rows.len() as i64, rows[0].len() as i64);
    Tensor::from_slice(&rows.concat()).view([b, t])
}

/// Targets from `transformers`-style labels: `targets[t] = labels[t + 1]`,
/// the last position -100.
fn shift(labels: &[Vec<i64>]) -> Vec<Vec<i64>> {
    labels
        .iter()
        .map(|row| row[1..].iter().copied().chain([-100]).collect())
        .collect()
}

fn copy(tensors: &[(String, Tensor)]) -> Vec<(String, Tensor)> {
    tensors
        .iter()
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect()
}

fn lora(rank: u32, targets: &[LoraTarget]) -> LoraConfig {
    LoraConfig {
        rank,
        alpha: 2.0 * f64::from(rank),
        dropout: 0.0,
        target_modules: targets.to_vec(),
    }
}

/// Checks one fixture; returns what was measured.
fn full_ft_matches(name: &str) -> String {
    let dir = fixture(name);
    let text = std::fs::read_to_string(dir.join("train.json")).expect("train fixture");
    let reference: serde_json::Value = serde_json::from_str(&text).expect("train fixture");
    let ids: Vec<Vec<i64>> = serde_json::from_value(reference["input_ids"].clone()).expect("ids");
    let labels: Vec<Vec<i64>> =
        serde_json::from_value(reference["labels"].clone()).expect("labels");
    let want_loss = reference["loss"].as_f64().expect("loss");
    let model =
        HfModel::load_for_training(&dir, Device::Cpu, Kind::Float, None, 0).expect("fixture loads");
    let loss = model
        .loss(&matrix(&ids), &matrix(&shift(&labels)), None, true)
        .expect("loss");
    loss.backward();
    let got_loss = loss.double_value(&[]);
    let loss_diff = (got_loss - want_loss).abs();
    let norms = reference["grad_norms"].as_object().expect("grad norms");
    assert_eq!(
        model.trainable().len(),
        norms.len(),
        "one grad per parameter"
    );
    let mut worst: f64 = 0.0;
    for (param, t) in model.trainable() {
        let want = norms[param].as_f64().expect("a norm per trained tensor");
        let got = t.grad().norm().double_value(&[]);
        let rel = (got - want).abs() / want.abs().max(1e-12);
        assert!(rel < 1e-3, "{name} {param}: grad norm {got} vs {want}");
        worst = worst.max(rel);
    }
    assert!(
        loss_diff < 1e-4 * want_loss.abs().max(1.0),
        "loss {got_loss} vs {want_loss}"
    );
    format!(
        "{name}: loss {got_loss:.6} vs transformers {want_loss:.6} (|diff| {loss_diff:.2e}), \
         worst grad-norm rel diff {worst:.2e}"
    )
}

#[test]
fn llama_full_fine_tuning_loss_and_grads_match_transformers() {
    eprintln!("{}", full_ft_matches("llama-gqa"));
}

#[test]
fn qwen2_tied_full_fine_tuning_loss_and_grads_match_transformers() {
    eprintln!("{}", full_ft_matches("qwen2-tied"));
}

#[test]
fn mistral_full_fine_tuning_loss_and_grads_match_transformers() {
    eprintln!("{}", full_ft_matches("mistral-swa"));
}

#[test]
fn gemma_full_fine_tuning_loss_and_grads_match_transformers() {
    eprintln!("{}", full_ft_matches("gemma"));
}

#[test]
fn llama3_rope_full_fine_tuning_loss_and_grads_match_transformers() {
    eprintln!("{}", full_ft_matches("llama3-rope"));
}

#[test]
fn gpt2_full_fine_tuning_loss_and_grads_match_transformers() {
    eprintln!("{}", full_ft_matches("gpt2"));
}

#[test]
fn mistral_packed_rows_attend_within_the_window_of_their_segment() {
    let model =
        LlamaModel::load_for_training(&fixture("mistral-swa"), Device::Cpu, Kind::Float, None, 0)
            .expect("fixture loads");
    // Both examples longer than the window of 5.
    let (a, b) = (
        vec![5i64, 17, 42, 255, 3, 99, 128, 7],
        vec![200i64, 7, 9, 64, 11, 12, 13],
    );
    let width = 16usize;
    let pad = |v: &[i64]| -> Vec<i64> {
        let mut row = v.to_vec();
        row.resize(width, 2);
        row
    };
    let positions: Vec<i64> = (0..8).chain(0..7).chain([0]).collect();
    let segments: Vec<i64> = [0; 8].into_iter().chain([1; 7]).chain([-1]).collect();
    let row = |v: &[i64]| Tensor::from_slice(v).view([1, width as i64]);
    let (pos, seg) = (row(&positions), row(&segments));
    let packed = model
        .logits_train(
            &row(&pad(&[a.clone(), b.clone()].concat())),
            Some((&pos, &seg)),
            false,
        )
        .expect("packed");
    let alone = model
        .logits_train(&matrix(&[pad(&a), pad(&b)]), None, false)
        .expect("padded");
    let diff_a = (packed.narrow(1, 0, 8) - alone.get(0).narrow(0, 0, 8).unsqueeze(0))
        .abs()
        .max()
        .double_value(&[]);
    let diff_b = (packed.narrow(1, 8, 7) - alone.get(1).narrow(0, 0, 7).unsqueeze(0))
        .abs()
        .max()
        .double_value(&[]);
    eprintln!("mistral packed vs padded logits: max |diff| {diff_a:.2e}, {diff_b:.2e}");
    assert!(diff_a < 1e-5 && diff_b < 1e-5, "{diff_a} {diff_b}");
}

#[test]
fn packed_rows_give_each_examples_padded_logits_and_loss() {
    let said = packed_matches_padded("llama-gqa", &[LoraTarget::QProj, LoraTarget::DownProj]);
    eprintln!("{said}");
}

#[test]
fn gpt2_packed_rows_restart_their_learned_positions() {
    let said = packed_matches_padded("gpt2", &[LoraTarget::CAttn, LoraTarget::CFc]);
    eprintln!("{said}");
}

/// Packed rows (positions restarting per example) give each example's
/// padded logits and loss, under LoRA on `targets`; returns what was
/// measured.
fn packed_matches_padded(name: &str, targets: &[LoraTarget]) -> String {
    let model = HfModel::load_for_training(
        &fixture(name),
        Device::Cpu,
        Kind::Float,
        Some(&lora(2, targets)),
        3,
    )
    .expect("fixture loads");
    let (a, b) = (vec![5i64, 17, 42, 255, 3], vec![200i64, 7, 9, 64]);
    let (ta, tb) = (vec![17i64, 42, -100, 3, -100], vec![-100i64, 9, 64, 11]);
    let width = 11;
    let pad = |v: &[i64], fill: i64| -> Vec<i64> {
        let mut row = v.to_vec();
        row.resize(width, fill);
        row
    };
    let packed_ids = pad(&[a.clone(), b.clone()].concat(), 2);
    let packed_targets = pad(&[ta.clone(), tb.clone()].concat(), -100);
    let positions: Vec<i64> = (0..5).chain(0..4).chain([0, 0]).collect();
    let segments: Vec<i64> = [0; 5].into_iter().chain([1; 4]).chain([-1, -1]).collect();
    let row = |v: &[i64]| Tensor::from_slice(v).view([1, width as i64]);
    let (pos, seg) = (row(&positions), row(&segments));
    let packed = model
        .logits_train(&row(&packed_ids), Some((&pos, &seg)), false)
        .expect("packed");
    let alone = model
        .logits_train(&matrix(&[pad(&a, 2), pad(&b, 2)]), None, false)
        .expect("padded");
    let diff_a = (packed.narrow(1, 0, 5) - alone.get(0).narrow(0, 0, 5).unsqueeze(0))
        .abs()
        .max()
        .double_value(&[]);
    let diff_b = (packed.narrow(1, 5, 4) - alone.get(1).narrow(0, 0, 4).unsqueeze(0))
        .abs()
        .max()
        .double_value(&[]);
    assert!(diff_a < 1e-5 && diff_b < 1e-5, "{diff_a} {diff_b}");

    let loss_packed = model
        .loss(
            &row(&packed_ids),
            &row(&packed_targets),
            Some((&pos, &seg)),
            false,
        )
        .expect("packed loss")
        .double_value(&[]);
    let one = |ids: &[i64], targets: &[i64]| {
        model
            .loss(&row(&pad(ids, 2)), &row(&pad(targets, -100)), None, false)
            .expect("padded loss")
            .double_value(&[])
    };
    // Means over 3 and 3 counted targets: the packed mean is their average.
    let want = (one(&a, &ta) * 3.0 + one(&b, &tb) * 3.0) / 6.0;
    assert!((loss_packed - want).abs() < 1e-5, "{loss_packed} vs {want}");
    format!(
        "{name} packed vs padded logits: max |diff| {diff_a:.2e}, {diff_b:.2e}; \
         packed loss {loss_packed:.6}, per-example padded {want:.6}"
    )
}

#[test]
fn lora_trains_only_the_adapters_and_lowers_the_loss() {
    let cfg = lora(4, &LLAMA_TARGETS);
    let model = HfModel::load_for_training(
        &fixture("qwen2-tied"),
        Device::Cpu,
        Kind::Float,
        Some(&cfg),
        7,
    )
    .expect("fixture loads");
    let params = copy(model.trainable());
    assert_eq!(params.len(), 2 * 7 * 2, "A and B per target per layer");
    assert_eq!(
        params[0].0,
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
    );
    assert_eq!(params[1].1.size(), [64, 4], "B is [out, r]");
    let ids = matrix(&[
        vec![1, 17, 42, 255, 3, 99, 128, 7],
        vec![200, 5, 5, 60, 0, 31, 250, 12],
    ]);
    let targets = matrix(&[
        vec![17, 42, 255, 3, 99, 128, 7, -100],
        vec![5, 5, 60, 0, 31, 250, 12, -100],
    ]);
    let mut opt = AdamW::new(&params, 0.0).expect("optimizer");
    let mut losses = Vec::new();
    for step in 0..8 {
        for (_, p) in &params {
            p.shallow_clone().zero_grad();
        }
        let loss = model.loss(&ids, &targets, None, true).expect("loss");
        loss.backward();
        if step == 0 {
            for (name, t) in model.weights() {
                assert!(!t.requires_grad(), "{name} is frozen");
                assert!(!t.grad().defined(), "{name} got a grad");
            }
            for (name, p) in &params {
                let norm = p.grad().norm().double_value(&[]);
                // B starts at zero, so A's first grad is zero and B's is not.
                if name.contains("lora_B") {
                    assert!(norm > 0.0, "{name} has no grad");
                } else {
                    assert_eq!(norm, 0.0, "{name}");
                }
            }
        }
        losses.push(loss.double_value(&[]));
        opt.step(&params, 1e-2).expect("step");
    }
    eprintln!("LoRA losses: {losses:?}");
    assert!(losses[7] < losses[0] - 0.1, "{losses:?}");
}

#[test]
fn lora_adapters_start_as_peft_draws_them() {
    let cfg = lora(4, &[LoraTarget::VProj]);
    let load = |seed| {
        LlamaModel::load_for_training(
            &fixture("llama-gqa"),
            Device::Cpu,
            Kind::Float,
            Some(&cfg),
            seed,
        )
        .expect("fixture loads")
    };
    let (one, again, other) = (load(5), load(5), load(6));
    let a = &one.trainable()[0].1;
    let bound = 1.0 / 64f64.sqrt();
    assert!(a.abs().max().double_value(&[]) <= bound);
    assert!(a.abs().max().double_value(&[]) > bound * 0.8);
    assert!(a.equal(&again.trainable()[0].1), "seeded");
    assert!(!a.equal(&other.trainable()[0].1), "the seed matters");
    assert_eq!(
        one.trainable()[1]
            .1
            .abs()
            .sum(Kind::Float)
            .double_value(&[]),
        0.0
    );
    assert_eq!(one.lora(), Some(&cfg));
}

#[test]
fn load_trained_restores_by_name_and_refuses_wrong_tensors() {
    let cfg = lora(2, &[LoraTarget::QProj]);
    let dir = fixture("llama-gqa");
    let mut model = LlamaModel::load_for_training(&dir, Device::Cpu, Kind::Float, Some(&cfg), 1)
        .expect("fixture loads");
    let saved: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().randn_like()))
        .collect();
    model.load_trained(&saved).expect("restores");
    for ((_, got), (_, want)) in model.trainable().iter().zip(&saved) {
        assert!(got.equal(want));
    }
    let err = |tensors: &[(String, Tensor)], model: &mut LlamaModel| -> String {
        match model.load_trained(tensors) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("accepted"),
        }
    };
    let mut unknown = copy(&saved);
    unknown.push((
        "model.norm.weight".into(),
        Tensor::zeros([64], (Kind::Float, Device::Cpu)),
    ));
    let msg = err(&unknown, &mut model);
    assert!(
        msg.contains("`model.norm.weight`") && msg.contains("LoRA"),
        "{msg}"
    );
    let mut shape = copy(&saved);
    shape[1].1 = Tensor::zeros([3, 2], (Kind::Float, Device::Cpu));
    let msg = err(&shape, &mut model);
    assert!(
        msg.contains(&saved[1].0) && msg.contains("[3, 2]") && msg.contains("[64, 2]"),
        "{msg}"
    );
    let msg = err(&saved[1..], &mut model);
    assert!(
        msg.contains(&saved[0].0) && msg.contains("missing"),
        "{msg}"
    );

    let mut full = LlamaModel::load(&dir, Device::Cpu).expect("fixture loads");
    let names: Vec<&str> = full.trainable().iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "model.embed_tokens.weight");
    assert_eq!(names.last().copied(), Some("lm_head.weight"));
    let shifted: Vec<(String, Tensor)> = full
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.detach() + 1.0))
        .collect();
    full.load_trained(&shifted).expect("restores every weight");
    let err = full
        .load_trained(&saved)
        .expect_err("adapters into a full model");
    assert!(matches!(err, HfError::UnknownTrained { .. }), "{err}");
}

#[test]
fn a_bf16_base_is_held_once_in_bf16_under_f32_adapters() {
    let dir = fixture("qwen2-tied");
    let cfg = lora(4, &[LoraTarget::QProj, LoraTarget::UpProj]);
    let bf16 = HfModel::load_for_training(&dir, Device::Cpu, Kind::BFloat16, Some(&cfg), 2)
        .expect("fixture loads");
    let f32 = HfModel::load_for_training(&dir, Device::Cpu, Kind::Float, Some(&cfg), 2)
        .expect("fixture loads");
    assert_eq!(bf16.base_kind(), Kind::BFloat16);
    assert!(bf16
        .weights()
        .iter()
        .all(|(_, t)| t.kind() == Kind::BFloat16));
    assert!(bf16
        .trainable()
        .iter()
        .all(|(_, t)| t.kind() == Kind::Float));
    let ids = matrix(&[vec![1, 17, 42, 255, 3, 99]]);
    let targets = matrix(&[vec![17, 42, 255, 3, 99, -100]]);
    let loss = bf16.loss(&ids, &targets, None, true).expect("loss");
    assert_eq!(loss.kind(), Kind::Float);
    loss.backward();
    let b_grad = bf16.trainable()[1].1.grad();
    assert_eq!(b_grad.kind(), Kind::Float);
    assert!(b_grad.norm().double_value(&[]) > 0.0);
    let want = f32
        .loss(&ids, &targets, None, false)
        .expect("loss")
        .double_value(&[]);
    let got = loss.double_value(&[]);
    eprintln!("bf16 base loss {got:.4}, f32 base loss {want:.4}");
    assert!((got - want).abs() < 0.05 * want, "{got} vs {want}");

    let full = LlamaModel::load_for_training(&dir, Device::Cpu, Kind::BFloat16, None, 0)
        .expect("fixture loads");
    assert!(full
        .trainable()
        .iter()
        .all(|(_, t)| t.kind() == Kind::BFloat16 && t.requires_grad()));
}

#[test]
fn adapter_dropout_applies_only_while_training() {
    let cfg = LoraConfig {
        dropout: 0.5,
        ..lora(4, &LLAMA_TARGETS)
    };
    let mut model = LlamaModel::load_for_training(
        &fixture("llama-gqa"),
        Device::Cpu,
        Kind::Float,
        Some(&cfg),
        4,
    )
    .expect("fixture loads");
    tch::manual_seed(5);
    let trained: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.detach().randn_like() * 0.1))
        .collect();
    model.load_trained(&trained).expect("adapters load");
    let model = HfModel::Llama(model);
    let ids = matrix(&[vec![1, 17, 42, 255, 3, 99]]);
    let eval = model.logits_train(&ids, None, false).expect("eval");
    let cached = model.forward(&ids).expect("forward");
    assert!((&eval - &cached).abs().max().double_value(&[]) < 1e-5);
    let train = model.logits_train(&ids, None, true).expect("train");
    assert!((&train - &eval).abs().max().double_value(&[]) > 1e-3);
}

#[test]
fn gpt2_lora_adapts_conv1d_projections_and_lowers_the_loss() {
    let all = [LoraTarget::CAttn, LoraTarget::CProj, LoraTarget::CFc];
    let model = HfModel::load_for_training(
        &fixture("gpt2"),
        Device::Cpu,
        Kind::Float,
        Some(&lora(4, &all)),
        7,
    )
    .expect("fixture loads");
    let params = copy(model.trainable());
    // c_proj names both attn.c_proj and mlp.c_proj, as peft matches it.
    assert_eq!(params.len(), 2 * 4 * 2, "A and B per projection per layer");
    assert_eq!(
        params[0].0,
        "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"
    );
    assert_eq!(params[0].1.size(), [4, 64], "A is [r, in]");
    assert_eq!(params[1].1.size(), [192, 4], "B is [out, r]");
    assert_eq!(params[5].1.size(), [256, 4], "mlp.c_fc's B");
    assert_eq!(params[6].1.size(), [4, 256], "mlp.c_proj's A");
    let ids = matrix(&[vec![1, 17, 42, 255, 3, 99, 128, 7]]);
    let targets = matrix(&[vec![17, 42, 255, 3, 99, 128, 7, -100]]);
    let mut opt = AdamW::new(&params, 0.0).expect("optimizer");
    let mut losses = Vec::new();
    for _ in 0..8 {
        for (_, p) in &params {
            p.shallow_clone().zero_grad();
        }
        let loss = model.loss(&ids, &targets, None, true).expect("loss");
        loss.backward();
        losses.push(loss.double_value(&[]));
        opt.step(&params, 1e-2).expect("step");
    }
    for (name, t) in model.weights() {
        assert!(!t.grad().defined(), "{name} is frozen");
    }
    eprintln!("GPT-2 LoRA losses: {losses:?}");
    assert!(losses[7] < losses[0] - 0.1, "{losses:?}");
}

#[test]
fn lora_targets_the_architecture_lacks_are_refused_by_name() {
    let refuse = |name: &str, target: LoraTarget| -> String {
        let cfg = lora(2, &[target]);
        match HfModel::load_for_training(&fixture(name), Device::Cpu, Kind::Float, Some(&cfg), 0) {
            Ok(_) => panic!("{name} took {target:?}"),
            Err(e) => e.to_string(),
        }
    };
    let msg = refuse("gpt2", LoraTarget::QProj);
    assert!(
        msg.contains("GPT2LMHeadModel")
            && msg.contains("q_proj")
            && msg.contains("c_attn, c_proj, c_fc"),
        "{msg}"
    );
    let msg = refuse("llama-gqa", LoraTarget::CAttn);
    assert!(
        msg.contains("LlamaForCausalLM") && msg.contains("c_attn") && msg.contains("q_proj"),
        "{msg}"
    );
}
