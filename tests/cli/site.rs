//! `tunix-rt report site`: a site over synthetic runs and a sweep folder,
//! every relative link of every page resolving to a file of the site; the
//! folder replaced as a whole, other folders refused; and, in headless
//! Chromium, clicking from index.html to a run page and on to a
//! comparison (`TUNIX_SKIP_BROWSER_TESTS=1` skips that test).

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::compare::add_tags;
use crate::support::{browser, dom as load_page, fake_run, Workspace};

/// The hand-built sweep's name.
const SWEEP: &str = "mini-sweep";
/// Hostile text in a run name and an output.
const PAYLOAD: &str = "<script>document.body.setAttribute('data-pwned','1')</script>";

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("json")).expect("write");
}

/// The synthetic eval set the fake runs name (`evalsets/synthetic.jsonl`),
/// with the prompts `tunix_rt::synthetic` scored them on.
fn synthetic_evalset(ws: &Workspace, n: usize) {
    let lines: String = (0..n)
        .map(|i| {
            let category = ["core", "trace", "edge"][i % 3];
            let mut item = json!({
                "id": format!("item-{i:06}"),
                "category": category,
                "prompt": format!("What is {i} + 1?"),
                "expected_answer": (i + 1).to_string(),
            });
            if i % 3 == 1 {
                item["required_values"] = json!([i.to_string()]);
            }
            format!("{item}\n")
        })
        .collect();
    ws.file("evalsets/synthetic.jsonl", lines);
}

/// Trial `trial` of the hand-built sweep: a synthetic run folder under
/// the sweep's `trials/`, marked as the sweep's trial.
fn sweep_trial(ws: &Workspace, trial: &str, skill: f64) {
    let trials = ws.path().join("submission_runs").join(SWEEP).join("trials");
    std::fs::create_dir_all(&trials).expect("mkdir");
    let run_id = format!("{SWEEP}-{trial}");
    fake_run(&trials, &run_id, 60, skill);
    let path = trials.join(&run_id).join("run_manifest.json");
    let mut manifest = read_json(&path);
    manifest["tuning_job_id"] = json!(SWEEP);
    manifest["trial_id"] = json!(trial);
    write_json(&path, &manifest);
    let metrics: String = (1..=4)
        .map(|s| {
            format!(
                "{{\"step\": {}, \"loss\": {}}}\n",
                s * 5,
                4.0 - skill * f64::from(s)
            )
        })
        .collect();
    ws.file(
        &format!("submission_runs/{SWEEP}/trials/{run_id}/metrics.jsonl"),
        metrics,
    );
}

/// The sweep's ledger: two completed trials, t000 the best.
fn sweep_ledger(ws: &Workspace) {
    let trial = |id: &str, metric: f64| {
        json!({
            "trial_id": id,
            "params": { "learning_rate": metric / 100.0 },
            "state": "completed",
            "last_step": 20,
            "metrics": { "20": metric },
            "stopped_at": null,
            "failure": null,
        })
    };
    let ledger = json!({
        "schema_version": 1,
        "sweep": SWEEP,
        "identity": "ab".repeat(32),
        "metric": "primary_score",
        "mode": "max",
        "rungs": [20],
        "trials": [trial("t000", 0.7), trial("t001", 0.5)],
        "decisions": [],
        "best": { "trial_id": "t000", "metric": 0.7, "params": { "learning_rate": 0.007 } },
    });
    write_json(
        &ws.path()
            .join("submission_runs")
            .join(SWEEP)
            .join("sweep.json"),
        &ledger,
    );
}

/// Three plain runs (one with a hostile name, metrics and tags, one with
/// a hostile output), a two-trial sweep, the eval set they name, all
/// ingested.
fn site_workspace() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-alpha", 60, 0.3);
    fake_run(&root, "run-beta", 60, 0.8);
    fake_run(&root, "run gamma", 60, 0.6);
    let manifest = root.join("run-beta/run_manifest.json");
    let mut m = read_json(&manifest);
    m["name"] = json!(format!("beta {PAYLOAD}"));
    write_json(&manifest, &m);
    add_tags(&root.join("run-beta"));
    let metrics: String = (0..6)
        .map(|s| {
            format!(
                "{{\"step\": {}, \"loss\": {}, \"val_loss\": {}, \"lr\": 0.001}}\n",
                s * 10,
                5.0 - f64::from(s) * 0.5,
                5.2 - f64::from(s) * 0.4
            )
        })
        .collect();
    ws.file("submission_runs/run-beta/metrics.jsonl", metrics);
    let items_path = root.join("run-alpha/eval_items.jsonl");
    let text = std::fs::read_to_string(&items_path).expect("read");
    let patched: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut item: Value = serde_json::from_str(line).expect("json");
            if i == 0 {
                item["output"] = json!(format!("{PAYLOAD} Answer: 0"));
            }
            format!("{item}\n")
        })
        .collect();
    std::fs::write(&items_path, patched).expect("write");
    sweep_trial(&ws, "t000", 0.7);
    sweep_trial(&ws, "t001", 0.5);
    sweep_ledger(&ws);
    synthetic_evalset(&ws, 60);
    ws.run(&["db", "ingest"]).code(0);
    ws
}

