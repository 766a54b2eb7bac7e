//! A reader that closes stdout early (`tunix-rt ... | head -1`) ends every
//! command normally: exit 0, no panic, no message.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::{fake_run, predictions, Workspace};

/// How a command ended whose stdout was closed by its reader: after
/// `lines_read` lines (0: before it wrote anything).
fn with_closed_stdout(mut cmd: Command, lines_read: usize) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut reader = BufReader::new(stdout);
    for _ in 0..lines_read {
        let mut line = String::new();
        reader.read_line(&mut line).expect("read a line");
        assert!(
            !line.is_empty(),
            "the command printed fewer lines than read"
        );
    }
    drop(reader);
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A workspace with an index of a few runs.
fn indexed() -> Workspace {
    let ws = Workspace::new();
    for (i, skill) in [0.2, 0.5, 0.8].iter().enumerate() {
        fake_run(
            &ws.path().join("submission_runs"),
            &format!("run-{i}"),
            40,
            *skill,
        );
    }
    ws.run(&["db", "ingest"]).code(0);
    ws
}

fn assert_clean_end(args: &[&str], (code, stderr): (Option<i32>, String)) {
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    assert!(
        !stderr.contains("Broken pipe"),
        "{args:?} complained: {stderr}"
    );
    assert_eq!(code, Some(0), "{args:?}: {stderr}");
    assert_eq!(stderr, "", "{args:?} printed on stderr");
}

#[test]
fn long_output_into_a_reader_that_stops_after_one_line_ends_with_exit_0() {
    let ws = indexed();
    let commands: [&[&str]; 4] = [
        &["db", "query", "SELECT * FROM range(200000)"],
        &["db", "query", "--format", "csv", "SELECT * FROM eval_items"],
        &["report", "leaderboard", "--format", "md"],
        &["completions", "bash"],
    ];
    for args in commands {
        assert_clean_end(args, with_closed_stdout(ws.command(args), 1));
    }
}

#[test]
fn a_stdout_closed_before_the_first_line_ends_with_exit_0() {
    let ws = indexed();
    ws.file("preds/model-x.jsonl", predictions(&ws, 4));
    let commands: [&[&str]; 5] = [
        &[
            "eval",
            "--evalset",
            "evalsets/eval_v2.jsonl",
            "--predictions",
            "preds/model-x.jsonl",
        ],
        &["evalset", "validate", "evalsets/eval_v2.jsonl"],
        &["db", "query", "SELECT 1"],
        &["report", "leaderboard", "--format", "json"],
        &["compare", "run-0", "run-2"],
    ];
    for args in commands {
        assert_clean_end(args, with_closed_stdout(ws.command(args), 0));
    }
    assert!(
        ws.path()
            .join("submission_runs/eval-model-x/eval_summary.json")
            .is_file(),
        "the run was recorded before its summary was printed"
    );
}
