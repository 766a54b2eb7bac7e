//! The comparison of run B against run A: scores with CIs, scorecards side
//! by side, the paired verdict, per-category deltas and the per-item diff
//! (flipped items first), as JSON or through the `compare.{html,md}.j2`
//! templates.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::Value;
use serde::Serialize;

use crate::scoring::Verdict;

use super::context::RunContext;
use super::env::{COMPARE_HTML, COMPARE_MD};
use super::json::to_json;
use super::svg;
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
    /// Items in both runs: flipped items (`a_correct != b_correct`) first,
    /// then the rest, each group sorted by id.
    pub items: Vec<ItemDiffDoc<'a>>,
    /// Whether A and B were scored on different eval sets.
    pub evalsets_differ: bool,
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
        items,
        evalsets_differ: input.evalsets_differ,
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
    let sign = match d.delta {
        None => "none",
        Some(x) if x > 0.0 => "positive",
        Some(x) if x < 0.0 => "negative",
        Some(_) => "zero",
    };
    CategoryView {
        name,
        a: trusted(num::fixed(d.a)),
        b: trusted(num::fixed(d.b)),
        delta: trusted(num::signed(d.delta)),
        sign,
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
mod tests {
    use super::super::fixtures::{self, PAYLOADS};
    use super::*;

    #[test]
    fn flipped_items_come_first_each_group_by_id() {
        let input = fixtures::compare();
        let doc = document(&input);
        let order: Vec<(&str, bool)> = doc
            .items
            .iter()
            .map(|i| (i.item.id.as_str(), i.flipped))
            .collect();
        assert_eq!(
            order,
            vec![
                ("core-003", true),
                ("edge-001", true),
                ("edge-007", true),
                ("trace-002", true),
                ("core-001", false),
                ("core-002", false),
                ("trace-001", false),
            ]
        );
    }

    #[test]
    fn category_deltas_cover_the_union_of_categories() {
        let input = fixtures::compare();
        let doc = document(&input);
        let keys: Vec<&str> = doc.category_deltas.keys().copied().collect();
        assert_eq!(keys, vec!["core", "edge", "extra", "trace"]);
        let extra = doc.category_deltas["extra"];
        assert_eq!((extra.a, extra.b, extra.delta), (Some(0.5), None, None));
        let core = doc.category_deltas["core"].delta.expect("delta");
        assert!((core - (0.74 - 0.76)).abs() < 1e-12);
    }

    #[test]
    fn items_show_direction_and_correctness_marks() {
        let input = fixtures::compare();
        let doc = document(&input);
        let view = view(&doc, false);
        let changes: Vec<&str> = view.flipped.iter().map(|i| i.change).collect();
        assert_eq!(changes, vec!["gain", "changed", "gain", "loss"]);
        assert_eq!(correctness(Some(1.0)), "✓");
        assert_eq!(correctness(Some(0.0)), "✗");
        assert_eq!(correctness(Some(0.5)), "0.5000");
        assert_eq!(correctness(None), "—");
    }

    #[test]
    fn every_verdict_has_a_headline() {
        let mut f = fixtures::compare().figures;
        for (name, kind, headline) in [
            (Verdict::Improved, "improved", "B improved over A"),
            (Verdict::Regressed, "regressed", "B regressed from A"),
            (
                Verdict::NoEvidence,
                "no_evidence",
                "No evidence that B differs from A",
            ),
        ] {
            f.verdict = name;
            let v = verdict(&f);
            assert_eq!((v.kind, v.headline), (kind, headline));
        }
    }

    #[test]
    fn markdown_summary_line_fits_a_pull_request() {
        let t = Templates::builtin().expect("templates");
        let mut input = fixtures::compare();
        input.figures.verdict = Verdict::Improved;
        input.figures.diff = Some(0.083);
        input.figures.diff_ci_low = Some(0.021);
        input.figures.diff_ci_high = Some(0.145);
        input.figures.p_value = Some(0.004);
        let md = render_compare(&t, &input, ReportFormat::Md).expect("md");
        assert!(
            md.contains(
                "**B improved over A**: +0.0830 [+0.0210, +0.1450], McNemar exact p=0.0040"
            ),
            "{md}"
        );
        assert!(md.contains("3 unchanged items omitted"), "{md}");
    }

    #[test]
    fn nothing_to_compare_still_renders() {
        let t = Templates::builtin().expect("templates");
        let mut input = fixtures::compare();
        input.items.clear();
        input.a.category_means.clear();
        input.b.category_means.clear();
        input.a.loss_curve.clear();
        input.b.loss_curve.clear();
        input.figures = ComparisonFigures {
            n_pairs: 0,
            n_only_in_a: 0,
            only_in_a: vec![],
            n_only_in_b: 0,
            only_in_b: vec![],
            n_skipped: 0,
            mean_a: None,
            mean_b: None,
            diff: None,
            diff_ci_low: None,
            diff_ci_high: None,
            diff_ci_method: None,
            test: None,
            p_value: None,
            verdict: Verdict::NoEvidence,
            min_detectable_difference: None,
            alpha: 0.05,
            min_effect: 0.0,
            warnings: vec![],
        };
        input.evalsets_differ = false;
        for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
            let out = render_compare(&t, &input, format).expect("render");
            assert!(!out.contains("different eval sets"), "{format:?}");
        }
        let md = render_compare(&t, &input, ReportFormat::Md).expect("md");
        assert!(md.contains("no paired items"), "{md}");
    }

    #[test]
    fn payloads_are_literal_text_in_every_format() {
        let t = Templates::builtin().expect("templates");
        let mut input = fixtures::compare();
        let all = PAYLOADS.join(" ");
        input.a.name = all.clone();
        input.b.model_id = all.clone();
        input.figures.warnings.push(all.clone());
        input.figures.only_in_a.push(all.clone());
        input.a.category_means.insert(all.clone(), Some(0.1));
        for item in &mut input.items {
            item.expected = all.clone();
            item.category = all.clone();
        }
        fixtures::assert_payloads_inert(
            &render_compare(&t, &input, ReportFormat::Html).expect("html"),
            ReportFormat::Html,
        );
        fixtures::assert_payloads_inert(
            &render_compare(&t, &input, ReportFormat::Md).expect("md"),
            ReportFormat::Md,
        );
        let json = render_compare(&t, &input, ReportFormat::Json).expect("json");
        let back: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert_eq!(back["a"]["name"], all);
    }

    #[test]
    fn json_has_the_documented_layout() {
        let t = Templates::builtin().expect("templates");
        let text = render_compare(&t, &fixtures::compare(), ReportFormat::Json).expect("json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["figures"]["verdict"], "no_evidence");
        assert_eq!(v["items"][0]["flipped"], true);
        assert_eq!(v["items"][0]["id"], "core-003");
        assert_eq!(
            v["category_deltas"]["extra"]["delta"],
            serde_json::Value::Null
        );
        assert_eq!(v["evalsets_differ"], true);
    }

    #[test]
    fn the_banner_shows_only_when_evalsets_differ() {
        let t = Templates::builtin().expect("templates");
        let mut input = fixtures::compare();
        for format in [ReportFormat::Html, ReportFormat::Md] {
            input.evalsets_differ = true;
            assert!(render_compare(&t, &input, format)
                .expect("render")
                .contains("different eval sets"));
            input.evalsets_differ = false;
            assert!(!render_compare(&t, &input, format)
                .expect("render")
                .contains("different eval sets"));
        }
    }

    #[test]
    fn golden_markdown() {
        let t = Templates::builtin().expect("templates");
        let out = render_compare(&t, &fixtures::compare(), ReportFormat::Md).expect("render");
        fixtures::assert_golden("compare.md", &out);
    }

    #[test]
    fn golden_json() {
        let t = Templates::builtin().expect("templates");
        let out = render_compare(&t, &fixtures::compare(), ReportFormat::Json).expect("render");
        fixtures::assert_golden("compare.json", &out);
    }

    #[test]
    fn golden_html() {
        let t = Templates::builtin().expect("templates");
        let out = render_compare(&t, &fixtures::compare(), ReportFormat::Html).expect("render");
        fixtures::assert_html_self_contained(&out);
        fixtures::assert_golden("compare.html", &out);
    }
}
