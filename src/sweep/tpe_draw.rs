//! Which trials of a TPE sweep are drawn next, and with what values: pure.
//!
//! Rules (they make a trial's values a function of the seed and of the
//! results recorded before it was drawn, so a resumed sweep never redraws
//! a decided trial and draws the rest as an uninterrupted one would):
//! - Trials are drawn in trial order, in batches of `max_concurrent_trials`,
//!   at the first rung of their bracket (the sweep's first rung without
//!   Hyperband).
//! - A batch is drawn only when every trial of the bracket drawn before it
//!   has a result at that rung (its metric there, or a failure): until
//!   then, none.
//! - Each draw sees every drawn trial's metric at that rung (none for a
//!   failed trial; [`super::tpe`] leaves those out). Trials the scheduler
//!   stopped before that rung, and the batch's earlier draws, count as
//!   pending (Optuna's constant liar: they take the worst value, so a
//!   stopped trial's region counts as bad and one batch spreads out
//!   instead of drawing the same point several times).
//! - Trial `k`'s generator is seeded from (sweep seed, `k`) alone.
//!
//! The coordinator records the values, the observed trials and the
//! pending ones in the ledger ([`super::ledger::ResultDraw`]) in the same
//! write that marks the batch drawn.

use std::collections::BTreeMap;

use serde_json::Value;

use super::ledger::{TrialEntry, TrialState};
use super::tpe::{self, Observation, TpeSettings};
use crate::manifest::sweep::{Mode, ParamValue, SweepSpec, TpeConfig};
use crate::rng::{derive_seed, Rng};

/// One trial's draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Draw {
    pub trial_id: String,
    /// Every searched value: the trial's grid values and the drawn ones.
    pub params: BTreeMap<String, Value>,
    /// The trials whose results it saw.
    pub observed: Vec<String>,
    /// The batch's earlier draws, counted as pending.
    pub pending: Vec<String>,
}

/// The sampler settings of a sweep's `search: {tpe: ...}`.
pub fn settings(config: &TpeConfig) -> TpeSettings {
    TpeSettings {
        n_startup_trials: config.n_startup_trials,
        n_ei_candidates: config.n_ei_candidates,
        multivariate: config.multivariate,
        gamma: config.gamma,
        ..TpeSettings::default()
    }
}

/// The batch of `bracket` to draw now (empty when none is due: nothing
/// of the bracket awaits a draw, or one of its trials drawn earlier has no
/// result at `rung` yet). `trials` are the ledger's, in trial order;
/// `rung` is the bracket's first rung.
pub fn next_batch(
    spec: &SweepSpec,
    mode: Mode,
    trials: &[TrialEntry],
    bracket: Option<u32>,
    rung: u32,
) -> Vec<Draw> {
    let Some(config) = spec.search.tpe() else {
        return Vec::new();
    };
    let waiting = trials.iter().any(|t| {
        t.bracket == bracket && !t.is_awaiting_draw() && t.state.is_live() && t.last_step < rung
    });
    if waiting {
        return Vec::new();
    }
    let drawn = || trials.iter().filter(|t| !t.is_awaiting_draw());
    let stopped_before = |t: &TrialEntry| {
        t.state == TrialState::Stopped && t.stopped_at.as_ref().is_some_and(|s| s.rung < rung)
    };
    let results: Vec<(&TrialEntry, Option<f64>)> = drawn()
        .filter(|t| !stopped_before(t))
        .map(|t| (t, result_at(t, rung)))
        .collect();
    let stopped: Vec<&TrialEntry> = drawn().filter(|t| stopped_before(t)).collect();
    let settings = settings(config);
    let batch = usize::try_from(spec.max_concurrent_trials.max(1)).unwrap_or(1);
    let mut drawn: Vec<Draw> = Vec::new();
    for (k, t) in trials.iter().enumerate() {
        if drawn.len() == batch {
            break;
        }
        if !t.is_awaiting_draw() || t.bracket != bracket {
            continue;
        }
        let history: Vec<Observation> = results
            .iter()
            .map(|(t, value)| Observation {
                params: &t.params,
                value: *value,
            })
            .collect();
        let pending: Vec<&BTreeMap<String, Value>> = stopped
            .iter()
            .map(|t| &t.params)
            .chain(drawn.iter().map(|d| &d.params))
            .collect();
        let mut rng = Rng::new(derive_seed(spec.seed, &format!("sweep/tpe/{k}")));
        let values = tpe::suggest(
            &spec.search_space,
            &settings,
            mode,
            &history,
            &pending,
            &mut rng,
        );
        let mut params = t.params.clone();
        params.extend(values.iter().map(|(name, v)| (name.clone(), json_of(v))));
        drawn.push(Draw {
            trial_id: t.trial_id.clone(),
            params,
            observed: results.iter().map(|(t, _)| t.trial_id.clone()).collect(),
            pending: stopped
                .iter()
                .map(|t| t.trial_id.clone())
                .chain(drawn.iter().map(|d| d.trial_id.clone()))
                .collect(),
        });
    }
    drawn
}

