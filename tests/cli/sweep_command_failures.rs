//! Sweeps of command trainers whose trials fail: failures by class with
//! retries and log tails, timeouts that kill the whole process group, a
//! trainer that ignores its stop, and predictions written past the step a
//! trial or run was stopped at.

use std::time::{Duration, Instant};

use tunix_testkit::manifest::{MaxRetries, Mode};

use crate::command_trainer::command_manifest;
use crate::support::{poll_until, Workspace};
use crate::sweep_command::{ledger, sweep, trial_dir};

/// No retries after a timeout.
fn no_timeout_retries() -> MaxRetries {
    MaxRetries {
        timeout: 0,
        ..MaxRetries::default()
    }
}

#[test]
fn a_crashing_trial_is_retried_once_then_summarized_with_its_log_tail() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("crashy", "crash.py", &[], 4, false)
            .num_samples(1)
            .metric("val_loss")
            .to_yaml(),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(3)
        .stderr_has("t000 failed (crash), retry 1")
        .stdout_has("failures     1 trial(s) failed; 1 failure(s) were retried")
        .stdout_has("t000 crash: `python3` exited (exit status: 3) before finishing")
        .stdout_has("| ")
        .stdout_has("shard 7 is corrupt");
    let l = ledger(&ws, "crashy");
    assert_eq!(l["trials"][0]["state"], "failed");
    assert_eq!(l["trials"][0]["retried"].as_array().map(Vec::len), Some(1));
    let log =
        std::fs::read_to_string(trial_dir(&ws, "crashy", "t000").join("run.log")).expect("log");
    assert_eq!(
        log.matches("command: python3").count(),
        2,
        "ran twice: {log}"
    );
}

/// Whether process `pid` is gone (or a zombie).
fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_hanging_trial_is_killed_at_its_timeout_with_everything_it_started() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("hangs", "hang.py", &[], 4, false)
            .num_samples(1)
            .metric("val_loss")
            .trial_timeout_s(2)
            .max_retries(no_timeout_retries())
            .to_yaml(),
    );
    let started = Instant::now();
    ws.run(&["run", "manifests/sweep.yaml"])
        .code(3)
        .stdout_has("t000 timeout: the trainer ran past its timeout of 2s");
    assert!(started.elapsed() < Duration::from_secs(30));
    let l = ledger(&ws, "hangs");
    assert_eq!(l["trials"][0]["failure"]["class"], "timeout");
    let log =
        std::fs::read_to_string(trial_dir(&ws, "hangs", "t000").join("run.log")).expect("log");
    let pid = log
        .lines()
        .find_map(|l| l.split("child pid ").nth(1))
        .expect("the child's pid is logged")
        .trim()
        .to_string();
    poll_until(Duration::from_secs(5), || gone(&pid));
    assert!(
        gone(&pid),
        "the hanging trainer's child {pid} outlived the timeout"
    );
}

#[test]
fn a_timed_out_trial_leaves_no_process_behind_not_even_a_setsid_grandchild() {
    let ws = Workspace::new();
    let pids_file = ws.path().join("tree.pids");
    ws.file(
        "manifests/sweep.yaml",
        sweep("tree", "tree.py", &[], 4, false)
            .inline_base(|base| base.env("TREE_PIDS", &pids_file.display().to_string()))
            .num_samples(1)
            .metric("val_loss")
            .trial_timeout_s(4)
            .max_retries(no_timeout_retries())
            .to_yaml(),
    );
    let run = ws
        .command(&["run", "manifests/sweep.yaml"])
        .env("TUNIX_RT_STOP_GRACE_S", "1")
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("t000 timeout: the trainer ran past its timeout of 4s"),
        "{stdout}"
    );
    let text = std::fs::read_to_string(&pids_file).expect("the trainer wrote its pids");
    let pids: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(pids.len(), 3, "{text}");
    poll_until(Duration::from_secs(10), || pids.iter().all(|p| gone(p)));
    let alive: Vec<&&str> = pids.iter().filter(|p| !gone(p)).collect();
    for p in &alive {
        if let Ok(pid) = p.parse::<i32>() {
            // SAFETY: kill(2) on a process this test's trainer started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    assert!(
        alive.is_empty(),
        "processes of the timed-out trainer (trainer, child, grandchild: {pids:?}) outlived it: {alive:?}"
    );
}

