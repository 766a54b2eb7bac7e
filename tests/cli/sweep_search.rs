//! Model-based search and Hyperband through the real binary: a TPE sweep
//! draws from results, records its draws, and resumes after SIGKILL at
//! several points to the values and decisions of an uninterrupted one;
//! batches are deterministic for a given concurrency; Hyperband runs its
//! brackets and the plan and the report show them; bad settings are
//! refused before anything is written.

use std::time::Duration;

use tunix_testkit::manifest::{
    grid, randint, HyperbandConfig, Scheduler, SweepManifestBuilder, TpeConfig,
};

use crate::support::{wait_for, Workspace};
use crate::sweep_command::{decisions, ledger, sweep};

/// `toy.py`'s arguments: the learning rate sets the loss, a short sleep
/// per step keeps each trial running for a moment.
const TOY: &[&str] = &[
    "--lr",
    "{{ learning_rate }}",
    "--every",
    "2",
    "--sleep",
    "0.02",
];

/// TPE's settings with `n_startup_trials` random trials and the rest at
/// their defaults.
fn startup(n_startup_trials: u32) -> TpeConfig {
    TpeConfig {
        n_startup_trials,
        ..TpeConfig::default()
    }
}

/// Hyperband up to `max_t` steps.
fn hyperband(max_t: u32, reduction_factor: u32, grace_period: Option<u32>) -> Scheduler {
    Scheduler::Hyperband(HyperbandConfig {
        max_t,
        reduction_factor,
        grace_period,
    })
}

/// A TPE sweep of 9 trials, `concurrency` at a time, over the learning
/// rate and warmup steps.
fn tpe(name: &str, concurrency: u32) -> String {
    sweep(name, "toy.py", TOY, 4, false)
        .search("warmup_steps", randint(0, 3))
        .num_samples(9)
        .metric("val_loss")
        .tpe(startup(3))
        .max_concurrent_trials(concurrency)
        .seed(5)
        .to_yaml()
}

/// Every trial's id, values and draw record, in trial order.
fn draws(l: &serde_json::Value) -> Vec<serde_json::Value> {
    l["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| serde_json::json!([t["trial_id"], t["params"], t["draw"]]))
        .collect()
}

/// Trials of the ledger at `path` with a result (reached or failed).
fn with_result(ws: &Workspace, name: &str) -> usize {
    let path = ws
        .path()
        .join("submission_runs")
        .join(name)
        .join("sweep.json");
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|l| {
            l["trials"].as_array().map(|ts| {
                ts.iter()
                    .filter(|t| matches!(t["state"].as_str(), Some("completed" | "failed")))
                    .count()
            })
        })
        .unwrap_or(0)
}

