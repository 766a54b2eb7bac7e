//! `tunix-rt run <sweep.yaml> --plan`: the expanded trial table, the same on
//! every run, and nothing written.

use tunix_testkit::manifest::{
    choice, grid, loguniform, uniform, DatasetName, Mode, ModelPreset, SweepManifestBuilder,
    TrainManifestBuilder,
};

use crate::support::{repo, tiny_train, Workspace, EVAL_V2};

/// The Train manifest `base`: gpt-nano at its own size, 200 steps, evaluated.
fn base() -> TrainManifestBuilder {
    TrainManifestBuilder::new("base")
        .model(ModelPreset::GptNano)
        .dataset(DatasetName::DevReasoningV2)
        .learning_rate(1.0e-3)
        .per_device_batch_size(16)
        .max_steps(200)
        .eval(EVAL_V2)
}

/// The Sweep `lr-sweep` of `configs/base.yaml`; the rest of its spec is
/// the caller's.
fn lr_sweep() -> SweepManifestBuilder {
    SweepManifestBuilder::based_on("lr-sweep", "../configs/base.yaml")
}

/// A workspace with `configs/base.yaml` ([`base`]) and
/// `manifests/sweep.yaml` (`sweep`).
fn workspace(sweep: SweepManifestBuilder) -> Workspace {
    let ws = Workspace::new();
    ws.file("configs/base.yaml", base().to_yaml());
    ws.file("manifests/sweep.yaml", sweep.to_yaml());
    ws
}

/// 8 random trials over four training parameters, ASHA from step 25.
fn random() -> SweepManifestBuilder {
    lr_sweep()
        .search("learning_rate", loguniform(1.0e-4, 3.0e-3))
        .search("per_device_batch_size", choice([8, 16, 32]))
        .search("weight_decay", uniform(0.0, 0.1))
        .search("warmup_steps", choice([0, 10, 20]))
        .overrides("max_steps", 100)
        .num_samples(8)
        .asha(25, 3)
        .seed(7)
}

#[test]
fn plan_shows_every_trial_and_writes_nothing() {
    let ws = workspace(random());
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
    let ws = workspace(random());
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
        lr_sweep()
            .search("per_device_batch_size", grid([8, 16]))
            .search("warmup_steps", grid([0, 10, 20]))
            .search("learning_rate", loguniform(1.0e-4, 1.0e-3))
            .num_samples(2),
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
        lr_sweep()
            .search("warmup_steps", grid([0, 50]))
            .overrides("max_steps", 10)
            .num_samples(1),
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
fn plan_on_a_train_manifest_is_a_usage_error() {
    let ws = workspace(random());
    ws.run_read_only(&["run", "configs/base.yaml", "--plan"])
        .code(2)
        .stderr_has("only Sweep manifests have a trial plan");
}

/// A tiny CPU base (a trial step takes milliseconds), labelled.
fn tiny_base() -> TrainManifestBuilder {
    tiny_train("tiny", 50)
        .label("milestone", "m-test")
        .warmup_steps(0)
        .checkpoint_interval(100)
        .log_interval(4)
}

/// 4 trials, rungs 4, 8, 12, two at a time, promoted into configs/.
fn halving() -> SweepManifestBuilder {
    lr_sweep()
        .search("learning_rate", loguniform(1.0e-3, 1.0e-2))
        .overrides("max_steps", 12)
        .num_samples(4)
        .metric("val_loss")
        .mode(Mode::Min)
        .asha(4, 2)
        .max_concurrent_trials(2)
        .seed(3)
        .promote(
            "../configs/best.yaml",
            "../submission_runs/best_params.json",
        )
}

fn tiny_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("configs/base.yaml", tiny_base().to_yaml());
    ws.file("manifests/sweep.yaml", halving().to_yaml());
    ws
}

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// The trials' folders' run_manifest.json bytes, by trial id.
fn trial_manifests(ws: &Workspace) -> Vec<(String, Vec<u8>)> {
    let ledger = read_json(&ws.path().join("submission_runs/lr-sweep/sweep.json"));
    ledger["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| {
            let id = t["trial_id"].as_str().expect("id").to_string();
            let dir = ws
                .path()
                .join(format!("submission_runs/lr-sweep/trials/lr-sweep-{id}"));
            let bytes = std::fs::read(dir.join("run_manifest.json")).expect("run manifest");
            (id, bytes)
        })
        .collect()
}

