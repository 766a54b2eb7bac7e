//! Confidence intervals, paired tests and the "is B better than A?" verdict.
//!
//! - [`wilson_ci`]: Wilson score interval for a proportion.
//! - [`bootstrap_mean_ci`]: seeded percentile bootstrap of a mean (linear
//!   interpolation between order statistics, as `numpy.percentile`).
//! - [`mcnemar_exact`]: two-sided exact McNemar test, `p = min(1, 2·P[X ≤
//!   min(b, c)])` with `X ~ Bin(b + c, 1/2)`, the binomial terms computed with
//!   Loader's saddle-point method (accurate to ~1e-15 relative for any n).
//! - [`newcombe_paired_ci`]: Newcombe's hybrid score interval (method 10 of
//!   Newcombe 1998, with its continuity-corrected φ) for a difference of
//!   paired proportions.
//! - [`paired_bootstrap`]: seeded percentile bootstrap of the mean paired
//!   difference, with the p-value obtained by inverting it (floored for tiny
//!   samples at the exact sign-flip test's smallest attainable p-value).
//! - [`compare`]: aligns two runs by item id and decides the verdict.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::score::{id_list, item_value, mean, ItemRow, DEFAULT_BOOTSTRAP_SEED};
use super::ScoringError;
use crate::rng::Rng;

/// The 0.975 quantile of the standard normal distribution.
pub const Z95: f64 = 1.959_963_984_540_054;

/// Statistical power assumed by [`min_detectable_difference`].
pub const MDE_POWER: f64 = 0.8;

