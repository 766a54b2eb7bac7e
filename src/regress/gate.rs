//! The regression gate's rule and the comparison behind it, pure functions
//! of the two runs' item records: refuse runs whose coverage differs by
//! more than the allowed gap ([`check_coverage`]), pair items by id over
//! the union of both runs, an item without a valid value counted as wrong
//! ([`crate::scoring::compare`]), decide the verdict from the difference's
//! confidence interval and the threshold ([`gate_verdict`]), and list the
//! items that flipped in each direction ([`flips`]; a baseline item the
//! candidate lacks is lost).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::runfolder::EvalItemRecord;
use crate::scoring::compare::DiffInterval;
use crate::scoring::{
    compare, full_set_score, CompareConfig, FullSetScore, ItemRow, PairedComparison, Verdict,
    DEFAULT_BOOTSTRAP_SEED,
};

/// The gate's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateSettings {
    /// Smallest drop (or gain) on the 0–1 scale the CI must clear, in
    /// `[0, 1)`.
    pub threshold: f64,
    /// The difference's CI is at level `1 − alpha`, alpha in `(0, 1)`.
    pub alpha: f64,
    /// Largest |coverage(candidate) − coverage(baseline)| accepted, in
    /// `[0, 1]`; beyond it the gate refuses.
    pub max_coverage_gap: f64,
}

impl GateSettings {
    /// Checks both settings against their ranges (bad input otherwise).
    pub fn validate(&self) -> Result<()> {
        if !(0.0..1.0).contains(&self.threshold) {
            return Err(Error::bad_input(format!(
                "--threshold must be in [0, 1), got {}",
                self.threshold
            )));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(Error::bad_input(format!(
                "--alpha must be in (0, 1), got {}",
                self.alpha
            )));
        }
        if !(0.0..=1.0).contains(&self.max_coverage_gap) {
            return Err(Error::bad_input(format!(
                "--max-coverage-gap must be in [0, 1], got {}",
                self.max_coverage_gap
            )));
        }
        Ok(())
    }
}

/// The rule: `regressed` when the CI of candidate − baseline lies entirely
/// below `−threshold` (its upper bound is below it), `improved` when it lies
/// entirely above `+threshold`, otherwise (or without an interval) `no
/// evidence`.
pub fn gate_verdict(ci: Option<&DiffInterval>, threshold: f64) -> Verdict {
    match ci {
        Some(ci) if ci.high < -threshold => Verdict::Regressed,
        Some(ci) if ci.low > threshold => Verdict::Improved,
        _ => Verdict::NoEvidence,
    }
}

/// One item whose correctness changed between baseline and candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlippedItem {
    /// Item id.
    pub id: String,
    /// Item category.
    pub category: String,
    /// Expected answer.
    pub expected: String,
    /// The baseline's extracted answer and correctness (0 when missing).
    pub baseline_extracted: Option<String>,
    pub baseline_correctness: f64,
    /// Whether the baseline has no valid value for the item (no row, no
    /// output or an unreadable one): counted as wrong.
    pub baseline_missing: bool,
    /// The candidate's extracted answer and correctness (0 when missing).
    pub candidate_extracted: Option<String>,
    pub candidate_correctness: f64,
    /// Whether the candidate has no valid value for the item: counted as
    /// wrong.
    pub candidate_missing: bool,
}

/// Items that flipped, each list sorted by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flips {
    /// Lower correctness in the candidate.
    pub lost: Vec<FlippedItem>,
    /// Higher correctness in the candidate.
    pub gained: Vec<FlippedItem>,
}

/// Records grouped by id.
fn index(rows: &[EvalItemRecord]) -> BTreeMap<&str, Vec<&EvalItemRecord>> {
    let mut map: BTreeMap<&str, Vec<&EvalItemRecord>> = BTreeMap::new();
    for r in rows {
        map.entry(r.id.as_str()).or_default().push(r);
    }
    map
}

/// A record's correctness when valid (finite, in `[0, 1]`).
fn valid(record: Option<&EvalItemRecord>) -> Option<f64> {
    record
        .and_then(|r| r.answer_correctness)
        .filter(|c| c.is_finite() && (0.0..=1.0).contains(c))
}

/// The record of `id` in `records`: `Some(None)` when there is none,
/// `None` when there are several (ambiguous).
fn single<'a>(
    records: &BTreeMap<&str, Vec<&'a EvalItemRecord>>,
    id: &str,
) -> Option<Option<&'a EvalItemRecord>> {
    match records.get(id).map(Vec::as_slice) {
        None => Some(None),
        Some([r]) => Some(Some(*r)),
        Some(_) => None,
    }
}

