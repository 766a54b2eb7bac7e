//! `model: { init }`: a Train run that starts from another run's
//! checkpoint, and the refusals that leave nothing written.

use tunix_testkit::manifest::TrainManifestBuilder;

use crate::support::{tiny_train, Workspace};

/// The fine-tuning run `ft`: the tiny model started from run `src` at
/// step 10.
fn finetune() -> TrainManifestBuilder {
    tiny_train("ft", 10).init("src", 10)
}

/// A trained source run `src` (10 steps, checkpoint at step 10) and the
/// manifest `manifests/ft.yaml` ([`finetune`]) that starts from it.
fn source_and_finetune() -> Workspace {
    let ws = Workspace::new();
    ws.file("manifests/src.yaml", tiny_train("src", 10).to_yaml());
    ws.run(&["run", "manifests/src.yaml"]).code(0);
    ws.file("manifests/ft.yaml", finetune().to_yaml());
    ws
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

#[test]
fn a_run_starts_from_the_source_checkpoint_and_records_it() {
    let ws = source_and_finetune();
    ws.run(&["run", "manifests/ft.yaml"]).code(0);
    let src = read_json(&ws.path().join("submission_runs/src/run_manifest.json"));
    let ft_dir = ws.path().join("submission_runs/ft");
    let ft = read_json(&ft_dir.join("run_manifest.json"));
    let recorded = src["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .find(|a| a["path"] == "checkpoints/step-00000010/model.safetensors")
        .expect("source weights recorded")["blake3"]
        .clone();
    assert_eq!(ft["init"]["run_id"], "src");
    assert_eq!(ft["init"]["step"], 10);
    assert_eq!(ft["init"]["blake3"], recorded);
    let log = std::fs::read_to_string(ft_dir.join("run.log")).expect("log");
    assert!(log.contains("weights from run src step 10"), "{log}");
    assert_ne!(ft["config_hash"], src["config_hash"]);
    // A model started from trained weights begins with a lower loss than
    // the source began with from scratch.
    let first_loss = |dir: &str| {
        let text =
            std::fs::read_to_string(ws.path().join(dir).join("metrics.jsonl")).expect("metrics");
        let line = text.lines().next().expect("a metric line").to_string();
        read_line_loss(&line)
    };
    assert!(first_loss("submission_runs/ft") < first_loss("submission_runs/src"));
}

fn read_line_loss(line: &str) -> f64 {
    serde_json::from_str::<serde_json::Value>(line).expect("json")["loss"]
        .as_f64()
        .expect("loss")
}

#[test]
fn another_architecture_is_refused_and_nothing_is_written() {
    let ws = source_and_finetune();
    ws.file("manifests/ft.yaml", finetune().n_embd(16).to_yaml());
    ws.run_read_only(&["run", "manifests/ft.yaml"])
        .code(2)
        .stderr_has("model.init: run src step 10 has another architecture")
        .stderr_has("n_embd 32")
        .stderr_has("n_embd 16");
}

#[test]
fn a_checkpoint_changed_after_training_is_refused_and_nothing_is_written() {
    let ws = source_and_finetune();
    let weights = ws
        .path()
        .join("submission_runs/src/checkpoints/step-00000010/model.safetensors");
    let mut bytes = std::fs::read(&weights).expect("weights");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&weights, bytes).expect("tamper");
    ws.run_read_only(&["run", "manifests/ft.yaml"])
        .code(2)
        .stderr_has("no longer matches the blake3 its run recorded")
        .stderr_has("refusing to start a run from it");
}

#[test]
fn a_missing_run_or_step_is_refused_and_nothing_is_written() {
    let ws = source_and_finetune();
    ws.file("manifests/ft.yaml", finetune().init("src", 7).to_yaml());
    ws.run_read_only(&["run", "manifests/ft.yaml"])
        .code(2)
        .stderr_has("run src has no checkpoint at step 7; its checkpoints: 10");
    ws.file("manifests/ft.yaml", finetune().init("nosuch", 10).to_yaml());
    ws.run_read_only(&["run", "manifests/ft.yaml"])
        .code(2)
        .stderr_has("no run matches `nosuch`");
}