#[test]
fn a_trainer_that_ignores_its_stop_is_killed_and_the_sweep_goes_on() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("stubborn", "ignore_stop.py", &[], 6, false)
            .num_samples(2)
            .metric("val_loss")
            .mode(Mode::Min)
            .asha(2, 2)
            .to_yaml(),
    );
    let run = ws
        .command(&["run", "manifests/sweep.yaml"])
        .env("TUNIX_RT_STOP_GRACE_S", "0.3")
        .output()
        .expect("run");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let l = ledger(&ws, "stubborn");
    assert_eq!(
        l["trials"][0]["state"], "completed",
        "ties go to the smaller trial id"
    );
    assert_eq!(l["trials"][1]["state"], "stopped");
    assert_eq!(l["trials"][1]["stopped_at"]["rung"], 2);
    let log =
        std::fs::read_to_string(trial_dir(&ws, "stubborn", "t001").join("run.log")).expect("log");
    assert!(log.contains("sent SIGTERM"), "{log}");
    assert!(log.contains("ignored SIGTERM; sent SIGKILL"), "{log}");
    assert!(log.contains("ignored metric lines past step 2"), "{log}");
    // It writes no checkpoints: the finalist trained again from step 0,
    // which the ledger records and the summary says once.
    assert_eq!(
        l["trials"][0]["retrained_from_start"],
        serde_json::json!([4, 6])
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        stdout
            .matches("note         2 continuation(s) found no checkpoint and trained again from step 0: t000 (to steps 4, 6); 6 step(s) were trained twice.")
            .count(),
        1,
        "{stdout}"
    );
}

#[test]
fn predictions_written_past_the_rung_fail_the_trial_as_ignored_stop() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep(
            "overrun",
            "ignore_stop.py",
            &["--sleep", "0", "--predict"],
            6,
            true,
        )
        .num_samples(2)
        .metric("primary_score")
        .mode(Mode::Max)
        .asha(2, 2)
        .to_yaml(),
    );
    ws.run(&["run", "manifests/sweep.yaml"])
        .code(3)
        .stdout_has("failed:ignored_stop")
        .stdout_has("t000 ignored_stop: the command kept training past step 2, where it was asked to stop ($TUNIX_UNTIL_STEP)")
        .stdout_has("failures     2 trial(s) failed; 0 failure(s) were retried");
    let l = ledger(&ws, "overrun");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "failed", "{l}");
        assert_eq!(t["failure"]["class"], "ignored_stop", "{l}");
        assert!(t.get("retried").is_none(), "not retried: {l}");
        let id = t["trial_id"].as_str().expect("id");
        assert!(
            !trial_dir(&ws, "overrun", id)
                .join("eval_summary.json")
                .exists(),
            "the predictions of step 6 were scored as step 2's"
        );
    }
    let report = ws
        .run(&["report", "sweep", "overrun", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(report["failures"][0]["class"], "ignored_stop", "{report}");
}

#[test]
fn a_train_run_stopped_early_whose_predictions_come_from_past_its_step_fails() {
    let ws = Workspace::new();
    ws.file(
        "manifests/overrun.yaml",
        command_manifest(
            "overrun",
            "ignore_stop.py",
            &["--sleep", "0", "--predict"],
            6,
            true,
        )
        .to_yaml(),
    );
    ws.run(&["run", "manifests/overrun.yaml", "--until-step", "2"])
        .code(2)
        .stderr_has("the command kept training past step 2")
        .stderr_has("write that step's predictions");
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ws.path().join("submission_runs/overrun/run_manifest.json"))
            .expect("run manifest"),
    )
    .expect("json");
    assert_eq!(m["failure"]["class"], "ignored_stop", "{m}");
    // Run to its end, the same program is fine.
    ws.run(&["run", "manifests/overrun.yaml"])
        .code(0)
        .stdout_has("primary");
}
