//! The comparison of run B against run A: scores with CIs, coverage and
//! the full-eval-set scores, scorecards side by side, the paired verdict
//! (items paired over the union, a missing one counted as wrong),
//! per-category and per-tag deltas in percentage points and the per-item
//! diff (flipped items first), with a note when a run is incomplete or
//! only one of the runs was calculator-assisted, as JSON or through the
//! `compare.{html,md}.j2` templates.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;
use serde::Serialize;

use crate::scoring::Verdict;

use super::calculator;
use super::context::RunContext;
use super::env::{COMPARE_HTML, COMPARE_MD};
use super::json::to_json;
use super::svg;
use super::tags::{self, TagDelta, TagDeltaView};
use super::templates::trusted;
use super::{
    num, words, CompareInput, ComparisonFigures, ItemDiff, ReportError, ReportFormat, RunSummary,
    Templates, COMPARE_SCHEMA_VERSION,
};

/// The comparison as JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompareDoc<'a> {
    /// Version of this document's layout: 2.
    pub schema_version: u32,
    /// The baseline run.
    pub a: &'a RunSummary,
    /// The candidate run.
    pub b: &'a RunSummary,
    /// The paired comparison of B against A, as computed by the statistics
    /// module (verdict, difference and its CI, test, p-value, ...).
    pub figures: &'a ComparisonFigures,
    /// Per category (union of both runs' categories, sorted): both means and
    /// B − A in percentage points (null unless both means are known).
    pub category_deltas: BTreeMap<&'a str, CategoryDelta>,
    /// Per eval-item tag (union of both runs' tags, sorted): both runs'
    /// figures (items, scored, skipped, fully correct, mean, 95% CI) and
    /// B's mean − A's in percentage points (null unless both means are
    /// known).
    pub tag_deltas: BTreeMap<&'a str, TagDelta<'a>>,
    /// Items of either run: flipped items first (their values differ, a
    /// missing value counted as 0), then the rest, each group sorted by id.
    pub items: Vec<ItemDiffDoc<'a>>,
    /// Whether A and B were scored on different eval sets.
    pub evalsets_differ: bool,
    /// Notes about the comparison (e.g. a run is incomplete, or one run
    /// calculator-assisted and the other plain); absent when there are
    /// none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One category's means in A and B.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct CategoryDelta {
    /// A's mean.
    pub a: Option<f64>,
    /// B's mean.
    pub b: Option<f64>,
    /// `b − a` in percentage points, when both are known.
    pub delta_pp: Option<f64>,
}

/// One item of the diff: whether it flipped, and every [`ItemDiff`] field
/// flattened into the same object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemDiffDoc<'a> {
    /// Whether A's and B's correctness differ (a missing value counted
    /// as 0).
    pub flipped: bool,
    /// The item.
    #[serde(flatten)]
    pub item: &'a ItemDiff,
}

/// Render the comparison of `input` in `format`.
pub fn render_compare(
    t: &Templates,
    input: &CompareInput,
    format: ReportFormat,
) -> Result<String, ReportError> {
    let doc = document(input);
    match format {
        ReportFormat::Json => to_json(&doc),
        ReportFormat::Html => t.render(COMPARE_HTML, view(&doc, true)),
        ReportFormat::Md => t.render(COMPARE_MD, view(&doc, false)),
    }
}

/// The comparison document of `input`.
pub(super) fn document(input: &CompareInput) -> CompareDoc<'_> {
    let mut items: Vec<ItemDiffDoc> = input
        .items
        .iter()
        .map(|item| ItemDiffDoc {
            flipped: item.a_correct.unwrap_or(0.0) != item.b_correct.unwrap_or(0.0),
            item,
        })
        .collect();
    items.sort_by(|x, y| {
        y.flipped
            .cmp(&x.flipped)
            .then_with(|| x.item.id.cmp(&y.item.id))
    });
    CompareDoc {
        schema_version: COMPARE_SCHEMA_VERSION,
        a: &input.a,
        b: &input.b,
        figures: &input.figures,
        category_deltas: category_deltas(&input.a, &input.b),
        tag_deltas: tags::tag_deltas(&input.a, &input.b),
        items,
        evalsets_differ: input.evalsets_differ,
        notes: [coverage_note("A", &input.a), coverage_note("B", &input.b)]
            .into_iter()
            .flatten()
            .chain(calculator::compare_note(
                input.a.calculator,
                input.b.calculator,
            ))
            .collect(),
    }
}