#[test]
fn a_tpe_sweep_draws_from_results_and_records_each_draw() {
    let ws = Workspace::new();
    ws.file("manifests/tpe.yaml", tpe("tpe", 2));
    let plan = ws.run(&["run", "manifests/tpe.yaml", "--plan"]);
    plan.code(0)
        .stdout_has("TPE (n_startup_trials 3")
        .stdout_has("(from results)");
    ws.run(&["run", "manifests/tpe.yaml"])
        .code(0)
        .stderr_has("TPE drew t003, t004 from the results of 3 trial(s)");
    let l = ledger(&ws, "tpe");
    let trials = l["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 9);
    for (k, t) in trials.iter().enumerate() {
        assert_eq!(t["state"], "completed", "{t}");
        let lr = t["params"]["learning_rate"].as_f64().expect("drawn");
        assert!((0.0005..=0.01).contains(&lr), "{lr}");
        assert!(t["params"]["warmup_steps"].is_u64(), "{t}");
        match k {
            0..=2 => assert!(t.get("draw").is_none(), "startup trial {k}: {t}"),
            _ => {
                let observed = t["draw"]["observed"].as_array().expect("observed");
                // Batches of 2 after the 3 startup trials: t003-t004 saw 3
                // results, t005-t006 saw 5, t007-t008 saw 7.
                assert_eq!(observed.len(), 3 + 2 * ((k - 3) / 2), "{t}");
                assert_eq!(t["draw"]["drawn"], true);
            }
        }
    }
    // The report says which trials TPE drew.
    ws.run(&["report", "sweep", "tpe", "--format", "md"])
        .code(0)
        .stdout_has("TPE drew 6 of the 9 trials");
}

#[test]
fn a_killed_tpe_sweep_resumes_to_the_values_and_decisions_of_an_uninterrupted_one() {
    let manifest = tpe("tpe-kill", 2);
    let reference = Workspace::new();
    reference.file("manifests/tpe.yaml", &manifest);
    reference.run(&["run", "manifests/tpe.yaml"]).code(0);
    let expected = (
        draws(&ledger(&reference, "tpe-kill")),
        decisions(&ledger(&reference, "tpe-kill")),
    );

    // Kill the coordinator at several points: during the startup trials,
    // right after a batch was drawn, and late; resume after each kill.
    let ws = Workspace::new();
    ws.file("manifests/tpe.yaml", &manifest);
    for results in [1, 4, 7] {
        let mut child = ws
            .command(&["run", "manifests/tpe.yaml"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start");
        // Closely polled, so the kill lands near the point; a sweep that
        // ends first is no failure.
        wait_for(
            format!("progress to {results} results"),
            Duration::from_secs(60),
        )
        .every(Duration::from_millis(10))
        .until(|| {
            with_result(&ws, "tpe-kill") >= results || child.try_wait().expect("poll").is_some()
        });
        let _ = child.kill();
        child.wait().expect("reap");
    }
    ws.run(&["run", "manifests/tpe.yaml"]).code(0);
    let l = ledger(&ws, "tpe-kill");
    assert_eq!((draws(&l), decisions(&l)), expected);
}

#[test]
fn batches_are_deterministic_for_a_given_concurrency() {
    for concurrency in [1, 4] {
        let name = format!("tpe-c{concurrency}");
        let runs: Vec<Vec<serde_json::Value>> = (0..2)
            .map(|_| {
                let ws = Workspace::new();
                ws.file("manifests/tpe.yaml", tpe(&name, concurrency));
                ws.run(&["run", "manifests/tpe.yaml"]).code(0);
                draws(&ledger(&ws, &name))
            })
            .collect();
        assert_eq!(runs[0], runs[1], "concurrency {concurrency}");
    }
}

#[test]
fn hyperband_runs_its_brackets_and_the_plan_and_report_show_them() {
    let ws = Workspace::new();
    // max_t 9, η 3, grace 3: bracket 0 starts 3 trials at step 3, bracket
    // 1 starts 2 at step 9.
    ws.file(
        "manifests/hb.yaml",
        sweep("hb", "toy.py", TOY, 4, false)
            .num_samples(5)
            .metric("val_loss")
            .scheduler(hyperband(9, 3, Some(3)))
            .max_concurrent_trials(2)
            .to_yaml(),
    );
    ws.run(&["run", "manifests/hb.yaml", "--plan"])
        .code(0)
        .stdout_has("0: 3 trial(s), rungs 3, 9 (Hyperband s=1)")
        .stdout_has("1: 2 trial(s), rungs 9 (Hyperband s=0)");
    ws.run(&["run", "manifests/hb.yaml"]).code(0);
    let l = ledger(&ws, "hb");
    let trials = l["trials"].as_array().expect("trials");
    let brackets: Vec<u64> = trials
        .iter()
        .filter_map(|t| t["bracket"].as_u64())
        .collect();
    assert_eq!(brackets, vec![0, 0, 0, 1, 1]);
    let d = l["decisions"].as_array().expect("decisions");
    assert_eq!(d.len(), 1, "only bracket 0 halves: {l}");
    assert_eq!(d[0]["rung"], 3);
    assert_eq!(d[0]["bracket"], 0);
    assert_eq!(d[0]["continued"].as_array().map(Vec::len), Some(1));
    let completed = trials.iter().filter(|t| t["state"] == "completed").count();
    assert_eq!(completed, 3, "1 survivor of bracket 0 and bracket 1's 2");
    for t in trials.iter().filter(|t| t["state"] == "completed") {
        assert_eq!(t["last_step"], 9, "{t}");
    }
    assert!(l["best"]["trial_id"].is_string(), "{l}");
    ws.run(&["report", "sweep", "hb", "--format", "md"])
        .code(0)
        .stdout_has("### Hyperband brackets")
        .stdout_has("step 3: continued");
}

#[test]
fn bad_search_and_bracket_settings_are_refused_before_anything_is_written() {
    let ws = Workspace::new();
    let bad = || {
        sweep("bad", "toy.py", TOY, 4, false)
            .num_samples(4)
            .metric("val_loss")
    };
    let with_gamma = |gamma: f64| TpeConfig {
        gamma,
        ..startup(2)
    };
    let cases: [(SweepManifestBuilder, &str); 6] = [
        (bad().tpe(startup(0)), "n_startup_trials"),
        (
            bad().tpe(startup(5)),
            "n_startup_trials (5) is more than the plan's 4 trial(s)",
        ),
        (bad().tpe(with_gamma(0.0)), "gamma"),
        (bad().tpe(with_gamma(1.5)), "gamma"),
        (
            bad()
                .overrides("max_steps", 4)
                .scheduler(hyperband(9, 3, None)),
            "`max_t` sets every trial's max_steps",
        ),
        (
            bad().scheduler(hyperband(9, 3, Some(10))),
            "grace_period (10) is more than max_t (9)",
        ),
    ];
    for (manifest, message) in cases {
        ws.file("manifests/bad.yaml", manifest.to_yaml());
        ws.run_read_only(&["run", "manifests/bad.yaml"])
            .code(2)
            .stderr_has(message)
            .stderr_has("manifests/bad.yaml:");
    }
    // TPE over a pure grid has nothing to draw.
    ws.file(
        "manifests/grid.yaml",
        "apiVersion: tunix-rt/v1
kind: Sweep
metadata: { name: grid }
spec:
  base:
    command: [\"python3\", \"x.py\"]
    training: { learning_rate: 0.001, per_device_batch_size: 1, max_steps: 4 }
  search_space:
    learning_rate: { grid: [0.001, 0.002] }
  num_samples: 2
  metric: val_loss
  search: { tpe: { n_startup_trials: 1 } }
",
    );
    ws.run_read_only(&["run", "manifests/grid.yaml"])
        .code(2)
        .stderr_has("every parameter of this search space is a grid")
        .stderr_has("manifests/grid.yaml:");
    // A named choice takes only the names its field does.
    ws.file(
        "manifests/names.yaml",
        "apiVersion: tunix-rt/v1
kind: Sweep
metadata: { name: names }
spec:
  base: { model: { preset: gpt-nano }, dataset: { name: dev-reasoning-v3 }, training: { learning_rate: 0.001, per_device_batch_size: 1, max_steps: 4 } }
  search_space:
    model.preset: { choice: [gpt-nano, gpt-mikro] }
    dataset.trace: { uniform: [0, 1] }
  num_samples: 2
  metric: val_loss
",
    );
    ws.run_read_only(&["run", "manifests/names.yaml"])
        .code(2)
        .stderr_has("expected one of gpt-nano, gpt-micro")
        .stderr_has("gpt-micro")
        .stderr_has("this parameter takes a name (literal, references)");
}

#[test]
fn without_a_scheduler_each_trial_trains_to_its_own_max_steps() {
    let ws = Workspace::new();
    ws.file(
        "manifests/steps.yaml",
        sweep("steps", "toy.py", TOY, 4, false)
            .search("max_steps", grid([6, 2]))
            .num_samples(2)
            .metric("val_loss")
            .seed(3)
            .to_yaml(),
    );
    ws.run(&["run", "manifests/steps.yaml"]).code(0);
    let l = ledger(&ws, "steps");
    let trials = l["trials"].as_array().expect("trials");
    assert_eq!(trials.len(), 4);
    for t in trials {
        let own = t["params"]["max_steps"].as_u64().expect("max_steps");
        assert_eq!(t["state"], "completed", "{t}");
        assert_eq!(t["last_step"].as_u64(), Some(own), "{t}");
        assert!(t["metrics"][own.to_string()].is_f64(), "{t}");
    }
    // Every trial competes at its own last step.
    let lowest = trials
        .iter()
        .filter_map(|t| t["metrics"][t["last_step"].to_string()].as_f64())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(l["best"]["metric"].as_f64(), Some(lowest), "{l}");
}
