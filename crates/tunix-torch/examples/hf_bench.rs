//! The Rust side of `bench/hf_cpu.py` (`make bench-hf`): LoRA fine-tuning
//! and greedy decoding throughput of the Hugging Face decoder on the CPU.
//!
//! ```text
//! hf_bench train  MODEL_DIR DATA_JSON THREADS
//! hf_bench decode MODEL_DIR DATA_JSON THREADS
//! ```
//!
//! `DATA_JSON` (written by `bench/hf_cpu.py`, read by both sides) holds the
//! fixed token ids and the settings: `inputs`/`targets` `[batch, seq]`,
//! `prompts` `[B, P]`, `lora` (`rank`, `alpha`, `targets`), `lr`,
//! `weight_decay`, `warmup`, `steps`, `reps`, `new_tokens`, `decode_reps`.
//! `train`: the model loaded for LoRA (f32 base, frozen), `warmup` steps,
//! then `reps` timed runs of `steps` optimizer steps (forward, backward,
//! gradient clipping at 1.0, AdamW), each run's tokens/s. `decode`: greedy
//! decoding of every prompt for exactly `new_tokens` tokens (no stop ids),
//! one untimed warm-up call, then `decode_reps` timed calls, each call's new
//! tokens per second (prefill included). Prints one JSON line with the
//! per-run rates and the process's peak resident memory (`VmHWM`);
//! `HF_BENCH_PHASES=1` also prints each training step's phase times.
//! `"base_dtype": "bf16"` in `DATA_JSON` holds the frozen base in bf16, as
//! the trainer does on CUDA (`bench/hf_memory.py` measures its peak).

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use tch::{Device, Kind, Tensor};
use tunix_core::manifest::train::{LoraConfig, LoraTarget};
use tunix_torch::hf::{generate_greedy, GenerateOptions, HfModel};
use tunix_torch::train::optim::{clip_grad_norm, zero_grad, AdamW};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, dir, data, threads] = &args[..] else {
        panic!("usage: hf_bench train|decode MODEL_DIR DATA_JSON THREADS");
    };
    let threads: i32 = threads.parse().expect("THREADS is a number");
    tch::set_num_threads(threads);
    let text = std::fs::read_to_string(data).expect("DATA_JSON is readable");
    let data: Value = serde_json::from_str(&text).expect("DATA_JSON is JSON");
    let dir = Path::new(dir);
    let mut out = match mode.as_str() {
        "train" => train(dir, &data),
        "decode" => decode(dir, &data),
        other => panic!("mode must be train or decode, got {other}"),
    };
    out["threads"] = json!(tch::get_num_threads());
    out["peak_rss_bytes"] = json!(peak_rss_bytes());
    #[allow(clippy::print_stdout)] // the benchmark's report, read by bench/hf_cpu.py
    {
        println!("{out}");
    }
}

