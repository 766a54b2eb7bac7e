//! Optuna's Parzen estimator (`_ParzenEstimator`): a mixture of product
//! kernels, one component per observation plus one for the prior.
//!
//! Rules, as in Optuna 5:
//! - Component weights: [`default_weights`] of the observations (in trial
//!   order), then `prior_weight` for the prior, normalized. With no
//!   observation the prior alone, weight 1.
//! - A numeric dimension is a normal kernel truncated to the range (in log
//!   space for a log scale; integers widened by ½ on each side and rounded
//!   back): one per observation, centred on it, plus the prior, centred
//!   mid-range with the range's width as its σ. An observation's σ is the
//!   larger gap to its sorted neighbours (the bounds at the ends); without
//!   `consider_endpoints`, the first and last use their inner gap only.
//!   σ is clipped to `[range / min(100, 1 + kernels), range]` (the "magic
//!   clip"; `1e-12` below without it).
//! - A categorical dimension: each observation's kernel puts `1 +
//!   prior_weight / kernels` on its choice and `prior_weight / kernels` on
//!   every other, normalized; the prior's is uniform.
//! - An integer's density is its kernel's mass on `[x − ½, x + ½]`.

use super::truncnorm;
use crate::rng::Rng;

/// Optuna's floor on σ without the magic clip.
const EPS: f64 = 1e-12;

/// One searched dimension in the estimator's terms: values are reals (an
/// integer as a real, a choice as its index).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dim {
    /// A real (or, with `int`, an integer) in `[low, high]`, `low < high`,
    /// finite, both positive with `log`.
    Numeric {
        low: f64,
        high: f64,
        log: bool,
        int: bool,
    },
    /// One of `n ≥ 1` choices.
    Categorical { n: usize },
}

/// The estimator's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    pub prior_weight: f64,
    pub magic_clip: bool,
    pub endpoints: bool,
}

/// Optuna's `default_weights`: 1 for each of the newest 25 observations;
/// below them, a ramp from `1/n` rising linearly towards 1.
pub fn default_weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let start = 1.0 / n as f64;
    let step = if ramp > 1 {
        (1.0 - start) / (ramp - 1) as f64
    } else {
        0.0
    };
    (0..ramp)
        .map(|i| match i + 1 == ramp && ramp > 1 {
            true => 1.0,
            false => start + step * i as f64,
        })
        .chain(std::iter::repeat_n(1.0, 25))
        .collect()
}

/// One dimension's kernels, one per component.
#[derive(Debug, Clone)]
enum Kernels {
    Numeric {
        dim: Dim,
        /// The kernels' domain: the range, widened for integers, in log
        /// space for a log scale.
        low: f64,
        high: f64,
        mus: Vec<f64>,
        sigmas: Vec<f64>,
        /// ln of each kernel's untruncated mass on `[low, high]`.
        log_mass: Vec<f64>,
    },
    Categorical {
        probs: Vec<Vec<f64>>,
    },
}

/// A Parzen estimator over some dimensions.
#[derive(Debug, Clone)]
pub struct Estimator {
    weights: Vec<f64>,
    kernels: Vec<Kernels>,
}

impl Estimator {
    /// The estimator of `rows` (each a value per dimension of `dims`, in
    /// trial order; values within their dimension).
    pub fn new(dims: &[Dim], rows: &[Vec<f64>], params: &Params) -> Self {
        let mut weights = default_weights(rows.len());
        if rows.is_empty() {
            weights.push(1.0);
        } else {
            weights.push(params.prior_weight);
        }
        let total: f64 = weights.iter().sum();
        weights.iter_mut().for_each(|w| *w /= total);
        let kernels = dims
            .iter()
            .enumerate()
            .map(|(d, dim)| {
                let column: Vec<f64> = rows.iter().map(|row| row[d]).collect();
                kernels(*dim, &column, params)
            })
            .collect();
        Estimator { weights, kernels }
    }

    /// `n` draws (each a value per dimension): a component by weight,
    /// then each dimension from that component's kernel.
    pub fn sample(&self, rng: &mut Rng, n: usize) -> Vec<Vec<f64>> {
        let components: Vec<usize> = (0..n).map(|_| pick(&self.weights, rng)).collect();
        let mut rows = vec![Vec::with_capacity(self.kernels.len()); n];
        for kernels in &self.kernels {
            for (row, &k) in rows.iter_mut().zip(&components) {
                row.push(sample_kernel(kernels, k, rng));
            }
        }
        rows
    }

