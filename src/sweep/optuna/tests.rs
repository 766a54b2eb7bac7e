//! The journal of a small ledger holding every trial state.

use super::*;
use crate::manifest::sweep::ParamValue;

fn ledger() -> Ledger {
    serde_json::from_value(json!({
        "schema_version": 1,
        "sweep": "toy",
        "identity": "ab".repeat(32),
        "metric": "primary_score",
        "mode": "max",
        "rungs": [2, 4, 8],
        "trials": [
            {"trial_id": "t000", "params": {"lr": 0.001, "opt": "adam"}, "state": "completed",
             "last_step": 8, "metrics": {"2": 0.1, "4": 0.2, "8": 0.5},
             "stopped_at": null, "failure": null},
            {"trial_id": "t001", "params": {"lr": 0.005, "opt": "sgd"}, "state": "stopped",
             "last_step": 2, "metrics": {"2": 0.05}, "stopped_at": {"rung": 2, "metric": 0.05},
             "failure": null},
            {"trial_id": "t002", "params": {"lr": 0.002, "opt": "adam"}, "state": "failed",
             "last_step": 4, "metrics": {"2": 0.3, "4": null}, "stopped_at": null,
             "failure": {"class": "crash", "message": "exit 1"},
             "retried": [{"class": "crash", "message": "exit 1"}]},
            {"trial_id": "t003", "params": {"lr": 0.003, "opt": "sgd"}, "state": "pending",
             "last_step": 0, "metrics": {}, "stopped_at": null, "failure": null},
            {"trial_id": "t004", "params": {"lr": 0.004, "opt": "sgd"}, "state": "completed",
             "last_step": 8, "metrics": {"8": null}, "stopped_at": null, "failure": null},
        ],
        "decisions": [],
        "best": {"trial_id": "t000", "metric": 0.5, "params": {"lr": 0.001, "opt": "adam"}},
    }))
    .expect("a valid ledger")
}

fn space() -> BTreeMap<String, Distribution> {
    [
        ("lr".to_string(), Distribution::Loguniform([0.0005, 0.01])),
        (
            "opt".to_string(),
            Distribution::Grid(vec![
                ParamValue::Text("adam".into()),
                ParamValue::Text("sgd".into()),
            ]),
        ),
    ]
    .into()
}

fn export(space: Option<&BTreeMap<String, Distribution>>) -> Journal {
    let l = ledger();
    let runs: BTreeMap<String, TrialRun> = [(
        "t000".to_string(),
        TrialRun {
            run_id: Some("toy-t000".into()),
            started_at: Some("2026-01-02T03:04:05Z".into()),
            finished_at: Some("2026-01-02T03:05:00.5Z".into()),
        },
    )]
    .into();
    journal(&JournalInput {
        ledger: &l,
        space,
        runs: &runs,
        fallback_time: "2026-02-01T00:00:00Z",
    })
}

#[test]
fn the_study_comes_first_with_the_sweeps_name_direction_and_attrs() {
    let j = export(Some(&space()));
    assert_eq!(
        j.ops[0],
        json!({"op_code": 0, "worker_id": WORKER_ID, "study_name": "toy", "directions": [2]})
    );
    let attrs: Vec<&Value> = j.ops[1..5].iter().map(|o| &o["user_attr"]).collect();
    assert_eq!(attrs[0], &json!({"tunix_sweep": "toy"}));
    assert_eq!(attrs[3], &json!({"tunix_best_trial_id": "t000"}));
    assert!(j.ops[1..5]
        .iter()
        .all(|o| o["op_code"] == 2 && o["study_id"] == 0));
    assert_eq!(j.ops.len(), 5 + 5, "one operation per trial");
    assert!(j.notes.is_empty(), "{:?}", j.notes);
}

#[test]
fn a_completed_trial_is_complete_with_its_last_rungs_metric_and_its_curve() {
    let j = export(Some(&space()));
    let t = &j.ops[5];
    assert_eq!(t["op_code"], 4);
    assert_eq!(t["state"], 1);
    assert_eq!(t["value"], 0.5);
    assert_eq!(t["values"], Value::Null);
    assert_eq!(
        t["intermediate_values"],
        json!({"2": 0.1, "4": 0.2, "8": 0.5})
    );
    assert_eq!(t["params"], json!({"lr": 0.001, "opt": 0}));
    let lr: Value = serde_json::from_str(t["distributions"]["lr"].as_str().expect("a JSON string"))
        .expect("json");
    assert_eq!(
        lr,
        json!({"name": "FloatDistribution", "attributes": {"step": null, "low": 0.0005, "high": 0.01, "log": true}})
    );
    assert_eq!(t["datetime_start"], "2026-01-02T03:04:05.000000+00:00");
    assert_eq!(t["datetime_complete"], "2026-01-02T03:05:00.500000+00:00");
    assert_eq!(t["user_attrs"]["tunix_trial_id"], "t000");
    assert_eq!(t["user_attrs"]["tunix_run_id"], "toy-t000");
}

