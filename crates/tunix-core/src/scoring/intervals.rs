//! Confidence intervals for one sample.
//!
//! - [`normal_quantile`]: the standard normal quantile Φ⁻¹ (Wichura's AS 241).
//! - [`wilson_ci`]: Wilson score interval for a proportion.
//! - [`bootstrap_mean_ci`]: seeded percentile bootstrap of a mean (linear
//!   interpolation between order statistics, as `numpy.percentile`).
//!
//! The resampling and percentile steps of the bootstrap are shared with the
//! paired bootstrap in [`paired`](super::paired).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Seed used for scorecard bootstraps when the caller has no better one.
pub const DEFAULT_BOOTSTRAP_SEED: u64 = 0x5EED_5C0E;

/// The 0.975 quantile of the standard normal distribution.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A closed interval `[low, high]`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

/// Evaluates a polynomial with coefficients in increasing degree (Horner).
fn poly(coefficients: &[f64], x: f64) -> f64 {
    coefficients.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// The standard normal quantile Φ⁻¹(p) by Wichura's algorithm AS 241
/// (PPND16, ~1e-16 relative accuracy); NaN outside `(0, 1)`.
// The coefficients are kept digit for digit as published in AS 241.
#[allow(clippy::excessive_precision)]
pub fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 8] = [
        3.387_132_872_796_366_608,
        133.141_667_891_784_377_45,
        1_971.590_950_306_551_442_7,
        13_731.693_765_509_461_125,
        45_921.953_931_549_871_457,
        67_265.770_927_008_700_853,
        33_430.575_583_588_128_105,
        2_509.080_928_730_122_672_7,
    ];
    const B: [f64; 8] = [
        1.0,
        42.313_330_701_600_911_252,
        687.187_007_492_057_908_3,
        5_394.196_021_424_751_107_7,
        21_213.794_301_586_595_867,
        39_307.895_800_092_710_61,
        28_729.085_735_721_942_674,
        5_226.495_278_852_854_561,
    ];
    const C: [f64; 8] = [
        1.423_437_110_749_683_577_34,
        4.630_337_846_156_545_295_9,
        5.769_497_221_460_691_405_5,
        3.647_848_324_763_204_605_04,
        1.270_458_252_452_368_382_58,
        0.241_780_725_177_450_611_77,
        0.022_723_844_989_269_184_583_3,
        7.745_450_142_783_414_076_4e-4,
    ];
    const D: [f64; 8] = [
        1.0,
        2.053_191_626_637_758_821_87,
        1.676_384_830_183_803_849_4,
        0.689_767_334_985_100_004_55,
        0.148_103_976_427_480_074_59,
        0.015_198_666_563_616_457_196_6,
        5.475_938_084_995_344_946e-4,
        1.050_750_071_644_416_843_24e-9,
    ];
    const E: [f64; 8] = [
        6.657_904_643_501_103_777_2,
        5.463_784_911_164_114_369_9,
        1.784_826_539_917_291_335_8,
        0.296_560_571_828_504_891_23,
        0.026_532_189_526_576_123_093,
        0.001_242_660_947_388_078_438_6,
        2.711_555_568_743_487_578_15e-5,
        2.010_334_399_292_288_132_65e-7,
    ];
    const F: [f64; 8] = [
        1.0,
        0.599_832_206_555_887_937_69,
        0.136_929_880_922_735_805_31,
        0.014_875_361_290_850_614_852_5,
        7.868_691_311_456_132_591e-4,
        1.846_318_317_510_054_681_8e-5,
        1.421_511_758_316_445_888_7e-7,
        2.044_263_103_389_939_785_64e-15,
    ];
    if !(p > 0.0 && p < 1.0) {
        return f64::NAN;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180_625 - q * q;
        return q * poly(&A, r) / poly(&B, r);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = (-tail.ln()).sqrt();
    let x = if r <= 5.0 {
        poly(&C, r - 1.6) / poly(&D, r - 1.6)
    } else {
        poly(&E, r - 5.0) / poly(&F, r - 5.0)
    };
    if q < 0.0 {
        -x
    } else {
        x
    }
}

