//! Statistical rank groups: runs whose 95% confidence intervals overlap are
//! not told apart, so they share a rank.
//!
//! Given runs in leaderboard order (best first), group 1 is the leader plus
//! every run whose interval overlaps the leader's; then the first run not
//! yet grouped leads group 2, together with every remaining run whose
//! interval overlaps its own; and so on. Overlap is not chained: a run joins
//! a group only by overlapping that group's leader. A run without a usable
//! interval (missing, not finite, or low > high) can be compared with
//! nothing and forms a group of its own.

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

/// The rank group (1-based) of each run, for runs given in leaderboard
/// order.
pub fn rank_groups(intervals: &[Option<Interval>]) -> Vec<usize> {
    let mut groups = vec![0_usize; intervals.len()];
    let mut next = 1;
    for leader in 0..intervals.len() {
        if groups[leader] != 0 {
            continue;
        }
        groups[leader] = next;
        if let Some(lead) = intervals[leader] {
            join_overlapping(intervals, &mut groups, leader, &lead, next);
        }
        next += 1;
    }
    groups
}

/// Put every ungrouped run after `leader` whose interval overlaps `lead`
/// into `group`.
fn join_overlapping(
    intervals: &[Option<Interval>],
    groups: &mut [usize],
    leader: usize,
    lead: &Interval,
    group: usize,
) {
    for (slot, interval) in groups.iter_mut().zip(intervals).skip(leader + 1) {
        if *slot == 0 && interval.is_some_and(|i| i.overlaps(lead)) {
            *slot = group;
        }
    }
}

/// For each run, whether another run shares its rank group.
pub fn shared(groups: &[usize]) -> Vec<bool> {
    let mut sizes = std::collections::HashMap::new();
    for g in groups {
        *sizes.entry(*g).or_insert(0_usize) += 1;
    }
    groups
        .iter()
        .map(|g| sizes.get(g).is_some_and(|n| *n > 1))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ci(low: f64, high: f64) -> Option<Interval> {
        Interval::new(Some(low), Some(high))
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
        assert_eq!(shared(&groups), vec![true, true, false]);
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
        assert_eq!(shared(&groups), vec![true, false, true, false]);
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
