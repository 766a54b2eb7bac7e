//! `executor: slurm` against a real Slurm cluster: the single-node cluster
//! of tests/slurm/start.sh (`make slurm-test` starts it, runs these tests
//! with its SLURM_CONF, and stops it). Without a cluster (no SLURM_CONF, or
//! the controller does not answer) each test says so on stderr and passes;
//! `make slurm-test` prints why the cluster could not start.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{tiny_train_manifest, wait_for, Workspace};
use crate::sweep_command::{decisions, ledger, sweep, trial_dir, ASHA, TOY};

/// Fail (never pass unseen) when no test cluster answers, saying why. The
/// tests that need one are `#[ignore]`d, so a plain `cargo test` lists them
/// as ignored; `make slurm-test` starts a cluster and runs them with
/// `--include-ignored`.
fn require_cluster() {
    let Some(conf) = std::env::var_os("SLURM_CONF") else {
        panic!("no Slurm cluster: SLURM_CONF is not set (run `make slurm-test`)");
    };
    let up = Command::new("scontrol")
        .arg("ping")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("is UP"));
    assert!(
        up,
        "no Slurm cluster: the controller of {} does not answer `scontrol ping`",
        Path::new(&conf).display()
    );
}

/// The `slurm:` block of a test manifest (two-space indented under spec).
fn slurm_block(ws: &Path) -> String {
    format!(
        "  executor: slurm\n  slurm:\n    shared_dir: '{}'\n    partition: debug\n    cpus_per_trial: 1\n    time_limit: \"10:00\"\n    extra_sbatch: [\"--comment=tunix-rt-test\"]\n",
        ws.display().to_string().replace('\'', "''")
    )
}

/// `tunix-rt ARGS` in `ws`, polling Slurm every half second.
fn command(ws: &Workspace, args: &[&str]) -> Command {
    let mut cmd = ws.command(args);
    cmd.env("TUNIX_RT_SLURM_POLL_S", "0.5");
    cmd
}

