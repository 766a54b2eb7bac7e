//! Device-parameterised tests of the trainer's core behaviours: one
//! training step, greedy generation with the KV cache, and a checkpoint
//! round trip, each written once as a function of the device. The
//! `on_every_device!` list runs every one on the CPU always (`cpu::NAME`)
//! and, with the `cuda` feature (`make gpu-test`), on `cuda:0` as well
//! (`cuda::NAME`) in the precision the trainer uses there (bf16 mixed). A
//! CUDA variant on a machine where libtorch sees no CUDA device fails,
//! saying so: it never passes unseen.

use std::sync::{Mutex, MutexGuard, PoisonError};

use tch::{Device, Kind, Tensor};
use tunix_core::dataset::Example;
use tunix_core::manifest::train::{Batching, LossOn};
use tunix_core::presets::ModelDims;
use tunix_core::rng::derive_seed;
use tunix_torch::model::device::Precision;
use tunix_torch::model::generate::{generate, GenerateSettings};
use tunix_torch::model::gpt::Gpt;
use tunix_torch::model::tokenizer;
use tunix_torch::train::batches::Examples;
use tunix_torch::train::checkpoint::{self, CheckpointState, MODEL_FILE, OPTIMIZER_FILE};
use tunix_torch::train::device_batch::{batch_loss, to_tensors};
use tunix_torch::train::encode::ByteEncoder;
use tunix_torch::train::optim::{clip_grad_norm, zero_grad, AdamW};

#[macro_use]
mod on_device;

on_every_device!(
    one_training_step_updates_every_parameter_on_the_device,
    greedy_generation_with_the_kv_cache_matches_full_recomputation,
    a_checkpoint_round_trip_restores_weights_optimizer_and_next_step_loss,
);

const SEED: u64 = 17;
const ROWS: usize = 4;
const DROPOUT: f64 = 0.1;
const LEARNING_RATE: f64 = 1e-3;
const WEIGHT_DECAY: f64 = 0.1;
const GRAD_CLIP: f64 = 1.0;
const TRAIN_STEPS: u32 = 30;

/// libtorch's generators are global to the process: tests that seed and
/// draw from them (initialisation, dropout) run one at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}

fn dims() -> ModelDims {
    ModelDims {
        n_layer: 2,
        n_head: 2,
        n_embd: 32,
        context_length: 64,
        vocab_size: 256,
    }
}

fn model(device: Device, precision: Precision, seed: u64, dropout: f64) -> Gpt {
    Gpt::new(dims(), dropout, precision, device, seed).expect("build the model")
}

/// A few examples, packed as the trainer packs them by default.
fn examples() -> Examples {
    let ex = |prompt: &str, completion: &str| Example {
        prompt: prompt.to_string(),
        completion: completion.to_string(),
        answer: String::new(),
        steps: 1,
    };
    let set = [
        ex("1+1?", "<<1+1=2>> Answer: 2"),
        ex("What is 12 times 3?", "<<12*3=36>> Answer: 36"),
        ex("7-2?", "<<7-2=5>> Answer: 5"),
        ex("Tom has 4 bags of 9 apples.", "<<4*9=36>> Answer: 36"),
    ];
    Examples::new(
        &set,
        "Q: {prompt}\nA:",
        dims().context_length as usize,
        LossOn::Completion,
        Batching::Packed,
        &ByteEncoder,
    )
    .expect("bytes always encode")
}

/// The loss of optimizer step `step`'s batch, its dropout seeded with
/// (seed, step) as the trainer seeds it (train/run.rs).
fn step_loss(model: &Gpt, step: u32, train: bool) -> Tensor {
    tch::manual_seed(derive_seed(SEED, &format!("dropout/{step}")) as i64);
    let batch = examples().train_batch(SEED, u64::from(step), ROWS);
    let tensors = to_tensors(&batch, model.device()).expect("copy the batch to the device");
    batch_loss(model, &tensors, train).expect("forward pass")
}

/// One optimizer step as the trainer takes it: loss, backward, gradient
/// clipping, AdamW. Returns the step's loss.
fn train_step(model: &Gpt, opt: &mut AdamW, step: u32) -> f64 {
    train_step_at(model, opt, step, LEARNING_RATE)
}

