//! Report inputs: the rows of runs turned into what the report renderer
//! takes, from the index (`tunix-rt report`, the benchmarks) or straight
//! from run folders (`tunix-rt compare`, [`folders`]) and sweep folders
//! (`tunix-rt report sweep`, [`sweep`]).

mod folders;
mod sweep;

pub use folders::{compare_folders, resolve_run_folder};
pub use sweep::{read_sweep_folder, resolve_sweep_folder};

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::report::{CompareInput, ComparisonFigures, ItemDiff, LeaderboardInput, RunSummary};
use crate::runfolder::EvalItemRecord;
use crate::scoring::{compare as paired, CiMethod, CompareConfig, ItemRow, PairedComparison};
use crate::store::query::{self, RunFilter, RunRow};
use crate::store::Store;

/// The leaderboard of the runs matching `filter`.
pub fn leaderboard(store: &Store, filter: &RunFilter) -> Result<LeaderboardInput> {
    let mut filters: Vec<(String, String)> = Vec::new();
    for (key, value) in [
        ("dataset", &filter.dataset),
        ("model", &filter.model),
        ("config", &filter.config),
        ("since", &filter.since),
        ("until", &filter.until),
        ("sweep", &filter.sweep),
    ] {
        if let Some(v) = value {
            filters.push((key.to_string(), v.clone()));
        }
    }
    for (k, v) in &filter.labels {
        filters.push(("label".to_string(), format!("{k}={v}")));
    }
    let mut curves = query::loss_curves(store, None)?;
    let runs = query::runs(store, filter)?
        .into_iter()
        .map(|row| {
            let curve = curves.remove(&row.run_id).unwrap_or_default();
            summary(row, thin(curve, MAX_CURVE_POINTS))
        })
        .collect::<Result<_>>()?;
    Ok(LeaderboardInput {
        title: "tunix-rt leaderboard".to_string(),
        filters,
        runs,
        notes: Vec::new(),
    })
}

/// The leaderboard of the runs matching `filter`, refused when its runs
/// were scored under different scoring-rules versions unless
/// `allow_mixed_rules` (then with a note saying so).
pub fn leaderboard_checked(
    store: &Store,
    filter: &RunFilter,
    allow_mixed_rules: bool,
) -> Result<LeaderboardInput> {
    let mut input = leaderboard(store, filter)?;
    check_scoring_rules(&mut input, allow_mixed_rules)?;
    Ok(input)
}

/// How many evaluated runs of `runs` were scored under each scoring-rules
/// version (none: the summary records no version). Runs without an
/// evaluation are not counted.
pub fn rules_versions(runs: &[RunSummary]) -> BTreeMap<Option<u32>, Vec<&str>> {
    let mut out: BTreeMap<Option<u32>, Vec<&str>> = BTreeMap::new();
    for run in runs.iter().filter(|r| r.n_items > 0) {
        out.entry(run.scoring_rules_version)
            .or_default()
            .push(&run.run_id);
    }
    out
}

/// Most run ids named per version in the mixed-rules message.
const MAX_IDS_SHOWN: usize = 5;

