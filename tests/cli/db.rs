//! `tunix-rt db ...`: ingest, rebuild, query, export, the writer lock, and
//! crash safety.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tunix_rt::store::ingest::FAULT_INGEST_PAUSE_ENV;

use crate::support::{fake_run, wait_for, Workspace};

fn runs_root(ws: &Workspace) -> std::path::PathBuf {
    ws.path().join("submission_runs")
}

fn query(ws: &Workspace, sql: &str) -> Value {
    let run = ws.run(&["db", "query", "--format", "json", sql]);
    run.code(0);
    run.json()
}

#[test]
fn ingest_is_idempotent_and_notices_changes() {
    let ws = Workspace::new();
    for (id, skill) in [("run-a", 0.5), ("run-b", 0.7), ("run-c", 0.9)] {
        fake_run(&runs_root(&ws), id, 60, skill);
    }
    ws.run(&["db", "ingest"])
        .code(0)
        .stdout_has("new       run-a")
        .stdout_has("3 new, 0 updated, 0 unchanged, 0 removed, 0 skipped (180 item rows written)");
    ws.run(&["db", "ingest"])
        .code(0)
        .stdout_has("0 new, 0 updated, 3 unchanged");
    let count = query(&ws, "SELECT count(*) AS n FROM eval_items");
    assert_eq!(count[0]["n"], 180);

    std::fs::write(runs_root(&ws).join("run-b/run.log"), "edited\n").expect("edit");
    ws.run(&["db", "ingest"])
        .code(0)
        .stdout_has("updated   run-b (its files changed)")
        .stdout_has("0 new, 1 updated, 2 unchanged");
    std::fs::remove_dir_all(runs_root(&ws).join("run-c")).expect("remove");
    ws.run(&["db", "ingest"])
        .code(0)
        .stdout_has("removed   run-c (its folder is gone)");
    assert_eq!(
        query(&ws, "SELECT count(*) AS n FROM eval_items")[0]["n"],
        120
    );
}

#[test]
fn invalid_folders_are_reported_and_skipped() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "good", 30, 0.5);
    fake_run(&runs_root(&ws), "bad", 30, 0.5);
    let manifest = runs_root(&ws).join("bad/run_manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    std::fs::write(
        &manifest,
        text.replace("\"status\": \"completed\"", "\"status\": \"exploded\""),
    )
    .expect("write");
    ws.run(&["db", "ingest"])
        .code(2)
        .stdout_has("new       good")
        .stderr_has("skipped   submission_runs/bad: run_manifest.json: string `exploded` is not allowed here")
        .stderr_has("1 run folder(s) skipped");
    assert_eq!(
        query(&ws, "SELECT list(run_id) AS ids FROM runs")[0]["ids"],
        serde_json::json!(["good"])
    );
}

#[test]
fn rebuild_and_incremental_ingest_give_the_same_rows() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 40, 0.3);
    ws.run(&["db", "ingest"]).code(0);
    fake_run(&runs_root(&ws), "r2", 40, 0.6);
    fake_run(&runs_root(&ws), "r3", 40, 0.8);
    ws.run(&["db", "ingest"]).code(0);
    let snapshot = |ws: &Workspace| {
        [
            "SELECT * EXCLUDE (created_at, finished_at) FROM runs ORDER BY run_id",
            "SELECT * FROM eval_items ORDER BY run_id, item_id",
            "SELECT * FROM artifacts ORDER BY run_id, path",
            "SELECT * FROM category_scores ORDER BY run_id, category",
            "SELECT * FROM run_labels ORDER BY run_id, key",
        ]
        .map(|sql| query(ws, sql))
    };
    let incremental = snapshot(&ws);
    ws.run(&["db", "rebuild"]).code(0).stdout_has("3 new");
    assert_eq!(incremental, snapshot(&ws));
}

/// How long a test waits for a condition before calling it a hang (a
/// crash of the process it waits on fails at once: `watching`).
const DEADLINE: Duration = Duration::from_secs(300);

