//! Train manifests with `executor: slurm` run as one job on the test
//! cluster: run again (or after its coordinator was killed) it attaches to
//! its job instead of submitting again, and SIGTERM while following it
//! cancels the job.

use std::io::{BufRead, BufReader};
use std::process::Command;
use std::time::Duration;

use super::{
    cluster_train, metric_lines, require_cluster, run, show_job, signal, slow_toy, spawn,
    test_slurm, CLUSTER_POLL, CLUSTER_WAIT,
};
use crate::support::{wait_for, Workspace};

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn a_train_manifest_runs_as_one_slurm_job() {
    require_cluster();
    let ws = cluster_train();
    run(&ws, &["run", "manifests/toy.yaml"])
        .code(0)
        .stdout_has("run          submission_runs/toy")
        .stdout_has("primary      ");
    let control = ws.path().join("submission_runs/toy/.job");
    let job: serde_json::Value =
        serde_json::from_slice(&std::fs::read(control.join("slurm.json")).expect("job"))
            .expect("json");
    let id = job["job_id"].as_str().expect("id");
    assert!(
        show_job(id).contains("JobState=COMPLETED"),
        "{}",
        show_job(id)
    );
    ws.run(&["report", "leaderboard", "--all", "--format", "md"])
        .code(0)
        .stdout_has("toy");
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn running_a_train_manifest_again_attaches_to_its_queued_job() {
    require_cluster();
    let ws = cluster_train();
    let out = run(
        &ws,
        &["run", "manifests/toy.yaml", "--detach", "--format", "json"],
    );
    out.code(0);
    let detached: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let id = detached["slurm_job"].as_str().expect("job id").to_string();
    assert_eq!(detached["attached"], false);
    // Held, the job stays queued until the second `run` has attached.
    let held = Command::new("scontrol")
        .args(["hold", &id])
        .status()
        .expect("scontrol hold");
    assert!(held.success());
    let mut child = spawn(&ws, &["run", "manifests/toy.yaml"]);
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let attached = format!("run: attached to Slurm job {id}");
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        let found = line.contains(&attached);
        seen.push(line);
        if found {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains(&attached)),
        "{}",
        seen.join("\n")
    );
    let released = Command::new("scontrol")
        .args(["release", &id])
        .status()
        .expect("scontrol release");
    assert!(released.success());
    let rest: Vec<String> = lines.map_while(std::result::Result::ok).collect();
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        rest.join("\n")
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("run          submission_runs/toy\n"),
        "{stdout}"
    );
    assert!(stdout.contains("primary      "), "{stdout}");
    assert!(
        show_job(&id).contains("JobState=COMPLETED"),
        "{}",
        show_job(&id)
    );
    // One job, one run folder: nothing was submitted a second time.
    assert!(!ws.path().join("submission_runs/toy-2").exists());
    ws.run(&["report", "leaderboard", "--all", "--format", "json"])
        .code(0)
        .stdout_has("\"run_id\": \"toy\"");
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn a_killed_train_coordinator_reattaches_instead_of_submitting_again() {
    require_cluster();
    let ws = Workspace::new();
    let manifest =
        crate::command_trainer::command_manifest("toy", "toy.py", &slow_toy("0.5", &[]), 8, true)
            .slurm(test_slurm(ws.path()))
            .to_yaml();
    ws.file("manifests/toy.yaml", &manifest);
    let run_dir = ws.path().join("submission_runs/toy");
    let mut child = spawn(&ws, &["run", "manifests/toy.yaml"]);
    wait_for("the job to train", CLUSTER_WAIT)
        .every(CLUSTER_POLL)
        .until(|| metric_lines(&run_dir) >= 2);
    signal(&child, libc::SIGKILL);
    let _ = child.wait();
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run_dir.join(".job/slurm.json")).expect("the job record"),
    )
    .expect("json");
    let id = record["job_id"].as_str().expect("job id").to_string();
    let out = run(&ws, &["run", "manifests/toy.yaml"]);
    out.code(0)
        .stderr_has(&format!("attached to Slurm job {id}"))
        .stdout_has("run          submission_runs/toy\n")
        .stdout_has("primary      ");
    assert!(
        show_job(&id).contains("JobState=COMPLETED"),
        "{}",
        show_job(&id)
    );
    // One job, one run folder: nothing was submitted a second time, and
    // the record still names the first job.
    assert!(!ws.path().join("submission_runs/toy-2").exists());
    let after: serde_json::Value = serde_json::from_slice(
        &std::fs::read(run_dir.join(".job/slurm.json")).expect("the job record"),
    )
    .expect("json");
    assert_eq!(after, record, "the job record is unchanged");
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn sigterm_while_following_a_train_job_cancels_it_and_exits_143() {
    require_cluster();
    // Slow steps: should the job start before the hold lands, it is still
    // running (for about a minute) when the coordinator is signalled.
    let ws = Workspace::new();
    let manifest =
        crate::command_trainer::command_manifest("toy", "toy.py", &slow_toy("10", &[]), 6, true)
            .slurm(test_slurm(ws.path()))
            .to_yaml();
    ws.file("manifests/toy.yaml", &manifest);
    let out = run(
        &ws,
        &["run", "manifests/toy.yaml", "--detach", "--format", "json"],
    );
    out.code(0);
    let detached: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let id = detached["slurm_job"].as_str().expect("job id").to_string();
    // Held, the job stays queued while the coordinator follows it.
    let held = Command::new("scontrol")
        .args(["hold", &id])
        .status()
        .expect("scontrol hold");
    assert!(held.success());
    let mut child = spawn(&ws, &["run", "manifests/toy.yaml"]);
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = BufReader::new(stderr).lines();
    let attached = format!("run: attached to Slurm job {id}");
    let seen: Vec<String> = lines
        .by_ref()
        .map_while(std::result::Result::ok)
        .take_while(|l| !l.contains(&attached))
        .collect();
    // The coordinator catches signals once it follows the job.
    std::thread::sleep(Duration::from_secs(1));
    signal(&child, libc::SIGTERM);
    let rest: Vec<String> = lines.map_while(std::result::Result::ok).collect();
    let out = child.wait_with_output().expect("wait");
    let stderr = format!("{}\n{}", seen.join("\n"), rest.join("\n"));
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(
        stderr.contains(&format!("interrupted by SIGTERM: cancelled Slurm job {id}")),
        "{stderr}"
    );
    wait_for("the job to be cancelled", CLUSTER_WAIT)
        .every(CLUSTER_POLL)
        .until(|| show_job(&id).contains("JobState=CANCELLED"));
}
