//! `tunix-rt compare`: the paired comparison of two run folders, read
//! without the index; and the helpers that give a synthetic run folder
//! per-tag figures and the calculator flag (the report tests use them too).

use std::path::Path;

use serde_json::Value;

use crate::support::{fake_run, Workspace};

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

fn write_json(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec_pretty(value).expect("json")).expect("write");
}

/// Record `decoding.calculator: on` in run folder `dir`'s config, where a
/// Train run records it (`spec.eval.decoding`).
pub(crate) fn set_calculator(dir: &Path, on: bool) {
    let path = dir.join("run_manifest.json");
    let mut manifest = read_json(&path);
    manifest["config"]["spec"] =
        serde_json::json!({ "eval": { "decoding": { "calculator": on } } });
    write_json(&path, &manifest);
}

/// Give run folder `dir`'s summary per-tag figures: every item is tagged
/// `all`, every other item `even` too.
pub(crate) fn add_tags(dir: &Path) {
    let items = std::fs::read_to_string(dir.join("eval_items.jsonl")).expect("read");
    let rows: Vec<tunix_rt::scoring::ItemRow> = items
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let record: tunix_rt::runfolder::EvalItemRecord =
                serde_json::from_str(line).expect("record");
            let mut row = record.item_row();
            row.tags = if i % 2 == 0 {
                vec!["all".into(), "even".into()]
            } else {
                vec!["all".into()]
            };
            row
        })
        .collect();
    let path = dir.join("eval_summary.json");
    let mut summary = read_json(&path);
    let card = tunix_rt::scoring::build_scorecard(&rows, tunix_rt::scoring::DEFAULT_BOOTSTRAP_SEED);
    summary["scorecard"] = serde_json::to_value(card).expect("json");
    write_json(&path, &summary);
}

/// Two evaluated run folders on the same eval set, never ingested.
fn two_runs() -> Workspace {
    let ws = Workspace::new();
    let root = ws.path().join("submission_runs");
    fake_run(&root, "run-weak", 90, 0.4);
    fake_run(&root, "run-strong", 90, 0.9);
    ws
}

#[test]
fn compare_reads_run_folders_and_prints_the_verdict() {
    let ws = two_runs();
    let run = ws.run_read_only(&["compare", "run-weak", "run-strong"]);
    run.code(0)
        .stdout_has("B improved over A")
        .stdout_has("B − A              +")
        .stdout_has("McNemar exact, p = ")
        .stdout_has("(minimum difference at 80% power)")
        .stdout_has("Flipped items (")
        .stdout_has("item-");
    assert!(
        !ws.path().join("tunix.duckdb").exists(),
        "compare must not create the index"
    );
    let back = ws.run_read_only(&["compare", "run-s", "run-w"]);
    back.code(0).stdout_has("B regressed from A");
    let same = ws.run_read_only(&["compare", "run-weak", "run-weak"]);
    same.code(0)
        .stdout_has("No evidence that B differs from A")
        .stdout_has("No item flipped.");
}

#[test]
fn compare_takes_folder_paths_and_json() {
    let ws = two_runs();
    let strong = ws.path().join("submission_runs/run-strong");
    let run = ws.run_read_only(&[
        "compare",
        "submission_runs/run-weak",
        strong.to_str().expect("utf-8 path"),
        "--format",
        "json",
    ]);
    run.code(0);
    let v = run.json();
    assert_eq!(v["schema_version"], 2);
    assert_eq!(v["figures"]["verdict"], "improved");
    assert_eq!(v["figures"]["pairing"], "union");
    assert!(v["figures"]["diff_pp"].as_f64().expect("pp") > 1.0);
    assert_eq!(v["figures"]["test"], "mcnemar_exact");
    assert_eq!(v["a"]["run_id"], "run-weak");
    assert_eq!(v["b"]["ci_method"], "wilson");
    assert_eq!(v["figures"]["n_pairs"], 90);
    assert_eq!(v["items"][0]["flipped"], true);
}

#[test]
fn compare_agrees_with_report_compare_on_the_index() {
    let ws = two_runs();
    let folders = ws.run_read_only(&["compare", "run-weak", "run-strong", "--format", "json"]);
    folders.code(0);
    ws.run(&["db", "ingest"]).code(0);
    let index = ws.run_read_only(&[
        "report",
        "compare",
        "run-weak",
        "run-strong",
        "--format",
        "json",
    ]);
    index.code(0);
    let (f, i) = (folders.json(), index.json());
    for key in ["figures", "items", "category_deltas", "evalsets_differ"] {
        assert_eq!(f[key], i[key], "{key} differs");
    }
    for side in ["a", "b"] {
        for key in [
            "run_id",
            "primary_score",
            "ci_low",
            "ci_high",
            "ci_method",
            "n_items",
        ] {
            assert_eq!(f[side][key], i[side][key], "{side}.{key} differs");
        }
    }
}

