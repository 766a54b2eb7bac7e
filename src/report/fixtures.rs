//! Fixed inputs for the golden tests and helpers to check outputs.

use std::collections::BTreeMap;

use super::*;
use crate::scoring::compare::DiffCiMethod;
use crate::scoring::intervals::{wilson_ci, Z95};
use crate::scoring::{
    full_set_from_summary, CiMethod, ConfidenceInterval, FullSetScore, PairedTest, Pairing,
    TagStats, Verdict,
};

/// Hostile text that must come out as literal text.
pub const PAYLOADS: [&str; 3] = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
];

/// A run with the fields the golden files show.
fn run(run_id: &str, name: &str, score: Option<f64>, ci: Option<(f64, f64)>) -> RunSummary {
    RunSummary {
        run_id: run_id.to_string(),
        name: name.to_string(),
        kind: "Eval".to_string(),
        model_id: "gpt-nano".to_string(),
        dataset: Some("dev-reasoning-v2".to_string()),
        config_hash: "c0ffee00d15ea5e5".to_string(),
        labels: BTreeMap::new(),
        created_at: "2025-11-01T09:30:00Z".to_string(),
        git_commit: Some("3f9a2c1d0e5b7a6c4d3e2f1a0b9c8d7e6f5a4b3c".to_string()),
        git_dirty: false,
        evalset_path: "evalsets/eval_v2.jsonl".to_string(),
        evalset_blake3: "ab".repeat(32),
        primary_score: score,
        ci_low: ci.map(|c| c.0),
        ci_high: ci.map(|c| c.1),
        ci_method: ci.map(|_| CiMethod::Wilson),
        n_items: 120,
        n_scored: 120,
        n_skipped: 0,
        status: "completed".to_string(),
        full_set: None,
        category_means: BTreeMap::new(),
        sweep_id: None,
        loss_curve: Vec::new(),
        scoring_rules_version: None,
        calculator: false,
        tag_scores: BTreeMap::new(),
    }
}

/// Per-tag figures from `(tag, correct, scored)`, with Wilson intervals.
fn tags(triples: &[(&str, usize, usize)]) -> BTreeMap<String, TagStats> {
    triples
        .iter()
        .map(|&(tag, correct, n)| {
            let ci = wilson_ci(correct as u64, n as u64, Z95).map(|c| ConfidenceInterval {
                low: c.low,
                high: c.high,
                method: CiMethod::Wilson,
            });
            let stats = TagStats {
                n_items: n,
                n_scored: n,
                n_skipped: 0,
                n_correct: correct,
                mean: Some(correct as f64 / n as f64),
                ci95: ci,
            };
            (tag.to_string(), stats)
        })
        .collect()
}

/// Category means from `(name, mean)` pairs.
fn means(pairs: &[(&str, Option<f64>)]) -> BTreeMap<String, Option<f64>> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// `run` with its full-eval-set score derived from its summary; a
/// complete run's is its primary score, with the same interval.
fn with_full_set(mut run: RunSummary) -> RunSummary {
    let mut full = full_set_from_summary(
        run.primary_score,
        run.n_scored as usize,
        run.n_items as usize,
        true,
    );
    if full.complete() {
        full.ci95 = run
            .ci_method
            .zip(run.ci_low.zip(run.ci_high))
            .map(|(method, (low, high))| ConfidenceInterval { low, high, method });
    }
    run.full_set = Some(full);
    run
}

