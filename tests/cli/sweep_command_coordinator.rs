//! The coordinator of a sweep of command trainers: killed mid-sweep, it
//! resumes losing and repeating nothing; a second coordinator on a running
//! sweep is refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{wait_for, Workspace};
use crate::sweep_command::{asha, decisions, ledger, sweep, trial_dir};

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("inside").to_path_buf();
            (rel, std::fs::read(e.path()).expect("read"))
        })
        .collect()
}

#[test]
fn killing_the_coordinator_mid_sweep_loses_and_repeats_nothing() {
    let slow = [
        "--lr",
        "{{ learning_rate }}",
        "--every",
        "2",
        "--sleep",
        "0.15",
    ];
    let manifest = asha(sweep("crash-safe", "toy.py", &slow, 8, true)).to_yaml();
    let reference = Workspace::new();
    reference.file("manifests/sweep.yaml", &manifest);
    reference.run(&["run", "manifests/sweep.yaml"]).code(0);

    let ws = Workspace::new();
    ws.file("manifests/sweep.yaml", &manifest);
    let mut child = ws
        .command(&["run", "manifests/sweep.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    // Kill once the first rung is decided and the survivors are training.
    let path = ws.path().join("submission_runs/crash-safe/sweep.json");
    wait_for("the first rung to be decided", Duration::from_secs(60))
        .watching(&mut child)
        .until(|| {
            std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .is_some_and(|l| l["decisions"].as_array().is_some_and(|d| !d.is_empty()))
        });
    std::thread::sleep(Duration::from_millis(200));
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let before = ledger(&ws, "crash-safe");
    let stopped: Vec<String> = before["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .filter(|t| t["state"] == "stopped")
        .filter_map(|t| t["trial_id"].as_str().map(String::from))
        .collect();
    assert!(!stopped.is_empty(), "{before}");
    let kept: BTreeMap<String, _> = stopped
        .iter()
        .map(|t| (t.clone(), files(&trial_dir(&ws, "crash-safe", t))))
        .collect();

    ws.run(&["run", "manifests/sweep.yaml"])
        .code(0)
        .stderr_has("resuming");
    for (t, snapshot) in &kept {
        assert_eq!(
            &files(&trial_dir(&ws, "crash-safe", t)),
            snapshot,
            "finished trial {t} was touched"
        );
    }
    assert_eq!(
        decisions(&ledger(&ws, "crash-safe")),
        decisions(&ledger(&reference, "crash-safe"))
    );
    for t in ledger(&ws, "crash-safe")["trials"]
        .as_array()
        .expect("trials")
    {
        let id = t["trial_id"].as_str().expect("id");
        let metrics =
            std::fs::read_to_string(trial_dir(&ws, "crash-safe", id).join("metrics.jsonl"))
                .expect("metrics");
        let mut steps: Vec<u64> = metrics
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("loss").is_some())
            .filter_map(|v| v["step"].as_u64())
            .collect();
        let n = steps.len();
        steps.dedup();
        assert_eq!(steps.len(), n, "trial {id} trained a step twice: {metrics}");
    }
}

#[test]
fn a_second_coordinator_on_a_running_sweep_is_refused() {
    let slow = ["--lr", "{{ learning_rate }}", "--sleep", "0.5"];
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("busy", "toy.py", &slow, 20, false)
            .num_samples(1)
            .metric("val_loss")
            .to_yaml(),
    );
    let mut first = ws
        .command(&["run", "manifests/sweep.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start");
    let ledger_path = ws.path().join("submission_runs/busy/sweep.json");
    wait_for("the first coordinator to start", Duration::from_secs(30))
        .watching(&mut first)
        .until(|| ledger_path.exists());
    let second = ws.run(&["run", "manifests/sweep.yaml"]);
    first.kill().expect("kill");
    first.wait().expect("reap");
    second
        .code(3)
        .stderr_has(&format!("sweep is running in process {}", first.id()));
}