/// The note for an incomplete run (coverage below 100%) on `side`.
fn coverage_note(side: &str, run: &RunSummary) -> Option<String> {
    let full = run.decision();
    (!full.complete() && full.n_items > 0).then(|| {
        format!(
            "{side} is incomplete: coverage {} ({} of {} items scored); its {} unscored items count as wrong in the pairing and in its full-set score {}",
            num::percent(full.coverage),
            full.n_scored,
            full.n_items,
            full.n_items - full.n_scored,
            num::fixed(full.score)
        )
    })
}

/// Both runs' means for every category either has.
fn category_deltas<'a>(a: &'a RunSummary, b: &'a RunSummary) -> BTreeMap<&'a str, CategoryDelta> {
    let names: BTreeSet<&str> = a
        .category_means
        .keys()
        .chain(b.category_means.keys())
        .map(String::as_str)
        .collect();
    names
        .into_iter()
        .map(|name| {
            let mean = |r: &RunSummary| {
                r.category_means
                    .get(name)
                    .copied()
                    .flatten()
                    .filter(|v| v.is_finite())
            };
            let (ma, mb) = (mean(a), mean(b));
            let delta = ma.zip(mb).map(|(x, y)| (y - x) * 100.0);
            (
                name,
                CategoryDelta {
                    a: ma,
                    b: mb,
                    delta_pp: delta,
                },
            )
        })
        .collect()
}

/// What the comparison templates receive.
#[derive(Debug, Serialize)]
struct View<'a> {
    a: RunView<'a>,
    b: RunView<'a>,
    figures: &'a ComparisonFigures,
    verdict: VerdictView,
    categories: Vec<CategoryView<'a>>,
    /// One row per tag of either run.
    tags: Vec<TagDeltaView<'a>>,
    notes: &'a [String],
    /// What the calculator marker means.
    calc_meaning: &'static str,
    /// The category delta bars (HTML only), safe markup.
    delta_chart: Option<Value>,
    flipped: Vec<ItemView<'a>>,
    unchanged: Vec<ItemView<'a>>,
    loss_curves: Vec<CurveView>,
    evalsets_differ: bool,
}

/// One side of the comparison, with display text prepared.
#[derive(Debug, Serialize)]
struct RunView<'a> {
    run: RunContext<'a>,
    /// The run id, cut to 8 characters.
    short_id: String,
    /// Whether the run id says more than the name.
    show_id: bool,
    /// `0.7500 [0.6661, 0.8178]` or `—`: the primary score.
    score: Value,
    ci_method: &'static str,
    /// The full-eval-set score with its CI.
    full_score: Value,
    /// `100.0%`, `9.2%`.
    coverage: Value,
    /// Whether coverage is below 100%.
    incomplete: bool,
    created: String,
    commit: String,
    evalset_hash: String,
}

/// The verdict and the figures behind it, as text.
#[derive(Debug, Serialize)]
struct VerdictView {
    /// `improved`, `regressed` or `no_evidence` (CSS class).
    kind: &'static str,
    /// `B improved over A`, ...
    headline: &'static str,
    /// `+8.33 pp [+2.10, +14.50]` or `—`.
    diff: Value,
    diff_ci_method: &'static str,
    test: &'static str,
    /// `0.0040`, `1.2e-7` or `—`.
    p_value: Value,
    mean_a: Value,
    mean_b: Value,
    mde: Value,
    alpha: Value,
    min_effect: Value,
}

/// One category row.
#[derive(Debug, Serialize)]
struct CategoryView<'a> {
    name: &'a str,
    a: Value,
    b: Value,
    delta: Value,
    /// `positive`, `negative`, `zero` or `none` (CSS class).
    sign: &'static str,
}

/// One item row.
#[derive(Debug, Serialize)]
struct ItemView<'a> {
    item: &'a ItemDiff,
    a_extracted: &'a str,
    b_extracted: &'a str,
    a_correct: Value,
    b_correct: Value,
    /// `gain`, `loss`, `changed` or `same` (CSS class).
    change: &'static str,
}

/// A loss curve of one side (HTML only).
#[derive(Debug, Serialize)]
struct CurveView {
    side: &'static str,
    svg: Value,
}

