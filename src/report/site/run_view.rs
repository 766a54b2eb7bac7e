//! A run page's template context: the run's scores and rank, links to its
//! comparisons and its sweep, its hyperparameters and recorded config, its
//! metrics as charts, per-category and per-tag figures, and every item
//! with its prompt and raw output.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;

use super::super::calculator;
use super::super::context::RunContext;
use super::super::curves::{line_chart, Series};
use super::super::hyper::hyperparameters;
use super::super::leaderboard::RankedRunDoc;
use super::super::tags::{self, TagCell};
use super::super::templates::trusted;
use super::super::{num, words};
use super::index_view::LinkView;
use super::links::{compare_page, safe_href, sweep_page, INDEX, LEADERBOARD};
use super::{ItemDetails, PromptSource, RunDetails};
use crate::runfolder::NAMED_METRICS;
use crate::scoring::ExtractRule;

/// The metrics drawn together in the first chart: training and
/// validation loss.
const LOSSES: [&str; 2] = ["loss", "val_loss"];

/// What a run page is made from.
pub(super) struct RunPage<'a> {
    /// The page's path in the site.
    pub path: &'a str,
    pub ranked: &'a RankedRunDoc<'a>,
    /// What the run's folder holds; none when the site has nothing of it.
    pub details: Option<&'a RunDetails>,
    /// The comparison pages the run is in, as `(A, B)` run ids.
    pub compares: &'a [(&'a str, &'a str)],
    /// Run names by run id.
    pub names: &'a BTreeMap<&'a str, &'a str>,
    /// The sweeps with a report page.
    pub sweeps: &'a [&'a str],
}

/// What `site_run.html.j2` receives.
#[derive(Debug, Serialize)]
pub(super) struct RunView<'a> {
    run: RunContext<'a>,
    index_href: Value,
    leaderboard_href: Value,
    rank: Value,
    ranked: bool,
    tied: bool,
    tied_with_leader: bool,
    incomplete: bool,
    full_score: Value,
    coverage: Value,
    score: Value,
    ci_method: &'static str,
    status: &'a str,
    commit: String,
    calc_meaning: &'static str,
    compares: Vec<CompareView<'a>>,
    sweep: Option<LinkView<'a>>,
    /// The run folder as shown; none when it was not found.
    folder: Option<&'a str>,
    problems: &'a [String],
    hyperparameters: Vec<(String, String)>,
    /// The recorded config as indented JSON.
    config: Option<String>,
    charts: Vec<Value>,
    /// Names of the metrics in `metrics.jsonl`.
    metric_names: Vec<&'a str>,
    categories: Vec<CategoryView<'a>>,
    tags: Vec<TagView<'a>>,
    /// The items; none when the run has no readable items.
    items: Option<Vec<ItemView<'a>>>,
    prompts: PromptView<'a>,
}

/// A comparison the run is in.
#[derive(Debug, Serialize)]
struct CompareView<'a> {
    href: Value,
    /// A's name (the baseline: the leader of the eval set).
    a: &'a str,
    /// B's name.
    b: &'a str,
    /// Whether this run is A (it leads its eval set).
    this_is_a: bool,
}

#[derive(Debug, Serialize)]
struct CategoryView<'a> {
    name: &'a str,
    mean: Value,
    key: Value,
}

#[derive(Debug, Serialize)]
struct TagView<'a> {
    name: &'a str,
    cell: TagCell,
}

/// One item: its result, prompt and raw output.
#[derive(Debug, Serialize)]
struct ItemView<'a> {
    id: &'a str,
    category: &'a str,
    tags: &'a [String],
    expected: &'a str,
    extracted: Option<&'a str>,
    rule: Option<ExtractRule>,
    /// The answer's correctness (`1`, `0`, `0.5000`), `—` when skipped.
    correct: Value,
    correct_key: Value,
    /// `right`, `wrong`, `partial` or `skipped`.
    result: &'static str,
    /// `None`: the prompt is unavailable.
    prompt: Option<&'a str>,
    /// `None`: the item had no prediction.
    output: Option<&'a str>,
}

/// Where the prompts came from, for the page's note.
#[derive(Debug, Serialize)]
struct PromptView<'a> {
    /// `found`, `changed`, `gone`, `unreadable` or `not_recorded`.
    kind: &'static str,
    path: &'a str,
    reason: &'a str,
}