/// (trial id, state, last step) of every trial, and the decisions.
fn outcome(
    ws: &Workspace,
) -> (
    Vec<(String, String, u64)>,
    serde_json::Value,
    serde_json::Value,
) {
    let l = read_json(&ws.path().join("submission_runs/lr-sweep/sweep.json"));
    let trials = l["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| {
            (
                t["trial_id"].as_str().expect("id").to_string(),
                t["state"].as_str().expect("state").to_string(),
                t["last_step"].as_u64().expect("step"),
            )
        })
        .collect();
    (trials, l["decisions"].clone(), l["best"].clone())
}

#[test]
fn a_halving_sweep_runs_records_promotes_and_resumes_without_rerunning() {
    let ws = tiny_workspace();
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0)
        .stdout_has("sweep        submission_runs/lr-sweep")
        .stdout_has("best         t0")
        .stdout_has("promoted     configs/best.yaml")
        .stderr_has("sweep: rung 4: continue");

    // 4 trials; rung 4 keeps 2, rung 8 keeps 1, which completes at 12.
    let (trials, decisions, best) = outcome(&ws);
    let count = |state: &str, step: u64| {
        trials
            .iter()
            .filter(|(_, s, l)| s == state && *l == step)
            .count()
    };
    assert_eq!(count("stopped", 4), 2, "{trials:?}");
    assert_eq!(count("stopped", 8), 1, "{trials:?}");
    assert_eq!(count("completed", 12), 1, "{trials:?}");
    assert_eq!(decisions[0]["rung"], 4);
    assert_eq!(decisions[0]["continued"].as_array().map(Vec::len), Some(2));
    assert_eq!(decisions[1]["rung"], 8);
    let ledger = read_json(&ws.path().join("submission_runs/lr-sweep/sweep.json"));
    for t in ledger["trials"].as_array().expect("trials") {
        if t["state"] == "stopped" {
            let rung = t["stopped_at"]["rung"].as_u64().expect("rung");
            assert!(t["stopped_at"]["metric"].as_f64().is_some(), "{t}");
            assert_eq!(
                t["stopped_at"]["metric"],
                t["metrics"][rung.to_string()],
                "{t}"
            );
        }
    }
    let winner = best["trial_id"].as_str().expect("best").to_string();
    let completed = trials
        .iter()
        .find(|(_, s, _)| s == "completed")
        .expect("one");
    assert_eq!(completed.0, winner);

    for (id, bytes) in trial_manifests(&ws) {
        let m: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(m["tuning_job_id"], "lr-sweep");
        assert_eq!(m["trial_id"], id.as_str());
    }

    // Promotion: a Train manifest that validates, and the parameters.
    ws.run(&["validate", "configs/best.yaml"]).code(0);
    let best_yaml = std::fs::read_to_string(ws.path().join("configs/best.yaml")).expect("yaml");
    assert!(best_yaml.contains("name: lr-sweep-best"), "{best_yaml}");
    assert!(best_yaml.contains("milestone: m-test"), "{best_yaml}");
    let params = read_json(&ws.path().join("submission_runs/best_params.json"));
    assert_eq!(params["trial_id"], winner.as_str());
    assert_eq!(params["metric"]["name"], "val_loss");
    assert!(params["params"]["learning_rate"].as_f64().is_some());

    // The index has every trial.
    let q = ws.run(&[
        "db",
        "query",
        "SELECT trial_id, status FROM runs WHERE tuning_job_id = 'lr-sweep' ORDER BY trial_id",
        "--format",
        "json",
    ]);
    q.code(0);
    assert_eq!(q.json().as_array().map(Vec::len), Some(4), "{}", q.stdout);

    // Running it again re-runs nothing.
    let before = trial_manifests(&ws);
    ws.run(&["run", "manifests/sweep.yaml"])
        .code(0)
        .stderr_has("sweep: resuming (2 rung(s) already decided)");
    assert_eq!(trial_manifests(&ws), before);
    assert_eq!(outcome(&ws), (trials, decisions, best));

    // A second coordinator while one holds the sweep's lock.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .open(ws.path().join("submission_runs/lr-sweep/.lock"))
        .expect("lock file");
    lock.try_lock().expect("take the lock");
    std::fs::write(ws.path().join("submission_runs/lr-sweep/.lock"), "4242").expect("pid");
    ws.run(&["run", "manifests/sweep.yaml"])
        .code(3)
        .stderr_has("sweep is running in process 4242");
    drop(lock);

    // Another plan in the same sweep folder is refused.
    ws.file("manifests/sweep.yaml", halving().seed(4).to_yaml());
    ws.run(&["run", "manifests/sweep.yaml"])
        .code(2)
        .stderr_has("submission_runs/lr-sweep/sweep.json holds a sweep of a different manifest")
        .stderr_has("differing keys: trials[*].params.learning_rate")
        .stderr_has("another metadata.name");
}

