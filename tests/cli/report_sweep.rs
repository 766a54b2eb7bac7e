//! `tunix-rt report sweep`: a hand-built sweep folder rendered to the
//! golden files (`UPDATE_GOLDEN=1` rewrites them), bad input, and the HTML
//! in headless Chromium (`TUNIX_SKIP_BROWSER_TESTS=1` skips that test).
//! Real sweeps run through the binary are in report_sweep_real.rs.

use std::path::Path;

use serde_json::{json, Value};
use tunix_rt::runfolder::{
    to_json_bytes, to_jsonl_bytes, EvalItemRecord, Failure, RunKind, RunManifest, RunStatus,
};

use crate::support::{browser, dom, repo, Workspace};

/// The hand-built sweep's name.
const SWEEP: &str = "fixture-sweep";
/// Hostile text in the failed trial's message.
const PAYLOAD: &str = "<script>alert(1)</script> <img src=x onerror=alert(1)> {{ 7*7 }}";

/// One hand-built trial: id, (learning rate, batch size, weight decay),
/// state, the metric at each rung it reached, and the correctness of its
/// 40 eval items (none: not evaluated).
struct Trial {
    id: &'static str,
    params: (f64, i64, f64),
    state: &'static str,
    metrics: &'static [(u32, f64)],
    items: Option<fn(usize) -> f64>,
}

/// t000 is the best; t003 answers about as well (tied), t004 clearly
/// worse; t001 and t005 were stopped at rungs 4 and 8; t002 failed;
/// t006 never started.
const TRIALS: [Trial; 7] = [
    Trial {
        id: "t000",
        params: (0.0011, 8, 0.01),
        state: "completed",
        metrics: &[(4, 0.5), (8, 0.7), (12, 0.8125)],
        items: Some(|i| if i % 10 == 0 { 0.0 } else { 1.0 }),
    },
    Trial {
        id: "t001",
        params: (0.0087, 32, 0.09),
        state: "stopped",
        metrics: &[(4, 0.25)],
        items: None,
    },
    Trial {
        id: "t002",
        params: (0.0095, 16, 0.05),
        state: "failed",
        metrics: &[],
        items: None,
    },
    Trial {
        id: "t003",
        params: (0.0014, 8, 0.03),
        state: "completed",
        metrics: &[(4, 0.45), (8, 0.65), (12, 0.8)],
        items: Some(|i| if i % 10 == 1 { 0.0 } else { 1.0 }),
    },
    Trial {
        id: "t004",
        params: (0.0051, 32, 0.02),
        state: "completed",
        metrics: &[(4, 0.4), (8, 0.6), (12, 0.55)],
        items: Some(|i| if i % 2 == 0 { 1.0 } else { 0.0 }),
    },
    Trial {
        id: "t005",
        params: (0.0025, 16, 0.04),
        state: "stopped",
        metrics: &[(4, 0.35), (8, 0.6)],
        items: None,
    },
    Trial {
        id: "t006",
        params: (0.0002, 16, 0.07),
        state: "pending",
        metrics: &[],
        items: None,
    },
];

/// The Sweep manifest the hand-built folder came from.
const MANIFEST: &str = "\
apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: fixture-sweep
spec:
  base: ../configs/base.yaml
  search_space:
    learning_rate: { loguniform: [1.0e-4, 1.0e-2] }
    per_device_batch_size: { choice: [8, 16, 32] }
    weight_decay: { uniform: [0.0, 0.1] }
  overrides: { max_steps: 12 }
  num_samples: 7
  scheduler: { asha: { grace_period: 4, reduction_factor: 2 } }
";

fn params(t: &Trial) -> Value {
    json!({
        "learning_rate": t.params.0,
        "per_device_batch_size": t.params.1,
        "weight_decay": t.params.2,
    })
}

fn failure() -> Failure {
    Failure {
        class: "nan_loss".to_string(),
        message: format!("training loss became NaN by step 3\n{PAYLOAD}"),
    }
}

