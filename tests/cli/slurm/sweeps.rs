//! Sweeps with `executor: slurm` on the test cluster: ASHA matches the
//! local executor and is indexed, a built-in model sweep, failing and
//! requeued array elements, Ctrl-C, a killed coordinator reattaching,
//! detach/status/attach, and hostile paths and values reaching the worker
//! as data.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tunix_testkit::manifest::{grid, Mode, SweepManifestBuilder};

use super::{
    cluster_sweep, job_ids, metric_lines, promoted, require_cluster, run, show_job, signal,
    slow_toy, spawn, test_slurm, CLUSTER_POLL, CLUSTER_WAIT,
};
use crate::support::{tiny_train_evaluated, wait_for, Workspace};
use crate::sweep_command::{asha, decisions, ledger, sweep, trial_dir, TOY};

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn an_asha_sweep_on_slurm_matches_the_local_executor_and_is_indexed() {
    require_cluster();
    let local = Workspace::new();
    local.file(
        "manifests/s.yaml",
        asha(sweep("toy", "toy.py", TOY, 8, true)).to_yaml(),
    );
    local.run(&["run", "manifests/s.yaml"]).code(0);

    let ws = Workspace::new();
    let manifest = asha(sweep("toy", "toy.py", TOY, 8, true))
        .slurm(test_slurm(ws.path()))
        .to_yaml();
    ws.file("manifests/s.yaml", &manifest);
    let t = Instant::now();
    let out = run(&ws, &["run", "manifests/s.yaml"]);
    out.code(0)
        .stderr_has("sweep: submitted Slurm job")
        .stdout_has("best         t");
    eprintln!(
        "slurm: ASHA sweep of 6 trials took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let l = ledger(&ws, "toy");
    assert_eq!(decisions(&l), decisions(&ledger(&local, "toy")));
    assert_eq!(promoted(&ws), promoted(&local));
    // One array per rung (ASHA continues trials as new arrays).
    let jobs = l["slurm_jobs"].as_array().expect("jobs");
    let rungs: Vec<_> = jobs.iter().map(|j| j["rung"].clone()).collect();
    assert_eq!(rungs, l["rungs"].as_array().expect("rungs").clone());
    let script =
        std::fs::read_to_string(ws.path().join("submission_runs/toy/slurm/rung-2-1.sbatch"))
            .expect("script kept");
    assert!(
        script.contains("#SBATCH --comment=tunix-rt-test"),
        "{script}"
    );
    assert!(script.contains("--array=0-5%3"), "{script}");
    assert!(
        script.contains("worker \"$run_dir\" --until-step 2"),
        "{script}"
    );
    // The trials were indexed by the coordinator (workers never open it).
    let board = ws.run(&[
        "report",
        "leaderboard",
        "--sweep",
        "toy",
        "--all",
        "--format",
        "json",
    ]);
    board.code(0);
    assert_eq!(
        board.json()["runs"].as_array().map(Vec::len),
        Some(6),
        "{}",
        board.stdout
    );
    // The promoted config runs again, locally.
    assert!(promoted(&ws).contains("learning_rate"));
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn a_built_in_model_sweep_runs_on_slurm_end_to_end() {
    require_cluster();
    let ws = Workspace::new();
    ws.file(
        "manifests/base.yaml",
        tiny_train_evaluated("tiny", 10).to_yaml(),
    );
    ws.file(
        "manifests/s.yaml",
        SweepManifestBuilder::based_on("tiny-sweep", "base.yaml")
            .search("learning_rate", grid([0.001, 0.003]))
            .num_samples(1)
            .metric("val_loss")
            .mode(Mode::Min)
            .max_concurrent_trials(2)
            .promote("../configs/best.yaml", "../configs/best.json")
            .slurm(test_slurm(ws.path()))
            .to_yaml(),
    );
    run(&ws, &["run", "manifests/s.yaml"])
        .code(0)
        .stdout_has("promoted     configs/best.yaml");
    let l = ledger(&ws, "tiny-sweep");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "completed", "{l}");
    }
    assert!(trial_dir(&ws, "tiny-sweep", "t000")
        .join("eval_summary.json")
        .exists());
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn a_failing_element_is_classified_and_retried_by_resubmitting_it() {
    require_cluster();
    let ws = cluster_sweep(
        sweep("crashy", "crash.py", &[], 4, false)
            .num_samples(1)
            .metric("val_loss"),
    );
    let out = run(&ws, &["run", "manifests/s.yaml"]);
    out.code(3)
        .stderr_has("t000 failed (crash), retry 1")
        .stdout_has("shard 7 is corrupt");
    let l = ledger(&ws, "crashy");
    assert_eq!(l["trials"][0]["state"], "failed");
    assert_eq!(l["trials"][0]["failure"]["class"], "crash");
    assert_eq!(l["trials"][0]["retried"].as_array().map(Vec::len), Some(1));
    let jobs = job_ids(&l);
    assert_eq!(jobs.len(), 2, "the retry is a new submission: {l}");
    for id in &jobs {
        assert!(show_job(id).contains("JobState=FAILED"), "{}", show_job(id));
    }
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn a_requeued_element_comes_back_and_resumes_from_its_checkpoint() {
    require_cluster();
    let ws = cluster_sweep(
        sweep(
            "requeue",
            "toy.py",
            &slow_toy("0.4", &["--every", "2"]),
            16,
            false,
        )
        .num_samples(1)
        .metric("val_loss"),
    );
    let child = spawn(&ws, &["run", "manifests/s.yaml"]);
    let dir = trial_dir(&ws, "requeue", "t000");
    wait_for("the trial to pass a checkpoint", CLUSTER_WAIT)
        .every(CLUSTER_POLL)
        .until(|| metric_lines(&dir) >= 5);
    let job = job_ids(&ledger(&ws, "requeue"))[0].clone();
    let status = Command::new("scontrol")
        .args(["requeue", &format!("{job}_0")])
        .status()
        .expect("scontrol requeue");
    assert!(status.success());
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let l = ledger(&ws, "requeue");
    assert_eq!(l["trials"][0]["state"], "completed");
    assert_eq!(job_ids(&l).len(), 1, "requeued by Slurm, not resubmitted");
    let log = std::fs::read_to_string(dir.join("run.log")).expect("log");
    assert!(log.contains("resum"), "{log}");
    let output = std::fs::read_to_string(
        ws.path()
            .join(format!("submission_runs/requeue/slurm/{job}_0.out")),
    )
    .expect("slurm output");
    assert!(output.contains("restart 1"), "{output}");
    assert!(show_job(&job).contains("Restarts=1"), "{}", show_job(&job));
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn ctrl_c_cancels_the_array_and_records_cancelled_trials() {
    require_cluster();
    let ws = cluster_sweep(
        sweep("cancel", "toy.py", &slow_toy("0.5", &[]), 40, false)
            .num_samples(2)
            .metric("val_loss")
            .max_concurrent_trials(2),
    );
    let child = spawn(&ws, &["run", "manifests/s.yaml"]);
    wait_for("both trials to run", CLUSTER_WAIT)
        .every(CLUSTER_POLL)
        .until(|| {
            metric_lines(&trial_dir(&ws, "cancel", "t000")) >= 1
                && metric_lines(&trial_dir(&ws, "cancel", "t001")) >= 1
        });
    signal(&child, libc::SIGINT);
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted by SIGINT: cancelled Slurm job"),
        "{stderr}"
    );
    let l = ledger(&ws, "cancel");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "cancelled", "{l}");
    }
    let job = job_ids(&l)[0].clone();
    // Both tasks end CANCELLED (after a moment in COMPLETING).
    wait_for("both tasks to be cancelled", CLUSTER_WAIT)
        .every(CLUSTER_POLL)
        .until(|| show_job(&job).matches("JobState=CANCELLED").count() == 2);
    let steps = metric_lines(&trial_dir(&ws, "cancel", "t000"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        metric_lines(&trial_dir(&ws, "cancel", "t000")),
        steps,
        "still training"
    );
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn a_killed_coordinator_reattaches_instead_of_submitting_again() {
    require_cluster();
    let ws = cluster_sweep(
        sweep(
            "attach",
            "toy.py",
            &slow_toy("0.3", &["--every", "2"]),
            12,
            false,
        )
        .num_samples(2)
        .metric("val_loss")
        .max_concurrent_trials(2)
        .promote("../configs/best.yaml", "../configs/best.json"),
    );
    let mut child = spawn(&ws, &["run", "manifests/s.yaml"]);
    wait_for("the array to start", CLUSTER_WAIT)
        .every(CLUSTER_POLL)
        .until(|| metric_lines(&trial_dir(&ws, "attach", "t000")) >= 2);
    signal(&child, libc::SIGKILL);
    let _ = child.wait();
    let submitted = job_ids(&ledger(&ws, "attach"));
    assert_eq!(submitted.len(), 1);
    let out = run(&ws, &["run", "manifests/s.yaml"]);
    out.code(0)
        .stderr_has(&format!("attached to Slurm job {}", submitted[0]))
        .stdout_has("promoted     configs/best.yaml");
    let l = ledger(&ws, "attach");
    assert_eq!(job_ids(&l), submitted, "no second submission");
    for t in l["trials"].as_array().expect("trials") {
        assert_eq!(t["state"], "completed", "{l}");
    }
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn detach_then_status_then_attach() {
    require_cluster();
    let ws = cluster_sweep(
        sweep("later", "toy.py", TOY, 6, false)
            .num_samples(2)
            .metric("val_loss")
            .max_concurrent_trials(2),
    );
    let out = run(&ws, &["run", "manifests/s.yaml", "--detach"]);
    out.code(0)
        .stdout_has("running without a coordinator")
        .stdout_has("tunix-rt sweep attach later");
    let job = job_ids(&ledger(&ws, "later"))[0].clone();
    run(&ws, &["sweep", "status", "later"])
        .code(0)
        .stdout_has(&format!("slurm job {job} (rung 6): known"))
        .stdout_has(&format!("{job}_1"));
    run(&ws, &["sweep", "attach", "later"])
        .code(0)
        .stderr_has(&format!("attached to Slurm job {job}"))
        .stdout_has("best         t");
    assert_eq!(job_ids(&ledger(&ws, "later")), [job]);
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn hostile_paths_and_values_reach_the_worker_as_data() {
    require_cluster();
    let ws = Workspace::new();
    let hostile = ws
        .path()
        .join("it's a $(touch pwned) `touch pwned2`; \"q\" & x");
    std::fs::create_dir_all(hostile.join("manifests")).expect("mkdir");
    std::fs::create_dir_all(hostile.join("evalsets")).expect("mkdir");
    std::fs::copy(
        ws.path().join("evalsets/eval_v2.jsonl"),
        hostile.join("evalsets/eval_v2.jsonl"),
    )
    .expect("copy");
    let manifest = sweep("hostile", "toy.py", TOY, 4, false)
        .inline_base(|base| base.env("TOY_LABEL", "$(touch pwned3); `touch pwned4`"))
        .num_samples(1)
        .metric("val_loss")
        .slurm(test_slurm(&hostile))
        .to_yaml();
    std::fs::write(hostile.join("manifests/s.yaml"), manifest).expect("write");
    let out = Command::new(assert_cmd::cargo::cargo_bin("tunix-rt"))
        .args(["run", "manifests/s.yaml"])
        .current_dir(&hostile)
        .env("TUNIX_RT_SLURM_POLL_S", "0.5")
        .env_remove("TUNIX_WORKSPACE")
        .env_remove("TUNIX_DB")
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let script_path = hostile.join("submission_runs/hostile/slurm/rung-4-1.sbatch");
    let script = std::fs::read_to_string(&script_path).expect("script");
    assert!(
        script.contains(&format!(
            "cd -- '{}'",
            hostile.display().to_string().replace('\'', r"'\''")
        )),
        "{script}"
    );
    for entry in walkdir::WalkDir::new(ws.path())
        .into_iter()
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with("pwned"),
            "a value ran as a command: {}",
            entry.path().display()
        );
    }
    for home_file in ["pwned", "pwned2", "pwned3", "pwned4"] {
        let home = PathBuf::from(std::env::var("HOME").unwrap_or_default());
        assert!(!home.join(home_file).exists());
        assert!(!Path::new("/").join(home_file).exists());
    }
    let l: serde_json::Value = serde_json::from_slice(
        &std::fs::read(hostile.join("submission_runs/hostile/sweep.json")).expect("ledger"),
    )
    .expect("json");
    assert_eq!(l["trials"][0]["state"], "completed", "{l}");
}