#[test]
fn compare_writes_report_formats_to_a_file() {
    let ws = two_runs();
    ws.run(&["compare", "run-weak", "run-strong", "-o", "cmp.html"])
        .code(0)
        .stderr_has("wrote cmp.html");
    let html = std::fs::read_to_string(ws.path().join("cmp.html")).expect("read");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    ws.run(&["compare", "run-weak", "run-strong", "-o", "cmp.txt"])
        .code(0);
    let text = std::fs::read_to_string(ws.path().join("cmp.txt")).expect("read");
    assert!(text.contains("B improved over A"), "{text}");
    ws.run_read_only(&["compare", "run-weak", "run-strong", "--format", "md"])
        .code(0)
        .stdout_has("**B improved over A**");
    ws.run_read_only(&[
        "compare",
        "run-weak",
        "run-strong",
        "--format",
        "text",
        "-o",
        "x.json",
    ])
    .code(2)
    .stderr_has("--format text contradicts");
}

#[test]
fn bad_run_names_are_refused_with_exit_2() {
    let ws = two_runs();
    ws.run_read_only(&["compare", "run-", "run-strong"])
        .code(2)
        .stderr_has("`run-` matches 2 runs");
    ws.run_read_only(&["compare", "run-x", "run-strong"])
        .code(2)
        .stderr_has("no run matches `run-x`");
    ws.run_read_only(&["compare", "no/such/folder", "run-strong"])
        .code(2)
        .stderr_has("no run matches `no/such/folder`");
    ws.run_read_only(&["compare", "evalsets", "run-strong"])
        .code(2)
        .stderr_has("is a folder but not a run folder");
    std::fs::remove_file(ws.path().join("submission_runs/run-weak/eval_items.jsonl"))
        .expect("remove");
    ws.run_read_only(&["compare", "run-weak", "run-strong"])
        .code(2)
        .stderr_has("has no eval_items.jsonl: only evaluated runs can be compared");
    ws.run_read_only(&["compare", "run-strong", "run-strong", "--alpha", "2"])
        .code(2)
        .stderr_has("alpha");
    let empty = Workspace::new();
    empty
        .run_read_only(&["compare", "a", "b"])
        .code(2)
        .stderr_has("no run matches `a`");
}

#[test]
fn different_eval_sets_need_the_flag() {
    let ws = two_runs();
    let manifest = ws
        .path()
        .join("submission_runs/run-strong/run_manifest.json");
    let mut v: Value =
        serde_json::from_slice(&std::fs::read(&manifest).expect("read")).expect("json");
    v["evalset"]["blake3"] = Value::String("11".repeat(32));
    std::fs::write(&manifest, serde_json::to_vec_pretty(&v).expect("json")).expect("write");
    ws.run_read_only(&["compare", "run-weak", "run-strong"])
        .code(2)
        .stderr_has("different eval sets (blake3 000000000000… vs blake3 111111111111…)")
        .stderr_has("--allow-different-evalsets");
    ws.run_read_only(&[
        "compare",
        "run-weak",
        "run-strong",
        "--allow-different-evalsets",
    ])
    .code(0)
    .stdout_has("different eval sets");
}

#[test]
fn text_from_runs_cannot_drive_the_terminal() {
    let ws = two_runs();
    let items = ws
        .path()
        .join("submission_runs/run-strong/eval_items.jsonl");
    let text = std::fs::read_to_string(&items).expect("read");
    let patched: String = text
        .lines()
        .map(|line| {
            let mut item: Value = serde_json::from_str(line).expect("json");
            item["extracted"] = Value::String("\u{1b}[31mred\nline".to_string());
            format!("{item}\n")
        })
        .collect();
    std::fs::write(&items, patched).expect("write");
    let run = ws.run_read_only(&["compare", "run-weak", "run-strong"]);
    run.code(0);
    assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
    assert!(
        run.stdout.contains("\\u{1b}[31mred\\nline"),
        "{}",
        run.stdout
    );
}

#[test]
fn compare_notes_a_calculator_run_against_a_plain_one() {
    let ws = two_runs();
    let root = ws.path().join("submission_runs");
    set_calculator(&root.join("run-strong"), true);
    add_tags(&root.join("run-strong"));
    add_tags(&root.join("run-weak"));
    let text = ws.run_read_only(&["compare", "run-weak", "run-strong"]);
    text.code(0)
        .stdout_has("note: B used the calculator, A did not: different measurements")
        .stdout_has("Wilson, calc (calculator-assisted decoding), 90 items")
        .stdout_has("Per tag, mean (correct/scored) in A → B, and B − A:\n  all ")
        .stdout_has("\n  even ");
    let json = ws.run_read_only(&["compare", "run-weak", "run-strong", "--format", "json"]);
    json.code(0);
    let v = json.json();
    assert_eq!(
        (v["a"]["calculator"].clone(), v["b"]["calculator"].clone()),
        (false.into(), true.into())
    );
    let note = v["notes"][0].as_str().expect("a note");
    assert!(
        note.starts_with("B used the calculator, A did not"),
        "{note}"
    );
    assert_eq!(v["tag_deltas"]["all"]["a"]["n_items"], 90);
    assert_eq!(v["tag_deltas"]["even"]["b"]["n_items"], 45);
    assert!(v["tag_deltas"]["all"]["delta_pp"].as_f64().expect("delta") > 0.0);
    let md = ws.run_read_only(&["compare", "run-strong", "run-weak", "--format", "md"]);
    md.code(0)
        .stdout_has("> [!NOTE]\n> A used the calculator, B did not: different measurements")
        .stdout_has("### Per tag");
    let plain = ws.run_read_only(&["compare", "run-weak", "run-weak", "--format", "json"]);
    plain.code(0);
    assert!(plain.json().get("notes").is_none(), "{}", plain.stdout);
}
