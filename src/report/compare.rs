//! The comparison of run B against run A: scores with CIs, scorecards side
//! by side, the paired verdict, per-category and per-tag deltas and the
//! per-item diff (flipped items first), with a note when only one of the
//! runs was calculator-assisted, as JSON or through the
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
    Templates, SCHEMA_VERSION,
};

/// The comparison as JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompareDoc<'a> {
    /// Version of this document's layout: 1.
    pub schema_version: u32,
    /// The baseline run.
    pub a: &'a RunSummary,
    /// The candidate run.
    pub b: &'a RunSummary,
    /// The paired comparison of B against A, as computed by the statistics
    /// module (verdict, difference and its CI, test, p-value, ...).
    pub figures: &'a ComparisonFigures,
    /// Per category (union of both runs' categories, sorted): both means and
    /// B − A (null unless both means are known).
    pub category_deltas: BTreeMap<&'a str, CategoryDelta>,
    /// Per eval-item tag (union of both runs' tags, sorted): both runs'
    /// figures (items, scored, skipped, fully correct, mean, 95% CI) and
    /// B's mean − A's (null unless both means are known).
    pub tag_deltas: BTreeMap<&'a str, TagDelta<'a>>,
    /// Items in both runs: flipped items (`a_correct != b_correct`) first,
    /// then the rest, each group sorted by id.
    pub items: Vec<ItemDiffDoc<'a>>,
    /// Whether A and B were scored on different eval sets.
    pub evalsets_differ: bool,
    /// Notes about the comparison (e.g. one run calculator-assisted, the
    /// other plain); absent when there are none.
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
    /// `b - a` when both are known.
    pub delta: Option<f64>,
}

/// One item of the diff: whether it flipped, and every [`ItemDiff`] field
/// flattened into the same object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemDiffDoc<'a> {
    /// Whether A's and B's correctness differ.
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
            flipped: item.a_correct != item.b_correct,
            item,
        })
        .collect();
    items.sort_by(|x, y| {
        y.flipped
            .cmp(&x.flipped)
            .then_with(|| x.item.id.cmp(&y.item.id))
    });
    CompareDoc {
        schema_version: SCHEMA_VERSION,
        a: &input.a,
        b: &input.b,
        figures: &input.figures,
        category_deltas: category_deltas(&input.a, &input.b),
        tag_deltas: tags::tag_deltas(&input.a, &input.b),
        items,
        evalsets_differ: input.evalsets_differ,
        notes: calculator::compare_note(input.a.calculator, input.b.calculator)
            .into_iter()
            .collect(),
    }
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
            let delta = ma.zip(mb).map(|(x, y)| y - x);
            (
                name,
                CategoryDelta {
                    a: ma,
                    b: mb,
                    delta,
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
    /// `0.7500 [0.6661, 0.8178]` or `—`.
    score: Value,
    ci_method: &'static str,
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
    /// `+0.0833 [+0.0210, +0.1450]` or `—`.
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
    RunView {
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
        diff: trusted(num::signed_with_ci(f.diff, f.diff_ci_low, f.diff_ci_high)),
        diff_ci_method: f
            .diff_ci_method
            .map(words::diff_ci_method)
            .unwrap_or_default(),
        test: f.test.map(words::test).unwrap_or_default(),
        p_value: trusted(num::p_value(f.p_value)),
        mean_a: trusted(num::fixed(f.mean_a)),
        mean_b: trusted(num::fixed(f.mean_b)),
        mde: trusted(num::fixed(f.min_detectable_difference)),
        alpha: trusted(num::setting(f.alpha)),
        min_effect: trusted(num::setting(f.min_effect)),
    }
}

/// Display text of one category.
fn category<'a>(name: &'a str, d: &CategoryDelta) -> CategoryView<'a> {
    CategoryView {
        name,
        a: trusted(num::fixed(d.a)),
        b: trusted(num::fixed(d.b)),
        delta: trusted(num::signed(d.delta)),
        sign: tags::sign(d.delta),
    }
}

/// Display text of one item.
fn item<'a>(doc: &'a ItemDiffDoc<'a>) -> ItemView<'a> {
    let i = doc.item;
    let change = match (doc.flipped, i.a_correct, i.b_correct) {
        (false, _, _) => "same",
        (true, Some(a), Some(b)) if b > a => "gain",
        (true, Some(a), Some(b)) if b < a => "loss",
        (true, _, _) => "changed",
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

/// `✓` for 1, `✗` for 0, 4 decimals for partial credit, `—` for none.
fn correctness(x: Option<f64>) -> String {
    match x {
        Some(1.0) => "✓".to_string(),
        Some(0.0) => "✗".to_string(),
        other => num::fixed(other),
    }
}

/// The category delta bars.
fn delta_chart(deltas: &BTreeMap<&str, CategoryDelta>) -> Value {
    let rows: Vec<(&str, Option<f64>)> = deltas.iter().map(|(name, d)| (*name, d.delta)).collect();
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
