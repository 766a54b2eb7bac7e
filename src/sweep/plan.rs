//! Expanding a Sweep into its trials: a pure function of the Sweep spec and
//! its resolved base Train spec.
//!
//! Trial-count rule (Ray Tune's): the grid points are the cartesian product
//! of every `grid` dimension; each grid point gets `num_samples` trials, each
//! drawing the non-grid parameters at random. Without a grid dimension there
//! are `num_samples` trials. Trial `k` is sample `k mod num_samples` of grid
//! point `k div num_samples`; grid points are numbered with the dimensions in
//! name order (the search space is a map, read sorted by key) and the last
//! dimension changing fastest.
//!
//! Trial `k`'s random values are counter-based draws keyed by (sweep seed,
//! `k`, parameter name) (see [`super::space`]), so the plan never depends on
//! the order trials are computed, run or resumed in.
//!
//! With `search: {tpe: ...}`, only the first `n_startup_trials` trials are
//! drawn here (exactly as random search draws them); the others carry their
//! grid values and are marked [`TrialPlan::drawn_from_results`]: the
//! coordinator draws their other values from the results of the trials
//! before them ([`super::tpe_draw`]) and builds their specs with
//! [`trial_with`].
//!
//! Trial ids are `t` and `k` zero-padded to the number of digits of the
//! trial count, at least 3: `t000`, `t001`, …
//!
//! Each trial's Train spec is the base with the overrides set on
//! `training`, then the trial's values set on `training`, every step checked
//! through serde and the [`TrainingConfig`](crate::manifest::train::TrainingConfig)
//! schema, so every trial is a valid Train spec.

use std::collections::BTreeMap;

use serde_json::Value;

use super::hyperband::{self, Bracket};
use super::{asha, space, tpe, tpe_draw};
use crate::error::{Error, Result};
use crate::manifest::params::{set_params, spec_rules};
use crate::manifest::sweep::{
    AshaConfig, Distribution, ParamValue, Scheduler, Search, SweepSpec, TpeConfig,
};
use crate::manifest::train::TrainSpec;

/// Most trials one sweep may plan.
pub const MAX_TRIALS: u64 = 1_000_000;

/// A Sweep expanded into its trials.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPlan {
    /// The sweep's name (`metadata.name`).
    pub name: String,
    /// The sampler's seed (`spec.seed`).
    pub seed: u64,
    /// Trials per grid point (`spec.num_samples`).
    pub num_samples: u32,
    /// Points of the grid (1 without grid dimensions).
    pub grid_points: u64,
    /// Training parameters fixed for every trial.
    pub overrides: BTreeMap<String, ParamValue>,
    /// The ASHA settings, when the sweep uses ASHA.
    pub asha: Option<AshaConfig>,
    /// ASHA's rungs in steps (see [`asha::rungs`]), or with Hyperband
    /// every bracket's rungs; empty without a scheduler.
    pub rungs: Vec<u32>,
    /// How non-grid values are drawn; TPE's with its candidates per draw
    /// resolved ([`resolved_search`]).
    pub search: Search,
    /// The base Train spec with the overrides set: every trial's spec is
    /// this with the trial's values set ([`trial_with`]).
    pub base: TrainSpec,
    /// Hyperband's brackets, in the order they run; empty without
    /// Hyperband (then `rungs` are every trial's).
    pub brackets: Vec<Bracket>,
    pub trials: Vec<TrialPlan>,
}

/// One trial of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialPlan {
    /// `t000`, `t001`, …
    pub trial_id: String,
    /// Every searched parameter's value for this trial, by name.
    pub params: BTreeMap<String, Value>,
    /// The Train spec this trial runs (for a trial drawn from results, the
    /// base with its grid values until it is drawn).
    pub spec: TrainSpec,
    /// Whether the non-grid values are drawn by the coordinator from the
    /// results of earlier trials (TPE after its startup trials) rather
    /// than here: `params` then holds only the grid values.
    pub drawn_from_results: bool,
    /// Its Hyperband bracket (an index into [`SweepPlan::brackets`]).
    pub bracket: Option<u32>,
}

/// `spec`'s search with TPE's candidates per draw stated: the setting, or
/// the default for the parameters drawn together. `--plan` shows it and
/// the plan's identity hashes it, so a sweep that leaves the count to the
/// default and one that writes the same count share an identity.
fn resolved_search(spec: &SweepSpec) -> Search {
    match &spec.search {
        Search::Tpe(config) => Search::Tpe(TpeConfig {
            n_ei_candidates: Some(tpe::candidates_per_draw(
                &spec.search_space,
                &tpe_draw::settings(config),
            )),
            ..config.clone()
        }),
        Search::Random => Search::Random,
    }
}

