//! `tunix-rt compare A B C ...` and `tunix-rt report compare A B C ...`:
//! three or more runs (every pair tested, Holm's correction), Train runs
//! without eval results (compared on their curves, final metrics and
//! config), and the sections two evaluated runs gain; the HTML in
//! headless Chromium.

use std::path::Path;

use serde_json::Value;
use tunix_rt::runfolder::{to_json_bytes, RunKind, RunManifest, RunStatus, METRICS, RUN_MANIFEST};

use crate::support::{browser, dom, fake_run, Workspace};

/// `metrics.jsonl` lines of a run whose loss falls from `start`, with a
/// validation loss every 50 steps and a gradient norm.
fn metrics(start: f64) -> String {
    (0..=4)
        .map(|i| {
            let step = i * 25;
            let loss = start / (1.0 + i as f64);
            let val = if step % 50 == 0 {
                format!(", \"val_loss\": {}", loss + 0.25)
            } else {
                String::new()
            };
            format!(
                "{{\"step\": {step}, \"loss\": {loss}, \"grad_norm\": {}{val}}}\n",
                1.0 + i as f64
            )
        })
        .collect()
}

/// Three evaluated runs on the same eval set, with metrics, never indexed.
fn three_runs() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    for (id, skill, start) in [
        ("run-weak", 0.4, 4.0),
        ("run-strong", 0.9, 3.0),
        ("run-mid", 0.6, 3.5),
    ] {
        fake_run(&root, id, 90, skill);
        std::fs::write(root.join(id).join(METRICS), metrics(start)).expect("write");
    }
    ws
}

/// A Train run folder without eval results, written by hand: its
/// manifest (learning rate `lr`) and `metrics` lines.
fn train_run(root: &Path, id: &str, lr: f64, metrics: &str) {
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut manifest = RunManifest::new(id, RunKind::Train, id, "2026-11-20T10:00:00Z");
    manifest.status = RunStatus::Completed;
    manifest.finished_at = Some("2026-11-20T10:05:00Z".into());
    manifest.model_id = "gpt-nano".into();
    manifest.config = serde_json::json!({
        "apiVersion": "tunix-rt/v1",
        "kind": "Train",
        "metadata": { "name": id },
        "spec": {
            "model": { "preset": "gpt-nano" },
            "training": { "learning_rate": lr, "max_steps": 100, "warmup_steps": 5 }
        }
    });
    manifest.command = vec!["tunix-rt".into(), "run".into()];
    std::fs::write(
        dir.join(RUN_MANIFEST),
        to_json_bytes(&manifest).expect("json"),
    )
    .expect("write");
    std::fs::write(dir.join(METRICS), metrics).expect("write");
}