    /// ln of the mixture's density (mass, for integers and choices) at `x`.
    pub fn log_pdf(&self, x: &[f64]) -> f64 {
        let terms: Vec<f64> = (0..self.weights.len())
            .map(|k| {
                let dims: f64 = self
                    .kernels
                    .iter()
                    .zip(x)
                    .map(|(kernels, &v)| kernel_log_pdf(kernels, k, v))
                    .sum();
                self.weights[k].ln() + dims
            })
            .collect();
        log_sum_exp(&terms)
    }
}

/// ln Σ e^t, `-∞` for no finite term.
fn log_sum_exp(terms: &[f64]) -> f64 {
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
}

/// An index drawn with probability proportional to `weights` (numpy's
/// `choice`: the first whose cumulative weight exceeds a uniform draw).
fn pick(weights: &[f64], rng: &mut Rng) -> usize {
    let total: f64 = weights.iter().sum();
    let u = rng.next_f64() * total;
    let mut cumulative = 0.0;
    for (i, w) in weights.iter().enumerate() {
        cumulative += w;
        if cumulative > u {
            return i;
        }
    }
    weights.len().saturating_sub(1)
}

/// The kernels of one dimension for the observed `column`.
fn kernels(dim: Dim, column: &[f64], params: &Params) -> Kernels {
    match dim {
        Dim::Categorical { n } => Kernels::Categorical {
            probs: categorical(n, column, params.prior_weight),
        },
        Dim::Numeric {
            low,
            high,
            log,
            int,
        } => {
            let widen = if int { 0.5 } else { 0.0 };
            let scale = |v: f64| if log { v.ln() } else { v };
            let (low, high) = (scale(low - widen), scale(high + widen));
            let mut mus: Vec<f64> = column.iter().map(|&v| scale(v)).collect();
            let mut sigmas = bandwidths(&mus, low, high, params);
            mus.push(0.5 * (low + high));
            sigmas.push(high - low);
            let log_mass = mus
                .iter()
                .zip(&sigmas)
                .map(|(mu, s)| truncnorm::log_gauss_mass((low - mu) / s, (high - mu) / s))
                .collect();
            Kernels::Numeric {
                dim,
                low,
                high,
                mus,
                sigmas,
                log_mass,
            }
        }
    }
}

/// Each observation's σ (Optuna's rule, see the module doc).
fn bandwidths(mus: &[f64], low: f64, high: f64, params: &Params) -> Vec<f64> {
    let n = mus.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| mus[i].total_cmp(&mus[j]));
    let sorted: Vec<f64> = std::iter::once(low)
        .chain(order.iter().map(|&i| mus[i]))
        .chain(std::iter::once(high))
        .collect();
    let mut gaps: Vec<f64> = (1..=n)
        .map(|i| (sorted[i] - sorted[i - 1]).max(sorted[i + 1] - sorted[i]))
        .collect();
    if !params.endpoints && n >= 2 {
        gaps[0] = sorted[2] - sorted[1];
        gaps[n - 1] = sorted[n] - sorted[n - 1];
    }
    let max_sigma = high - low;
    let min_sigma = if params.magic_clip {
        max_sigma / (1.0 + (n + 1) as f64).min(100.0)
    } else {
        EPS
    };
    let mut sigmas = vec![0.0; n];
    for (rank, &i) in order.iter().enumerate() {
        sigmas[i] = gaps[rank].max(min_sigma).min(max_sigma);
    }
    sigmas
}

/// The categorical kernels' probabilities, one row per component.
fn categorical(n: usize, column: &[f64], prior_weight: f64) -> Vec<Vec<f64>> {
    if column.is_empty() {
        return vec![vec![1.0 / n as f64; n]];
    }
    let base = prior_weight / (column.len() + 1) as f64;
    let mut probs = vec![vec![base; n]; column.len() + 1];
    for (row, &v) in probs.iter_mut().zip(column) {
        if let Some(p) = row.get_mut(v as usize) {
            *p += 1.0;
        }
    }
    for row in &mut probs {
        let sum: f64 = row.iter().sum();
        if sum > 0.0 {
            row.iter_mut().for_each(|p| *p /= sum);
        }
    }
    probs
}