/// Wilson score interval for `successes` out of `n` at critical value `z`
/// (use [`Z95`] for 95%), clipped to `[0, 1]`; exactly 0 (1) at the bound
/// when there are no successes (failures). `None` when `n == 0`,
/// `successes > n` or `z` is not positive and finite.
pub fn wilson_ci(successes: u64, n: u64, z: f64) -> Option<Interval> {
    if n == 0 || successes > n || !(z.is_finite() && z > 0.0) {
        return None;
    }
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let center = (p + z2 / (2.0 * nf)) / denom;
    let half = z * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt() / denom;
    let low = if successes == 0 {
        0.0
    } else {
        (center - half).max(0.0)
    };
    let high = if successes == n {
        1.0
    } else {
        (center + half).min(1.0)
    };
    Some(Interval { low, high })
}

/// Sample quantile of sorted data with linear interpolation between order
/// statistics (Hyndman & Fan type 7, `numpy.percentile`'s default).
fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor();
    let i = lo as usize;
    match sorted.get(i + 1) {
        Some(&next) => sorted[i] + (h - lo) * (next - sorted[i]),
        None => sorted[i],
    }
}

/// Means of `resamples` bootstrap resamples of `values`, sorted ascending.
pub(super) fn bootstrap_means(values: &[f64], resamples: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed);
    let n = values.len();
    let mut means: Vec<f64> = (0..resamples)
        .map(|_| {
            let sum: f64 = (0..n).map(|_| values[rng.index(n)]).sum();
            sum / n as f64
        })
        .collect();
    means.sort_by(f64::total_cmp);
    means
}

/// Whether a resampling request is usable.
pub(super) fn bootstrap_args_ok(values: &[f64], resamples: usize, level: f64) -> bool {
    !values.is_empty()
        && resamples > 0
        && level > 0.0
        && level < 1.0
        && values.iter().all(|v| v.is_finite())
}

/// The percentile interval at `level` of sorted bootstrap statistics.
pub(super) fn percentile_interval(sorted: &[f64], level: f64) -> Interval {
    let tail = (1.0 - level) / 2.0;
    Interval {
        low: quantile_sorted(sorted, tail),
        high: quantile_sorted(sorted, 1.0 - tail),
    }
}

