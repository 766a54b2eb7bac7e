//! Synchronous successive halving: which trials continue past a rung.
//!
//! Rule: every live trial runs to rung `r`; then the trials are ranked by
//! their metric at `r` and the best `⌈n/η⌉` continue (`n` live trials,
//! `η` the reduction factor); the rest stop at `r`. Ranking: better metric
//! first (larger for `mode: max`, smaller for `mode: min`); a trial without
//! a metric at the rung (none reported, or NaN) ranks after every trial
//! with one; equal metrics are ordered by trial id ascending. The decision
//! depends only on the metrics, never on the order trials finished in, so a
//! resumed or re-run sweep decides the same. Pure.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

use crate::manifest::sweep::Mode;

/// One trial's metric at a rung.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub trial_id: String,
    pub metric: Option<f64>,
}

/// The outcome of a rung: both lists in rank order.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub continued: Vec<Scored>,
    pub stopped: Vec<Scored>,
}

/// `entries` best first (see the module's ranking rule).
pub fn rank(entries: &[Scored], mode: Mode) -> Vec<Scored> {
    let mut out = entries.to_vec();
    out.sort_by(|a, b| compare(a, b, mode));
    out
}

fn compare(a: &Scored, b: &Scored, mode: Mode) -> Ordering {
    order((&a.trial_id, a.metric), (&b.trial_id, b.metric), mode)
}

/// The ranking rule on (trial id, metric) pairs: the better metric first
/// per `mode`, a missing or NaN metric last, equal metrics by trial id.
pub fn order(a: (&str, Option<f64>), b: (&str, Option<f64>), mode: Mode) -> Ordering {
    let valid = |m: Option<f64>| m.filter(|v| !v.is_nan());
    let by_metric = match (valid(a.1), valid(b.1)) {
        (Some(x), Some(y)) => match mode {
            Mode::Max => y.total_cmp(&x),
            Mode::Min => x.total_cmp(&y),
        },
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_metric.then_with(|| a.0.cmp(b.0))
}

/// How many of `n` trials continue: `⌈n/η⌉` (none of none).
pub fn keep_count(n: usize, reduction_factor: u32) -> usize {
    let eta = usize::try_from(reduction_factor.max(2)).unwrap_or(2);
    n.div_ceil(eta)
}

/// Split the trials that reached a rung into those that continue and
/// those that stop there.
pub fn decide(entries: &[Scored], mode: Mode, reduction_factor: u32) -> Split {
    let mut ranked = rank(entries, mode);
    let stopped = ranked.split_off(keep_count(entries.len(), reduction_factor));
    Split {
        continued: ranked,
        stopped,
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

    fn ids(v: &[Scored]) -> Vec<&str> {
        v.iter().map(|s| s.trial_id.as_str()).collect()
    }

    #[test]
    fn keeps_the_ceiling_of_n_over_eta() {
        assert_eq!(keep_count(4, 2), 2);
        assert_eq!(keep_count(5, 2), 3);
        assert_eq!(keep_count(12, 3), 4);
        assert_eq!(keep_count(1, 3), 1);
        assert_eq!(keep_count(0, 3), 0);
    }

    #[test]
    fn min_mode_keeps_the_smallest() {
        let e = [
            s("t000", Some(2.0)),
            s("t001", Some(1.0)),
            s("t002", Some(3.0)),
            s("t003", Some(1.5)),
        ];
        let split = decide(&e, Mode::Min, 2);
        assert_eq!(ids(&split.continued), ["t001", "t003"]);
        assert_eq!(ids(&split.stopped), ["t000", "t002"]);
    }

    #[test]
    fn max_mode_keeps_the_largest() {
        let e = [
            s("t000", Some(0.2)),
            s("t001", Some(0.9)),
            s("t002", Some(0.5)),
        ];
        let split = decide(&e, Mode::Max, 3);
        assert_eq!(ids(&split.continued), ["t001"]);
        assert_eq!(ids(&split.stopped), ["t002", "t000"]);
    }

    #[test]
    fn ties_go_to_the_smaller_trial_id_whatever_the_input_order() {
        let e = [
            s("t003", Some(1.0)),
            s("t001", Some(1.0)),
            s("t002", Some(1.0)),
        ];
        let split = decide(&e, Mode::Min, 2);
        assert_eq!(ids(&split.continued), ["t001", "t002"]);
        assert_eq!(ids(&split.stopped), ["t003"]);
        let mut reversed = e.to_vec();
        reversed.reverse();
        assert_eq!(decide(&reversed, Mode::Min, 2), split);
    }

    #[test]
    fn missing_and_nan_metrics_rank_last() {
        let e = [
            s("t000", None),
            s("t001", Some(f64::NAN)),
            s("t002", Some(5.0)),
            s("t003", Some(9.0)),
        ];
        assert_eq!(ids(&rank(&e, Mode::Min)), ["t002", "t003", "t000", "t001"]);
        assert_eq!(ids(&rank(&e, Mode::Max)), ["t003", "t002", "t000", "t001"]);
    }
}