/// A workspace holding the hand-built sweep folder and its manifest.
fn fixture_workspace() -> Workspace {
    let ws = Workspace::new();
    ws.file("manifests/sweep.yaml", MANIFEST);
    let dir = ws.path().join("submission_runs").join(SWEEP);
    let entries: Vec<Value> = TRIALS
        .iter()
        .map(|t| {
            let metrics: serde_json::Map<String, Value> = t
                .metrics
                .iter()
                .map(|(step, m)| (step.to_string(), json!(m)))
                .collect();
            let last = t.metrics.last();
            json!({
                "trial_id": t.id,
                "params": params(t),
                "state": t.state,
                "last_step": last.map_or(0, |m| m.0),
                "metrics": metrics,
                "stopped_at": (t.state == "stopped")
                    .then(|| last.map(|m| json!({ "rung": m.0, "metric": m.1 }))),
                "failure": (t.state == "failed").then(failure),
            })
        })
        .collect();
    let ledger = json!({
        "schema_version": 1,
        "sweep": SWEEP,
        "identity": "ab".repeat(32),
        "metric": "primary_score",
        "mode": "max",
        "rungs": [4, 8, 12],
        "trials": entries,
        "decisions": [],
        "best": { "trial_id": "t000", "metric": 0.8125, "params": params(&TRIALS[0]) },
    });
    ws.file(
        &format!("submission_runs/{SWEEP}/sweep.json"),
        serde_json::to_vec_pretty(&ledger).expect("json"),
    );
    for t in TRIALS.iter().filter(|t| t.state != "pending") {
        write_trial(&dir, t);
    }
    ws
}

/// Trial `t`'s run folder: run_manifest.json, metrics.jsonl (loss every
/// 2 steps, the metric at each rung) and, when evaluated, eval_items.jsonl.
fn write_trial(sweep_dir: &Path, t: &Trial) {
    let run_id = format!("{SWEEP}-{}", t.id);
    let run_dir = sweep_dir.join("trials").join(&run_id);
    std::fs::create_dir_all(&run_dir).expect("mkdir");
    let mut m = RunManifest::new(&run_id, RunKind::Train, &run_id, "2026-11-20T10:00:00Z");
    m.status = match t.state {
        "completed" => RunStatus::Completed,
        "failed" => RunStatus::Failed,
        _ => RunStatus::Stopped,
    };
    m.command = ["tunix-rt", "run", "manifests/sweep.yaml"]
        .map(String::from)
        .to_vec();
    m.tuning_job_id = Some(SWEEP.to_string());
    m.trial_id = Some(t.id.to_string());
    if t.state == "failed" {
        m.failure = Some(failure());
    }
    std::fs::write(
        run_dir.join("run_manifest.json"),
        to_json_bytes(&m).expect("json"),
    )
    .expect("write");
    let last = t.metrics.last().map_or(3, |m| m.0);
    let offset = t.params.0 * 100.0;
    let mut metrics = String::new();
    for step in (2..=last).step_by(2) {
        let mut line = json!({ "step": step, "loss": offset + 8.0 / f64::from(step) });
        if let Some((_, m)) = t.metrics.iter().find(|(s, _)| *s == step) {
            line["primary_score"] = json!(m);
        }
        metrics.push_str(&format!("{line}\n"));
    }
    std::fs::write(run_dir.join("metrics.jsonl"), metrics).expect("write");
    if let Some(correct) = t.items {
        let items: Vec<EvalItemRecord> = (0..40)
            .map(|i| EvalItemRecord {
                id: format!("core-{i:03}"),
                category: "core".to_string(),
                expected: i.to_string(),
                output: Some(format!("Answer: {i}")),
                extracted: Some(i.to_string()),
                extraction_rule: None,
                answer_correctness: Some(correct(i)),
                trace_consistency: None,
            })
            .collect();
        std::fs::write(
            run_dir.join("eval_items.jsonl"),
            to_jsonl_bytes(&items).expect("jsonl"),
        )
        .expect("write");
    }
}