/// [`train_step`] at learning rate `lr`.
fn train_step_at(model: &Gpt, opt: &mut AdamW, step: u32, lr: f64) -> f64 {
    let params = model.named_parameters();
    zero_grad(params);
    let loss = step_loss(model, step, true);
    loss.f_backward().expect("backward pass");
    let norm = clip_grad_norm(params, GRAD_CLIP).expect("clip the gradients");
    assert!(norm.double_value(&[]).is_finite(), "gradient norm");
    opt.step(params, lr).expect("AdamW step");
    loss.double_value(&[])
}

/// Step 0's loss without dropout or gradients.
fn eval_loss(model: &Gpt) -> f64 {
    let _guard = tch::no_grad_guard();
    step_loss(model, 0, false).double_value(&[])
}

fn one_training_step_updates_every_parameter_on_the_device(device: Device) {
    let _serial = serial();
    let model = model(device, Precision::for_device(device), SEED, DROPOUT);
    let params = model.named_parameters();
    let before: Vec<Tensor> = params.iter().map(|(_, p)| p.detach().copy()).collect();
    let mut opt = AdamW::new(params, WEIGHT_DECAY).expect("build the optimizer");
    let loss_before = eval_loss(&model);

    let loss = train_step(&model, &mut opt, 0);

    assert!(loss.is_finite(), "training loss {loss} on {device:?}");
    assert_eq!(opt.steps_taken(), 1);
    for ((name, p), old) in params.iter().zip(&before) {
        assert_eq!(p.device(), device, "parameter {name}");
        assert_eq!(p.kind(), Kind::Float, "master weights of {name} stay f32");
        assert_eq!(p.grad().device(), device, "gradient of {name}");
        assert!(!p.equal(old), "parameter {name} did not change");
    }
    let state = opt.state(params);
    assert_eq!(state.len(), 2 * params.len());
    for (name, moment) in &state {
        assert_eq!(moment.device(), device, "optimizer state {name}");
        assert_eq!(moment.kind(), Kind::Float, "optimizer state {name}");
        let size = moment.abs().sum(Kind::Float).double_value(&[]);
        assert!(
            size.is_finite() && size > 0.0,
            "optimizer state {name} is {size}"
        );
    }
    let loss_after = eval_loss(&model);
    assert!(
        loss_after < loss_before,
        "the step did not lower the loss of its own batch: {loss_before} -> {loss_after}"
    );
}

/// A model trained for a few steps on [`examples`], whose greedy outputs
/// are more than its prompt's last byte repeated (an untrained model with a
/// tied output head mostly repeats it).
fn trained(device: Device, precision: Precision) -> Gpt {
    let model = model(device, precision, SEED, 0.0);
    let mut opt = AdamW::new(model.named_parameters(), 0.0).expect("build the optimizer");
    for step in 0..TRAIN_STEPS {
        train_step_at(&model, &mut opt, step, 1e-2);
    }
    model
}

/// Greedy bytes after `prompt`, recomputing the whole sequence for every
/// token (no cache).
fn full_recomputation(model: &Gpt, prompt: &str, new_tokens: usize) -> String {
    let _guard = tch::no_grad_guard();
    let mut ids = tokenizer::encode(prompt);
    let mut bytes = Vec::new();
    for _ in 0..new_tokens {
        let x = Tensor::from_slice(&ids)
            .unsqueeze(0)
            .to_device(model.device());
        let logits = model.forward(&x, false).expect("forward pass");
        let next = logits.select(1, ids.len() as i64 - 1).argmax(-1, false);
        let tok = next.int64_value(&[0]);
        bytes.push(tokenizer::token_byte(tok));
        ids.push(tok);
    }
    tokenizer::decode(&bytes)
}

fn distinct_bytes(text: &str) -> usize {
    text.bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len()
}