/// One draw from component `k`'s kernel.
fn sample_kernel(kernels: &Kernels, k: usize, rng: &mut Rng) -> f64 {
    let u = rng.next_f64();
    match kernels {
        Kernels::Categorical { probs } => {
            let row = &probs[k];
            let mut cumulative = 0.0;
            let below = row
                .iter()
                .take(row.len().saturating_sub(1))
                .take_while(|&&p| {
                    cumulative += p;
                    cumulative < u
                });
            below.count() as f64
        }
        Kernels::Numeric {
            dim,
            low,
            high,
            mus,
            sigmas,
            ..
        } => {
            let (mu, s) = (mus[k], sigmas[k]);
            let x = truncnorm::ppf(u, (low - mu) / s, (high - mu) / s) * s + mu;
            let Dim::Numeric {
                low: lo,
                high: hi,
                log,
                int,
            } = *dim
            else {
                return x;
            };
            let x = if log { x.exp() } else { x };
            let x = if int {
                lo + (x - lo).round_ties_even()
            } else {
                x
            };
            x.max(lo).min(hi)
        }
    }
}

/// ln of component `k`'s density (or mass) at `v`.
fn kernel_log_pdf(kernels: &Kernels, k: usize, v: f64) -> f64 {
    match kernels {
        Kernels::Categorical { probs } => probs[k]
            .get(v as usize)
            .map_or(f64::NEG_INFINITY, |p| p.ln()),
        Kernels::Numeric {
            dim,
            low,
            high,
            mus,
            sigmas,
            log_mass,
        } => {
            let (mu, s) = (mus[k], sigmas[k]);
            let (log, int) = match *dim {
                Dim::Numeric { log, int, .. } => (log, int),
                Dim::Categorical { .. } => (false, false),
            };
            let scale = |v: f64| if log { v.ln() } else { v };
            if int {
                let (a, b) = (scale(v - 0.5), scale(v + 0.5));
                truncnorm::log_gauss_mass((a - mu) / s, (b - mu) / s) - log_mass[k]
            } else {
                truncnorm::log_pdf(scale(v), mu, s, *low, *high, log_mass[k])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTUNA: Params = Params {
        prior_weight: 1.0,
        magic_clip: true,
        endpoints: false,
    };

    #[test]
    fn weights_ramp_up_for_old_observations() {
        assert_eq!(default_weights(3), vec![1.0; 3]);
        assert_eq!(default_weights(25), vec![1.0; 25]);
        let w = default_weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-15 && w[4] == 1.0);
        assert!(w.windows(2).all(|p| p[0] <= p[1]));
        assert_eq!(default_weights(26)[0], 1.0 / 26.0);
    }

    #[test]
    fn bandwidths_follow_optunas_rule() {
        // Optuna 5.1, `_calculate_numerical_distributions` on [0, 10]
        // with mus [1, 2, 6]: σ [1, 4, 4] (endpoints ignored), clip ≥ 2.
        let s = bandwidths(&[6.0, 1.0, 2.0], 0.0, 10.0, &OPTUNA);
        assert_eq!(s, vec![4.0, 2.0, 4.0]);
        let p = Params {
            magic_clip: false,
            endpoints: true,
            ..OPTUNA
        };
        assert_eq!(
            bandwidths(&[6.0, 1.0, 2.0], 0.0, 10.0, &p),
            vec![4.0, 1.0, 4.0]
        );
        assert_eq!(bandwidths(&[3.0], 0.0, 10.0, &OPTUNA), vec![7.0]);
    }

    #[test]
    fn categorical_kernels_mix_in_the_prior() {
        let probs = categorical(3, &[0.0, 2.0], 1.0);
        let third = 1.0 / 3.0;
        let expect = [
            [(1.0 + third) / 2.0, third / 2.0, third / 2.0],
            [third / 2.0, third / 2.0, (1.0 + third) / 2.0],
            [third; 3],
        ];
        for (row, want) in probs.iter().zip(&expect) {
            for (p, w) in row.iter().zip(want) {
                assert!((p - w).abs() < 1e-15, "{probs:?}");
            }
        }
    }

    #[test]
    fn integer_masses_sum_to_one_and_draws_are_integers() {
        let dims = [Dim::Numeric {
            low: 1.0,
            high: 6.0,
            log: false,
            int: true,
        }];
        let e = Estimator::new(&dims, &[vec![2.0], vec![5.0]], &OPTUNA);
        let total: f64 = (1..=6).map(|v| e.log_pdf(&[f64::from(v)]).exp()).sum();
        assert!((total - 1.0).abs() < 1e-12, "{total}");
        let mut rng = Rng::new(9);
        for row in e.sample(&mut rng, 200) {
            assert!(row[0].fract() == 0.0 && (1.0..=6.0).contains(&row[0]));
        }
    }
}