/// `version 1: 3 runs; unknown (not recorded): 2 runs (a, b)`: every
/// version with its run count, and the run ids of all but the largest
/// group (the newest version among equally large ones), at most
/// [`MAX_IDS_SHOWN`] each.
fn describe_versions(versions: &BTreeMap<Option<u32>, Vec<&str>>) -> String {
    let largest = versions
        .iter()
        .max_by_key(|(v, ids)| (ids.len(), **v))
        .map(|(v, _)| *v);
    versions
        .iter()
        .map(|(version, ids)| {
            let name = match version {
                Some(v) => format!("version {v}"),
                None => "unknown (not recorded)".to_string(),
            };
            let count = format!("{} run{}", ids.len(), if ids.len() == 1 { "" } else { "s" });
            if Some(*version) == largest {
                return format!("{name}: {count}");
            }
            let mut shown: Vec<&str> = ids.iter().take(MAX_IDS_SHOWN).copied().collect();
            if ids.len() > MAX_IDS_SHOWN {
                shown.push("…");
            }
            format!("{name}: {count} ({})", shown.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Refuse to rank runs scored under different scoring-rules versions
/// side by side, unless `allow_mixed`: then add a note saying so.
pub fn check_scoring_rules(input: &mut LeaderboardInput, allow_mixed: bool) -> Result<()> {
    let versions = rules_versions(&input.runs);
    if versions.len() < 2 {
        return Ok(());
    }
    let described = describe_versions(&versions);
    if !allow_mixed {
        return Err(Error::bad_input(format!(
            "the runs to rank were scored under different scoring rules ({described}); their scores are not comparable. Re-score the older runs with `tunix-rt rescore <run>...` (current version {}), or narrow the runs with filters (--label, --since, --model, ...), or pass --allow-mixed-rules to rank them side by side anyway",
            crate::scoring::SCORING_RULES_VERSION
        )));
    }
    input.notes.push(format!(
        "runs scored under different scoring rules are ranked side by side ({described}); scores under different rules may not be comparable (`tunix-rt rescore` re-scores a run under the current rules)"
    ));
    Ok(())
}

/// The paired comparison of run B against run A (ids as stored).
pub fn compare(
    store: &Store,
    id_a: &str,
    id_b: &str,
    config: &CompareConfig,
    allow_different_evalsets: bool,
) -> Result<CompareInput> {
    let a = query::run(store, id_a)?;
    let b = query::run(store, id_b)?;
    let evalsets_differ = check_evalsets(
        (id_a, a.evalset_blake3.as_deref()),
        (id_b, b.evalset_blake3.as_deref()),
        allow_different_evalsets,
    )?;
    config
        .validate()
        .map_err(|e| Error::bad_input(e.to_string()))?;
    let items_a = query::items(store, id_a)?;
    let items_b = query::items(store, id_b)?;
    let curves = query::loss_curves(store, Some(&[id_a, id_b]))?;
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
        &items_a,
        &items_b,
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

/// The comparison of B against A: the paired statistics over their items,
/// and the items present in both, side by side.
fn paired_input(
    a: RunSummary,
    b: RunSummary,
    items_a: &[EvalItemRecord],
    items_b: &[EvalItemRecord],
    config: &CompareConfig,
    evalsets_differ: bool,
) -> CompareInput {
    let result = paired(&rows(items_a), &rows(items_b), config);
    let by_id_b: BTreeMap<&str, &EvalItemRecord> =
        items_b.iter().map(|r| (r.id.as_str(), r)).collect();
    let items = items_a
        .iter()
        .filter_map(|ra| {
            by_id_b.get(ra.id.as_str()).map(|rb| ItemDiff {
                id: ra.id.clone(),
                category: ra.category.clone(),
                expected: ra.expected.clone(),
                a_extracted: ra.extracted.clone(),
                a_correct: ra.answer_correctness,
                b_extracted: rb.extracted.clone(),
                b_correct: rb.answer_correctness,
            })
        })
        .collect();
    CompareInput {
        a,
        b,
        figures: figures(&result),
        items,
        evalsets_differ,
    }
}

fn rows(items: &[EvalItemRecord]) -> Vec<ItemRow> {
    items.iter().map(EvalItemRecord::item_row).collect()
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
        category_means: row.category_means,
        sweep_id: row.tuning_job_id,
        loss_curve,
        scoring_rules_version: row
            .scoring_rules_version
            .and_then(|v| u32::try_from(v).ok()),
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

fn figures(c: &PairedComparison) -> ComparisonFigures {
    ComparisonFigures {
        n_pairs: c.n_pairs as u64,
        n_only_in_a: c.n_only_in_a as u64,
        only_in_a: c.only_in_a.clone(),
        n_only_in_b: c.n_only_in_b as u64,
        only_in_b: c.only_in_b.clone(),
        n_skipped: c.n_skipped as u64,
        mean_a: c.mean_a,
        mean_b: c.mean_b,
        diff: c.diff,
        diff_ci_low: c.diff_ci.as_ref().map(|d| d.low),
        diff_ci_high: c.diff_ci.as_ref().map(|d| d.high),
        diff_ci_method: c.diff_ci.as_ref().map(|d| d.method),
        test: c.test,
        p_value: c.p_value,
        verdict: c.verdict,
        min_detectable_difference: c.min_detectable_difference,
        alpha: c.config.alpha,
        min_effect: c.config.min_effect,
        warnings: c.warnings.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scored(id: &str, version: Option<u32>) -> RunSummary {
        let mut run = RunSummary {
            run_id: id.into(),
            name: id.into(),
            kind: "Eval".into(),
            model_id: "m".into(),
            dataset: None,
            config_hash: "c".into(),
            labels: BTreeMap::new(),
            created_at: String::new(),
            git_commit: None,
            git_dirty: false,
            evalset_path: String::new(),
            evalset_blake3: String::new(),
            primary_score: Some(0.5),
            ci_low: None,
            ci_high: None,
            ci_method: None,
            n_items: 10,
            n_scored: 10,
            n_skipped: 0,
            category_means: BTreeMap::new(),
            sweep_id: None,
            loss_curve: Vec::new(),
            scoring_rules_version: version,
        };
        if id.starts_with("train") {
            run.n_items = 0;
            run.primary_score = None;
        }
        run
    }

    fn input(runs: Vec<RunSummary>) -> LeaderboardInput {
        LeaderboardInput {
            title: "t".into(),
            filters: vec![],
            runs,
            notes: vec![],
        }
    }

    #[test]
    fn one_rules_version_ranks_and_unevaluated_runs_do_not_count() {
        let mut one = input(vec![
            scored("a", Some(1)),
            scored("b", Some(1)),
            scored("train-only", None),
        ]);
        check_scoring_rules(&mut one, false).expect("one version");
        assert!(one.notes.is_empty());
    }

    #[test]
    fn mixed_rules_versions_are_refused_or_noted() {
        let runs = vec![
            scored("a", Some(1)),
            scored("b", Some(1)),
            scored("c", Some(2)),
            scored("old", None),
        ];
        let err = check_scoring_rules(&mut input(runs.clone()), false).expect_err("mixed");
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        assert!(
            err.message().contains(
                "unknown (not recorded): 1 run (old); version 1: 2 runs; version 2: 1 run (c)"
            ),
            "{err}"
        );
        assert!(err.message().contains("--allow-mixed-rules"), "{err}");
        let mut allowed = input(runs);
        check_scoring_rules(&mut allowed, true).expect("allowed");
        assert_eq!(allowed.notes.len(), 1);
        assert!(
            allowed.notes[0].contains("version 2: 1 run (c)"),
            "{:?}",
            allowed.notes
        );
    }

    #[test]
    fn long_groups_are_cut_and_ties_keep_the_newest_version_unnamed() {
        let mut runs: Vec<RunSummary> = (0..7).map(|i| scored(&format!("o{i}"), None)).collect();
        runs.extend((0..7).map(|i| scored(&format!("n{i}"), Some(3))));
        let versions = rules_versions(&runs);
        assert_eq!(
            describe_versions(&versions),
            "unknown (not recorded): 7 runs (o0, o1, o2, o3, o4, …); version 3: 7 runs"
        );
    }

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
