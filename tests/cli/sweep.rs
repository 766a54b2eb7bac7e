//! `tunix-rt run <sweep.yaml> --plan`: the expanded trial table, the same on
//! every run, and nothing written.

use crate::support::{repo, Workspace};

const BASE: &str = "\
apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: base
spec:
  model:
    preset: gpt-nano
  dataset:
    name: dev-reasoning-v2
  training:
    learning_rate: 1.0e-3
    per_device_batch_size: 16
    max_steps: 200
  eval:
    evalset: ../evalsets/eval_v2.jsonl
";

/// A workspace with `configs/base.yaml` and `manifests/sweep.yaml`
/// (`spec_tail`, which starts with a newline to keep its indentation, is
/// appended to the Sweep's spec).
fn workspace(spec_tail: &str) -> Workspace {
    let ws = Workspace::new();
    ws.file("configs/base.yaml", BASE);
    ws.file(
        "manifests/sweep.yaml",
        format!(
            "\
apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: lr-sweep
spec:
  base: ../configs/base.yaml
{spec_tail}"
        ),
    );
    ws
}

const RANDOM: &str = "
  search_space:
    learning_rate: { loguniform: [1.0e-4, 3.0e-3] }
    per_device_batch_size: { choice: [8, 16, 32] }
    weight_decay: { uniform: [0.0, 0.1] }
    warmup_steps: { choice: [0, 10, 20] }
  overrides: { max_steps: 100 }
  num_samples: 8
  scheduler: { asha: { grace_period: 25, reduction_factor: 3 } }
  seed: 7
";

#[test]
fn plan_shows_every_trial_and_writes_nothing() {
    let ws = workspace(RANDOM);
    let run = ws.run_read_only(&["run", "manifests/sweep.yaml", "--plan"]);
    run.code(0)
        .stdout_has("lr-sweep")
        .stdout_has("trials       8 (1 grid point(s) × 8 sample(s))")
        .stdout_has("overrides    max_steps=100")
        .stdout_has("rungs        25, 75, 100")
        .stdout_has("learning_rate")
        .stdout_has("t000")
        .stdout_has("t007")
        .stdout_has("nothing was run or written");
    assert!(!run.stdout.contains("t008"), "{}", run.stdout);
    let again = ws.run_read_only(&["run", "manifests/sweep.yaml", "--plan"]);
    assert_eq!(run.stdout, again.stdout);
}

#[test]
fn plan_json_has_the_counts_and_typed_values() {
    let ws = workspace(RANDOM);
    let args = ["run", "manifests/sweep.yaml", "--plan", "--format", "json"];
    let doc = ws.run_read_only(&args).code(0).json();
    assert_eq!(doc, ws.run_read_only(&args).json());
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["sweep"], "lr-sweep");
    assert_eq!(doc["seed"], 7);
    assert_eq!(doc["num_trials"], 8);
    assert_eq!(doc["rungs"], serde_json::json!([25, 75, 100]));
    assert_eq!(doc["overrides"], serde_json::json!({ "max_steps": 100 }));
    let trials = doc["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 8);
    for (k, t) in trials.iter().enumerate() {
        assert_eq!(t["trial_id"], format!("t{k:03}"));
        let p = &t["params"];
        assert!([8, 16, 32].contains(&p["per_device_batch_size"].as_u64().expect("int")));
        assert!([0, 10, 20].contains(&p["warmup_steps"].as_u64().expect("int")));
        let lr = p["learning_rate"].as_f64().expect("real");
        assert!((1.0e-4..=3.0e-3).contains(&lr), "{lr}");
        let wd = p["weight_decay"].as_f64().expect("real");
        assert!((0.0..=0.1).contains(&wd), "{wd}");
    }
}

#[test]
fn grid_points_times_num_samples() {
    let ws = workspace(
        "
  search_space:
    per_device_batch_size: { grid: [8, 16] }
    warmup_steps: { grid: [0, 10, 20] }
    learning_rate: { loguniform: [1.0e-4, 1.0e-3] }
  num_samples: 2
",
    );
    let doc = ws
        .run_read_only(&["run", "manifests/sweep.yaml", "--plan", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(doc["num_trials"], 12);
    assert_eq!(doc["grid_points"], 6);
    assert_eq!(doc["rungs"], serde_json::json!([]));
    let first = &doc["trials"][0]["params"];
    let last = &doc["trials"][11]["params"];
    assert_eq!(first["per_device_batch_size"], 8);
    assert_eq!(first["warmup_steps"], 0);
    assert_eq!(last["per_device_batch_size"], 16);
    assert_eq!(last["warmup_steps"], 20);
    let text = ws.run_read_only(&["run", "manifests/sweep.yaml", "--plan"]);
    text.code(0)
        .stdout_has("12 (6 grid point(s) × 2 sample(s))");
    assert!(!text.stdout.contains("rungs"), "{}", text.stdout);
}

#[test]
fn a_trial_that_breaks_a_training_rule_is_bad_input() {
    let ws = workspace(
        "
  search_space:
    warmup_steps: { grid: [0, 50] }
  overrides: { max_steps: 10 }
  num_samples: 1
",
    );
    ws.run_read_only(&["run", "manifests/sweep.yaml", "--plan"])
        .code(2)
        .stderr_has("/spec/search_space/warmup_steps: trial t001");
}

#[test]
fn the_repository_example_plans() {
    let out = assert_cmd::Command::cargo_bin("tunix-rt")
        .expect("binary")
        .args([
            "run",
            "manifests/sweep_example.yaml",
            "--plan",
            "--format",
            "json",
        ])
        .current_dir(repo())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["num_trials"], 8);
    assert_eq!(doc["sweep"], "nano-lr-sweep");
}

#[test]
fn the_m34_mini_sweep_plans_12_reproducible_trials() {
    let plan = || {
        let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("tunix-rt"))
            .args([
                "run",
                "manifests/m34_sweep.yaml",
                "--plan",
                "--format",
                "json",
            ])
            .current_dir(repo())
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let doc = plan();
    assert_eq!(doc["num_trials"], 12);
    assert_eq!(doc["rungs"], serde_json::json!([10, 30, 50]));
    assert_eq!(doc, plan(), "the same manifest plans the same trials");
    for t in doc["trials"].as_array().expect("trials") {
        let lr = t["params"]["learning_rate"].as_f64().expect("lr");
        assert!((1.0e-5..=1.0e-4).contains(&lr), "{t}");
        let batch = t["params"]["per_device_batch_size"]
            .as_u64()
            .expect("batch");
        assert!([1, 2, 4].contains(&batch), "{t}");
    }
}

#[test]
fn running_a_sweep_is_not_available_yet_and_points_to_plan() {
    let ws = workspace(RANDOM);
    ws.run_read_only(&["run", "manifests/sweep.yaml"])
        .code(2)
        .stderr_has("--plan");
}

#[test]
fn plan_on_a_train_manifest_is_a_usage_error() {
    let ws = workspace(RANDOM);
    ws.run_read_only(&["run", "configs/base.yaml", "--plan"])
        .code(2)
        .stderr_has("only Sweep manifests have a trial plan");
}
