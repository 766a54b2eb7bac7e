//! Sweeps of command trainers (tests/fixtures/command_trainers): ASHA on
//! a user's script, failures by class with retries and log tails,
//! timeouts that kill the whole process group, a trainer that ignores
//! its stop, crash safety of the coordinator, and sweep-level bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::command_trainer::fixture;
use crate::support::{poll_until, wait_for, Workspace};

/// A Sweep over `learning_rate` of an inline command-trainer base;
/// `command` is the argv's tail after `python3 SCRIPT`, `tail` is appended
/// to the Sweep's spec.
pub fn sweep(
    name: &str,
    script: &str,
    command: &str,
    max_steps: u32,
    eval: bool,
    tail: &str,
) -> String {
    let eval = if eval {
        "    eval:\n      evalset: ../evalsets/eval_v2.jsonl\n"
    } else {
        ""
    };
    format!(
        "apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: {name}
spec:
  base:
    command: [\"python3\", \"{}\"{command}]
    training:
      learning_rate: 0.001
      per_device_batch_size: 1
      max_steps: {max_steps}
{eval}  search_space:
    learning_rate: {{ loguniform: [0.0005, 0.01] }}
{tail}",
        fixture(script)
    )
}

pub const TOY: &str = ", \"--lr\", \"{{ learning_rate }}\", \"--every\", \"2\"";

pub const ASHA: &str = "  num_samples: 6
  metric: primary_score
  mode: max
  scheduler: { asha: { grace_period: 2, reduction_factor: 2 } }
  max_concurrent_trials: 3
  promote:
    config: ../configs/best.yaml
    params: ../configs/best.json
    evidence: ../submission_runs/toy_v1
";

pub fn ledger(ws: &Workspace, name: &str) -> serde_json::Value {
    let path = ws
        .path()
        .join("submission_runs")
        .join(name)
        .join("sweep.json");
    serde_json::from_slice(&std::fs::read(path).expect("ledger")).expect("json")
}

pub fn trial_dir(ws: &Workspace, sweep: &str, trial: &str) -> PathBuf {
    ws.path()
        .join("submission_runs")
        .join(sweep)
        .join("trials")
        .join(format!("{sweep}-{trial}"))
}

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

/// The ledger's outcome without timing: trial states, metrics, stops,
/// decisions and the best trial.
pub fn decisions(l: &serde_json::Value) -> serde_json::Value {
    let trials: Vec<_> = l["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .map(|t| {
            serde_json::json!([
                t["trial_id"],
                t["state"],
                t["last_step"],
                t["metrics"],
                t["stopped_at"]
            ])
        })
        .collect();
    serde_json::json!({"trials": trials, "decisions": l["decisions"], "best": l["best"]})
}

#[test]
fn a_sweep_of_a_user_script_runs_asha_and_promotes_a_runnable_config() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("toy", "toy.py", TOY, 8, true, ASHA),
    );
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0).stdout_has("promoted     configs/best.yaml");
    let l = ledger(&ws, "toy");
    assert_eq!(
        l["decisions"].as_array().map(Vec::len),
        Some(2),
        "rungs 2 and 4"
    );
    let states: Vec<&str> = l["trials"]
        .as_array()
        .expect("trials")
        .iter()
        .filter_map(|t| t["state"].as_str())
        .collect();
    assert_eq!(
        states.iter().filter(|s| **s == "stopped").count(),
        4,
        "{states:?}"
    );
    assert_eq!(
        states.iter().filter(|s| **s == "completed").count(),
        2,
        "{states:?}"
    );
    let best = l["best"]["trial_id"].as_str().expect("best").to_string();
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(trial_dir(&ws, "toy", &best).join("run_manifest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(m["tuning_job_id"], "toy");
    assert_eq!(m["trial_id"], best.as_str());
    ws.run(&[
        "validate",
        "configs/best.yaml",
        "configs/best.json",
        "submission_runs/toy_v1",
    ])
    .code(0);
    let evidence: serde_json::Value = serde_json::from_slice(
        &std::fs::read(ws.path().join("submission_runs/toy_v1/run_manifest.json")).expect("read"),
    )
    .expect("json");
    assert_eq!(evidence["run_id"], "toy_v1");
    assert_eq!(evidence["promoted_from_trial_id"], best.as_str());
    assert_eq!(evidence["tuning_job_id"], "toy");
    for file in [
        "eval_summary.json",
        "eval_items.jsonl",
        "metrics.jsonl",
        "run.log",
    ] {
        assert_eq!(
            std::fs::read(ws.path().join("submission_runs/toy_v1").join(file)).expect("copied"),
            std::fs::read(trial_dir(&ws, "toy", &best).join(file)).expect("trial"),
            "{file}"
        );
    }
    let params: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ws.path().join("configs/best.json")).expect("read"))
            .expect("json");
    assert_eq!(params["promoted_from_trial_id"], best.as_str());
    assert_eq!(
        params["mapping"]["learning_rate"],
        "spec.training.learning_rate"
    );
    assert!(params["metric"]["ci95"]["low"].is_number(), "{params}");
    ws.run(&["run", "configs/best.yaml"])
        .code(0)
        .stdout_has("primary");
    let rows = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT count(*) AS n FROM trials WHERE sweep_id = 'toy'",
        ])
        .code(0)
        .json();
    assert_eq!(rows[0]["n"], 6, "{rows}");
    let sweeps = ws
        .run(&[
            "db",
            "query",
            "--format",
            "json",
            "SELECT n_trials, best_run_id FROM sweeps WHERE sweep_id = 'toy'",
        ])
        .code(0)
        .json();
    assert_eq!(sweeps[0]["n_trials"], 6, "{sweeps}");
    assert_eq!(sweeps[0]["best_run_id"], format!("toy-{best}"), "{sweeps}");
}

