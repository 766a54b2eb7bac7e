//! "Is B better than A?": pairs the items of two runs by id, runs the
//! paired test that fits the data and decides the verdict.
//!
//! [`compare`] uses the exact McNemar test with Newcombe's interval when
//! every paired value is 0 or 1, and the seeded paired bootstrap otherwise
//! (both in [`paired`](super::paired)); [`verdict`] turns the p-value and
//! the difference into improved, no evidence or regressed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScoringError;
use super::intervals::{normal_quantile, DEFAULT_BOOTSTRAP_SEED};
use super::paired::{
    mcnemar_exact, min_detectable_difference, newcombe_paired_ci, paired_bootstrap, PairedCounts,
};
use super::rows::{id_list, item_value, mean, ItemRow};

/// Below this many pairs a comparison warns that its p-value is fragile.
pub const SMALL_PAIRS_WARNING: usize = 30;

/// Settings of a paired comparison.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CompareConfig {
    /// Significance level of the two-sided test, in `(0, 1)`; the difference
    /// CI is reported at level `1 − alpha`. Default: `0.05`.
    pub alpha: f64,
    /// Smallest difference (on the 0–1 scale) that counts as a real change,
    /// in `[0, 1]`. Default: `0.0`.
    pub min_effect: f64,
    /// Bootstrap resamples for data that is not all 0/1, at least 100.
    /// Default: `10000`.
    pub resamples: usize,
    /// Bootstrap seed; the same seed gives the same result. Default:
    /// `1592613902` (the scorecard's default seed).
    pub seed: u64,
}

impl Default for CompareConfig {
    fn default() -> Self {
        Self {
            alpha: 0.05,
            min_effect: 0.0,
            resamples: 10_000,
            seed: DEFAULT_BOOTSTRAP_SEED,
        }
    }
}

impl CompareConfig {
    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), ScoringError> {
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(ScoringError::invalid(
                "alpha",
                format!("must be in (0, 1), got {}", self.alpha),
            ));
        }
        if !(0.0..=1.0).contains(&self.min_effect) {
            return Err(ScoringError::invalid(
                "min_effect",
                format!("must be in [0, 1], got {}", self.min_effect),
            ));
        }
        if self.resamples < 100 {
            return Err(ScoringError::invalid(
                "resamples",
                format!("must be at least 100, got {}", self.resamples),
            ));
        }
        Ok(())
    }
}

/// The test behind a comparison's p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PairedTest {
    /// Exact McNemar test on discordant pairs (every value 0 or 1).
    McnemarExact,
    /// Seeded paired bootstrap of the mean difference (otherwise).
    PairedBootstrap,
}

/// How the difference's confidence interval was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiffCiMethod {
    /// Newcombe's hybrid score interval for paired proportions (0/1 data).
    NewcombeHybridScore,
    /// Percentile interval of the paired bootstrap (other data).
    PercentileBootstrap,
}

/// Confidence interval of the mean difference B − A.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DiffInterval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Confidence level, `1 − alpha`.
    pub level: f64,
    /// Method used.
    pub method: DiffCiMethod,
}

/// The answer to "is B better than A?".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// `p < alpha`, the difference is positive and at least `min_effect`.
    Improved,
    /// Anything else: not significant, too small, or nothing to compare.
    NoEvidence,
    /// `p < alpha`, the difference is negative and at most `−min_effect`.
    Regressed,
}

impl Verdict {
    /// The verdict as written in JSON and reports: `improved`,
    /// `no_evidence` or `regressed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::NoEvidence => "no_evidence",
            Verdict::Regressed => "regressed",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict rule: improved when `p < alpha` and `diff > 0` and `diff ≥
/// min_effect`; regressed when `p < alpha` and `diff < 0` and `diff ≤
/// −min_effect`; otherwise no evidence.
pub fn verdict(p_value: Option<f64>, diff: Option<f64>, alpha: f64, min_effect: f64) -> Verdict {
    match (p_value, diff) {
        (Some(p), Some(d)) if p < alpha && d > 0.0 && d >= min_effect => Verdict::Improved,
        (Some(p), Some(d)) if p < alpha && d < 0.0 && d <= -min_effect => Verdict::Regressed,
        _ => Verdict::NoEvidence,
    }
}

/// Which items of two runs are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// Every id of either run (runs on the same eval set): an item a run
    /// has no valid value for (no row, no output, a value that cannot be
    /// read) counts as wrong (0) for that run, so leaving items out never
    /// helps.
    #[default]
    Union,
    /// Only ids present in both runs (runs on different eval sets, where an
    /// id of one set is not a question of the other); a present item
    /// without a valid value still counts as wrong.
    Shared,
}