#[test]
fn a_stopped_trial_is_pruned_with_its_last_intermediate_value() {
    let t = &export(Some(&space())).ops[6];
    assert_eq!(t["state"], 2);
    assert_eq!(t["value"], 0.05);
    assert_eq!(t["intermediate_values"], json!({"2": 0.05}));
    assert_eq!(t["user_attrs"]["tunix_stopped_at_rung"], 2);
    assert_eq!(t["datetime_start"], "2026-02-01T00:00:00.000000+00:00");
    assert_eq!(t["datetime_complete"], "2026-02-01T00:00:00.000000+00:00");
}

#[test]
fn a_failed_trial_fails_with_its_class_and_the_rungs_it_reported() {
    let t = &export(Some(&space())).ops[7];
    assert_eq!(t["state"], 3);
    assert_eq!(t["value"], Value::Null);
    assert_eq!(t["intermediate_values"], json!({"2": 0.3}));
    assert_eq!(t["user_attrs"]["tunix_failure_class"], "crash");
    assert_eq!(t["user_attrs"]["tunix_failure_message"], "exit 1");
    assert_eq!(t["user_attrs"]["tunix_retried"], json!(["crash"]));
}

#[test]
fn a_pending_trial_waits_with_fixed_params_as_an_enqueued_trial() {
    let t = &export(Some(&space())).ops[8];
    assert_eq!(t["state"], 4);
    assert_eq!(t["datetime_start"], Value::Null);
    assert!(t.get("datetime_complete").is_none(), "{t}");
    assert_eq!(t["params"], json!({}));
    assert_eq!(
        t["system_attrs"],
        json!({"fixed_params": {"lr": 0.003, "opt": "sgd"}})
    );
}

#[test]
fn a_completed_trial_without_the_metric_fails_and_says_why() {
    let j = export(Some(&space()));
    let t = &j.ops[9];
    assert_eq!(t["state"], 3);
    assert_eq!(
        t["user_attrs"]["tunix_note"],
        "completed without reporting primary_score at step 8"
    );
    let counts: Vec<(&str, usize)> = j.states.iter().map(|(s, n)| (s.name(), *n)).collect();
    assert_eq!(
        counts,
        [("COMPLETE", 1), ("PRUNED", 1), ("FAIL", 2), ("WAITING", 1)]
    );
}

#[test]
fn without_a_search_space_distributions_are_inferred_and_noted() {
    let j = export(None);
    assert_eq!(j.notes.len(), 2, "{:?}", j.notes);
    assert!(
        j.notes[0].starts_with("lr: distribution inferred"),
        "{:?}",
        j.notes
    );
    let t = &j.ops[5];
    let opt: Value =
        serde_json::from_str(t["distributions"]["opt"].as_str().expect("string")).expect("json");
    assert_eq!(opt["attributes"]["choices"], json!(["adam", "sgd"]));
    let lr: Value =
        serde_json::from_str(t["distributions"]["lr"].as_str().expect("string")).expect("json");
    assert_eq!(lr["attributes"]["low"], 0.001);
    assert_eq!(lr["attributes"]["high"], 0.005);
}

#[test]
fn a_value_outside_the_declared_distribution_falls_back_to_inference() {
    let mut s = space();
    s.insert("lr".into(), Distribution::Uniform([0.0, 0.002]));
    let j = export(Some(&s));
    assert_eq!(j.notes.len(), 1, "{:?}", j.notes);
    assert!(
        j.notes[0].contains("outside the search space"),
        "{:?}",
        j.notes
    );
}

#[test]
fn distributions_map_as_optuna_names_them() {
    let int = ParamDistribution::from_search(&Distribution::Randint([1, 8]));
    assert_eq!(int.internal(&json!(4)), Some(json!(4.0)));
    assert_eq!(int.internal(&json!(9)), None);
    let v: Value = serde_json::from_str(&int.to_json()).expect("json");
    assert_eq!(v["name"], "IntDistribution");
    assert_eq!(v["attributes"]["step"], 1);
    let choice = ParamDistribution::from_search(&Distribution::Choice(vec![
        ParamValue::Int(1),
        ParamValue::Bool(true),
        ParamValue::Float(0.5),
    ]));
    assert_eq!(choice.internal(&json!(1.0)), Some(json!(0)));
    assert_eq!(choice.internal(&json!(true)), Some(json!(1)));
    assert_eq!(choice.internal(&json!("x")), None);
    assert_eq!(
        ParamDistribution::infer(&[&json!(3), &json!(1)]),
        Some(ParamDistribution::Int { low: 1, high: 3 })
    );
    assert_eq!(ParamDistribution::infer(&[]), None);
}

#[test]
fn the_file_is_one_compact_json_object_per_line() {
    let j = export(Some(&space()));
    let text = String::from_utf8(j.to_bytes()).expect("utf-8");
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), j.ops.len());
    for (line, op) in lines.iter().zip(&j.ops) {
        assert_eq!(&serde_json::from_str::<Value>(line).expect("json"), op);
    }
}

#[test]
fn times_are_written_as_python_reads_them() {
    assert_eq!(
        optuna_time("2026-01-02T03:04:05Z").as_deref(),
        Some("2026-01-02T03:04:05.000000+00:00")
    );
    assert_eq!(optuna_time("yesterday"), None);
}
