//! What happens before anything is submitted to Slurm: an unreachable
//! controller and missing Slurm commands are refused with nothing written,
//! and `--plan` prints the first rung's job script. Only the first needs
//! the test cluster.

use std::process::Command;

use super::{command, require_cluster, test_slurm};
use crate::support::{tiny_train, Workspace};
use crate::sweep_command::{asha, sweep, TOY};

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
    ws.file(
        "manifests/s.yaml",
        sweep("nope", "toy.py", TOY, 4, false)
            .num_samples(1)
            .metric("val_loss")
            .slurm(test_slurm(ws.path()))
            .to_yaml(),
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
    ws.file(
        "manifests/s.yaml",
        sweep("nope", "toy.py", TOY, 4, false)
            .num_samples(1)
            .metric("val_loss")
            .slurm(test_slurm(ws.path()))
            .to_yaml(),
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
        tiny_train("t", 4).slurm(test_slurm(ws.path())).to_yaml(),
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
    ws.file(
        "manifests/s.yaml",
        asha(sweep("toy", "toy.py", TOY, 8, true))
            .slurm(test_slurm(ws.path()))
            .to_yaml(),
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