/// The id of trial `k` among `count` trials.
pub fn trial_id(k: u64, count: u64) -> String {
    let width = count.to_string().len().max(3);
    format!("t{k:0width$}")
}

/// Expand the Sweep `name` with spec `spec` over its resolved base Train
/// spec. Errors are bad input naming the manifest key (e.g.
/// `/spec/search_space/warmup_steps`) and, for a trial's values, the trial.
pub fn expand(name: &str, spec: &SweepSpec, base: &TrainSpec) -> Result<SweepPlan> {
    let grid: Vec<(&String, &Vec<ParamValue>)> = spec
        .search_space
        .iter()
        .filter_map(|(name, dist)| match dist {
            Distribution::Grid(values) => Some((name, values)),
            _ => None,
        })
        .collect();
    let grid_points = grid
        .iter()
        .try_fold(1_u64, |n, (_, values)| n.checked_mul(values.len() as u64));
    let count = grid_points.and_then(|g| g.checked_mul(u64::from(spec.num_samples)));
    let (Some(grid_points), Some(count)) = (grid_points, count.filter(|&c| c <= MAX_TRIALS)) else {
        return Err(Error::bad_input(format!(
            "/spec/search_space: the grid times num_samples gives more than {MAX_TRIALS} trials"
        )));
    };

    let mut overridden = set_params(base, &spec.overrides).map_err(|e| {
        Error::bad_input(format!(
            "/spec/overrides/{}: override does not fit the parameter: {}",
            e.name, e.message
        ))
    })?;

    let asha = match &spec.scheduler {
        Scheduler::Asha(config) => Some(config.clone()),
        Scheduler::None | Scheduler::Hyperband(_) => None,
    };
    let hyperband = match &spec.scheduler {
        Scheduler::Hyperband(config) => Some(config),
        Scheduler::None | Scheduler::Asha(_) => None,
    };
    if let (Some(name), true) = (
        scheduler_name(&spec.scheduler),
        spec.search_space.contains_key("max_steps"),
    ) {
        return Err(Error::bad_input(format!(
            "/spec/search_space/max_steps: {name} compares trials at the same steps, so max_steps cannot be searched with `scheduler: {name}`; fix it in `overrides`"
        )));
    }
    if let Some(h) = hyperband {
        overridden.training.max_steps = h.max_t;
    }
    let mut rungs = asha.as_ref().map_or_else(Vec::new, |a| {
        asha::rungs(
            a.grace_period,
            a.reduction_factor,
            overridden.training.max_steps,
        )
    });
    let (brackets, bracket_of) = match hyperband {
        Some(h) => hyperband::schedule(count, h.max_t, h.reduction_factor, h.grace()),
        None => (Vec::new(), Vec::new()),
    };
    if !brackets.is_empty() {
        rungs = brackets.iter().flat_map(|b| b.rungs.clone()).collect();
        rungs.sort_unstable();
        rungs.dedup();
    }

    let samples = u64::from(spec.num_samples);
    let startup = spec
        .search
        .tpe()
        .map_or(count, |t| u64::from(t.n_startup_trials).min(count));
    let trials = (0..count)
        .map(|k| {
            let id = trial_id(k, count);
            let later = k >= startup;
            let mut values = trial_values(spec, &grid, k / samples, k);
            if later {
                values.retain(|name, _| grid.iter().any(|(g, _)| *g == name));
            }
            let mut t = trial_with(spec, &overridden, id, values)?;
            t.drawn_from_results = later;
            t.bracket = usize::try_from(k)
                .ok()
                .and_then(|k| bracket_of.get(k))
                .copied();
            Ok(t)
        })
        .collect::<Result<Vec<_>>>()?;

    Ok(SweepPlan {
        name: name.to_string(),
        seed: spec.seed,
        num_samples: spec.num_samples,
        grid_points,
        overrides: spec.overrides.clone(),
        asha,
        rungs,
        search: resolved_search(spec),
        base: overridden,
        brackets,
        trials,
    })
}

/// The scheduler's name in manifests, when it halves trials at rungs.
fn scheduler_name(scheduler: &Scheduler) -> Option<&'static str> {
    match scheduler {
        Scheduler::None => None,
        Scheduler::Asha(_) => Some("asha"),
        Scheduler::Hyperband(_) => Some("hyperband"),
    }
}

