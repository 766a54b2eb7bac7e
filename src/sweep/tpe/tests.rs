//! Tests of [`super`]: startup, determinism, bounds, odd inputs, the
//! constant liar, mirrored modes, and TPE against random search.

use super::*;
use crate::rng::derive_seed;
use proptest::prelude::{prop_assert, prop_oneof, proptest, Just, ProptestConfig, Strategy};
use serde_json::json;

fn json_of(draw: &BTreeMap<String, ParamValue>) -> TrialParams {
    let to_json = |v: &ParamValue| serde_json::to_value(v).expect("a value");
    draw.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()
}

fn float(v: &ParamValue) -> f64 {
    match v {
        ParamValue::Float(x) => *x,
        other => panic!("expected a float, got {other:?}"),
    }
}

fn observed(trials: &[(TrialParams, Option<f64>)]) -> Vec<Observation<'_>> {
    trials
        .iter()
        .map(|(params, value)| Observation {
            params,
            value: *value,
        })
        .collect()
}

/// The best (smallest) value of `f` after `n` trials of TPE (`None`:
/// random search), drawn one at a time.
fn best_of<F>(
    space: &BTreeMap<String, Distribution>,
    tpe: Option<&TpeSettings>,
    f: F,
    seed: u64,
    n: usize,
) -> f64
where
    F: Fn(&BTreeMap<String, ParamValue>) -> f64,
{
    let mut trials: Vec<(TrialParams, Option<f64>)> = Vec::new();
    for k in 0..n {
        let mut rng = Rng::new(derive_seed(seed, &format!("trial/{k}")));
        let draw = match tpe {
            Some(s) => suggest(space, s, Mode::Min, &observed(&trials), &[], &mut rng),
            None => random_draws(space, &mut rng),
        };
        trials.push((json_of(&draw), Some(f(&draw))));
    }
    trials
        .iter()
        .filter_map(|t| t.1)
        .fold(f64::INFINITY, f64::min)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    0.5 * (v[(n - 1) / 2] + v[n / 2])
}

fn median_regret<F>(
    space: &BTreeMap<String, Distribution>,
    tpe: Option<&TpeSettings>,
    f: F,
    optimum: f64,
    seeds: u64,
) -> f64
where
    F: Fn(&BTreeMap<String, ParamValue>) -> f64 + Copy,
{
    median(
        (0..seeds)
            .map(|s| best_of(space, tpe, f, s, 50) - optimum)
            .collect(),
    )
}

fn uniform(lo: f64, hi: f64) -> Distribution {
    Distribution::Uniform([lo, hi])
}

fn branin_space() -> BTreeMap<String, Distribution> {
    BTreeMap::from([
        ("x1".into(), uniform(-5.0, 10.0)),
        ("x2".into(), uniform(0.0, 15.0)),
    ])
}

fn branin(p: &BTreeMap<String, ParamValue>) -> f64 {
    use std::f64::consts::PI;
    let (x1, x2) = (float(&p["x1"]), float(&p["x2"]));
    let b = 5.1 / (4.0 * PI * PI);
    let t = 1.0 / (8.0 * PI);
    (x2 - b * x1 * x1 + 5.0 / PI * x1 - 6.0).powi(2) + 10.0 * (1.0 - t) * x1.cos() + 10.0
}
const BRANIN_MIN: f64 = 0.397_887_357_729_738_2;

fn hartmann6_space() -> BTreeMap<String, Distribution> {
    (0..6)
        .map(|i| (format!("x{i}"), uniform(0.0, 1.0)))
        .collect()
}

fn hartmann6(p: &BTreeMap<String, ParamValue>) -> f64 {
    const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
    const A: [[f64; 6]; 4] = [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ];
    const P: [[f64; 6]; 4] = [
        [1312.0, 1696.0, 5569.0, 124.0, 8283.0, 5886.0],
        [2329.0, 4135.0, 8307.0, 3736.0, 1004.0, 9991.0],
        [2348.0, 1451.0, 3522.0, 2883.0, 3047.0, 6650.0],
        [4047.0, 8828.0, 8732.0, 5743.0, 1091.0, 381.0],
    ];
    let x: Vec<f64> = (0..6).map(|j| float(&p[&format!("x{j}")])).collect();
    -(0..4)
        .map(|i| {
            let inner: f64 = (0..6)
                .map(|j| A[i][j] * (x[j] - P[i][j] * 1e-4).powi(2))
                .sum();
            ALPHA[i] * (-inner).exp()
        })
        .sum::<f64>()
}
const HARTMANN6_MIN: f64 = -3.322_368_011_415_511;

