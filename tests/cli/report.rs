//! `tunix-rt report leaderboard|compare`, end to end through the index:
//! ranking, filters and pages, run prefixes and the verdict, loss curves,
//! calculator runs and tags, and how the output format is chosen. The
//! workspaces here are shared with report_html.rs, which loads the HTML in
//! headless Chromium.

use serde_json::Value;

use crate::compare::{add_tags, set_calculator};
use crate::support::{fake_run, Workspace};

const SCRIPT: &str = "<script>document.body.setAttribute('data-pwned','script')</script>";
const IMG: &str = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">";
pub(crate) const TEMPLATE: &str = "{{ 7*7 }}";

/// Two runs on the same synthetic eval set, with hostile text in the run
/// name, labels and extracted answers, ingested into the index.
pub(crate) fn hostile_workspace() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-weak", 90, 0.4);
    fake_run(&root, "run-strong", 90, 0.9);
    for (run, payload) in [("run-weak", SCRIPT), ("run-strong", IMG)] {
        let dir = root.join(run);
        let manifest_path = dir.join("run_manifest.json");
        let mut manifest: Value =
            serde_json::from_slice(&std::fs::read(&manifest_path).expect("read")).expect("json");
        manifest["name"] = Value::String(format!("{run} {payload} {TEMPLATE}"));
        manifest["labels"]["note"] = Value::String(payload.to_string());
        std::fs::write(
            &manifest_path,
            serde_json::to_vec_pretty(&manifest).expect("json"),
        )
        .expect("write");
        let items_path = dir.join("eval_items.jsonl");
        let text = std::fs::read_to_string(&items_path).expect("read");
        let patched: String = text
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let mut item: Value = serde_json::from_str(line).expect("json");
                if i % 10 == 0 {
                    item["extracted"] = Value::String(format!("{payload} {TEMPLATE}"));
                }
                format!("{item}\n")
            })
            .collect();
        std::fs::write(&items_path, patched).expect("write");
    }
    ws.run(&["db", "ingest"]).code(0);
    ws
}

