//! The learning-rate schedule: linear warmup to the peak, then cosine decay
//! to a tenth of it at `max_steps`.

use std::f64::consts::PI;

/// The floor of the cosine decay, as a fraction of the peak.
pub const MIN_LR_FRACTION: f64 = 0.1;

/// Learning rate for the optimizer step with 0-based index `step`.
pub fn learning_rate(step: u32, peak: f64, warmup_steps: u32, max_steps: u32) -> f64 {
    if step < warmup_steps {
        return peak * f64::from(step + 1) / f64::from(warmup_steps);
    }
    let decay_steps = max_steps.saturating_sub(warmup_steps).max(1);
    let progress = (f64::from(step - warmup_steps) / f64::from(decay_steps)).min(1.0);
    let floor = peak * MIN_LR_FRACTION;
    floor + 0.5 * (1.0 + (PI * progress).cos()) * (peak - floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn warmup_is_linear_and_reaches_the_peak() {
        assert!((learning_rate(0, 1.0, 10, 100) - 0.1).abs() < 1e-12);
        assert!((learning_rate(4, 1.0, 10, 100) - 0.5).abs() < 1e-12);
        assert!((learning_rate(9, 1.0, 10, 100) - 1.0).abs() < 1e-12);
        assert!((learning_rate(10, 1.0, 10, 100) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn cosine_decay_ends_at_the_floor() {
        assert!((learning_rate(55, 2.0, 10, 100) - (0.2 + 0.5 * 1.8)).abs() < 1e-12);
        assert!((learning_rate(100, 2.0, 10, 100) - 0.2).abs() < 1e-12);
        assert!((learning_rate(0, 2.0, 0, 1) - 2.0).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn the_rate_stays_between_floor_and_peak_and_never_rises_after_warmup(
            peak in 1e-6f64..10.0, warmup in 0u32..50, extra in 1u32..500, a in 0u32..600, b in 0u32..600,
        ) {
            let max = warmup + extra;
            let (lo, hi) = (a.min(b).min(max), a.max(b).min(max));
            let r = learning_rate(hi, peak, warmup, max);
            prop_assert!(r > 0.0 && r <= peak * (1.0 + 1e-12));
            if lo >= warmup {
                prop_assert!(learning_rate(lo, peak, warmup, max) >= r - 1e-15);
                prop_assert!(r >= peak * MIN_LR_FRACTION * (1.0 - 1e-12));
            }
        }
    }
}