#[test]
fn a_second_writer_is_refused_with_the_holders_pid() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 10, 0.5);
    let db = ws.path().join("tunix.duckdb");
    let lock =
        tunix_rt::store::lock::WriteLock::acquire(&db, tunix_rt::store::Wait::No).expect("lock");
    ws.run(&["db", "ingest", "--no-wait"])
        .code(3)
        .stderr_has(&format!(
        "is in use by process {}; wait for it to finish, or run without --no-wait to wait for it",
        std::process::id()
    ));
    assert!(!db.exists(), "a refused writer must not create the index");

    // By default a writer announces that it waits (a warning, shown by
    // default), then blocks until the holder lets go.
    let mut waiting = ws
        .command(&["db", "ingest"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = waiting.stderr.take().expect("stderr");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let reader = {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().expect("lines").push(line);
            }
        })
    };
    let announced = format!("waiting for process {} to release", std::process::id());
    wait_for("--wait said it is waiting", DEADLINE)
        .watching(&mut waiting)
        .until(|| {
            lines
                .lock()
                .expect("lines")
                .iter()
                .any(|l| l.contains(&announced))
        });
    assert!(
        waiting.try_wait().expect("poll").is_none(),
        "--wait must wait for the holder"
    );
    assert!(
        !db.exists(),
        "a waiting writer must not touch the index yet"
    );
    drop(lock);
    assert!(waiting.wait().expect("wait").success());
    reader.join().expect("reader");
    assert_eq!(query(&ws, "SELECT count(*) AS n FROM runs")[0]["n"], 1);
}

#[test]
fn a_writer_killed_mid_ingest_leaves_the_previous_state() {
    let ws = Workspace::new();
    for i in 0..4 {
        fake_run(&runs_root(&ws), &format!("base-{i}"), 50, 0.5);
    }
    ws.run(&["db", "ingest"]).code(0);
    let state = |ws: &Workspace| {
        query(
            ws,
            "SELECT count(*) AS runs, (SELECT count(*) FROM eval_items) AS items FROM runs",
        )
    };
    let before = state(&ws);
    assert_eq!(before, serde_json::json!([{"runs": 4, "items": 200}]));
    for i in 0..40 {
        fake_run(&runs_root(&ws), &format!("more-{i:02}"), 100, 0.6);
    }

    // The fault hook stops the ingest after it wrote the 40 new runs inside
    // its transaction and before COMMIT; the marker says it got there.
    let marker = ws.path().join("paused-before-commit");
    let mut child = ws
        .command(&["db", "ingest"])
        .env(FAULT_INGEST_PAUSE_ENV, &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for("the ingest paused before commit", DEADLINE)
        .watching(&mut child)
        .until(|| marker.exists());
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        child.id().to_string()
    );

    // While it holds the index, other processes are refused with exit 3:
    // a writer by our lock, a reader by DuckDB's own file lock.
    ws.run(&["db", "ingest", "--no-wait"])
        .code(3)
        .stderr_has(&format!(
        "is in use by process {}; wait for it to finish, or run without --no-wait to wait for it",
        child.id()
    ));
    let out = ws
        .command(&["db", "query", "SELECT 1"])
        .env("TUNIX_RT_INDEX_WAIT_S", "0.3")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is in use by another process; waited 0 s"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    child.kill().expect("SIGKILL");
    assert!(!child.wait().expect("reap").success());
    assert_eq!(
        state(&ws),
        before,
        "a killed ingest must leave the previous consistent state"
    );
    ws.run(&["db", "ingest"]).code(0).stdout_has(
        "40 new, 0 updated, 4 unchanged, 0 removed, 0 skipped (4000 item rows written)",
    );
    assert_eq!(state(&ws), serde_json::json!([{"runs": 44, "items": 4200}]));
}

#[test]
fn query_is_read_only_and_formats() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 12, 0.5);
    ws.run(&["db", "ingest"]).code(0);
    ws.run(&["db", "query", "SELECT run_id, n_items FROM runs"])
        .code(0)
        .stdout_has("run_id  n_items\n------  -------\nr1      12\n(1 row)");
    ws.run(&[
        "db",
        "query",
        "--format",
        "csv",
        "SELECT run_id, n_items FROM runs",
    ])
    .code(0)
    .stdout_has("run_id,n_items\nr1,12\n");
    ws.run(&["db", "query", "DELETE FROM runs"])
        .code(2)
        .stderr_has("read-only");
    ws.run(&["db", "query", "SELEC nonsense"])
        .code(2)
        .stderr_has("query failed");
    assert_eq!(query(&ws, "SELECT count(*) AS n FROM runs")[0]["n"], 1);
}

#[test]
fn query_without_an_index_says_how_to_make_one() {
    Workspace::new()
        .run(&["db", "query", "SELECT 1"])
        .code(2)
        .stderr_has("run `tunix-rt db rebuild`");
}