/// Below this many pairs a comparison warns that its p-value is fragile.
pub const SMALL_PAIRS_WARNING: usize = 30;

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
fn bootstrap_means(values: &[f64], resamples: usize, seed: u64) -> Vec<f64> {
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
fn bootstrap_args_ok(values: &[f64], resamples: usize, level: f64) -> bool {
    !values.is_empty()
        && resamples > 0
        && level > 0.0
        && level < 1.0
        && values.iter().all(|v| v.is_finite())
}

/// The percentile interval at `level` of sorted bootstrap statistics.
fn percentile_interval(sorted: &[f64], level: f64) -> Interval {
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

/// Result of [`paired_bootstrap`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairedBootstrap {
    /// Observed mean difference.
    pub mean: f64,
    /// Percentile interval of the mean difference.
    pub ci: Interval,
    /// Two-sided p-value for "mean difference = 0".
    pub p_value: f64,
}

/// Seeded paired bootstrap of per-pair differences (B − A).
///
/// The CI is the percentile interval of the resampled means at `level`. The
/// p-value inverts that interval: with `k₋ = #{means ≤ 0}`, `k₊ = #{means ≥
/// 0}` and `R` resamples, `p_boot = min(1, 2·min(k₋ + 1, k₊ + 1)/(R + 1))`,
/// so `p_boot < 1 − level` essentially when the interval excludes 0.
///
/// Small-sample floor: the bootstrap is over-confident with few pairs (one
/// pair with a positive difference would give `p_boot ≈ 0`), so the
/// reported p-value is `max(p_boot, min(1, 2^(1−m)))` where `m` is the
/// number of non-zero differences: never below the smallest p-value the
/// exact sign-flip test can reach with `m` differences (as the exact McNemar
/// test cannot either). It matters only for `m ≤ 10`; with `m ≤ 5` nothing
/// is significant at 0.05.
///
/// `None` on the same inputs as [`bootstrap_mean_ci`].
pub fn paired_bootstrap(
    diffs: &[f64],
    resamples: usize,
    seed: u64,
    level: f64,
) -> Option<PairedBootstrap> {
    if !bootstrap_args_ok(diffs, resamples, level) {
        return None;
    }
    let observed = mean(diffs)?;
    let means = bootstrap_means(diffs, resamples, seed);
    let at_most_zero = means.iter().filter(|&&m| m <= 0.0).count();
    let at_least_zero = means.iter().filter(|&&m| m >= 0.0).count();
    let tail = (at_most_zero.min(at_least_zero) + 1) as f64 / (resamples + 1) as f64;
    Some(PairedBootstrap {
        mean: observed,
        ci: percentile_interval(&means, level),
        p_value: (2.0 * tail).max(sign_flip_floor(diffs)).min(1.0),
    })
}

/// `min(1, 2^(1−m))` for `m` non-zero differences: the smallest two-sided
/// p-value an exact sign-flip test can reach.
fn sign_flip_floor(diffs: &[f64]) -> f64 {
    let nonzero = diffs.iter().filter(|&&d| d != 0.0).count();
    // Beyond 1100 halvings the floor is 0 in f64 anyway.
    let exponent = 1 - i32::try_from(nonzero.min(1100)).unwrap_or(1100);
    2_f64.powi(exponent).min(1.0)
}

/// `ln(n!) − ln(√(2πn)·(n/e)ⁿ)`, the error of Stirling's formula.
fn stirling_error(n: f64) -> f64 {
    const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;
    if n <= 15.0 {
        let ln_factorial: f64 = (2..=n as u64).map(|k| (k as f64).ln()).sum();
        return ln_factorial - (n + 0.5) * n.ln() + n - HALF_LN_2PI;
    }
    let nn = n * n;
    let (s0, s1, s2, s3, s4) = (
        1.0 / 12.0,
        1.0 / 360.0,
        1.0 / 1260.0,
        1.0 / 1680.0,
        1.0 / 1188.0,
    );
    (s0 - (s1 - (s2 - (s3 - s4 / nn) / nn) / nn) / nn) / n
}

/// Loader's deviance term `x·ln(x/m) + m − x`, computed without cancellation.
fn deviance_term(x: f64, m: f64) -> f64 {
    if (x - m).abs() >= 0.1 * (x + m) {
        return x * (x / m).ln() + m - x;
    }
    let v = (x - m) / (x + m);
    let v2 = v * v;
    let mut s = (x - m) * v;
    let mut term = 2.0 * x * v;
    for j in 1..1000 {
        term *= v2;
        let next = s + term / f64::from(2 * j + 1);
        if next == s {
            break;
        }
        s = next;
    }
    s
}

/// `P[X = k]` for `X ~ Bin(n, 1/2)`, by Loader's saddle-point expansion.
fn binomial_half_pmf(k: u64, n: u64) -> f64 {
    const LN_2PI: f64 = 1.837_877_066_409_345_5;
    if k > n {
        return 0.0;
    }
    let nf = n as f64;
    if k == 0 || k == n {
        return (-nf * std::f64::consts::LN_2).exp();
    }
    let (kf, m) = (k as f64, nf / 2.0);
    let lc = stirling_error(nf)
        - stirling_error(kf)
        - stirling_error(nf - kf)
        - deviance_term(kf, m)
        - deviance_term(nf - kf, m);
    let lf = LN_2PI + kf.ln() + (-kf / nf).ln_1p();
    (lc - 0.5 * lf).exp()
}

/// `P[X ≤ k]` for `X ~ Bin(n, 1/2)` with `k ≤ n/2`: the largest term from
/// [`binomial_half_pmf`], the smaller ones by the exact term ratios.
fn binomial_half_lower_tail(k: u64, n: u64) -> f64 {
    let mut term = binomial_half_pmf(k, n);
    let mut sum = term;
    for i in (1..=k).rev() {
        term *= i as f64 / (n - i + 1) as f64;
        sum += term;
        if term <= sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Two-sided exact McNemar p-value from the discordant counts `b` (A right,
/// B wrong) and `c` (A wrong, B right): `min(1, 2·P[X ≤ min(b, c)])` with
/// `X ~ Bin(b + c, 1/2)`; 1 when `b + c = 0`. Symmetric in `b` and `c`.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b.saturating_add(c);
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    if k >= n - k {
        return 1.0;
    }
    (2.0 * binomial_half_lower_tail(k, n)).min(1.0)
}

/// Counts of a paired 0/1 table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct PairedCounts {
    /// Both runs right.
    pub both_right: u64,
    /// A right, B wrong (McNemar's `b`).
    pub a_right_b_wrong: u64,
    /// A wrong, B right (McNemar's `c`).
    pub a_wrong_b_right: u64,
    /// Both runs wrong.
    pub both_wrong: u64,
}

impl PairedCounts {
    /// Total number of pairs.
    pub fn n(&self) -> u64 {
        self.both_right + self.a_right_b_wrong + self.a_wrong_b_right + self.both_wrong
    }
}

/// Newcombe's hybrid score ("square-and-add") interval (Newcombe 1998,
/// method 10) for the paired difference `d = p_B − p_A` at critical value
/// `z`.
///
/// With Wilson intervals `(l₁, u₁)` for `p_B` and `(l₂, u₂)` for `p_A` and
/// `φ` the continuity-corrected correlation of the 2×2 table (see
/// `phi_coefficient`; as in Newcombe 1998 and Fagerland, Lydersen & Laake,
/// *Statistical Analysis of Contingency Tables*, ch. 8):
/// `low = d − √((p_B−l₁)² − 2φ(p_B−l₁)(u₂−p_A) + (u₂−p_A)²)` and
/// `high = d + √((u₁−p_B)² − 2φ(u₁−p_B)(p_A−l₂) + (p_A−l₂)²)`.
/// `None` when the table is empty.
pub fn newcombe_paired_ci(t: &PairedCounts, z: f64) -> Option<Interval> {
    let n = t.n();
    let right_b = t.both_right + t.a_wrong_b_right;
    let right_a = t.both_right + t.a_right_b_wrong;
    let (l1, u1) = wilson_ci(right_b, n, z).map(|i| (i.low, i.high))?;
    let (l2, u2) = wilson_ci(right_a, n, z).map(|i| (i.low, i.high))?;
    let (p1, p2) = (right_b as f64 / n as f64, right_a as f64 / n as f64);
    let d = (t.a_wrong_b_right as f64 - t.a_right_b_wrong as f64) / n as f64;
    let phi = phi_coefficient(t);
    let spread = |x: f64, y: f64| (x * x - 2.0 * phi * x * y + y * y).max(0.0).sqrt();
    Some(Interval {
        low: (d - spread(p1 - l1, u2 - p2)).max(-1.0),
        high: (d + spread(u1 - p1, p2 - l2)).min(1.0),
    })
}

/// Newcombe's continuity-corrected correlation of a paired 0/1 table: with
/// `A = both_right·both_wrong − a_wrong_b_right·a_right_b_wrong` and `n`
/// pairs, `φ = (A − n/2)/√(product of margins)` when `A > n/2`, `0` when `0
/// ≤ A ≤ n/2`, `A/√(product of margins)` when `A < 0`; `0` when a margin is 0.
fn phi_coefficient(t: &PairedCounts) -> f64 {
    let (a, b, c, d) = (
        t.both_right as f64,
        t.a_wrong_b_right as f64,
        t.a_right_b_wrong as f64,
        t.both_wrong as f64,
    );
    let margins = (a + b) * (c + d) * (a + c) * (b + d);
    if margins <= 0.0 {
        return 0.0;
    }
    let half_n = (a + b + c + d) / 2.0;
    let cross = a * d - b * c;
    let corrected = if cross > half_n {
        cross - half_n
    } else if cross >= 0.0 {
        0.0
    } else {
        cross
    };
    corrected / margins.sqrt()
}

/// Smallest `|mean difference|` that a two-sided test at `alpha` detects with
/// [`MDE_POWER`] (80%) power for these pairs, by the normal approximation
/// `(z₁₋α/₂ + z₀.₈)·s₀/√n` with `s₀ = √(Σd²/n)`, the spread of the
/// differences under "no difference" (for 0/1 data, `s₀² = (b + c)/n`, the
/// discordance rate). `None` when there are no pairs or every difference is
/// 0 (no spread to base it on) or `alpha` is not in `(0, 1)`.
pub fn min_detectable_difference(diffs: &[f64], alpha: f64) -> Option<f64> {
    if diffs.is_empty() || !(alpha > 0.0 && alpha < 1.0) {
        return None;
    }
    let n = diffs.len() as f64;
    let s0 = (diffs.iter().map(|d| d * d).sum::<f64>() / n).sqrt();
    if !(s0 > 0.0 && s0.is_finite()) {
        return None;
    }
    Some((normal_quantile(1.0 - alpha / 2.0) + normal_quantile(MDE_POWER)) * s0 / n.sqrt())
}

/// Settings of a paired comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CompareConfig {
    /// Significance level of the two-sided test, in `(0, 1)`; the difference
    /// CI is reported at level `1 − alpha`. Default: `0.05`.
    pub alpha: f64,
    /// Smallest difference (on the 0–1 scale) that counts as a real change,
    /// in `[0, 1]`. Default: `0.0`.
    pub min_effect: f64,
    /// Bootstrap resamples for data that is not all 0/1, at least 100.
    /// Default: `10000`.
    pub resamples: usize,
    /// Bootstrap seed; the same seed gives the same result. Default:
    /// `1592613902` (the scorecard's default seed).
    pub seed: u64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_effect: 0.0,
            resamples: 10_000,
            seed: DEFAULT_BOOTSTRAP_SEED,
        }
    }
}

