//! Report inputs: the rows of runs turned into what the report renderer
//! takes, from the index (`tunix-rt report`, the benchmarks; the
//! leaderboard in [`leaderboard`]) or straight from run folders
//! (`tunix-rt compare`, [`folders`]) and sweep folders (`tunix-rt report
//! sweep`, [`sweep`]); the comparison of two or more runs from either
//! ([`multi`]).

mod folders;
mod leaderboard;
mod multi;
mod sweep;

pub use folders::compare_folders;
pub use leaderboard::{check_scoring_rules, leaderboard, leaderboard_checked, RulesVersions};
pub use multi::{compare_indexed_runs, compare_run_folders};
pub use sweep::read_sweep_folder;

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::report::{CompareInput, ComparisonFigures, ItemDiff, RunSummary};
use crate::scoring::{
    compare_with as paired, full_set_score, CiMethod, CompareConfig, ConfidenceInterval, ItemRow,
    PairedComparison, Pairing, TagStats, DEFAULT_BOOTSTRAP_SEED,
};
use crate::store::query::{self, ItemScore};
use crate::store::runs::{self, RunRow, TagRow};
use crate::store::Store;

/// The paired comparison of run B against run A (ids as stored).
pub fn compare(
    store: &Store,
    id_a: &str,
    id_b: &str,
    config: &CompareConfig,
    allow_different_evalsets: bool,
) -> Result<CompareInput> {
    let (a, b) = runs::run_pair(store, id_a, id_b)?;
    let evalsets_differ = check_evalsets(
        (id_a, a.evalset_blake3.as_deref()),
        (id_b, b.evalset_blake3.as_deref()),
        allow_different_evalsets,
    )?;
    config
        .validate()
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let (items_a, items_b) = query::item_scores(store, id_a, id_b)?;
    let curves = runs::loss_curves(store, &[id_a, id_b])?;
    let curve = |id: &str| {
        thin(
            curves.get(id).cloned().unwrap_or_default(),
            MAX_CURVE_POINTS,
        )
    };
    let (curve_a, curve_b) = (curve(id_a), curve(id_b));
    Ok(paired_input(
        summary(a, curve_a)?,
        summary(b, curve_b)?,
        items_a,
        items_b,
        config,
        evalsets_differ,
    ))
}

/// Most loss-curve points per run passed to a leaderboard: enough for a
/// small plot, and keeps JSON of thousands of runs small.
pub const MAX_CURVE_POINTS: usize = 200;

/// At most `max` points, evenly spaced, always keeping the first and last.
pub fn thin(points: Vec<(u64, f64)>, max: usize) -> Vec<(u64, f64)> {
    if points.len() <= max || max < 2 {
        return points;
    }
    let last = points.len() - 1;
    (0..max).map(|i| points[i * last / (max - 1)]).collect()
}

/// Whether runs `(id, eval-set blake3)` A and B were scored on different
/// eval sets; an error unless that is allowed.
fn check_evalsets(
    (id_a, hash_a): (&str, Option<&str>),
    (id_b, hash_b): (&str, Option<&str>),
    allow_different_evalsets: bool,
) -> Result<bool> {
    let differ = hash_a != hash_b;
    if differ && !allow_different_evalsets {
        return Err(Error::bad_input(format!(
            "`{id_a}` and `{id_b}` were scored on different eval sets ({} vs {}); pass --allow-different-evalsets to compare their shared item ids anyway",
            short(hash_a),
            short(hash_b)
        )));
    }
    Ok(differ)
}

