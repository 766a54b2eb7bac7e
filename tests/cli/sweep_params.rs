//! A command trainer's own hyperparameters (`params`) through the real
//! binary: a sweep searches `params.NAME` (an inline base need not declare
//! them), each trial's program gets its values as `{{ params.NAME }}` and
//! in `TUNIX_PARAMS`, and the wrong uses are refused before anything is
//! written.

use tunix_testkit::manifest::{choice, uniform, Mode, SweepManifestBuilder, TrainManifestBuilder};

use crate::support::Workspace;
use crate::sweep_command::ledger;

/// A trainer that writes `{{ params.x }}` as its metric and keeps the
/// `TUNIX_PARAMS` it saw in its run folder.
const TRAINER: &str = r#"#!/bin/sh
printf '%s' "$TUNIX_PARAMS" > "$TUNIX_RUN_DIR/params_seen.json"
printf '{"step": 1, "objective": %s}\n' "$1" >> "$TUNIX_METRICS_FILE"
"#;

/// The Sweep `own` of [`TRAINER`] given `{{ params.x }}`, three trials
/// by the smallest `objective`; the search space is the caller's.
fn own() -> SweepManifestBuilder {
    let base = TrainManifestBuilder::new("own")
        .command(["sh", "trainer.sh", "{{ params.x }}"])
        .learning_rate(0.001)
        .per_device_batch_size(1)
        .max_steps(1);
    SweepManifestBuilder::inline("own", base)
        .num_samples(3)
        .metric("objective")
        .mode(Mode::Min)
        .seed(3)
}

#[test]
fn a_sweep_searches_a_trainers_own_params_and_each_trial_gets_its_values() {
    let ws = Workspace::new();
    ws.file("trainer.sh", TRAINER);
    ws.file(
        "manifests/own.yaml",
        own()
            .search("params.x", uniform(1.0, 2.0))
            .search("params.opt", choice(["adamw", "sgd"]))
            .to_yaml(),
    );
    ws.run(&["run", "manifests/own.yaml", "--no-index"])
        .code(0)
        .stdout_has("params.x → spec.params.x");
    let l = ledger(&ws, "own");
    for t in l["trials"].as_array().expect("trials") {
        let x = t["params"]["params.x"].as_f64().expect("x");
        assert!((1.0..=2.0).contains(&x), "{t}");
        let metric = t["metrics"]["1"].as_f64().expect("metric");
        assert!((metric - x).abs() < 1e-9, "the program got x: {t}");
        let id = t["trial_id"].as_str().expect("id");
        let seen = std::fs::read_to_string(ws.path().join(format!(
            "submission_runs/own/trials/own-{id}/params_seen.json"
        )))
        .expect("params_seen");
        let seen: serde_json::Value = serde_json::from_str(&seen).expect("json");
        assert_eq!(seen["x"].as_f64(), Some(x), "{seen}");
        assert_eq!(seen["opt"], t["params"]["params.opt"], "{seen}");
    }
}

#[test]
fn wrong_uses_of_params_are_refused_before_anything_is_written() {
    let ws = Workspace::new();
    ws.file("trainer.sh", TRAINER);
    // The command uses a param nothing declares or searches (literal
    // text: the message names the command's line).
    ws.file(
        "manifests/own.yaml",
        "apiVersion: tunix-rt/v1
kind: Sweep
metadata: { name: own }
spec:
  base:
    command: [\"sh\", \"trainer.sh\", \"{{ params.x }}\"]
    training: { learning_rate: 0.001, per_device_batch_size: 1, max_steps: 1 }
  search_space:
    params.y: { uniform: [1.0, 2.0] }
  num_samples: 3
  metric: objective
  mode: min
  seed: 3
",
    );
    ws.run_read_only(&["run", "manifests/own.yaml"])
        .code(2)
        .stderr_has("unknown variable `params.x`")
        .stderr_has("did you mean `params.y`?")
        .stderr_has("manifests/own.yaml:6:");
    // A name params may not have.
    ws.file(
        "manifests/own.yaml",
        own()
            .inline_base(|base| base.param("x", 1))
            .search("params.9x", uniform(1.0, 2.0))
            .to_yaml(),
    );
    ws.run_read_only(&["run", "manifests/own.yaml"])
        .code(2)
        .stderr_has("params.9x");
    // The built-in trainer has no params of its own.
    ws.file(
        "manifests/builtin.yaml",
        "apiVersion: tunix-rt/v1
kind: Sweep
metadata: { name: builtin }
spec:
  base: { model: { preset: gpt-nano }, dataset: { name: dev-reasoning-v3 }, training: { learning_rate: 0.001, per_device_batch_size: 1, max_steps: 4 } }
  search_space:
    params.x: { uniform: [1.0, 2.0] }
  num_samples: 2
  metric: val_loss
",
    );
    ws.run_read_only(&["run", "manifests/builtin.yaml"])
        .code(2)
        .stderr_has("`params.NAME` is a hyperparameter of your own trainer");
}
