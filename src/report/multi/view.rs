//! What the comparison-of-runs templates receive: `compare_many.{html,md}.j2`
//! (the N-run report) and `compare_runs.{html,md}.j2` (its curves, final
//! metrics and config sections, which the paired report of two runs gains
//! too), with every number formatted and the charts drawn.

use minijinja::Value;
use serde::Serialize;

use super::super::context::RunContext;
use super::super::curves::{color, overlay_chart, value_text, Key, Line};
use super::super::templates::trusted;
use super::super::{calculator, num, words, RunSummary};
use super::config::IGNORED;
use super::doc::{label, CompareRunsDoc, ItemDoc, PairDoc};
use super::input::MultiRun;
use super::series::{chart_plans, metric_order, ChartPlan, FinalMetric, Metrics};
use crate::scoring::{Pairing, Verdict};

/// The curves, final metrics and config differences of runs.
#[derive(Debug, Serialize)]
pub(super) struct SectionsView<'a> {
    /// The runs with their labels and colors.
    runs: Vec<KeyView<'a>>,
    /// One chart per metric (HTML only).
    charts: Vec<ChartView>,
    /// Whether the loss chart draws training (solid) and validation
    /// (dashed) loss.
    loss_styles: bool,
    /// The metrics any run recorded.
    metric_names: Vec<&'a str>,
    final_metrics: Vec<FinalRowView>,
    config: ConfigView<'a>,
}

/// A run's label, name and color.
#[derive(Debug, Serialize)]
struct KeyView<'a> {
    label: String,
    name: &'a str,
    run_id: &'a str,
    color: &'static str,
}

/// A chart of one metric (or of the losses).
#[derive(Debug, Serialize)]
struct ChartView {
    title: String,
    svg: Value,
}

/// A metric's final values.
#[derive(Debug, Serialize)]
struct FinalRowView {
    metric: String,
    cells: Vec<FinalCellView>,
}

/// A run's final value of a metric: `1.2345` at step 600, or `—`.
#[derive(Debug, Serialize)]
struct FinalCellView {
    value: Value,
    step: Option<u64>,
    /// Sort key.
    key: String,
}

/// The config keys that differ.
#[derive(Debug, Serialize)]
struct ConfigView<'a> {
    n_keys: usize,
    n_equal: usize,
    n_differing: usize,
    /// Keys never compared.
    ignored: &'static [&'static str],
    rows: Vec<ConfigRowView<'a>>,
}

/// A key's value in each run (`—` where the run's config lacks it).
#[derive(Debug, Serialize)]
struct ConfigRowView<'a> {
    key: &'a str,
    values: Vec<&'a str>,
}

/// The sections of `runs` (the final metrics and config differences
/// computed by the caller); charts only when `charts` (HTML).
pub(super) fn sections<'a>(
    runs: &'a [MultiRun],
    finals: &[FinalMetric],
    config: &'a super::config::ConfigDiff,
    charts: bool,
) -> SectionsView<'a> {
    let metrics: Vec<&Metrics> = runs.iter().map(|r| &r.metrics).collect();
    let plans = chart_plans(&metrics);
    SectionsView {
        runs: keys(runs),
        charts: if charts {
            plans.iter().filter_map(|plan| chart(plan, runs)).collect()
        } else {
            Vec::new()
        },
        loss_styles: plans.iter().any(|p| p.styles),
        metric_names: metric_order(&metrics),
        final_metrics: finals
            .iter()
            .map(|f| FinalRowView {
                metric: f.metric.clone(),
                cells: f
                    .values
                    .iter()
                    .map(|v| FinalCellView {
                        value: trusted(
                            v.map(|v| value_text(v.value))
                                .unwrap_or_else(|| num::NONE.to_string()),
                        ),
                        step: v.map(|v| v.step),
                        key: num::sort_key(v.map(|v| v.value)),
                    })
                    .collect(),
            })
            .collect(),
        config: ConfigView {
            n_keys: config.n_keys,
            n_equal: config.n_equal,
            n_differing: config.differing.len(),
            ignored: &IGNORED,
            rows: config
                .differing
                .iter()
                .map(|d| ConfigRowView {
                    key: &d.key,
                    values: d
                        .values
                        .iter()
                        .map(|v| v.as_deref().unwrap_or(num::NONE))
                        .collect(),
                })
                .collect(),
        },
    }
}

/// Every run's label, name and color.
fn keys(runs: &[MultiRun]) -> Vec<KeyView<'_>> {
    runs.iter()
        .enumerate()
        .map(|(i, r)| KeyView {
            label: label(i),
            name: &r.summary.name,
            run_id: &r.summary.run_id,
            color: color(i),
        })
        .collect()
}

