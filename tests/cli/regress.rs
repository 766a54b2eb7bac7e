//! `tunix-rt baseline set` and `tunix-rt regress`: the regression gate
//! against a locked baseline, on synthetic run folders (600 items; the
//! baseline answers half of them).

use serde_json::Value;

use crate::support::{fake_run, Workspace};

const N: usize = 600;
const LOCK: &str = "configs/baseline.lock.yaml";

/// A workspace with a baseline (skill 0.5: 298 of 600 right), a clearly
/// worse (0.3: 179 right, all among the baseline's) and a clearly better
/// (0.7: 419 right) candidate, and a noisy one: the baseline with five
/// items lost and five gained. The baseline is locked.
fn gate() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "base", N, 0.5);
    fake_run(&root, "worse", N, 0.3);
    fake_run(&root, "better", N, 0.7);
    fake_run(&root, "noisy", N, 0.5);
    let mut lost = 0;
    let mut gained = 0;
    edit_items(&ws, "noisy", |item| {
        let c = item["answer_correctness"].as_f64().expect("scored");
        if c == 1.0 && lost < 5 {
            lost += 1;
            item["answer_correctness"] = 0.0.into();
        } else if c == 0.0 && gained < 5 {
            gained += 1;
            item["answer_correctness"] = 1.0.into();
        }
    });
    ws.run(&["baseline", "set", "base"]).code(0);
    ws
}

/// Rewrite every line of a run's eval_items.jsonl with `f`.
fn edit_items(ws: &Workspace, run: &str, mut f: impl FnMut(&mut Value)) {
    let path = ws
        .path()
        .join("submission_runs")
        .join(run)
        .join("eval_items.jsonl");
    let text = std::fs::read_to_string(&path).expect("read");
    let mut out = String::new();
    for line in text.lines() {
        let mut v: Value = serde_json::from_str(line).expect("json");
        f(&mut v);
        out.push_str(&v.to_string());
        out.push('\n');
    }
    std::fs::write(&path, out).expect("write");
}