fn train(dir: &Path, data: &Value) -> Value {
    let lora = lora_config(&data["lora"]);
    // The base weights' dtype: f32 (the CPU trainer's), or bf16 (the CUDA
    // trainer's, held once: `bench/hf_memory.py`).
    let kind = match data["base_dtype"].as_str() {
        Some("bf16") => Kind::BFloat16,
        _ => Kind::Float,
    };
    let model = HfModel::load_for_training(dir, Device::Cpu, kind, Some(&lora), 0)
        .expect("the model folder loads for LoRA training");
    let inputs = ids(&data["inputs"]);
    let targets = ids(&data["targets"]);
    let tokens = inputs.numel() as f64;
    let params: Vec<(String, Tensor)> = model
        .trainable()
        .iter()
        .map(|(n, t)| (n.clone(), t.shallow_clone()))
        .collect();
    let lr = data["lr"].as_f64().expect("lr");
    let mut opt = AdamW::new(
        &params,
        data["weight_decay"].as_f64().expect("weight_decay"),
    )
    .expect("optimizer state allocates");
    let mut step = || {
        let t0 = Instant::now();
        zero_grad(&params);
        let loss = model
            .loss(&inputs, &targets, None, true)
            .expect("the training forward pass runs");
        let t1 = Instant::now();
        loss.backward();
        let t2 = Instant::now();
        let _norm = clip_grad_norm(&params, 1.0).expect("clipping runs");
        opt.step(&params, lr).expect("the optimizer steps");
        if std::env::var_os("HF_BENCH_PHASES").is_some() {
            #[allow(clippy::print_stderr)] // phase times on request, for profiling
            {
                eprintln!(
                    "forward {:?} backward {:?} clip+adamw {:?}",
                    t1 - t0,
                    t2 - t1,
                    t2.elapsed()
                );
            }
        }
        loss.double_value(&[])
    };
    for _ in 0..count(data, "warmup") {
        step();
    }
    let steps = count(data, "steps");
    let mut rates = Vec::new();
    let mut last_loss = f64::NAN;
    for _ in 0..count(data, "reps") {
        let start = Instant::now();
        for _ in 0..steps {
            last_loss = step();
        }
        rates.push(tokens * steps as f64 / start.elapsed().as_secs_f64());
    }
    let base_bytes: i64 = model
        .weights()
        .iter()
        .map(|(_, t)| t.numel() as i64 * t.kind().elt_size_in_bytes() as i64)
        .sum();
    json!({
        "side": "tunix-rt",
        "mode": "train",
        "tokens_per_s": rates,
        "final_loss": last_loss,
        "trainable_params": params.iter().map(|(_, t)| t.numel()).sum::<usize>(),
        "base_weight_bytes": base_bytes,
        "base_dtype": format!("{kind:?}"),
    })
}

fn decode(dir: &Path, data: &Value) -> Value {
    let model = HfModel::load(dir, Device::Cpu).expect("the model folder loads");
    let prompts: Vec<Vec<i64>> = rows(&data["prompts"]);
    let new_tokens = count(data, "new_tokens");
    let opts = GenerateOptions {
        max_new_tokens: new_tokens,
        stop_ids: Vec::new(),
        pad_id: 0,
    };
    let run = || {
        let out = generate_greedy(&model, &prompts, &opts).expect("decoding runs");
        assert!(out.iter().all(|row| row.len() == new_tokens));
        out
    };
    let first = run();
    let mut rates = Vec::new();
    for _ in 0..count(data, "decode_reps") {
        let start = Instant::now();
        run();
        rates.push((prompts.len() * new_tokens) as f64 / start.elapsed().as_secs_f64());
    }
    json!({
        "side": "tunix-rt",
        "mode": "decode",
        "tokens_per_s": rates,
        "first_row": first[0],
    })
}

fn lora_config(v: &Value) -> LoraConfig {
    let targets = v["targets"]
        .as_array()
        .expect("lora.targets is a list")
        .iter()
        .map(|t| {
            let name = t.as_str().expect("a target is a string");
            *LoraTarget::ALL
                .iter()
                .find(|x| {
                    serde_json::to_value(x)
                        .ok()
                        .as_ref()
                        .and_then(Value::as_str)
                        == Some(name)
                })
                .expect("a LoRA target is one of q_proj..down_proj")
        })
        .collect();
    LoraConfig {
        rank: v["rank"].as_u64().expect("lora.rank") as u32,
        alpha: v["alpha"].as_f64().expect("lora.alpha"),
        dropout: 0.0,
        target_modules: targets,
    }
}

fn count(data: &Value, key: &str) -> usize {
    data[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is a count")) as usize
}

fn rows(v: &Value) -> Vec<Vec<i64>> {
    v.as_array()
        .expect("token ids are a list of rows")
        .iter()
        .map(|row| {
            row.as_array()
                .expect("a row is a list")
                .iter()
                .map(|x| x.as_i64().expect("a token id is an integer"))
                .collect()
        })
        .collect()
}

fn ids(v: &Value) -> Tensor {
    let rows = rows(v);
    let width = rows[0].len() as i64;
    let flat: Vec<i64> = rows.concat();
    Tensor::from_slice(&flat).view([-1, width])
}

/// The process's peak resident set size: `VmHWM` of /proc/self/status
/// (this program's own, unlike `getrusage`'s `ru_maxrss`, which after
/// `exec` still counts the parent that forked it).
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status (Linux)");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/self/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("VmHWM is a number of kB");
    kib * 1024
}