/// The context of the page of `page.ranked`.
pub(super) fn view<'a>(page: RunPage<'a>) -> RunView<'a> {
    let run = page.ranked.run;
    let full = run.decision();
    let ci = full.ci95;
    let details = page.details;
    let name = |id: &'a str| page.names.get(id).copied().unwrap_or(id);
    RunView {
        run: RunContext::from(run),
        index_href: safe_href(page.path, INDEX),
        leaderboard_href: safe_href(page.path, LEADERBOARD),
        rank: trusted(
            page.ranked
                .rank
                .map_or(num::NONE.to_string(), |r| r.to_string()),
        ),
        ranked: page.ranked.rank.is_some(),
        tied: page.ranked.tied,
        tied_with_leader: page.ranked.tied_with_leader,
        incomplete: page.ranked.incomplete,
        full_score: trusted(num::with_ci(
            full.score,
            ci.map(|c| c.low),
            ci.map(|c| c.high),
        )),
        coverage: trusted(num::percent(full.coverage)),
        score: trusted(num::with_ci(run.primary_score, run.ci_low, run.ci_high)),
        ci_method: run.ci_method.map(words::ci_method).unwrap_or_default(),
        status: if run.status.is_empty() {
            num::NONE
        } else {
            &run.status
        },
        commit: words::commit(run.git_commit.as_deref(), run.git_dirty),
        calc_meaning: calculator::MEANING,
        compares: page
            .compares
            .iter()
            .map(|(a, b)| CompareView {
                href: safe_href(page.path, &compare_page(a, b)),
                a: name(a),
                b: name(b),
                this_is_a: *a == run.run_id,
            })
            .collect(),
        sweep: run
            .sweep_id
            .as_deref()
            .filter(|s| page.sweeps.contains(s))
            .map(|s| LinkView {
                href: safe_href(page.path, &sweep_page(s)),
                text: s,
            }),
        folder: details.and_then(|d| d.folder.as_deref()),
        problems: details.map(|d| d.problems.as_slice()).unwrap_or_default(),
        hyperparameters: details
            .and_then(|d| d.config.as_ref())
            .map(hyperparameters)
            .unwrap_or_default(),
        config: details
            .and_then(|d| d.config.as_ref())
            .and_then(|c| serde_json::to_string_pretty(c).ok()),
        charts: details.map(charts).unwrap_or_default(),
        metric_names: details
            .map(|d| d.metrics.keys().map(String::as_str).collect())
            .unwrap_or_default(),
        categories: run
            .category_means
            .iter()
            .map(|(name, mean)| CategoryView {
                name,
                mean: trusted(num::fixed(*mean)),
                key: trusted(num::sort_key(*mean)),
            })
            .collect(),
        tags: run
            .tag_scores
            .iter()
            .map(|(name, stats)| TagView {
                name,
                cell: tags::cell(Some(stats)),
            })
            .collect(),
        items: details
            .and_then(|d| d.items.as_ref())
            .map(|items| items.iter().map(item).collect()),
        prompts: prompts(details.map(|d| &d.prompts)),
    }
}

/// The run's metrics as charts: training and validation loss together,
/// then every other metric on its own (the named ones first).
fn charts(details: &RunDetails) -> Vec<Value> {
    let series = |name: &'static str| {
        details.metrics.get(name).map(|points| Series {
            name,
            points: points.as_slice(),
        })
    };
    let losses: Vec<Series> = LOSSES.iter().filter_map(|n| series(n)).collect();
    let mut out: Vec<String> = line_chart("Training and validation loss", &losses)
        .into_iter()
        .collect();
    let named = NAMED_METRICS.iter().filter(|n| !LOSSES.contains(n));
    let others = details
        .metrics
        .keys()
        .map(String::as_str)
        .filter(|n| !NAMED_METRICS.contains(n));
    for metric in named.copied().chain(others) {
        if let Some(points) = details.metrics.get(metric) {
            out.extend(line_chart(
                metric,
                &[Series {
                    name: metric,
                    points,
                }],
            ));
        }
    }
    out.into_iter().map(Value::from_safe_string).collect()
}

/// The row of `item`.
fn item(item: &ItemDetails) -> ItemView<'_> {
    let r = &item.record;
    let value = r.answer_correctness.filter(|v| v.is_finite());
    let result = match value {
        None => "skipped",
        Some(v) if v >= 1.0 => "right",
        Some(v) if v <= 0.0 => "wrong",
        Some(_) => "partial",
    };
    let correct = match value {
        Some(1.0) => "1".to_string(),
        Some(0.0) => "0".to_string(),
        other => num::fixed(other),
    };
    ItemView {
        id: &r.id,
        category: &r.category,
        tags: &item.tags,
        expected: &r.expected,
        extracted: r.extracted.as_deref(),
        rule: r.extraction_rule,
        correct: trusted(correct),
        correct_key: trusted(num::sort_key(value)),
        result,
        prompt: item.prompt.as_deref(),
        output: r.output.as_deref(),
    }
}

/// The note on where the prompts came from.
fn prompts(source: Option<&PromptSource>) -> PromptView<'_> {
    let view = |kind, path, reason| PromptView { kind, path, reason };
    match source {
        None | Some(PromptSource::NotRecorded) => view("not_recorded", "", ""),
        Some(PromptSource::Found { path }) => view("found", path, ""),
        Some(PromptSource::Changed { path }) => view("changed", path, ""),
        Some(PromptSource::Gone { path }) => view("gone", path, ""),
        Some(PromptSource::Unreadable { path, reason }) => view("unreadable", path, reason),
    }
}
