//! A fixed sweep for the unit tests: every trial state, a failure with
//! hostile text, a trial tied with the best, one clearly worse, one
//! without eval items.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::input::{SearchSpace, SweepInput, TrialRun};
use crate::manifest::sweep::{Distribution, Mode, ParamValue, SweepMetric};
use crate::runfolder::{Failure, RunStatus};
use crate::scoring::ItemRow;
use tunix_core::sweep::ledger::{
    BestTrial, Ledger, StopPoint, TrialEntry, TrialState, LEDGER_SCHEMA_VERSION,
};

/// A ledger (through serde, so that fields the ledger gains with a
/// default need no change here).
pub fn ledger(
    sweep: &str,
    metric: SweepMetric,
    mode: Mode,
    rungs: &[u32],
    trials: Vec<TrialEntry>,
    best: Option<BestTrial>,
) -> Ledger {
    serde_json::from_value(json!({
        "schema_version": LEDGER_SCHEMA_VERSION,
        "sweep": sweep,
        "identity": "ab".repeat(32),
        "metric": metric,
        "mode": mode,
        "rungs": rungs,
        "trials": trials,
        "decisions": [],
        "best": best,
    }))
    .expect("a valid ledger")
}

/// `n` items, item `i` with correctness `f(i)`.
pub fn items(n: usize, f: impl Fn(usize) -> f64) -> Vec<ItemRow> {
    (0..n)
        .map(|i| ItemRow {
            id: format!("item-{i:03}"),
            category: "core".to_string(),
            answer_correctness: Some(f(i)),
            score: None,
            tags: Vec::new(),
        })
        .collect()
}

/// The parameters of a trial.
fn params(lr: f64, batch: i64, wd: f64) -> BTreeMap<String, Value> {
    [
        ("learning_rate".to_string(), json!(lr)),
        ("per_device_batch_size".to_string(), json!(batch)),
        ("weight_decay".to_string(), json!(wd)),
    ]
    .into()
}

/// A trial in `state` that reached `metrics` (step, value).
fn trial(
    id: &str,
    params: BTreeMap<String, Value>,
    state: TrialState,
    metrics: &[(u32, Option<f64>)],
) -> TrialEntry {
    let mut t = TrialEntry::pending(id, &params);
    t.state = state;
    t.last_step = metrics.last().map_or(0, |m| m.0);
    t.metrics = metrics.iter().copied().collect();
    if state == TrialState::Stopped {
        t.stopped_at = Some(StopPoint {
            rung: t.last_step,
            metric: metrics.last().and_then(|m| m.1),
        });
    }
    t
}

/// A run folder's contents: a loss curve down to `final_loss` at `last`,
/// the metric at every rung reached, and `items`.
fn run(
    id: &str,
    status: RunStatus,
    last: u64,
    final_loss: f64,
    metrics: &[(u32, Option<f64>)],
    items: Option<Vec<ItemRow>>,
) -> TrialRun {
    TrialRun {
        run_id: format!("lr-sweep-{id}"),
        status,
        failure: None,
        loss: (0..=last / 2)
            .map(|k| {
                let step = k * 2;
                (step, final_loss + 4.0 / (step as f64 + 1.0))
            })
            .collect(),
        metric: metrics
            .iter()
            .filter_map(|(s, m)| m.map(|v| (u64::from(*s), v)))
            .collect(),
        items,
    }
}

/// The fixture sweep: primary_score, mode max, rungs 4, 8, 12.
pub fn input() -> SweepInput {
    use TrialState::*;
    let m000 = [(4, Some(0.5)), (8, Some(0.6)), (12, Some(0.8))];
    let m001 = [(4, Some(0.2))];
    let m003 = [(4, Some(0.45)), (8, Some(0.62)), (12, Some(0.78))];
    let m005 = [(4, Some(0.4)), (8, Some(0.58)), (12, Some(0.3))];
    let m006 = [(4, Some(0.3)), (8, Some(0.61)), (12, Some(0.7))];
    let m007 = [(4, Some(0.35)), (8, Some(0.55))];
    let trials = vec![
        trial("t000", params(0.0011, 8, 0.01), Completed, &m000),
        trial("t001", params(0.0087, 32, 0.09), Stopped, &m001),
        trial("t002", params(0.0095, 16, 0.05), Failed, &[]),
        trial("t003", params(0.0014, 8, 0.03), Completed, &m003),
        trial("t004", params(0.0002, 16, 0.07), Pending, &[]),
        trial("t005", params(0.0051, 32, 0.02), Completed, &m005),
        trial("t006", params(0.0003, 16, 0.06), Completed, &m006),
        trial("t007", params(0.0025, 8, 0.04), Stopped, &m007),
    ];
    let mut failed = run("t002", RunStatus::Failed, 3, 9.0, &[], None);
    failed.failure = Some(Failure {
        class: "nan_loss".to_string(),
        message: "training loss became NaN by step 3 <script>alert(1)</script> {{ 7*7 }}"
            .to_string(),
    });
    let mut trials = trials;
    trials[2].failure = failed.failure.clone();
    let runs: BTreeMap<String, TrialRun> = [
        run(
            "t000",
            RunStatus::Completed,
            12,
            0.5,
            &m000,
            Some(items(40, |i| if i % 10 == 0 { 0.0 } else { 1.0 })),
        ),
        run("t001", RunStatus::Stopped, 4, 1.5, &m001, None),
        failed,
        run(
            "t003",
            RunStatus::Completed,
            12,
            0.6,
            &m003,
            Some(items(40, |i| if i % 10 == 1 { 0.0 } else { 1.0 })),
        ),
        run(
            "t005",
            RunStatus::Completed,
            12,
            1.1,
            &m005,
            Some(items(40, |i| if i % 2 == 0 { 1.0 } else { 0.0 })),
        ),
        run("t006", RunStatus::Completed, 12, 0.7, &m006, None),
        run("t007", RunStatus::Stopped, 8, 0.9, &m007, None),
    ]
    .into_iter()
    .map(|r| (r.run_id.trim_start_matches("lr-sweep-").to_string(), r))
    .collect();
    let best = BestTrial {
        trial_id: "t000".to_string(),
        metric: 0.8,
        params: trials[0].params.clone(),
        tie_rule: None,
    };
    SweepInput {
        folder: "submission_runs/lr-sweep".to_string(),
        ledger: ledger(
            "lr-sweep",
            SweepMetric::primary_score(),
            Mode::Max,
            &[4, 8, 12],
            trials,
            Some(best),
        ),
        space: Some(SearchSpace {
            source: "manifests/sweep.yaml".to_string(),
            params: [
                (
                    "learning_rate".to_string(),
                    Distribution::Loguniform([1e-4, 1e-2]),
                ),
                (
                    "per_device_batch_size".to_string(),
                    Distribution::Choice(vec![
                        ParamValue::Int(8),
                        ParamValue::Int(16),
                        ParamValue::Int(32),
                    ]),
                ),
                (
                    "weight_decay".to_string(),
                    Distribution::Uniform([0.0, 0.1]),
                ),
            ]
            .into(),
        }),
        runs,
        alpha: 0.05,
    }
}
