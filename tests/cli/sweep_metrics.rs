//! Sweeps over any metric a trainer reports (tests/fixtures/command_trainers/
//! metrics.py): named metrics end to end (ledger, index, report), a
//! metric without a direction or unknown to the built-in trainer refused
//! up front, a trial that never reports the metric failing at its first
//! rung, rungs decided by the tie rule flagged, bad metric lines as their
//! own class without retries, and the summary's alignment.

use tunix_testkit::manifest::{grid, MaxRetries, Mode, SweepManifestBuilder};

use crate::command_trainer::command_manifest;
use crate::support::{tiny_train, Workspace};
use crate::sweep_command::{ledger, sweep, trial_dir};

/// A Sweep of `metrics.py` over a `learning_rate` grid of `rates` (in
/// place of [`sweep`]'s range); `args` follow `--lr`.
fn manifest(name: &str, args: &[&str], max_steps: u32, rates: &[f64]) -> SweepManifestBuilder {
    let args: Vec<&str> = ["--lr", "{{ learning_rate }}"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    sweep(name, "metrics.py", &args, max_steps, false)
        .search("learning_rate", grid(rates.iter().copied()))
        .num_samples(1)
}

/// The sweep optimizes `val/f1`, larger is better.
fn val_f1(sweep: SweepManifestBuilder) -> SweepManifestBuilder {
    sweep.metric("val/f1").mode(Mode::Max)
}

fn query(ws: &Workspace, sql: &str) -> serde_json::Value {
    ws.run(&["db", "query", "--format", "json", sql])
        .code(0)
        .json()
}

#[test]
fn any_reported_metric_is_optimized_recorded_indexed_and_plotted() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        val_f1(manifest(
            "anym",
            &["--report", "val/f1=lr", "--report", "train/acc=const"],
            4,
            &[0.001, 0.002, 0.003, 0.004],
        ))
        .asha(2, 2)
        .to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0)
        .stdout_has("best         t003 (val/f1 0.4000)")
        .stderr_has("sweep: rung 2: continue t003, t002; stop t001, t000\n");
    assert!(!run.stdout.contains("tie rule"), "{}", run.stdout);
    let l = ledger(&ws, "anym");
    assert_eq!(l["metric"], "val/f1");
    assert_eq!(l["mode"], "max");
    assert_eq!(l["trials"][3]["metrics"]["2"], 0.2);
    assert_eq!(l["best"]["metric"], 0.4);
    assert!(l["decisions"][0].get("tie_rule").is_none(), "{l}");
    let metrics = std::fs::read_to_string(trial_dir(&ws, "anym", "t003").join("metrics.jsonl"))
        .expect("read");
    assert!(
        metrics.contains("\"train/acc\":0.5") && metrics.contains("\"val/f1\":0.4"),
        "{metrics}"
    );
    let rows = query(
        &ws,
        "SELECT step, value FROM metric_values WHERE run_id = 'anym-t003' AND key = 'val/f1' ORDER BY step",
    );
    assert_eq!(
        rows,
        serde_json::json!([
            {"step": 1, "value": 0.1}, {"step": 2, "value": 0.2},
            {"step": 3, "value": 0.3}, {"step": 4, "value": 0.4}
        ])
    );
    let v = ws
        .run_read_only(&["report", "sweep", "anym", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(v["metric"], "val/f1");
    assert_eq!(v["decided_by_tie_rule"], serde_json::json!([]));
    let curve = v["curves"]
        .as_array()
        .expect("curves")
        .iter()
        .find(|c| c["trial_id"] == "t003")
        .expect("t003");
    assert_eq!(
        curve["metric"],
        serde_json::json!([[1, 0.1], [2, 0.2], [3, 0.3], [4, 0.4]])
    );
    ws.run(&["report", "sweep", "anym", "-o", "sweep.html"])
        .code(0);
    let html = std::fs::read_to_string(ws.path().join("sweep.html")).expect("html");
    assert!(
        html.contains("val/f1 by step, every trial"),
        "no metric chart"
    );
    assert!(!html.contains("id=\"tie-rule\""));
}

#[test]
fn a_metric_without_a_direction_or_unknown_to_the_builtin_trainer_is_refused_up_front() {
    let ws = Workspace::new();
    let command = || manifest("m", &[], 4, &[0.001, 0.002]);
    for (manifest, messages) in [
        (
            command().metric("val/f1"),
            vec![
                "error: metric `val/f1` has no default direction, and the Sweep sets no `mode` (at /spec/metric)",
                "add `mode: max` (larger is better) or `mode: min`",
            ],
        ),
        (
            command().metric("val f1").mode(Mode::Max),
            vec!["does not match the pattern ^[A-Za-z][A-Za-z0-9_./-]{0,63}$"],
        ),
    ] {
        ws.file("manifests/m.yaml", manifest.to_yaml());
        for args in [
            &["validate", "manifests/m.yaml"][..],
            &["run", "manifests/m.yaml"][..],
        ] {
            let run = ws.run_read_only(args);
            run.code(2);
            for m in &messages {
                run.stderr_has(m);
            }
        }
    }
    ws.file("configs/base.yaml", tiny_train("base", 8).to_yaml());
    let builtin = || {
        SweepManifestBuilder::based_on("b", "../configs/base.yaml")
            .search("learning_rate", grid([0.001, 0.002]))
            .num_samples(1)
    };
    for (manifest, messages) in [
        (
            builtin().metric("val/f1").mode(Mode::Max),
            vec!["the built-in trainer does not report `val/f1`; it reports loss, lr, tokens_per_s, grad_norm, val_loss, primary_score"],
        ),
        (
            builtin().metric("grad_nrom").mode(Mode::Min),
            vec!["does not report `grad_nrom`", "did you mean `grad_norm`?"],
        ),
    ] {
        ws.file("manifests/b.yaml", manifest.to_yaml());
        let run = ws.run_read_only(&["run", "manifests/b.yaml"]);
        run.code(2);
        for m in &messages {
            run.stderr_has(m);
        }
    }
    for manifest in [
        builtin().metric("grad_norm").mode(Mode::Min),
        builtin().metric("val_loss"),
    ] {
        ws.file("manifests/b.yaml", manifest.to_yaml());
        ws.run_read_only(&["validate", "manifests/b.yaml"]).code(0);
    }
}

#[test]
fn a_trial_that_never_reports_the_metric_fails_at_its_first_rung_naming_what_it_reported() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        val_f1(manifest(
            "nometric",
            &["--report", "train/acc=lr"],
            6,
            &[0.001, 0.002],
        ))
        .asha(2, 2)
        .to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(3)
        .stdout_has("failed:metric_missing")
        .stdout_has("t000 metric_missing: the trial reached step 2 without ever reporting the sweep's metric `val/f1`: its metrics lines reported only loss, train/acc")
        .stderr_has("see the failures above");
    let l = ledger(&ws, "nometric");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "failed", "{t}");
        assert_eq!(t["failure"]["class"], "metric_missing", "{t}");
        assert_eq!(t["last_step"], 2, "failed at its first rung: {t}");
        let id = t["trial_id"].as_str().expect("id");
        let dir = trial_dir(&ws, "nometric", id);
        let metrics = std::fs::read_to_string(dir.join("metrics.jsonl")).expect("metrics");
        assert_eq!(metrics.lines().count(), 2, "{metrics}");
        let log = std::fs::read_to_string(dir.join("run.log")).expect("log");
        assert_eq!(log.matches("command: python3").count(), 1, "{log}");
    }
}

