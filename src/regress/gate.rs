//! The regression gate's rule and the comparison behind it, pure functions
//! of the two runs' item records: pair items by id
//! ([`crate::scoring::compare`]), decide the verdict from the difference's
//! confidence interval and the threshold ([`gate_verdict`]), and list the
//! items that flipped in each direction ([`flips`]).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::runfolder::EvalItemRecord;
use crate::scoring::compare::DiffInterval;
use crate::scoring::{compare, CompareConfig, PairedComparison, Verdict};

/// The gate's settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GateSettings {
    /// Smallest drop (or gain) on the 0–1 scale the CI must clear, in
    /// `[0, 1)`.
    pub threshold: f64,
    /// The difference's CI is at level `1 − alpha`, alpha in `(0, 1)`.
    pub alpha: f64,
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
    /// The baseline's extracted answer and correctness.
    pub baseline_extracted: Option<String>,
    pub baseline_correctness: f64,
    /// The candidate's extracted answer and correctness.
    pub candidate_extracted: Option<String>,
    pub candidate_correctness: f64,
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

/// Items scored in both runs (ids occurring once in each) whose
/// correctness differs.
pub fn flips(baseline: &[EvalItemRecord], candidate: &[EvalItemRecord]) -> Flips {
    let (base, cand) = (index(baseline), index(candidate));
    let mut out = Flips::default();
    for (id, b) in &base {
        let (Some(c), [b]) = (cand.get(id), b.as_slice()) else {
            continue;
        };
        let [c] = c.as_slice() else { continue };
        let (Some(vb), Some(vc)) = (b.answer_correctness, c.answer_correctness) else {
            continue;
        };
        if vb == vc {
            continue;
        }
        let item = FlippedItem {
            id: b.id.clone(),
            category: b.category.clone(),
            expected: b.expected.clone(),
            baseline_extracted: b.extracted.clone(),
            baseline_correctness: vb,
            candidate_extracted: c.extracted.clone(),
            candidate_correctness: vc,
        };
        if vc < vb {
            out.lost.push(item);
        } else {
            out.gained.push(item);
        }
    }
    out
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
}

/// Compare the candidate's items with the baseline's and apply the rule.
/// Refused (bad input) when no item is scored in both runs.
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
            "the candidate and the baseline have no item scored in both: nothing to compare",
        ));
    }
    Ok(GateOutcome {
        verdict: gate_verdict(comparison.diff_ci.as_ref(), settings.threshold),
        flips: flips(baseline, candidate),
        comparison,
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
    fn flips_go_both_ways_and_skip_unpaired_items() {
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
        assert_eq!(ids(&f.lost), ["a"]);
        assert_eq!(ids(&f.gained), ["b"]);
        assert_eq!(f.lost[0].candidate_extracted.as_deref(), Some("0"));
    }

    #[test]
    fn evaluate_refuses_bad_settings_and_empty_pairings() {
        let base = [item("a", Some(1.0))];
        let s = GateSettings {
            threshold: 0.02,
            alpha: 0.05,
        };
        let err = evaluate(&base, &[item("b", Some(1.0))], s).expect_err("no pairs");
        assert!(err.message().contains("no item scored in both"), "{err}");
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
}