#[test]
fn the_same_sweep_decides_the_same_in_another_workspace() {
    let a = tiny_workspace();
    let b = tiny_workspace();
    a.run(&["run", "manifests/sweep.yaml"]).code(0);
    b.run(&["run", "manifests/sweep.yaml"]).code(0);
    assert_eq!(outcome(&a), outcome(&b));
}

#[test]
fn a_failing_trial_is_recorded_with_its_class_and_never_stops_the_sweep() {
    let ws = tiny_workspace();
    let out = ws
        .command(&["run", "manifests/sweep.yaml"])
        .env(
            "TUNIX_RT_WORKER",
            crate::support::repo().join("tests/fixtures/trainers/fragile.py"),
        )
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ledger = read_json(&ws.path().join("submission_runs/lr-sweep/sweep.json"));
    let trials = ledger["trials"].as_array().expect("trials");
    let failed = trials
        .iter()
        .find(|t| t["trial_id"] == "t001")
        .expect("t001");
    assert_eq!(failed["state"], "failed", "{failed}");
    assert_eq!(failed["failure"]["class"], "nan_loss", "{failed}");
    let run = read_json(
        &ws.path()
            .join("submission_runs/lr-sweep/trials/lr-sweep-t001/run_manifest.json"),
    );
    assert_eq!(run["status"], "failed");
    // The others went on: the best is the completed trial with the
    // smallest learning rate (val_loss = learning_rate x 100).
    let best_lr = trials
        .iter()
        .filter(|t| t["trial_id"] != "t001")
        .map(|t| t["params"]["learning_rate"].as_f64().expect("lr"))
        .fold(f64::INFINITY, f64::min);
    let best = &ledger["best"];
    let best_trial = trials
        .iter()
        .find(|t| t["trial_id"] == best["trial_id"])
        .expect("best trial");
    assert_eq!(
        best_trial["params"]["learning_rate"].as_f64(),
        Some(best_lr)
    );
    assert_eq!(best_trial["state"], "completed");
}

#[test]
fn model_and_dataset_fields_are_searched_with_dotted_names() {
    let ws = workspace(
        lr_sweep()
            .search("model.n_layer", choice([1, 3]))
            .search("dataset.difficulty.easy", uniform(0.5, 1.0))
            .search("learning_rate", loguniform(1.0e-4, 3.0e-3))
            .overrides("dataset.train_examples", 500)
            .overrides("max_steps", 40)
            .num_samples(4),
    );
    let doc = ws
        .run_read_only(&["run", "manifests/sweep.yaml", "--plan", "--format", "json"])
        .code(0)
        .json();
    for t in doc["trials"].as_array().expect("trials") {
        assert!([1, 3].contains(&t["params"]["model.n_layer"].as_u64().expect("int")));
        let easy = t["params"]["dataset.difficulty.easy"]
            .as_f64()
            .expect("real");
        assert!((0.5..=1.0).contains(&easy), "{easy}");
    }
    let bad = workspace(
        lr_sweep()
            .search("model.n_layers", choice([1, 3]))
            .num_samples(2),
    );
    bad.run_read_only(&["run", "manifests/sweep.yaml", "--plan"])
        .code(2)
        .stderr_has("`model.n_layers` is not a training parameter")
        .stderr_has("model.n_layer");
    let clash = workspace(
        lr_sweep()
            .search("model.n_embd", choice([102, 128]))
            .num_samples(4),
    );
    clash
        .run_read_only(&["run", "manifests/sweep.yaml", "--plan"])
        .code(2)
        .stderr_has("/spec/search_space/model.n_embd: trial")
        .stderr_has("is not a multiple of n_head");
}