/// A paired comparison of run B against run A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairedComparison {
    /// Items compared: every id of either run under `union` pairing, the
    /// ids of both under `shared`; ids duplicated within a run excepted.
    pub n_pairs: usize,
    /// Which items were paired.
    pub pairing: Pairing,
    /// Number of ids present only in run A.
    pub n_only_in_a: usize,
    /// Ids present only in run A (sorted): counted as wrong in B under
    /// `union` pairing, not compared under `shared`.
    pub only_in_a: Vec<String>,
    /// Number of ids present only in run B.
    pub n_only_in_b: usize,
    /// Ids present only in run B (sorted): counted as wrong in A under
    /// `union` pairing, not compared under `shared`.
    pub only_in_b: Vec<String>,
    /// Number of ids present in both runs but without a valid value in at
    /// least one.
    pub n_skipped: usize,
    /// Ids present in both runs but without a valid value in at least one
    /// (sorted); compared, the missing value counted as wrong.
    pub skipped_ids: Vec<String>,
    /// Compared items without a valid value in A (no row, no output or an
    /// unreadable value), counted as wrong.
    pub n_unscored_a: usize,
    /// Compared items without a valid value in B, counted as wrong.
    pub n_unscored_b: usize,
    /// Ids occurring on more than one row of a run (sorted); ambiguous, so
    /// not compared.
    pub duplicate_ids: Vec<String>,
    /// Mean of run A over the pairs (missing values counted as 0).
    pub mean_a: Option<f64>,
    /// Mean of run B over the pairs (missing values counted as 0).
    pub mean_b: Option<f64>,
    /// Mean paired difference B − A (positive: B is better), on the 0–1
    /// scale.
    pub diff: Option<f64>,
    /// Confidence interval of `diff` at level `1 − alpha`.
    pub diff_ci: Option<DiffInterval>,
    /// Test used for `p_value`.
    pub test: Option<PairedTest>,
    /// Paired 0/1 table behind the McNemar test; only for 0/1 data.
    pub counts: Option<PairedCounts>,
    /// Two-sided p-value for "no difference".
    pub p_value: Option<f64>,
    /// Improved, no evidence, or regressed.
    pub verdict: Verdict,
    /// Smallest |diff| detectable at `alpha` with 80% power for these pairs
    /// (normal approximation; see the method notes).
    pub min_detectable_difference: Option<f64>,
    /// The settings used.
    pub config: CompareConfig,
    /// Human-readable caveats: unmatched, skipped or duplicate ids, small
    /// samples, invalid settings.
    pub warnings: Vec<String>,
}

/// Items of two runs matched by id.
#[derive(Debug, Default)]
struct Alignment {
    /// `(value_a, value_b)` in id order, a missing value counted as 0.
    pairs: Vec<(f64, f64)>,
    only_in_a: Vec<String>,
    only_in_b: Vec<String>,
    skipped: Vec<String>,
    duplicates: Vec<String>,
    unscored_a: usize,
    unscored_b: usize,
}

/// Rows of one run grouped by id.
fn index_rows(rows: &[ItemRow]) -> BTreeMap<&str, Vec<&ItemRow>> {
    let mut index: BTreeMap<&str, Vec<&ItemRow>> = BTreeMap::new();
    for row in rows {
        index.entry(&row.id).or_default().push(row);
    }
    index
}

