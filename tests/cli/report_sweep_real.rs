//! `tunix-rt report sweep` on real sweeps of a tiny CPU model run through
//! the binary (the report's structure only, not its figures): every trial,
//! its ties and the leaderboard's `--sweep` filter, and a sweep with ASHA
//! stops, a failed trial and no eval, where ties are unknown.

use serde_json::Value;

use tunix_testkit::manifest::{choice, loguniform, Mode, SweepManifestBuilder};

use crate::support::{repo, tiny_train, Workspace, EVAL_V2};

/// A workspace with a tiny CPU base (a trial takes about a second),
/// evaluated with short decoding when `eval`, and the Sweep `sweep` on it
/// (its base is `../configs/base.yaml`).
fn tiny_sweep(eval: bool, sweep: SweepManifestBuilder) -> Workspace {
    let base = tiny_train("tiny", 50)
        .warmup_steps(0)
        .checkpoint_interval(100)
        .log_interval(2);
    let base = if eval {
        base.eval(EVAL_V2).decoding(8, 64)
    } else {
        base
    };
    let ws = Workspace::new();
    ws.file("configs/base.yaml", base.to_yaml());
    ws.file("manifests/sweep.yaml", sweep.to_yaml());
    ws
}

#[test]
fn a_real_sweep_reports_every_trial_its_ties_and_its_leaderboard() {
    let ws = tiny_sweep(
        true,
        SweepManifestBuilder::based_on("real-sweep", "../configs/base.yaml")
            .search("learning_rate", loguniform(1.0e-3, 1.0e-2))
            .search("warmup_steps", choice([0, 2]))
            .overrides("max_steps", 6)
            .num_samples(3)
            .metric("primary_score")
            .mode(Mode::Max)
            .max_concurrent_trials(2)
            .seed(5),
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
        false,
        SweepManifestBuilder::based_on("lr-sweep", "../configs/base.yaml")
            .search("learning_rate", loguniform(1.0e-3, 1.0e-2))
            .overrides("max_steps", 12)
            .num_samples(4)
            .metric("val_loss")
            .mode(Mode::Min)
            .asha(4, 2)
            .seed(3),
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
