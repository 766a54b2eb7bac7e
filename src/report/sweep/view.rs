//! What the `sweep.{html,md}.j2` templates receive: the document with its
//! display text prepared, and (HTML only) the charts as SVG. Pure.

use minijinja::Value as Template;
use serde::Serialize;
use serde_json::Value;

use super::axis::{axis, value_text};
use super::doc::{FailureDoc, SweepDoc, TrialDoc};
use super::input::SweepInput;
use super::plot::{self, CurveLine, ScatterPoint};
use super::ties::TieDoc;
use crate::manifest::sweep::Mode;
use crate::report::templates::trusted;
use crate::report::{num, words};
use tunix_core::sweep::ledger::TrialState;

/// The template context.
#[derive(Debug, Serialize)]
pub struct View<'a> {
    sweep: &'a str,
    folder: &'a str,
    /// The sweep's metric (`primary_score`, `val_loss`, `val/f1`, ...).
    metric: &'a str,
    /// `max` or `min`.
    mode: &'static str,
    /// `higher` or `lower`: which metric is better.
    better: &'static str,
    /// The first click on the metric column sorts best first: `desc` for
    /// `max`, `asc` for `min`.
    metric_sort: &'static str,
    /// `ascending` or `descending`: the order the table starts in.
    metric_aria: &'static str,
    /// `4, 8, 12`, or `—` without rungs.
    rungs: Template,
    n_trials: usize,
    /// Trials per state, in lifecycle order, states without trials left out.
    state_counts: Vec<StateCount>,
    params: Vec<ParamView<'a>>,
    /// The Sweep manifest the distributions came from, when found.
    params_source: Option<&'a str>,
    rows: Vec<RowView<'a>>,
    best: Option<BestView<'a>>,
    ties: TiesView<'a>,
    /// The rungs (and the final pick) the tie rule alone decided, one
    /// sentence each.
    tie_rule: Vec<&'a str>,
    failures: &'a [FailureDoc<'a>],
    /// One scatter per parameter (HTML only).
    scatters: Vec<ScatterView<'a>>,
    /// Trials with a metric (the scatters' dots).
    n_with_metric: usize,
    /// Every trial's training loss by step (HTML only).
    loss_chart: Option<Template>,
    /// Every trial's metric by step (HTML only).
    metric_chart: Option<Template>,
    /// Hyperband's brackets, one line each; empty without Hyperband.
    brackets: Vec<BracketView>,
    /// How TPE drew the trials after its startup ones; none for random
    /// search.
    search: Option<String>,
}

/// One Hyperband bracket.
#[derive(Debug, Serialize)]
struct BracketView {
    bracket: u32,
    n_trials: usize,
    /// `t000, t001, …`
    trials: String,
    /// One sentence per decided rung.
    decisions: Vec<String>,
}

/// How many trials are in one state.
#[derive(Debug, Serialize)]
struct StateCount {
    state: &'static str,
    n: usize,
}

/// One parameter.
#[derive(Debug, Serialize)]
struct ParamView<'a> {
    name: &'a str,
    /// `log`, `linear` or `categorical`.
    axis: &'static str,
    /// The manifest's distribution, empty when unknown.
    distribution: &'static str,
}

/// One table row.
#[derive(Debug, Serialize)]
struct RowView<'a> {
    trial_id: &'a str,
    run_id: Option<&'a str>,
    /// `completed`, `stopped`, ... (also the CSS class).
    state: &'static str,
    best: bool,
    tied: Option<bool>,
    /// The parameters' values in [`View::params`] order.
    cells: Vec<CellView>,
    /// The metric, 4 decimals, or `—`.
    metric: Template,
    /// Sort key of the metric (empty when missing).
    metric_key: Template,
    /// The last step reached, or `—` before the first rung.
    last_step: Template,
    /// The stop rung, or `—`.
    stop_rung: Template,
    /// Sort keys of the last step and the stop rung (empty when missing).
    last_step_key: String,
    stop_rung_key: String,
    failure_class: &'a str,
}

