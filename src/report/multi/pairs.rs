//! Holm's correction across the paired tests of a comparison of runs:
//! each pair's p-value adjusted over the family of pairs that were tested
//! ([`holm_adjust`]), and the verdict decided on the adjusted p-value with
//! the same rule as a single comparison ([`verdict`]: the difference and
//! the minimum effect, both in percentage points). A pair without a
//! p-value (nothing to pair) is no part of the family and has no evidence.
//! Pure.

use serde::Serialize;

use super::super::ComparisonFigures;
use crate::scoring::compare::verdict;
use crate::scoring::{holm_adjust, Verdict};

/// A pair's result after Holm's correction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HolmResult {
    /// The Holm-adjusted p-value; null when the pair was not tested.
    pub p_holm: Option<f64>,
    /// The verdict on the adjusted p-value.
    pub verdict: Verdict,
}

/// The Holm-corrected result of each of `pairs`, in their order.
pub fn holm_results(pairs: &[&ComparisonFigures]) -> Vec<HolmResult> {
    let tested: Vec<f64> = pairs
        .iter()
        .filter_map(|f| f.p_value.filter(|p| p.is_finite()))
        .collect();
    let mut adjusted = holm_adjust(&tested).into_iter();
    pairs
        .iter()
        .map(|f| {
            let p_holm = f
                .p_value
                .filter(|p| p.is_finite())
                .and_then(|_| adjusted.next());
            HolmResult {
                p_holm,
                verdict: verdict(p_holm, f.diff_pp, f.alpha, f.min_effect_pp),
            }
        })
        .collect()
}

/// How many of `pairs` were tested (have a p-value): the size of the
/// family Holm's correction is over.
pub fn n_tested(pairs: &[&ComparisonFigures]) -> usize {
    pairs
        .iter()
        .filter(|f| f.p_value.is_some_and(f64::is_finite))
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::Pairing;

    fn figures(p: Option<f64>, diff_pp: f64) -> ComparisonFigures {
        ComparisonFigures {
            n_pairs: 100,
            pairing: Pairing::Union,
            n_only_in_a: 0,
            only_in_a: vec![],
            n_only_in_b: 0,
            only_in_b: vec![],
            n_skipped: 0,
            n_unscored_a: 0,
            n_unscored_b: 0,
            mean_a: Some(0.5),
            mean_b: Some(0.5 + diff_pp / 100.0),
            diff_pp: Some(diff_pp),
            diff_ci_low_pp: None,
            diff_ci_high_pp: None,
            diff_ci_method: None,
            test: None,
            p_value: p,
            verdict: Verdict::NoEvidence,
            min_detectable_difference_pp: None,
            alpha: 0.05,
            min_effect_pp: 0.0,
            warnings: vec![],
        }
    }

    #[test]
    fn holm_adjusts_over_the_tested_pairs_and_decides_on_the_adjusted_p() {
        // Sorted 0.01, 0.02, 0.04 over m = 3: 0.03, 0.04, 0.04.
        let pairs = [
            figures(Some(0.04), 5.0),
            figures(Some(0.01), 10.0),
            figures(None, 0.0),
            figures(Some(0.02), -8.0),
        ];
        let refs: Vec<&ComparisonFigures> = pairs.iter().collect();
        let results = holm_results(&refs);
        let p: Vec<Option<f64>> = results.iter().map(|r| r.p_holm).collect();
        let close = |x: Option<f64>, y: f64| (x.expect("tested") - y).abs() < 1e-12;
        assert!(
            close(p[0], 0.04) && close(p[1], 0.03) && close(p[3], 0.04),
            "{p:?}"
        );
        assert_eq!(p[2], None);
        let verdicts: Vec<Verdict> = results.iter().map(|r| r.verdict).collect();
        assert_eq!(
            verdicts,
            [
                Verdict::Improved,
                Verdict::Improved,
                Verdict::NoEvidence,
                Verdict::Regressed
            ]
        );
        assert_eq!(n_tested(&refs), 3);
    }

    #[test]
    fn a_pair_significant_alone_can_lose_its_verdict_under_the_correction() {
        let pairs = [
            figures(Some(0.03), 4.0),
            figures(Some(0.5), 1.0),
            figures(Some(0.9), 0.5),
        ];
        let refs: Vec<&ComparisonFigures> = pairs.iter().collect();
        let results = holm_results(&refs);
        assert!((results[0].p_holm.expect("tested") - 0.09).abs() < 1e-12);
        assert_eq!(results[0].verdict, Verdict::NoEvidence);
        let mut small = figures(Some(0.001), 4.0);
        small.min_effect_pp = 5.0;
        let results = holm_results(&[&small]);
        assert_eq!(results[0].p_holm, Some(0.001));
        assert_eq!(
            results[0].verdict,
            Verdict::NoEvidence,
            "below the minimum effect"
        );
        assert!(holm_results(&[]).is_empty());
    }
}