/// Every file under `dir`, relative with `/`, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            e.path()
                .strip_prefix(dir)
                .expect("inside")
                .to_string_lossy()
                .replace('\\', "/")
        })
        .collect();
    out.sort();
    out
}

/// The values of every `href` and `src` attribute of `html`.
fn links(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for rest in html.split(attr).skip(1) {
            if let Some(value) = rest.split('"').next() {
                out.push(value.replace("&amp;", "&"));
            }
        }
    }
    out
}

/// Check that every link of every page under `site` is relative and
/// reaches a file of the site; returns how many links were followed.
fn assert_links_resolve(site: &Path) -> usize {
    let root = site.canonicalize().expect("site");
    let mut followed = 0;
    for page in files(site).iter().filter(|f| f.ends_with(".html")) {
        let html = std::fs::read_to_string(site.join(page)).expect("read");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page} refers to the network"
        );
        for link in links(&html) {
            if link.starts_with("data:") || link.starts_with('#') {
                continue;
            }
            assert!(
                !link.contains(':') && !link.starts_with('/'),
                "{page}: link {link} is not relative"
            );
            let target = site.join(page).parent().expect("folder").join(&link);
            let target = target
                .canonicalize()
                .unwrap_or_else(|_| panic!("{page}: link {link} reaches no file"));
            assert!(
                target.starts_with(&root) && target.is_file(),
                "{page}: link {link} leaves the site or is not a file"
            );
            followed += 1;
        }
    }
    followed
}

#[test]
fn a_site_links_every_run_comparison_and_sweep_and_every_link_resolves() {
    let ws = site_workspace();
    ws.file("submission_runs/broken-sweep/sweep.json", "{");
    ws.run(&["report", "site", "-o", "public/site"])
        .code(0)
        .stderr_has("note: sweep broken-sweep: no report")
        .stderr_has("wrote ")
        .stderr_has("public/site/index.html");
    let site = ws.path().join("public/site");
    let all = files(&site);
    for expected in [
        ".nojekyll",
        tunix_rt::site::MARKER,
        "index.html",
        "leaderboard.html",
        "runs/run-alpha.html",
        "runs/run-beta.html",
        "runs/run~20gamma.html",
        "runs/mini-sweep-t000.html",
        "runs/mini-sweep-t001.html",
        "compare/run-beta~vs~run-alpha.html",
        "compare/run-beta~vs~run~20gamma.html",
        "sweeps/mini-sweep.html",
    ] {
        assert!(
            all.iter().any(|f| f == expected),
            "{expected} missing: {all:?}"
        );
    }
    assert_eq!(
        all.iter().filter(|f| f.starts_with("compare/")).count(),
        4,
        "every run but the leader against the leader: {all:?}"
    );
    let followed = assert_links_resolve(&site);
    assert!(followed >= 20, "only {followed} links");
    let index = std::fs::read_to_string(site.join("index.html")).expect("read");
    assert!(index.contains("href=\"runs/run~20gamma.html\""));
    assert!(index.contains("broken-sweep <span class=\"meta\">(no report: "));
    assert!(!index.contains(PAYLOAD) && index.contains("&lt;script&gt;"));
    let beta = std::fs::read_to_string(site.join("runs/run-beta.html")).expect("read");
    assert_eq!(beta.matches("class=\"chart metric-chart\"").count(), 2);
    assert!(beta.contains("<td>even</td>"), "per-tag results");
    assert!(beta.contains("<code>skill</code>"), "hyperparameters");
    assert!(beta.contains("<pre class=\"prompt\">\nWhat is 0 + 1?</pre>"));
    assert!(beta.contains("has changed since this run was scored"));
    let alpha = std::fs::read_to_string(site.join("runs/run-alpha.html")).expect("read");
    assert!(!alpha.contains(PAYLOAD) && alpha.contains("&lt;script&gt;document.body"));
    let t000 = std::fs::read_to_string(site.join("runs/mini-sweep-t000.html")).expect("read");
    assert!(t000.contains("href=\"../sweeps/mini-sweep.html\""));
}