/// The comparison of B against A: the paired statistics over their items
/// (every item of either run, a missing one counted as wrong; only shared
/// ids when the eval sets differ), each run's full-eval-set score and
/// coverage, and the items side by side (A's rows are moved into the diff;
/// a row paired with several rows of one id is copied).
fn paired_input(
    mut a: RunSummary,
    mut b: RunSummary,
    items_a: Vec<ItemScore>,
    items_b: Vec<ItemScore>,
    config: &CompareConfig,
    evalsets_differ: bool,
) -> CompareInput {
    let pairing = if evalsets_differ {
        Pairing::Shared
    } else {
        Pairing::Union
    };
    let (rows_a, rows_b) = (rows(&items_a), rows(&items_b));
    a.full_set = Some(full_set_score(&rows_a, DEFAULT_BOOTSTRAP_SEED));
    b.full_set = Some(full_set_score(&rows_b, DEFAULT_BOOTSTRAP_SEED));
    let result = paired(&rows_a, &rows_b, config, pairing);
    let by_id_a: BTreeMap<&str, &ItemScore> = items_a.iter().map(|r| (r.id.as_str(), r)).collect();
    let by_id_b: BTreeMap<&str, &ItemScore> = items_b.iter().map(|r| (r.id.as_str(), r)).collect();
    let only_b = items_b
        .iter()
        .filter(|rb| pairing == Pairing::Union && !by_id_a.contains_key(rb.id.as_str()))
        .map(|rb| ItemDiff {
            id: rb.id.clone(),
            category: rb.category.clone(),
            expected: rb.expected.clone(),
            a_extracted: None,
            a_correct: None,
            b_extracted: rb.extracted.clone(),
            b_correct: rb.answer_correctness,
        });
    let items = items_a
        .iter()
        .filter_map(|ra| {
            let rb = by_id_b.get(ra.id.as_str());
            if rb.is_none() && pairing == Pairing::Shared {
                return None;
            }
            Some(ItemDiff {
                b_extracted: rb.and_then(|rb| rb.extracted.clone()),
                b_correct: rb.and_then(|rb| rb.answer_correctness),
                id: ra.id.clone(),
                category: ra.category.clone(),
                expected: ra.expected.clone(),
                a_extracted: ra.extracted.clone(),
                a_correct: ra.answer_correctness,
            })
        })
        .chain(only_b)
        .collect();
    CompareInput {
        a,
        b,
        figures: figures(&result),
        items,
        evalsets_differ,
    }
}

fn rows(items: &[ItemScore]) -> Vec<ItemRow> {
    items.iter().map(ItemScore::item_row).collect()
}

/// An eval-set hash as shown in messages: its first 12 characters
/// (characters, not bytes: a hand-edited run folder may hold any text).
fn short(hash: Option<&str>) -> String {
    hash.map(|h| format!("blake3 {}…", h.chars().take(12).collect::<String>()))
        .unwrap_or_else(|| "no eval set".to_string())
}

fn summary(row: RunRow, loss_curve: Vec<(u64, f64)>) -> Result<RunSummary> {
    let ci_method = row
        .ci_method
        .as_deref()
        .map(|m| ci_method(&row.run_id, m))
        .transpose()?;
    let tag_scores = row
        .tag_scores
        .iter()
        .map(|(tag, t)| Ok((tag.clone(), tag_stats(&row.run_id, t)?)))
        .collect::<Result<_>>()?;
    Ok(RunSummary {
        run_id: row.run_id,
        name: row.name,
        kind: row.kind,
        model_id: row.model_id,
        dataset: row.dataset,
        config_hash: row.config_hash,
        labels: row.labels,
        created_at: row.created_at,
        git_commit: row.git_commit,
        git_dirty: row.git_dirty,
        evalset_path: row.evalset_path.unwrap_or_default(),
        evalset_blake3: row.evalset_blake3.unwrap_or_default(),
        primary_score: row.primary_score,
        ci_low: row.ci_low,
        ci_high: row.ci_high,
        ci_method,
        n_items: row.n_items.max(0) as u64,
        n_scored: row.n_scored.max(0) as u64,
        n_skipped: row.n_skipped.max(0) as u64,
        status: row.status,
        full_set: None,
        category_means: row.category_means,
        sweep_id: row.tuning_job_id,
        loss_curve,
        scoring_rules_version: row
            .scoring_rules_version
            .and_then(|v| u32::try_from(v).ok()),
        calculator: row.calculator,
        tag_scores,
    })
}

/// A tag's figures as the index stores them for run `run_id`: counts
/// (negative ones read as 0), the mean, and the CI when both bounds and
/// the method are there.
fn tag_stats(run_id: &str, t: &TagRow) -> Result<TagStats> {
    let count = |n: i64| usize::try_from(n).unwrap_or(0);
    let ci95 = match (t.ci_low, t.ci_high, t.ci_method.as_deref()) {
        (Some(low), Some(high), Some(method)) => Some(ConfidenceInterval {
            low,
            high,
            method: ci_method(run_id, method)?,
        }),
        _ => None,
    };
    Ok(TagStats {
        n_items: count(t.n_items),
        n_scored: count(t.n_scored),
        n_skipped: count(t.n_skipped),
        n_correct: count(t.n_correct),
        mean: t.mean,
        ci95,
    })
}