/// Items of either run (ids occurring at most once in each) whose
/// correctness differs, a missing or unreadable value counted as 0: an
/// item the baseline got right and the candidate lacks is lost.
pub fn flips(baseline: &[EvalItemRecord], candidate: &[EvalItemRecord]) -> Flips {
    let (base, cand) = (index(baseline), index(candidate));
    let mut ids: Vec<&str> = base.keys().chain(cand.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let mut out = Flips::default();
    for id in ids {
        let (Some(b), Some(c)) = (single(&base, id), single(&cand, id)) else {
            continue;
        };
        let (vb, vc) = (valid(b), valid(c));
        let (xb, xc) = (vb.unwrap_or(0.0), vc.unwrap_or(0.0));
        if xb == xc {
            continue;
        }
        let Some(any) = b.or(c) else { continue };
        let item = FlippedItem {
            id: any.id.clone(),
            category: any.category.clone(),
            expected: any.expected.clone(),
            baseline_extracted: b.and_then(|r| r.extracted.clone()),
            baseline_correctness: xb,
            baseline_missing: vb.is_none(),
            candidate_extracted: c.and_then(|r| r.extracted.clone()),
            candidate_correctness: xc,
            candidate_missing: vc.is_none(),
        };
        if xc < xb {
            out.lost.push(item);
        } else {
            out.gained.push(item);
        }
    }
    out
}

/// A run's full-eval-set score and coverage.
pub fn coverage(items: &[EvalItemRecord]) -> FullSetScore {
    let rows: Vec<ItemRow> = items.iter().map(EvalItemRecord::item_row).collect();
    full_set_score(&rows, DEFAULT_BOOTSTRAP_SEED)
}

/// Refuse (bad input) when the two runs' coverage of the compared items
/// (every id of either run) differs by more than `max_gap`: a candidate
/// that leaves out items cannot pass by pairing only the ones it kept, nor
/// be judged on a different sample.
pub fn check_coverage(c: &PairedComparison, max_gap: f64) -> Result<()> {
    let n = c.n_pairs;
    let scored = |unscored: usize| n.saturating_sub(unscored);
    let share = |k: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    let (sb, sc) = (scored(c.n_unscored_a), scored(c.n_unscored_b));
    let (cb, cc) = (share(sb), share(sc));
    // The tolerance absorbs rounding of equal shares.
    if (cc - cb).abs() > max_gap + 1e-9 {
        return Err(Error::bad_input(format!(
            "the candidate's coverage ({:.1}%: {sc} of {n} items scored) differs from the baseline's ({:.1}%: {sb} of {n}) by {:.2} pp, more than --max-coverage-gap {max_gap} allows ({:.2} pp); evaluate the candidate on every item, or pass a larger --max-coverage-gap to gate anyway (an item without a valid value then counts as wrong)",
            cc * 100.0,
            cb * 100.0,
            (cc - cb).abs() * 100.0,
            max_gap * 100.0
        )));
    }
    Ok(())
}

/// What the gate found.
#[derive(Debug, Clone, PartialEq)]
pub struct GateOutcome {
    /// The gate's verdict (not the comparison's p-value verdict).
    pub verdict: Verdict,
    /// The paired comparison of candidate (B) against baseline (A).
    pub comparison: PairedComparison,
    /// The flipped items.
    pub flips: Flips,
    /// The baseline's full-eval-set score and coverage.
    pub baseline: FullSetScore,
    /// The candidate's full-eval-set score and coverage.
    pub candidate: FullSetScore,
}

/// Compare the candidate's items with the baseline's and apply the rule.
/// Refused (bad input) when the coverage of the two runs differs by more
/// than the settings allow, or when there is no item to compare.
pub fn evaluate(
    baseline: &[EvalItemRecord],
    candidate: &[EvalItemRecord],
    settings: GateSettings,
) -> Result<GateOutcome> {
    settings.validate()?;
    let rows = |items: &[EvalItemRecord]| items.iter().map(EvalItemRecord::item_row).collect();
    let (a, b): (Vec<_>, Vec<_>) = (rows(baseline), rows(candidate));
    let config = CompareConfig {
        alpha: settings.alpha,
        ..CompareConfig::default()
    };
    let comparison = compare(&a, &b, &config);
    if comparison.n_pairs == 0 {
        return Err(Error::bad_input(
            "the candidate and the baseline have no item to compare",
        ));
    }
    check_coverage(&comparison, settings.max_coverage_gap)?;
    Ok(GateOutcome {
        verdict: gate_verdict(comparison.diff_ci.as_ref(), settings.threshold),
        flips: flips(baseline, candidate),
        comparison,
        baseline: coverage(baseline),
        candidate: coverage(candidate),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::compare::DiffCiMethod;

    fn ci(low: f64, high: f64) -> DiffInterval {
        DiffInterval {
            low,
            high,
            level: 0.95,
            method: DiffCiMethod::NewcombeHybridScore,
        }
    }

    #[test]
    fn the_rule_needs_the_whole_interval_past_the_threshold() {
        let t = 0.02;
        assert_eq!(gate_verdict(Some(&ci(-0.2, -0.03)), t), Verdict::Regressed);
        assert_eq!(gate_verdict(Some(&ci(-0.2, -0.02)), t), Verdict::NoEvidence);
        assert_eq!(gate_verdict(Some(&ci(-0.2, -0.01)), t), Verdict::NoEvidence);
        assert_eq!(gate_verdict(Some(&ci(-0.05, 0.05)), t), Verdict::NoEvidence);
        assert_eq!(gate_verdict(Some(&ci(0.01, 0.2)), t), Verdict::NoEvidence);
        assert_eq!(gate_verdict(Some(&ci(0.03, 0.2)), t), Verdict::Improved);
        assert_eq!(gate_verdict(None, t), Verdict::NoEvidence);
        assert_eq!(
            gate_verdict(Some(&ci(-0.2, -0.001)), 0.0),
            Verdict::Regressed
        );
    }

    fn item(id: &str, c: Option<f64>) -> EvalItemRecord {
        EvalItemRecord {
            id: id.into(),
            category: "core".into(),
            expected: "1".into(),
            output: None,
            extracted: c.map(|c| c.to_string()),
            extraction_rule: None,
            answer_correctness: c,
            trace_consistency: None,
        }
    }

    #[test]
    fn flips_go_both_ways_and_count_missing_items_as_wrong() {
        let base = [
            item("a", Some(1.0)),
            item("b", Some(0.0)),
            item("c", Some(1.0)),
            item("d", None),
            item("e", Some(1.0)),
        ];
        let cand = [
            item("a", Some(0.0)),
            item("b", Some(1.0)),
            item("c", Some(1.0)),
            item("d", Some(1.0)),
        ];
        let f = flips(&base, &cand);
        let ids = |v: &[FlippedItem]| v.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        // e: right in the baseline, missing in the candidate: lost.
        assert_eq!(ids(&f.lost), ["a", "e"]);
        assert_eq!(ids(&f.gained), ["b", "d"]);
        assert_eq!(f.lost[0].candidate_extracted.as_deref(), Some("0"));
        assert!(f.lost[1].candidate_missing && !f.lost[1].baseline_missing);
        assert_eq!(f.lost[1].candidate_correctness, 0.0);
        assert!(f.gained[1].baseline_missing);
    }

    #[test]
    fn evaluate_refuses_bad_settings_and_empty_pairings() {
        let base = [item("a", Some(1.0))];
        let s = GateSettings {
            threshold: 0.02,
            alpha: 0.05,
            max_coverage_gap: 0.0,
        };
        let err = evaluate(&[], &[], s).expect_err("no pairs");
        assert!(err.message().contains("no item to compare"), "{err}");
        let err = evaluate(
            &base,
            &base,
            GateSettings {
                max_coverage_gap: 2.0,
                ..s
            },
        )
        .expect_err("gap");
        assert!(err.message().contains("--max-coverage-gap"), "{err}");
        let err = evaluate(&base, &base, GateSettings { alpha: 1.5, ..s }).expect_err("alpha");
        assert!(err.message().contains("--alpha"), "{err}");
        let err = evaluate(
            &base,
            &base,
            GateSettings {
                threshold: -1.0,
                ..s
            },
        )
        .expect_err("t");
        assert!(err.message().contains("--threshold"), "{err}");
        let same = evaluate(&base, &base, s).expect("same");
        assert_eq!(same.verdict, Verdict::NoEvidence);
    }

    #[test]
    fn a_candidate_that_leaves_items_out_is_refused_or_loses_them() {
        // The baseline answers 60 of 120; the candidate submits 11 right
        // answers among them and nothing else.
        let base: Vec<EvalItemRecord> = (0..120)
            .map(|i| item(&format!("q{i:03}"), Some(f64::from(i < 60))))
            .collect();
        let cand: Vec<EvalItemRecord> = (0..120)
            .map(|i| item(&format!("q{i:03}"), (i < 11).then_some(1.0)))
            .collect();
        let s = GateSettings {
            threshold: 0.02,
            alpha: 0.05,
            max_coverage_gap: 0.0,
        };
        let err = evaluate(&base, &cand, s).expect_err("coverage differs");
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        assert!(
            err.message().starts_with(
                "the candidate's coverage (9.2%: 11 of 120 items scored) differs from the baseline's (100.0%: 120 of 120) by 90.83 pp"
            ),
            "{err}"
        );
        let allowed = evaluate(
            &base,
            &cand,
            GateSettings {
                max_coverage_gap: 1.0,
                ..s
            },
        )
        .expect("allowed");
        assert_eq!(allowed.verdict, Verdict::Regressed);
        assert_eq!(allowed.comparison.n_pairs, 120);
        assert_eq!(allowed.flips.lost.len(), 49);
        assert!(allowed.flips.lost.iter().all(|f| f.candidate_missing));
        assert_eq!(allowed.candidate.n_scored, 11);
        // Dropping items from the comparison would have hidden the loss.
        let kept: Vec<EvalItemRecord> = cand.iter().take(11).cloned().collect();
        let err = evaluate(&base, &kept, s).expect_err("coverage differs");
        assert!(
            err.message().contains("(9.2%: 11 of 120 items scored)"),
            "{err}"
        );
    }
}
