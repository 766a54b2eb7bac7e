//! Paired tests of run B against run A, on per-item differences (B − A).
//!
//! - [`mcnemar_exact`]: two-sided exact McNemar test, `p = min(1, 2·P[X ≤
//!   min(b, c)])` with `X ~ Bin(b + c, 1/2)`, the binomial terms computed with
//!   Loader's saddle-point method (accurate to ~1e-15 relative for any n).
//! - [`newcombe_paired_ci`]: Newcombe's hybrid score interval (method 10 of
//!   Newcombe 1998, with its continuity-corrected φ) for a difference of
//!   paired proportions.
//! - [`paired_bootstrap`]: seeded percentile bootstrap of the mean paired
//!   difference, with the p-value obtained by inverting it (floored for tiny
//!   samples at the exact sign-flip test's smallest attainable p-value).
//! - [`min_detectable_difference`]: the smallest difference the test detects
//!   with 80% power (normal approximation).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::intervals::{
    bootstrap_args_ok, bootstrap_means, normal_quantile, percentile_interval, wilson_ci, Interval,
};
use super::rows::mean;

/// Statistical power assumed by [`min_detectable_difference`].
pub const MDE_POWER: f64 = 0.8;

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
/// `None` on the same inputs as
/// [`bootstrap_mean_ci`](super::intervals::bootstrap_mean_ci).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::scoring::intervals::Z95;
    use crate::scoring::stats_reference::{cases, close, f, u};

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
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scoring::intervals::{bootstrap_mean_ci, Z95};
    use proptest::prelude::*;

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
    }
}
