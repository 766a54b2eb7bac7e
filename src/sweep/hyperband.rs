//! Hyperband (Li et al., "Hyperband: A Novel Bandit-Based Approach to
//! Hyperparameter Optimization", JMLR 2018): several brackets of successive
//! halving, each starting its trials at a different budget — pure.
//!
//! Rules, with `max_t` the steps a trial trains at most, `η` the reduction
//! factor and `g` the grace period (the smallest budget):
//! - `s_max` is the largest `s` with `g·η^s ≤ max_t`; there are
//!   `s_max + 1` brackets, `s = s_max, …, 0`, the most exploratory first.
//! - Bracket `s` starts `n_s = ⌈(s_max + 1)/(s + 1) · η^s⌉` trials at
//!   `max_t / η^s` steps; its rungs are `max_t / η^j` for `j = s, …, 0`
//!   (integer division, repeats dropped), so the last rung of every bracket
//!   is `max_t`, and at each rung the best `⌈n/η⌉` continue
//!   ([`super::halving`]).
//! - Trials fill the brackets in trial order: the first `n_{s_max}` go to
//!   bracket `s_max`, the next `n_{s_max - 1}` to the next one, and so on;
//!   more trials than one round of brackets holds start another round (as
//!   Ray Tune's `HyperBandScheduler` fills its bands). A round's last
//!   brackets may hold fewer trials than `n_s`, or none.

use serde::{Deserialize, Serialize};

/// One bracket of a Hyperband schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bracket {
    /// Its number in the schedule: 0 is the first bracket run (the most
    /// exploratory of the first round).
    pub index: u32,
    /// Li et al.'s `s`: how many halvings it starts before `max_t`.
    pub s: u32,
    /// Trials it holds.
    pub trials: u64,
    /// The steps at which its trials are compared, ascending; the last is
    /// `max_t`.
    pub rungs: Vec<u32>,
}

/// The brackets for `count` trials (see the module's rules), in the order
/// they run, and the bracket of each trial (by trial index).
pub fn schedule(count: u64, max_t: u32, eta: u32, grace: u32) -> (Vec<Bracket>, Vec<u32>) {
    let eta = eta.max(2);
    let round = round(max_t, eta, grace.max(1));
    let mut brackets: Vec<Bracket> = Vec::new();
    let mut of_trial = Vec::new();
    let mut left = count;
    'rounds: while left > 0 {
        for (s, n, rungs) in &round {
            if left == 0 {
                break 'rounds;
            }
            let take = (*n).min(left);
            let index = u32::try_from(brackets.len()).unwrap_or(u32::MAX);
            of_trial.extend(std::iter::repeat_n(
                index,
                usize::try_from(take).unwrap_or(0),
            ));
            brackets.push(Bracket {
                index,
                s: *s,
                trials: take,
                rungs: rungs.clone(),
            });
            left -= take;
        }
    }
    (brackets, of_trial)
}

/// One round of brackets: `(s, n_s, rungs)` from `s_max` down to 0.
fn round(max_t: u32, eta: u32, grace: u32) -> Vec<(u32, u64, Vec<u32>)> {
    let mut s_max = 0u32;
    while grace
        .checked_mul(eta.checked_pow(s_max + 1).unwrap_or(u32::MAX))
        .is_some_and(|b| b <= max_t)
    {
        s_max += 1;
    }
    (0..=s_max)
        .rev()
        .map(|s| {
            let n =
                (f64::from(s_max + 1) / f64::from(s + 1) * f64::from(eta).powi(s as i32)).ceil();
            let mut rungs: Vec<u32> = (0..=s).rev().map(|j| (max_t / eta.pow(j)).max(1)).collect();
            rungs.dedup();
            (s, n as u64, rungs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn li_et_al_table_for_eta_3() {
        // R = 81 units, η = 3: n = 81, 34, 15, 8, 5 at r = 1, 3, 9, 27, 81.
        let (brackets, _) = schedule(143, 81, 3, 1);
        let shape: Vec<(u32, u64, u32)> = brackets
            .iter()
            .map(|b| (b.s, b.trials, b.rungs[0]))
            .collect();
        assert_eq!(
            shape,
            vec![(4, 81, 1), (3, 34, 3), (2, 15, 9), (1, 8, 27), (0, 5, 81)]
        );
        assert_eq!(brackets[0].rungs, vec![1, 3, 9, 27, 81]);
        assert_eq!(brackets[4].rungs, vec![81]);
    }

    #[test]
    fn trials_fill_brackets_in_order_and_start_new_rounds() {
        // max_t 90, η 3, grace 10: s_max 2; n = 9, 5, 3.
        let (brackets, of) = schedule(20, 90, 3, 10);
        let sizes: Vec<u64> = brackets.iter().map(|b| b.trials).collect();
        assert_eq!(sizes, vec![9, 5, 3, 3]);
        assert_eq!(brackets[0].rungs, vec![10, 30, 90]);
        assert_eq!(brackets[1].rungs, vec![30, 90]);
        assert_eq!(brackets[2].rungs, vec![90]);
        assert_eq!(brackets[3].s, 2, "a second round starts with s_max");
        assert_eq!(of.len(), 20);
        assert_eq!(&of[..10], &[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(of[19], 3);
    }

    #[test]
    fn a_grace_period_at_max_t_is_one_bracket_without_halving() {
        // s_max 0: a round is one bracket of one trial at max_t.
        let (brackets, of) = schedule(4, 50, 3, 50);
        assert_eq!(brackets.len(), 4);
        assert!(brackets
            .iter()
            .all(|b| b.rungs == vec![50] && b.trials == 1));
        assert_eq!(of, vec![0, 1, 2, 3]);
        assert_eq!(schedule(0, 50, 3, 5).0, Vec::new());
    }

    #[test]
    fn uneven_budgets_round_down_and_never_repeat() {
        let (brackets, _) = schedule(30, 100, 3, 11);
        assert_eq!(brackets[0].rungs, vec![11, 33, 100]);
        assert!(brackets.iter().all(|b| b.rungs.last() == Some(&100)));
    }
}