fn quadratic(p: &BTreeMap<String, ParamValue>) -> f64 {
    (float(&p["x"]) - 1.7).powi(2)
}

#[test]
fn startup_draws_are_the_spaces_random_draws() {
    let dists = [
        ("learning_rate", Distribution::Loguniform([1e-5, 1e-1])),
        ("weight_decay", uniform(0.0, 0.3)),
        ("warmup_steps", Distribution::Randint([0, 20])),
        (
            "batch",
            Distribution::Choice(vec![ParamValue::Int(8), ParamValue::Int(16)]),
        ),
    ];
    let p = BTreeMap::new();
    // 9 complete trials and 3 failed ones: still startup.
    let values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0];
    let mut history: Vec<Observation> = values
        .iter()
        .map(|&v| Observation {
            params: &p,
            value: Some(v),
        })
        .collect();
    history.extend([None, Some(f64::NAN), None].map(|value| Observation { params: &p, value }));
    let s = TpeSettings::default();
    for (name, dist) in &dists {
        let one = BTreeMap::from([(name.to_string(), dist.clone())]);
        for k in 0..20 {
            let mut rng = space::draw_rng(7, k, name);
            let got = suggest(&one, &s, Mode::Max, &history, &[], &mut rng);
            assert_eq!(got.get(*name), space::draw(dist, 7, k, name).as_ref());
        }
    }
    let all: BTreeMap<String, Distribution> = dists
        .iter()
        .map(|(n, d)| (n.to_string(), d.clone()))
        .collect();
    let got = suggest(&all, &s, Mode::Min, &history, &[], &mut Rng::new(3));
    assert_eq!(got, random_draws(&all, &mut Rng::new(3)));
    assert_eq!(got.len(), 4);
}

#[test]
fn the_same_inputs_give_the_same_draw() {
    let space = branin_space();
    for multivariate in [false, true] {
        let s = TpeSettings {
            multivariate,
            ..TpeSettings::default()
        };
        let mut trials = Vec::new();
        for k in 0..15 {
            let draw = random_draws(&space, &mut Rng::new(k));
            trials.push((json_of(&draw), Some(branin(&draw))));
        }
        let a = suggest(
            &space,
            &s,
            Mode::Min,
            &observed(&trials),
            &[],
            &mut Rng::new(1),
        );
        let b = suggest(
            &space,
            &s,
            Mode::Min,
            &observed(&trials),
            &[],
            &mut Rng::new(1),
        );
        assert_eq!(a, b);
        assert_ne!(a, random_draws(&space, &mut Rng::new(1)));
    }
}

#[test]
fn tpe_beats_random_search_on_a_quadratic_and_on_branin() {
    // Median over 40 seeds of the regret after 50 trials. Measured:
    // quadratic 6.0e-4 (TPE) vs 8.9e-3 (random); Branin 0.29
    // (univariate) and 0.22 (multivariate) vs 0.54 (random).
    let line = BTreeMap::from([("x".to_string(), uniform(-10.0, 10.0))]);
    let random_line = median_regret(&line, None, quadratic, 0.0, 40);
    let random_branin = median_regret(&branin_space(), None, branin, BRANIN_MIN, 40);
    for multivariate in [false, true] {
        let s = TpeSettings {
            multivariate,
            ..TpeSettings::default()
        };
        let tpe = median_regret(&line, Some(&s), quadratic, 0.0, 40);
        assert!(
            tpe < 0.2 * random_line,
            "quadratic: TPE {tpe} vs random {random_line}"
        );
        let tpe = median_regret(&branin_space(), Some(&s), branin, BRANIN_MIN, 40);
        assert!(
            tpe < 0.75 * random_branin,
            "Branin: TPE {tpe} vs random {random_branin}"
        );
    }
}