/// A parameter cell: its text and its sort key (the full value).
#[derive(Debug, Serialize)]
struct CellView {
    text: String,
    key: String,
}

/// The promoted trial.
#[derive(Debug, Serialize)]
struct BestView<'a> {
    trial_id: &'a str,
    metric: Template,
    params: Vec<(&'a str, String)>,
}

/// The tie count and the comparisons behind it.
#[derive(Debug, Serialize)]
struct TiesView<'a> {
    available: bool,
    /// One sentence: how many are tied, or why that is not known.
    summary: String,
    /// The CI level in percent (`95`).
    level: Template,
    rows: Vec<TieView<'a>>,
}

/// One trial compared with the best.
#[derive(Debug, Serialize)]
struct TieView<'a> {
    trial_id: &'a str,
    /// `tied`, `differs` or `not compared`.
    verdict: &'static str,
    /// `tied`, `differs` or `none` (CSS class).
    kind: &'static str,
    /// Trial − best with its CI, or `—`.
    diff: Template,
    n_pairs: usize,
    test: &'static str,
    p_value: Template,
    notes: &'a [String],
}

/// A parameter's scatter plot.
#[derive(Debug, Serialize)]
struct ScatterView<'a> {
    name: &'a str,
    svg: Option<Template>,
}

/// The template context of `doc` (made from `input`); charts only when
/// `charts` (HTML).
pub fn view<'a>(input: &'a SweepInput, doc: &'a SweepDoc<'a>, charts: bool) -> View<'a> {
    let (metric, mode) = (doc.metric.as_str(), doc.mode);
    View {
        sweep: doc.sweep,
        folder: doc.folder,
        metric,
        mode: match mode {
            Mode::Max => "max",
            Mode::Min => "min",
        },
        better: match mode {
            Mode::Max => "higher",
            Mode::Min => "lower",
        },
        metric_sort: match mode {
            Mode::Max => "desc",
            Mode::Min => "asc",
        },
        metric_aria: match mode {
            Mode::Max => "descending",
            Mode::Min => "ascending",
        },
        rungs: trusted(if doc.rungs.is_empty() {
            num::NONE.to_string()
        } else {
            let rungs: Vec<String> = doc.rungs.iter().map(u32::to_string).collect();
            rungs.join(", ")
        }),
        n_trials: doc.trials.len(),
        state_counts: state_counts(&doc.trials),
        params: doc
            .params
            .iter()
            .map(|p| ParamView {
                name: p.name,
                axis: match p.axis {
                    super::axis::AxisKind::Log => "log",
                    super::axis::AxisKind::Linear => "linear",
                    super::axis::AxisKind::Categorical => "categorical",
                },
                distribution: p.distribution.unwrap_or_default(),
            })
            .collect(),
        params_source: doc.params_source,
        rows: doc.trials.iter().map(|t| row(t, doc)).collect(),
        best: doc.best.map(|b| BestView {
            trial_id: &b.trial_id,
            metric: trusted(num::fixed(Some(b.metric))),
            params: b
                .params
                .iter()
                .map(|(k, v)| (k.as_str(), value_text(v)))
                .collect(),
        }),
        ties: ties_view(doc),
        tie_rule: doc
            .decided_by_tie_rule
            .iter()
            .map(|t| t.message.as_str())
            .collect(),
        failures: &doc.failures,
        scatters: if charts {
            scatters(input, doc)
        } else {
            Vec::new()
        },
        n_with_metric: doc.trials.iter().filter(|t| t.metric.is_some()).count(),
        loss_chart: charts
            .then(|| loss_chart(doc))
            .flatten()
            .map(Template::from_safe_string),
        metric_chart: charts
            .then(|| metric_chart(input, doc))
            .flatten()
            .map(Template::from_safe_string),
        brackets: doc.brackets.iter().map(bracket_view).collect(),
        search: (!doc.drawn_from_results.is_empty()).then(|| {
            format!(
                "TPE drew {} of the {} trials from the results of the trials before them ({}); the others were drawn at random.",
                doc.drawn_from_results.len(),
                doc.trials.len(),
                span(&doc.drawn_from_results)
            )
        }),
    }
}

