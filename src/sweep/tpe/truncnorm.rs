//! The truncated normal distribution's log density, log mass and inverse
//! CDF, as Optuna's `_truncnorm.py` (itself from SciPy) computes them: in
//! log space, on the left tail where that is more accurate, with the
//! inverse found by Newton's method on `log Φ`.
//!
//! `erfc` is Numerical Recipes' (3rd ed., §6.2) Chebyshev fit of
//! `ln(erfc(z)/t) + z²` with `t = 2/(2+z)`: relative error below 1e-12
//! against the C library's `erfc`, and usable in log form far past the
//! point where `erfc` itself underflows.

/// `ln √(2π)`.
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_8;

/// Chebyshev coefficients of NR3's `Erf::erfccheb`.
const ERFC_COF: [f64; 28] = [
    -1.302_653_719_781_709_4,
    6.419_697_923_564_902e-1,
    1.947_647_320_418_583_6e-2,
    -9.561_514_786_808_63e-3,
    -9.465_953_444_820_36e-4,
    3.668_394_978_527_61e-4,
    4.252_332_480_690_7e-5,
    -2.027_857_811_253_4e-5,
    -1.624_290_004_647e-6,
    1.303_655_835_580e-6,
    1.562_644_172_2e-8,
    -8.523_809_591_5e-8,
    6.529_054_439e-9,
    5.059_343_495e-9,
    -9.913_641_56e-10,
    -2.273_651_22e-10,
    9.646_791_1e-11,
    2.394_038e-12,
    -6.886_027e-12,
    8.944_87e-13,
    3.130_92e-13,
    -1.127_08e-13,
    3.81e-16,
    7.106e-15,
    -1.523e-15,
    -9.4e-17,
    1.21e-16,
    -2.8e-17,
];

/// `ln erfc(z)` for `z ≥ 0` (`-∞` at `+∞`).
fn ln_erfc(z: f64) -> f64 {
    let t = 2.0 / (2.0 + z);
    let ty = 4.0 * t - 2.0;
    let (mut d, mut dd) = (0.0, 0.0);
    for &c in ERFC_COF[1..].iter().rev() {
        (d, dd) = (ty * d - dd + c, d);
    }
    t.ln() - z * z + 0.5 * (ERFC_COF[0] + ty * d) - dd
}

/// Φ(x), the standard normal CDF.
pub fn ndtr(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    if z < 0.0 {
        0.5 * ln_erfc(-z).exp()
    } else {
        1.0 - 0.5 * ln_erfc(z).exp()
    }
}

/// ln Φ(x), accurate in both tails.
pub fn log_ndtr(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    if z < 0.0 {
        ln_erfc(-z) - std::f64::consts::LN_2
    } else {
        (-0.5 * ln_erfc(z).exp()).ln_1p()
    }
}

/// ln(e^p − e^q) for q ≤ p.
fn log_diff(p: f64, q: f64) -> f64 {
    p + (-(q - p).exp()).ln_1p()
}

/// ln(e^p + e^q).
fn log_sum(p: f64, q: f64) -> f64 {
    let hi = p.max(q);
    if hi == f64::NEG_INFINITY {
        return hi;
    }
    hi + (-(p - q).abs()).exp().ln_1p()
}

/// ln of the standard normal's mass on `[a, b]`.
pub fn log_gauss_mass(a: f64, b: f64) -> f64 {
    if b <= 0.0 {
        log_diff(log_ndtr(b), log_ndtr(a))
    } else if a > 0.0 {
        log_diff(log_ndtr(-a), log_ndtr(-b))
    } else {
        (-ndtr(a) - ndtr(-b)).ln_1p()
    }
}

/// The `x` with `ln Φ(x) = y` (`y ≤ 0`), by Newton's method from
/// Optuna's starting guesses.
fn ndtri_exp(y: f64) -> f64 {
    let flipped = y > -1e-2;
    let z = if flipped { (-y.exp_m1()).ln() } else { y };
    let mut x = if z < -5.0 {
        -(-2.0 * (z + LN_SQRT_2PI)).sqrt()
    } else {
        -(3.0_f64.sqrt() / std::f64::consts::PI) * (-z).exp_m1().ln()
    };
    for _ in 0..100 {
        let log_ndtr_x = log_ndtr(x);
        let log_pdf_x = -0.5 * x * x - LN_SQRT_2PI;
        let dx = (log_ndtr_x - z) * (log_ndtr_x - log_pdf_x).exp();
        x -= dx;
        if dx.is_nan() || dx.abs() < 1e-8 * x.abs() {
            break;
        }
    }
    if flipped {
        -x
    } else {
        x
    }
}

