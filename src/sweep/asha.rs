//! ASHA (asynchronous successive halving): the rungs, the steps at which a
//! trial's metric is compared with the other trials' at the same step.
//!
//! Rung rule: with grace period `g`, reduction factor `η` and `max_steps`
//! `M`, the rungs are `g, g·η, g·η², …` while they are below `M`, then `M`
//! itself (the last rung is the end of training). A grace period of `M` or
//! more leaves the single rung `M`.

/// The rungs of ASHA with these settings, ascending and without repeats.
pub fn rungs(grace_period: u32, reduction_factor: u32, max_steps: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut rung = grace_period.max(1);
    while rung < max_steps {
        out.push(rung);
        match rung.checked_mul(reduction_factor.max(2)) {
            Some(next) => rung = next,
            None => break,
        }
    }
    out.push(max_steps);
    out
}

#[cfg(test)]
mod tests {
    use super::rungs;

    #[test]
    fn geometric_rungs_then_max_steps() {
        assert_eq!(rungs(25, 3, 100), vec![25, 75, 100]);
        assert_eq!(rungs(10, 3, 50), vec![10, 30, 50]);
        assert_eq!(rungs(1, 2, 8), vec![1, 2, 4, 8]);
    }

    #[test]
    fn a_rung_equal_to_max_steps_is_not_repeated() {
        assert_eq!(rungs(10, 3, 90), vec![10, 30, 90]);
    }

    #[test]
    fn grace_period_at_or_past_max_steps_leaves_one_rung() {
        assert_eq!(rungs(50, 3, 50), vec![50]);
        assert_eq!(rungs(80, 3, 50), vec![50]);
    }

    #[test]
    fn huge_factors_do_not_overflow() {
        assert_eq!(
            rungs(u32::MAX / 2, 3, u32::MAX),
            vec![u32::MAX / 2, u32::MAX]
        );
    }
}
