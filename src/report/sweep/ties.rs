//! How many trials are statistically tied with the best: the best trial's
//! eval items paired with each other completed trial's (by item id, on
//! `answer_correctness`) through the same paired comparison as `compare`
//! and `regress` ([`crate::scoring::compare`]: exact McNemar with
//! Newcombe's interval for 0/1 items, the seeded paired bootstrap
//! otherwise). A trial is tied with the best when the `1 − alpha` CI of
//! its difference from the best includes 0. Pure.

use serde::Serialize;

use super::input::SweepInput;
use crate::manifest::sweep::SweepMetric;
use crate::scoring::{compare, CompareConfig, ItemRow, PairedTest};
use tunix_core::sweep::ledger::TrialState;

/// The tie count and the comparisons behind it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TiesDoc<'a> {
    /// Whether the comparison could be made (a best trial with eval items).
    pub available: bool,
    /// Why not, when it could not.
    pub reason: Option<String>,
    /// Significance level: the difference's CI is at level `1 − alpha`.
    pub alpha: f64,
    /// Completed trials other than the best that were compared.
    pub n_compared: usize,
    /// How many of them are tied with the best; null when not available.
    pub n_tied: Option<usize>,
    /// One entry per completed trial other than the best, by trial id.
    pub comparisons: Vec<TieDoc<'a>>,
}

/// One trial compared with the best.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TieDoc<'a> {
    pub trial_id: &'a str,
    /// Whether the CI of the difference includes 0; null when the trial
    /// could not be compared (see `note`).
    pub tied: Option<bool>,
    /// Items scored in both trials.
    pub n_pairs: usize,
    /// The best trial's mean over the pairs.
    pub mean_best: Option<f64>,
    /// This trial's mean over the pairs.
    pub mean_trial: Option<f64>,
    /// Mean of this trial − the best over the pairs.
    pub diff: Option<f64>,
    /// Lower bound of the difference's CI.
    pub diff_ci_low: Option<f64>,
    /// Upper bound of the difference's CI.
    pub diff_ci_high: Option<f64>,
    /// The paired test (`mcnemar_exact`, `paired_bootstrap`).
    pub test: Option<PairedTest>,
    /// Its two-sided p-value.
    pub p_value: Option<f64>,
    /// Why the trial was not compared, or the comparison's caveats.
    pub notes: Vec<String>,
}

/// The ties of `input`'s completed trials with its best trial.
pub fn ties(input: &SweepInput) -> TiesDoc<'_> {
    let ledger = &input.ledger;
    let unavailable = |reason: String| TiesDoc {
        available: false,
        reason: Some(reason),
        alpha: input.alpha,
        n_compared: 0,
        n_tied: None,
        comparisons: Vec::new(),
    };
    let Some(best) = &ledger.best else {
        return unavailable(
            "the sweep has no best trial (it has not finished, or no trial completed with a metric)"
                .to_string(),
        );
    };
    let best_items = input
        .runs
        .get(&best.trial_id)
        .and_then(|r| r.items.as_ref());
    let Some(best_items) = best_items else {
        let why = if ledger.metric.as_str() == SweepMetric::PRIMARY_SCORE {
            "its run folder has no eval_items.jsonl".to_string()
        } else {
            format!(
                "the sweep optimizes {} and its trials were not evaluated on an eval set (no `eval` section in the base Train spec)",
                ledger.metric
            )
        };
        return unavailable(format!(
            "the best trial {} has no eval items to pair: {why}",
            best.trial_id
        ));
    };
    let config = CompareConfig {
        alpha: input.alpha,
        ..CompareConfig::default()
    };
    let mut comparisons: Vec<TieDoc> = ledger
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Completed && t.trial_id != best.trial_id)
        .map(|t| {
            let items = input.runs.get(&t.trial_id).and_then(|r| r.items.as_ref());
            tie(&t.trial_id, best_items, items, &config)
        })
        .collect();
    comparisons.sort_by(|a, b| a.trial_id.cmp(b.trial_id));
    let compared = comparisons.iter().filter(|c| c.tied.is_some()).count();
    TiesDoc {
        available: true,
        reason: None,
        alpha: input.alpha,
        n_compared: compared,
        n_tied: Some(comparisons.iter().filter(|c| c.tied == Some(true)).count()),
        comparisons,
    }
}

