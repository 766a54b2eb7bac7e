//! A coordinator that is interrupted (SIGINT, SIGTERM) or killed
//! (SIGKILL): nothing its trainer started outlives it, not even a process
//! that moved to a session of its own; an interrupted run is recorded as
//! `interrupted` with the step it reached, exits 130 or 143, says how to
//! resume, and resumes when run again (tests/fixtures/command_trainers).

use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use tunix_testkit::manifest::TrainManifestBuilder;

use crate::command_trainer::{command_manifest, python};
use crate::support::{poll_until, wait_for, Workspace};

/// Start `tunix-rt ARGS` in `ws` without waiting for it; trainers get a
/// short stop grace.
fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    ws.command(args)
        .env("TUNIX_RT_STOP_GRACE_S", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tunix-rt")
}

/// The coordinator's output once it exits, within `within` (else it is
/// killed and the test fails).
fn wait_exit(child: &mut Child, within: Duration) -> Output {
    if !poll_until(within, || child.try_wait().expect("poll").is_some()) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("tunix-rt did not exit within {within:?}");
    }
    let mut out = Output {
        status: child.wait().expect("wait"),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read;
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out.stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut out.stderr);
    }
    out
}

fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

/// Whether process `pid` is gone (or a zombie nobody reaped yet).
fn gone(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
}

/// The parent of process `pid`.
fn parent_of(pid: &str) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(1).map(str::to_string)
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json")
}

/// Lines in a file (0 when it does not exist).
fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |t| t.lines().count())
}