/// `git ARGS` in `dir`; false when git is missing or fails.
fn git(dir: &Path, args: &[&str]) -> bool {
    std::process::Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn a_sweep_leaves_committed_evidence_alone_unless_asked_to_update_it() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep("toy", "toy.py", TOY, 8, true, ASHA),
    );
    let committed = "# the committed best config\n";
    ws.file("configs/best.yaml", committed);
    assert!(
        git(ws.path(), &["init", "-q"]),
        "git is needed for this test"
    );
    assert!(git(ws.path(), &["add", "configs/best.yaml"]));
    assert!(git(ws.path(), &["commit", "-q", "-m", "evidence"]));

    ws.run_read_only(&["run", "manifests/sweep.yaml", "--plan"])
        .code(0)
        .stdout_has("note         promotion into committed evidence will be skipped (promotion targets tracked by git: configs/best.yaml)")
        .stdout_has("note         if the command writes no checkpoints ($TUNIX_CHECKPOINT_DIR/step-NNNNNNNN/), every rung after the first trains a trial again from step 0: a trial that reaches step 8 trains 2 + 4 + 8 = 14 steps instead of 8");
    let run = ws.run(&["run", "manifests/sweep.yaml"]);
    run.code(0);
    let best = ledger(&ws, "toy")["best"]["trial_id"]
        .as_str()
        .expect("a best trial")
        .to_string();
    run.stdout_has(&format!(
        "note         promotion into committed evidence was skipped: the best trial is {best} (promotion targets tracked by git: configs/best.yaml); to regenerate them, run: tunix-rt run manifests/sweep.yaml --update-evidence"
    ));
    assert!(!run.stdout.contains("promoted     "), "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(ws.path().join("configs/best.yaml")).expect("read"),
        committed
    );
    assert!(!ws.path().join("configs/best.json").exists());
    assert!(!ws.path().join("submission_runs/toy_v1").exists());
    let json = ws
        .run(&["run", "manifests/sweep.yaml", "--format", "json"])
        .code(0)
        .json();
    assert_eq!(json["evidence_skipped"]["best_trial_id"], best.as_str());
    assert_eq!(
        json["evidence_skipped"]["files"],
        serde_json::json!(["configs/best.yaml"])
    );

    ws.run(&["run", "manifests/sweep.yaml", "--update-evidence"])
        .code(0)
        .stdout_has("promoted     configs/best.yaml");
    let rewritten = std::fs::read_to_string(ws.path().join("configs/best.yaml")).expect("read");
    assert!(
        rewritten.contains(&format!(
            "Promoted by tunix-rt from sweep toy, trial {best}"
        )),
        "{rewritten}"
    );
    assert!(ws
        .path()
        .join("submission_runs/toy_v1/run_manifest.json")
        .exists());
}