/// The run ids a leaderboard document lists, in its order.
pub(crate) fn run_ids(leaderboard: &Value) -> Vec<&str> {
    leaderboard["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["run_id"].as_str().expect("id"))
        .collect()
}

#[test]
fn leaderboard_ranks_runs_and_filters() {
    let ws = hostile_workspace();
    let run = ws.run_read_only(&["report", "leaderboard", "--format", "json"]);
    run.code(0);
    assert_eq!(run_ids(&run.json()), ["run-strong", "run-weak"]);
    let filtered = ws.run_read_only(&[
        "report",
        "leaderboard",
        "--format",
        "json",
        "--label",
        "model=m4",
    ]);
    filtered.code(0);
    assert_eq!(filtered.json()["runs"].as_array().expect("runs").len(), 1);
    ws.run_read_only(&["report", "leaderboard", "--label", "nonsense"])
        .code(2)
        .stderr_has("--label `nonsense` is not KEY=VALUE");
    ws.run_read_only(&["report", "leaderboard", "--since", "yesterday"])
        .code(2)
        .stderr_has("is not a date");
}

#[test]
fn compare_resolves_prefixes_and_gives_the_verdict() {
    let ws = hostile_workspace();
    let run = ws.run_read_only(&["report", "compare", "run-w", "run-s", "--format", "json"]);
    run.code(0);
    let v = run.json();
    assert_eq!(v["figures"]["verdict"], "improved");
    ws.run_read_only(&["report", "compare", "run-", "run-s"])
        .code(2)
        .stderr_has("`run-` matches 2 runs: run-strong, run-weak");
    ws.run_read_only(&["report", "compare", "run-x", "run-s"])
        .code(2)
        .stderr_has("no run matches `run-x`");
    let md = ws.run_read_only(&["report", "compare", "run-weak", "run-strong"]);
    md.code(0).stdout_has("improved");
    assert!(
        !md.stdout.contains("<script>") && !md.stdout.contains("<img"),
        "raw HTML in Markdown:\n{}",
        md.stdout
    );
}

#[test]
fn compare_refuses_different_evalsets_unless_allowed() {
    let ws = hostile_workspace();
    let manifest = ws
        .path()
        .join("submission_runs/run-strong/run_manifest.json");
    let summary = ws
        .path()
        .join("submission_runs/run-strong/eval_summary.json");
    for p in [&manifest, &summary] {
        let text = std::fs::read_to_string(p).expect("read");
        std::fs::write(p, text.replace(&"00".repeat(32), &"11".repeat(32))).expect("write");
    }
    ws.run(&["db", "ingest"]).code(0);
    ws.run_read_only(&["report", "compare", "run-weak", "run-strong"])
        .code(2)
        .stderr_has("different eval sets");
    ws.run_read_only(&[
        "report",
        "compare",
        "run-weak",
        "run-strong",
        "--allow-different-evalsets",
    ])
    .code(0);
}

#[test]
fn loss_curves_from_metrics_reach_both_reports() {
    let ws = hostile_workspace();
    let metrics: String = (0..5)
        .map(|s| format!("{{\"step\": {}, \"loss\": {}}}\n", s * 10, 5.0 - s as f64))
        .collect();
    ws.file("submission_runs/run-weak/metrics.jsonl", metrics);
    ws.run(&["db", "ingest"])
        .code(0)
        .stdout_has("updated   run-weak");
    let lb = ws.run_read_only(&["report", "leaderboard", "--format", "json"]);
    let weak = lb.json()["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .find(|r| r["run_id"] == "run-weak")
        .cloned()
        .expect("run-weak");
    assert_eq!(
        weak["loss_curve"].as_array().expect("curve").len(),
        5,
        "{weak}"
    );
    let html = ws.run_read_only(&[
        "report", "compare", "run-weak", "run-weak", "--format", "html",
    ]);
    html.code(0);
    let (paired, added) = html
        .stdout
        .split_once("<section id=\"curves\">")
        .expect("the runs' curves are added");
    assert_eq!(
        paired.matches("<polyline").count(),
        2,
        "both sides draw the curve"
    );
    assert_eq!(
        added.matches("<polyline").count(),
        2,
        "and both are overlaid"
    );
}

#[test]
fn a_leaderboard_marks_calculator_runs_notes_the_mix_and_shows_tags() {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-calc", 60, 0.9);
    fake_run(&root, "run-plain", 60, 0.5);
    set_calculator(&root.join("run-calc"), true);
    for run in ["run-calc", "run-plain"] {
        add_tags(&root.join(run));
    }
    ws.run(&["db", "ingest"]).code(0);
    let note = "ranks calculator-assisted and plain scores together (1 run decoded with the calculator, marked calc, and 1 run without)";
    let json = |args: &str| {
        let run = ws.run_read_only(&args.split(' ').collect::<Vec<_>>());
        run.code(0);
        run.json()
    };
    let v = json("report leaderboard --format json");
    assert_eq!(run_ids(&v), ["run-calc", "run-plain"]);
    assert_eq!(
        (&v["runs"][0]["calculator"], &v["runs"][1]["calculator"]),
        (&true.into(), &false.into())
    );
    assert!(v["notes"][0].as_str().expect("note").contains(note), "{v}");
    assert_eq!(v["runs"][1]["tag_scores"]["even"]["n_items"], 30);
    assert_eq!(
        v["runs"][1]["tag_scores"]["all"]["ci95"]["method"],
        "wilson"
    );
    ws.run_read_only(&["report", "leaderboard"])
        .code(0)
        .stdout_has(note)
        .stdout_has("] (calc) |")
        .stdout_has("<summary>Per tag: ");
    ws.run(&["report", "leaderboard", "-o", "lb.html"]).code(0);
    let html = std::fs::read_to_string(ws.path().join("lb.html")).expect("read");
    for part in [note, "<span class=\"calc\"", "<h2>Per tag</h2>"] {
        assert!(html.contains(part), "{part}: {html}");
    }
    let plain_only = json("report leaderboard --label model=m5 --format json");
    assert_eq!(run_ids(&plain_only), ["run-plain"]);
    assert!(plain_only.get("notes").is_none(), "{plain_only}");
    let c = json("report compare run-plain run-calc --format json");
    let compare_note = c["notes"][0].as_str().expect("note");
    assert!(
        compare_note.starts_with("B used the calculator, A did not: different measurements"),
        "{c}"
    );
    assert_eq!(c["tag_deltas"]["all"]["b"]["n_items"], 60);
}

#[test]
fn the_leaderboard_lists_a_page_and_says_how_many_runs_match() {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    for (i, skill) in [0.2, 0.9, 0.5].into_iter().enumerate() {
        fake_run(&root, &format!("run-{i}"), 30, skill);
    }
    ws.run(&["db", "ingest"]).code(0);
    let page = ws.run_read_only(&["report", "leaderboard", "--limit", "2", "--format", "json"]);
    page.code(0);
    let v = page.json();
    assert_eq!(v["matching_runs"], 3);
    assert_eq!(run_ids(&v), ["run-1", "run-2"]);
    // JSON lists every run unless asked for a page, and then needs no count.
    let every = ws.run_read_only(&["report", "leaderboard", "--format", "json"]);
    every.code(0);
    let v = every.json();
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(3));
    assert!(v.get("matching_runs").is_none(), "{v}");
    ws.run_read_only(&["report", "leaderboard", "--limit", "1"])
        .code(0)
        .stdout_has("showing the best 1 of 3 runs");
    ws.run_read_only(&["report", "leaderboard", "--limit", "1", "--format", "html"])
        .code(0)
        .stdout_has("showing the best 1 of 3 runs");
    let all = ws.run_read_only(&["report", "leaderboard", "--limit", "all"]);
    all.code(0).stdout_has(
        "3 runs · filters: runs=evaluated, completed or stopped (--all lists every run).",
    );
    assert!(!all.stdout.contains("showing"), "{}", all.stdout);
    ws.run_read_only(&["report", "leaderboard", "--limit", "0"])
        .code(2)
        .stderr_has("`0` is not a number of runs (1 or more) or `all`");
}

/// Two plain runs, ingested: `run-alpha` (weak) and `run-beta` (strong).
pub(crate) fn two_run_workspace() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-alpha", 60, 0.3);
    fake_run(&root, "run-beta", 60, 0.8);
    ws.run(&["db", "ingest"]).code(0);
    ws
}

