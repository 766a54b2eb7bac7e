use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::super::fixtures::{self, PAYLOADS};
use super::*;
use crate::runfolder::EvalItemRecord;

const LEADER: &str = "baseline-gpt-nano";
const WEAK: &str = "sweep-7-trial-03";

fn record(id: &str, output: Option<&str>, correct: Option<f64>) -> EvalItemRecord {
    EvalItemRecord {
        id: id.to_string(),
        category: "core".to_string(),
        expected: "4".to_string(),
        output: output.map(String::from),
        extracted: output.map(|_| "4".to_string()),
        extraction_rule: None,
        answer_correctness: correct,
        trace_consistency: None,
    }
}

/// The leaderboard fixture, the leader's folder with a config, metrics and
/// three items (one with hostile output, one without a prediction, one
/// whose prompt is unavailable), the weak run's comparison with the leader
/// and the fixture sweep.
fn input() -> SiteInput {
    let leaderboard = fixtures::leaderboard();
    let leader = RunDetails {
        folder: Some("submission_runs/baseline-gpt-nano".into()),
        config: Some(json!({
            "kind": "Train",
            "spec": { "training": { "learning_rate": 0.003, "note": PAYLOADS[0] } }
        })),
        metrics: [
            ("loss".to_string(), vec![(0, 3.0), (10, 2.0), (20, 1.0)]),
            ("val_loss".to_string(), vec![(10, 2.5), (20, 1.5)]),
            ("lr".to_string(), vec![(0, 0.001), (20, 0.003)]),
        ]
        .into(),
        items: Some(vec![
            ItemDetails {
                record: record("core-001", Some(PAYLOADS[1]), Some(1.0)),
                prompt: Some(format!("What is 2 + 2? {}", PAYLOADS[2])),
                tags: vec!["add".to_string()],
            },
            ItemDetails {
                record: record("core-002", None, None),
                prompt: Some("What is 1 + 3?".to_string()),
                tags: vec![],
            },
            ItemDetails {
                record: record("core-003", Some("\nAnswer: 5"), Some(0.0)),
                prompt: None,
                tags: vec![],
            },
        ]),
        prompts: PromptSource::Changed {
            path: "evalsets/eval_v2.jsonl".into(),
        },
        problems: vec![],
    };
    let mut compare = fixtures::compare();
    compare.b.run_id = WEAK.to_string();
    compare.b.evalset_blake3 = compare.a.evalset_blake3.clone();
    SiteInput {
        runs: [(LEADER.to_string(), leader)].into(),
        compares: vec![compare],
        sweeps: vec![
            SiteSweep {
                name: "sweep-7".to_string(),
                report: SweepReport::Read(Box::new(crate::report::sweep::fixtures::input())),
            },
            SiteSweep {
                name: "broken <b>".to_string(),
                report: SweepReport::Unreadable("sweep.json: not JSON".to_string()),
            },
        ],
        notes: vec![format!("a note {}", PAYLOADS[0])],
        leaderboard,
    }
}

fn render(input: &SiteInput) -> BTreeMap<String, String> {
    let t = Templates::builtin().expect("templates");
    render_site(&t, input)
        .expect("render")
        .into_iter()
        .map(|p| (p.path, p.html))
        .collect()
}

/// The site path `link` on page `from` points to.
fn resolve(from: &str, link: &str) -> String {
    let mut parts: Vec<&str> = from.split('/').collect();
    parts.pop();
    for part in link.split('/') {
        match part {
            ".." => {
                parts.pop();
            }
            "." => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// Every `href="..."` of `html`.
fn hrefs(html: &str) -> Vec<&str> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[test]
fn the_site_has_a_front_page_the_leaderboard_a_page_per_run_comparisons_and_sweeps() {
    let pages = render(&input());
    let paths: BTreeSet<&str> = pages.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "index.html",
            "leaderboard.html",
            "runs/baseline-gpt-nano.html",
            "runs/eval-micro-2.html",
            "runs/sweep-7-trial-03.html",
            "runs/crashed-run.html",
            "compare/baseline-gpt-nano~vs~sweep-7-trial-03.html",
            "sweeps/sweep-7.html",
        ])
    );
}