/// The chart `plan` asks for, with a legend of its runs (and of the line
/// styles when it mixes them).
fn chart(plan: &ChartPlan<'_>, runs: &[MultiRun]) -> Option<ChartView> {
    let mut shown: Vec<usize> = plan.lines.iter().map(|l| l.run).collect();
    shown.dedup();
    let names: Vec<String> = shown
        .iter()
        .map(|&i| format!("{}: {}", label(i), runs[i].summary.name))
        .collect();
    let line_names: Vec<String> = plan
        .lines
        .iter()
        .map(|l| {
            format!(
                "{} {}: {}",
                label(l.run),
                l.metric,
                runs[l.run].summary.name
            )
        })
        .collect();
    let empty: Vec<(u64, f64)> = Vec::new();
    let lines: Vec<Line> = plan
        .lines
        .iter()
        .zip(&line_names)
        .map(|(l, name)| Line {
            name,
            points: runs[l.run].metrics.get(l.metric).unwrap_or(&empty),
            color: l.run,
            dashed: l.dashed,
        })
        .collect();
    let mut legend: Vec<Key> = shown
        .iter()
        .zip(&names)
        .map(|(&i, name)| Key {
            name,
            color: Some(i),
            dashed: false,
        })
        .collect();
    if plan.styles {
        legend.push(Key {
            name: "loss (solid)",
            color: None,
            dashed: false,
        });
        legend.push(Key {
            name: "val_loss (dashed)",
            color: None,
            dashed: true,
        });
    }
    overlay_chart(&plan.title, &lines, &legend).map(|svg| ChartView {
        title: plan.title.clone(),
        svg: Value::from_safe_string(svg),
    })
}

/// What `compare_many.{html,md}.j2` receive.
#[derive(Debug, Serialize)]
pub(super) struct ManyView<'a> {
    runs: Vec<RunView<'a>>,
    sections: SectionsView<'a>,
    pairs: Vec<PairView<'a>>,
    /// How many pairs were tested.
    n_tests: usize,
    /// The significance level and the CIs' level (`95`).
    alpha: Value,
    level: Value,
    /// The evaluated runs (the items table's columns).
    item_runs: Vec<KeyView<'a>>,
    flipped: Vec<ItemView<'a>>,
    unchanged: Vec<ItemView<'a>>,
    /// Every pair's warnings, with the pair (`B − A`).
    warnings: Vec<(String, &'a str)>,
    notes: &'a [String],
    calc_meaning: &'static str,
}

/// One run with display text prepared.
#[derive(Debug, Serialize)]
struct RunView<'a> {
    key: KeyView<'a>,
    run: RunContext<'a>,
    /// Whether the run id says more than the name.
    show_id: bool,
    evaluated: bool,
    full_score: Value,
    coverage: Value,
    incomplete: bool,
    score: Value,
    ci_method: &'static str,
    evalset_hash: String,
    commit: String,
    created: String,
}

/// One pair's test, as text.
#[derive(Debug, Serialize)]
struct PairView<'a> {
    a: &'a str,
    b: &'a str,
    a_run_id: &'a str,
    b_run_id: &'a str,
    /// `improved`, `regressed` or `no_evidence` (CSS class), after the
    /// correction.
    kind: &'static str,
    /// `B improved over A`, ...
    headline: String,
    /// `+8.33 pp [+2.10, +14.50]`.
    diff: Value,
    diff_ci_method: &'static str,
    test: &'static str,
    p_value: Value,
    p_holm: Value,
    n_pairs: u64,
    /// `every item of either run` or `items of both runs`.
    pairing: &'static str,
    warnings: &'a [String],
}

/// One item row.
#[derive(Debug, Serialize)]
struct ItemView<'a> {
    id: &'a str,
    category: &'a str,
    expected: &'a str,
    cells: Vec<CellView<'a>>,
    /// `changed` or `same` (CSS class).
    change: &'static str,
}

/// A run's result on an item.
#[derive(Debug, Serialize)]
struct CellView<'a> {
    /// `✓`, `✗`, `0.5000` or `missing`.
    mark: Value,
    extracted: &'a str,
    /// `right`, `wrong`, `partial` or `missing` (CSS class).
    class: &'static str,
    /// Sort key: the value, -1 when missing.
    key: String,
}