/// The standard normal truncated to `[a, b]`: its `q`-quantile (`q` in
/// `[0, 1]`), always within `[a, b]`.
pub fn ppf(q: f64, a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() || a >= b || q.is_nan() || q <= 0.0 {
        return a;
    }
    if q >= 1.0 {
        return b;
    }
    let log_mass = log_gauss_mass(a, b);
    let x = if a < 0.0 {
        ndtri_exp(log_sum(log_ndtr(a), q.ln() + log_mass))
    } else {
        -ndtri_exp(log_sum(log_ndtr(-b), (-q).ln_1p() + log_mass))
    };
    if x.is_nan() {
        a + q * (b - a)
    } else {
        x.clamp(a, b)
    }
}

/// ln of the density at `x` of N(`mu`, `sigma`²) truncated to
/// `[low, high]`, given `log_mass = log_gauss_mass` of the standardized
/// bounds; `-∞` outside them.
pub fn log_pdf(x: f64, mu: f64, sigma: f64, low: f64, high: f64, log_mass: f64) -> f64 {
    if x < low || x > high {
        return f64::NEG_INFINITY;
    }
    let z = (x - mu) / sigma;
    -0.5 * z * z - LN_SQRT_2PI - log_mass - sigma.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn normal_cdf_matches_known_values() {
        // Φ at 0, 1, -3 and the far left tail (ln Φ(-40) from the
        // asymptotic series -x²/2 - ln(-x√(2π)) + ln(1 - 1/x² + 3/x⁴)).
        assert!(close(ndtr(0.0), 0.5, 1e-15));
        assert!(close(ndtr(1.0), 0.841_344_746_068_542_9, 1e-13));
        assert!(close(ndtr(-3.0), 1.349_898_031_630_094_6e-3, 1e-12));
        let x: f64 = -40.0;
        let series =
            -0.5 * x * x - (-x).ln() - LN_SQRT_2PI + (1.0 - 1.0 / (x * x) + 3.0 / x.powi(4)).ln();
        assert!(close(log_ndtr(x), series, 1e-10));
        assert!(close(log_ndtr(5.0), -2.866_516_129_637_642_7e-7, 1e-9));
    }

    #[test]
    fn ppf_inverts_the_truncated_cdf() {
        for &(a, b) in &[
            (-1.0, 2.0),
            (-30.0, -25.0),
            (3.0, 40.0),
            (-0.5, 0.5),
            (0.0, 1e-9),
        ] {
            let mass = log_gauss_mass(a, b).exp();
            for &q in &[0.0, 1e-6, 0.1, 0.5, 0.9, 0.999_999, 1.0] {
                let x = ppf(q, a, b);
                assert!(a <= x && x <= b, "{x} not in [{a}, {b}]");
                if b - a < 1e-6 {
                    // A flat density: the quantile is linear.
                    let got = (x - a) / (b - a);
                    assert!((got - q).abs() < 1e-6, "q {q} in [{a}, {b}]: {got}");
                } else if a > -5.0 && b < 5.0 {
                    let got = (ndtr(x) - ndtr(a)) / mass;
                    assert!((got - q).abs() < 1e-7, "q {q} in [{a}, {b}]: {got}");
                }
            }
        }
        assert_eq!(ppf(0.3, 1.0, 1.0), 1.0);
    }

    #[test]
    fn density_integrates_to_one() {
        let (mu, sigma, low, high) = (0.3, 0.2, 0.0, 1.0);
        let log_mass = log_gauss_mass((low - mu) / sigma, (high - mu) / sigma);
        let n = 10_000;
        let h = (high - low) / f64::from(n);
        let total: f64 = (0..n)
            .map(|i| low + h * (f64::from(i) + 0.5))
            .map(|x| log_pdf(x, mu, sigma, low, high, log_mass).exp() * h)
            .sum();
        assert!((total - 1.0).abs() < 1e-6, "{total}");
        assert_eq!(
            log_pdf(1.5, mu, sigma, low, high, log_mass),
            f64::NEG_INFINITY
        );
    }
}