#[test]
fn export_writes_parquet_readable_by_duckdb() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 9, 0.5);
    ws.run(&["db", "ingest"]).code(0);
    ws.run(&["db", "export", "--parquet", "export"])
        .code(0)
        .stdout_has("wrote export/eval_items.parquet");
    let path = ws.path().join("export/eval_items.parquet");
    let sql = format!(
        "SELECT count(*) AS n FROM read_parquet('{}')",
        path.display()
    );
    assert_eq!(query(&ws, &sql)[0]["n"], 9);
}

#[test]
fn paths_the_user_named_are_bad_input_and_nothing_is_written() {
    let ws = Workspace::new();
    ws.file("a-file", "not a folder\n");
    ws.run_read_only(&["db", "ingest", "--runs", "no-such-folder"])
        .code(2)
        .stderr_has("no-such-folder does not exist");
    ws.run_read_only(&["db", "ingest", "--runs", "a-file"])
        .code(2)
        .stderr_has("a-file is a file, not a folder");
    fake_run(&runs_root(&ws), "r1", 5, 0.5);
    ws.run(&["db", "ingest"]).code(0);
    ws.run_read_only(&["db", "export", "--parquet", "a-file"])
        .code(2)
        .stderr_has("cannot export into")
        .stderr_has("a-file: it is a file, not a folder");
}

#[test]
fn verbose_ingest_logs_the_store_decisions() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "good", 5, 0.5);
    fake_run(&runs_root(&ws), "bad", 5, 0.5);
    std::fs::write(runs_root(&ws).join("bad/eval_summary.json"), "{").expect("break");
    let quiet = ws.run(&["db", "ingest"]);
    quiet.code(2);
    assert!(
        !quiet.stderr.contains("INFO"),
        "no logs without -v:\n{}",
        quiet.stderr
    );
    std::fs::remove_file(ws.path().join("tunix.duckdb")).expect("drop the index");
    let _ = std::fs::remove_file(ws.path().join("tunix.duckdb.wal"));
    ws.run(&["-v", "db", "ingest"])
        .code(2)
        .stderr_has("took the write lock")
        .stderr_has("created the index")
        .stderr_has("skipped submission_runs/bad: eval_summary.json: invalid JSON")
        .stderr_has("ingest committed: 1 new, 0 updated, 0 unchanged, 0 removed, 1 skipped");
    ws.run(&["-v", "db", "ingest"])
        .code(2)
        .stderr_has("opened the index")
        .stderr_has("ingest committed: 0 new, 0 updated, 1 unchanged");
    ws.run(&["-v", "db", "query", "SELECT 1"])
        .code(0)
        .stderr_has("read-only");
}

#[test]
fn eval_records_its_run_in_the_index() {
    let ws = Workspace::new();
    let text = std::fs::read_to_string(ws.path().join("evalsets/eval_v2.jsonl")).expect("read");
    let preds: String = text
        .lines()
        .map(|l| {
            let item: Value = serde_json::from_str(l).expect("json");
            format!("{}\n", serde_json::json!({"id": item["id"], "output": format!("Answer: {}", item["expected_answer"].as_str().expect("s"))}))
        })
        .collect();
    ws.file("p.jsonl", preds);
    ws.run(&[
        "eval",
        "--evalset",
        "evalsets/eval_v2.jsonl",
        "--predictions",
        "p.jsonl",
    ])
    .code(0);
    let v = query(&ws, "SELECT run_id, primary_score, n_items FROM runs");
    assert_eq!(
        v,
        serde_json::json!([{"run_id": "eval-p", "primary_score": 1.0, "n_items": 120}])
    );
}

#[test]
fn the_index_opens_in_the_official_duckdb_client() {
    let Some(python) = std::env::var_os("TUNIX_TEST_PYTHON") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI sets TUNIX_TEST_PYTHON (make unit)"
        );
        eprintln!(
            "skipped: set TUNIX_TEST_PYTHON to a python with the duckdb package (make unit does)"
        );
        return;
    };
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 25, 0.5);
    ws.run(&["db", "ingest"]).code(0);
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg("import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); print(con.execute('SELECT count(*) FROM eval_items').fetchone()[0], con.execute('SELECT run_id FROM runs').fetchone()[0], con.execute('SELECT count(*) FROM metric_values').fetchone()[0])")
        .arg(ws.path().join("tunix.duckdb"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "25 r1 0");
}

