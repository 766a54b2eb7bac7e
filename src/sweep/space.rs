//! Sampling one search-space parameter for one trial: pure functions.
//!
//! Draws are counter-based: trial `k`'s value of parameter `name` comes from
//! a fresh generator seeded with `derive_seed(seed, "sweep/trial/{k}/{name}")`,
//! never from a stream shared between trials or parameters. So a trial's
//! values do not depend on how many trials or parameters came before it, on
//! the order trials are planned or run in, or on a resume.
//!
//! Semantics (bounds as in the schema's docs):
//! - `uniform: [lo, hi]`: a real `lo + (hi - lo)·u`, `u` uniform in `[0, 1)`.
//! - `loguniform: [lo, hi]` (both positive): uniform in log space,
//!   `exp(ln lo + (ln hi - ln lo)·u)`, clamped into `[lo, hi]` against
//!   rounding.
//! - `randint: [lo, hi]`: an integer with **both bounds inclusive**, as the
//!   schema documents (unlike Ray Tune's `randint`, whose upper bound is
//!   exclusive); exactly uniform.
//! - `choice: [...]`: one of the values, each equally likely, returned as
//!   written (an integer stays an integer).
//! - `grid: [...]`: not drawn; the plan enumerates grid dimensions.

use crate::manifest::sweep::{Distribution, ParamValue};
use crate::rng::{derive_seed, Rng};

/// The generator for trial `trial`'s value of parameter `name`.
pub fn draw_rng(seed: u64, trial: u64, name: &str) -> Rng {
    Rng::new(derive_seed(seed, &format!("sweep/trial/{trial}/{name}")))
}

/// Trial `trial`'s value of parameter `name` drawn from `dist`, or `None`
/// for a `grid` dimension (enumerated by the plan, not drawn).
pub fn draw(dist: &Distribution, seed: u64, trial: u64, name: &str) -> Option<ParamValue> {
    let mut rng = draw_rng(seed, trial, name);
    match dist {
        Distribution::Uniform([low, high]) => {
            Some(ParamValue::Float(uniform(&mut rng, *low, *high)))
        }
        Distribution::Loguniform([low, high]) => {
            Some(ParamValue::Float(loguniform(&mut rng, *low, *high)))
        }
        Distribution::Randint([low, high]) => Some(ParamValue::Int(randint(&mut rng, *low, *high))),
        Distribution::Choice(values) => values.get(rng.index(values.len())).cloned(),
        Distribution::Grid(_) => None,
    }
}

/// A real in `[low, high]` (`low` when the bounds are equal).
pub fn uniform(rng: &mut Rng, low: f64, high: f64) -> f64 {
    let x = low + (high - low) * rng.next_f64();
    x.clamp(low.min(high), high.max(low))
}

/// A real in `[low, high]`, uniform in log space; both bounds positive.
pub fn loguniform(rng: &mut Rng, low: f64, high: f64) -> f64 {
    let (ln_low, ln_high) = (low.ln(), high.ln());
    let x = (ln_low + (ln_high - ln_low) * rng.next_f64()).exp();
    x.clamp(low.min(high), high.max(low))
}

/// An integer in `[low, high]`, both inclusive; `low` when `high < low`.
pub fn randint(rng: &mut Rng, low: i64, high: i64) -> i64 {
    if high <= low {
        return low;
    }
    // The span is at most 2^64 (the whole i64 range), where any 64 random
    // bits are already uniform; below that, Lemire's bounded draw.
    let span = (i128::from(high) - i128::from(low) + 1) as u128;
    let offset = if span > u128::from(u64::MAX) {
        rng.next_u64()
    } else {
        rng.below(span as u64)
    };
    (i128::from(low) + i128::from(offset)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn int(v: Option<ParamValue>) -> i64 {
        match v {
            Some(ParamValue::Int(i)) => i,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    fn float(v: Option<ParamValue>) -> f64 {
        match v {
            Some(ParamValue::Float(f)) => f,
            other => panic!("expected a float, got {other:?}"),
        }
    }

    #[test]
    fn grid_is_not_drawn() {
        let grid = Distribution::Grid(vec![ParamValue::Int(1)]);
        assert_eq!(draw(&grid, 1, 0, "x"), None);
    }

    #[test]
    fn randint_covers_both_bounds() {
        let dist = Distribution::Randint([0, 2]);
        let mut seen = [false; 3];
        for k in 0..200 {
            let v = int(draw(&dist, 5, k, "warmup_steps"));
            seen[usize::try_from(v).expect("in range")] = true;
        }
        assert_eq!(seen, [true; 3]);
    }

    #[test]
    fn randint_full_range_does_not_overflow() {
        let mut rng = crate::rng::Rng::new(1);
        for _ in 0..100 {
            randint(&mut rng, i64::MIN, i64::MAX);
        }
        assert_eq!(randint(&mut rng, 4, 4), 4);
    }

    #[test]
    fn loguniform_is_uniform_in_log_space() {
        // Half of the draws from [1e-5, 1e-3] fall below 1e-4 (the
        // geometric midpoint), not below ~5e-4 as a plain uniform would.
        let dist = Distribution::Loguniform([1e-5, 1e-3]);
        let below = (0..2000)
            .filter(|&k| float(draw(&dist, 3, k, "learning_rate")) < 1e-4)
            .count();
        assert!((900..1100).contains(&below), "{below}");
    }

    #[test]
    fn choice_keeps_the_value_as_written() {
        let dist = Distribution::Choice(vec![ParamValue::Int(8), ParamValue::Int(16)]);
        for k in 0..20 {
            let v = int(draw(&dist, 0, k, "per_device_batch_size"));
            assert!(v == 8 || v == 16);
        }
    }

    proptest! {
        #[test]
        fn uniform_stays_in_bounds(seed: u64, k: u64, low in -1e6..1e6f64, width in 0.0..1e6f64) {
            let high = low + width;
            let v = float(draw(&Distribution::Uniform([low, high]), seed, k, "weight_decay"));
            prop_assert!(low <= v && v <= high, "{v} not in [{low}, {high}]");
        }

        #[test]
        fn loguniform_stays_in_bounds(seed: u64, k: u64, low in 1e-12..1e3f64, factor in 1.0..1e6f64) {
            let high = low * factor;
            let v = float(draw(&Distribution::Loguniform([low, high]), seed, k, "learning_rate"));
            prop_assert!(low <= v && v <= high, "{v} not in [{low}, {high}]");
        }

        #[test]
        fn randint_is_an_integer_in_bounds(seed: u64, k: u64, low in -1000i64..1000, width in 0i64..1000) {
            let high = low + width;
            let v = int(draw(&Distribution::Randint([low, high]), seed, k, "warmup_steps"));
            prop_assert!(low <= v && v <= high);
        }

        #[test]
        fn same_key_same_value(seed: u64, k: u64, name in "[a-z_]{1,20}") {
            let dist = Distribution::Uniform([0.0, 1.0]);
            prop_assert_eq!(draw(&dist, seed, k, &name), draw(&dist, seed, k, &name));
        }

        #[test]
        fn different_trials_draw_differently(seed: u64, k in 0u64..1_000_000) {
            // 53 random bits each: a collision would be a broken key, not luck.
            let dist = Distribution::Uniform([0.0, 1.0]);
            prop_assert_ne!(draw(&dist, seed, k, "lr"), draw(&dist, seed, k + 1, "lr"));
            prop_assert_ne!(draw(&dist, seed, k, "lr"), draw(&dist, seed, k, "wd"));
        }
    }
}