/// The template context of `doc` (built from `runs`); charts only when
/// `charts` (HTML).
pub(super) fn many<'a>(
    doc: &'a CompareRunsDoc<'a>,
    runs: &'a [MultiRun],
    charts: bool,
) -> ManyView<'a> {
    let all_keys = keys(runs);
    let item_runs = all_keys
        .into_iter()
        .zip(runs)
        .filter(|(_, r)| r.evaluated)
        .map(|(k, _)| k)
        .collect();
    let (flipped, unchanged): (Vec<&ItemDoc>, Vec<&ItemDoc>) =
        doc.items.iter().partition(|i| i.flipped);
    let alpha = doc.pairs.first().map(|p| p.figures.alpha).unwrap_or(0.05);
    ManyView {
        runs: runs
            .iter()
            .zip(keys(runs))
            .map(|(r, key)| run_view(key, &r.summary, r.evaluated))
            .collect(),
        sections: sections(runs, &doc.final_metrics, &doc.config_diff, charts),
        pairs: doc.pairs.iter().map(pair_view).collect(),
        n_tests: doc.n_tests,
        alpha: trusted(num::setting(alpha)),
        level: trusted(num::setting(((1.0 - alpha) * 1000.0).round() / 10.0)),
        item_runs,
        flipped: flipped.into_iter().map(item).collect(),
        unchanged: unchanged.into_iter().map(item).collect(),
        warnings: doc
            .pairs
            .iter()
            .flat_map(|p| {
                p.figures
                    .warnings
                    .iter()
                    .map(move |w| (format!("{} − {}", p.b, p.a), w.as_str()))
            })
            .collect(),
        notes: &doc.notes,
        calc_meaning: calculator::MEANING,
    }
}

/// Display text of one run.
fn run_view<'a>(key: KeyView<'a>, run: &'a RunSummary, evaluated: bool) -> RunView<'a> {
    let full = run.decision();
    RunView {
        key,
        run: RunContext::from(run),
        show_id: run.run_id != run.name,
        evaluated,
        full_score: trusted(num::with_ci(
            full.score,
            full.ci95.map(|c| c.low),
            full.ci95.map(|c| c.high),
        )),
        coverage: trusted(num::percent(full.coverage)),
        incomplete: evaluated && !full.complete(),
        score: trusted(num::with_ci(run.primary_score, run.ci_low, run.ci_high)),
        ci_method: run.ci_method.map(words::ci_method).unwrap_or_default(),
        evalset_hash: words::short(&run.evalset_blake3, 12),
        commit: words::commit(run.git_commit.as_deref(), run.git_dirty),
        created: words::date(&run.created_at),
    }
}

/// `B improved over A`, `B regressed from A`, `No evidence that B differs
/// from A`, with the pair's labels.
pub(super) fn headline(verdict: Verdict, a: &str, b: &str) -> String {
    match verdict {
        Verdict::Improved => format!("{b} improved over {a}"),
        Verdict::Regressed => format!("{b} regressed from {a}"),
        Verdict::NoEvidence => format!("No evidence that {b} differs from {a}"),
    }
}

/// Display text of one pair.
fn pair_view<'a>(p: &'a PairDoc<'a>) -> PairView<'a> {
    let f = p.figures;
    PairView {
        a: &p.a,
        b: &p.b,
        a_run_id: p.a_run_id,
        b_run_id: p.b_run_id,
        kind: p.verdict_holm.as_str(),
        headline: headline(p.verdict_holm, &p.a, &p.b),
        diff: trusted(num::pp_with_ci(
            f.diff_pp,
            f.diff_ci_low_pp,
            f.diff_ci_high_pp,
        )),
        diff_ci_method: f
            .diff_ci_method
            .map(words::diff_ci_method)
            .unwrap_or_default(),
        test: f.test.map(words::test).unwrap_or_default(),
        p_value: trusted(num::p_value(f.p_value)),
        p_holm: trusted(num::p_value(p.p_holm)),
        n_pairs: f.n_pairs,
        pairing: match f.pairing {
            Pairing::Union => "every item of either run",
            Pairing::Shared => "items of both runs",
        },
        warnings: &f.warnings,
    }
}

/// Display text of one item.
fn item<'a>(doc: &'a ItemDoc<'a>) -> ItemView<'a> {
    ItemView {
        id: doc.id,
        category: doc.category,
        expected: doc.expected,
        cells: doc
            .results
            .iter()
            .map(|c| {
                let (mark, class) = match c.correct {
                    Some(1.0) => ("✓".to_string(), "right"),
                    Some(0.0) => ("✗".to_string(), "wrong"),
                    Some(v) => (num::fixed(Some(v)), "partial"),
                    None => ("missing".to_string(), "missing"),
                };
                CellView {
                    mark: trusted(mark),
                    extracted: c.extracted.unwrap_or(num::NONE),
                    class,
                    key: c
                        .correct
                        .map(|v| num::sort_key(Some(v)))
                        .unwrap_or_else(|| "-1".to_string()),
                }
            })
            .collect(),
        change: if doc.flipped { "changed" } else { "same" },
    }
}