#[test]
fn every_link_is_relative_and_reaches_a_page_of_the_site() {
    let pages = render(&input());
    let mut checked = 0;
    for (path, html) in &pages {
        assert!(
            !html.contains("http:") && !html.contains("https:"),
            "{path}"
        );
        for link in hrefs(html) {
            if link.starts_with("data:") || link.starts_with('#') {
                continue;
            }
            let target = resolve(path, link);
            assert!(
                pages.contains_key(&target),
                "{path} links to {link}, which is not a page ({target})"
            );
            checked += 1;
        }
    }
    assert!(checked >= 12, "only {checked} links");
    let index = &pages["index.html"];
    assert!(index.contains("href=\"runs/baseline-gpt-nano.html\""));
    assert!(index.contains("href=\"compare/baseline-gpt-nano~vs~sweep-7-trial-03.html\""));
    assert!(index.contains("href=\"sweeps/sweep-7.html\""));
    assert!(index.contains("broken &lt;b&gt;"));
    let weak = &pages["runs/sweep-7-trial-03.html"];
    assert!(weak.contains("href=\"../index.html\""));
    assert!(weak.contains("href=\"../compare/baseline-gpt-nano~vs~sweep-7-trial-03.html\""));
    assert!(weak.contains("href=\"../sweeps/sweep-7.html\""));
}

#[test]
fn the_front_page_lists_runs_in_leaderboard_order() {
    let pages = render(&input());
    let index = &pages["index.html"];
    let at = |id: &str| {
        index
            .find(&format!("runs/{id}.html"))
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert!(at(LEADER) < at("eval-micro-2"));
    assert!(at("eval-micro-2") < at(WEAK));
    assert!(at(WEAK) < at("crashed-run"));
}

#[test]
fn a_run_page_shows_config_curves_tags_and_items_with_prompt_and_raw_output() {
    let pages = render(&input());
    let html = &pages["runs/baseline-gpt-nano.html"];
    assert!(html.contains("<code>training.learning_rate</code></td><td class=\"answer\">0.003"));
    assert!(html.contains("<details id=\"config\">"));
    assert_eq!(
        html.matches("class=\"chart metric-chart\"").count(),
        2,
        "losses, lr"
    );
    assert!(html.contains("data-series=\"val_loss\""));
    assert!(html.contains("<td>division</td>"), "per-tag table");
    assert!(html.contains("[0.4702, 0.8682]") || html.contains("16/23"));
    assert_eq!(html.matches("<details class=\"sample\">").count(), 3);
    assert!(html.contains("<pre class=\"prompt\">\nWhat is 2 + 2? {{ 7*7 }}</pre>"));
    assert!(html.contains("prompt unavailable"));
    assert!(
        html.contains("<pre class=\"output\">\n\nAnswer: 5</pre>"),
        "a leading newline of an output survives HTML's dropping the first one"
    );
    assert!(html.contains("no output (the item had no prediction)"));
    assert!(html.contains("has changed since this run was scored"));
    assert!(html.contains("<tr class=\"item right\">"));
    assert!(html.contains("<tr class=\"item skipped\">"));
    let crashed = &pages["runs/crashed-run.html"];
    assert!(crashed.contains("The run recorded no metrics."));
    assert!(crashed.contains("The run folder has no readable eval items."));
}

#[test]
fn hostile_text_stays_text_on_every_site_page() {
    let pages = render(&input());
    for path in [
        "index.html",
        "runs/baseline-gpt-nano.html",
        "runs/eval-micro-2.html",
    ] {
        let html = &pages[path];
        for payload in &PAYLOADS[..2] {
            assert!(!html.contains(payload), "{path}: {payload} unescaped");
        }
        assert_eq!(
            html.matches("<script").count(),
            1,
            "{path}: only its own script"
        );
        assert!(!html.contains(" src=\""), "{path}");
    }
    assert!(pages["runs/baseline-gpt-nano.html"].contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(pages["index.html"].contains("a note &lt;script&gt;"));
}

#[test]
fn runs_are_compared_with_the_leader_of_their_eval_set() {
    let lb = fixtures::leaderboard();
    assert_eq!(
        leader_pairs(&lb.runs),
        [(LEADER.to_string(), WEAK.to_string())],
        "the challenger leads its own eval set; the crashed run has no score"
    );
    let mut runs = lb.runs.clone();
    for r in &mut runs {
        r.evalset_blake3 = "ab".repeat(32);
    }
    let pairs: Vec<(String, String)> = leader_pairs(&runs);
    assert_eq!(pairs.len(), 2);
    assert!(pairs.iter().all(|(a, _)| a == LEADER));
    runs.iter_mut().for_each(|r| r.evalset_blake3.clear());
    assert!(leader_pairs(&runs).is_empty(), "unknown eval sets");
}

#[test]
fn the_leader_page_matches_its_golden_file() {
    let pages = render(&input());
    fixtures::assert_golden("site_run.html", &pages["runs/baseline-gpt-nano.html"]);
}
