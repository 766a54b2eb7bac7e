//! `tunix-rt evalset validate`.

use crate::support::{repo, Workspace};

#[test]
fn eval_v2_meets_the_size_and_category_constraints() {
    let ws = Workspace::new();
    let run = ws.run_read_only(&[
        "evalset",
        "validate",
        "--format",
        "json",
        "evalsets/eval_v2.jsonl",
    ]);
    run.code(0);
    let v = run.json();
    let stats = &v["stats"];
    let items = stats["items"].as_u64().expect("items");
    assert!((75..=150).contains(&items), "{items} items");
    for cat in ["core", "trace", "edge"] {
        assert!(
            stats["categories"][cat].as_u64().expect("count") >= 10,
            "too few {cat}"
        );
    }
    let expected =
        blake3::hash(&std::fs::read(repo().join("evalsets/eval_v2.jsonl")).expect("read"));
    assert_eq!(stats["blake3"], expected.to_hex().as_str());
}

#[test]
fn text_output_shows_the_stats() {
    Workspace::new()
        .run_read_only(&["evalset", "validate", "evalsets/eval_v2.jsonl"])
        .code(0)
        .stdout_has("evalsets/eval_v2.jsonl: ok")
        .stdout_has("categories   core 50, edge 30, trace 40")
        .stdout_has("blake3");
}

#[test]
fn every_bad_line_is_reported_with_its_number() {
    let ws = Workspace::new();
    let good = std::fs::read_to_string(ws.path().join("evalsets/eval_v2.jsonl")).expect("read");
    let first = good.lines().next().expect("line").to_string();
    let mut text = good.clone();
    text.push_str(&first);
    text.push('\n');
    text.push_str("{\"id\": \"z-1\", \"category\": \"misc\", \"prompt\": \"q\", \"expected_answer\": \"1\"}\n");
    text.push_str(
        "{\"id\": \"z-2\", \"category\": \"core\", \"prompt\": \"\", \"expected_answer\": \"1\"}\n",
    );
    text.push_str("{\"id\": \"z-3\", \"category\": \"core\"");
    ws.file("evalsets/bad.jsonl", &text);
    let n = good.lines().count();
    ws.run_read_only(&["evalset", "validate", "evalsets/bad.jsonl"])
        .code(2)
        .stderr_has(&format!(
            "evalsets/bad.jsonl:{}:1: error: duplicate id `core-001` (first on line 1)",
            n + 1
        ))
        .stderr_has(&format!(
            "evalsets/bad.jsonl:{}:1: error: string `misc` is not allowed here",
            n + 2
        ))
        .stderr_has(&format!(
            "evalsets/bad.jsonl:{}:1: error: must not be empty (at /prompt)",
            n + 3
        ))
        .stderr_has(&format!("evalsets/bad.jsonl:{}:", n + 4))
        .stderr_has("truncated last line")
        .stderr_has("error: evalsets/bad.jsonl: 4 problem(s)");
}

#[test]
fn invalid_utf8_is_located() {
    let ws = Workspace::new();
    ws.file("evalsets/bad.jsonl", b"{\"id\": \"a\", \"category\": \"core\", \"prompt\": \"caf\xe9\", \"expected_answer\": \"1\"}\n");
    ws.run_read_only(&["evalset", "validate", "evalsets/bad.jsonl"])
        .code(2)
        .stderr_has("evalsets/bad.jsonl:1:47: error: line is not valid UTF-8 (byte 0xE9)");
}

#[test]
fn missing_file() {
    Workspace::new()
        .run_read_only(&["evalset", "validate", "evalsets/none.jsonl"])
        .code(2)
        .stderr_has("cannot read the file");
}
