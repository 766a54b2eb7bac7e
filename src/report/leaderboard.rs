//! The leaderboard: runs sorted by primary score, grouped into statistical
//! ranks, as JSON or through the `leaderboard.{html,md}.j2` templates.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use minijinja::Value;
use serde::Serialize;

use super::context::RunContext;
use super::env::{LEADERBOARD_HTML, LEADERBOARD_MD};
use super::json::to_json;
use super::rank::{rank_groups, shared, Interval};
use super::svg::{self, ScoreRow};
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
    /// rules ranked side by side); absent when there are none.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub notes: &'a [String],
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
        notes: &input.notes,
    }
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
    let rows: Vec<RowView> = doc.runs.iter().map(|r| row(r, &categories)).collect();
    let curves: Vec<CurveView> = if charts { loss_curves(doc) } else { Vec::new() };
    let runs_with_curves = doc
        .runs
        .iter()
        .filter(|r| !r.run.loss_curve.is_empty())
        .count();
    View {
        title: doc.title,
        filters: &doc.filters,
        notes: doc.notes,
        n_runs: doc.matching_runs.unwrap_or(doc.runs.len()),
        n_shown: doc.runs.len(),
        categories,
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

/// The table row of `ranked`.
fn row<'a>(ranked: &RankedRunDoc<'a>, categories: &[&str]) -> RowView<'a> {
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
        created: words::date(&run.created_at),
        commit: words::commit(run.git_commit.as_deref(), run.git_dirty),
        ci_method: run.ci_method.map(words::ci_method).unwrap_or_default(),
    }
}

