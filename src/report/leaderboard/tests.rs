//! The leaderboard's tests: order, ranks and ties, notes, the calculator
//! marker, per-tag figures, escaping, and the golden files.

use super::super::fixtures::{self, PAYLOADS};
use super::*;

use crate::scoring::{CiMethod, ConfidenceInterval, FullSetScore};

/// A complete run of 120 items whose full-set score and CI are `score`
/// and `ci`.
fn run(id: &str, score: Option<f64>, ci: Option<(f64, f64)>) -> RunSummary {
    let mut r = fixtures::leaderboard().runs[0].clone();
    r.run_id = id.to_string();
    r.primary_score = score;
    r.ci_low = ci.map(|c| c.0);
    r.ci_high = ci.map(|c| c.1);
    r.n_scored = 120;
    r.n_skipped = 0;
    r.status = "completed".into();
    r.full_set = Some(full(score, ci));
    r
}

fn full(score: Option<f64>, ci: Option<(f64, f64)>) -> FullSetScore {
    FullSetScore {
        n_items: 120,
        n_scored: 120,
        coverage: Some(1.0),
        score,
        ci95: ci.map(|(low, high)| ConfidenceInterval {
            low,
            high,
            method: CiMethod::Wilson,
        }),
    }
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
        items: ItemTable::default(),
    };
    assert_eq!(ids(&document(&input)), vec!["b", "a", "c", "d", "e"]);
}

#[test]
fn ranks_group_overlapping_runs() {
    let input = fixtures::leaderboard();
    let doc = document(&input);
    let ranks: Vec<(Option<usize>, bool, bool)> = doc
        .runs
        .iter()
        .map(|r| (r.rank, r.tied, r.tied_with_leader))
        .collect();
    assert_eq!(
        ranks,
        vec![
            (Some(1), true, false),
            (Some(1), true, true),
            (Some(2), false, false),
            (None, false, false)
        ]
    );
    let rules: Vec<Option<TieRule>> = doc
        .runs
        .iter()
        .map(|r| r.rank_decided_by.as_ref().map(|d| d.rule))
        .collect();
    assert_eq!(
        rules,
        vec![
            None,
            Some(TieRule::CiOverlap),
            Some(TieRule::PairedTest),
            None
        ]
    );
    assert_eq!(
        doc.runs.iter().map(|r| r.incomplete).collect::<Vec<_>>(),
        vec![false, false, true, true]
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
        items: ItemTable::default(),
    };
    let doc = document(&input);
    assert_eq!(
        doc.runs.iter().map(|r| r.rank).collect::<Vec<_>>(),
        vec![Some(1), None]
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
        items: ItemTable::default(),
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
    for run in &mut input.runs {
        run.calculator = false;
    }
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
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["filters"][0]["key"], "dataset");
    let first = &v["runs"][0];
    for key in [
        "rank",
        "tied",
        "tied_with_leader",
        "incomplete",
        "status",
        "full_set",
        "run_id",
        "primary_score",
        "ci_low",
        "category_means",
        "loss_curve",
        "calculator",
        "tag_scores",
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
        items: ItemTable::default(),
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
        calculator: false,
        evalset_blake3: String::new(),
        full_set: Some(full(Some(s), Some(ci))),
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
        items: ItemTable::default(),
    };
    let doc = document(&input);
    assert_eq!(doc.matching_runs, Some(4));
    let ranks: Vec<(&str, Option<usize>, bool)> = doc
        .runs
        .iter()
        .map(|r| (r.run.run_id.as_str(), r.rank, r.tied))
        .collect();
    assert_eq!(ranks, vec![("a", Some(1), true), ("b", Some(2), true)]);
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
    let out = render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Md).expect("render");
    assert_eq!(fixtures::assert_markdown(&out), 2, "runs and tags tables");
    fixtures::assert_golden("leaderboard.md", &out);
}

#[test]
fn golden_json() {
    let t = Templates::builtin().expect("templates");
    let out = render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Json).expect("render");
    fixtures::assert_golden("leaderboard.json", &out);
}

#[test]
fn golden_html() {
    let t = Templates::builtin().expect("templates");
    let out = render_leaderboard(&t, &fixtures::leaderboard(), ReportFormat::Html).expect("render");
    fixtures::assert_html_self_contained(&out);
    fixtures::assert_golden("leaderboard.html", &out);
}

/// A leaderboard of two scored runs, `calc` decoded with the calculator.
fn calculator_and_plain() -> LeaderboardInput {
    let mut calc = run("calc", Some(0.8), Some((0.7, 0.9)));
    calc.name = "calc".into();
    calc.calculator = true;
    let mut plain = run("plain", Some(0.5), Some((0.4, 0.6)));
    plain.name = "plain".into();
    plain.calculator = false;
    LeaderboardInput {
        title: "t".into(),
        filters: vec![],
        runs: vec![plain, calc],
        unshown: vec![],
        notes: vec![],
        items: ItemTable::default(),
    }
}