#[test]
fn a_rung_decided_by_the_tie_rule_is_flagged_in_the_summary_the_ledger_and_the_report() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        val_f1(manifest(
            "flat",
            &["--report", "val/f1=const"],
            4,
            &[0.001, 0.002, 0.003],
        ))
        .asha(2, 2)
        .to_yaml(),
    );
    ws.run(&["run", "manifests/sweep.yaml"])
        .code(0)
        .stderr_has("sweep: rung 2: continue t000, t001; stop t002 (decided by the tie rule (smaller trial id first): all 3 trials had val/f1 = 0.5 at step 2)")
        .stdout_has("tie rule     rung 2: decided by the tie rule (smaller trial id first): all 3 trials had val/f1 = 0.5 at step 2\n")
        .stdout_has("tie rule     best trial t000: decided by the tie rule (smaller trial id first): all 2 trials had val/f1 = 0.5 at step 4\n");
    let l = ledger(&ws, "flat");
    assert_eq!(l["decisions"][0]["tie_rule"], "all_equal");
    assert_eq!(l["best"]["tie_rule"], "all_equal");
    ws.run_read_only(&["sweep", "status", "flat"])
        .code(0)
        .stdout_has("tie rule     rung 2: decided by the tie rule");
    let md = ws
        .run_read_only(&["report", "sweep", "flat", "--format", "md"])
        .code(0)
        .stdout
        .clone();
    assert!(md.contains("**Decided by the tie rule**"), "{md}");
    assert!(md.contains("- rung 2: decided by the tie rule"), "{md}");
    let v = ws
        .run_read_only(&["report", "sweep", "flat", "--format", "json"])
        .code(0)
        .json();
    let flagged = v["decided_by_tie_rule"].as_array().expect("list");
    assert_eq!(flagged.len(), 2, "{v}");
    assert_eq!(flagged[0]["rung"], 2);
    assert_eq!(flagged[0]["rule"], "all_equal");
    assert_eq!(flagged[1]["final_pick"], true);
}

