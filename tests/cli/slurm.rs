//! `executor: slurm` against a real Slurm cluster: the single-node cluster
//! of tests/slurm/start.sh (`make slurm-test` starts it, runs these tests
//! with its SLURM_CONF, and stops it). The tests that need the cluster are
//! `#[ignore]`d, so a plain `cargo test` shows them as ignored; run without
//! a cluster (no SLURM_CONF, or the controller does not answer) they fail
//! saying why, never pass unseen. `make slurm-test` prints why the cluster
//! could not start, and fails unless `TUNIX_SKIP_SLURM_TESTS=1`.
//!
//! The tests are by topic in slurm/: sweeps (sweeps.rs), Train manifests
//! as one job (train_jobs.rs), and what is refused or printed before
//! anything is submitted (before_submit.rs); this file holds their
//! helpers. All of them are under `slurm::`, the filter `make slurm-test`
//! runs.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tunix_testkit::manifest::{SlurmSpec, SweepManifestBuilder};

use crate::support::Workspace;

mod before_submit;
mod sweeps;
mod train_jobs;

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

/// The `slurm` block of a test manifest: the test cluster's `debug`
/// partition, one CPU and ten minutes a job, `ws` as the shared folder.
fn test_slurm(ws: &Path) -> SlurmSpec {
    SlurmSpec {
        shared_dir: ws.to_path_buf(),
        partition: Some("debug".to_string()),
        gpus_per_trial: 0,
        gpu_request: Default::default(),
        gpu_type: None,
        cpus_per_trial: Some(1),
        mem_per_trial: None,
        time_limit: Some("10:00".to_string()),
        account: None,
        qos: None,
        constraint: None,
        extra_sbatch: vec!["--comment=tunix-rt-test".to_string()],
        tunix_rt: None,
    }
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

/// A workspace whose `manifests/s.yaml` is `sweep` on the test cluster.
fn cluster_sweep(sweep: SweepManifestBuilder) -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "manifests/s.yaml",
        sweep.slurm(test_slurm(ws.path())).to_yaml(),
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
        &["--lr", "{{ learning_rate }}"],
        6,
        true,
    )
    .slurm(test_slurm(ws.path()))
    .to_yaml();
    ws.file("manifests/toy.yaml", &manifest);
    ws
}

/// The toy trainer's arguments (`extra` after the learning rate), slowed
/// to `sleep` seconds a step.
fn slow_toy<'a>(sleep: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--lr", "{{ learning_rate }}"];
    args.extend_from_slice(extra);
    args.extend(["--sleep", sleep]);
    args
}

/// Send `sig` to `child`.
fn signal(child: &Child, sig: i32) {
    let pid = i32::try_from(child.id()).expect("pid");
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}