#[test]
fn the_constant_liar_spreads_a_batch() {
    // 20 results around x = 0.3; a batch of 6 drawn with the same
    // generator (so from the same 24 candidates): without pending trials
    // all six are one point; with them (the constant liar) the later
    // draws move away from the earlier ones.
    let space = BTreeMap::from([("x".to_string(), uniform(0.0, 1.0))]);
    let trials: Vec<(TrialParams, Option<f64>)> = (0..20)
        .map(|k| {
            let x = f64::from(k) / 19.0;
            let params = BTreeMap::from([("x".to_string(), json!(x))]);
            (params, Some(-(x - 0.3).powi(2)))
        })
        .collect();
    let history = observed(&trials);
    // Optuna's share, so two of the 20 are good (with 0.15, three: the
    // good density is wider and the batch spreads less far).
    let s = TpeSettings {
        gamma: 0.1,
        ..TpeSettings::default()
    };
    let off = TpeSettings {
        constant_liar: false,
        ..s.clone()
    };
    for seed in 0..10 {
        let alone = suggest(&space, &s, Mode::Max, &history, &[], &mut Rng::new(seed));
        let mut batch: Vec<TrialParams> = Vec::new();
        for _ in 0..6 {
            let pending: Vec<&TrialParams> = batch.iter().collect();
            let draw = suggest(
                &space,
                &s,
                Mode::Max,
                &history,
                &pending,
                &mut Rng::new(seed),
            );
            let ignored = suggest(
                &space,
                &off,
                Mode::Max,
                &history,
                &pending,
                &mut Rng::new(seed),
            );
            assert_eq!(ignored, alone);
            batch.push(json_of(&draw));
        }
        let mut xs: Vec<f64> = batch.iter().map(|p| p["x"].as_f64().expect("x")).collect();
        assert_eq!(xs[0], float(&alone["x"]));
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        let range = xs[xs.len() - 1] - xs[0];
        assert!(xs.len() >= 3 && range > 0.15, "seed {seed}: {xs:?}");
    }
}

#[test]
fn max_and_min_are_mirror_images() {
    let space = branin_space();
    let trials: Vec<(TrialParams, Option<f64>)> = (0..30)
        .map(|k| {
            let draw = random_draws(&space, &mut Rng::new(k));
            // Ties (every fifth value equal) keep trial order either way.
            let v = if k % 5 == 0 { 1.0 } else { branin(&draw) };
            (json_of(&draw), Some(v))
        })
        .collect();
    let negated: Vec<_> = trials
        .iter()
        .map(|(p, v)| (p.clone(), v.map(|v| -v)))
        .collect();
    for multivariate in [false, true] {
        let s = TpeSettings {
            multivariate,
            ..TpeSettings::default()
        };
        for seed in 0..5 {
            let min = suggest(
                &space,
                &s,
                Mode::Min,
                &observed(&trials),
                &[],
                &mut Rng::new(seed),
            );
            let max = suggest(
                &space,
                &s,
                Mode::Max,
                &observed(&negated),
                &[],
                &mut Rng::new(seed),
            );
            assert_eq!(min, max);
        }
    }
    let optuna = |n| n_good(n, 0.1);
    assert_eq!(
        (optuna(0), optuna(10), optuna(11), optuna(30), optuna(1000)),
        (0, 1, 2, 3, 25)
    );
    let ours = |n| n_good(n, DEFAULT_GAMMA);
    assert_eq!(
        (ours(0), ours(6), ours(7), ours(20), ours(50), ours(1000)),
        (0, 1, 2, 3, 8, 25)
    );
    // A share outside (0, 1] acts as the default.
    assert_eq!(
        (n_good(20, 0.0), n_good(20, 1.5), n_good(20, f64::NAN)),
        (3, 3, 3)
    );
    assert_eq!(n_good(20, 1.0), 20);
}

