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

/// A paired comparison of run B against run A.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PairedComparison {
    /// Items compared: present once in both runs and scored in both.
    pub n_pairs: usize,
    /// Number of ids present only in run A.
    pub n_only_in_a: usize,
    /// Ids present only in run A (sorted); not compared.
    pub only_in_a: Vec<String>,
    /// Number of ids present only in run B.
    pub n_only_in_b: usize,
    /// Ids present only in run B (sorted); not compared.
    pub only_in_b: Vec<String>,
    /// Number of ids present in both runs but skipped in at least one.
    pub n_skipped: usize,
    /// Ids present in both runs but without a valid value in at least one
    /// (sorted); not compared.
    pub skipped_ids: Vec<String>,
    /// Ids occurring on more than one row of a run (sorted); ambiguous, so
    /// not compared.
    pub duplicate_ids: Vec<String>,
    /// Mean of run A over the pairs.
    pub mean_a: Option<f64>,
    /// Mean of run B over the pairs.
    pub mean_b: Option<f64>,
    /// Mean paired difference B − A (positive: B is better).
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
    /// `(value_a, value_b)` in id order.
    pairs: Vec<(f64, f64)>,
    only_in_a: Vec<String>,
    only_in_b: Vec<String>,
    skipped: Vec<String>,
    duplicates: Vec<String>,
}

/// Rows of one run grouped by id.
fn index_rows(rows: &[ItemRow]) -> BTreeMap<&str, Vec<&ItemRow>> {
    let mut index: BTreeMap<&str, Vec<&ItemRow>> = BTreeMap::new();
    for row in rows {
        index.entry(&row.id).or_default().push(row);
    }
    index
}

/// Matches rows by id; everything not compared is listed.
fn align(a: &[ItemRow], b: &[ItemRow]) -> Alignment {
    let (ia, ib) = (index_rows(a), index_rows(b));
    let mut out = Alignment::default();
    let mut ids: Vec<&str> = ia.keys().chain(ib.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        let (ra, rb) = (ia.get(id).map(Vec::as_slice), ib.get(id).map(Vec::as_slice));
        if ra.is_some_and(|r| r.len() > 1) || rb.is_some_and(|r| r.len() > 1) {
            out.duplicates.push(id.to_string());
        }
        match (ra, rb) {
            (Some(_), None) => out.only_in_a.push(id.to_string()),
            (None, Some(_)) => out.only_in_b.push(id.to_string()),
            (Some([x]), Some([y])) => match (item_value(x), item_value(y)) {
                (Some(va), Some(vb)) => out.pairs.push((va, vb)),
                _ => out.skipped.push(id.to_string()),
            },
            _ => {}
        }
    }
    out
}

/// Warnings about ids that were not compared.
fn alignment_warnings(al: &Alignment) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut note = |ids: &[String], what: &str| {
        if !ids.is_empty() {
            warnings.push(format!("{} item(s) {what}: {}", ids.len(), id_list(ids)));
        }
    };
    note(&al.only_in_a, "only in A (not compared)");
    note(&al.only_in_b, "only in B (not compared)");
    note(&al.skipped, "skipped in A or B (not compared)");
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