/// A number as a sort key for the HTML table script; empty when missing.
fn sort_key(x: Option<f64>) -> Value {
    trusted(
        x.filter(|v| v.is_finite())
            .map(|v| v.to_string())
            .unwrap_or_default(),
    )
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
mod tests {
    use super::super::fixtures::{self, PAYLOADS};
    use super::*;

    fn run(id: &str, score: Option<f64>, ci: Option<(f64, f64)>) -> RunSummary {
        let mut r = fixtures::leaderboard().runs[0].clone();
        r.run_id = id.to_string();
        r.primary_score = score;
        r.ci_low = ci.map(|c| c.0);
        r.ci_high = ci.map(|c| c.1);
        r
    }

    fn ids(doc: &LeaderboardDoc<'_>) -> Vec<String> {
        doc.runs.iter().map(|r| r.run.run_id.clone()).collect()
    }

    #[test]
    fn runs_sort_by_score_then_id_with_null_scores_last() {
        let input = LeaderboardInput {
            title: "t".into(),
            filters: vec![],
            runs: vec![
                run("d", None, None),
                run("c", Some(0.5), None),
                run("b", Some(0.7), None),
                run("a", Some(0.5), None),
                run("e", Some(f64::NAN), None),
            ],
            unshown: vec![],
            notes: vec![],
        };
        assert_eq!(ids(&document(&input)), vec!["b", "a", "c", "d", "e"]);
    }

    #[test]
    fn ranks_group_overlapping_runs() {
        let input = fixtures::leaderboard();
        let doc = document(&input);
        let ranks: Vec<(usize, bool, bool)> = doc
            .runs
            .iter()
            .map(|r| (r.rank, r.tied, r.tied_with_leader))
            .collect();
        assert_eq!(
            ranks,
            vec![
                (1, true, false),
                (1, true, true),
                (2, false, false),
                (3, false, false)
            ]
        );
    }

    #[test]
    fn a_run_with_a_ci_but_no_score_is_not_tied() {
        let input = LeaderboardInput {
            title: "t".into(),
            filters: vec![],
            runs: vec![
                run("a", Some(0.5), Some((0.4, 0.6))),
                run("b", None, Some((0.4, 0.6))),
            ],
            unshown: vec![],
            notes: vec![],
        };
        let doc = document(&input);
        assert_eq!(
            doc.runs.iter().map(|r| r.rank).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }

    #[test]
    fn empty_leaderboard_renders_in_every_format() {
        let t = Templates::builtin().expect("templates");
        let input = LeaderboardInput {
            title: "empty".into(),
            filters: vec![("model".into(), "none".into())],
            runs: vec![],
            unshown: vec![],
            notes: vec![],
        };
        for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
            let out = render_leaderboard(&t, &input, format).expect("render");
            assert!(out.contains("empty"), "{format:?}: {out}");
        }
        let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("render");
        assert!(md.contains("0 runs"), "{md}");
    }

    #[test]
    fn notes_show_in_every_format_and_only_when_present() {
        let t = Templates::builtin().expect("templates");
        let mut input = fixtures::leaderboard();
        let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
        assert!(!json.contains("\"notes\""), "no notes key without notes");
        input.notes.push("mixed <rules>".into());
        let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["notes"][0], "mixed <rules>");
        let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("md");
        assert!(
            md.contains("**Note:** mixed &lt;rules&gt;\n\n| rank"),
            "{md}"
        );
        let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
        assert!(
            html.contains("<strong>Note:</strong> mixed &lt;rules&gt;</p>"),
            "{html}"
        );
    }

    #[test]
    fn json_has_the_documented_layout() {
        let t = Templates::builtin().expect("templates");
        let text =
            render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Json).expect("render");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["filters"][0]["key"], "dataset");
        let first = &v["runs"][0];
        for key in [
            "rank",
            "tied",
            "tied_with_leader",
            "run_id",
            "primary_score",
            "ci_low",
            "category_means",
            "loss_curve",
        ] {
            assert!(first.get(key).is_some(), "missing {key}");
        }
        assert!(text.ends_with("}\n"));
    }

    #[test]
    fn payloads_are_literal_text_in_every_format() {
        let t = Templates::builtin().expect("templates");
        let mut input = fixtures::leaderboard();
        for (i, payload) in PAYLOADS.iter().enumerate() {
            input.runs[i].name = payload.to_string();
            input.runs[i].model_id = payload.to_string();
            input.runs[i]
                .labels
                .insert("note".into(), payload.to_string());
        }
        input.title = PAYLOADS.join(" ");
        input.filters.push(("label".into(), PAYLOADS.join(" ")));
        fixtures::assert_payloads_inert(
            &render_leaderboard(&t, &input, ReportFormat::Html).expect("html"),
            ReportFormat::Html,
        );
        fixtures::assert_payloads_inert(
            &render_leaderboard(&t, &input, ReportFormat::Md).expect("md"),
            ReportFormat::Md,
        );
        let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
        let back: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(back["title"], PAYLOADS.join(" "));
    }

    #[test]
    fn output_is_deterministic() {
        let t = Templates::builtin().expect("templates");
        let input = fixtures::leaderboard();
        let mut shuffled = input.clone();
        shuffled.runs.reverse();
        for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
            let one = render_leaderboard(&t, &input, format).expect("render");
            let two = render_leaderboard(&t, &shuffled, format).expect("render");
            assert_eq!(one, two, "{format:?}");
        }
    }

    #[test]
    fn the_chart_is_capped_but_the_table_lists_every_run() {
        let t = Templates::builtin().expect("templates");
        let runs: Vec<RunSummary> = (0..60)
            .map(|i| {
                run(
                    &format!("r{i:03}"),
                    Some(f64::from(i) / 100.0),
                    Some((0.0, 1.0)),
                )
            })
            .collect();
        let input = LeaderboardInput {
            title: "many".into(),
            filters: vec![],
            runs,
            unshown: vec![],
            notes: vec![],
        };
        let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
        assert!(html.contains("first 50 of 60 runs"), "chart note");
        assert_eq!(html.matches("<tr class=\"run").count(), 60);
    }

    #[test]
    fn unshown_runs_take_part_in_ranks_and_ties_and_are_counted() {
        let t = Templates::builtin().expect("templates");
        let score = |id: &str, s: f64, ci: (f64, f64)| RunScore {
            run_id: id.into(),
            primary_score: Some(s),
            ci_low: Some(ci.0),
            ci_high: Some(ci.1),
        };
        let input = LeaderboardInput {
            title: "page".into(),
            filters: vec![],
            runs: vec![
                run("a", Some(0.9), Some((0.85, 0.95))),
                run("b", Some(0.5), Some((0.45, 0.55))),
            ],
            // `c` is shown nowhere but shares b's rank; `d` overlaps the
            // leader from far below and joins rank 1.
            unshown: vec![score("d", 0.2, (0.0, 0.9)), score("c", 0.48, (0.4, 0.5))],
            notes: vec![],
        };
        let doc = document(&input);
        assert_eq!(doc.matching_runs, Some(4));
        let ranks: Vec<(&str, usize, bool)> = doc
            .runs
            .iter()
            .map(|r| (r.run.run_id.as_str(), r.rank, r.tied))
            .collect();
        assert_eq!(ranks, vec![("a", 1, true), ("b", 2, true)]);
        let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
        assert!(html.contains("showing the best 2 of 4 runs"), "{html}");
        assert_eq!(html.matches("<tr class=\"run").count(), 2);
        let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("md");
        assert!(md.contains("showing the best 2 of 4 runs"), "{md}");
        let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(v["matching_runs"], 4);
        assert_eq!(v["runs"].as_array().map(Vec::len), Some(2));
        let every = LeaderboardInput {
            unshown: vec![],
            ..input
        };
        let json = render_leaderboard(&t, &every, ReportFormat::Json).expect("json");
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert!(v.get("matching_runs").is_none(), "{json}");
    }

    #[test]
    fn golden_markdown() {
        let t = Templates::builtin().expect("templates");
        let out =
            render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Md).expect("render");
        fixtures::assert_golden("leaderboard.md", &out);
    }

    #[test]
    fn golden_json() {
        let t = Templates::builtin().expect("templates");
        let out =
            render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Json).expect("render");
        fixtures::assert_golden("leaderboard.json", &out);
    }

    #[test]
    fn golden_html() {
        let t = Templates::builtin().expect("templates");
        let out =
            render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Html).expect("render");
        fixtures::assert_html_self_contained(&out);
        fixtures::assert_golden("leaderboard.html", &out);
    }
}
