//! The leaderboard: runs sorted by primary score, grouped into statistical
//! ranks, with per-tag figures and calculator-assisted runs marked (and a
//! note when they are ranked with plain runs), as JSON or through the
//! `leaderboard.{html,md}.j2` templates.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use minijinja::Value;
use serde::Serialize;

use super::calculator;
use super::context::RunContext;
use super::env::{LEADERBOARD_HTML, LEADERBOARD_MD};
use super::json::to_json;
use super::rank::{rank_groups, shared, Interval};
use super::svg::{self, ScoreRow};
use super::tags::{self, TagCell};
use super::templates::trusted;
use super::{
    num, words, LeaderboardInput, ReportError, ReportFormat, RunScore, RunSummary, Templates,
    SCHEMA_VERSION,
};

/// Most runs drawn in the HTML score chart (the table lists every shown run).
const MAX_CHART_RUNS: usize = 50;
/// Most loss curves drawn in the HTML report, best-ranked first.
const MAX_LOSS_CURVES: usize = 24;

/// The leaderboard as JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeaderboardDoc<'a> {
    /// Version of this document's layout: 1.
    pub schema_version: u32,
    /// Heading of the report.
    pub title: &'a str,
    /// Active filters, in the order given.
    pub filters: Vec<FilterDoc<'a>>,
    /// How many runs match the filters, present only when `runs` lists
    /// fewer of them (the best N, under `--limit N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching_runs: Option<usize>,
    /// Runs by primary score, best first; null scores last; equal scores by
    /// run id.
    pub runs: Vec<RankedRunDoc<'a>>,
    /// Notes about the ranking (e.g. runs scored under different scoring
    /// rules, or calculator-assisted and plain runs, ranked side by side);
    /// absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One active filter, e.g. `{"key": "label", "value": "milestone=m34"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FilterDoc<'a> {
    /// Filter name (`dataset`, `model`, `label`, ...).
    pub key: &'a str,
    /// Filter value.
    pub value: &'a str,
}

/// One run of the leaderboard: its rank group and every [`RunSummary`]
/// field, flattened into the same object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedRunDoc<'a> {
    /// Statistical rank, from 1: the leader and every run whose 95% CI
    /// overlaps the leader's share rank 1; the best remaining run and those
    /// overlapping it share rank 2; and so on. A run without a score or a
    /// CI has a rank of its own.
    pub rank: usize,
    /// Whether another run shares this rank (the order between them is noise).
    pub tied: bool,
    /// Whether this run is not the leader but shares the leader's rank.
    pub tied_with_leader: bool,
    /// The run.
    #[serde(flatten)]
    pub run: &'a RunSummary,
}

/// Render the leaderboard of `input` in `format`.
pub fn render_leaderboard(
    t: &Templates,
    input: &LeaderboardInput,
    format: ReportFormat,
) -> Result<String, ReportError> {
    let doc = document(input);
    match format {
        ReportFormat::Json => to_json(&doc),
        ReportFormat::Html => t.render(LEADERBOARD_HTML, view(&doc, true)),
        ReportFormat::Md => t.render(LEADERBOARD_MD, view(&doc, false)),
    }
}

/// The ranked leaderboard of `input`: ranks and ties are computed over
/// every matching run, shown or not; only the shown runs are listed.
fn document(input: &LeaderboardInput) -> LeaderboardDoc<'_> {
    let mut all: Vec<Entry> = input
        .runs
        .iter()
        .map(Entry::Shown)
        .chain(input.unshown.iter().map(Entry::Unshown))
        .collect();
    all.sort_by(|a, b| leaderboard_order(&a.score(), &b.score()));
    let intervals: Vec<Option<Interval>> = all.iter().map(|e| interval(&e.score())).collect();
    let groups = rank_groups(&intervals);
    let tied = shared(&groups);
    let runs: Vec<RankedRunDoc> = all
        .iter()
        .zip(groups.iter().zip(tied))
        .enumerate()
        .filter_map(|(i, (entry, (&rank, tied)))| match entry {
            Entry::Shown(run) => Some(RankedRunDoc {
                rank,
                tied,
                tied_with_leader: i > 0 && rank == 1,
                run,
            }),
            Entry::Unshown(_) => None,
        })
        .collect();
    let mut notes = input.notes.clone();
    notes.extend(calculator_note(&all));
    LeaderboardDoc {
        schema_version: SCHEMA_VERSION,
        title: &input.title,
        filters: input
            .filters
            .iter()
            .map(|(key, value)| FilterDoc { key, value })
            .collect(),
        matching_runs: (runs.len() < all.len()).then_some(all.len()),
        runs,
        notes,
    }
}