/// Compare `actual` with `tests/golden/NAME`, or rewrite the file when
/// `UPDATE_GOLDEN` is set (the test kit's one golden mechanism).
fn assert_golden(name: &str, actual: &str) {
    tunix_testkit::assert_golden(&repo().join("tests/golden"), name, actual);
}

#[test]
fn a_hand_built_sweep_renders_the_golden_files() {
    let ws = fixture_workspace();
    for (file, golden) in [
        ("out/sweep.json", "sweep.json"),
        ("out/sweep.md", "sweep.md"),
        ("out/sweep.html", "sweep.html"),
    ] {
        ws.run(&["report", "sweep", SWEEP, "-o", file])
            .code(0)
            .stderr_has(&format!("wrote {file}"));
        let text = std::fs::read_to_string(ws.path().join(file)).expect("read");
        assert_golden(golden, &text);
    }
    let html = std::fs::read_to_string(ws.path().join("out/sweep.html")).expect("read");
    assert!(!html.contains("<script>alert") && !html.contains("<img"));
    assert!(
        html.contains("&lt;script&gt;alert(1)"),
        "payload shown as text"
    );
    assert_eq!(
        html.matches("<script").count(),
        1,
        "only the report's own script"
    );
    assert!(!html.contains("http:") && !html.contains("https:"));
}

#[test]
fn the_json_has_the_trials_best_first_ties_failures_and_curves() {
    let ws = fixture_workspace();
    let run = ws.run_read_only(&["report", "sweep", SWEEP, "--format", "json"]);
    let v = run.code(0).json();
    let order: Vec<&str> = v["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| t["trial_id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        order,
        vec!["t000", "t003", "t005", "t004", "t001", "t002", "t006"]
    );
    assert_eq!(v["best"]["trial_id"], "t000");
    assert_eq!(v["params_source"], "manifests/sweep.yaml");
    let axes: Vec<&str> = v["params"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| p["axis"].as_str().expect("axis"))
        .collect();
    assert_eq!(axes, vec!["log", "categorical", "linear"]);
    assert_eq!(v["ties"]["available"], true);
    assert_eq!(v["ties"]["n_tied"], 1);
    assert_eq!(v["ties"]["n_compared"], 2);
    assert_eq!(v["ties"]["comparisons"][0]["trial_id"], "t003");
    assert_eq!(v["ties"]["comparisons"][0]["tied"], true);
    assert_eq!(v["ties"]["comparisons"][1]["tied"], false);
    assert_eq!(v["failures"][0]["class"], "nan_loss");
    assert!(v["failures"][0]["message"]
        .as_str()
        .expect("message")
        .contains(PAYLOAD));
    assert_eq!(
        v["curves"].as_array().map(Vec::len),
        Some(6),
        "t006 never ran"
    );
    let stopped = &v["trials"][2];
    assert_eq!(
        (stopped["stop_rung"].as_u64(), stopped["last_step"].as_u64()),
        (Some(8), Some(8))
    );
}