/// The baseline: the leader, with a loss curve and labels.
pub fn baseline() -> RunSummary {
    let mut r = run(
        "baseline-gpt-nano",
        "baseline-gpt-nano",
        Some(0.75),
        Some((0.6661, 0.8178)),
    );
    r.labels = [("milestone", "m34"), ("purpose", "baseline")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r.category_means = means(&[
        ("core", Some(0.76)),
        ("edge", Some(0.7)),
        ("trace", Some(0.775)),
    ]);
    r.tag_scores = tags(&[
        ("2-step", 52, 67),
        ("division", 16, 23),
        ("multiplication", 57, 74),
        ("thousands-separator", 2, 5),
    ]);
    r.loss_curve = vec![
        (0, 5.5452),
        (50, 3.1021),
        (100, 2.2210),
        (150, 1.7433),
        (200, 1.5120),
        (250, 1.4377),
    ];
    with_full_set(r)
}

/// The challenger: tied with the leader, hostile name, label and model;
/// decoded with the calculator.
pub fn challenger() -> RunSummary {
    let mut r = run(
        "eval-micro-2",
        "<script>alert(1)</script> {{ 7*7 }} | *bold* _it_",
        Some(0.7333),
        Some((0.6473, 0.8042)),
    );
    r.model_id = "gpt-micro".to_string();
    r.evalset_path = "evalsets/eval_v3.jsonl".to_string();
    r.evalset_blake3 = "cd".repeat(32);
    r.labels = [("note", "<img src=x onerror=alert(1)>")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    r.created_at = "2025-11-02T14:05:00+01:00".to_string();
    r.git_commit = Some("b71c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c".to_string());
    r.git_dirty = true;
    r.category_means = means(&[
        ("core", Some(0.74)),
        ("edge", Some(0.7333)),
        ("trace", Some(0.725)),
    ]);
    r.calculator = true;
    r.tag_scores = tags(&[
        ("2-step", 50, 67),
        ("division", 18, 23),
        ("multiplication", 54, 74),
        ("percent", 1, 2),
    ]);
    r.loss_curve = vec![(0, 5.6012), (100, 2.9034), (200, 1.9981), (300, 1.6120)];
    with_full_set(r)
}

/// The leaderboard fixture: a tie by CI overlap (the challenger, on
/// another eval set), a run separated from the leader by the paired test
/// although their CIs overlap (the weak, incomplete run: 10 items
/// missing), a run without a score (not ranked), per-item values of the
/// two runs on the leader's eval set.
pub fn leaderboard() -> LeaderboardInput {
    let mut weak = run(
        "sweep-7-trial-03",
        "weak-lr-1e-5",
        Some(0.5455),
        Some((0.4524, 0.6283)),
    );
    weak.category_means = means(&[("core", Some(0.6)), ("edge", Some(0.5)), ("trace", None)]);
    weak.tag_scores = tags(&[("2-step", 35, 67), ("multiplication", 40, 74)]);
    weak.sweep_id = Some("sweep-7".to_string());
    weak.ci_method = Some(CiMethod::Bootstrap);
    weak.n_scored = 110;
    weak.n_skipped = 10;
    weak.status = "stopped".to_string();
    let weak_ci = wilson_ci(60, 120, Z95).map(|c| ConfidenceInterval {
        low: c.low,
        high: c.high,
        method: CiMethod::Wilson,
    });
    weak.full_set = Some(FullSetScore {
        n_items: 120,
        n_scored: 110,
        coverage: Some(110.0 / 120.0),
        score: Some(0.5),
        ci95: weak_ci,
    });
    let mut crashed = run("crashed-run", "crashed-run", None, None);
    crashed.git_commit = None;
    crashed.n_scored = 0;
    crashed.n_skipped = 120;
    crashed.status = "failed".to_string();
    let crashed = with_full_set(crashed);
    // The leader answers items 0..90 right, the weak run 0..60 and leaves
    // 110..120 out: 30 discordant items, all the leader's.
    let items = ItemTable {
        ids: (0..120).map(|i| format!("item-{i:03}")).collect(),
        runs: [
            (
                "baseline-gpt-nano".to_string(),
                (0..120).map(|i| (i, f64::from(i < 90))).collect(),
            ),
            (
                "sweep-7-trial-03".to_string(),
                (0..110).map(|i| (i, f64::from(i < 60))).collect(),
            ),
        ]
        .into(),
    };
    LeaderboardInput {
        title: "tunix-rt leaderboard".to_string(),
        filters: vec![
            ("dataset".to_string(), "dev-reasoning-v2".to_string()),
            ("label".to_string(), "milestone=m34".to_string()),
        ],
        runs: vec![crashed, weak, challenger(), baseline()],
        unshown: vec![],
        notes: vec![],
        items,
    }
}

/// One item diff.
fn item(
    id: &str,
    category: &str,
    expected: &str,
    a: (Option<&str>, Option<f64>),
    b: (Option<&str>, Option<f64>),
) -> ItemDiff {
    ItemDiff {
        id: id.to_string(),
        category: category.to_string(),
        expected: expected.to_string(),
        a_extracted: a.0.map(String::from),
        a_correct: a.1,
        b_extracted: b.0.map(String::from),
        b_correct: b.1,
    }
}

/// The comparison fixture: baseline (A) against the challenger (B).
pub fn compare() -> CompareInput {
    let mut a = baseline();
    a.category_means.insert("extra".to_string(), Some(0.5));
    let items = vec![
        item(
            "trace-002",
            "trace",
            "31",
            (Some("31"), Some(1.0)),
            (Some("3*12=36"), Some(0.0)),
        ),
        item(
            "core-001",
            "core",
            "54",
            (Some("54"), Some(1.0)),
            (Some("54"), Some(1.0)),
        ),
        item(
            "edge-007",
            "edge",
            "$5.00",
            (Some("5"), Some(0.0)),
            (Some("$5.00"), Some(1.0)),
        ),
        item(
            "core-003",
            "core",
            "a|b",
            (Some("<img src=x onerror=alert(1)>"), Some(0.0)),
            (Some("a|b"), Some(1.0)),
        ),
        item(
            "core-002",
            "core",
            "12",
            (Some("{{ 7*7 }}"), Some(0.0)),
            (Some("<script>alert(1)</script>"), Some(0.0)),
        ),
        item(
            "edge-001",
            "edge",
            "YES",
            (None, None),
            (Some("yes\nno"), Some(1.0)),
        ),
        item(
            "trace-001",
            "trace",
            "0.5",
            (Some("0.50"), Some(1.0)),
            (Some("0.5"), Some(1.0)),
        ),
    ];
    let mut b = challenger();
    b.n_scored = 118;
    b.n_skipped = 2;
    CompareInput {
        a,
        b: with_full_set(b),
        figures: ComparisonFigures {
            n_pairs: 6,
            pairing: Pairing::Shared,
            n_only_in_a: 1,
            only_in_a: vec!["core-099".to_string()],
            n_only_in_b: 2,
            only_in_b: vec!["edge-100".to_string(), "<b>edge-101</b>".to_string()],
            n_skipped: 1,
            n_unscored_a: 1,
            n_unscored_b: 0,
            mean_a: Some(0.5),
            mean_b: Some(0.8333),
            diff_pp: Some(33.33),
            diff_ci_low_pp: Some(-4.25),
            diff_ci_high_pp: Some(62.31),
            diff_ci_method: Some(DiffCiMethod::NewcombeHybridScore),
            test: Some(PairedTest::McnemarExact),
            p_value: Some(0.625),
            verdict: Verdict::NoEvidence,
            min_detectable_difference_pp: Some(71.23),
            alpha: 0.05,
            min_effect_pp: 0.0,
            warnings: vec!["only 6 pairs: the CI is wide".to_string()],
        },
        items,
        evalsets_differ: true,
    }
}

/// Compare `actual` with `tests/golden/NAME`, or rewrite the file when
/// `UPDATE_GOLDEN` is set (the test kit's one golden mechanism).
pub fn assert_golden(name: &str, actual: &str) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    tunix_testkit::assert_golden(&dir, name, actual);
}

/// The payloads in `out` are escaped text, never markup or expanded.
pub fn assert_payloads_inert(out: &str, format: ReportFormat) {
    assert!(
        !out.contains("<script>alert") && !out.contains("<img"),
        "{format:?}: raw markup in\n{out}"
    );
    assert!(
        out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{format:?}: payload missing"
    );
    assert!(
        out.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{format:?}: payload missing"
    );
    let template = match format {
        ReportFormat::Md => "{{ 7\\*7 }}",
        _ => "{{ 7*7 }}",
    };
    assert!(
        out.contains(template),
        "{format:?}: template syntax lost or expanded"
    );
}

/// One document, no network: inline everything, CSP, no URLs.
pub fn assert_html_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
    ));
    assert!(html.contains("<link rel=\"icon\" href=\"data:,\">"));
    for banned in [
        "http:", "https:", "//", "url(", "@import", " src=\"", "<iframe", "<object", "<embed",
    ] {
        assert!(!html.contains(banned), "{banned} in the HTML");
    }
    for target in html.split("href=\"").skip(1) {
        assert!(
            target.starts_with("data:,\"") || target.starts_with('#'),
            "link off the page: {}",
            target.chars().take(40).collect::<String>()
        );
    }
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script"
    );
}

/// `md` parsed as CommonMark with GitHub tables: code spans show no
/// backslash escapes (a code span shows every character as it is, so an
/// escape there is a visible backslash), text shows none either (escaping
/// twice), and every table delimiter row starts a table. Returns how many
/// tables it found.
pub fn assert_markdown(md: &str) -> usize {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let escaped = |text: &str| {
        let chars: Vec<char> = text.chars().collect();
        chars
            .windows(2)
            .any(|w| w[0] == '\\' && w[1].is_ascii_punctuation())
    };
    let mut tables = 0;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Code(code) => {
                assert!(
                    !code.contains('\\'),
                    "backslash in code span `{code}`:\n{md}"
                );
            }
            Event::Text(text) => {
                assert!(!escaped(&text), "escape shown as text in {text:?}:\n{md}");
            }
            Event::Start(Tag::Table(_)) => tables += 1,
            _ => {}
        }
    }
    let delimiter_rows = md
        .lines()
        .filter(|l| {
            let t = l.trim();
            t.starts_with('|') && t.contains("---") && t.chars().all(|c| "|-: ".contains(c))
        })
        .count();
    assert_eq!(
        tables, delimiter_rows,
        "a table did not parse as one:\n{md}"
    );
    tables
}