/// Matches rows by id under `pairing`; everything counted as wrong or not
/// compared is listed.
fn align(a: &[ItemRow], b: &[ItemRow], pairing: Pairing) -> Alignment {
    let (ia, ib) = (index_rows(a), index_rows(b));
    let mut out = Alignment::default();
    let mut ids: Vec<&str> = ia.keys().chain(ib.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let (ra, rb) = (ia.get(id).map(Vec::as_slice), ib.get(id).map(Vec::as_slice));
        if ra.is_some_and(|r| r.len() > 1) || rb.is_some_and(|r| r.len() > 1) {
            out.duplicates.push(id.to_string());
            continue;
        }
        let (va, vb) = match (ra, rb) {
            (Some([x]), None) => {
                out.only_in_a.push(id.to_string());
                (item_value(x), None)
            }
            (None, Some([y])) => {
                out.only_in_b.push(id.to_string());
                (None, item_value(y))
            }
            (Some([x]), Some([y])) => {
                let (va, vb) = (item_value(x), item_value(y));
                if va.is_none() || vb.is_none() {
                    out.skipped.push(id.to_string());
                }
                (va, vb)
            }
            _ => continue,
        };
        let in_both = ra.is_some() && rb.is_some();
        if pairing == Pairing::Shared && !in_both {
            continue;
        }
        out.unscored_a += usize::from(va.is_none());
        out.unscored_b += usize::from(vb.is_none());
        out.pairs.push((va.unwrap_or(0.0), vb.unwrap_or(0.0)));
    }
    out
}

/// Warnings about ids counted as wrong or not compared.
fn alignment_warnings(al: &Alignment, pairing: Pairing) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut note = |ids: &[String], what: &str| {
        if !ids.is_empty() {
            warnings.push(format!("{} item(s) {what}: {}", ids.len(), id_list(ids)));
        }
    };
    match pairing {
        Pairing::Union => {
            note(&al.only_in_a, "only in A (counted as wrong in B)");
            note(&al.only_in_b, "only in B (counted as wrong in A)");
        }
        Pairing::Shared => {
            note(&al.only_in_a, "only in A (not compared)");
            note(&al.only_in_b, "only in B (not compared)");
        }
    }
    note(
        &al.skipped,
        "without a valid value in A or B (counted as wrong there)",
    );
    note(
        &al.duplicates,
        "with ids duplicated within a run (not compared)",
    );
    let n = al.pairs.len();
    if n == 0 {
        warnings.push("no pairs to compare: no test was run".to_string());
    } else if n < SMALL_PAIRS_WARNING {
        warnings.push(format!(
            "n_pairs={n} < {SMALL_PAIRS_WARNING}: the test has little power and the CI is wide; treat the verdict with caution"
        ));
    }
    warnings
}

/// Test, p-value, CI and (for 0/1 data) the paired table.
struct TestOutcome {
    test: PairedTest,
    p_value: f64,
    ci: DiffInterval,
    counts: Option<PairedCounts>,
}

/// The paired 0/1 table, or `None` when some value is not exactly 0 or 1.
fn paired_counts(pairs: &[(f64, f64)]) -> Option<PairedCounts> {
    let mut t = PairedCounts::default();
    for &(a, b) in pairs {
        let cell = match (a, b) {
            (1.0, 1.0) => &mut t.both_right,
            (1.0, 0.0) => &mut t.a_right_b_wrong,
            (0.0, 1.0) => &mut t.a_wrong_b_right,
            (0.0, 0.0) => &mut t.both_wrong,
            _ => return None,
        };
        *cell += 1;
    }
    Some(t)
}

/// Runs McNemar + Newcombe on 0/1 data, else the paired bootstrap.
fn run_test(pairs: &[(f64, f64)], diffs: &[f64], cfg: &CompareConfig) -> Option<TestOutcome> {
    let level = 1.0 - cfg.alpha;
    if let Some(t) = paired_counts(pairs) {
        let ci = newcombe_paired_ci(&t, normal_quantile(1.0 - cfg.alpha / 2.0))?;
        return Some(TestOutcome {
            test: PairedTest::McnemarExact,
            p_value: mcnemar_exact(t.a_right_b_wrong, t.a_wrong_b_right),
            ci: DiffInterval {
                low: ci.low,
                high: ci.high,
                level,
                method: DiffCiMethod::NewcombeHybridScore,
            },
            counts: Some(t),
        });
    }
    let boot = paired_bootstrap(diffs, cfg.resamples, cfg.seed, level)?;
    Some(TestOutcome {
        test: PairedTest::PairedBootstrap,
        p_value: boot.p_value,
        ci: DiffInterval {
            low: boot.ci.low,
            high: boot.ci.high,
            level,
            method: DiffCiMethod::PercentileBootstrap,
        },
        counts: None,
    })
}

