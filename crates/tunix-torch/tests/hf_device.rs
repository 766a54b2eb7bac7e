//! The pretrained decoder's training and decoding on each device, in the
//! precision the trainer uses there: a LoRA step over the frozen base (f32
//! on the CPU, a bf16 base under f32 adapters on CUDA) moves only the
//! adapters (B, first) and gives the CPU's f32 loss within the precision's tolerance;
//! greedy KV-cache decoding gives `transformers`' continuations
//! (`fixtures/hf/llama-gqa/generate.json`). `cpu::NAME` always runs;
//! `cuda::NAME` with the `cuda` feature (`make gpu-test`) on `cuda:0`, and
//! fails, saying so, where libtorch sees no CUDA device.

use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::{LoraConfig, LoraTarget};
use tunix_torch::hf::{generate_greedy, GenerateOptions, HfModel};
use tunix_torch::train::optim::{clip_grad_norm, zero_grad, AdamW};

#[macro_use]
mod on_device;

on_every_device!(
    a_lora_step_on_the_device_moves_only_the_adapters,
    greedy_decoding_on_the_device_gives_transformers_continuations,
);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(name)
}

fn json(path: PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// The base weights' dtype the trainer uses on `device`.
fn base_kind(device: Device) -> Kind {
    match device {
        Device::Cpu => Kind::Float,
        _ => Kind::BFloat16,
    }
}

fn lora() -> LoraConfig {
    LoraConfig {
        rank: 4,
        alpha: 8.0,
        dropout: 0.0,
        target_modules: vec![LoraTarget::QProj, LoraTarget::VProj, LoraTarget::DownProj],
    }
}

/// A fixed batch of token ids and next-token targets `[2, 12]`.
fn batch(device: Device) -> (Tensor, Tensor) {
    let ids: Vec<i64> = (0..26).map(|i| (i * 37 + 11) % 300).collect();
    let inputs = Tensor::from_slice(&[&ids[0..12], &ids[13..25]].concat()).view([2, 12]);
    let targets = Tensor::from_slice(&[&ids[1..13], &ids[14..26]].concat()).view([2, 12]);
    (inputs.to_device(device), targets.to_device(device))
}

/// The loss of the batch and the model after one AdamW step on it.
fn one_step(device: Device) -> (f64, HfModel, Vec<Tensor>) {
    let model = HfModel::load_for_training(
        &fixture("llama-gqa"),
        device,
        base_kind(device),
        Some(&lora()),
        5,
    )
    .expect("the fixture loads for training");
    let params: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    let before: Vec<Tensor> = params
        .iter()
        .map(|(_, t)| t.detach().to_device(Device::Cpu).copy())
        .collect();
    let mut opt = AdamW::new(&params, 0.0).expect("optimizer");
    let (inputs, targets) = batch(device);
    zero_grad(&params);
    let loss = model
        .loss(&inputs, &targets, None, true)
        .expect("the loss computes");
    loss.backward();
    let _norm = clip_grad_norm(&params, 1.0).expect("clip");
    opt.step(&params, 1e-2).expect("step");
    (loss.double_value(&[]), model, before)
}

fn a_lora_step_on_the_device_moves_only_the_adapters(device: Device) {
    let (loss, model, before) = one_step(device);
    assert!(loss.is_finite(), "loss {loss}");
    assert_eq!(model.base_kind(), base_kind(device));
    // Only adapters train; B starts at zero, so the first step moves B
    // (A's first gradient is B's transpose times the rest: zero).
    for ((name, t), old) in model.trainable().iter().zip(&before) {
        assert!(name.contains(".lora_"), "{name} is an adapter");
        assert_eq!(t.kind(), Kind::Float, "{name}: adapters are f32");
        assert!(t.device() == device, "{name} lives on {device:?}");
        let moved = (t.detach().to_device(Device::Cpu) - old)
            .abs()
            .max()
            .double_value(&[]);
        assert_eq!(
            moved > 0.0,
            name.contains(".lora_B."),
            "{name}: moved {moved}"
        );
    }
    let (cpu_loss, _, _) = one_step(Device::Cpu);
    let tolerance = if device == Device::Cpu { 0.0 } else { 2e-2 };
    assert!(
        (loss - cpu_loss).abs() <= tolerance * cpu_loss.abs(),
        "{device:?} loss {loss} vs the CPU's {cpu_loss}"
    );
}

fn greedy_decoding_on_the_device_gives_transformers_continuations(device: Device) {
    let reference = json(fixture("llama-gqa").join("generate.json"));
    let prompts: Vec<Vec<i64>> =
        serde_json::from_value(reference["prompt_ids"].clone()).expect("prompt ids");
    let want: Vec<Vec<i64>> =
        serde_json::from_value(reference["batch"].clone()).expect("batch continuations");
    let model = HfModel::load(&fixture("llama-gqa"), device).expect("the fixture loads");
    let opts = GenerateOptions {
        max_new_tokens: reference["max_new_tokens"].as_u64().expect("max") as usize,
        stop_ids: serde_json::from_value(reference["stop_ids"].clone()).expect("stop ids"),
        pad_id: 0,
    };
    let got = generate_greedy(&model, &prompts, &opts).expect("generates");
    assert_eq!(got, want, "greedy continuations on {device:?}");
}
