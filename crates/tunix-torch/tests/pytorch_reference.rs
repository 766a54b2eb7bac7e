//! The trainer's checkpoints load into the PyTorch reference model
//! (bench/train_ref.py) and give the same loss: the weights are what they
//! claim to be, readable outside tunix-rt.

use std::path::PathBuf;

use tunix_core::protocol::{TrainerRequest, PROTOCOL_VERSION};
use tunix_torch::emit::Emitter;
use tunix_torch::model::device::Precision;
use tunix_torch::model::gpt::Gpt;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn checkpoints_load_into_the_pytorch_reference_model_with_the_same_loss() {
    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!("skipped: set TUNIX_TEST_PYTHON to a python with torch and safetensors (make unit does)");
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let run_dir = tmp.path().join("run");
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let spec = serde_json::from_value(serde_json::json!({
        "model": {"preset": "gpt-nano", "n_layer": 1, "n_head": 2, "n_embd": 32, "context_length": 192},
        "dataset": {"name": "dev-reasoning-v2", "train_examples": 300, "val_examples": 20},
        "training": {"learning_rate": 3.0e-3, "per_device_batch_size": 4, "warmup_steps": 5,
                     "max_steps": 10, "checkpoint_interval": 10, "log_interval": 5},
        "device": "cpu"
    }))
    .expect("spec");
    let request = TrainerRequest {
        protocol: PROTOCOL_VERSION,
        run_dir: run_dir.clone(),
        workspace: tmp.path().to_path_buf(),
        spec,
        evalset: None,
        until_step: 10,
        resume: None,
        identity: "test".into(),
        manifest: tmp.path().join("p.yaml"),
        trial_id: None,
        init: None,
        model_dir: None,
        prompt_template: None,
    };
    let mut events = Emitter::to_writer(Box::new(std::io::sink()));
    let step = tunix_torch::train::run::run(&request, &mut events).expect("trains");
    assert_eq!(step, 10);
    let weights = run_dir.join("checkpoints/step-00000010/model.safetensors");

    let ids: Vec<i64> = "Q: 2+3?\nA: 2+3=5. Answer: 5\n"
        .bytes()
        .map(i64::from)
        .collect();
    let dims = tunix_core::presets::ModelDims {
        n_layer: 1,
        n_head: 2,
        n_embd: 32,
        context_length: 192,
        vocab_size: 256,
    };
    let model = Gpt::new(dims, 0.0, Precision::F32, tch::Device::Cpu, 0).expect("model");
    model
        .load(&tch::Tensor::read_safetensors(&weights).expect("read"))
        .expect("load");
    let x = tch::Tensor::from_slice(&ids[..ids.len() - 1]).unsqueeze(0);
    let y = tch::Tensor::from_slice(&ids[1..]).unsqueeze(0);
    let ours = model.loss(&x, &y, false).expect("loss").double_value(&[]);

    let script = format!(
        "import sys, torch; sys.path.insert(0, {bench:?})
from safetensors.torch import load_file
from train_ref import Gpt
m = Gpt(1, 2, 32, 192)
m.load_state_dict(load_file(sys.argv[1]), strict=True)
ids = torch.tensor([[{ids}]])
with torch.no_grad():
    print(m(ids[:, :-1], ids[:, 1:]).item())",
        bench = repo().join("bench").display().to_string(),
        ids = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&weights)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a loss");
    assert!(
        (ours - theirs).abs() < 1e-4,
        "tunix-rt loss {ours} vs PyTorch loss {theirs}"
    );
}
