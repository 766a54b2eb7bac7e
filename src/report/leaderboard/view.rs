//! The leaderboard's template context: one row per listed run with its
//! display text prepared (rank and the rule that decided it, status,
//! full-eval-set score, coverage, primary score, a run id long enough to
//! tell runs of the same name apart), the score chart and loss curves.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;
use serde::Serialize;

use super::super::calculator;
use super::super::context::RunContext;
use super::super::rank::{Interval, TieRule};
use super::super::svg::{self, ScoreRow};
use super::super::tags::{self, TagCell};
use super::super::templates::trusted;
use super::super::{num, words, RunSummary};
use super::{tie_rule_text, FilterDoc, LeaderboardDoc, RankedRunDoc};

/// Most runs drawn in the HTML score chart (the table lists every shown run).
const MAX_CHART_RUNS: usize = 50;
/// Most loss curves drawn in the HTML report, best-ranked first.
const MAX_LOSS_CURVES: usize = 24;
/// Characters of a run id shown at least, when it is shown.
const SHORT_ID: usize = 8;

/// What the leaderboard templates receive.
#[derive(Debug, Serialize)]
pub(super) struct View<'a> {
    title: &'a str,
    filters: &'a [FilterDoc<'a>],
    notes: &'a [String],
    /// Runs matching the filters.
    n_runs: usize,
    /// Runs listed (the best `n_shown` of `n_runs`).
    n_shown: usize,
    /// Union of the listed runs' categories, sorted.
    categories: Vec<&'a str>,
    /// Union of the listed runs' item tags, sorted.
    tags: Vec<&'a str>,
    /// What the calculator marker means.
    calc_meaning: &'static str,
    /// Whether any listed run is calculator-assisted.
    any_calculator: bool,
    /// Whether any listed run is incomplete (coverage below 100%).
    any_incomplete: bool,
    /// How runs are ranked and ties decided, in words.
    tie_rule: String,
    rows: Vec<RowView<'a>>,
    any_tied: bool,
    /// The score chart (HTML only), safe markup.
    chart: Option<Value>,
    chart_runs: usize,
    loss_curves: Vec<CurveView<'a>>,
    runs_with_curves: usize,
}

/// One table row, with display text prepared.
#[derive(Debug, Serialize)]
struct RowView<'a> {
    /// The rank, or `—` for a run that is not ranked.
    rank: Value,
    /// Sort key of the rank (empty when not ranked).
    rank_key: Value,
    ranked: bool,
    /// Whether the run has rank 1.
    leader_group: bool,
    tied: bool,
    tied_with_leader: bool,
    run: RunContext<'a>,
    /// The run id, cut where it still tells apart every listed run of the
    /// same name (at least 8 characters).
    short_id: String,
    /// Whether the id says more than the name: it differs from it, or
    /// another listed run has the same name.
    show_id: bool,
    /// `completed`, `stopped`, ... (`—` when unknown).
    status: &'a str,
    /// The full-eval-set score with its CI: `0.0917 [0.0518, 0.1572]`.
    full_score: Value,
    full_key: Value,
    /// The primary score (scored items only) with its CI.
    score: Value,
    score_key: Value,
    /// Coverage: `100.0%`, `9.2%`.
    coverage: Value,
    coverage_key: Value,
    incomplete: bool,
    /// The rule that placed the run: `leader`, `paired, Holm p 0.0030`,
    /// `CI overlap`, `CIs apart`, or `—` (not ranked).
    decided_by: String,
    /// `n_items / n_scored / n_skipped`.
    counts: Value,
    category_cells: Vec<CellView>,
    /// One cell per tag of [`View::tags`].
    tag_cells: Vec<TagCell>,
    created: String,
    commit: String,
    ci_method: &'static str,
}

/// A numeric cell: its text and its sort key.
#[derive(Debug, Serialize)]
struct CellView {
    text: Value,
    key: Value,
}

/// A loss curve of one run (HTML only).
#[derive(Debug, Serialize)]
struct CurveView<'a> {
    run: RunContext<'a>,
    svg: Value,
}