fn bracket_view(b: &super::doc::BracketDoc<'_>) -> BracketView {
    let ids = |v: &[tunix_core::sweep::halving::Scored]| {
        v.iter()
            .map(|s| s.trial_id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    BracketView {
        bracket: b.bracket,
        n_trials: b.trials.len(),
        trials: span(&b.trials),
        decisions: b
            .decisions
            .iter()
            .map(|d| {
                let stopped = match d.stopped.is_empty() {
                    true => "none stopped".to_string(),
                    false => format!("stopped {}", ids(&d.stopped)),
                };
                format!(
                    "step {}: continued {}; {stopped}",
                    d.rung,
                    ids(&d.continued)
                )
            })
            .collect(),
    }
}

/// `t003–t009` for a run of ids, else the ids joined.
fn span(ids: &[&str]) -> String {
    match ids {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] => format!("{first}–{last}"),
    }
}

/// Trials per state.
fn state_counts(trials: &[TrialDoc<'_>]) -> Vec<StateCount> {
    [
        TrialState::Completed,
        TrialState::Stopped,
        TrialState::Failed,
        TrialState::Running,
        TrialState::Cancelled,
        TrialState::Pending,
    ]
    .into_iter()
    .map(|s| StateCount {
        state: s.name(),
        n: trials.iter().filter(|t| t.state == s).count(),
    })
    .filter(|c| c.n > 0)
    .collect()
}

/// The table row of `t`.
fn row<'a>(t: &TrialDoc<'a>, doc: &SweepDoc<'a>) -> RowView<'a> {
    RowView {
        trial_id: t.trial_id,
        run_id: t.run_id,
        state: t.state.name(),
        best: t.best,
        tied: t.tied_with_best,
        cells: doc
            .params
            .iter()
            .map(|p| match t.params.get(p.name) {
                Some(v) => CellView {
                    text: value_text(v),
                    key: match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                },
                None => CellView {
                    text: num::NONE.to_string(),
                    key: String::new(),
                },
            })
            .collect(),
        metric: trusted(num::fixed(t.metric)),
        metric_key: trusted(t.metric.map(|m| m.to_string()).unwrap_or_default()),
        last_step: trusted(if t.last_step == 0 {
            num::NONE.to_string()
        } else {
            t.last_step.to_string()
        }),
        stop_rung: trusted(
            t.stop_rung
                .map_or_else(|| num::NONE.to_string(), |r| r.to_string()),
        ),
        last_step_key: Some(t.last_step)
            .filter(|s| *s > 0)
            .map(|s| s.to_string())
            .unwrap_or_default(),
        stop_rung_key: t.stop_rung.map(|r| r.to_string()).unwrap_or_default(),
        failure_class: t.failure_class.unwrap_or_default(),
    }
}

/// The ties as text.
fn ties_view<'a>(doc: &'a SweepDoc<'a>) -> TiesView<'a> {
    let t = &doc.ties;
    let level = num::setting(((1.0 - t.alpha) * 1000.0).round() / 10.0);
    let best = doc.best.map(|b| b.trial_id.as_str()).unwrap_or_default();
    let summary = match (&t.reason, t.n_tied) {
        (Some(reason), _) => format!("Not available: {reason}."),
        (None, _) if t.comparisons.is_empty() => {
            format!("No other trial completed, so none can be tied with the best ({best}).")
        }
        (None, n_tied) => {
            let n_tied = n_tied.unwrap_or_default();
            let skipped = t.comparisons.len() - t.n_compared;
            let skipped = if skipped > 0 {
                format!(" ({skipped} more without eval items to pair)")
            } else {
                String::new()
            };
            format!(
                "{n_tied} of {} other completed {}{skipped} {} statistically tied with the best ({best}): the {level}% CI of the paired difference on the eval set includes 0.",
                t.n_compared,
                if t.n_compared == 1 { "trial" } else { "trials" },
                if n_tied == 1 { "is" } else { "are" },
            )
        }
    };
    TiesView {
        available: t.available,
        summary,
        level: trusted(level),
        rows: t.comparisons.iter().map(tie_view).collect(),
    }
}

/// One comparison as text.
fn tie_view<'a>(c: &'a TieDoc<'a>) -> TieView<'a> {
    TieView {
        trial_id: c.trial_id,
        verdict: match c.tied {
            Some(true) => "tied",
            Some(false) => "differs",
            None => "not compared",
        },
        kind: match c.tied {
            Some(true) => "tied",
            Some(false) => "differs",
            None => "none",
        },
        diff: trusted(num::signed_with_ci(c.diff, c.diff_ci_low, c.diff_ci_high)),
        n_pairs: c.n_pairs,
        test: c.test.map(words::test).unwrap_or_default(),
        p_value: trusted(num::p_value(c.p_value)),
        notes: &c.notes,
    }
}

/// Each parameter against the metric.
fn scatters<'a>(input: &'a SweepInput, doc: &'a SweepDoc<'a>) -> Vec<ScatterView<'a>> {
    let metric = doc.metric.as_str();
    doc.params
        .iter()
        .map(|p| {
            let dist = input.space.as_ref().and_then(|s| s.params.get(p.name));
            let values: Vec<&Value> = doc
                .trials
                .iter()
                .filter_map(|t| t.params.get(p.name))
                .collect();
            let axis = axis(p.axis, dist, &values);
            let points: Vec<ScatterPoint> = doc
                .trials
                .iter()
                .filter_map(|t| {
                    Some(ScatterPoint {
                        trial_id: t.trial_id,
                        value: t.params.get(p.name)?,
                        metric: t.metric?,
                        state: t.state,
                        best: t.best,
                    })
                })
                .collect();
            ScatterView {
                name: p.name,
                svg: plot::scatter(p.name, metric, &axis, &points).map(Template::from_safe_string),
            }
        })
        .collect()
}