/// A trial's result at `rung` as the sampler sees it: its metric there
/// (or at its own last step, when it completed before `rung`: a sweep
/// without a scheduler may search `max_steps`), none when it failed or
/// reported none (or NaN).
fn result_at(t: &TrialEntry, rung: u32) -> Option<f64> {
    if t.state == TrialState::Failed && t.last_step < rung {
        return None;
    }
    let step = if t.state == TrialState::Completed {
        rung.min(t.last_step)
    } else {
        rung
    };
    t.metrics
        .get(&step)
        .copied()
        .flatten()
        .filter(|v| !v.is_nan())
}

fn json_of(v: &ParamValue) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(concurrency: u32, startup: u32) -> SweepSpec {
        serde_json::from_value(serde_json::json!({
            "base": "b.yaml",
            "search_space": {
                "learning_rate": { "loguniform": [1e-4, 1e-1] },
                "warmup_steps": { "randint": [0, 20] },
                "model.n_layer": { "grid": [2, 4] },
            },
            "num_samples": 6,
            "search": { "tpe": { "n_startup_trials": startup } },
            "max_concurrent_trials": concurrency,
            "seed": 3,
        }))
        .expect("spec")
    }

    /// `n` trials: the first `done` drawn and finished at rung 10 with
    /// metric = their index, the rest awaiting a draw.
    fn trials(n: usize, done: usize) -> Vec<TrialEntry> {
        (0..n)
            .map(|k| {
                let id = format!("t{k:03}");
                let grid = BTreeMap::from([("model.n_layer".to_string(), serde_json::json!(2))]);
                if k < done {
                    let mut params = grid;
                    params.insert(
                        "learning_rate".into(),
                        serde_json::json!(0.001 * (k + 1) as f64),
                    );
                    params.insert("warmup_steps".into(), serde_json::json!(k));
                    let mut t = TrialEntry::pending(&id, &params);
                    t.reach(10, true, Some(k as f64));
                    t
                } else {
                    TrialEntry::awaiting_draw(&id, &grid)
                }
            })
            .collect()
    }

    #[test]
    fn a_batch_waits_for_every_earlier_result() {
        let mut ts = trials(12, 4);
        ts[3].state = TrialState::Running;
        ts[3].last_step = 0;
        ts[3].metrics.clear();
        assert!(next_batch(&spec(2, 4), Mode::Max, &ts, None, 10).is_empty());
        ts[3].fail_at(
            0,
            crate::runfolder::Failure {
                class: "crash".into(),
                message: "boom".into(),
            },
        );
        let batch = next_batch(&spec(2, 4), Mode::Max, &ts, None, 10);
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[0].trial_id, "t004");
        assert_eq!(batch[1].pending, vec!["t004".to_string()]);
        assert_eq!(batch[0].observed.len(), 4);
    }

    #[test]
    fn draws_keep_the_grid_value_and_fill_the_rest_in_bounds() {
        let batch = next_batch(&spec(3, 4), Mode::Min, &trials(12, 4), None, 10);
        assert_eq!(batch.len(), 3);
        for d in &batch {
            assert_eq!(d.params["model.n_layer"], serde_json::json!(2));
            let lr = d.params["learning_rate"].as_f64().expect("lr");
            assert!((1e-4..=1e-1).contains(&lr), "{lr}");
            let w = d.params["warmup_steps"].as_i64().expect("int");
            assert!((0..=20).contains(&w), "{w}");
        }
    }

    #[test]
    fn the_same_results_give_the_same_draws() {
        let a = next_batch(&spec(4, 4), Mode::Max, &trials(12, 6), None, 10);
        let b = next_batch(&spec(4, 4), Mode::Max, &trials(12, 6), None, 10);
        assert_eq!(a, b);
        assert_eq!(a.len(), 4);
        assert!(next_batch(&spec(4, 4), Mode::Max, &trials(6, 6), None, 10).is_empty());
    }
}
