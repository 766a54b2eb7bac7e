//! Sweeps of command trainers (tests/fixtures/command_trainers): ASHA on
//! a user's script and the promotion of its best trial (committed evidence
//! left alone unless asked), and sweep-level bad input; with the helpers
//! the other sweep tests use. Failing trials are in
//! sweep_command_failures.rs, the coordinator's crash safety and lock in
//! sweep_command_coordinator.rs.

use std::path::{Path, PathBuf};

use tunix_testkit::manifest::{
    grid, loguniform, uniform, Mode, SweepManifestBuilder, TrainManifestBuilder,
};

use crate::command_trainer::python;
use crate::support::{Workspace, EVAL_V2};

/// A Sweep over `learning_rate` of an inline command-trainer base that
/// runs `python3 SCRIPT ARGS...` for `max_steps` steps (evaluated on
/// eval_v2 when `eval`); the rest of the Sweep's spec is the caller's.
pub fn sweep(
    name: &str,
    script: &str,
    args: &[&str],
    max_steps: u32,
    eval: bool,
) -> SweepManifestBuilder {
    let base = TrainManifestBuilder::new(name)
        .command(python(script, args))
        .learning_rate(0.001)
        .per_device_batch_size(1)
        .max_steps(max_steps);
    let base = if eval { base.eval(EVAL_V2) } else { base };
    SweepManifestBuilder::inline(name, base).search("learning_rate", loguniform(0.0005, 0.01))
}

/// `toy.py`'s arguments: the learning rate sets its loss; a checkpoint
/// every 2 steps.
pub const TOY: &[&str] = &["--lr", "{{ learning_rate }}", "--every", "2"];

/// Six trials by primary score, ASHA from step 2, three at a time, the
/// best promoted into configs/ with its evidence.
pub fn asha(sweep: SweepManifestBuilder) -> SweepManifestBuilder {
    sweep
        .num_samples(6)
        .metric("primary_score")
        .mode(Mode::Max)
        .asha(2, 2)
        .max_concurrent_trials(3)
        .promote("../configs/best.yaml", "../configs/best.json")
        .evidence("../submission_runs/toy_v1")
}

pub fn ledger(ws: &Workspace, name: &str) -> serde_json::Value {
    let path = ws
        .path()
        .join("submission_runs")
        .join(name)
        .join("sweep.json");
    serde_json::from_slice(&std::fs::read(path).expect("ledger")).expect("json")
}

pub fn trial_dir(ws: &Workspace, sweep: &str, trial: &str) -> PathBuf {
    ws.path()
        .join("submission_runs")
        .join(sweep)
        .join("trials")
        .join(format!("{sweep}-{trial}"))
}

/// The ledger's outcome without timing: trial states, metrics, stops,
/// decisions and the best trial.
pub fn decisions(l: &serde_json::Value) -> serde_json::Value {
    let trials: Vec<_> = l["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| {
            serde_json::json!([
                t["trial_id"],
                t["state"],
                t["last_step"],
                t["metrics"],
                t["stopped_at"]
            ])
        })
        .collect();
    serde_json::json!({"trials": trials, "decisions": l["decisions"], "best": l["best"]})
}

#[test]
fn a_sweep_of_a_user_script_runs_asha_and_promotes_a_runnable_config() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        asha(sweep("toy", "toy.py", TOY, 8, true)).to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0).stdout_has("promoted     configs/best.yaml");
    let l = ledger(&ws, "toy");
    assert_eq!(
        l["decisions"].as_array().map(Vec::len),
        Some(2),
        "rungs 2 and 4"
    );
    let states: Vec<&str> = l["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .filter_map(|t| t["state"].as_str())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "stopped").count(),
        4,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "completed").count(),
        2,
        "{states:?}"
    );
    let best = l["best"]["trial_id"].as_str().expect("best").to_string();
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(trial_dir(&ws, "toy", &best).join("run_manifest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(m["tuning_job_id"], "toy");
    assert_eq!(m["trial_id"], best.as_str());
    ws.run(&[
        "validate",
        "configs/best.yaml",
        "configs/best.json",
        "submission_runs/toy_v1",
    ])
    .code(0);
    let evidence: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ws.path().join("submission_runs/toy_v1/run_manifest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(evidence["run_id"], "toy_v1");
    assert_eq!(evidence["promoted_from_trial_id"], best.as_str());
    assert_eq!(evidence["tuning_job_id"], "toy");
    for file in [
        "eval_summary.json",
        "eval_items.jsonl",
        "metrics.jsonl",
        "run.log",
    ] {
        assert_eq!(
            std::fs::read(ws.path().join("submission_runs/toy_v1").join(file)).expect("copied"),
            std::fs::read(trial_dir(&ws, "toy", &best).join(file)).expect("trial"),
            "{file}"
        );
    }
    let params: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("configs/best.json")).expect("read"))
            .expect("json");
    assert_eq!(params["promoted_from_trial_id"], best.as_str());
    assert_eq!(
        params["mapping"]["learning_rate"],
        "spec.training.learning_rate"
    );
    assert!(params["metric"]["ci95"]["low"].is_number(), "{params}");
    ws.run(&["run", "configs/best.yaml"])
        .code(0)
        .stdout_has("primary");
    let rows = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM trials WHERE sweep_id = 'toy'",
        ])
        .code(0)
        .json();
    assert_eq!(rows[0]["n"], 6, "{rows}");
    let sweeps = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT n_trials, best_run_id FROM sweeps WHERE sweep_id = 'toy'",
        ])
        .code(0)
        .json();
    assert_eq!(sweeps[0]["n_trials"], 6, "{sweeps}");
    assert_eq!(sweeps[0]["best_run_id"], format!("toy-{best}"), "{sweeps}");
}