/// The template context for `doc`; charts only when `charts` (HTML).
fn view<'a>(doc: &'a CompareDoc<'a>, charts: bool) -> View<'a> {
    let categories: Vec<CategoryView> = doc
        .category_deltas
        .iter()
        .map(|(name, d)| category(name, d))
        .collect();
    let (flipped, unchanged): (Vec<&ItemDiffDoc>, Vec<&ItemDiffDoc>) =
        doc.items.iter().partition(|i| i.flipped);
    View {
        a: run_view(doc.a),
        b: run_view(doc.b),
        figures: doc.figures,
        verdict: verdict(doc.figures),
        delta_chart: charts.then(|| delta_chart(&doc.category_deltas)),
        categories,
        tags: tags::delta_rows(&doc.tag_deltas),
        notes: &doc.notes,
        calc_meaning: calculator::MEANING,
        flipped: flipped.into_iter().map(item).collect(),
        unchanged: unchanged.into_iter().map(item).collect(),
        loss_curves: if charts { loss_curves(doc) } else { Vec::new() },
        evalsets_differ: doc.evalsets_differ,
    }
}

/// Display text of one run.
fn run_view(run: &RunSummary) -> RunView<'_> {
    let full = run.decision();
    RunView {
        full_score: trusted(num::with_ci(
            full.score,
            full.ci95.map(|c| c.low),
            full.ci95.map(|c| c.high),
        )),
        coverage: trusted(num::percent(full.coverage)),
        incomplete: !full.complete(),
        run: RunContext::from(run),
        short_id: words::abbrev(&run.run_id, 8),
        show_id: run.run_id != run.name,
        score: trusted(num::with_ci(run.primary_score, run.ci_low, run.ci_high)),
        ci_method: run.ci_method.map(words::ci_method).unwrap_or_default(),
        created: words::date(&run.created_at),
        commit: words::commit(run.git_commit.as_deref(), run.git_dirty),
        evalset_hash: words::short(&run.evalset_blake3, 12),
    }
}

/// The verdict's headline and figures as text.
fn verdict(f: &ComparisonFigures) -> VerdictView {
    let kind = match f.verdict {
        Verdict::Improved => "improved",
        Verdict::Regressed => "regressed",
        Verdict::NoEvidence => "no_evidence",
    };
    VerdictView {
        kind,
        headline: words::headline(f.verdict),
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
        mean_a: trusted(num::fixed(f.mean_a)),
        mean_b: trusted(num::fixed(f.mean_b)),
        mde: trusted(num::pp_abs(f.min_detectable_difference_pp)),
        alpha: trusted(num::setting(f.alpha)),
        min_effect: trusted(num::pp_abs(Some(f.min_effect_pp))),
    }
}

/// Display text of one category.
fn category<'a>(name: &'a str, d: &CategoryDelta) -> CategoryView<'a> {
    CategoryView {
        name,
        a: trusted(num::fixed(d.a)),
        b: trusted(num::fixed(d.b)),
        delta: trusted(num::pp(d.delta_pp)),
        sign: tags::sign(d.delta_pp),
    }
}

/// Display text of one item.
fn item<'a>(doc: &'a ItemDiffDoc<'a>) -> ItemView<'a> {
    let i = doc.item;
    let (a, b) = (i.a_correct.unwrap_or(0.0), i.b_correct.unwrap_or(0.0));
    let change = match doc.flipped {
        false => "same",
        true if b > a => "gain",
        true if b < a => "loss",
        true => "changed",
    };
    ItemView {
        item: i,
        a_extracted: i.a_extracted.as_deref().unwrap_or(num::NONE),
        b_extracted: i.b_extracted.as_deref().unwrap_or(num::NONE),
        a_correct: trusted(correctness(i.a_correct)),
        b_correct: trusted(correctness(i.b_correct)),
        change,
    }
}

/// `✓` for 1, `✗` for 0, 4 decimals for partial credit, `missing ✗` for
/// none (counted as wrong).
fn correctness(x: Option<f64>) -> String {
    match x {
        Some(1.0) => "✓".to_string(),
        Some(0.0) => "✗".to_string(),
        None => "missing ✗".to_string(),
        other => num::fixed(other),
    }
}

/// The category delta bars.
fn delta_chart(deltas: &BTreeMap<&str, CategoryDelta>) -> Value {
    let rows: Vec<(&str, Option<f64>)> = deltas
        .iter()
        .map(|(name, d)| (*name, d.delta_pp.map(|v| v / 100.0)))
        .collect();
    Value::from_safe_string(svg::delta_bars(&rows))
}

/// Loss curves of A and B, where present.
fn loss_curves(doc: &CompareDoc<'_>) -> Vec<CurveView> {
    [("A", doc.a), ("B", doc.b)]
        .into_iter()
        .filter_map(|(side, run)| {
            svg::loss_curve(&format!("{side}: {}", run.name), &run.loss_curve).map(|svg| {
                CurveView {
                    side,
                    svg: Value::from_safe_string(svg),
                }
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
