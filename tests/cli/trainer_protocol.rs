//! A trainer that is not the built-in one: a Python script speaking the
//! trainer protocol (tests/fixtures/trainers/answer_key.py) runs through the
//! same run lifecycle, with nothing but the protocol in common.

use tunix_rt::job::{Existing, Placement};
use tunix_rt::runfolder::{read_manifest, read_summary, RunStatus};
use tunix_rt::runner::{train, Quiet, TrainJob};
use tunix_rt::trainer::TrainerCommand;

use crate::support::{repo, Workspace};

fn job(ws: &Workspace, until_step: Option<u32>) -> TrainJob {
    let spec = serde_json::from_value(serde_json::json!({
        "model": {"preset": "gpt-nano"},
        "dataset": {"name": "dev-reasoning-v2"},
        "training": {"learning_rate": 0.001, "per_device_batch_size": 1,
                     "max_steps": 6, "checkpoint_interval": 2},
        "eval": {"evalset": "../evalsets/eval_v2.jsonl"}
    }))
    .expect("spec");
    TrainJob {
        name: "key".into(),
        labels: Default::default(),
        spec,
        evalset: Some(ws.path().join("evalsets/eval_v2.jsonl")),
        placement: Placement::Fixed {
            dir: ws.path().join("submission_runs/key"),
            existing: Existing::Resume,
        },
        config: serde_json::json!({"trainer": "answer-key"}),
        command: vec!["test".into()],
        manifest_path: ws.path().join("manifests/key.yaml"),
        tuning_job_id: None,
        trial_id: None,
        until_step,
    }
}

fn answer_key() -> TrainerCommand {
    let script = repo().join("tests/fixtures/trainers/answer_key.py");
    TrainerCommand::new("python3", &[script.to_str().expect("utf-8 path")])
}

#[test]
fn a_protocol_speaking_script_gets_the_same_run_folder_as_the_builtin_trainer() {
    let ws = Workspace::new();
    let workspace = tunix_rt::workspace::Workspace::at(ws.path()).expect("workspace");
    let stopped = train::execute(&workspace, &job(&ws, Some(3)), &answer_key(), &mut Quiet)
        .expect("runs to step 3");
    assert_eq!(stopped.status, RunStatus::Stopped);
    let outcome = train::execute(&workspace, &job(&ws, None), &answer_key(), &mut Quiet)
        .expect("continues to the end");
    assert_eq!(outcome.status, RunStatus::Completed);
    assert_eq!(outcome.notes, vec!["answer-key trainer".to_string()]);
    let dir = outcome.run_dir;
    let manifest = read_manifest(&dir).expect("manifest");
    assert_eq!(manifest.status, RunStatus::Completed);
    assert_eq!(manifest.model_id, "answer-key");
    assert!(manifest.config_hash.is_some());
    let summary = read_summary(&dir).expect("summary");
    assert_eq!(
        summary.primary_score,
        Some(1.0),
        "scored by the coordinator"
    );
    assert_eq!(summary.n_items, 120);
    let steps: Vec<u64> = std::fs::read_to_string(dir.join("metrics.jsonl"))
        .expect("metrics")
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["step"]
                .as_u64()
                .expect("step")
        })
        .collect();
    assert_eq!(steps, vec![2, 3, 4, 6], "resumed at the step-3 checkpoint");
    let log = std::fs::read_to_string(dir.join("run.log")).expect("log");
    assert!(log.contains("resumed from checkpoint step 3"), "{log}");
    assert!(
        log.contains("trainer: a line that is not an event"),
        "{log}"
    );
    for a in &manifest.artifacts {
        let bytes = std::fs::read(dir.join(&a.path)).expect("artifact");
        assert_eq!(
            a.blake3,
            blake3::hash(&bytes).to_hex().as_str(),
            "{}",
            a.path
        );
    }
    assert!(manifest
        .artifacts
        .iter()
        .any(|a| a.path == "checkpoints/step-00000006/state.json"));
}