/// Trial `trial_id` (with `items`, if it has any) compared with the best.
fn tie<'a>(
    trial_id: &'a str,
    best: &[ItemRow],
    items: Option<&Vec<ItemRow>>,
    config: &CompareConfig,
) -> TieDoc<'a> {
    let Some(items) = items else {
        return TieDoc {
            trial_id,
            tied: None,
            n_pairs: 0,
            mean_best: None,
            mean_trial: None,
            diff: None,
            diff_ci_low: None,
            diff_ci_high: None,
            test: None,
            p_value: None,
            notes: vec!["no eval items (eval_items.jsonl) to pair".to_string()],
        };
    };
    let c = compare(best, items, config);
    let ci = c
        .diff_ci
        .filter(|ci| ci.low.is_finite() && ci.high.is_finite());
    let mut notes = c.warnings;
    if ci.is_none() {
        notes.insert(0, "no interval: nothing to pair".to_string());
    }
    TieDoc {
        trial_id,
        tied: ci.map(|ci| ci.low <= 0.0 && 0.0 <= ci.high),
        n_pairs: c.n_pairs,
        mean_best: c.mean_a,
        mean_trial: c.mean_b,
        diff: c.diff,
        diff_ci_low: ci.map(|ci| ci.low),
        diff_ci_high: ci.map(|ci| ci.high),
        test: c.test,
        p_value: c.p_value,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{input, items};
    use super::*;

    #[test]
    fn ties_are_trials_whose_difference_ci_includes_zero() {
        let input = input();
        let t = ties(&input);
        assert!(t.available, "{t:?}");
        let verdicts: Vec<(&str, Option<bool>)> =
            t.comparisons.iter().map(|c| (c.trial_id, c.tied)).collect();
        // t000 is the best; t003 answers as well, t005 much worse, t006
        // has no eval items; stopped, failed and pending trials are not
        // compared.
        assert_eq!(
            verdicts,
            vec![("t003", Some(true)), ("t005", Some(false)), ("t006", None)]
        );
        assert_eq!((t.n_compared, t.n_tied), (2, Some(1)));
        let worse = &t.comparisons[1];
        assert!(worse.diff_ci_high.expect("ci") < 0.0, "{worse:?}");
        assert_eq!(worse.test, Some(PairedTest::McnemarExact));
        assert!(t.comparisons[2].notes[0].contains("no eval items"));
    }

    #[test]
    fn a_difference_ci_touching_zero_is_a_tie() {
        let best = items(40, |_| 1.0);
        let config = CompareConfig::default();
        let same = tie("x", &best, Some(&best), &config);
        assert_eq!(same.tied, Some(true));
        assert_eq!(same.diff, Some(0.0));
        // A trial without items counts each of the best's items as wrong
        // (pairing is over the union of both runs' items): not tied.
        let nothing = tie("y", &best, Some(&Vec::new()), &config);
        assert_eq!((nothing.tied, nothing.n_pairs), (Some(false), 40));
        let empty = tie("z", &Vec::new(), Some(&Vec::new()), &config);
        assert_eq!(empty.tied, None);
        assert!(empty.notes[0].contains("nothing to pair"), "{empty:?}");
    }

    #[test]
    fn without_eval_items_or_a_best_trial_the_count_is_not_available_and_says_why() {
        let mut input = input();
        for run in input.runs.values_mut() {
            run.items = None;
        }
        input.ledger.metric = SweepMetric::val_loss();
        let t = ties(&input);
        assert!(!t.available);
        assert_eq!(t.n_tied, None);
        let reason = t.reason.expect("reason");
        assert!(
            reason.contains("the best trial t000 has no eval items"),
            "{reason}"
        );
        assert!(reason.contains("val_loss"), "{reason}");
        input.ledger.best = None;
        let reason = ties(&input).reason.expect("reason");
        assert!(reason.contains("no best trial"), "{reason}");
    }
}