/// The test [`compare`] runs on `pairs` (`(value_a, value_b)`): exact
/// McNemar when every value is 0 or 1, else the seeded paired bootstrap
/// with `cfg`'s resamples and seed; `None` without pairs or with an invalid
/// `cfg`. The leaderboard decides its ties with it, so a tie there agrees
/// with `compare`.
pub fn paired_test(pairs: &[(f64, f64)], cfg: &CompareConfig) -> Option<(PairedTest, f64)> {
    cfg.validate().ok()?;
    let diffs: Vec<f64> = pairs.iter().map(|(x, y)| y - x).collect();
    run_test(pairs, &diffs, cfg).map(|o| (o.test, o.p_value))
}

/// Compares run B against run A item by item over the union of their ids
/// ([`Pairing::Union`]); see [`compare_with`].
pub fn compare(a: &[ItemRow], b: &[ItemRow], cfg: &CompareConfig) -> PairedComparison {
    compare_with(a, b, cfg, Pairing::Union)
}

/// Compares run B against run A item by item.
///
/// Rows are paired by id under `pairing`: an item without a valid value
/// in a run (no row, or a row without a valid value) counts as wrong (0)
/// there, so a run cannot gain by leaving items out. Ids found in only one
/// run, ids without a valid value in either run and ids duplicated within
/// a run (not compared) are listed and counted, never silently dropped. For all-0/1 pairs the test is the exact
/// McNemar test with Newcombe's interval for the difference; otherwise the
/// seeded paired bootstrap. With an invalid `cfg` no test is run, the
/// verdict is `no_evidence` and a warning says why (call
/// [`CompareConfig::validate`] first to reject it earlier). The result does
/// not depend on the order of the rows.
pub fn compare_with(
    a: &[ItemRow],
    b: &[ItemRow],
    cfg: &CompareConfig,
    pairing: Pairing,
) -> PairedComparison {
    let al = align(a, b, pairing);
    let mut warnings = alignment_warnings(&al, pairing);
    let values_a: Vec<f64> = al.pairs.iter().map(|p| p.0).collect();
    let values_b: Vec<f64> = al.pairs.iter().map(|p| p.1).collect();
    let diffs: Vec<f64> = al.pairs.iter().map(|(x, y)| y - x).collect();
    let diff = mean(&diffs);
    let outcome = match cfg.validate() {
        Ok(()) => run_test(&al.pairs, &diffs, cfg),
        Err(e) => {
            warnings.push(format!("invalid compare settings, no test was run: {e}"));
            None
        }
    };
    let p_value = outcome.as_ref().map(|o| o.p_value);
    let mde = outcome
        .as_ref()
        .and_then(|_| min_detectable_difference(&diffs, cfg.alpha));
    PairedComparison {
        n_pairs: al.pairs.len(),
        pairing,
        n_only_in_a: al.only_in_a.len(),
        n_only_in_b: al.only_in_b.len(),
        n_skipped: al.skipped.len(),
        n_unscored_a: al.unscored_a,
        n_unscored_b: al.unscored_b,
        mean_a: mean(&values_a),
        mean_b: mean(&values_b),
        diff,
        diff_ci: outcome.as_ref().map(|o| o.ci),
        test: outcome.as_ref().map(|o| o.test),
        counts: outcome.as_ref().and_then(|o| o.counts),
        p_value,
        verdict: verdict(p_value, diff, cfg.alpha, cfg.min_effect),
        min_detectable_difference: mde,
        config: *cfg,
        warnings,
        only_in_a: al.only_in_a,
        only_in_b: al.only_in_b,
        skipped_ids: al.skipped,
        duplicate_ids: al.duplicates,
    }
}

#[cfg(test)]
mod tests;