#[test]
fn three_runs_get_every_pair_tested_with_holm_and_every_section() {
    let ws = three_runs();
    let text = ws.run_read_only(&["compare", "run-weak", "run-strong", "run-mid"]);
    text.code(0)
        .stdout_has("3 runs:\n  A  run-weak  full-set score ")
        .stdout_has("  C  run-mid  full-set score ")
        .stdout_has("coverage 100.0%, 90 items")
        .stdout_has("corrected with Holm's method over 3 tests at alpha 0.05:")
        .stdout_has("  B − A  +")
        .stdout_has("B improved over A")
        .stdout_has("  C − B  -")
        .stdout_has("Config: 1 of 1 keys differ (0 equal; metadata.name not compared):\n  skill  A 0.4 | B 0.9 | C 0.6\n")
        .stdout_has("  val_loss   A 1.0500 @ 100 | B 0.8500 @ 100 | C 0.9500 @ 100")
        .stdout_has("items flipped between the evaluated runs");
    assert!(
        !ws.path().join("tunix.duckdb").exists(),
        "compare must not create the index"
    );

    let json = ws.run_read_only(&[
        "compare",
        "run-weak",
        "run-strong",
        "run-mid",
        "--format",
        "json",
    ]);
    json.code(0);
    let v = json.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["correction"], "holm");
    assert_eq!(v["n_tests"], 3);
    let pairs: Vec<(String, String)> = v["pairs"]
        .as_array()
        .expect("pairs")
        .iter()
        .map(|p| {
            (
                p["b"].as_str().expect("b").into(),
                p["a"].as_str().expect("a").into(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("B".into(), "A".into()),
            ("C".into(), "A".into()),
            ("C".into(), "B".into())
        ]
    );
    for p in v["pairs"].as_array().expect("pairs") {
        assert_eq!(p["figures"]["test"], "mcnemar_exact");
        let (raw, holm) = (
            p["figures"]["p_value"].as_f64().expect("p"),
            p["p_holm"].as_f64().expect("holm"),
        );
        assert!(holm >= raw && holm <= 1.0, "{raw} → {holm}");
        assert!(p["figures"]["diff_ci_low_pp"].is_number());
    }
    assert_eq!(v["pairs"][0]["verdict_holm"], "improved");
    assert_eq!(v["config_diff"]["differing"][0]["key"], "skill");
    assert_eq!(
        v["runs"][1]["metrics"]["grad_norm"][4],
        serde_json::json!([100, 5.0])
    );
    assert_eq!(v["final_metrics"][0]["metric"], "loss");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 90);
    assert_eq!(items[0]["flipped"], true);
    assert_eq!(items[0]["results"].as_array().map(Vec::len), Some(3));

    let md = ws.run_read_only(&[
        "compare",
        "run-weak",
        "run-strong",
        "run-mid",
        "--format",
        "md",
    ]);
    md.code(0)
        .stdout_has("## Compare 3 runs")
        .stdout_has("**Holm's method** over the 3 tests")
        .stdout_has("### Final metrics")
        .stdout_has("### Config differences")
        .stdout_has("### Flipped items (");

    ws.run(&[
        "compare",
        "run-weak",
        "run-strong",
        "run-mid",
        "-o",
        "many.html",
    ])
    .code(0)
    .stderr_has("wrote many.html");
    let html = std::fs::read_to_string(ws.path().join("many.html")).expect("read");
    for section in [
        "<h1>Compare 3 runs</h1>",
        "<h2>Paired tests</h2>",
        "<strong>Holm's method</strong> over the 3 tests",
        "<title>Training and validation loss</title>",
        "<title>grad_norm</title>",
        "<h2>Final metrics</h2>",
        "<h2>Config differences</h2>",
        "<table id=\"items-table\" class=\"sortable\">",
        "data-filter=\"items-table\"",
    ] {
        assert!(html.contains(section), "{section} missing");
    }
}

#[test]
fn report_compare_reads_the_same_comparison_from_the_index() {
    let ws = three_runs();
    let folders = ws.run_read_only(&[
        "compare",
        "run-weak",
        "run-strong",
        "run-mid",
        "--format",
        "json",
    ]);
    folders.code(0);
    ws.run(&["db", "ingest"]).code(0);
    let index = ws.run_read_only(&[
        "report", "compare", "run-w", "run-s", "run-m", "--format", "json",
    ]);
    index.code(0);
    let (f, i) = (folders.json(), index.json());
    for key in ["pairs", "items", "config_diff", "final_metrics", "n_tests"] {
        assert_eq!(f[key], i[key], "{key} differs");
    }
    for r in 0..3 {
        assert_eq!(f["runs"][r]["metrics"], i["runs"][r]["metrics"]);
        assert_eq!(
            f["runs"][r]["run"]["full_set"],
            i["runs"][r]["run"]["full_set"]
        );
    }
    ws.run_read_only(&["report", "compare", "run-weak", "--format", "json"])
        .code(2);
}