#[test]
fn a_site_without_its_eval_set_says_prompt_unavailable_and_replaces_the_earlier_site() {
    let ws = site_workspace();
    ws.run(&["report", "site", "-o", "site"]).code(0);
    std::fs::write(ws.path().join("site/stale.html"), "old").expect("write");
    std::fs::remove_file(ws.path().join("evalsets/synthetic.jsonl")).expect("remove");
    ws.run(&["report", "site", "-o", "site", "--label", "model=m8"])
        .code(0);
    let site = ws.path().join("site");
    assert!(
        !site.join("stale.html").exists(),
        "the old site is replaced"
    );
    let pages: Vec<String> = files(&site)
        .into_iter()
        .filter(|f| f.starts_with("runs/"))
        .collect();
    assert_eq!(pages, ["runs/run-beta.html"], "filtered as the leaderboard");
    let beta = std::fs::read_to_string(site.join("runs/run-beta.html")).expect("read");
    assert!(beta.contains("is gone: prompt unavailable"));
    assert_eq!(
        beta.matches("prompt unavailable</p>").count(),
        60,
        "one per item"
    );
    let beside: Vec<String> = std::fs::read_dir(ws.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(beside.is_empty(), "temporary folders left: {beside:?}");
    assert_links_resolve(&site);
}

#[test]
fn a_folder_that_is_not_a_site_is_refused_and_left_alone() {
    let ws = site_workspace();
    ws.file("docs/notes.md", "mine");
    let before = ws.snapshot();
    ws.run(&["report", "site", "-o", "docs"])
        .code(2)
        .stderr_has("docs")
        .stderr_has(tunix_rt::site::MARKER);
    ws.run(&["report", "site", "-o", "docs/notes.md"])
        .code(2)
        .stderr_has("is not a folder");
    ws.run(&["report", "site", "-o", "out", "--label", "oops"])
        .code(2)
        .stderr_has("KEY=VALUE");
    assert_eq!(before, ws.snapshot(), "nothing was written");
    std::fs::create_dir(ws.path().join("empty")).expect("mkdir");
    ws.run(&["report", "site", "-o", "empty"]).code(0);
    assert!(ws.path().join("empty/index.html").is_file());
}

/// The test page that opens the site's index.html in a frame, clicks the
/// link to `run_page`, then that page's link to its comparison, and
/// writes what each frame showed into `#log` (`data-done` when finished).
fn click_through_page(site: &Path, run_page: &str) -> String {
    let index = site.join("index.html");
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>click through</title></head>
<body><pre id="log"></pre>
<iframe id="frame" width="1200" height="900" src="file://{index}"></iframe>
<script>
var step = 0, log = document.getElementById("log");
function say(text) {{ log.textContent += text + "\n"; }}
function done() {{ document.body.setAttribute("data-done", "1"); }}
document.getElementById("frame").addEventListener("load", function () {{
  var doc, frame = document.getElementById("frame");
  try {{ doc = frame.contentDocument; }} catch (e) {{ say("blocked: " + e); done(); return; }}
  if (!doc) {{ say("blocked: no document"); done(); return; }}
  var where = frame.contentWindow.location.pathname;
  say("page " + step + ": " + where + " | " + doc.title);
  if (doc.body.hasAttribute("data-pwned")) {{ say("PWNED"); }}
  var link = step === 0
    ? doc.querySelector('a.run-link[href="{run_page}"]')
    : doc.querySelector("a.compare-link");
  if (step === 2) {{
    say("rows: " + doc.querySelectorAll("tr.item").length);
    done();
    return;
  }}
  if (!link) {{ say("no link on page " + step); done(); return; }}
  say("click: " + link.getAttribute("href"));
  step += 1;
  link.click();
}});
</script></body></html>
"#,
        index = index.display()
    )
}

#[test]
fn in_chromium_index_html_clicks_through_to_a_run_page_and_its_comparison() {
    let Some(browser) = browser() else {
        return;
    };
    let ws = site_workspace();
    ws.run(&["report", "site", "-o", "site"]).code(0);
    let site = ws.path().join("site").canonicalize().expect("site");
    let harness = ws.path().join("click-through.html");
    std::fs::write(&harness, click_through_page(&site, "runs/run-alpha.html")).expect("write");
    let profile = tempfile::tempdir().expect("profile");
    let out = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", harness.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = dom
        .split("<pre id=\"log\">")
        .nth(1)
        .and_then(|rest| rest.split("</pre>").next())
        .unwrap_or_default();
    assert!(
        dom.contains("data-done=\"1\""),
        "did not finish:\n{log}\n{dom}"
    );
    let lines: Vec<&str> = log.lines().collect();
    assert!(
        lines[0].ends_with("/site/index.html | tunix-rt runs"),
        "{log}"
    );
    assert_eq!(lines[1], "click: runs/run-alpha.html", "{log}");
    assert!(
        lines[2].ends_with("/site/runs/run-alpha.html | run-alpha · tunix-rt run"),
        "{log}"
    );
    assert_eq!(
        lines[3], "click: ../compare/run-beta~vs~run-alpha.html",
        "{log}"
    );
    assert!(
        lines[4].contains("/site/compare/run-beta~vs~run-alpha.html | Compare "),
        "{log}"
    );
    assert_eq!(lines[5], "rows: 60", "{log}");
    assert!(!log.contains("PWNED"), "injected markup executed:\n{log}");
    for page in ["index.html", "runs/run-alpha.html"] {
        let (html, console) = load_page(&browser, &site.join(page));
        assert!(html.contains("<table"), "{page} did not render");
        let errors: Vec<&str> = console
            .lines()
            .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
            .collect();
        assert!(
            errors.is_empty(),
            "{page}: console errors:\n{}",
            errors.join("\n")
        );
    }
}
