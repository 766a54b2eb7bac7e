//! Rungs decided by the tie rule alone: when every trial at a rung has the
//! same metric, or none has one (not reported, or NaN), the ranking says
//! nothing and the halving rule's tie-break (the smaller trial id) decides
//! who continues. Such a rung usually means the metric is broken (a
//! constant, a typo in its name, evaluated too rarely); the ledger, the
//! CLI summary and the sweep report flag it. Pure.

use serde::{Deserialize, Serialize};

use super::halving::Scored;

/// Why the ranking at a rung could not tell the trials apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieRule {
    /// No trial had the metric at the rung.
    NoMetric,
    /// Every trial had the same value.
    AllEqual,
}

/// Whether ranking `entries` (two or more) falls to the tie rule alone.
pub fn tie_rule(entries: &[Scored]) -> Option<TieRule> {
    if entries.len() < 2 {
        return None;
    }
    let valid: Vec<Option<f64>> = entries
        .iter()
        .map(|s| s.metric.filter(|m| !m.is_nan()))
        .collect();
    if valid.iter().all(Option::is_none) {
        return Some(TieRule::NoMetric);
    }
    let first = valid[0]?;
    valid
        .iter()
        .all(|v| *v == Some(first))
        .then_some(TieRule::AllEqual)
}

/// One sentence on a rung (`step`) of `n` trials decided by `rule` on
/// `metric`; `value` is the metric they all had (`AllEqual`).
pub fn describe(rule: TieRule, metric: &str, step: u32, n: usize, value: Option<f64>) -> String {
    match rule {
        TieRule::NoMetric => format!(
            "decided by the tie rule (smaller trial id first): none of the {n} trials had {metric} at step {step}"
        ),
        TieRule::AllEqual => format!(
            "decided by the tie rule (smaller trial id first): all {n} trials had {metric} = {} at step {step}",
            value.map_or_else(|| "the same value".to_string(), |v| format!("{v}"))
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(id: &str, metric: Option<f64>) -> Scored {
        Scored {
            trial_id: id.into(),
            metric,
        }
    }

    #[test]
    fn all_equal_or_all_missing_is_a_tie_and_anything_else_is_not() {
        let same = [s("t0", Some(1.5)), s("t1", Some(1.5)), s("t2", Some(1.5))];
        assert_eq!(tie_rule(&same), Some(TieRule::AllEqual));
        let none = [s("t0", None), s("t1", Some(f64::NAN))];
        assert_eq!(tie_rule(&none), Some(TieRule::NoMetric));
        for entries in [
            vec![s("t0", Some(1.5)), s("t1", Some(1.25))],
            vec![s("t0", Some(1.5)), s("t1", None)],
            vec![s("t0", None), s("t1", Some(1.5))],
            vec![s("t0", Some(1.5))],
            vec![s("t0", None)],
            vec![],
        ] {
            assert_eq!(tie_rule(&entries), None, "{entries:?}");
        }
    }

    #[test]
    fn the_sentence_names_the_metric_the_step_and_the_value() {
        assert_eq!(
            describe(TieRule::AllEqual, "val/f1", 4, 3, Some(0.5)),
            "decided by the tie rule (smaller trial id first): all 3 trials had val/f1 = 0.5 at step 4"
        );
        assert_eq!(
            describe(TieRule::NoMetric, "val_loss", 2, 2, None),
            "decided by the tie rule (smaller trial id first): none of the 2 trials had val_loss at step 2"
        );
    }
}