impl CompareConfig {
    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), ScoringError> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(ScoringError::invalid(
                "alpha",
                format!("must be in (0, 1), got {}", self.alpha),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_effect) {
            return Err(ScoringError::invalid(
                "min_effect",
                format!("must be in [0, 1], got {}", self.min_effect),
            ));
        }
        if self.resamples < 100 {
            return Err(ScoringError::invalid(
                "resamples",
                format!("must be at least 100, got {}", self.resamples),
            ));
        }
        Ok(())
    }
}

/// The test behind a comparison's p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairedTest {
    /// Exact McNemar test on discordant pairs (every value 0 or 1).
    McnemarExact,
    /// Seeded paired bootstrap of the mean difference (otherwise).
    PairedBootstrap,
}

/// How the difference's confidence interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiffCiMethod {
    /// Newcombe's hybrid score interval for paired proportions (0/1 data).
    NewcombeHybridScore,
    /// Percentile interval of the paired bootstrap (other data).
    PercentileBootstrap,
}

/// Confidence interval of the mean difference B − A.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DiffInterval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Confidence level, `1 − alpha`.
    pub level: f64,
    /// Method used.
    pub method: DiffCiMethod,
}

/// The answer to "is B better than A?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// `p < alpha`, the difference is positive and at least `min_effect`.
    Improved,
    /// Anything else: not significant, too small, or nothing to compare.
    NoEvidence,
    /// `p < alpha`, the difference is negative and at most `−min_effect`.
    Regressed,
}

/// The verdict rule: improved when `p < alpha` and `diff > 0` and `diff ≥
/// min_effect`; regressed when `p < alpha` and `diff < 0` and `diff ≤
/// −min_effect`; otherwise no evidence.
pub fn verdict(p_value: Option<f64>, diff: Option<f64>, alpha: f64, min_effect: f64) -> Verdict {
    match (p_value, diff) {
        (Some(p), Some(d)) if p < alpha && d > 0.0 && d >= min_effect => Verdict::Improved,
        (Some(p), Some(d)) if p < alpha && d < 0.0 && d <= -min_effect => Verdict::Regressed,
        _ => Verdict::NoEvidence,
    }
}