/// `git ARGS` in `dir`; false when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> bool {
    std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_sweep_leaves_committed_evidence_alone_unless_asked_to_update_it() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        asha(sweep("toy", "toy.py", TOY, 8, true)).to_yaml(),
    );
    let committed = "# the committed best config\n";
    ws.file("configs/best.yaml", committed);
    assert!(
        git(ws.path(), &["init", "-q"]),
        "git is needed for this test"
    );
    assert!(git(ws.path(), &["add", "configs/best.yaml"]));
    assert!(git(ws.path(), &["commit", "-q", "-m", "evidence"]));

    ws.run_read_only(&["run", "manifests/sweep.yaml", "--plan"])
        .code(0)
        .stdout_has("note         promotion into committed evidence will be skipped (promotion targets tracked by git: configs/best.yaml)")
        .stdout_has("note         if the command writes no checkpoints ($TUNIX_CHECKPOINT_DIR/step-NNNNNNNN/), every rung after the first trains a trial again from step 0: a trial that reaches step 8 trains 2 + 4 + 8 = 14 steps instead of 8");
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0);
    let best = ledger(&ws, "toy")["best"]["trial_id"]
        .as_str()
        .expect("a best trial")
        .to_string();
    run.stdout_has(&format!(
        "note         promotion into committed evidence was skipped: the best trial is {best} (promotion targets tracked by git: configs/best.yaml); to regenerate them, run: tunix-rt run manifests/sweep.yaml --update-evidence"
    ));
    assert!(!run.stdout.contains("promoted     "), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("configs/best.yaml")).expect("read"),
        committed
    );
    assert!(!ws.path().join("configs/best.json").exists());
    assert!(!ws.path().join("submission_runs/toy_v1").exists());
    let json = ws
        .run(&["run", "manifests/sweep.yaml", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(json["evidence_skipped"]["best_trial_id"], best.as_str());
    assert_eq!(
        json["evidence_skipped"]["files"],
        serde_json::json!(["configs/best.yaml"])
    );

    ws.run(&["run", "manifests/sweep.yaml", "--update-evidence"])
        .code(0)
        .stdout_has("promoted     configs/best.yaml");
    let rewritten = std::fs::read_to_string(ws.path().join("configs/best.yaml")).expect("read");
    assert!(
        rewritten.contains(&format!(
            "Promoted by tunix-rt from sweep toy, trial {best}"
        )),
        "{rewritten}"
    );
    assert!(ws
        .path()
        .join("submission_runs/toy_v1/run_manifest.json")
        .exists());
}

#[test]
fn a_sweep_folder_of_another_manifest_is_refused_naming_the_differing_keys() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("mixed", "toy.py", TOY, 4, false)
            .num_samples(2)
            .metric("val_loss")
            .to_yaml(),
    );
    ws.run(&["run", "manifests/sweep.yaml"]).code(0);
    ws.file(
        "manifests/sweep.yaml",
        sweep("mixed", "toy.py", TOY, 6, false)
            .num_samples(2)
            .metric("val_loss")
            .to_yaml(),
    );
    let run = ws.run_read_only(&["run", "manifests/sweep.yaml"]);
    run.code(2)
        .stderr_has("holds a sweep of a different manifest")
        .stderr_has("trials[*].spec.training.max_steps")
        .stderr_has("rungs");
}

#[test]
fn sweep_bad_input_is_refused_before_anything_is_written() {
    let ws = Workspace::new();
    let bad = || sweep("bad", "toy.py", TOY, 4, false);
    let cases = [
        (
            bad()
                .search("learning_rat", uniform(0.1, 0.2))
                .num_samples(2),
            "`learning_rat` is not a training parameter",
        ),
        (
            bad().num_samples(2).max_concurrent_trials(3),
            "max_concurrent_trials (3) is more than the plan's 2 trial(s)",
        ),
        (
            bad()
                .num_samples(1)
                .promote("../../elsewhere.yaml", "../p.json"),
            "/spec/promote/config",
        ),
    ];
    for (manifest, message) in cases {
        ws.file("manifests/bad.yaml", manifest.to_yaml());
        ws.run_read_only(&["run", "manifests/bad.yaml"])
            .code(2)
            .stderr_has(message);
    }
    ws.file(
        "manifests/big.yaml",
        sweep("big", "toy.py", TOY, 4, false)
            .search("seed", grid(1..=20))
            .num_samples(15)
            .metric("val_loss")
            .to_yaml(),
    );
    ws.run_read_only(&["run", "manifests/big.yaml"])
        .code(2)
        .stderr_has("the plan has 300 trials, more than the cap of 256")
        .stderr_has("--yes");
    ws.run_read_only(&["run", "manifests/big.yaml", "--plan", "--format", "json"])
        .code(0);
}
