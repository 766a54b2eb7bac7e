//! The comparison's tests: item order, category and tag deltas, the
//! calculator note, verdicts, escaping, and the golden files.

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
    assert_eq!((extra.a, extra.b, extra.delta_pp), (Some(0.5), None, None));
    let core = doc.category_deltas["core"].delta_pp.expect("delta");
    assert!((core - (0.74 - 0.76) * 100.0).abs() < 1e-9);
}

#[test]
fn items_show_direction_and_correctness_marks() {
    let input = fixtures::compare();
    let doc = document(&input);
    let view = view(&doc, false);
    let changes: Vec<&str> = view.flipped.iter().map(|i| i.change).collect();
    // edge-001: missing in A (counted as wrong), right in B: a gain.
    assert_eq!(changes, vec!["gain", "gain", "gain", "loss"]);
    assert_eq!(correctness(Some(1.0)), "✓");
    assert_eq!(correctness(Some(0.0)), "✗");
    assert_eq!(correctness(Some(0.5)), "0.5000");
    assert_eq!(correctness(None), "missing ✗");
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
    input.figures.diff_pp = Some(8.3);
    input.figures.diff_ci_low_pp = Some(2.1);
    input.figures.diff_ci_high_pp = Some(14.5);
    input.figures.p_value = Some(0.004);
    let md = render_compare(&t, &input, ReportFormat::Md).expect("md");
    assert!(
        md.contains("**B improved over A**: +8.30 pp [+2.10, +14.50], McNemar exact p=0.0040"),
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
        pairing: crate::scoring::Pairing::Union,
        n_only_in_a: 0,
        only_in_a: vec![],
        n_only_in_b: 0,
        only_in_b: vec![],
        n_skipped: 0,
        n_unscored_a: 0,
        n_unscored_b: 0,
        mean_a: None,
        mean_b: None,
        diff_pp: None,
        diff_ci_low_pp: None,
        diff_ci_high_pp: None,
        diff_ci_method: None,
        test: None,
        p_value: None,
        verdict: Verdict::NoEvidence,
        min_detectable_difference_pp: None,
        alpha: 0.05,
        min_effect_pp: 0.0,
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
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["figures"]["verdict"], "no_evidence");
    assert_eq!(v["figures"]["diff_pp"], 33.33);
    assert_eq!(v["figures"]["pairing"], "shared");
    assert!(v["b"]["full_set"]["coverage"].as_f64().expect("coverage") < 1.0);
    assert!(v["notes"][0]
        .as_str()
        .expect("a note")
        .starts_with("B is incomplete: coverage 98.3% (118 of 120 items scored)"));
    assert_eq!(v["items"][0]["flipped"], true);
    assert_eq!(v["items"][0]["id"], "core-003");
    assert_eq!(
        v["category_deltas"]["extra"]["delta_pp"],
        serde_json::Value::Null
    );
    assert_eq!(v["evalsets_differ"], true);
    assert!(v["tag_deltas"]["2-step"]["delta_pp"].is_number());
    assert!(v["notes"].is_array());
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
    assert!(fixtures::assert_markdown(&out) >= 4, "{out}");
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

#[test]
fn the_calculator_note_shows_when_only_one_run_used_it() {
    let t = Templates::builtin().expect("templates");
    let mut input = fixtures::compare();
    // A complete B: no coverage note before the calculator's.
    input.b = fixtures::challenger();
    assert!(!input.a.calculator && input.b.calculator);
    let json = render_compare(&t, &input, ReportFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["b"]["calculator"], true);
    assert_eq!(v["a"]["calculator"], false);
    let note = v["notes"][0].as_str().expect("a note");
    assert!(
        note.starts_with("B used the calculator, A did not: different measurements"),
        "{note}"
    );
    let md = render_compare(&t, &input, ReportFormat::Md).expect("md");
    assert!(
        md.contains("> [!NOTE]\n> B used the calculator, A did not: different measurements"),
        "{md}"
    );
    assert!(
        md.contains("| decoding | plain | calculator-assisted |"),
        "{md}"
    );
    assert!(md.contains("[0.6473, 0.8042] (calc) |"), "{md}");
    let html = render_compare(&t, &input, ReportFormat::Html).expect("html");
    assert!(html.contains("<div class=\"banner\" role=\"note\"><strong>Note:</strong> B used the calculator, A did not: different measurements"), "{html}");
    assert!(
        html.contains("[0.6473, 0.8042] <span class=\"calc\""),
        "{html}"
    );
    let text = crate::report::render_compare_text(&input);
    assert!(
        text.contains("\nnote: B used the calculator, A did not: different measurements"),
        "{text}"
    );
    assert!(
        text.contains("Wilson, calc (calculator-assisted decoding), 120 items"),
        "{text}"
    );

    input.a.calculator = true;
    for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
        let out = render_compare(&t, &input, format).expect("render");
        assert!(
            !out.contains("used the calculator"),
            "{format:?}: both used it"
        );
    }
    input.b.calculator = false;
    let doc = document(&input);
    assert!(
        doc.notes[0].starts_with("A used the calculator, B did not"),
        "{:?}",
        doc.notes
    );
}

