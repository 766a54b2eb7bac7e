//! `tunix-rt sweep export --optuna-journal`: a real ASHA sweep of the toy
//! command trainer, exported and opened with Optuna's own
//! `JournalStorage` (TUNIX_TEST_PYTHON with the optuna package); and the
//! bad input that writes nothing.

use serde_json::Value;

use crate::support::Workspace;
use crate::sweep_command::{asha, ledger, sweep, TOY};

/// Opens the journal `argv[1]` as study `argv[2]`, validates every trial
/// as `Study.add_trial` would, and prints what the test compares.
const LOAD: &str = r#"
import json, sys
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
optuna.logging.set_verbosity(optuna.logging.WARNING)
study = optuna.load_study(study_name=sys.argv[2], storage=JournalStorage(JournalFileBackend(sys.argv[1])))
for t in study.trials:
    t._validate()
best = study.best_trial
print(json.dumps({
    "direction": study.direction.name,
    "user_attrs": study.user_attrs,
    "trials": [{
        "number": t.number,
        "state": t.state.name,
        "value": t.value,
        "params": t.params,
        "intermediate": {str(k): v for k, v in t.intermediate_values.items()},
        "trial_id": t.user_attrs.get("tunix_trial_id"),
        "log": t.distributions["learning_rate"].log,
    } for t in study.trials],
    "best": {"number": best.number, "value": best.value, "params": best.params},
}))
"#;

/// A workspace where the toy ASHA sweep `toy` has run (6 trials, 4
/// stopped by ASHA).
fn swept() -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        asha(sweep("toy", "toy.py", TOY, 8, true)).to_yaml(),
    );
    ws.run(&["run", "manifests/sweep.yaml", "--no-index"])
        .code(0);
    ws
}

#[test]
fn an_asha_sweep_opens_in_optuna_with_its_states_curves_and_best_trial() {
    let ws = swept();
    let out = ws
        .run(&[
            "sweep",
            "export",
            "toy",
            "--optuna-journal",
            "out/toy.journal",
            "--format",
            "json",
        ])
        .code(0)
        .json();
    assert_eq!(out["study_name"], "toy");
    assert_eq!(out["states"]["COMPLETE"], 2, "{out}");
    assert_eq!(out["states"]["PRUNED"], 4, "{out}");
    assert_eq!(out["notes"], serde_json::json!([]), "{out}");
    let journal = ws.path().join("out/toy.journal");
    assert!(journal.is_file());

    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!(
            "skipped: set TUNIX_TEST_PYTHON to a python with the optuna package (make unit does)"
        );
        return;
    };
    let run = std::process::Command::new(python)
        .arg("-c")
        .arg(LOAD)
        .arg(&journal)
        .arg("toy")
        .output()
        .expect("run python");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let study: Value = serde_json::from_slice(&run.stdout).expect("json");
    let l = ledger(&ws, "toy");
    assert_eq!(study["direction"], "MAXIMIZE");
    assert_eq!(
        study["user_attrs"]["tunix_best_trial_id"],
        l["best"]["trial_id"]
    );
    let trials = study["trials"].as_array().expect("trials");
    let entries = l["trials"].as_array().expect("ledger trials");
    assert_eq!(trials.len(), entries.len());
    for (k, (t, e)) in trials.iter().zip(entries).enumerate() {
        assert_eq!(t["number"], k);
        assert_eq!(t["trial_id"], e["trial_id"]);
        assert_eq!(t["params"], e["params"], "{t}");
        assert_eq!(t["log"], true, "loguniform is a log FloatDistribution");
        assert_eq!(t["intermediate"], e["metrics"], "one value per rung: {t}");
        let expected = match e["state"].as_str() {
            Some("completed") => "COMPLETE",
            Some("stopped") => "PRUNED",
            other => panic!("a toy trial ended {other:?}"),
        };
        assert_eq!(t["state"], expected, "{t}");
        let last = e["last_step"].to_string();
        assert_eq!(t["value"], e["metrics"][&last], "{t}");
    }
    let best_id = l["best"]["trial_id"].as_str().expect("best");
    let best_number = entries
        .iter()
        .position(|e| e["trial_id"] == best_id)
        .expect("best is a trial");
    assert_eq!(study["best"]["number"], best_number);
    assert_eq!(study["best"]["value"], l["best"]["metric"]);
    assert_eq!(study["best"]["params"], l["best"]["params"]);
}

#[test]
fn an_existing_journal_is_kept_unless_force() {
    let ws = swept();
    ws.file("toy.journal", "a study someone appends to\n");
    let before = ws.snapshot();
    ws.run(&["sweep", "export", "toy", "--optuna-journal", "toy.journal"])
        .code(2)
        .stderr_has("toy.journal: the file exists")
        .stderr_has("--force");
    assert_eq!(before, ws.snapshot(), "nothing was written");
    ws.run(&[
        "sweep",
        "export",
        "submission_runs/toy",
        "--optuna-journal",
        "toy.journal",
        "--force",
    ])
    .code(0)
    .stdout_has("wrote        toy.journal (Optuna journal, study `toy`)")
    .stdout_has("trials       6: 2 COMPLETE, 4 PRUNED")
    .stdout_has("optuna-dashboard toy.journal");
    let text = std::fs::read_to_string(ws.path().join("toy.journal")).expect("read");
    assert!(text.starts_with("{\"op_code\":0,"), "{text}");
    assert_eq!(
        text.lines().count(),
        1 + 4 + 6,
        "study, its attrs, a line per trial"
    );
}

#[test]
fn an_unknown_sweep_is_bad_input_and_writes_nothing() {
    let ws = Workspace::new();
    ws.run_read_only(&["sweep", "export", "nope", "--optuna-journal", "o.journal"])
        .code(2)
        .stderr_has("no sweep `nope`");
}

#[test]
fn a_sweep_folder_without_a_ledger_is_bad_input_and_writes_nothing() {
    let ws = Workspace::new();
    ws.file("submission_runs/half/plan.json", "{}");
    ws.run_read_only(&["sweep", "export", "half", "--optuna-journal", "o.journal"])
        .code(2)
        .stderr_has("no sweep `half`");
    ws.run_read_only(&[
        "sweep",
        "export",
        "submission_runs/half",
        "--optuna-journal",
        "o.journal",
    ])
    .code(2)
    .stderr_has("not a sweep folder (it has no sweep.json)");
}