fn run(ws: &Workspace, args: &[&str]) -> crate::support::Run {
    let out = command(ws, args).output().expect("run");
    crate::support::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn spawn(ws: &Workspace, args: &[&str]) -> Child {
    command(ws, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// How long a test waits for the cluster (a job to start, a task to end).
const CLUSTER_WAIT: Duration = Duration::from_secs(120);

/// How often it checks: a check may run `scontrol`.
const CLUSTER_POLL: Duration = Duration::from_millis(200);

fn metric_lines(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("metrics.jsonl")).map_or(0, |t| t.lines().count())
}

/// `scontrol -o show job ID` (every task's record).
fn show_job(id: &str) -> String {
    let out = Command::new("scontrol")
        .args(["-o", "show", "job", id])
        .output()
        .expect("scontrol");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn job_ids(l: &serde_json::Value) -> Vec<String> {
    l["slurm_jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| j["job_id"].as_str().expect("job id").to_string())
        .collect()
}

/// The promoted config without the lines that name the executor.
fn promoted(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.path().join("configs/best.yaml")).expect("promoted")
}

/// A workspace whose `manifests/s.yaml` is sweep `name` of `script` (run
/// with `args`) for `steps` steps on the test cluster, with `spec` (lines
/// under the sweep's spec, two-space indented) before its slurm block.
fn cluster_sweep(name: &str, script: &str, args: &str, steps: u32, spec: &str) -> Workspace {
    let ws = Workspace::new();
    let tail = format!("{spec}{}", slurm_block(ws.path()));
    ws.file(
        "manifests/s.yaml",
        sweep(name, script, args, steps, false, &tail),
    );
    ws
}

/// A workspace whose `manifests/toy.yaml` trains the toy command trainer
/// (6 steps, evaluated) as one job on the test cluster.
fn cluster_train() -> Workspace {
    let ws = Workspace::new();
    let manifest = crate::command_trainer::command_manifest(
        "toy",
        "toy.py",
        ", \"--lr\", \"{{ learning_rate }}\"",
        6,
        true,
    ) + &slurm_block(ws.path());
    ws.file("manifests/toy.yaml", &manifest);
    ws
}

/// The toy trainer's arguments, slowed to `sleep` seconds a step.
fn slow_toy(sleep: &str, extra: &str) -> String {
    format!(", \"--lr\", \"{{{{ learning_rate }}}}\"{extra}, \"--sleep\", \"{sleep}\"")
}

/// Send `sig` to `child`.
fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn an_asha_sweep_on_slurm_matches_the_local_executor_and_is_indexed() {
    require_cluster();
    let local = Workspace::new();
    local.file(
        "manifests/s.yaml",
        sweep("toy", "toy.py", TOY, 8, true, ASHA),
    );
    local.run(&["run", "manifests/s.yaml"]).code(0);

    let ws = Workspace::new();
    let manifest = sweep("toy", "toy.py", TOY, 8, true, ASHA) + &slurm_block(ws.path());
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
        tiny_train_manifest("tiny", 10, "", true),
    );
    ws.file(
        "manifests/s.yaml",
        format!(
            "apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: tiny-sweep
spec:
  base: base.yaml
  search_space:
    learning_rate: {{ grid: [0.001, 0.003] }}
  num_samples: 1
  metric: val_loss
  mode: min
  max_concurrent_trials: 2
  promote:
    config: ../configs/best.yaml
    params: ../configs/best.json
{}",
            slurm_block(ws.path())
        ),
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
        "crashy",
        "crash.py",
        "",
        4,
        "  num_samples: 1\n  metric: val_loss\n",
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
        "requeue",
        "toy.py",
        &slow_toy("0.4", ", \"--every\", \"2\""),
        16,
        "  num_samples: 1\n  metric: val_loss\n",
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
        "cancel",
        "toy.py",
        &slow_toy("0.5", ""),
        40,
        "  num_samples: 2\n  metric: val_loss\n  max_concurrent_trials: 2\n",
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
        "attach",
        "toy.py",
        &slow_toy("0.3", ", \"--every\", \"2\""),
        12,
        "  num_samples: 2\n  metric: val_loss\n  max_concurrent_trials: 2\n  promote:\n    config: ../configs/best.yaml\n    params: ../configs/best.json\n",
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
        "later",
        "toy.py",
        TOY,
        6,
        "  num_samples: 2\n  metric: val_loss\n  max_concurrent_trials: 2\n",
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
        crate::command_trainer::command_manifest("toy", "toy.py", &slow_toy("0.5", ""), 8, true)
            + &slurm_block(ws.path());
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
        .stdout_has("run          submission_runs/toy\n");
    assert!(
        show_job(&id).contains("JobState=COMPLETED"),
        "{}",
        show_job(&id)
    );
    // One job, one run folder: nothing was submitted a second time.
    assert!(!ws.path().join("submission_runs/toy-2").exists());
}

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn sigterm_while_following_a_train_job_cancels_it_and_exits_143() {
    require_cluster();
    // Slow steps: should the job start before the hold lands, it is still
    // running (for about a minute) when the coordinator is signalled.
    let ws = Workspace::new();
    let manifest =
        crate::command_trainer::command_manifest("toy", "toy.py", &slow_toy("10", ""), 6, true)
            + &slurm_block(ws.path());
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
    let tail = format!(
        "  num_samples: 1\n  metric: val_loss\n{}",
        slurm_block(&hostile)
    );
    let manifest = sweep("hostile", "toy.py", TOY, 4, false, &tail).replace(
        "    training:",
        "    env:\n      TOY_LABEL: \"$(touch pwned3); `touch pwned4`\"\n    training:",
    );
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

#[test]
#[ignore = "needs a Slurm cluster: `make slurm-test` starts one"]
fn an_unreachable_controller_is_refused_before_anything_is_written() {
    require_cluster();
    let ws = Workspace::new();
    let dead = ws.path().join("dead-slurm.conf");
    let conf = std::fs::read_to_string(std::env::var("SLURM_CONF").expect("conf")).expect("conf");
    let conf: String = conf
        .lines()
        .map(|l| {
            if l.starts_with("SlurmctldPort=") {
                "SlurmctldPort=1".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&dead, conf).expect("conf");
    let tail = format!(
        "  num_samples: 1\n  metric: val_loss\n{}",
        slurm_block(ws.path())
    );
    ws.file(
        "manifests/s.yaml",
        sweep("nope", "toy.py", TOY, 4, false, &tail),
    );
    let before = ws.snapshot();
    let out = command(&ws, &["run", "manifests/s.yaml"])
        .env("SLURM_CONF", &dead)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("the Slurm controller is not reachable"),
        "{stderr}"
    );
    assert_eq!(before, ws.snapshot(), "nothing written");
}

/// Runs without a cluster too: no Slurm client commands on PATH.
#[test]
fn missing_slurm_commands_are_refused_before_anything_is_written() {
    let ws = Workspace::new();
    let tail = format!(
        "  num_samples: 1\n  metric: val_loss\n{}",
        slurm_block(ws.path())
    );
    ws.file(
        "manifests/s.yaml",
        sweep("nope", "toy.py", TOY, 4, false, &tail),
    );
    // A PATH with python3 (the trainer) but no Slurm commands.
    let empty = ws.path().join("bin");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let python = Command::new("sh")
        .args(["-c", "command -v python3"])
        .output()
        .expect("which");
    let python = String::from_utf8_lossy(&python.stdout).trim().to_string();
    std::os::unix::fs::symlink(python, empty.join("python3")).expect("symlink");
    let before = ws.snapshot();
    let out = ws
        .command(&["run", "manifests/s.yaml"])
        .env("PATH", &empty)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("`sbatch` is not on PATH"), "{stderr}");
    assert_eq!(before, ws.snapshot(), "nothing written");
    ws.file(
        "manifests/t.yaml",
        tiny_train_manifest("t", 4, "", false) + &slurm_block(ws.path()),
    );
    let before = ws.snapshot();
    let out = ws
        .command(&["run", "manifests/t.yaml"])
        .env("PATH", &empty)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(before, ws.snapshot(), "nothing written");
}

/// Runs without a cluster: `--plan` prints the first rung's job script and
/// submits and writes nothing.
#[test]
fn plan_prints_the_job_script_and_writes_nothing() {
    let ws = Workspace::new();
    let tail = format!("{ASHA}{}", slurm_block(ws.path()));
    ws.file(
        "manifests/s.yaml",
        sweep("toy", "toy.py", TOY, 8, true, &tail),
    );
    let out = ws.run_read_only(&["run", "manifests/s.yaml", "--plan"]);
    out.code(0)
        .stdout_has("Slurm job script of the first rung (written to submission_runs/toy/slurm")
        .stdout_has("#!/bin/bash\n")
        .stdout_has("--array=0-5%3")
        .stdout_has("--partition=debug")
        .stdout_has("#SBATCH --comment=tunix-rt-test\n")
        .stdout_has("  5) run_dir=")
        .stdout_has("worker \"$run_dir\" --until-step 2\n");
}
