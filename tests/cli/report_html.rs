//! The HTML of `tunix-rt report leaderboard|compare` in headless Chromium:
//! hostile text in runs stays text (no injected markup runs, no template
//! syntax expands), the pages load without console errors, a 10,000-run
//! leaderboard keeps every row, and the quickstart's leaderboard is an HTML
//! page. The browser tests fail when no Chromium is installed (`apt-get
//! install chromium`); `TUNIX_SKIP_BROWSER_TESTS=1` skips them instead.

use std::path::PathBuf;

use crate::report::{hostile_workspace, two_run_workspace, TEMPLATE};
use crate::support::{browser, dom, load};

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
