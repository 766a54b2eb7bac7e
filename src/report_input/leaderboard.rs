//! The leaderboard's input from the index: the page of best-ranked runs
//! matching the filters (rows, category means and loss curves of those
//! runs only), the scores of the other matching runs (for ranks and ties),
//! and the scoring-rules check over every matching run.

use std::collections::BTreeMap;

use super::{summary, thin, MAX_CURVE_POINTS};
use crate::error::{Error, Result};
use crate::report::{LeaderboardInput, RunScore};
use crate::store::filter::{RunFilter, RunLimit};
use crate::store::runs;
use crate::store::Store;

/// The leaderboard of the runs matching `filter`, listing the best `limit`.
pub fn leaderboard(store: &Store, filter: &RunFilter, limit: RunLimit) -> Result<LeaderboardInput> {
    let mut curves = runs::page_loss_curves(store, filter, limit)?;
    let runs = runs::page(store, filter, limit)?
        .into_iter()
        .map(|row| {
            let curve = curves.remove(&row.run_id).unwrap_or_default();
            summary(row, thin(curve, MAX_CURVE_POINTS))
        })
        .collect::<Result<_>>()?;
    let unshown = runs::scores_after_page(store, filter, limit)?
        .into_iter()
        .map(|s| RunScore {
            run_id: s.run_id,
            primary_score: s.primary_score,
            ci_low: s.ci_low,
            ci_high: s.ci_high,
            calculator: s.calculator,
        })
        .collect();
    Ok(LeaderboardInput {
        title: "tunix-rt leaderboard".to_string(),
        filters: filters_shown(filter),
        runs,
        unshown,
        notes: Vec::new(),
    })
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