fn greedy_generation_with_the_kv_cache_matches_full_recomputation(device: Device) {
    let _serial = serial();
    let new_tokens = 12;
    let settings = GenerateSettings {
        max_new_tokens: new_tokens,
        stop: vec![],
        batch_size: 3,
        calculator: false,
    };
    let prompts: Vec<String> = ["Q: 3+4?\nA:", "Q: what is 12 times 3?\nA:", "x"]
        .iter()
        .map(|s| s.to_string())
        .collect();

    // In f32 the cache changes only how the work is split, so greedy
    // decoding (batched, left-padded) picks the tokens of full
    // recomputation.
    let f32_model = trained(device, Precision::F32);
    let cached = generate(&f32_model, &prompts, &settings, |_| {}).expect("generate");
    assert!(
        cached.iter().any(|g| distinct_bytes(&g.text) > 3),
        "the trained model only repeats itself: {cached:?}"
    );
    for (prompt, got) in prompts.iter().zip(&cached) {
        assert!(!got.prompt_truncated);
        assert_eq!(
            got.text,
            full_recomputation(&f32_model, prompt, new_tokens),
            "prompt {prompt:?} on {device:?}"
        );
    }

    // The device computes what the CPU computes (same seed, same weights).
    let on_cpu = model(Device::Cpu, Precision::F32, SEED, 0.0);
    let on_device = model(device, Precision::F32, SEED, 0.0);
    let ids = Tensor::from_slice(&tokenizer::encode(&prompts[1])).unsqueeze(0);
    let expected = on_cpu.forward(&ids, false).expect("CPU forward pass");
    let got = on_device
        .forward(&ids.to_device(device), false)
        .expect("forward pass")
        .to_device(Device::Cpu);
    assert!(
        got.allclose(&expected, 1e-4, 1e-4, false),
        "f32 logits on {device:?} differ from the CPU's by {}",
        (&got - &expected).abs().max().double_value(&[])
    );

    // In the trainer's precision for the device, decoding is
    // deterministic.
    let precision = Precision::for_device(device);
    let retrained;
    let native = if precision == Precision::F32 {
        &f32_model
    } else {
        retrained = trained(device, precision);
        &retrained
    };
    let first = generate(native, &prompts, &settings, |_| {}).expect("generate");
    let again = generate(native, &prompts, &settings, |_| {}).expect("generate again");
    assert_eq!(first, again, "decoding on {device:?} is not deterministic");
}

fn a_checkpoint_round_trip_restores_weights_optimizer_and_next_step_loss(device: Device) {
    let _serial = serial();
    let precision = Precision::for_device(device);
    let trained = model(device, precision, SEED, DROPOUT);
    let params = trained.named_parameters();
    let mut opt = AdamW::new(params, WEIGHT_DECAY).expect("build the optimizer");
    let loss = train_step(&trained, &mut opt, 0);

    let run = tempfile::tempdir().expect("temporary run folder");
    let mut state = CheckpointState {
        step: 1,
        config_hash: "device-test".into(),
        seed: SEED,
        rng_scheme: checkpoint::RNG_SCHEME.into(),
        loss: Some(loss),
        model_blake3: String::new(),
        optimizer_blake3: String::new(),
    };
    checkpoint::save(run.path(), &mut state, params, &opt.state(params), &|_| {
        Ok(Vec::new())
    })
    .expect("save");

    let (step, dir) = checkpoint::list(run.path())
        .pop()
        .expect("the checkpoint is listed");
    assert_eq!(step, 1);
    let read = checkpoint::read_state(&dir).expect("read state.json");
    assert_eq!(read, state);
    let weights =
        checkpoint::read_tensors(&dir.join(MODEL_FILE), &read.model_blake3).expect("weights");
    let moments = checkpoint::read_tensors(&dir.join(OPTIMIZER_FILE), &read.optimizer_blake3)
        .expect("optimizer state");

    // A model initialised differently, then loaded.
    let restored = model(device, precision, SEED + 1, DROPOUT);
    let restored_params = restored.named_parameters();
    assert!(!restored_params[0].1.equal(&params[0].1));
    restored.load(&weights).expect("load the weights");
    let mut restored_opt = AdamW::new(restored_params, WEIGHT_DECAY).expect("build the optimizer");
    restored_opt
        .load(restored_params, &moments, u64::from(read.step))
        .expect("load the optimizer state");

    for ((name, a), (_, b)) in params.iter().zip(restored_params) {
        assert_eq!(b.device(), device, "restored parameter {name}");
        assert!(a.equal(b), "restored parameter {name} differs");
    }
    let saved_state = opt.state(params);
    for ((name, a), (_, b)) in saved_state.iter().zip(&restored_opt.state(restored_params)) {
        assert_eq!(b.device(), device, "restored optimizer state {name}");
        assert!(a.equal(b), "restored optimizer state {name} differs");
    }
    assert_eq!(restored_opt.steps_taken(), opt.steps_taken());

    let next = train_step(&trained, &mut opt, 1);
    let next_restored = train_step(&restored, &mut restored_opt, 1);
    assert!(next.is_finite(), "next-step loss {next} on {device:?}");
    assert_eq!(
        next.to_bits(),
        next_restored.to_bits(),
        "next-step loss {next} vs {next_restored} after the round trip on {device:?}"
    );
}
