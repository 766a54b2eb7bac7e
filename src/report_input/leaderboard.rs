//! The leaderboard's input from the index: every matching run's items
//! (their full-eval-set scores order the runs, and the paired tie tests
//! read them), the page of best-ranked runs (rows, category means and loss
//! curves of those runs only), the scores of the other matching runs, and
//! the scoring-rules check over every matching run.

use std::collections::BTreeMap;

use super::{summary, thin, MAX_CURVE_POINTS};
use crate::error::{Error, Result};
use crate::report::{decision_order, ItemTable, LeaderboardInput, RunScore};
use crate::scoring::{
    full_set_from_summary, full_set_of_values, FullSetScore, DEFAULT_BOOTSTRAP_SEED,
};
use crate::store::filter::{RunFilter, RunLimit};
use crate::store::query::{self, ItemMatrix};
use crate::store::runs::{self, ScoreRow};
use crate::store::Store;

/// The leaderboard of the runs matching `filter`, listing the best `limit`
/// by full-eval-set score.
pub fn leaderboard(store: &Store, filter: &RunFilter, limit: RunLimit) -> Result<LeaderboardInput> {
    let scores = runs::scores(store, filter)?;
    let matrix = query::item_values(store, filter)?;
    let full: BTreeMap<&str, FullSetScore> = scores
        .iter()
        .map(|s| (s.run_id.as_str(), full_set(s, &matrix)))
        .collect();
    let items = item_table(matrix);
    let mut order: Vec<&ScoreRow> = scores.iter().collect();
    // As the report orders them: a run that scored no item has no rank.
    let score = |r: &ScoreRow| {
        full.get(r.run_id.as_str())
            .filter(|f| f.n_scored > 0)
            .and_then(|f| f.score)
    };
    order.sort_by(|a, b| decision_order(&a.run_id, score(a), &b.run_id, score(b)));
    let shown = match limit {
        RunLimit::All => order.len(),
        RunLimit::First(n) => n.get().min(order.len()),
    };
    let page: Vec<&str> = order[..shown].iter().map(|r| r.run_id.as_str()).collect();
    let (rows, mut curves) = if shown == order.len() {
        (
            runs::matching(store, filter)?,
            runs::matching_loss_curves(store, filter)?,
        )
    } else {
        (
            runs::by_ids(store, &page)?,
            runs::loss_curves(store, &page)?,
        )
    };
    let runs = rows
        .into_iter()
        .map(|row| {
            let curve = curves.remove(&row.run_id).unwrap_or_default();
            let full_set = full.get(row.run_id.as_str()).copied();
            let mut run = summary(row, thin(curve, MAX_CURVE_POINTS))?;
            run.full_set = full_set;
            Ok(run)
        })
        .collect::<Result<_>>()?;
    let unshown = order[shown..]
        .iter()
        .map(|s| RunScore {
            run_id: s.run_id.clone(),
            primary_score: s.primary_score,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            calculator: s.calculator,
            evalset_blake3: s.evalset_blake3.clone().unwrap_or_default(),
            full_set: full.get(s.run_id.as_str()).copied(),
        })
        .collect();
    Ok(LeaderboardInput {
        title: "tunix-rt leaderboard".to_string(),
        filters: filters_shown(filter),
        runs,
        unshown,
        notes: Vec::new(),
        items,
    })
}

/// A run's full-eval-set score: from its items when the index has them,
/// else from its summary figures.
fn full_set(run: &ScoreRow, items: &ItemMatrix) -> FullSetScore {
    match items.runs.get(&run.run_id) {
        Some(rows) if !rows.is_empty() => {
            let values: Vec<Option<f64>> = rows.iter().map(|&(_, v)| v).collect();
            full_set_of_values(&values, DEFAULT_BOOTSTRAP_SEED)
        }
        _ => full_set_from_summary(
            run.primary_score,
            run.n_scored.max(0) as usize,
            run.n_items.max(0) as usize,
            run.ci_method.as_deref() == Some("wilson"),
        ),
    }
}

/// The index's items as the leaderboard's tie tests read them: a valid
/// correctness as itself, a missing or invalid one as 0 (counted as
/// wrong), an id a run holds twice as NaN (never paired).
fn item_table(matrix: ItemMatrix) -> ItemTable {
    let valid = |v: Option<f64>| v.filter(|x| x.is_finite() && (0.0..=1.0).contains(x));
    let runs = matrix
        .runs
        .into_iter()
        .map(|(run, rows)| {
            let mut out: Vec<(u32, f64)> = Vec::with_capacity(rows.len());
            for (index, v) in rows {
                match out.last_mut() {
                    Some(last) if last.0 == index => last.1 = f64::NAN,
                    _ => out.push((index, valid(v).unwrap_or(0.0))),
                }
            }
            (run, out)
        })
        .collect();
    ItemTable {
        ids: matrix.ids,
        runs,
    }
}