/// The template context for `doc`; charts only when `charts` (HTML).
pub(super) fn view<'a>(doc: &'a LeaderboardDoc<'a>, charts: bool) -> View<'a> {
    let categories = categories(doc);
    let tags = tags::tag_names(doc.runs.iter().map(|r| r.run));
    let ids = id_labels(doc.runs.iter().map(|r| r.run));
    let rows: Vec<RowView> = doc
        .runs
        .iter()
        .zip(ids)
        .map(|(r, id)| row(r, id, &categories, &tags))
        .collect();
    let curves: Vec<CurveView> = if charts { loss_curves(doc) } else { Vec::new() };
    let runs_with_curves = doc
        .runs
        .iter()
        .filter(|r| !r.run.loss_curve.is_empty())
        .count();
    View {
        title: doc.title,
        filters: &doc.filters,
        notes: &doc.notes,
        n_runs: doc.matching_runs.unwrap_or(doc.runs.len()),
        n_shown: doc.runs.len(),
        categories,
        tags,
        calc_meaning: calculator::MEANING,
        any_calculator: doc.runs.iter().any(|r| r.run.calculator),
        any_incomplete: doc.runs.iter().any(|r| r.incomplete),
        tie_rule: tie_rule_text(doc.alpha),
        any_tied: rows.iter().any(|r| r.tied),
        rows,
        chart: charts.then(|| Value::from_safe_string(score_chart(doc))),
        chart_runs: doc.runs.len().min(MAX_CHART_RUNS),
        loss_curves: curves,
        runs_with_curves,
    }
}

/// Every category of every run, sorted.
fn categories<'a>(doc: &LeaderboardDoc<'a>) -> Vec<&'a str> {
    let set: BTreeSet<&str> = doc
        .runs
        .iter()
        .flat_map(|r| r.run.category_means.keys().map(String::as_str))
        .collect();
    set.into_iter().collect()
}

/// Per run: whether to show its id, and the id cut to at least
/// [`SHORT_ID`] characters and long enough to differ from the ids of the
/// other runs with the same name.
fn id_labels<'a>(runs: impl Iterator<Item = &'a RunSummary> + Clone) -> Vec<(bool, String)> {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for run in runs.clone() {
        by_name.entry(&run.name).or_default().push(&run.run_id);
    }
    runs.map(|run| {
        let same_name = &by_name[run.name.as_str()];
        let id: Vec<char> = run.run_id.chars().collect();
        let needed = same_name
            .iter()
            .filter(|other| **other != run.run_id)
            .map(|other| common_prefix(&id, other) + 1)
            .max()
            .unwrap_or(0)
            .max(SHORT_ID);
        let show = run.run_id != run.name || same_name.len() > 1;
        (show, words::abbrev(&run.run_id, needed))
    })
    .collect()
}

/// Characters `a` and `b` share from the start.
fn common_prefix(a: &[char], b: &str) -> usize {
    a.iter()
        .zip(b.chars())
        .take_while(|(x, y)| **x == *y)
        .count()
}

/// The table row of `ranked`, with a cell per category and per tag.
fn row<'a>(
    ranked: &RankedRunDoc<'a>,
    (show_id, short_id): (bool, String),
    categories: &[&str],
    tags: &[&str],
) -> RowView<'a> {
    let run = ranked.run;
    let full = run.decision();
    let full_ci = full.ci95;
    RowView {
        rank: trusted(ranked.rank.map_or(num::NONE.to_string(), |r| r.to_string())),
        rank_key: trusted(ranked.rank.map(|r| r.to_string()).unwrap_or_default()),
        ranked: ranked.rank.is_some(),
        leader_group: ranked.rank == Some(1),
        tied: ranked.tied,
        tied_with_leader: ranked.tied_with_leader,
        run: RunContext::from(run),
        short_id,
        show_id,
        status: if run.status.is_empty() {
            num::NONE
        } else {
            &run.status
        },
        full_score: trusted(num::with_ci(
            full.score,
            full_ci.map(|c| c.low),
            full_ci.map(|c| c.high),
        )),
        full_key: sort_key(full.score),
        score: trusted(num::with_ci(run.primary_score, run.ci_low, run.ci_high)),
        score_key: sort_key(run.primary_score),
        coverage: trusted(num::percent(full.coverage)),
        coverage_key: sort_key(full.coverage),
        incomplete: ranked.incomplete,
        decided_by: decided_by(ranked),
        counts: trusted(format!(
            "{} / {} / {}",
            run.n_items, run.n_scored, run.n_skipped
        )),
        category_cells: categories
            .iter()
            .map(|c| {
                let mean = run.category_means.get(*c).copied().flatten();
                CellView {
                    text: trusted(num::fixed(mean)),
                    key: sort_key(mean),
                }
            })
            .collect(),
        tag_cells: tags
            .iter()
            .map(|t| tags::cell(run.tag_scores.get(*t)))
            .collect(),
        created: words::date(&run.created_at),
        commit: words::commit(run.git_commit.as_deref(), run.git_dirty),
        ci_method: run.ci_method.map(words::ci_method).unwrap_or_default(),
    }
}