#[test]
fn the_output_file_extension_picks_the_format() {
    let ws = two_run_workspace();
    for (file, start) in [
        ("lb.htm", "<!DOCTYPE html>"),
        ("lb.HTML", "<!DOCTYPE html>"),
        ("lb.md", "## "),
        ("lb.markdown", "## "),
        ("lb.json", "{"),
    ] {
        ws.run(&["report", "leaderboard", "-o", file]).code(0);
        let text = std::fs::read_to_string(ws.path().join(file)).expect("read");
        assert!(text.starts_with(start), "{file}: {text}");
    }
    ws.run(&["report", "compare", "run-alpha", "run-beta", "-o", "c.html"])
        .code(0);
    let html = std::fs::read_to_string(ws.path().join("c.html")).expect("read");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    ws.run(&["report", "leaderboard", "--format", "html", "-o", "lb.html"])
        .code(0);
    ws.run(&[
        "report",
        "leaderboard",
        "--format",
        "json",
        "-o",
        "lb-no-extension",
    ])
    .code(0);
    let md = ws.run_read_only(&["report", "leaderboard"]);
    md.code(0).stdout_has("| --- |");
    ws.run_read_only(&["report", "leaderboard", "--format", "md", "-o", "x.html"])
        .code(2)
        .stderr_has("x.html: --format md contradicts")
        .stderr_has("means html; drop --format to write html, or name the file with a .md or .markdown extension");
    ws.run_read_only(&[
        "report", "compare", "run-a", "run-b", "--format", "json", "-o", "c.md",
    ])
    .code(2)
    .stderr_has("--format json contradicts");
    ws.run_read_only(&["report", "leaderboard", "-o", "lb.txt"])
        .code(2)
        .stderr_has("lb.txt: cannot tell the output format")
        .stderr_has("--format html|md|json");
    ws.run_read_only(&["report", "leaderboard", "-o", "lb"])
        .code(2)
        .stderr_has("cannot tell the output format");
}

#[test]
fn a_broken_user_template_is_bad_input_naming_the_folder() {
    let ws = two_run_workspace();
    ws.file("my-templates/leaderboard.md.j2", "{{ broken");
    let run = ws.run(&[
        "report",
        "leaderboard",
        "--format",
        "md",
        "--templates",
        "my-templates",
    ]);
    run.code(2)
        .stderr_has("cannot render the report with the templates in my-templates");
}