/// The CI method the index stores as text for run `run_id`.
fn ci_method(run_id: &str, stored: &str) -> Result<CiMethod> {
    serde_json::from_value(serde_json::Value::String(stored.to_string())).map_err(|_| {
        Error::runtime(format!(
            "the index holds an unknown CI method `{stored}` for run `{run_id}`; rebuild it with `tunix-rt db rebuild`"
        ))
    })
}

/// The comparison's figures as the reports show them: scores on the 0–1
/// scale, differences in percentage points.
fn figures(c: &PairedComparison) -> ComparisonFigures {
    let pp = |x: Option<f64>| x.filter(|v| v.is_finite()).map(|v| v * 100.0);
    ComparisonFigures {
        n_pairs: c.n_pairs as u64,
        pairing: c.pairing,
        n_only_in_a: c.n_only_in_a as u64,
        only_in_a: c.only_in_a.clone(),
        n_only_in_b: c.n_only_in_b as u64,
        only_in_b: c.only_in_b.clone(),
        n_skipped: c.n_skipped as u64,
        n_unscored_a: c.n_unscored_a as u64,
        n_unscored_b: c.n_unscored_b as u64,
        mean_a: c.mean_a,
        mean_b: c.mean_b,
        diff_pp: pp(c.diff),
        diff_ci_low_pp: pp(c.diff_ci.as_ref().map(|d| d.low)),
        diff_ci_high_pp: pp(c.diff_ci.as_ref().map(|d| d.high)),
        diff_ci_method: c.diff_ci.as_ref().map(|d| d.method),
        test: c.test,
        p_value: c.p_value,
        verdict: c.verdict,
        min_detectable_difference_pp: pp(c.min_detectable_difference),
        alpha: c.config.alpha,
        min_effect_pp: c.config.min_effect * 100.0,
        warnings: c.warnings.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_the_count() {
        let points: Vec<(u64, f64)> = (0..1000).map(|i| (i, i as f64)).collect();
        let thinned = thin(points.clone(), 200);
        assert_eq!(thinned.len(), 200);
        assert_eq!(thinned.first(), points.first());
        assert_eq!(thinned.last(), points.last());
        assert_eq!(thin(points[..10].to_vec(), 200).len(), 10);
    }

    #[test]
    fn hashes_are_cut_by_characters_not_bytes() {
        // `&hash[..12]` would panic: byte 12 falls inside an `é`.
        let hash = format!("0{}", "é".repeat(40));
        assert_eq!(short(Some(&hash)), format!("blake3 0{}…", "é".repeat(11)));
        assert_eq!(
            short(Some(&"é".repeat(32))),
            format!("blake3 {}…", "é".repeat(12))
        );
        assert_eq!(short(Some("abc")), "blake3 abc…");
        assert_eq!(short(None), "no eval set");
    }

    #[test]
    fn stored_tag_figures_become_tag_stats() {
        let row = TagRow {
            n_items: 5,
            n_scored: 4,
            n_skipped: 1,
            n_correct: 3,
            mean: Some(0.75),
            ci_low: Some(0.3),
            ci_high: Some(0.95),
            ci_method: Some("wilson".into()),
        };
        let t = tag_stats("r", &row).expect("valid");
        assert_eq!(
            (t.n_items, t.n_scored, t.n_skipped, t.n_correct),
            (5, 4, 1, 3)
        );
        assert_eq!(
            t.ci95.map(|c| (c.low, c.method)),
            Some((0.3, CiMethod::Wilson))
        );
        let no_ci = TagRow {
            ci_low: None,
            n_correct: -1,
            ..row.clone()
        };
        let t = tag_stats("r", &no_ci).expect("valid");
        assert_eq!((t.ci95, t.n_correct), (None, 0));
        let bad = TagRow {
            ci_method: Some("magic".into()),
            ..row
        };
        assert!(tag_stats("r", &bad).is_err());
    }

    #[test]
    fn stored_ci_methods_parse_and_unknown_ones_are_errors() {
        assert_eq!(ci_method("r", "wilson").expect("known"), CiMethod::Wilson);
        assert_eq!(
            ci_method("r", "bootstrap").expect("known"),
            CiMethod::Bootstrap
        );
        let err = ci_method("r", "magic").expect_err("unknown");
        assert!(err.message().contains("`magic`"), "{err}");
    }
}
