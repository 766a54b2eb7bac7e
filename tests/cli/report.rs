//! `tunix-rt report leaderboard|compare`, end to end through the index, and
//! the HTML in headless Chromium. The browser tests fail when no Chromium
//! is installed (`apt-get install chromium`); `TUNIX_SKIP_BROWSER_TESTS=1`
//! skips them instead.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::compare::{add_tags, set_calculator};
use crate::support::{fake_run, Workspace};

const SCRIPT: &str = "<script>document.body.setAttribute('data-pwned','script')</script>";
const IMG: &str = "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">";
const TEMPLATE: &str = "{{ 7*7 }}";

/// Two runs on the same synthetic eval set, with hostile text in the run
/// name, labels and extracted answers, ingested into the index.
fn hostile_workspace() -> Workspace {
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

/// Set to `1` to skip the browser tests on a machine without Chromium; by
/// default a missing browser fails them (a skipped test looks like a passed
/// one in `cargo test`'s summary, and the HTML would go unchecked).
const SKIP_BROWSER_TESTS: &str = "TUNIX_SKIP_BROWSER_TESTS";

/// The names a headless Chromium goes by.
const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// The first of [`BROWSERS`] found in the folders of `path` (as in `PATH`).
fn find_browser(path: &OsStr) -> Option<PathBuf> {
    BROWSERS.iter().find_map(|name| {
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The browser to run: `found`; with none, `Ok(None)` (skip) when `skip`
/// is `Some("1")` (the value of [`SKIP_BROWSER_TESTS`]), else an error
/// saying how to install one.
fn browser_or_skip(found: Option<PathBuf>, skip: Option<&str>) -> Result<Option<PathBuf>, String> {
    match (found, skip) {
        (_, Some("1")) => Ok(None),
        (Some(browser), _) => Ok(Some(browser)),
        (None, _) => Err(format!(
            "no headless browser found on PATH (tried {}): install one with `apt-get install chromium`, or set {SKIP_BROWSER_TESTS}=1 to skip the browser tests",
            BROWSERS.join(", ")
        )),
    }
}

/// The headless browser for the HTML tests; `None` means skip (only when
/// `TUNIX_SKIP_BROWSER_TESTS=1`, said on stderr). Panics when none is found.
#[allow(clippy::print_stderr)] // a test helper (not a #[test]): says why tests skip
pub fn browser() -> Option<PathBuf> {
    let found = find_browser(&std::env::var_os("PATH").unwrap_or_default());
    let skip = std::env::var(SKIP_BROWSER_TESTS).ok();
    match browser_or_skip(found, skip.as_deref()) {
        Ok(Some(browser)) => Some(browser),
        Ok(None) => {
            eprintln!("skipped: {SKIP_BROWSER_TESTS}=1");
            None
        }
        Err(message) => panic!("{message}"),
    }
}

#[test]
fn a_missing_browser_fails_unless_skipping_is_asked_for() {
    let chromium = PathBuf::from("/usr/bin/chromium");
    let err = browser_or_skip(None, None).expect_err("no browser, no skip");
    assert!(err.contains("apt-get install chromium"), "{err}");
    assert!(err.contains(SKIP_BROWSER_TESTS), "{err}");
    assert!(browser_or_skip(None, Some("0")).is_err());
    assert_eq!(browser_or_skip(None, Some("1")), Ok(None));
    assert_eq!(browser_or_skip(Some(chromium.clone()), Some("1")), Ok(None));
    assert_eq!(
        browser_or_skip(Some(chromium.clone()), None),
        Ok(Some(chromium))
    );
    let empty = tempfile::tempdir().expect("tempdir");
    assert_eq!(find_browser(empty.path().as_os_str()), None);
    std::fs::write(empty.path().join("chromium-browser"), "").expect("write");
    assert_eq!(
        find_browser(empty.path().as_os_str()),
        Some(empty.path().join("chromium-browser"))
    );
}

/// Headless Chromium's flags for the page tests.
const CHROMIUM_FLAGS: [&str; 11] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
    "--window-size=1280,1800",
];

/// Load `page` in headless Chromium; returns (DOM after scripts ran, log).
pub fn dom(browser: &Path, page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile");
    let url = format!("file://{}", page.display());
    let dom = Command::new(browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(["--dump-dom", &url])
        .output()
        .expect("run chromium");
    (
        String::from_utf8_lossy(&dom.stdout).into_owned(),
        String::from_utf8_lossy(&dom.stderr).into_owned(),
    )
}

/// [`dom`], and a screenshot of the page.
fn load(browser: &Path, page: &Path, screenshot: &Path) -> (String, String) {
    let profile = tempfile::tempdir().expect("profile");
    let url = format!("file://{}", page.display());
    let shot = Command::new(browser)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        screenshot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&shot.stderr)
    );
    dom(browser, page)
}

#[test]
fn html_reports_render_in_chromium_without_errors_or_injection() {
    let Some(browser) = browser() else {
        return;
    };
    let ws = hostile_workspace();
    ws.run(&[
        "report",
        "leaderboard",
        "--format",
        "html",
        "-o",
        "leaderboard.html",
    ])
    .code(0);
    ws.run(&[
        "report",
        "compare",
        "run-weak",
        "run-strong",
        "--format",
        "html",
        "-o",
        "compare.html",
    ])
    .code(0);
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    for page in ["leaderboard.html", "compare.html"] {
        let html = std::fs::read_to_string(ws.path().join(page)).expect("read");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page} refers to the network"
        );
        assert!(
            html.contains("&lt;script&gt;"),
            "{page} lost the escaped payload"
        );
        let shot = shots.join(page.replace(".html", ".png"));
        let (dom, log) = load(&browser, &ws.path().join(page), &shot);
        assert!(dom.contains("<table"), "{page} did not render: {dom}");
        assert!(
            !dom.contains("data-pwned=\""),
            "{page}: injected markup executed"
        );
        assert!(
            dom.contains(TEMPLATE),
            "{page}: template syntax in data was expanded"
        );
        let errors: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
            .collect();
        assert!(
            errors.is_empty(),
            "{page}: console errors:\n{}",
            errors.join("\n")
        );
        eprintln!("screenshot of {page}: {}", shot.display());
    }
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

/// A leaderboard of `n` runs with scores spread over 0.3–0.9.
fn many_runs(n: usize) -> tunix_rt::report::LeaderboardInput {
    let runs = (0..n)
        .map(|i| {
            let score = 0.3 + 0.6 * ((i * 37) % 100) as f64 / 100.0;
            serde_json::from_value(serde_json::json!({
                "run_id": format!("run-{i:05}"), "name": format!("sweep-{}-trial-{i:05}", i % 7),
                "kind": "Eval", "model_id": format!("external:run-{i:05}"), "dataset": null,
                "config_hash": "c0ffee", "labels": {"model": format!("m{}", i % 10)},
                "created_at": "2026-11-20T10:00:00Z", "git_commit": "0123456789abcdef", "git_dirty": false,
                "evalset_path": "evalsets/synthetic.jsonl", "evalset_blake3": "00".repeat(32),
                "primary_score": score, "ci_low": score - 0.2, "ci_high": score + 0.1, "ci_method": "wilson",
                "n_items": 12, "n_scored": 12, "n_skipped": 0,
                "category_means": {"core": score, "edge": score, "trace": null},
                "sweep_id": null, "loss_curve": []
            }))
            .expect("a run summary")
        })
        .collect();
    tunix_rt::report::LeaderboardInput {
        title: "10,000 runs".into(),
        filters: vec![],
        runs,
        unshown: vec![],
        notes: vec![],
        items: Default::default(),
    }
}

#[test]
fn a_leaderboard_of_10000_runs_loads_in_chromium_with_every_row() {
    let templates = tunix_rt::report::Templates::builtin().expect("templates");
    let html = tunix_rt::report::render_leaderboard(
        &templates,
        &many_runs(10_000),
        tunix_rt::report::ReportFormat::Html,
    )
    .expect("render");
    let rows = html.matches("<tr class=\"run").count();
    assert_eq!(rows, 10_000);
    // About 900 bytes a row: rank and the rule that placed it, status,
    // full-set score, coverage and primary score, counts, three categories.
    assert!(
        html.len() < 10 * 1024 * 1024,
        "{} bytes for 10,000 rows",
        html.len()
    );
    let Some(browser) = browser() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("leaderboard-10000.html");
    std::fs::write(&page, &html).expect("write");
    let started = std::time::Instant::now();
    let (dom, log) = dom(&browser, &page);
    eprintln!(
        "10,000-run leaderboard: {} KiB, loaded in headless Chromium in {:.1} s (browser start included)",
        html.len() / 1024,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(dom.matches("<tr class=\"run").count(), 10_000);
    assert!(
        dom.contains("<html lang=\"en\" class=\"js\">"),
        "the script ran"
    );
    // The script lists a page of rows at a time (sorting and filtering
    // 10,000 listed rows is slow); the rest are in the page, hidden.
    assert!(
        dom.contains("Listing 200 of 10000 rows."),
        "no pager in the DOM"
    );
    let hidden = dom
        .split("<tr class=\"run")
        .skip(1)
        .filter(|rest| {
            rest.split('>')
                .next()
                .is_some_and(|tag| tag.contains("hidden"))
        })
        .count();
    assert_eq!(hidden, 9_800);
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect();
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
}

/// Two plain runs, ingested: `run-alpha` (weak) and `run-beta` (strong).
fn two_run_workspace() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-alpha", 60, 0.3);
    fake_run(&root, "run-beta", 60, 0.8);
    ws.run(&["db", "ingest"]).code(0);
    ws
}

#[test]
fn quickstart_leaderboard_html_is_an_html_page_in_chromium() {
    let ws = two_run_workspace();
    ws.run(&["report", "leaderboard", "-o", "reports/leaderboard.html"])
        .code(0)
        .stderr_has("wrote reports/leaderboard.html");
    let page = ws.path().join("reports/leaderboard.html");
    let html = std::fs::read_to_string(&page).expect("read");
    assert!(html.starts_with("<!DOCTYPE html>"), "not HTML:\n{html}");
    assert!(!html.contains("| --- |"), "Markdown in the .html file");
    let Some(browser) = browser() else {
        return;
    };
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("quickstart-leaderboard.png");
    let (dom, _) = load(&browser, &page, &shot);
    assert!(dom.contains("<table"), "no table: {dom}");
    for id in ["run-alpha", "run-beta"] {
        assert!(dom.contains(id), "{id} missing: {dom}");
    }
    assert!(
        !dom.contains("|---|") && !dom.contains("| --- |"),
        "raw Markdown table: {dom}"
    );
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