#[test]
fn calculator_runs_are_marked_and_a_mix_is_noted_in_every_format() {
    let t = Templates::builtin().expect("templates");
    let input = calculator_and_plain();
    let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["runs"][0]["calculator"], true);
    assert_eq!(v["runs"][1]["calculator"], false);
    let note = v["notes"][0].as_str().expect("a note");
    assert!(
        note.starts_with("this leaderboard ranks calculator-assisted and plain scores together"),
        "{note}"
    );
    let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("md");
    assert!(md.contains("| 0.8000 [0.7000, 0.9000] (calc) |"), "{md}");
    assert!(md.contains("| 0.5000 [0.4000, 0.6000] |"), "{md}");
    assert!(
        md.contains(
            "**Note:** this leaderboard ranks calculator-assisted and plain scores together"
        ),
        "{md}"
    );
    let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
    assert!(
        html.contains("0.8000 [0.7000, 0.9000] <span class=\"calc\" title=\"calculator-assisted decoding (the decoder computed the arithmetic the model wrote)\">calc</span></td>"),
        "{html}"
    );
    assert!(html.contains("<strong>Note:</strong> this leaderboard ranks calculator-assisted and plain scores together"), "{html}");
}

#[test]
fn only_scored_runs_count_toward_the_mix_and_unshown_runs_do() {
    let t = Templates::builtin().expect("templates");
    let mut input = calculator_and_plain();
    input.runs[0].primary_score = None;
    input.runs[0].full_set = Some(FullSetScore {
        n_scored: 0,
        ..full(Some(0.0), None)
    });
    let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
    assert!(
        !json.contains("\"notes\""),
        "a plain run without a score: {json}"
    );
    input.unshown.push(RunScore {
        run_id: "hidden-plain".into(),
        primary_score: Some(0.1),
        ci_low: Some(0.0),
        ci_high: Some(0.2),
        calculator: false,
        evalset_blake3: String::new(),
        full_set: Some(full(Some(0.1), Some((0.0, 0.2)))),
    });
    let doc = document(&input);
    assert_eq!(doc.notes.len(), 1, "{:?}", doc.notes);
    assert!(doc.notes[0]
        .contains("(1 run decoded with the calculator, marked calc, and 1 run without)"));
    let all_calc = LeaderboardInput {
        unshown: vec![],
        runs: input
            .runs
            .iter()
            .filter(|r| r.calculator)
            .cloned()
            .collect(),
        ..input
    };
    assert!(document(&all_calc).notes.is_empty());
}

#[test]
fn per_tag_figures_show_in_a_collapsible_table_and_only_when_present() {
    let t = Templates::builtin().expect("templates");
    let input = fixtures::leaderboard();
    let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
    assert!(html.contains("<h2>Per tag</h2>\n<details>\n<summary>Mean score of each run's eval items per tag (5 tags)</summary>"), "{html}");
    assert_eq!(html.matches("<tr class=\"tag-row").count(), 4);
    assert!(
        html.contains("<th class=\"num\" data-sort=\"desc\">thousands-separator</th>"),
        "{html}"
    );
    assert!(
        html.contains("0.7703<br><span class=\"meta\">57/74 ["),
        "{html}"
    );
    let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("md");
    assert!(md.contains("<details>\n<summary>Per tag: "), "{md}");
    assert!(
        md.contains("| 2-step | division | multiplication | percent | thousands-separator |"),
        "{md}"
    );
    assert!(md.contains(" 0.7703 (57/74) |"), "{md}");
    let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let leader = &v["runs"][0];
    assert_eq!(leader["run_id"], "baseline-gpt-nano");
    assert_eq!(leader["tag_scores"]["multiplication"]["n_correct"], 57);
    assert_eq!(
        leader["tag_scores"]["multiplication"]["ci95"]["method"],
        "wilson"
    );

    let mut untagged = input;
    for run in &mut untagged.runs {
        run.tag_scores.clear();
    }
    let html = render_leaderboard(&t, &untagged, ReportFormat::Html).expect("html");
    assert!(!html.contains("Per tag"), "no tags, no section");
    let md = render_leaderboard(&t, &untagged, ReportFormat::Md).expect("md");
    assert!(!md.contains("Per tag"), "{md}");
}

#[test]
fn tag_names_are_escaped() {
    let t = Templates::builtin().expect("templates");
    let mut input = fixtures::leaderboard();
    let stats = input.runs[3].tag_scores["division"].clone();
    for payload in PAYLOADS {
        input.runs[3]
            .tag_scores
            .insert(payload.to_string(), stats.clone());
    }
    for format in [ReportFormat::Html, ReportFormat::Md] {
        let out = render_leaderboard(&t, &input, format).expect("render");
        assert!(
            !out.contains("<script>alert") && !out.contains("<img"),
            "{format:?}"
        );
        assert!(
            out.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{format:?}"
        );
    }
}