/// Every trial's training loss, a cross where the scheduler stopped it.
fn loss_chart(doc: &SweepDoc<'_>) -> Option<String> {
    let lines: Vec<CurveLine> = doc
        .curves
        .iter()
        .map(|c| CurveLine {
            trial_id: c.trial_id,
            state: c.state,
            best: is_best(doc, c.trial_id),
            points: c.loss,
            stop: c
                .stop_rung
                .and_then(|rung| plot::stop_point(c.loss, rung, None)),
        })
        .collect();
    plot::curves("Training loss by step, every trial", doc.rungs, &lines)
}

/// Every trial's metric by step; a stopped trial's cross falls back on the
/// metric the ledger recorded at its rung.
fn metric_chart(input: &SweepInput, doc: &SweepDoc<'_>) -> Option<String> {
    let lines: Vec<CurveLine> = doc
        .curves
        .iter()
        .map(|c| {
            let recorded = input
                .ledger
                .trials
                .iter()
                .find(|t| t.trial_id == c.trial_id)
                .and_then(|t| t.stopped_at.as_ref())
                .and_then(|s| s.metric);
            CurveLine {
                trial_id: c.trial_id,
                state: c.state,
                best: is_best(doc, c.trial_id),
                points: c.metric,
                stop: c
                    .stop_rung
                    .and_then(|rung| plot::stop_point(c.metric, rung, recorded)),
            }
        })
        .collect();
    let title = format!("{} by step, every trial", doc.metric);
    plot::curves(&title, doc.rungs, &lines)
}

/// Whether `trial_id` is the promoted trial.
fn is_best(doc: &SweepDoc<'_>, trial_id: &str) -> bool {
    doc.best.is_some_and(|b| b.trial_id == trial_id)
}