/// A paired comparison of run B against run A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairedComparison {
    /// Items compared: present once in both runs and scored in both.
    pub n_pairs: usize,
    /// Number of ids present only in run A.
    pub n_only_in_a: usize,
    /// Ids present only in run A (sorted); not compared.
    pub only_in_a: Vec<String>,
    /// Number of ids present only in run B.
    pub n_only_in_b: usize,
    /// Ids present only in run B (sorted); not compared.
    pub only_in_b: Vec<String>,
    /// Number of ids present in both runs but skipped in at least one.
    pub n_skipped: usize,
    /// Ids present in both runs but without a valid value in at least one
    /// (sorted); not compared.
    pub skipped_ids: Vec<String>,
    /// Ids occurring on more than one row of a run (sorted); ambiguous, so
    /// not compared.
    pub duplicate_ids: Vec<String>,
    /// Mean of run A over the pairs.
    pub mean_a: Option<f64>,
    /// Mean of run B over the pairs.
    pub mean_b: Option<f64>,
    /// Mean paired difference B − A (positive: B is better).
    pub diff: Option<f64>,
    /// Confidence interval of `diff` at level `1 − alpha`.
    pub diff_ci: Option<DiffInterval>,
    /// Test used for `p_value`.
    pub test: Option<PairedTest>,
    /// Paired 0/1 table behind the McNemar test; only for 0/1 data.
    pub counts: Option<PairedCounts>,
    /// Two-sided p-value for "no difference".
    pub p_value: Option<f64>,
    /// Improved, no evidence, or regressed.
    pub verdict: Verdict,
    /// Smallest |diff| detectable at `alpha` with 80% power for these pairs
    /// (normal approximation; see the method notes).
    pub min_detectable_difference: Option<f64>,
    /// The settings used.
    pub config: CompareConfig,
    /// Human-readable caveats: unmatched, skipped or duplicate ids, small
    /// samples, invalid settings.
    pub warnings: Vec<String>,
}

/// Items of two runs matched by id.
#[derive(Debug, Default)]
struct Alignment {
    /// `(value_a, value_b)` in id order.
    pairs: Vec<(f64, f64)>,
    only_in_a: Vec<String>,
    only_in_b: Vec<String>,
    skipped: Vec<String>,
    duplicates: Vec<String>,
}

/// Rows of one run grouped by id.
fn index_rows(rows: &[ItemRow]) -> BTreeMap<&str, Vec<&ItemRow>> {
    let mut index: BTreeMap<&str, Vec<&ItemRow>> = BTreeMap::new();
    for row in rows {
        index.entry(&row.id).or_default().push(row);
    }
    index
}

/// Matches rows by id; everything not compared is listed.
fn align(a: &[ItemRow], b: &[ItemRow]) -> Alignment {
    let (ia, ib) = (index_rows(a), index_rows(b));
    let mut out = Alignment::default();
    let mut ids: Vec<&str> = ia.keys().chain(ib.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let (ra, rb) = (ia.get(id).map(Vec::as_slice), ib.get(id).map(Vec::as_slice));
        if ra.is_some_and(|r| r.len() > 1) || rb.is_some_and(|r| r.len() > 1) {
            out.duplicates.push(id.to_string());
        }
        match (ra, rb) {
            (Some(_), None) => out.only_in_a.push(id.to_string()),
            (None, Some(_)) => out.only_in_b.push(id.to_string()),
            (Some([x]), Some([y])) => match (item_value(x), item_value(y)) {
                (Some(va), Some(vb)) => out.pairs.push((va, vb)),
                _ => out.skipped.push(id.to_string()),
            },
            _ => {}
        }
    }
    out
}

/// Warnings about ids that were not compared.
fn alignment_warnings(al: &Alignment) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut note = |ids: &[String], what: &str| {
        if !ids.is_empty() {
            warnings.push(format!("{} item(s) {what}: {}", ids.len(), id_list(ids)));
        }
    };
    note(&al.only_in_a, "only in A (not compared)");
    note(&al.only_in_b, "only in B (not compared)");
    note(&al.skipped, "skipped in A or B (not compared)");
    note(
        &al.duplicates,
        "with ids duplicated within a run (not compared)",
    );
    let n = al.pairs.len();
    if n == 0 {
        warnings.push("no pairs to compare: no test was run".to_string());
    } else if n < SMALL_PAIRS_WARNING {
        warnings.push(format!(
            "n_pairs={n} < {SMALL_PAIRS_WARNING}: the test has little power and the CI is wide; treat the verdict with caution"
        ));
    }
    warnings
}

/// Test, p-value, CI and (for 0/1 data) the paired table.
struct TestOutcome {
    test: PairedTest,
    p_value: f64,
    ci: DiffInterval,
    counts: Option<PairedCounts>,
}

/// The paired 0/1 table, or `None` when some value is not exactly 0 or 1.
fn paired_counts(pairs: &[(f64, f64)]) -> Option<PairedCounts> {
    let mut t = PairedCounts::default();
    for &(a, b) in pairs {
        let cell = match (a, b) {
            (1.0, 1.0) => &mut t.both_right,
            (1.0, 0.0) => &mut t.a_right_b_wrong,
            (0.0, 1.0) => &mut t.a_wrong_b_right,
            (0.0, 0.0) => &mut t.both_wrong,
            _ => return None,
        };
        *cell += 1;
    }
    Some(t)
}

