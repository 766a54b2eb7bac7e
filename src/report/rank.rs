//! Statistical rank groups: runs the evidence cannot tell apart share a
//! rank.
//!
//! Given runs in leaderboard order (best full-eval-set score first), group
//! 1 is the leader plus every run not separated from it; then the first
//! run not yet grouped leads group 2, with every remaining run not
//! separated from it; and so on. Ties are not chained: a run joins a group
//! only by not being separated from that group's leader.
//!
//! Two rules tell a run apart from a group leader:
//! - **paired test** (runs on the leader's eval set, with per-item values):
//!   the test `compare` runs ([`paired_test`]: exact McNemar for 0/1 items,
//!   the seeded paired bootstrap otherwise) over the union of both runs'
//!   items, a missing item counted as wrong. The p-values of all runs
//!   compared with one leader are Holm-adjusted ([`holm_adjust`]); a run
//!   is separated when its adjusted p-value is below `alpha`.
//! - **interval overlap** (runs on another eval set, or without per-item
//!   values): separated when the 95% CIs of the two full-eval-set scores do
//!   not overlap. A run without a usable interval is separated from every
//!   other.
//!
//! A run without a score is not ranked.

use serde::Serialize;

use crate::scoring::{holm_adjust, paired_test, CompareConfig, PairedTest};
/// A closed confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// The interval `[low, high]` when both bounds are finite and ordered.
    pub fn new(low: Option<f64>, high: Option<f64>) -> Option<Interval> {
        match (low, high) {
            (Some(low), Some(high)) if low.is_finite() && high.is_finite() && low <= high => {
                Some(Interval { low, high })
            }
            _ => None,
        }
    }

    /// Whether the two closed intervals share at least one point.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

/// A run as the ranking sees it.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The full-eval-set score; `None`: the run is not ranked.
    pub score: Option<f64>,
    /// Its 95% CI.
    pub interval: Option<Interval>,
    /// Eval set blake3; empty when unknown (then never paired).
    pub evalset: &'a str,
    /// Per-item values `(item index, value)`, sorted by index (NaN: an
    /// ambiguous item, never paired); `None` when not known.
    pub items: Option<&'a [(u32, f64)]>,
}

/// The rule that decided a run's rank against a group leader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TieRule {
    /// The paired test on the full eval set, Holm-adjusted.
    PairedTest,
    /// Overlap of the 95% CIs of the full-eval-set scores.
    CiOverlap,
}

/// Where a run was placed, and the comparison that placed it: with its
/// group's leader when it shares that leader's rank, else with the leader
/// of the rank just above (the overall leader has none).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Placement {
    /// 1-based rank; `None` for a run without a score.
    pub rank: Option<usize>,
    /// Index (in the given order) of the run compared with.
    pub against: Option<usize>,
    /// The rule of that comparison.
    pub rule: Option<TieRule>,
    /// Whether that comparison found the two runs tied (not separated).
    pub tied: bool,
    /// The paired test and its raw and Holm-adjusted p-values.
    pub test: Option<PairedTest>,
    pub p_value: Option<f64>,
    pub p_holm: Option<f64>,
}

/// The placement of each run, for runs given in leaderboard order; paired
/// tests use `config` (its `alpha` separates).
pub fn rank(runs: &[Candidate<'_>], config: &CompareConfig) -> Vec<Placement> {
    let mut out = vec![Placement::default(); runs.len()];
    let mut next = 1;
    for leader in 0..runs.len() {
        if runs[leader].score.is_none() || out[leader].rank.is_some() {
            continue;
        }
        out[leader].rank = Some(next);
        let rest: Vec<usize> = (leader + 1..runs.len())
            .filter(|&i| runs[i].score.is_some() && out[i].rank.is_none())
            .collect();
        let mut paired: Vec<(usize, PairedTest, f64)> = Vec::new();
        for &i in &rest {
            match pair_test(&runs[leader], &runs[i], config) {
                Some((test, p)) => paired.push((i, test, p)),
                None => by_interval(&runs[leader], &runs[i], leader, &mut out[i], next),
            }
        }
        let raw: Vec<f64> = paired.iter().map(|p| p.2).collect();
        for ((i, test, p), adjusted) in paired.into_iter().zip(holm_adjust(&raw)) {
            let tied = adjusted >= config.alpha;
            out[i] = Placement {
                rank: tied.then_some(next),
                tied,
                against: Some(leader),
                rule: Some(TieRule::PairedTest),
                test: Some(test),
                p_value: Some(p),
                p_holm: Some(adjusted),
            };
        }
        next += 1;
    }
    out
}

/// Place `run` by interval overlap with `leader` (index `at`).
fn by_interval(
    leader: &Candidate<'_>,
    run: &Candidate<'_>,
    at: usize,
    slot: &mut Placement,
    group: usize,
) {
    let tied = matches!((leader.interval, run.interval), (Some(l), Some(r)) if l.overlaps(&r));
    *slot = Placement {
        rank: tied.then_some(group),
        tied,
        against: Some(at),
        rule: Some(TieRule::CiOverlap),
        ..Placement::default()
    };
}

/// The paired test of `run` against `leader`, when both are on the same
/// known eval set and have per-item values.
fn pair_test(
    leader: &Candidate<'_>,
    run: &Candidate<'_>,
    config: &CompareConfig,
) -> Option<(PairedTest, f64)> {
    if leader.evalset.is_empty() || leader.evalset != run.evalset {
        return None;
    }
    let pairs = union_pairs(leader.items?, run.items?);
    paired_test(&pairs, config)
}

/// `(a, b)` per item of either list (both sorted by index), a missing item
/// as 0; items that are NaN in either are left out.
pub fn union_pairs(a: &[(u32, f64)], b: &[(u32, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let pair = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                i += 1;
                j += 1;
                (x.1, y.1)
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                i += 1;
                (x.1, 0.0)
            }
            (Some(x), None) => {
                i += 1;
                (x.1, 0.0)
            }
            (_, Some(y)) => {
                j += 1;
                (0.0, y.1)
            }
            (None, None) => break,
        };
        if !pair.0.is_nan() && !pair.1.is_nan() {
            out.push(pair);
        }
    }
    out
}