#[test]
fn odd_inputs_give_values_in_the_space() {
    let space: BTreeMap<String, Distribution> = BTreeMap::from([
        ("fixed".into(), uniform(2.0, 2.0)),
        (
            "one".into(),
            Distribution::Choice(vec![ParamValue::Text("a".into())]),
        ),
        ("same_int".into(), Distribution::Randint([4, 4])),
        ("tiny".into(), uniform(0.0, 1e-14)),
        ("huge".into(), Distribution::Randint([i64::MIN, i64::MAX])),
        ("grid".into(), Distribution::Grid(vec![ParamValue::Int(1)])),
    ]);
    let garbage = BTreeMap::from([
        ("tiny".to_string(), json!("x")),
        ("huge".to_string(), json!(null)),
    ]);
    let trials: Vec<(TrialParams, Option<f64>)> = (0..12)
        .map(|k| match k % 3 {
            0 => (garbage.clone(), Some(1.0)),
            1 => (json_of(&random_draws(&space, &mut Rng::new(k))), Some(1.0)),
            _ => (BTreeMap::new(), Some(f64::NAN)),
        })
        .collect();
    let settings = [
        TpeSettings {
            n_startup_trials: 0,
            ..TpeSettings::default()
        },
        TpeSettings {
            n_startup_trials: 1,
            n_ei_candidates: Some(0),
            multivariate: false,
            prior_weight: f64::NAN,
            consider_magic_clip: false,
            consider_endpoints: true,
            constant_liar: true,
            gamma: f64::NAN,
        },
        TpeSettings {
            prior_weight: 0.0,
            n_startup_trials: 2,
            ..TpeSettings::default()
        },
    ];
    for s in &settings {
        let got = suggest(
            &space,
            s,
            Mode::Max,
            &observed(&trials),
            &[&garbage],
            &mut Rng::new(4),
        );
        assert_eq!(got["fixed"], ParamValue::Float(2.0));
        assert_eq!(got["one"], ParamValue::Text("a".into()));
        assert_eq!(got["same_int"], ParamValue::Int(4));
        assert!((0.0..=1e-14).contains(&float(&got["tiny"])));
        assert!(matches!(got["huge"], ParamValue::Int(_)));
        assert!(!got.contains_key("grid"));
    }
}

fn any_metric() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        Just(None),
        Just(Some(f64::NAN)),
        Just(Some(0.5)),
        (-1e3..1e3f64).prop_map(Some)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn draws_are_in_bounds_and_typed(
        seed: u64,
        lo in -1e3..1e3f64,
        width in 0.0..1e3f64,
        log_lo in 1e-8..1.0f64,
        factor in 1.0..1e4f64,
        int_lo in -100i64..100,
        int_width in 0i64..50,
        metrics in proptest::collection::vec(any_metric(), 0..40),
        multivariate: bool,
        max: bool,
    ) {
        let choices = vec![ParamValue::Int(3), ParamValue::Float(0.5), ParamValue::Bool(true)];
        let space: BTreeMap<String, Distribution> = BTreeMap::from([
            ("u".into(), uniform(lo, lo + width)),
            ("l".into(), Distribution::Loguniform([log_lo, log_lo * factor])),
            ("r".into(), Distribution::Randint([int_lo, int_lo + int_width])),
            ("c".into(), Distribution::Choice(choices.clone())),
        ]);
        let trials: Vec<(TrialParams, Option<f64>)> = metrics
            .iter()
            .enumerate()
            .map(|(k, &m)| (json_of(&random_draws(&space, &mut Rng::new(seed ^ k as u64))), m))
            .collect();
        let s = TpeSettings { multivariate, n_startup_trials: 3, ..TpeSettings::default() };
        let mode = if max { Mode::Max } else { Mode::Min };
        let pending = [&trials.first().map_or_else(BTreeMap::new, |t| t.0.clone())];
        let got = suggest(&space, &s, mode, &observed(&trials), &pending, &mut Rng::new(seed));
        let u = float(&got["u"]);
        prop_assert!(lo <= u && u <= lo + width, "u {u}");
        let l = float(&got["l"]);
        prop_assert!(log_lo <= l && l <= log_lo * factor, "l {l}");
        let ParamValue::Int(r) = got["r"] else { panic!("r {:?}", got["r"]) };
        prop_assert!(int_lo <= r && r <= int_lo + int_width, "r {r}");
        prop_assert!(choices.contains(&got["c"]));
    }
}

#[test]
#[ignore = "benchmark: prints median regrets, run by hand with --nocapture"]
fn benchmark() {
    let uni = TpeSettings {
        multivariate: false,
        ..TpeSettings::default()
    };
    let multi = TpeSettings::default();
    let runs: [(&str, Option<&TpeSettings>); 3] = [
        ("random", None),
        ("univariate", Some(&uni)),
        ("multivariate", Some(&multi)),
    ];
    for (label, tpe) in runs {
        let b = median_regret(&branin_space(), tpe, branin, BRANIN_MIN, 20);
        let h = median_regret(&hartmann6_space(), tpe, hartmann6, HARTMANN6_MIN, 20);
        println!(
            "{label:>12}: Branin {b:.4}  Hartmann-6 {h:.4}  (median regret, 50 trials, 20 seeds)"
        );
    }
}