/// Compares run B against run A item by item.
///
/// Rows are paired by id; ids found in only one run, ids skipped (no valid
/// value) in either run and ids duplicated within a run are listed and
/// counted, never silently dropped. For all-0/1 pairs the test is the exact
/// McNemar test with Newcombe's interval for the difference; otherwise the
/// seeded paired bootstrap. With an invalid `cfg` no test is run, the
/// verdict is `no_evidence` and a warning says why (call
/// [`CompareConfig::validate`] first to reject it earlier). The result does
/// not depend on the order of the rows.
pub fn compare(a: &[ItemRow], b: &[ItemRow], cfg: &CompareConfig) -> PairedComparison {
    let al = align(a, b);
    let mut warnings = alignment_warnings(&al);
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
        n_only_in_a: al.only_in_a.len(),
        n_only_in_b: al.only_in_b.len(),
        n_skipped: al.skipped.len(),
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
mod tests {
    use super::*;
    use crate::scoring::rows::tests::row;

    fn runs(pattern: &[(u8, u8)]) -> (Vec<ItemRow>, Vec<ItemRow>) {
        let mut a = Vec::new();
        let mut b = Vec::new();
        for (i, &(x, y)) in pattern.iter().enumerate() {
            let id = format!("q{i:04}");
            a.push(row(&id, "core", Some(f64::from(x)), None));
            b.push(row(&id, "core", Some(f64::from(y)), None));
        }
        (a, b)
    }

    fn table(both: usize, a_only: usize, b_only: usize, neither: usize) -> Vec<(u8, u8)> {
        let mut p = vec![(1, 1); both];
        p.extend(vec![(1, 0); a_only]);
        p.extend(vec![(0, 1); b_only]);
        p.extend(vec![(0, 0); neither]);
        p
    }

    #[test]
    fn compare_binary_uses_mcnemar_and_newcombe() {
        let (a, b) = runs(&table(50, 2, 15, 33));
        let cmp = compare(&a, &b, &CompareConfig::default());
        assert_eq!(cmp.test, Some(PairedTest::McnemarExact));
        assert_eq!(cmp.n_pairs, 100);
        assert_eq!(
            cmp.counts.map(|t| (t.a_right_b_wrong, t.a_wrong_b_right)),
            Some((2, 15))
        );
        assert_eq!(cmp.p_value, Some(mcnemar_exact(2, 15)));
        assert!((cmp.diff.unwrap_or(0.0) - 0.13).abs() < 1e-12);
        assert_eq!(cmp.verdict, Verdict::Improved);
        let ci = cmp.diff_ci.map(|c| (c.method, c.low > 0.0, c.level));
        assert_eq!(ci, Some((DiffCiMethod::NewcombeHybridScore, true, 0.95)));
        assert!(cmp.min_detectable_difference.is_some());

        let reverse = compare(&b, &a, &CompareConfig::default());
        assert_eq!(reverse.verdict, Verdict::Regressed);
        assert_eq!(reverse.p_value, cmp.p_value);

        let strict = CompareConfig {
            min_effect: 0.2,
            ..CompareConfig::default()
        };
        assert_eq!(compare(&a, &b, &strict).verdict, Verdict::NoEvidence);

        let (a, b) = runs(&table(50, 6, 8, 36));
        assert_eq!(
            compare(&a, &b, &CompareConfig::default()).verdict,
            Verdict::NoEvidence
        );
    }

    #[test]
    fn compare_continuous_uses_paired_bootstrap() {
        let a: Vec<ItemRow> = (0..60)
            .map(|i| row(&format!("{i}"), "c", None, Some(f64::from(i % 7) * 10.0)))
            .collect();
        let b: Vec<ItemRow> = (0..60)
            .map(|i| {
                row(
                    &format!("{i}"),
                    "c",
                    None,
                    Some(f64::from(i % 7) * 10.0 + 15.0),
                )
            })
            .collect();
        let cmp = compare(&a, &b, &CompareConfig::default());
        assert_eq!(cmp.test, Some(PairedTest::PairedBootstrap));
        assert_eq!(cmp.counts, None);
        assert_eq!(cmp.verdict, Verdict::Improved);
        let ci = cmp.diff_ci.map(|c| c.method);
        assert_eq!(ci, Some(DiffCiMethod::PercentileBootstrap));
        assert!((cmp.diff.unwrap_or(0.0) - 0.15).abs() < 1e-12);
    }

    #[test]
    fn compare_lists_everything_it_does_not_compare() {
        let a = vec![
            row("both", "c", Some(1.0), None),
            row("only-a", "c", Some(1.0), None),
            row("skip", "c", None, None),
            row("dup", "c", Some(1.0), None),
            row("dup", "c", Some(0.0), None),
        ];
        let b = vec![
            row("skip", "c", Some(1.0), None),
            row("both", "c", Some(0.0), None),
            row("only-b2", "c", Some(1.0), None),
            row("only-b1", "c", Some(1.0), None),
            row("dup", "c", Some(1.0), None),
        ];
        let cmp = compare(&a, &b, &CompareConfig::default());
        assert_eq!(cmp.n_pairs, 1);
        assert_eq!(cmp.only_in_a, ["only-a"]);
        assert_eq!(cmp.only_in_b, ["only-b1", "only-b2"]);
        assert_eq!((cmp.n_only_in_a, cmp.n_only_in_b, cmp.n_skipped), (1, 2, 1));
        assert_eq!(cmp.skipped_ids, ["skip"]);
        assert_eq!(cmp.duplicate_ids, ["dup"]);
        assert_eq!(cmp.warnings.len(), 5, "{:?}", cmp.warnings);
        assert_eq!(cmp.verdict, Verdict::NoEvidence);
    }

    #[test]
    fn compare_with_nothing_or_bad_settings_gives_no_evidence() {
        let empty = compare(&[], &[], &CompareConfig::default());
        assert_eq!((empty.n_pairs, empty.test, empty.p_value), (0, None, None));
        assert_eq!(empty.min_detectable_difference, None);
        assert_eq!(empty.verdict, Verdict::NoEvidence);

        let (a, b) = runs(&table(10, 0, 40, 10));
        let bad = CompareConfig {
            alpha: 1.5,
            ..CompareConfig::default()
        };
        assert!(bad.validate().is_err());
        let cmp = compare(&a, &b, &bad);
        assert_eq!((cmp.verdict, cmp.p_value), (Verdict::NoEvidence, None));
        assert!(cmp.warnings.iter().any(|w| w.contains("alpha")));
    }

    #[test]
    fn compare_config_serde() {
        let cfg: Option<CompareConfig> = serde_json::from_str(r#"{"alpha": 0.01}"#).ok();
        assert_eq!(cfg.map(|c| (c.alpha, c.resamples)), Some((0.01, 10_000)));
        assert!(serde_json::from_str::<CompareConfig>(r#"{"alfa": 0.01}"#).is_err());
        let v = serde_json::to_string(&Verdict::NoEvidence).ok();
        assert_eq!(v.as_deref(), Some("\"no_evidence\""));
    }

    #[test]
    fn verdict_rule() {
        assert_eq!(
            verdict(Some(0.01), Some(0.1), 0.05, 0.05),
            Verdict::Improved
        );
        assert_eq!(
            verdict(Some(0.01), Some(0.04), 0.05, 0.05),
            Verdict::NoEvidence
        );
        assert_eq!(
            verdict(Some(0.01), Some(-0.1), 0.05, 0.0),
            Verdict::Regressed
        );
        assert_eq!(
            verdict(Some(0.05), Some(0.5), 0.05, 0.0),
            Verdict::NoEvidence
        );
        assert_eq!(
            verdict(Some(0.0), Some(0.0), 0.05, 0.0),
            Verdict::NoEvidence
        );
        assert_eq!(verdict(None, Some(0.5), 0.05, 0.0), Verdict::NoEvidence);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::rng::Rng;
    use crate::scoring::rows::tests::row;
    use proptest::prelude::*;

    fn paired_rows(binary: bool) -> impl Strategy<Value = Vec<(String, f64, f64)>> {
        let value = if binary {
            prop::sample::select(vec![0.0, 1.0]).boxed()
        } else {
            (0.0_f64..=1.0).boxed()
        };
        prop::collection::vec(("[a-z]{1,3}", value.clone(), value), 0..50)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn compare_is_order_independent(
            (rows, binary) in prop_oneof![paired_rows(true).prop_map(|r| (r, true)), paired_rows(false).prop_map(|r| (r, false))],
            shuffle_seed in any::<u64>(),
        ) {
            let a: Vec<ItemRow> = rows.iter().map(|(id, x, _)| row(id, "c", Some(*x), None)).collect();
            let b: Vec<ItemRow> = rows.iter().map(|(id, _, y)| row(id, "c", Some(*y), None)).collect();
            let shuffle = |v: &[ItemRow], seed: u64| {
                let mut v = v.to_vec();
                let mut rng = Rng::new(seed);
                for i in (1..v.len()).rev() {
                    v.swap(i, rng.index(i + 1));
                }
                v
            };
            let cfg = CompareConfig { resamples: 200, ..CompareConfig::default() };
            let one = serde_json::to_string(&compare(&a, &b, &cfg)).ok();
            let two = serde_json::to_string(&compare(&shuffle(&a, shuffle_seed), &shuffle(&b, !shuffle_seed), &cfg)).ok();
            prop_assert_eq!(&one, &two);
            let cmp = compare(&a, &b, &cfg);
            if cmp.n_pairs > 0 {
                let want = if binary { PairedTest::McnemarExact } else { PairedTest::PairedBootstrap };
                let is_binary_data = cmp.counts.is_some();
                prop_assert!(cmp.test == Some(want) || (!binary && is_binary_data));
                prop_assert!(cmp.p_value.is_some_and(|p| (0.0..=1.0).contains(&p)));
            }
        }
    }
}