/// The note when the scored runs among `all` (shown or not) mix
/// calculator-assisted and plain decoding.
fn calculator_note(all: &[Entry<'_>]) -> Option<String> {
    let scored = all
        .iter()
        .filter(|e| e.score().score.is_some_and(f64::is_finite));
    let (calc, plain) = scored.fold((0, 0), |(c, p), e| {
        if e.calculator() {
            (c + 1, p)
        } else {
            (c, p + 1)
        }
    });
    calculator::leaderboard_note(calc, plain)
}

/// A matching run: shown in full, or known only by its score.
enum Entry<'a> {
    Shown(&'a RunSummary),
    Unshown(&'a RunScore),
}

/// What ranking looks at.
struct Score<'a> {
    run_id: &'a str,
    score: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
}

impl Entry<'_> {
    /// Whether the run was decoded with calculator assistance.
    fn calculator(&self) -> bool {
        match self {
            Entry::Shown(r) => r.calculator,
            Entry::Unshown(r) => r.calculator,
        }
    }

    fn score(&self) -> Score<'_> {
        match self {
            Entry::Shown(r) => Score {
                run_id: &r.run_id,
                score: r.primary_score,
                ci_low: r.ci_low,
                ci_high: r.ci_high,
            },
            Entry::Unshown(r) => Score {
                run_id: &r.run_id,
                score: r.primary_score,
                ci_low: r.ci_low,
                ci_high: r.ci_high,
            },
        }
    }
}

/// Higher primary score first, missing scores last, then by run id (the
/// store's `LEADERBOARD_ORDER`).
fn leaderboard_order(a: &Score<'_>, b: &Score<'_>) -> Ordering {
    let finite = |s: &Score<'_>| s.score.filter(|s| s.is_finite());
    match (finite(a), finite(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| a.run_id.cmp(b.run_id))
}

/// The run's CI, when it has a score and a usable interval.
fn interval(s: &Score<'_>) -> Option<Interval> {
    s.score.filter(|s| s.is_finite())?;
    Interval::new(s.ci_low, s.ci_high)
}

/// The CI of a shown run, when it has a score and a usable interval.
fn run_interval(run: &RunSummary) -> Option<Interval> {
    interval(&Entry::Shown(run).score())
}

/// What the leaderboard templates receive.
#[derive(Debug, Serialize)]
struct View<'a> {
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
    rank: usize,
    tied: bool,
    tied_with_leader: bool,
    run: RunContext<'a>,
    /// The run id, cut to 8 characters.
    short_id: String,
    /// Whether the run id says more than the name (run ids are usually the
    /// run folder's name, often the run's name).
    show_id: bool,
    /// `0.7500 [0.6661, 0.8178]` or `—`.
    score: Value,
    /// Sort key of the score column (empty when missing).
    score_key: Value,
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
fn view<'a>(doc: &'a LeaderboardDoc<'a>, charts: bool) -> View<'a> {
    let categories = categories(doc);
    let tags = tags::tag_names(doc.runs.iter().map(|r| r.run));
    let rows: Vec<RowView> = doc
        .runs
        .iter()
        .map(|r| row(r, &categories, &tags))
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

/// The table row of `ranked`, with a cell per category and per tag.
fn row<'a>(ranked: &RankedRunDoc<'a>, categories: &[&str], tags: &[&str]) -> RowView<'a> {
    let run = ranked.run;
    RowView {
        rank: ranked.rank,
        tied: ranked.tied,
        tied_with_leader: ranked.tied_with_leader,
        run: RunContext::from(run),
        short_id: words::abbrev(&run.run_id, 8),
        show_id: run.run_id != run.name,
        score: trusted(num::with_ci(run.primary_score, run.ci_low, run.ci_high)),
        score_key: sort_key(run.primary_score),
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

/// A number as a sort key for the HTML table script; empty when missing.
fn sort_key(x: Option<f64>) -> Value {
    trusted(num::sort_key(x))
}

/// The score chart of the first [`MAX_CHART_RUNS`] runs.
fn score_chart(doc: &LeaderboardDoc<'_>) -> String {
    let shown = &doc.runs[..doc.runs.len().min(MAX_CHART_RUNS)];
    let labels: Vec<String> = shown
        .iter()
        .map(|r| format!("{}. {}", r.rank, r.run.name))
        .collect();
    let rows: Vec<ScoreRow> = shown
        .iter()
        .zip(&labels)
        .map(|(r, label)| ScoreRow {
            label,
            score: r.run.primary_score,
            ci: run_interval(r.run),
            highlight: r.rank == 1,
        })
        .collect();
    let band = doc.runs.first().and_then(|r| run_interval(r.run));
    svg::score_chart(&rows, band)
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
mod tests;