/// The rule that placed a run, in a few words.
fn decided_by(ranked: &RankedRunDoc<'_>) -> String {
    if ranked.rank.is_none() {
        return num::NONE.to_string();
    }
    match &ranked.rank_decided_by {
        None => "leader".to_string(),
        Some(d) => match (d.rule, d.tied) {
            (TieRule::PairedTest, _) => format!("paired, Holm p {}", num::p_value(d.p_holm)),
            (TieRule::CiOverlap, true) => "CI overlap".to_string(),
            (TieRule::CiOverlap, false) => "CIs apart".to_string(),
        },
    }
}

/// A number as a sort key for the HTML table script; empty when missing.
fn sort_key(x: Option<f64>) -> Value {
    trusted(num::sort_key(x))
}

/// The full-eval-set score chart of the first [`MAX_CHART_RUNS`] runs.
fn score_chart(doc: &LeaderboardDoc<'_>) -> String {
    let shown = &doc.runs[..doc.runs.len().min(MAX_CHART_RUNS)];
    let labels: Vec<String> = shown
        .iter()
        .map(|r| {
            let rank = r.rank.map_or(num::NONE.to_string(), |r| r.to_string());
            format!("{rank}. {}", r.run.name)
        })
        .collect();
    let rows: Vec<ScoreRow> = shown
        .iter()
        .zip(&labels)
        .map(|(r, label)| ScoreRow {
            label,
            score: r.rank.and(r.run.decision().score),
            ci: r.rank.and(full_interval(r.run)),
            highlight: r.rank == Some(1),
        })
        .collect();
    let band = doc.runs.first().and_then(|r| full_interval(r.run));
    svg::score_chart(&rows, band)
}

/// The CI of a run's full-eval-set score, when it has a score.
fn full_interval(run: &RunSummary) -> Option<Interval> {
    let full = run.decision();
    full.score.filter(|s| s.is_finite())?;
    let ci = full.ci95?;
    Interval::new(Some(ci.low), Some(ci.high))
}

/// Loss curves of the best-ranked runs that have one.
fn loss_curves<'a>(doc: &LeaderboardDoc<'a>) -> Vec<CurveView<'a>> {
    doc.runs
        .iter()
        .filter_map(|r| {
            svg::loss_curve(&r.run.name, &r.run.loss_curve).map(|svg| CurveView {
                run: RunContext::from(r.run),
                svg: Value::from_safe_string(svg),
            })
        })
        .take(MAX_LOSS_CURVES)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_show_ids_long_enough_to_tell_them_apart() {
        let mut a = crate::report::fixtures::baseline();
        let mut b = a.clone();
        let mut c = a.clone();
        a.name = "ci-tiny".into();
        a.run_id = "ci-tiny-20251101-093000-a".into();
        b.name = "ci-tiny".into();
        b.run_id = "ci-tiny-20251101-093000-b".into();
        c.name = "other".into();
        c.run_id = "other".into();
        let labels = id_labels([&a, &b, &c].into_iter());
        assert_eq!(labels[0], (true, "ci-tiny-20251101-093000-a".to_string()));
        assert_eq!(labels[1], (true, "ci-tiny-20251101-093000-b".to_string()));
        assert_eq!(labels[2], (false, "other".to_string()));
        b.run_id = "ci-tiny-3".into();
        let labels = id_labels([&a, &b].into_iter());
        assert_eq!(labels[0].1, "ci-tiny-2…");
        assert_eq!(labels[1].1, "ci-tiny-3");
    }
}