#[test]
fn a_sweep_folder_path_works_like_its_name() {
    let ws = fixture_workspace();
    let by_name = ws.run_read_only(&["report", "sweep", SWEEP, "--format", "json"]);
    let path = format!("submission_runs/{SWEEP}");
    let by_path = ws.run_read_only(&["report", "sweep", &path, "--format", "json"]);
    assert_eq!(by_name.code(0).stdout, by_path.code(0).stdout);
    let abs = ws.path().join(&path);
    let by_abs = ws.run_read_only(&[
        "report",
        "sweep",
        abs.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(by_name.stdout, by_abs.code(0).stdout);
}

#[test]
fn an_unknown_sweep_is_bad_input_naming_what_was_looked_for_and_writes_nothing() {
    let ws = fixture_workspace();
    ws.run_read_only(&["report", "sweep", "fixture-swep", "-o", "out.html"])
        .code(2)
        .stderr_has("no sweep `fixture-swep`")
        .stderr_has("submission_runs/fixture-swep/sweep.json")
        .stderr_has("did you mean `fixture-sweep`?");
    ws.run_read_only(&["report", "sweep", "nothing-like-it", "-o", "out.md"])
        .code(2)
        .stderr_has("known sweeps: fixture-sweep");
    ws.run_read_only(&["report", "sweep", "manifests", "-o", "out.md"])
        .code(2)
        .stderr_has("`manifests` is a folder but not a sweep folder (it has no sweep.json)");
    let empty = Workspace::new();
    empty
        .run_read_only(&["report", "sweep", SWEEP, "-o", "out.json"])
        .code(2)
        .stderr_has("holds no sweeps");
}

#[test]
fn bad_flags_are_refused_before_anything_is_written() {
    let ws = fixture_workspace();
    ws.run_read_only(&["report", "sweep", SWEEP, "--alpha", "1.5", "-o", "a.html"])
        .code(2)
        .stderr_has("alpha");
    ws.run_read_only(&["report", "sweep", SWEEP, "--format", "md", "-o", "a.html"])
        .code(2)
        .stderr_has("--format md contradicts");
    ws.run_read_only(&["report", "sweep", SWEEP, "-o", "a.txt"])
        .code(2)
        .stderr_has("cannot tell the output format");
}

#[test]
fn a_broken_sweep_file_is_an_error_naming_it() {
    let ws = fixture_workspace();
    ws.file(
        &format!("submission_runs/{SWEEP}/trials/{SWEEP}-t003/metrics.jsonl"),
        "{\"step\": 2, \"loss\": 1.0}\nnot json\n",
    );
    ws.run_read_only(&["report", "sweep", SWEEP, "-o", "out.md"])
        .code(2)
        .stderr_has("metrics.jsonl:2")
        .stderr_has("not a valid metrics record");
}

/// Clicks the metric heading twice and records the row order before and
/// after each click on `<body>`.
const CLICKS: &str = "<script>
(function () {
  function order() {
    return Array.prototype.map.call(document.querySelectorAll('#trials tbody tr.trial'),
      function (r) { return r.getAttribute('data-trial'); }).join(',');
  }
  var head = document.querySelector('th[data-key=metric]');
  document.body.setAttribute('data-before', order());
  head.click();
  document.body.setAttribute('data-after', order());
  head.click();
  document.body.setAttribute('data-again', order());
})();
</script>
</body>";

/// The value of `name=\"...\"` in `dom`.
fn attribute<'a>(dom: &'a str, name: &str) -> &'a str {
    let start = dom
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {dom}"))
        + name.len()
        + 2;
    let len = dom[start..].find('"').expect("closing quote");
    &dom[start..start + len]
}

#[test]
fn the_sweep_page_loads_in_chromium_and_the_metric_heading_sorts() {
    let Some(browser) = browser() else {
        return;
    };
    let ws = fixture_workspace();
    ws.run(&["report", "sweep", SWEEP, "-o", "sweep.html"])
        .code(0);
    let html = std::fs::read_to_string(ws.path().join("sweep.html")).expect("read");
    let page = ws.path().join("clicked.html");
    std::fs::write(&page, html.replace("</body>", CLICKS)).expect("write");
    let (dom, log) = dom(&browser, &page);
    assert!(dom.contains("<table"), "did not render: {dom}");
    assert_eq!(dom.matches("<tr class=\"trial ").count(), TRIALS.len());
    assert!(!dom.contains("data-pwned") && dom.contains("{{ 7*7 }}"));
    assert_eq!(
        attribute(&dom, "data-before"),
        "t000,t003,t005,t004,t001,t002,t006",
        "best first"
    );
    assert_eq!(
        attribute(&dom, "data-after"),
        "t001,t004,t005,t003,t000,t002,t006",
        "worst first, trials without a metric still last"
    );
    assert_eq!(
        attribute(&dom, "data-again"),
        "t000,t003,t005,t004,t001,t002,t006"
    );
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains("Refused to"))
        .collect();
    assert!(errors.is_empty(), "console errors:\n{}", errors.join("\n"));
}