/// Two complete runs on eval set `e`: the leader right on items 0..90 of
/// 120, the other on 0..78, with Wilson CIs (which overlap).
fn close_pair(with_items: bool) -> LeaderboardInput {
    let wilson = |k: u64| {
        let ci = crate::scoring::intervals::wilson_ci(k, 120, crate::scoring::intervals::Z95)
            .expect("wilson");
        Some((ci.low, ci.high))
    };
    let mut a = run("leader", Some(0.75), wilson(90));
    let mut b = run("close", Some(0.65), wilson(78));
    for r in [&mut a, &mut b] {
        r.name = r.run_id.clone();
        r.evalset_blake3 = "e".repeat(64);
    }
    let values = |right: u32| (0..120).map(|i| (i, f64::from(i < right))).collect();
    let items = if with_items {
        ItemTable {
            ids: (0..120).map(|i| format!("q{i:03}")).collect(),
            runs: [
                ("leader".to_string(), values(90)),
                ("close".to_string(), values(78)),
            ]
            .into(),
        }
    } else {
        ItemTable::default()
    };
    LeaderboardInput {
        title: "t".into(),
        filters: vec![],
        runs: vec![b, a],
        unshown: vec![],
        notes: vec![],
        items,
    }
}

#[test]
fn the_paired_test_separates_runs_whose_intervals_overlap() {
    let t = Templates::builtin().expect("templates");
    let input = close_pair(true);
    let doc = document(&input);
    let close = &doc.runs[1];
    assert_eq!((close.rank, close.tied), (Some(2), false));
    let d = close.rank_decided_by.as_ref().expect("a decision");
    assert_eq!(
        (d.rule, d.against, d.tied),
        (TieRule::PairedTest, "leader", false)
    );
    let p = crate::scoring::paired::mcnemar_exact(12, 0);
    assert_eq!((d.p_value, d.p_holm), (Some(p), Some(p)));
    let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["ranked_by"], "full_set_score");
    assert_eq!(v["runs"][1]["rank_decided_by"]["rule"], "paired_test");
    assert_eq!(v["runs"][1]["rank_decided_by"]["test"], "mcnemar_exact");
    let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("md");
    assert!(md.contains("| 2 | paired, Holm p 0.0005 | close |"), "{md}");
    assert!(
        md.contains("Holm-adjusted over the runs compared with that leader"),
        "{md}"
    );
    let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
    assert!(html.contains("paired, Holm p 0.0005"), "{html}");
    // Without per-item values only the intervals speak: a tie.
    let no_items = close_pair(false);
    let doc = document(&no_items);
    let close = &doc.runs[1];
    assert_eq!((close.rank, close.tied), (Some(1), true));
    let d = close.rank_decided_by.as_ref().expect("a decision");
    assert_eq!((d.rule, d.tied), (TieRule::CiOverlap, true));
}

#[test]
fn incomplete_runs_rank_on_the_full_set_and_are_marked() {
    let t = Templates::builtin().expect("templates");
    let mut input = close_pair(true);
    // The gamed run: 11 right answers submitted, nothing else.
    let mut gamed = run("gamed", Some(1.0), Some((0.7, 1.0)));
    gamed.name = "gamed".into();
    gamed.evalset_blake3 = "e".repeat(64);
    gamed.n_scored = 11;
    gamed.n_skipped = 109;
    gamed.full_set = Some(crate::scoring::full_set_from_summary(
        Some(1.0),
        11,
        120,
        true,
    ));
    input.items.runs.insert(
        "gamed".into(),
        (0..120).map(|i| (i, f64::from(i < 11))).collect(),
    );
    input.runs.push(gamed);
    let doc = document(&input);
    assert_eq!(ids(&doc), vec!["leader", "close", "gamed"]);
    let last = &doc.runs[2];
    assert_eq!((last.rank, last.incomplete), (Some(3), true));
    let md = render_leaderboard(&t, &input, ReportFormat::Md).expect("md");
    assert!(
        md.contains("| 9.2% ⚠ incomplete | 1.0000 [0.7000, 1.0000] |"),
        "{md}"
    );
    let html = render_leaderboard(&t, &input, ReportFormat::Html).expect("html");
    assert!(html.contains("9.2% <span class=\"incomplete\""), "{html}");
    let json = render_leaderboard(&t, &input, ReportFormat::Json).expect("json");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["runs"][2]["incomplete"], true);
    assert_eq!(v["runs"][2]["full_set"]["n_scored"], 11);
}
