//! `tunix-rt report sweep` on real sweeps of a tiny CPU model run through
//! the binary (the report's structure only, not its figures): every trial,
//! its ties and the leaderboard's `--sweep` filter, and a sweep with ASHA
//! stops, a failed trial and no eval, where ties are unknown.

use serde_json::Value;

use crate::support::{repo, Workspace};

/// A tiny CPU base (a trial takes about a second); [`EVAL`] adds an eval
/// section.
const TINY_BASE: &str = "\
apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: tiny
spec:
  model:
    preset: gpt-nano
    n_layer: 1
    n_head: 2
    n_embd: 32
    context_length: 192
  dataset:
    name: dev-reasoning-v2
    train_examples: 300
    val_examples: 20
  training:
    learning_rate: 3.0e-3
    per_device_batch_size: 4
    max_steps: 50
    checkpoint_interval: 100
    log_interval: 2
  device: cpu
";

/// The tiny base's eval section.
const EVAL: &str = "  eval:
    evalset: ../evalsets/eval_v2.jsonl
    decoding:
      max_new_tokens: 8
      batch_size: 64
";

/// A workspace with the tiny base (evaluated when `eval`) and the Sweep
/// `name` (`spec_tail` is appended to its spec).
fn tiny_sweep(name: &str, eval: bool, spec_tail: &str) -> Workspace {
    let ws = Workspace::new();
    let eval = if eval { EVAL } else { "" };
    ws.file("configs/base.yaml", format!("{TINY_BASE}{eval}"));
    ws.file(
        "manifests/sweep.yaml",
        format!(
            "apiVersion: tunix-rt/v1\nkind: Sweep\nmetadata:\n  name: {name}\nspec:\n  base: ../configs/base.yaml\n{spec_tail}"
        ),
    );
    ws
}

#[test]
fn a_real_sweep_reports_every_trial_its_ties_and_its_leaderboard() {
    let ws = tiny_sweep(
        "real-sweep",
        true,
        "  search_space:
    learning_rate: { loguniform: [1.0e-3, 1.0e-2] }
    warmup_steps: { choice: [0, 2] }
  overrides: { max_steps: 6 }
  num_samples: 3
  metric: primary_score
  mode: max
  max_concurrent_trials: 2
  seed: 5
",
    );
    ws.run(&["run", "manifests/sweep.yaml"]).code(0);
    let v = ws
        .run_read_only(&["report", "sweep", "real-sweep", "--format", "json"])
        .code(0)
        .json();
    let trials = v["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 3, "{v}");
    assert!(trials.iter().all(|t| t["state"] == "completed"), "{v}");
    let ledger: Value = serde_json::from_slice(
        &std::fs::read(ws.path().join("submission_runs/real-sweep/sweep.json")).expect("ledger"),
    )
    .expect("json");
    assert_eq!(v["best"]["trial_id"], ledger["best"]["trial_id"]);
    assert_eq!(trials.iter().filter(|t| t["best"] == true).count(), 1);
    assert_eq!(v["params_source"], "manifests/sweep.yaml");
    assert_eq!(v["params"][0]["axis"], "log");
    assert_eq!(v["params"][1]["axis"], "categorical");
    assert_eq!(v["ties"]["available"], true, "{}", v["ties"]);
    assert_eq!(v["ties"]["comparisons"].as_array().map(Vec::len), Some(2));
    assert!(v["ties"]["n_tied"].as_u64().is_some());
    for c in v["curves"].as_array().expect("curves") {
        assert!(!c["loss"].as_array().expect("loss").is_empty(), "{c}");
    }
    let html = ws.run_read_only(&["report", "sweep", "real-sweep", "--format", "html"]);
    assert_eq!(html.code(0).stdout.matches("<tr class=\"trial ").count(), 3);
    assert_eq!(html.stdout.matches("scatter-chart").count(), 2);

    // The leaderboard's --sweep filter finds the trials in the index.
    let lb = ws.run_read_only(&[
        "report",
        "leaderboard",
        "--sweep",
        "real-sweep",
        "--format",
        "json",
    ]);
    let runs = lb.code(0).json()["runs"].clone();
    let runs = runs.as_array().expect("runs");
    assert_eq!(runs.len(), 3, "{}", lb.stdout);
    assert!(runs.iter().all(|r| r["sweep_id"] == "real-sweep"));
}

#[test]
fn a_sweep_with_stops_a_failure_and_no_eval_says_why_ties_are_unknown() {
    let ws = tiny_sweep(
        "lr-sweep",
        false,
        "  search_space:
    learning_rate: { loguniform: [1.0e-3, 1.0e-2] }
  overrides: { max_steps: 12 }
  num_samples: 4
  metric: val_loss
  mode: min
  scheduler: { asha: { grace_period: 4, reduction_factor: 2 } }
  seed: 3
",
    );
    let out = ws
        .command(&["run", "manifests/sweep.yaml"])
        .env(
            "TUNIX_RT_WORKER",
            repo().join("tests/fixtures/trainers/fragile.py"),
        )
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v = ws
        .run_read_only(&["report", "sweep", "lr-sweep", "--format", "json"])
        .code(0)
        .json();
    let states: Vec<&str> = v["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| t["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states.iter().filter(|s| **s == "failed").count(), 1, "{v}");
    assert!(
        states.contains(&"stopped") && states.contains(&"completed"),
        "{v}"
    );
    assert_eq!(states.last(), Some(&"failed"), "no metric: last");
    assert_eq!(v["failures"][0]["trial_id"], "t001");
    assert_eq!(v["failures"][0]["class"], "nan_loss");
    assert_eq!(v["ties"]["available"], false);
    let reason = v["ties"]["reason"].as_str().expect("reason");
    assert!(reason.contains("val_loss"), "{reason}");
    let md = ws.run_read_only(&["report", "sweep", "lr-sweep"]);
    md.code(0)
        .stdout_has("Not available: the best trial")
        .stdout_has("nan_loss");
    let html = ws.run_read_only(&["report", "sweep", "lr-sweep", "--format", "html"]);
    assert!(
        html.code(0).stdout.contains("class=\"stop\""),
        "stop markers"
    );
    // Stopped and failed trials are in the index too (`--all`: by default
    // the leaderboard lists only evaluated, finished runs).
    let lb = ws.run_read_only(&[
        "report",
        "leaderboard",
        "--sweep",
        "lr-sweep",
        "--all",
        "--format",
        "json",
    ]);
    assert_eq!(lb.code(0).json()["runs"].as_array().map(Vec::len), Some(4));
}