#[test]
fn per_tag_figures_of_both_runs_and_the_difference() {
    let t = Templates::builtin().expect("templates");
    let input = fixtures::compare();
    let doc = document(&input);
    let keys: Vec<&str> = doc.tag_deltas.keys().copied().collect();
    assert_eq!(
        keys,
        [
            "2-step",
            "division",
            "multiplication",
            "percent",
            "thousands-separator"
        ]
    );
    let m = &doc.tag_deltas["multiplication"];
    let delta = m.delta_pp.expect("both known");
    assert!((delta - (54.0 / 74.0 - 57.0 / 74.0) * 100.0).abs() < 1e-9);
    assert_eq!(
        (m.a.map(|a| a.n_correct), m.b.map(|b| b.n_correct)),
        (Some(57), Some(54))
    );
    assert_eq!(doc.tag_deltas["percent"].a, None);
    let json = render_compare(&t, &input, ReportFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["tag_deltas"]["percent"]["a"], serde_json::Value::Null);
    assert_eq!(v["tag_deltas"]["percent"]["b"]["n_scored"], 2);
    assert_eq!(v["tag_deltas"]["division"]["a"]["ci95"]["method"], "wilson");
    let md = render_compare(&t, &input, ReportFormat::Md).expect("md");
    assert!(
        md.contains("### Per tag\n\n| tag | A (correct / scored) |"),
        "{md}"
    );
    assert!(md.contains("| multiplication | 0.7703 (57/74) | ["), "{md}");
    assert!(md.contains("| percent | — | — | 0.5000 (1/2) | ["), "{md}");
    let html = render_compare(&t, &input, ReportFormat::Html).expect("html");
    assert!(html.contains("<h2>Per tag</h2>\n<details>"), "{html}");
    assert!(
        html.contains("<td class=\"num delta-negative\">-4.05 pp</td>"),
        "{html}"
    );
    let text = crate::report::render_compare_text(&input);
    assert!(
        text.contains("Per tag, mean (correct/scored) in A → B, and B − A:\n"),
        "{text}"
    );
    assert!(
        text.contains("  multiplication       0.7703 (57/74) → 0.7297 (54/74)  -4.05 pp\n"),
        "{text}"
    );
    assert!(
        text.contains("  percent              — → 0.5000 (1/2)  —\n"),
        "{text}"
    );

    let mut untagged = input;
    untagged.a.tag_scores.clear();
    untagged.b.tag_scores.clear();
    for format in [ReportFormat::Html, ReportFormat::Md] {
        let out = render_compare(&t, &untagged, format).expect("render");
        assert!(!out.contains("Per tag"), "{format:?}");
    }
    assert!(!crate::report::render_compare_text(&untagged).contains("Per tag"));
}