#[test]
fn a_crashing_trial_is_retried_once_then_summarized_with_its_log_tail() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep(
            "crashy",
            "crash.py",
            "",
            4,
            false,
            "  num_samples: 1\n  metric: val_loss\n",
        ),
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
        sweep(
            "hangs",
            "hang.py",
            "",
            4,
            false,
            "  num_samples: 1\n  metric: val_loss\n  trial_timeout_s: 2\n  max_retries: { timeout: 0 }\n",
        ),
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
        format!(
            "apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: tree
spec:
  base:
    command: [\"python3\", \"{}\"]
    env:
      TREE_PIDS: \"{}\"
    training:
      learning_rate: 0.001
      per_device_batch_size: 1
      max_steps: 4
  search_space:
    learning_rate: {{ loguniform: [0.0005, 0.01] }}
  num_samples: 1
  metric: val_loss
  trial_timeout_s: 4
  max_retries: {{ timeout: 0 }}
",
            fixture("tree.py"),
            pids_file.display()
        ),
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
        sweep(
            "stubborn",
            "ignore_stop.py",
            "",
            6,
            false,
            "  num_samples: 2\n  metric: val_loss\n  mode: min\n  scheduler: { asha: { grace_period: 2, reduction_factor: 2 } }\n",
        ),
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
            ", \"--sleep\", \"0\", \"--predict\"",
            6,
            true,
            "  num_samples: 2\n  metric: primary_score\n  mode: max\n  scheduler: { asha: { grace_period: 2, reduction_factor: 2 } }\n",
        ),
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
        crate::command_trainer::command_manifest(
            "overrun",
            "ignore_stop.py",
            ", \"--sleep\", \"0\", \"--predict\"",
            6,
            true,
        ),
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

#[test]
fn killing_the_coordinator_mid_sweep_loses_and_repeats_nothing() {
    let slow = ", \"--lr\", \"{{ learning_rate }}\", \"--every\", \"2\", \"--sleep\", \"0.15\"";
    let manifest = sweep("crash-safe", "toy.py", slow, 8, true, ASHA);
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
    let slow = ", \"--lr\", \"{{ learning_rate }}\", \"--sleep\", \"0.5\"";
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep(
            "busy",
            "toy.py",
            slow,
            20,
            false,
            "  num_samples: 1\n  metric: val_loss\n",
        ),
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

#[test]
fn a_sweep_folder_of_another_manifest_is_refused_naming_the_differing_keys() {
    let ws = Workspace::new();
    ws.file(
        "manifests/sweep.yaml",
        sweep(
            "mixed",
            "toy.py",
            TOY,
            4,
            false,
            "  num_samples: 2\n  metric: val_loss\n",
        ),
    );
    ws.run(&["run", "manifests/sweep.yaml"]).code(0);
    ws.file(
        "manifests/sweep.yaml",
        sweep(
            "mixed",
            "toy.py",
            TOY,
            6,
            false,
            "  num_samples: 2\n  metric: val_loss\n",
        ),
    );
    let run = ws.run_read_only(&["run", "manifests/sweep.yaml"]);
    run.code(2)
        .stderr_has("holds a sweep of a different manifest")
        .stderr_has("trials[*].spec.training.max_steps")
        .stderr_has("rungs");
}

#[test]
fn sweep_bad_input_is_refused_before_anything_is_written() {
    let ws = Workspace::new();
    let cases = [
        (
            "    learning_rat: { uniform: [0.1, 0.2] }\n  num_samples: 2\n",
            "`learning_rat` is not a training parameter",
        ),
        (
            "  num_samples: 2\n  max_concurrent_trials: 3\n",
            "max_concurrent_trials (3) is more than the plan's 2 trial(s)",
        ),
        (
            "  num_samples: 1\n  promote: { config: ../../elsewhere.yaml, params: ../p.json }\n",
            "/spec/promote/config",
        ),
    ];
    for (tail, message) in cases {
        ws.file(
            "manifests/bad.yaml",
            sweep("bad", "toy.py", TOY, 4, false, tail),
        );
        ws.run_read_only(&["run", "manifests/bad.yaml"])
            .code(2)
            .stderr_has(message);
    }
    let grid: Vec<String> = (1..=20).map(|i| format!("{i}")).collect();
    ws.file(
        "manifests/big.yaml",
        sweep(
            "big",
            "toy.py",
            TOY,
            4,
            false,
            &format!(
                "    seed: {{ grid: [{}] }}\n  num_samples: 15\n  metric: val_loss\n",
                grid.join(", ")
            ),
        ),
    );
    ws.run_read_only(&["run", "manifests/big.yaml"])
        .code(2)
        .stderr_has("the plan has 300 trials, more than the cap of 256")
        .stderr_has("--yes");
    ws.run_read_only(&["run", "manifests/big.yaml", "--plan", "--format", "json"])
        .code(0);
}