/// Rewrite a run's run_manifest.json with `f`.
fn edit_manifest(ws: &Workspace, run: &str, f: impl FnOnce(&mut Value)) {
    let path = ws
        .path()
        .join("submission_runs")
        .join(run)
        .join("run_manifest.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    f(&mut v);
    std::fs::write(&path, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
}

#[test]
fn baseline_set_writes_a_reviewable_lock() {
    let ws = gate();
    let text = std::fs::read_to_string(ws.path().join(LOCK)).expect("lock written");
    assert!(
        text.starts_with("# yaml-language-server: $schema=../schemas/baseline_lock.schema.json\n"),
        "{text}"
    );
    for needle in [
        "schema_version: 1\n",
        "name: base\n",
        "run_id: base\n",
        "run_dir: submission_runs/base\n",
        "path: evalsets/synthetic.jsonl\n",
        "primary: 0.49",
        "n_items: 600\n",
        "items_blake3: ",
        "scoring_rules:\n  version: 1\n",
        "set_by: ",
        "set_at: ",
    ] {
        assert!(text.contains(needle), "lock lacks {needle:?}:\n{text}");
    }
    let run = ws.run(&[
        "baseline",
        "set",
        "submission_runs/better",
        "--name",
        "release-1",
        "--out",
        "ci/other.lock.yaml",
    ]);
    run.code(0)
        .stdout_has("locked baseline `release-1`")
        .stdout_has("wrote ci/other.lock.yaml");
    let other = std::fs::read_to_string(ws.path().join("ci/other.lock.yaml")).expect("written");
    assert!(
        other.contains("name: release-1\nrun_id: better\n"),
        "{other}"
    );
    let missing = ws.run(&["baseline", "set", "nope"]);
    missing.code(2).stderr_has("no run matches `nope`");
}

#[test]
fn a_clear_drop_fails_the_gate_and_the_rest_pass() {
    let ws = gate();
    let worse = ws.run_read_only(&["regress", "--candidate", "worse"]);
    worse
        .code(1)
        .stdout_has("Regression gate: REGRESSED")
        .stdout_has("difference -19.83 pp [")
        .stdout_has("detectable ")
        .stdout_has("Lost (baseline right, candidate wrong): 119")
        .stdout_has("Gained (baseline wrong, candidate right): 0")
        .stdout_has("  … and 99 more")
        .stderr_has("regression: candidate `worse` is worse than baseline `base`");
    ws.run_read_only(&["regress", "--candidate", "better"])
        .code(0)
        .stdout_has("Regression gate: IMPROVED")
        .stdout_has("Gained (baseline wrong, candidate right): 121");
    ws.run_read_only(&["regress", "--candidate", "noisy"])
        .code(0)
        .stdout_has("Regression gate: NO EVIDENCE")
        .stdout_has("Lost (baseline right, candidate wrong): 5")
        .stdout_has("Gained (baseline wrong, candidate right): 5");
    ws.run_read_only(&["regress", "--candidate", "worse", "--informational"])
        .code(0)
        .stdout_has("Regression gate: REGRESSED (informational)");
    ws.run_read_only(&["regress", "--candidate", "worse", "--threshold", "0.5"])
        .code(0)
        .stdout_has("NO EVIDENCE");
}

#[test]
fn markdown_is_a_pull_request_comment_and_json_is_stable() {
    let ws = gate();
    let md = ws.run_read_only(&["regress", "--candidate", "worse", "--format", "md"]);
    md.code(1)
        .stdout_has("## ❌ Regression gate: regressed\n")
        .stdout_has("| Difference | **-19.83 pp** [")
        .stdout_has("| Minimum detectable difference | ")
        .stdout_has("<details><summary>Lost: 119 item(s)</summary>")
        .stdout_has("| item-")
        .stdout_has("… and 99 more.")
        .stdout_has("</details>");
    let json = ws.run_read_only(&["regress", "--candidate", "noisy", "--format", "json"]);
    json.code(0);
    let v = json.json();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["verdict"], "no_evidence");
    assert_eq!(v["n_pairs"], N);
    assert_eq!(v["baseline"]["run_id"], "base");
    assert_eq!(v["candidate"]["run_dir"], "submission_runs/noisy");
    assert_eq!(v["lost"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["gained"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["test"], "mcnemar_exact");
    assert!(v["min_detectable_difference_pp"].as_f64().is_some(), "{v}");
    assert_eq!(v["threshold_pp"], 2.0);
    assert_eq!(v["candidate"]["coverage"], 1.0);
    let worse = ws.run_read_only(&["regress", "--candidate", "worse", "--format", "json"]);
    let w = worse.json();
    assert_eq!(w["verdict"], "regressed");
    assert!(w["diff_ci"]["high_pp"].as_f64().expect("ci") < -2.0, "{w}");
}

#[test]
fn incomparable_candidates_are_refused_saying_what_differs() {
    let ws = gate();
    edit_manifest(&ws, "worse", |m| {
        m["evalset"]["blake3"] = "11".repeat(32).into()
    });
    ws.run_read_only(&["regress", "--candidate", "worse"])
        .code(2)
        .stderr_has("was scored on a different eval set")
        .stderr_has(&"11".repeat(32))
        .stderr_has(&"00".repeat(32));
    edit_manifest(&ws, "better", |m| {
        m["config"] = serde_json::json!({"answer_extraction": {"order": ["last_line"]}});
    });
    ws.run_read_only(&["regress", "--candidate", "better"])
        .code(2)
        .stderr_has("different scoring rules")
        .stderr_has("answer_extraction: baseline null, candidate {");
}

#[test]
fn a_changed_baseline_folder_is_refused() {
    let ws = gate();
    let mut done = false;
    edit_items(&ws, "base", |item| {
        if !done {
            done = true;
            let c = item["answer_correctness"].as_f64().expect("scored");
            item["answer_correctness"] = (1.0 - c).into();
        }
    });
    ws.run_read_only(&["regress", "--candidate", "noisy"])
        .code(2)
        .stderr_has("the baseline run folder `submission_runs/base` changed since it was locked")
        .stderr_has("per-item correctness hashes to ");
    std::fs::remove_dir_all(ws.path().join("submission_runs/base")).expect("rm");
    ws.run_read_only(&["regress", "--candidate", "noisy"])
        .code(2)
        .stderr_has("does not exist");
}

#[test]
fn bad_lock_files_are_located() {
    let ws = gate();
    let text = std::fs::read_to_string(ws.path().join(LOCK)).expect("lock");
    ws.file(
        LOCK,
        text.replace("name: base\n", "name: base\ncolour: red\n"),
    );
    ws.run_read_only(&["regress", "--candidate", "noisy"])
        .code(2)
        .stderr_has("configs/baseline.lock.yaml:6:1: error:")
        .stderr_has("colour");
    ws.file(LOCK, text.replace("n_items: 600", "n_items: many"));
    ws.run_read_only(&["regress", "--candidate", "noisy"])
        .code(2)
        .stderr_has("configs/baseline.lock.yaml:")
        .stderr_has("(at /score/n_items)");
    std::fs::remove_file(ws.path().join(LOCK)).expect("rm");
    ws.run_read_only(&["regress", "--candidate", "noisy"])
        .code(2)
        .stderr_has("baseline set");
    ws.run_read_only(&["regress", "--candidate", "noisy", "--alpha", "2"])
        .code(2)
        .stderr_has("--alpha must be in (0, 1)");
}