/// Every searched parameter's value for trial `k` at grid point `point`.
fn trial_values(
    spec: &SweepSpec,
    grid: &[(&String, &Vec<ParamValue>)],
    point: u64,
    k: u64,
) -> BTreeMap<String, ParamValue> {
    let mut values = BTreeMap::new();
    let mut rest = point;
    for (name, choices) in grid.iter().rev() {
        let len = choices.len() as u64;
        // `rest % len` < len = choices.len(), so the index is in range.
        if let Some(v) = choices.get((rest % len) as usize) {
            values.insert((*name).clone(), v.clone());
        }
        rest /= len;
    }
    for (name, dist) in &spec.search_space {
        if let Some(v) = space::draw(dist, spec.seed, k, name) {
            values.insert(name.clone(), v);
        }
    }
    values
}

/// The trial `trial_id` with these values set on `base` (the base with
/// the overrides), its spec checked: the error names the manifest key and
/// the trial.
pub fn trial_with(
    spec: &SweepSpec,
    base: &TrainSpec,
    trial_id: String,
    values: BTreeMap<String, ParamValue>,
) -> Result<TrialPlan> {
    let at = |name: &str| {
        if spec.search_space.contains_key(name) {
            format!("/spec/search_space/{name}")
        } else {
            "/spec/search_space".to_string()
        }
    };
    let trial_spec = set_params(base, &values).map_err(|e| {
        Error::bad_input(format!(
            "{}: trial {trial_id}: the value does not fit the parameter: {}",
            at(&e.name),
            e.message
        ))
    })?;
    if let Some((field, message)) = spec_rules(&trial_spec).into_iter().next() {
        return Err(Error::bad_input(format!(
            "{}: trial {trial_id}: {message}",
            at(field)
        )));
    }
    let params = values
        .iter()
        .map(|(name, v)| (name.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
        .collect();
    Ok(TrialPlan {
        trial_id,
        params,
        spec: trial_spec,
        drawn_from_results: false,
        bracket: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> TrainSpec {
        serde_json::from_value(serde_json::json!({
            "model": { "preset": "gpt-nano" },
            "dataset": { "name": "dev-reasoning-v2" },
            "training": { "learning_rate": 1e-3, "per_device_batch_size": 16, "max_steps": 200 },
        }))
        .expect("base spec")
    }

    fn sweep(value: Value) -> SweepSpec {
        let mut v = serde_json::json!({ "base": "train.yaml", "num_samples": 4 });
        if let (Value::Object(m), Value::Object(extra)) = (&mut v, value) {
            m.extend(extra);
        }
        serde_json::from_value(v).expect("sweep spec")
    }

    fn example() -> SweepSpec {
        sweep(serde_json::json!({
            "search_space": {
                "learning_rate": { "loguniform": [1e-4, 3e-3] },
                "per_device_batch_size": { "choice": [8, 16, 32] },
                "weight_decay": { "uniform": [0.0, 0.1] },
                "warmup_steps": { "randint": [0, 20] },
            },
            "overrides": { "max_steps": 100 },
            "num_samples": 8,
            "seed": 7,
            "scheduler": { "asha": { "grace_period": 25, "reduction_factor": 3 } },
        }))
    }

    #[test]
    fn the_plan_states_tpe_candidates_per_draw_for_the_parameters_drawn_together() {
        let space = |names: &[&str]| -> Value {
            names
                .iter()
                .map(|n| (n.to_string(), serde_json::json!({ "uniform": [0.01, 0.1] })))
                .collect::<serde_json::Map<_, _>>()
                .into()
        };
        let candidates = |tpe: Value, names: &[&str], grid: bool| {
            let mut space = space(names);
            if grid {
                space["warmup_steps"] = serde_json::json!({ "grid": [0, 10, 20] });
            }
            let spec =
                sweep(serde_json::json!({ "search_space": space, "search": { "tpe": tpe } }));
            let plan = expand("s", &spec, &base()).expect("plan");
            plan.search.tpe().and_then(|t| t.n_ei_candidates)
        };
        let two = ["learning_rate", "weight_decay"];
        let five = [
            "learning_rate",
            "weight_decay",
            "model.dropout",
            "grad_clip",
            "dataset.val_fraction",
        ];
        assert_eq!(candidates(serde_json::json!({}), &two, true), Some(24));
        assert_eq!(candidates(serde_json::json!({}), &five, true), Some(72));
        assert_eq!(
            candidates(serde_json::json!({ "multivariate": false }), &five, false),
            Some(24)
        );
        assert_eq!(
            candidates(serde_json::json!({ "n_ei_candidates": 7 }), &five, false),
            Some(7)
        );
    }

    #[test]
    fn ids_are_padded_to_the_trial_count() {
        assert_eq!(trial_id(0, 8), "t000");
        assert_eq!(trial_id(7, 8), "t007");
        assert_eq!(trial_id(999, 1000), "t0999");
    }

    #[test]
    fn random_search_gives_num_samples_valid_trials() {
        let plan = expand("s", &example(), &base()).expect("plan");
        assert_eq!(plan.trials.len(), 8);
        assert_eq!(plan.rungs, vec![25, 75, 100]);
        for t in &plan.trials {
            assert_eq!(t.spec.training.max_steps, 100);
            assert_eq!(t.params.len(), 4);
            assert!(t.params["per_device_batch_size"].is_u64());
            assert!(t.params["warmup_steps"].is_u64());
            let lr = t.params["learning_rate"].as_f64().expect("float");
            assert!((1e-4..=3e-3).contains(&lr));
            assert_eq!(t.spec.training.learning_rate, lr);
            // The spec round-trips through serde unchanged.
            let json = serde_json::to_value(&t.spec).expect("serialize");
            let back: TrainSpec = serde_json::from_value(json).expect("deserialize");
            assert_eq!(back, t.spec);
        }
    }

    #[test]
    fn a_trial_does_not_depend_on_the_trial_count() {
        let mut fewer = example();
        fewer.num_samples = 3;
        let small = expand("s", &fewer, &base()).expect("plan");
        let big = expand("s", &example(), &base()).expect("plan");
        for (a, b) in small.trials.iter().zip(&big.trials) {
            assert_eq!(a.params, b.params);
        }
    }

    #[test]
    fn the_seed_changes_the_draws() {
        let mut other = example();
        other.seed = 8;
        let a = expand("s", &example(), &base()).expect("plan");
        let b = expand("s", &other, &base()).expect("plan");
        assert_ne!(a.trials[0].params, b.trials[0].params);
    }

    #[test]
    fn grid_points_times_samples_last_dimension_fastest() {
        let spec = sweep(serde_json::json!({
            "search_space": {
                "per_device_batch_size": { "grid": [8, 16] },
                "warmup_steps": { "grid": [0, 10, 20] },
                "learning_rate": { "uniform": [1e-4, 1e-3] },
            },
            "num_samples": 2,
        }));
        let plan = expand("s", &spec, &base()).expect("plan");
        assert_eq!(plan.grid_points, 6);
        assert_eq!(plan.trials.len(), 12);
        assert!(plan.rungs.is_empty());
        let cells: Vec<(u64, u64)> = plan
            .trials
            .iter()
            .map(|t| {
                (
                    t.params["per_device_batch_size"].as_u64().expect("int"),
                    t.params["warmup_steps"].as_u64().expect("int"),
                )
            })
            .collect();
        let expected = [(8, 0), (8, 10), (8, 20), (16, 0), (16, 10), (16, 20)];
        let doubled: Vec<(u64, u64)> = expected.iter().flat_map(|&c| [c, c]).collect();
        assert_eq!(cells, doubled);
        // The two samples of one grid point draw different learning rates.
        assert_ne!(
            plan.trials[0].params["learning_rate"],
            plan.trials[1].params["learning_rate"]
        );
    }

    #[test]
    fn a_trial_that_breaks_a_training_rule_is_named() {
        let spec = sweep(serde_json::json!({
            "search_space": { "warmup_steps": { "grid": [0, 50] } },
            "overrides": { "max_steps": 10 },
            "num_samples": 1,
        }));
        let err = expand("s", &spec, &base()).expect_err("warmup past max_steps");
        let text = err.to_string();
        assert!(text.contains("/spec/search_space/warmup_steps"), "{text}");
        assert!(text.contains("trial t001"), "{text}");
    }

    #[test]
    fn a_value_outside_the_schema_range_is_bad_input() {
        let spec = sweep(serde_json::json!({
            "search_space": { "per_device_batch_size": { "randint": [0, 0] } },
        }));
        let err = expand("s", &spec, &base()).expect_err("batch size 0");
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        assert!(err.to_string().contains("per_device_batch_size"), "{err}");
    }

    #[test]
    fn searching_max_steps_with_asha_is_refused() {
        let mut spec = example();
        spec.overrides.clear();
        spec.search_space.insert(
            "max_steps".into(),
            Distribution::Choice(vec![ParamValue::Int(50)]),
        );
        let err = expand("s", &spec, &base()).expect_err("max_steps searched");
        assert!(err.to_string().contains("/spec/search_space/max_steps"));
    }

    #[test]
    fn too_many_trials_is_bad_input() {
        let values: Vec<Value> = (0..1000).map(Value::from).collect();
        let spec = sweep(serde_json::json!({
            "search_space": {
                "warmup_steps": { "grid": values },
                "max_steps": { "grid": values },
            },
            "num_samples": 2,
        }));
        let err = expand("s", &spec, &base()).expect_err("too many");
        assert!(err.to_string().contains("more than"), "{err}");
    }
}