/// For each run, whether another run shares its rank.
pub fn shared(ranks: &[Option<usize>]) -> Vec<bool> {
    let mut sizes = std::collections::HashMap::new();
    for r in ranks.iter().flatten() {
        *sizes.entry(*r).or_insert(0_usize) += 1;
    }
    ranks
        .iter()
        .map(|r| r.is_some_and(|r| sizes.get(&r).is_some_and(|n| *n > 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(low: f64, high: f64) -> Option<Interval> {
        Interval::new(Some(low), Some(high))
    }

    /// The ranks by intervals alone (no per-item values), every run scored.
    fn rank_groups(intervals: &[Option<Interval>]) -> Vec<usize> {
        let runs: Vec<Candidate> = intervals
            .iter()
            .map(|i| Candidate {
                score: Some(0.5),
                interval: *i,
                evalset: "",
                items: None,
            })
            .collect();
        rank(&runs, &CompareConfig::default())
            .iter()
            .map(|p| p.rank.unwrap_or(0))
            .collect()
    }

    fn shared_of(groups: &[usize]) -> Vec<bool> {
        shared(&groups.iter().map(|g| Some(*g)).collect::<Vec<_>>())
    }

    /// 0/1 items: right on `0..right`, the rest wrong, `n` items.
    fn items(right: u32, n: u32) -> Vec<(u32, f64)> {
        (0..n).map(|i| (i, f64::from(i < right))).collect()
    }

    fn candidate<'a>(items: &'a [(u32, f64)], evalset: &'a str) -> Candidate<'a> {
        let n = items.len() as u64;
        let right = items.iter().filter(|i| i.1 == 1.0).count() as u64;
        let w = crate::scoring::intervals::wilson_ci(right, n, crate::scoring::intervals::Z95)
            .expect("wilson");
        Candidate {
            score: Some(right as f64 / n as f64),
            interval: Interval::new(Some(w.low), Some(w.high)),
            evalset,
            items: Some(items),
        }
    }

    #[test]
    fn the_paired_test_separates_runs_whose_intervals_overlap() {
        let (leader, close) = (items(90, 120), items(78, 120));
        let runs = [candidate(&leader, "e"), candidate(&close, "e")];
        let (a, b) = (runs[0].interval.expect("ci"), runs[1].interval.expect("ci"));
        assert!(a.overlaps(&b), "the CIs overlap: {a:?} {b:?}");
        let placed = rank(&runs, &CompareConfig::default());
        assert_eq!(placed[1].rank, Some(2));
        assert_eq!(placed[1].rule, Some(TieRule::PairedTest));
        assert_eq!(placed[1].test, Some(PairedTest::McnemarExact));
        let p = placed[1].p_value.expect("p");
        assert!((p - crate::scoring::paired::mcnemar_exact(12, 0)).abs() < 1e-15);
        assert_eq!(placed[1].p_holm, Some(p));
        // On another eval set only the intervals count: tied.
        let other = [candidate(&leader, "e"), candidate(&close, "f")];
        let placed = rank(&other, &CompareConfig::default());
        assert_eq!(placed[1].rank, Some(1));
        assert_eq!(placed[1].rule, Some(TieRule::CiOverlap));
        assert_eq!(placed[1].against, Some(0));
    }

    #[test]
    fn holm_widens_the_family_of_comparisons_with_one_leader() {
        // Six discordant items each: p = 2/64 alone, 3 × 2/64 under Holm.
        let leader = items(60, 100);
        let runs: Vec<Vec<(u32, f64)>> = (0..3)
            .map(|k| {
                let mut v = items(60, 100);
                for i in 0..6 {
                    v[(k * 6 + i) as usize].1 = 0.0;
                }
                v
            })
            .collect();
        let one = [candidate(&leader, "e"), candidate(&runs[0], "e")];
        assert_eq!(rank(&one, &CompareConfig::default())[1].rank, Some(2));
        let mut three = vec![candidate(&leader, "e")];
        three.extend(runs.iter().map(|r| candidate(r, "e")));
        let placed = rank(&three, &CompareConfig::default());
        for p in &placed[1..] {
            assert_eq!(p.rank, Some(1), "{p:?}");
            assert!((p.p_holm.unwrap_or(0.0) - 3.0 * 2.0 / 64.0).abs() < 1e-12);
        }
        assert_eq!(
            shared(&placed.iter().map(|p| p.rank).collect::<Vec<_>>()),
            vec![true; 4]
        );
    }

    #[test]
    fn runs_without_a_score_are_not_ranked() {
        let leader = items(5, 10);
        let runs = [
            candidate(&leader, "e"),
            Candidate {
                score: None,
                interval: None,
                evalset: "e",
                items: None,
            },
            candidate(&leader, "e"),
        ];
        let placed = rank(&runs, &CompareConfig::default());
        let ranks: Vec<Option<usize>> = placed.iter().map(|p| p.rank).collect();
        assert_eq!(ranks, vec![Some(1), None, Some(1)]);
        assert_eq!(shared(&ranks), vec![true, false, true]);
    }

    #[test]
    fn union_pairs_count_missing_items_as_wrong_and_skip_ambiguous_ones() {
        let a = [(0, 1.0), (2, 1.0), (3, f64::NAN)];
        let b = [(1, 1.0), (2, 0.0), (3, 1.0), (5, 0.5)];
        assert_eq!(
            union_pairs(&a, &b),
            vec![(1.0, 0.0), (0.0, 1.0), (1.0, 0.0), (0.0, 0.5)]
        );
        assert!(union_pairs(&[], &[]).is_empty());
    }

    #[test]
    fn empty_input_has_no_groups() {
        assert!(rank_groups(&[]).is_empty());
    }

    #[test]
    fn a_single_run_leads_group_one() {
        assert_eq!(rank_groups(&[ci(0.5, 0.7)]), vec![1]);
        assert_eq!(rank_groups(&[None]), vec![1]);
    }

    #[test]
    fn overlapping_runs_share_the_leaders_rank() {
        let groups = rank_groups(&[ci(0.66, 0.82), ci(0.64, 0.80), ci(0.45, 0.63)]);
        assert_eq!(groups, vec![1, 1, 2]);
        assert_eq!(shared_of(&groups), vec![true, true, false]);
    }

    #[test]
    fn touching_endpoints_overlap() {
        assert_eq!(rank_groups(&[ci(0.5, 0.7), ci(0.3, 0.5)]), vec![1, 1]);
    }

    #[test]
    fn overlap_is_with_the_group_leader_not_chained() {
        // B overlaps A, C overlaps B but not A: C leads group 2.
        assert_eq!(
            rank_groups(&[ci(0.6, 0.8), ci(0.45, 0.65), ci(0.3, 0.5)]),
            vec![1, 1, 2]
        );
    }

    #[test]
    fn later_runs_join_an_earlier_group_when_they_overlap_its_leader() {
        // C (wide CI) overlaps A although B, between them, does not.
        assert_eq!(
            rank_groups(&[ci(0.78, 0.82), ci(0.70, 0.75), ci(0.40, 0.95)]),
            vec![1, 2, 1]
        );
    }

    #[test]
    fn runs_without_an_interval_form_their_own_groups() {
        let groups = rank_groups(&[ci(0.6, 0.8), None, ci(0.65, 0.7), None]);
        assert_eq!(groups, vec![1, 2, 1, 3]);
        assert_eq!(shared_of(&groups), vec![true, false, true, false]);
    }

    #[test]
    fn unusable_intervals_count_as_missing() {
        assert_eq!(Interval::new(Some(0.8), Some(0.2)), None);
        assert_eq!(Interval::new(Some(f64::NAN), Some(0.2)), None);
        assert_eq!(Interval::new(Some(0.1), None), None);
        assert_eq!(Interval::new(Some(0.1), Some(f64::INFINITY)), None);
        assert_eq!(rank_groups(&[ci(0.5, 0.7), ci(0.8, 0.2)]), vec![1, 2]);
    }

    #[test]
    fn disjoint_runs_each_get_a_rank() {
        assert_eq!(
            rank_groups(&[ci(0.8, 0.9), ci(0.6, 0.7), ci(0.4, 0.5)]),
            vec![1, 2, 3]
        );
    }

    #[test]
    fn identical_intervals_are_all_tied() {
        let same = ci(0.5, 0.6);
        assert_eq!(rank_groups(&[same, same, same]), vec![1, 1, 1]);
    }
}