#[test]
fn two_train_runs_without_eval_are_compared_on_their_curves_and_val_loss() {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    train_run(
        &root,
        "train-lr1",
        0.001,
        "{\"step\": 0, \"loss\": 3.0}\n{\"step\": 50, \"loss\": 2.0, \"val_loss\": 2.25}\n{\"step\": 100, \"loss\": 1.5, \"val_loss\": 1.75, \"train/acc\": 0.5}\n",
    );
    train_run(
        &root,
        "train-lr3",
        0.003,
        "{\"step\": 0, \"loss\": 3.0}\n{\"step\": 50, \"loss\": 1.75, \"val_loss\": 2.0}\n{\"step\": 100, \"loss\": 1.25, \"val_loss\": 1.5}\n",
    );
    let text = ws.run_read_only(&["compare", "train-lr1", "train-lr3"]);
    text.code(0)
        .stdout_has("  A  train-lr1  not evaluated\n  B  train-lr3  not evaluated\n")
        .stdout_has("there are no eval results to test")
        .stdout_has("Config: 1 of 6 keys differ")
        .stdout_has("  spec.training.learning_rate  A 0.001 | B 0.003\n")
        .stdout_has("  val_loss   A 1.7500 @ 100 | B 1.5000 @ 100\n")
        .stdout_has("  train/acc  A 0.5000 @ 100 | B —\n");
    let json = ws.run_read_only(&["compare", "train-lr1", "train-lr3", "--format", "json"]);
    json.code(0);
    let v = json.json();
    assert_eq!(v["n_tests"], 0);
    assert_eq!(v["pairs"], serde_json::json!([]));
    assert_eq!(v["items"], serde_json::json!([]));
    assert_eq!(v["runs"][0]["evaluated"], false);
    let val = &v["final_metrics"][1];
    assert_eq!(val["metric"], "val_loss");
    assert_eq!(
        val["values"][1],
        serde_json::json!({"step": 100, "value": 1.5})
    );
    assert_eq!(
        v["runs"][1]["metrics"]["val_loss"],
        serde_json::json!([[50, 2.0], [100, 1.5]])
    );
    ws.run(&["compare", "train-lr1", "train-lr3", "-o", "train.html"])
        .code(0);
    let html = std::fs::read_to_string(ws.path().join("train.html")).expect("read");
    assert!(html.contains("There are no eval results to test"), "{html}");
    assert!(html.contains("<title>Training and validation loss</title>"));
    assert!(html.contains("data-series=\"B val_loss: train-lr3\""));
    assert!(html.contains("<td><code>val_loss</code></td>"));
    assert!(!html.contains("<h2>Items</h2>"));
    ws.run(&["db", "ingest"]).code(0);
    let index = ws.run_read_only(&[
        "report",
        "compare",
        "train-lr1",
        "train-lr3",
        "--format",
        "json",
    ]);
    index.code(0);
    assert_eq!(index.json()["final_metrics"], v["final_metrics"]);
}

#[test]
fn two_evaluated_runs_keep_the_paired_report_and_gain_the_sections() {
    let ws = three_runs();
    let json = ws.run_read_only(&["compare", "run-weak", "run-strong", "--format", "json"]);
    json.code(0);
    let v = json.json();
    assert_eq!(v["schema_version"], 2, "the paired document");
    assert_eq!(v["figures"]["verdict"], "improved");
    assert_eq!(
        v["config_diff"]["differing"][0]["values"],
        serde_json::json!(["0.4", "0.9"])
    );
    assert_eq!(v["metrics"][0]["label"], "A");
    assert_eq!(v["final_metrics"][1]["metric"], "val_loss");
    let text = ws.run_read_only(&["compare", "run-weak", "run-strong"]);
    text.code(0)
        .stdout_has("B improved over A")
        .stdout_has("Config: 1 of 1 keys differ")
        .stdout_has("  skill  A 0.4 | B 0.9\n");
    let html = ws.run_read_only(&["compare", "run-weak", "run-strong", "--format", "html"]);
    html.code(0)
        .stdout_has("<h1>Is B better than A?</h1>")
        .stdout_has("<h2>Config differences</h2>")
        .stdout_has("<title>Training and validation loss</title>");
    let at = html
        .stdout
        .find("<h2>Training curves</h2>")
        .expect("curves");
    assert!(at < html.stdout.find("</main>").expect("main"));
}

#[test]
fn one_run_is_not_a_comparison() {
    let ws = three_runs();
    ws.run_read_only(&["compare", "run-weak"])
        .code(2)
        .stderr_has("2 values required");
}

#[test]
fn the_page_of_many_runs_renders_in_chromium_without_errors() {
    let Some(browser) = browser() else {
        return;
    };
    let ws = three_runs();
    train_run(
        &ws.path().join("submission_runs"),
        "train-x",
        0.003,
        "{\"step\": 0, \"loss\": 3.0}\n{\"step\": 100, \"loss\": 1.0, \"val_loss\": 1.5}\n",
    );
    let manifest = ws.path().join("submission_runs/run-mid/run_manifest.json");
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("read")).expect("json");
    m["name"] = Value::String(
        "<img src=x onerror=\"document.body.setAttribute('data-pwned','img')\">".into(),
    );
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
    ws.run(&[
        "compare",
        "run-weak",
        "run-strong",
        "run-mid",
        "train-x",
        "-o",
        "many.html",
    ])
    .code(0);
    let (page, log) = dom(&browser, &ws.path().join("many.html"));
    assert!(
        page.contains("class=\"js\""),
        "the tables' script did not run: {page}"
    );
    assert!(page.contains("<table id=\"pairs-table\""), "{page}");
    assert!(!page.contains("data-pwned=\""), "injected markup executed");
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect();
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
}