#[test]
fn a_sweep_that_promotes_nothing_without_failures_says_why_instead_of_pointing_above() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        val_f1(manifest(
            "early",
            &["--report", "val/f1=first"],
            2,
            &[0.001, 0.002],
        ))
        .to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(3)
        .stderr_has("no trial completed with a value of val/f1, so nothing was promoted: the completed trials reported no val/f1 at step 2");
    assert!(!run.stderr.contains("failures above"), "{}", run.stderr);
    assert!(!run.stdout.contains("failures"), "{}", run.stdout);
}

#[test]
fn garbage_metric_lines_are_bad_metrics_and_not_retried() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("garbled", "garbage.py", &[], 4, false)
            .num_samples(1)
            .metric("val_loss")
            .to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(3)
        .stdout_has("failed:bad_metrics")
        .stdout_has("0 failure(s) were retried");
    assert!(!run.stderr.contains("retry"), "{}", run.stderr);
    let l = ledger(&ws, "garbled");
    assert_eq!(l["trials"][0]["failure"]["class"], "bad_metrics");
    let log =
        std::fs::read_to_string(trial_dir(&ws, "garbled", "t000").join("run.log")).expect("log");
    assert_eq!(log.matches("command: python3").count(), 1, "{log}");
}

#[test]
fn metric_steps_that_go_backwards_are_refused_naming_both_lines() {
    let ws = Workspace::new();
    ws.file(
        "manifests/back.yaml",
        command_manifest(
            "back",
            "metrics.py",
            &["--lr", "0.005", "--backwards"],
            5,
            false,
        )
        .to_yaml(),
    );
    ws.run(&["run", "manifests/back.yaml"]).code(3).stderr_has(
        "line 4 reports step 2 after line 3 reported step 3; steps must not go backwards",
    );
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ws.path().join("submission_runs/back/run_manifest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(m["failure"]["class"], "bad_metrics");
}

#[test]
fn the_summary_keeps_its_columns_aligned_when_a_trial_times_out() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        val_f1(manifest(
            "slow",
            &["--report", "val/f1=lr", "--hang-above", "0.0015"],
            2,
            &[0.001, 0.002],
        ))
        .trial_timeout_s(2)
        .max_retries(MaxRetries {
            timeout: 0,
            ..MaxRetries::default()
        })
        .to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0).stdout_has("failed:timeout");
    let column = |prefix: &str, text: &str| -> usize {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} row: {}", run.stdout));
        line.find(text)
            .unwrap_or_else(|| panic!("no {text} in {line}"))
    };
    let params = column("trial", "params");
    assert_eq!(column("t000", "learning_rate="), params, "{}", run.stdout);
    assert_eq!(column("t001", "learning_rate="), params, "{}", run.stdout);
    let step = column("trial", "step") + "step".len();
    assert_eq!(column("t000", "2 ") + 1, step, "{}", run.stdout);
}