/// Run tree.py (trainer → child → grandchild in its own session), send
/// the coordinator `sig` once all run; nothing may survive. Returns the
/// coordinator's output.
fn kill_coordinator_of_a_tree(sig: i32) -> Output {
    let ws = Workspace::new();
    let pids_file = ws.path().join("tree.pids");
    ws.file(
        "manifests/tree.yaml",
        TrainManifestBuilder::new("tree")
            .command(python("tree.py", &[]))
            .env("TREE_PIDS", &pids_file.display().to_string())
            .learning_rate(0.005)
            .per_device_batch_size(1)
            .max_steps(10)
            .to_yaml(),
    );
    let mut child = spawn(&ws, &["run", "manifests/tree.yaml"]);
    wait_for("the trainer's pids", Duration::from_secs(60))
        .watching(&mut child)
        .until(|| pids_file.exists());
    let text = std::fs::read_to_string(&pids_file).expect("pids");
    let mut pids: Vec<String> = text.split_whitespace().map(str::to_string).collect();
    assert_eq!(pids.len(), 3, "{text}");
    // The shim: the trainer's parent.
    pids.extend(parent_of(&pids[0]));
    signal(&child, sig);
    let out = wait_exit(&mut child, Duration::from_secs(60));
    poll_until(Duration::from_secs(20), || pids.iter().all(|p| gone(p)));
    let alive: Vec<&String> = pids.iter().filter(|p| !gone(p)).collect();
    for p in &alive {
        // Do not leave them running past the test.
        if let Ok(pid) = p.parse::<i32>() {
            // SAFETY: kill(2) on a process this test's trainer started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    assert!(
        alive.is_empty(),
        "processes of the trainer (trainer, child, grandchild, shim: {pids:?}) outlived the coordinator: {alive:?}; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn sigkill_of_the_coordinator_leaves_no_trainer_process_behind() {
    kill_coordinator_of_a_tree(libc::SIGKILL);
}

#[test]
fn sigterm_of_the_coordinator_leaves_no_trainer_process_behind() {
    let out = kill_coordinator_of_a_tree(libc::SIGTERM);
    assert_eq!(out.status.code(), Some(143));
}

#[test]
fn sigint_of_the_coordinator_leaves_no_trainer_process_behind() {
    let out = kill_coordinator_of_a_tree(libc::SIGINT);
    assert_eq!(out.status.code(), Some(130));
}

/// Interrupt a slow toy run with `sig` after a few steps: exit `code`,
/// the run recorded as interrupted where it stopped, the message says how
/// to resume; running it again resumes and completes it.
fn interrupt_and_resume(sig: i32, name: &str, code: i32) {
    let ws = Workspace::new();
    let slow = [
        "--lr",
        "{{ learning_rate }}",
        "--every",
        "2",
        "--sleep",
        "0.2",
    ];
    ws.file(
        "manifests/toy.yaml",
        command_manifest("toy", "toy.py", &slow, 30, false).to_yaml(),
    );
    let run = ws.path().join("submission_runs/toy");
    let mut child = spawn(&ws, &["run", "manifests/toy.yaml"]);
    wait_for("five steps", Duration::from_secs(60))
        .watching(&mut child)
        .until(|| lines(&run.join("metrics.jsonl")) >= 5);
    signal(&child, sig);
    let out = wait_exit(&mut child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    let m = read_json(&run.join("run_manifest.json"));
    assert_eq!(m["status"], "interrupted", "{m}");
    let stopped = &m["interruption"];
    assert_eq!(stopped["signal"], name, "{m}");
    let step = stopped["step"].as_u64().expect("step");
    assert!((5..30).contains(&step), "{m}");
    assert_eq!(step as usize, lines(&run.join("metrics.jsonl")), "{m}");
    let resume = stopped["resume_step"].as_u64().expect("a checkpoint");
    assert!(resume <= step && step - resume <= 2, "{m}");
    for text in [
        format!("interrupted by {name} at step {step} of 30"),
        format!(
            "to resume from its checkpoint at step {resume}, run: tunix-rt run manifests/toy.yaml"
        ),
    ] {
        assert!(stderr.contains(&text), "stderr lacks {text:?}:\n{stderr}");
    }
    let log = std::fs::read_to_string(run.join("run.log")).expect("log");
    assert!(log.contains(&format!("interrupted by {name}")), "{log}");
    // The index takes the interrupted run as it is.
    ws.run(&["db", "ingest"]).code(0);
    let q = ws.run(&[
        "db",
        "query",
        "SELECT status FROM runs WHERE run_id = 'toy'",
        "--format",
        "json",
    ]);
    assert!(q.code == 0 && q.stdout.contains("interrupted"), "{q:?}");

    ws.run(&["run", "manifests/toy.yaml", "--no-index"])
        .code(0)
        .stderr_has(&format!(
            "resuming the interrupted run submission_runs/toy from its checkpoint at step {resume}"
        ));
    let m = read_json(&run.join("run_manifest.json"));
    assert_eq!(m["status"], "completed", "{m}");
    assert!(m.get("interruption").is_none(), "{m}");
    assert_eq!(lines(&run.join("metrics.jsonl")), 30);
}

#[test]
fn ctrl_c_stops_a_run_as_interrupted_with_exit_130_and_it_resumes() {
    interrupt_and_resume(libc::SIGINT, "SIGINT", 130);
}

#[test]
fn sigterm_stops_a_run_as_interrupted_with_exit_143_and_it_resumes() {
    interrupt_and_resume(libc::SIGTERM, "SIGTERM", 143);
}

#[test]
fn ctrl_c_leaves_a_local_sweep_resumable_with_no_trial_failed() {
    use crate::sweep_command::{ledger, sweep, trial_dir};
    let ws = Workspace::new();
    let slow = [
        "--lr",
        "{{ learning_rate }}",
        "--every",
        "2",
        "--sleep",
        "0.2",
    ];
    ws.file(
        "manifests/sweep.yaml",
        sweep("halt", "toy.py", &slow, 12, false)
            .num_samples(2)
            .metric("val_loss")
            .max_concurrent_trials(2)
            .to_yaml(),
    );
    let trials = [
        trial_dir(&ws, "halt", "t000"),
        trial_dir(&ws, "halt", "t001"),
    ];
    let mut child = spawn(&ws, &["run", "manifests/sweep.yaml", "--no-index"]);
    wait_for("both trials to train", Duration::from_secs(60))
        .watching(&mut child)
        .until(|| trials.iter().all(|t| lines(&t.join("metrics.jsonl")) >= 2));
    signal(&child, libc::SIGINT);
    let out = wait_exit(&mut child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted by SIGINT"), "{stderr}");
    let l = ledger(&ws, "halt");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "running", "{l}");
    }
    for t in &trials {
        assert_eq!(
            read_json(&t.join("run_manifest.json"))["status"],
            "interrupted"
        );
    }
    ws.run(&["run", "manifests/sweep.yaml", "--no-index"])
        .code(0);
    let l = ledger(&ws, "halt");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "completed", "{l}");
    }
}