#[test]
fn a_hand_edited_blake3_is_refused_by_the_schema() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "good", 10, 0.5);
    fake_run(&runs_root(&ws), "bad", 10, 0.5);
    let manifest = runs_root(&ws).join("bad/run_manifest.json");
    let text = std::fs::read_to_string(&manifest).expect("read");
    let hash = "0".repeat(64);
    assert!(text.contains(&hash), "{text}");
    std::fs::write(&manifest, text.replacen(&hash, &"é".repeat(64), 1)).expect("write");
    ws.run(&["db", "ingest"])
        .code(2)
        .stdout_has("new       good")
        .stderr_has("skipped   submission_runs/bad: run_manifest.json: string `éééé")
        .stderr_has("does not match the pattern ^[0-9a-f]{64}$");
    ws.run(&["report", "leaderboard"]).code(0);
}

#[test]
fn a_large_ingest_prints_progress_lines_when_stderr_is_not_a_terminal() {
    let ws = Workspace::new();
    for i in 0..260 {
        fake_run(&runs_root(&ws), &format!("r{i:03}"), 1, 0.5);
    }
    let run = ws.run(&["db", "ingest"]);
    run.code(0)
        .stdout_has("260 new, 0 updated, 0 unchanged")
        .stderr_has("ingesting 260 run folders\n")
        .stderr_has("ingested 26/260 run folders\n")
        .stderr_has("ingested 130/260 run folders\n")
        .stderr_has("ingested 260/260 run folders\n");
    assert_eq!(
        run.stderr.matches("ingested ").count(),
        10,
        "a line every tenth:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\r') && !run.stderr.contains('\u{1b}'),
        "no terminal control characters:\n{:?}",
        run.stderr
    );
    ws.run(&["db", "rebuild"])
        .code(0)
        .stderr_has("ingested 260/260 run folders\n");

    let small = Workspace::new();
    fake_run(&runs_root(&small), "r1", 1, 0.5);
    let quiet = small.run(&["db", "ingest"]);
    quiet.code(0);
    assert!(
        !quiet.stderr.contains("ingest"),
        "no progress for a few folders:\n{}",
        quiet.stderr
    );
}

/// A `db ingest` paused before its commit (holding the write lock and
/// DuckDB's file lock until it is killed), over `n` new fake runs.
fn paused_ingest(ws: &Workspace, n: usize) -> Child {
    for i in 0..n {
        fake_run(&runs_root(ws), &format!("late-{i}"), 20, 0.5);
    }
    let marker = ws.path().join("paused");
    let mut child = ws
        .command(&["db", "ingest"])
        .env(FAULT_INGEST_PAUSE_ENV, &marker)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    wait_for("the ingest paused", DEADLINE)
        .watching(&mut child)
        .until(|| marker.exists());
    child
}

#[test]
fn a_reader_waits_for_a_writer_instead_of_failing() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 20, 0.5);
    ws.run(&["db", "ingest"]).code(0);
    let mut writer = paused_ingest(&ws, 2);
    let mut reader = ws
        .command(&["report", "leaderboard", "--format", "md"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = reader.stderr.take().expect("stderr");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let collect = {
        let lines = Arc::clone(&lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().expect("lines").push(line);
            }
        })
    };
    wait_for("the reader said it waits", DEADLINE)
        .watching(&mut reader)
        .until(|| {
            lines
                .lock()
                .expect("lines")
                .iter()
                .any(|l| l.contains("is in use by another process; waiting up to"))
        });
    writer.kill().expect("SIGKILL");
    writer.wait().expect("reap");
    let out = reader.wait_with_output().expect("reader ends");
    collect.join().expect("stderr");
    assert!(out.status.success(), "{:?}", lines.lock().expect("lines"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("r1"));
}

#[test]
fn a_finished_job_whose_index_stays_busy_succeeds_and_is_indexed_later() {
    let ws = Workspace::new();
    fake_run(&runs_root(&ws), "r1", 20, 0.5);
    ws.run(&["db", "ingest"]).code(0);
    ws.file("preds/p.jsonl", crate::support::predictions(&ws, 3));
    let mut writer = paused_ingest(&ws, 1);
    let out = ws
        .command(&[
            "eval",
            "--evalset",
            "evalsets/eval_v2.jsonl",
            "--predictions",
            "preds/p.jsonl",
            "--out",
            "submission_runs/busy",
        ])
        .env("TUNIX_RT_INDEX_WAIT_S", "0.5")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("indexed later: run `tunix-rt db ingest`"),
        "{stderr}"
    );
    assert!(runs_root(&ws).join("busy/eval_summary.json").exists());
    writer.kill().expect("SIGKILL");
    writer.wait().expect("reap");
    ws.run(&["db", "ingest"]).code(0);
    assert_eq!(
        query(&ws, "SELECT count(*) AS n FROM runs WHERE run_id = 'busy'")[0]["n"],
        1
    );
}