/// The leaderboard of the runs matching `filter`, refused when those runs
/// were scored under different scoring-rules versions unless
/// `allow_mixed_rules` (then with a note saying so).
pub fn leaderboard_checked(
    store: &Store,
    filter: &RunFilter,
    limit: RunLimit,
    allow_mixed_rules: bool,
) -> Result<LeaderboardInput> {
    let versions: RulesVersions = runs::rules_versions(store, filter)?.into_iter().fold(
        BTreeMap::new(),
        |mut out, (version, ids)| {
            let version = version.and_then(|v| u32::try_from(v).ok());
            out.entry(version).or_insert_with(Vec::new).extend(ids);
            out
        },
    );
    let note = check_scoring_rules(&versions, allow_mixed_rules)?;
    let mut input = leaderboard(store, filter, limit)?;
    input.notes.extend(note);
    Ok(input)
}

/// The filters as the report shows them, in a fixed order.
fn filters_shown(filter: &RunFilter) -> Vec<(String, String)> {
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
    if !filter.all_runs {
        filters.push((
            "runs".to_string(),
            "evaluated, completed or stopped (--all lists every run)".to_string(),
        ));
    }
    filters
}

/// Evaluated runs by the scoring-rules version they were scored under
/// (none: the summary records no version), each list in run-id order.
pub type RulesVersions = BTreeMap<Option<u32>, Vec<String>>;

/// Most run ids named per version in the mixed-rules message.
const MAX_IDS_SHOWN: usize = 5;

/// `version 1: 3 runs; unknown (not recorded): 2 runs (a, b)`: every
/// version with its run count, and the run ids of all but the largest
/// group (the newest version among equally large ones), at most
/// [`MAX_IDS_SHOWN`] each.
fn describe_versions(versions: &RulesVersions) -> String {
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
            let mut shown: Vec<&str> = ids.iter().take(MAX_IDS_SHOWN).map(String::as_str).collect();
            if ids.len() > MAX_IDS_SHOWN {
                shown.push("…");
            }
            format!("{name}: {count} ({})", shown.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Refuse to rank runs scored under different scoring-rules versions
/// side by side, unless `allow_mixed`: then the note saying so.
pub fn check_scoring_rules(versions: &RulesVersions, allow_mixed: bool) -> Result<Option<String>> {
    if versions.len() < 2 {
        return Ok(None);
    }
    let described = describe_versions(versions);
    if !allow_mixed {
        return Err(Error::bad_input(format!(
            "the runs to rank were scored under different scoring rules ({described}); their scores are not comparable. Re-score the older runs with `tunix-rt rescore <run>...` (current version {}), or narrow the runs with filters (--label, --since, --model, ...), or pass --allow-mixed-rules to rank them side by side anyway",
            crate::scoring::SCORING_RULES_VERSION
        )));
    }
    Ok(Some(format!(
        "runs scored under different scoring rules are ranked side by side ({described}); scores under different rules may not be comparable (`tunix-rt rescore` re-scores a run under the current rules)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(groups: &[(Option<u32>, &[&str])]) -> RulesVersions {
        groups
            .iter()
            .map(|(v, ids)| (*v, ids.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    #[test]
    fn one_rules_version_ranks_without_a_note() {
        let one = versions(&[(Some(1), &["a", "b"])]);
        assert_eq!(check_scoring_rules(&one, false).expect("one version"), None);
        assert_eq!(
            check_scoring_rules(&BTreeMap::new(), false).expect("none"),
            None
        );
    }

    #[test]
    fn mixed_rules_versions_are_refused_or_noted() {
        let mixed = versions(&[(Some(1), &["a", "b"]), (Some(2), &["c"]), (None, &["old"])]);
        let err = check_scoring_rules(&mixed, false).expect_err("mixed");
        assert_eq!(err.kind(), crate::error::ErrorKind::BadInput);
        assert!(
            err.message().contains(
                "unknown (not recorded): 1 run (old); version 1: 2 runs; version 2: 1 run (c)"
            ),
            "{err}"
        );
        assert!(err.message().contains("--allow-mixed-rules"), "{err}");
        let note = check_scoring_rules(&mixed, true)
            .expect("allowed")
            .expect("a note");
        assert!(note.contains("version 2: 1 run (c)"), "{note}");
    }

    #[test]
    fn long_groups_are_cut_and_ties_keep_the_newest_version_unnamed() {
        let old: Vec<String> = (0..7).map(|i| format!("o{i}")).collect();
        let new: Vec<String> = (0..7).map(|i| format!("n{i}")).collect();
        let groups: RulesVersions = [(None, old), (Some(3), new)].into_iter().collect();
        assert_eq!(
            describe_versions(&groups),
            "unknown (not recorded): 7 runs (o0, o1, o2, o3, o4, …); version 3: 7 runs"
        );
    }

    #[test]
    fn filters_are_shown_in_a_fixed_order() {
        let filter = RunFilter {
            all_runs: true,
            sweep: Some("s".into()),
            dataset: Some("d".into()),
            labels: vec![("k".into(), "v".into())],
            ..RunFilter::default()
        };
        assert_eq!(
            filters_shown(&filter),
            vec![
                ("dataset".to_string(), "d".to_string()),
                ("sweep".to_string(), "s".to_string()),
                ("label".to_string(), "k=v".to_string()),
            ]
        );
    }
}