/// Seeded percentile bootstrap interval of the mean at confidence `level`
/// (e.g. 0.95). Deterministic for a given seed and input order. `None` when
/// `values` is empty or has non-finite entries, `resamples == 0`, or `level`
/// is not in `(0, 1)`.
pub fn bootstrap_mean_ci(
    values: &[f64],
    resamples: usize,
    seed: u64,
    level: f64,
) -> Option<Interval> {
    if !bootstrap_args_ok(values, resamples, level) {
        return None;
    }
    let means = bootstrap_means(values, resamples, seed);
    Some(percentile_interval(&means, level))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::rows::mean;
    use crate::scoring::stats_reference::{cases, close, f, u};
    use serde_json::Value;

    #[test]
    fn normal_quantile_matches_scipy() {
        for case in cases("normal_quantile") {
            let (p, z) = (f(&case, "p"), f(&case, "z"));
            let got = normal_quantile(p);
            assert!(close(got, z, 1e-14), "p={p}: got {got}, scipy {z}");
        }
        assert!(normal_quantile(0.0).is_nan());
        assert!(normal_quantile(1.0).is_nan());
        assert!(normal_quantile(f64::NAN).is_nan());
        assert!((normal_quantile(0.975) - Z95).abs() < 1e-15);
    }

    #[test]
    fn wilson_matches_statsmodels() {
        for case in cases("wilson") {
            let (s, n, z) = (u(&case, "successes"), u(&case, "n"), f(&case, "z"));
            let ci = wilson_ci(s, n, z);
            let (low, high) = ci.map_or((f64::NAN, f64::NAN), |i| (i.low, i.high));
            assert!(close(low, f(&case, "low"), 1e-9), "{case}: low {low}");
            assert!(close(high, f(&case, "high"), 1e-9), "{case}: high {high}");
        }
        assert_eq!(wilson_ci(0, 0, Z95), None);
        assert_eq!(wilson_ci(3, 2, Z95), None);
        assert_eq!(wilson_ci(1, 2, f64::NAN), None);
    }

    fn fixture_values(case: &Value) -> Vec<f64> {
        case["values"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default()
    }

    #[test]
    fn bootstrap_agrees_with_scipy_within_monte_carlo_error() {
        for case in cases("bootstrap") {
            let values = fixture_values(&case);
            let ci = bootstrap_mean_ci(&values, 10_000, 12345, 0.95);
            let ci = ci.unwrap_or(Interval {
                low: f64::NAN,
                high: f64::NAN,
            });
            let se = f(&case, "scipy_standard_error");
            // Monte-Carlo sd of a 2.5% quantile from 10k resamples is ~0.03·se.
            let tol = 0.15 * se;
            let name = &case["name"];
            assert!(
                (ci.low - f(&case, "scipy_low")).abs() < tol,
                "{name}: {ci:?}"
            );
            assert!(
                (ci.high - f(&case, "scipy_high")).abs() < tol,
                "{name}: {ci:?}"
            );
        }
    }

    #[test]
    fn bootstrap_matches_normal_approximation_for_large_n() {
        let mut rng = Rng::new(5);
        let values: Vec<f64> = (0..3000).map(|_| rng.next_f64()).collect();
        let m = mean(&values).unwrap_or(f64::NAN);
        let sd = (values.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 2999.0).sqrt();
        let half = Z95 * sd / 3000_f64.sqrt();
        let ci = bootstrap_mean_ci(&values, 10_000, 1, 0.95);
        let ci = ci.unwrap_or(Interval {
            low: f64::NAN,
            high: f64::NAN,
        });
        assert!(
            (ci.low - (m - half)).abs() < 0.06 * half,
            "{ci:?} vs {m}±{half}"
        );
        assert!(
            (ci.high - (m + half)).abs() < 0.06 * half,
            "{ci:?} vs {m}±{half}"
        );
    }

    #[test]
    fn bootstrap_rejects_bad_input() {
        assert_eq!(bootstrap_mean_ci(&[], 100, 1, 0.95), None);
        assert_eq!(bootstrap_mean_ci(&[1.0], 0, 1, 0.95), None);
        assert_eq!(bootstrap_mean_ci(&[1.0], 100, 1, 1.0), None);
        assert_eq!(bootstrap_mean_ci(&[f64::NAN], 100, 1, 0.95), None);
        assert_eq!(
            bootstrap_mean_ci(&[0.25], 100, 1, 0.95),
            Some(Interval {
                low: 0.25,
                high: 0.25
            })
        );
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scoring::rows::mean;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn intervals_contain_the_estimate(
            values in prop::collection::vec(0.0_f64..=1.0, 1..60),
            seed in any::<u64>(),
            (n, s) in (1_u64..5000).prop_flat_map(|n| (Just(n), 0..=n)),
        ) {
            let m = mean(&values).unwrap_or(f64::NAN);
            let ci = bootstrap_mean_ci(&values, 1000, seed, 0.95);
            prop_assert!(ci.is_some_and(|c| c.low <= m + 1e-12 && m <= c.high + 1e-12), "{:?} {}", ci, m);
            let p = s as f64 / n as f64;
            let w = wilson_ci(s, n, Z95);
            prop_assert!(w.is_some_and(|c| 0.0 <= c.low && c.low <= p && p <= c.high && c.high <= 1.0));
        }
    }
}
