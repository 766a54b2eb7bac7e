//! Holm's step-down correction for multiple comparisons (Holm 1979).
//!
//! With `m` p-values sorted ascending, `p₍₁₎ ≤ … ≤ p₍ₘ₎`, the adjusted value
//! of the `i`-th is `max over j ≤ i of min(1, (m − j + 1) · p₍ⱼ₎)`: the
//! running maximum keeps the adjusted values in the order of the raw ones.
//! Rejecting every hypothesis whose adjusted p-value is below `alpha`
//! controls the family-wise error rate at `alpha` under any dependence
//! between the tests. Pure.

/// Holm-adjusted p-values, in the order of `p_values`. A p-value that is
/// NaN is treated as 1 (never rejected); values are clamped to `[0, 1]`.
pub fn holm_adjust(p_values: &[f64]) -> Vec<f64> {
    let m = p_values.len();
    let clean = |p: f64| if p.is_nan() { 1.0 } else { p.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&x, &y| {
        clean(p_values[x])
            .total_cmp(&clean(p_values[y]))
            .then(x.cmp(&y))
    });
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        let scaled = ((m - rank) as f64 * clean(p_values[i])).min(1.0);
        running = running.max(scaled);
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_example() {
        // statsmodels.stats.multitest.multipletests(
        //     [0.01, 0.04, 0.03, 0.005], method="holm")[1]
        // → [0.03, 0.06, 0.06, 0.02]
        let adjusted = holm_adjust(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (got, want) in adjusted.iter().zip(want) {
            assert!((got - want).abs() < 1e-15, "{adjusted:?}");
        }
    }

    #[test]
    fn edge_cases() {
        assert!(holm_adjust(&[]).is_empty());
        assert_eq!(holm_adjust(&[0.02]), vec![0.02]);
        assert_eq!(holm_adjust(&[0.6, 0.6]), vec![1.0, 1.0]);
        assert_eq!(holm_adjust(&[f64::NAN, 0.01]), vec![1.0, 0.02]);
        assert_eq!(holm_adjust(&[-0.5, 2.0]), vec![0.0, 1.0]);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn adjusted_p_values_are_bounded_and_monotone(
            p in prop::collection::vec(0.0_f64..=1.0, 0..30),
        ) {
            let adjusted = holm_adjust(&p);
            prop_assert_eq!(adjusted.len(), p.len());
            for (raw, adj) in p.iter().zip(&adjusted) {
                prop_assert!(*adj >= *raw, "{} < {}", adj, raw);
                prop_assert!(*adj <= 1.0);
            }
            for i in 0..p.len() {
                for j in 0..p.len() {
                    if p[i] <= p[j] {
                        prop_assert!(adjusted[i] <= adjusted[j], "{:?} -> {:?}", p, adjusted);
                    }
                }
            }
            // Holm never rejects less than Bonferroni.
            let m = p.len() as f64;
            for (raw, adj) in p.iter().zip(&adjusted) {
                prop_assert!(*adj <= (raw * m).min(1.0) + 1e-15);
            }
        }
    }
}