/// Runs McNemar + Newcombe on 0/1 data, else the paired bootstrap.
fn run_test(pairs: &[(f64, f64)], diffs: &[f64], cfg: &CompareConfig) -> Option<TestOutcome> {
    let level = 1.0 - cfg.alpha;
    if let Some(t) = paired_counts(pairs) {
        let ci = newcombe_paired_ci(&t, normal_quantile(1.0 - cfg.alpha / 2.0))?;
        return Some(TestOutcome {
            test: PairedTest::McnemarExact,
            p_value: mcnemar_exact(t.a_right_b_wrong, t.a_wrong_b_right),
            ci: DiffInterval {
                low: ci.low,
                high: ci.high,
                level,
                method: DiffCiMethod::NewcombeHybridScore,
            },
            counts: Some(t),
        });
    }
    let boot = paired_bootstrap(diffs, cfg.resamples, cfg.seed, level)?;
    Some(TestOutcome {
        test: PairedTest::PairedBootstrap,
        p_value: boot.p_value,
        ci: DiffInterval {
            low: boot.ci.low,
            high: boot.ci.high,
            level,
            method: DiffCiMethod::PercentileBootstrap,
        },
        counts: None,
    })
}

/// Compares run B against run A item by item.
///
/// Rows are paired by id; ids found in only one run, ids skipped (no valid
/// value) in either run and ids duplicated within a run are listed and
/// counted, never silently dropped. For all-0/1 pairs the test is the exact
/// McNemar test with Newcombe's interval for the difference; otherwise the
/// seeded paired bootstrap. With an invalid `cfg` no test is run, the
/// verdict is `no_evidence` and a warning says why (call
/// [`CompareConfig::validate`] first to reject it earlier). The result does
/// not depend on the order of the rows.
pub fn compare(a: &[ItemRow], b: &[ItemRow], cfg: &CompareConfig) -> PairedComparison {
    let al = align(a, b);
    let mut warnings = alignment_warnings(&al);
    let values_a: Vec<f64> = al.pairs.iter().map(|p| p.0).collect();
    let values_b: Vec<f64> = al.pairs.iter().map(|p| p.1).collect();
    let diffs: Vec<f64> = al.pairs.iter().map(|(x, y)| y - x).collect();
    let diff = mean(&diffs);
    let outcome = match cfg.validate() {
        Ok(()) => run_test(&al.pairs, &diffs, cfg),
        Err(e) => {
            warnings.push(format!("invalid compare settings, no test was run: {e}"));
            None
        }
    };
    let p_value = outcome.as_ref().map(|o| o.p_value);
    let mde = outcome
        .as_ref()
        .and_then(|_| min_detectable_difference(&diffs, cfg.alpha));
    PairedComparison {
        n_pairs: al.pairs.len(),
        n_only_in_a: al.only_in_a.len(),
        n_only_in_b: al.only_in_b.len(),
        n_skipped: al.skipped.len(),
        mean_a: mean(&values_a),
        mean_b: mean(&values_b),
        diff,
        diff_ci: outcome.as_ref().map(|o| o.ci),
        test: outcome.as_ref().map(|o| o.test),
        counts: outcome.as_ref().and_then(|o| o.counts),
        p_value,
        verdict: verdict(p_value, diff, cfg.alpha, cfg.min_effect),
        min_detectable_difference: mde,
        config: *cfg,
        warnings,
        only_in_a: al.only_in_a,
        only_in_b: al.only_in_b,
        skipped_ids: al.skipped,
        duplicate_ids: al.duplicates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::score::tests::row;
    use serde_json::Value;

    const FIXTURE: &str = include_str!("../../tests/fixtures/stats_reference.json");

    fn fixture() -> Value {
        serde_json::from_str(FIXTURE).unwrap_or(Value::Null)
    }

    fn cases(name: &str) -> Vec<Value> {
        let cases = fixture()[name].as_array().cloned().unwrap_or_default();
        assert!(!cases.is_empty(), "fixture section {name} is missing");
        cases
    }

    fn f(v: &Value, key: &str) -> f64 {
        v[key].as_f64().unwrap_or(f64::NAN)
    }

    fn u(v: &Value, key: &str) -> u64 {
        v[key].as_u64().unwrap_or(u64::MAX)
    }

    /// Relative agreement, with an absolute floor for values at or near 0.
    fn close(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= rel * want.abs().max(got.abs()) || (got - want).abs() <= 1e-15
    }

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

    #[test]
    fn mcnemar_matches_statsmodels() {
        for case in cases("mcnemar") {
            let (b, c, want) = (u(&case, "b"), u(&case, "c"), f(&case, "p_value"));
            let got = mcnemar_exact(b, c);
            assert!(
                (got - want).abs() <= 1e-9,
                "b={b} c={c}: got {got}, statsmodels {want}"
            );
            assert!(
                close(got, want, 1e-12),
                "b={b} c={c}: got {got}, statsmodels {want}"
            );
        }
    }

    #[test]
    fn mcnemar_small_cases_by_hand() {
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        assert_eq!(mcnemar_exact(1, 0), 1.0);
        assert!((mcnemar_exact(5, 1) - 14.0 / 64.0).abs() < 1e-15);
        assert!((mcnemar_exact(6, 0) - 2.0 / 64.0).abs() < 1e-15);
        assert!(mcnemar_exact(0, 5000) == 0.0 || mcnemar_exact(0, 5000) < 1e-300);
    }

    #[test]
    fn binomial_pmf_sums_to_one() {
        for n in [1_u64, 2, 7, 15, 16, 33, 100, 1001, 20_000] {
            let total: f64 = (0..=n).map(|k| binomial_half_pmf(k, n)).sum();
            assert!((total - 1.0).abs() < 1e-12, "n={n}: {total}");
        }
    }

    #[test]
    fn newcombe_matches_reference_and_published_example() {
        for case in cases("newcombe") {
            let t = PairedCounts {
                both_right: u(&case, "both_right"),
                a_right_b_wrong: u(&case, "a_right_b_wrong"),
                a_wrong_b_right: u(&case, "a_wrong_b_right"),
                both_wrong: u(&case, "both_wrong"),
            };
            let ci = newcombe_paired_ci(&t, f(&case, "z"));
            let (low, high) = ci.map_or((f64::NAN, f64::NAN), |i| (i.low, i.high));
            assert!(close(low, f(&case, "low"), 1e-9), "{case}: low {low}");
            assert!(close(high, f(&case, "high"), 1e-9), "{case}: high {high}");
        }
        // Fagerland, Lydersen & Laake, ch. 8 (Cavo et al. 2012):
        // estimate -0.0621, 95% CI -0.1186 to -0.0046.
        let cavo = PairedCounts {
            both_right: 59,
            a_wrong_b_right: 6,
            a_right_b_wrong: 16,
            both_wrong: 80,
        };
        let ci = newcombe_paired_ci(&cavo, Z95).unwrap_or(Interval {
            low: 0.0,
            high: 0.0,
        });
        assert!(
            (ci.low + 0.1186).abs() < 5e-5 && (ci.high + 0.0046).abs() < 5e-5,
            "{ci:?}"
        );
        assert_eq!(newcombe_paired_ci(&PairedCounts::default(), Z95), None);
    }

    #[test]
    fn newcombe_covers_about_95_percent() {
        let mut rng = Rng::new(11);
        let (trials, n) = (2000, 60);
        let (p_a, p_b, p_both) = (0.6, 0.7, 0.5);
        let truth = p_b - p_a;
        let mut covered = 0;
        for _ in 0..trials {
            let mut t = PairedCounts::default();
            for _ in 0..n {
                let u = rng.next_f64();
                let cell = if u < p_both {
                    &mut t.both_right
                } else if u < p_a {
                    &mut t.a_right_b_wrong
                } else if u < p_a + (p_b - p_both) {
                    &mut t.a_wrong_b_right
                } else {
                    &mut t.both_wrong
                };
                *cell += 1;
            }
            if newcombe_paired_ci(&t, Z95).is_some_and(|ci| ci.low <= truth && truth <= ci.high) {
                covered += 1;
            }
        }
        let coverage = f64::from(covered) / f64::from(trials);
        assert!((0.93..=0.975).contains(&coverage), "coverage {coverage}");
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

    #[test]
    fn paired_bootstrap_p_value_is_floored_for_tiny_samples() {
        let p = |d: &[f64]| paired_bootstrap(d, 2000, 1, 0.95).map(|b| b.p_value);
        assert_eq!(p(&[0.3]), Some(1.0));
        assert_eq!(p(&[0.3, 0.0, 0.0]), Some(1.0));
        assert_eq!(p(&[0.3; 5]), Some(0.0625));
        assert_eq!(p(&[0.3; 6]), Some(0.03125));
        assert!(p(&[0.3; 40]).is_some_and(|p| p < 0.001));
    }

    #[test]
    fn paired_bootstrap_p_value_tracks_the_interval() {
        let zeros = paired_bootstrap(&[0.0; 20], 1000, 1, 0.95);
        assert_eq!(zeros.map(|b| b.p_value), Some(1.0));
        let mut rng = Rng::new(9);
        let shifted: Vec<f64> = (0..200).map(|_| rng.next_f64() - 0.3).collect();
        let boot = paired_bootstrap(&shifted, 2000, 3, 0.95);
        let boot = boot.unwrap_or(PairedBootstrap {
            mean: f64::NAN,
            ci: Interval {
                low: f64::NAN,
                high: f64::NAN,
            },
            p_value: f64::NAN,
        });
        assert!(boot.ci.low > 0.0 && boot.p_value < 0.05, "{boot:?}");
        let centered: Vec<f64> = shifted.iter().map(|d| d - boot.mean).collect();
        let null = paired_bootstrap(&centered, 2000, 3, 0.95).map_or(0.0, |b| b.p_value);
        assert!(null > 0.5, "p={null}");
    }

    #[test]
    fn mde_follows_the_normal_approximation() {
        // Discordance 0.2 with 100 pairs: (1.95996 + 0.84162)·√0.2/10.
        let mut diffs = vec![0.0; 80];
        diffs.extend([1.0; 12]);
        diffs.extend([-1.0; 8]);
        let mde = min_detectable_difference(&diffs, 0.05).unwrap_or(f64::NAN);
        let want = (Z95 + 0.841_621_233_572_914_3) * 0.2_f64.sqrt() / 10.0;
        assert!((mde - want).abs() < 1e-12, "{mde} vs {want}");
        assert_eq!(min_detectable_difference(&[], 0.05), None);
        assert_eq!(min_detectable_difference(&[0.0, 0.0], 0.05), None);
    }

    fn runs(pattern: &[(u8, u8)]) -> (Vec<ItemRow>, Vec<ItemRow>) {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (i, &(x, y)) in pattern.iter().enumerate() {
            let id = format!("q{i:04}");
            a.push(row(&id, "core", Some(f64::from(x)), None));
            b.push(row(&id, "core", Some(f64::from(y)), None));
        }
        (a, b)
    }

    fn table(both: usize, a_only: usize, b_only: usize, neither: usize) -> Vec<(u8, u8)> {
        let mut p = vec![(1, 1); both];
        p.extend(vec![(1, 0); a_only]);
        p.extend(vec![(0, 1); b_only]);
        p.extend(vec![(0, 0); neither]);
        p
    }

    #[test]
    fn compare_binary_uses_mcnemar_and_newcombe() {
        let (a, b) = runs(&table(50, 2, 15, 33));
        let cmp = compare(&a, &b, &CompareConfig::default());
        assert_eq!(cmp.test, Some(PairedTest::McnemarExact));
        assert_eq!(cmp.n_pairs, 100);
        assert_eq!(
            cmp.counts.map(|t| (t.a_right_b_wrong, t.a_wrong_b_right)),
            Some((2, 15))
        );
        assert_eq!(cmp.p_value, Some(mcnemar_exact(2, 15)));
        assert!((cmp.diff.unwrap_or(0.0) - 0.13).abs() < 1e-12);
        assert_eq!(cmp.verdict, Verdict::Improved);
        let ci = cmp.diff_ci.map(|c| (c.method, c.low > 0.0, c.level));
        assert_eq!(ci, Some((DiffCiMethod::NewcombeHybridScore, true, 0.95)));
        assert!(cmp.min_detectable_difference.is_some());

        let reverse = compare(&b, &a, &CompareConfig::default());
        assert_eq!(reverse.verdict, Verdict::Regressed);
        assert_eq!(reverse.p_value, cmp.p_value);

        let strict = CompareConfig {
            min_effect: 0.2,
            ..CompareConfig::default()
        };
        assert_eq!(compare(&a, &b, &strict).verdict, Verdict::NoEvidence);

        let (a, b) = runs(&table(50, 6, 8, 36));
        assert_eq!(
            compare(&a, &b, &CompareConfig::default()).verdict,
            Verdict::NoEvidence
        );
    }

    #[test]
    fn compare_continuous_uses_paired_bootstrap() {
        let a: Vec<ItemRow> = (0..60)
            .map(|i| row(&format!("{i}"), "c", None, Some(f64::from(i % 7) * 10.0)))
            .collect();
        let b: Vec<ItemRow> = (0..60)
            .map(|i| {
                row(
                    &format!("{i}"),
                    "c",
                    None,
                    Some(f64::from(i % 7) * 10.0 + 15.0),
                )
            })
            .collect();
        let cmp = compare(&a, &b, &CompareConfig::default());
        assert_eq!(cmp.test, Some(PairedTest::PairedBootstrap));
        assert_eq!(cmp.counts, None);
        assert_eq!(cmp.verdict, Verdict::Improved);
        let ci = cmp.diff_ci.map(|c| c.method);
        assert_eq!(ci, Some(DiffCiMethod::PercentileBootstrap));
        assert!((cmp.diff.unwrap_or(0.0) - 0.15).abs() < 1e-12);
    }

    #[test]
    fn compare_lists_everything_it_does_not_compare() {
        let a = vec![
            row("both", "c", Some(1.0), None),
            row("only-a", "c", Some(1.0), None),
            row("skip", "c", None, None),
            row("dup", "c", Some(1.0), None),
            row("dup", "c", Some(0.0), None),
        ];
        let b = vec![
            row("skip", "c", Some(1.0), None),
            row("both", "c", Some(0.0), None),
            row("only-b2", "c", Some(1.0), None),
            row("only-b1", "c", Some(1.0), None),
            row("dup", "c", Some(1.0), None),
        ];
        let cmp = compare(&a, &b, &CompareConfig::default());
        assert_eq!(cmp.n_pairs, 1);
        assert_eq!(cmp.only_in_a, ["only-a"]);
        assert_eq!(cmp.only_in_b, ["only-b1", "only-b2"]);
        assert_eq!((cmp.n_only_in_a, cmp.n_only_in_b, cmp.n_skipped), (1, 2, 1));
        assert_eq!(cmp.skipped_ids, ["skip"]);
        assert_eq!(cmp.duplicate_ids, ["dup"]);
        assert_eq!(cmp.warnings.len(), 5, "{:?}", cmp.warnings);
        assert_eq!(cmp.verdict, Verdict::NoEvidence);
    }

    #[test]
    fn compare_with_nothing_or_bad_settings_gives_no_evidence() {
        let empty = compare(&[], &[], &CompareConfig::default());
        assert_eq!((empty.n_pairs, empty.test, empty.p_value), (0, None, None));
        assert_eq!(empty.min_detectable_difference, None);
        assert_eq!(empty.verdict, Verdict::NoEvidence);

        let (a, b) = runs(&table(10, 0, 40, 10));
        let bad = CompareConfig {
            alpha: 1.5,
            ..CompareConfig::default()
        };
        assert!(bad.validate().is_err());
        let cmp = compare(&a, &b, &bad);
        assert_eq!((cmp.verdict, cmp.p_value), (Verdict::NoEvidence, None));
        assert!(cmp.warnings.iter().any(|w| w.contains("alpha")));
    }

    #[test]
    fn compare_config_serde() {
        let cfg: Option<CompareConfig> = serde_json::from_str(r#"{"alpha": 0.01}"#).ok();
        assert_eq!(cfg.map(|c| (c.alpha, c.resamples)), Some((0.01, 10_000)));
        assert!(serde_json::from_str::<CompareConfig>(r#"{"alfa": 0.01}"#).is_err());
        let v = serde_json::to_string(&Verdict::NoEvidence).ok();
        assert_eq!(v.as_deref(), Some("\"no_evidence\""));
    }

    #[test]
    fn verdict_rule() {
        assert_eq!(
            verdict(Some(0.01), Some(0.1), 0.05, 0.05),
            Verdict::Improved
        );
        assert_eq!(
            verdict(Some(0.01), Some(0.04), 0.05, 0.05),
            Verdict::NoEvidence
        );
        assert_eq!(
            verdict(Some(0.01), Some(-0.1), 0.05, 0.0),
            Verdict::Regressed
        );
        assert_eq!(
            verdict(Some(0.05), Some(0.5), 0.05, 0.0),
            Verdict::NoEvidence
        );
        assert_eq!(
            verdict(Some(0.0), Some(0.0), 0.05, 0.0),
            Verdict::NoEvidence
        );
        assert_eq!(verdict(None, Some(0.5), 0.05, 0.0), Verdict::NoEvidence);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::rng::Rng;
    use crate::scoring::score::tests::row;
    use proptest::prelude::*;

    fn paired_rows(binary: bool) -> impl Strategy<Value = Vec<(String, f64, f64)>> {
        let value = if binary {
            prop::sample::select(vec![0.0, 1.0]).boxed()
        } else {
            (0.0_f64..=1.0).boxed()
        };
        prop::collection::vec(("[a-z]{1,3}", value.clone(), value), 0..50)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn mcnemar_is_symmetric_and_a_probability(b in 0_u64..3000, c in 0_u64..3000) {
            let p = mcnemar_exact(b, c);
            prop_assert_eq!(p, mcnemar_exact(c, b));
            prop_assert!((0.0..=1.0).contains(&p));
        }

        #[test]
        fn bootstrap_is_deterministic_for_a_seed(
            values in prop::collection::vec(0.0_f64..=1.0, 1..60), seed in any::<u64>(),
        ) {
            let a = bootstrap_mean_ci(&values, 500, seed, 0.95);
            prop_assert_eq!(a, bootstrap_mean_ci(&values, 500, seed, 0.95));
            let p = paired_bootstrap(&values, 500, seed, 0.9);
            prop_assert_eq!(p, paired_bootstrap(&values, 500, seed, 0.9));
        }

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

        #[test]
        fn newcombe_contains_the_difference(
            t in (0_u64..200, 0_u64..200, 0_u64..200, 0_u64..200),
        ) {
            let t = PairedCounts { both_right: t.0, a_right_b_wrong: t.1, a_wrong_b_right: t.2, both_wrong: t.3 };
            let ci = newcombe_paired_ci(&t, Z95);
            if t.n() == 0 {
                prop_assert_eq!(ci, None);
            } else {
                let d = (t.a_wrong_b_right as f64 - t.a_right_b_wrong as f64) / t.n() as f64;
                prop_assert!(ci.is_some_and(|c| -1.0 <= c.low && c.low <= d + 1e-12 && d <= c.high + 1e-12 && c.high <= 1.0), "{:?} {}", ci, d);
            }
        }

        #[test]
        fn compare_is_order_independent(
            (rows, binary) in prop_oneof![paired_rows(true).prop_map(|r| (r, true)), paired_rows(false).prop_map(|r| (r, false))],
            shuffle_seed in any::<u64>(),
        ) {
            let a: Vec<ItemRow> = rows.iter().map(|(id, x, _)| row(id, "c", Some(*x), None)).collect();
            let b: Vec<ItemRow> = rows.iter().map(|(id, _, y)| row(id, "c", Some(*y), None)).collect();
            let shuffle = |v: &[ItemRow], seed: u64| {
                let mut v = v.to_vec();
                let mut rng = Rng::new(seed);
                for i in (1..v.len()).rev() {
                    v.swap(i, rng.index(i + 1));
                }
                v
            };
            let cfg = CompareConfig { resamples: 200, ..CompareConfig::default() };
            let one = serde_json::to_string(&compare(&a, &b, &cfg)).ok();
            let two = serde_json::to_string(&compare(&shuffle(&a, shuffle_seed), &shuffle(&b, !shuffle_seed), &cfg)).ok();
            prop_assert_eq!(&one, &two);
            let cmp = compare(&a, &b, &cfg);
            if cmp.n_pairs > 0 {
                let want = if binary { PairedTest::McnemarExact } else { PairedTest::PairedBootstrap };
                let is_binary_data = cmp.counts.is_some();
                prop_assert!(cmp.test == Some(want) || (!binary && is_binary_data));
                prop_assert!(cmp.p_value.is_some_and(|p| (0.0..=1.0).contains(&p)));
            }
        }
    }
}
