//! Train specs with their own `command`: the user's program runs behind
//! the command-trainer shim, through the same run lifecycle as the
//! built-in trainer (tests/fixtures/command_trainers/*.py, no torch).

use tunix_testkit::manifest::TrainManifestBuilder;

use crate::support::{repo, Workspace, EVAL_V2};

/// The path of a command-trainer fixture.
pub fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures/command_trainers")
        .join(name)
        .display()
        .to_string()
}

/// `python3 SCRIPT ARGS...` for the command-trainer fixture `script`.
pub fn python(script: &str, args: &[&str]) -> Vec<String> {
    let mut argv = vec!["python3".to_string(), fixture(script)];
    argv.extend(args.iter().map(|a| a.to_string()));
    argv
}

/// A Train manifest whose `command` runs `script` with `args`, evaluated
/// on eval_v2 when `eval`.
pub fn command_manifest(
    name: &str,
    script: &str,
    args: &[&str],
    max_steps: u32,
    eval: bool,
) -> TrainManifestBuilder {
    let manifest = TrainManifestBuilder::new(name)
        .command(python(script, args))
        .env("TOY_LABEL", "from the manifest")
        .learning_rate(0.005)
        .per_device_batch_size(1)
        .max_steps(max_steps);
    if eval {
        manifest.eval(EVAL_V2)
    } else {
        manifest
    }
}

fn read_json(path: std::path::PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json")
}

#[test]
fn a_command_trainer_trains_is_scored_and_resumes_from_its_checkpoint() {
    let manifest =
        command_manifest("toy", "toy.py", &["--lr", "{{ learning_rate }}"], 12, true).to_yaml();
    let straight = Workspace::new();
    straight.file("manifests/toy.yaml", &manifest);
    straight
        .run(&["run", "manifests/toy.yaml"])
        .code(0)
        .stdout_has("primary      0.4500");

    let ws = Workspace::new();
    ws.file("manifests/toy.yaml", &manifest);
    ws.run(&["run", "manifests/toy.yaml", "--until-step", "7"])
        .code(0)
        .stdout_has("stopped before max_steps");
    let run = ws.path().join("submission_runs/toy");
    assert_eq!(
        read_json(run.join("run_manifest.json"))["status"],
        "stopped"
    );
    ws.run(&["run", "manifests/toy.yaml"])
        .code(0)
        .stdout_has("primary      0.4500");
    let log = std::fs::read_to_string(run.join("run.log")).expect("log");
    assert!(log.contains("resumed from checkpoint step 7"), "{log}");
    assert!(log.contains("command: python3"), "{log}");
    assert!(
        log.contains("trained to step 12"),
        "the program's stdout is in run.log: {log}"
    );

    let m = read_json(run.join("run_manifest.json"));
    assert_eq!(m["status"], "completed");
    assert_eq!(m["device"], "external");
    let artifacts: Vec<&str> = m["artifacts"]
        .as_array()
        .expect("artifacts")
        .iter()
        .filter_map(|a| a["path"].as_str())
        .collect();
    for want in [
        "checkpoints/step-00000005/state.json",
        "checkpoints/step-00000007/state.json",
        "checkpoints/step-00000012/state.json",
        "eval_items.jsonl",
    ] {
        assert!(artifacts.contains(&want), "{want} not in {artifacts:?}");
    }
    let straight_items =
        std::fs::read(straight.path().join("submission_runs/toy/eval_items.jsonl")).expect("items");
    assert_eq!(
        std::fs::read(run.join("eval_items.jsonl")).expect("items"),
        straight_items
    );
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).expect("metrics");
    let steps: Vec<u64> = metrics
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("loss").is_some())
        .filter_map(|v| v["step"].as_u64())
        .collect();
    assert_eq!(
        steps,
        (1..=12).collect::<Vec<_>>(),
        "one loss line per step, none twice"
    );
}

#[test]
fn the_environment_reaches_the_program() {
    let ws = Workspace::new();
    ws.file(
        "manifests/env.yaml",
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: env
spec:
  command: [\"sh\", \"-c\", \"echo label=$TOY_LABEL seed=$TUNIX_SEED until=$TUNIX_UNTIL_STEP run=$(basename $TUNIX_RUN_DIR) lr={{ learning_rate }}; echo '{\\\"step\\\": 3, \\\"loss\\\": 1}' >> $TUNIX_METRICS_FILE\"]
  env:
    TOY_LABEL: hello
  training:
    learning_rate: 0.25
    per_device_batch_size: 1
    max_steps: 3
    seed: 9
",
    );
    ws.run(&["run", "manifests/env.yaml"]).code(0);
    let log = std::fs::read_to_string(ws.path().join("submission_runs/env/run.log")).expect("log");
    assert!(
        log.contains("label=hello seed=9 until=3 run=env lr=0.25"),
        "{log}"
    );
}

#[test]
fn a_crashing_command_fails_with_the_end_of_its_output() {
    let ws = Workspace::new();
    ws.file(
        "manifests/crash.yaml",
        command_manifest("crash", "crash.py", &[], 5, false).to_yaml(),
    );
    ws.run(&["run", "manifests/crash.yaml"])
        .code(3)
        .stderr_has("exited (exit status: 3) before finishing")
        .stderr_has("RuntimeError: shard 7 is corrupt");
    let m = read_json(ws.path().join("submission_runs/crash/run_manifest.json"));
    assert_eq!(m["status"], "failed");
    assert_eq!(m["failure"]["class"], "crash");
}

#[test]
fn a_garbage_metric_line_is_named_by_its_line_number() {
    let ws = Workspace::new();
    ws.file(
        "manifests/garbage.yaml",
        command_manifest("garbage", "garbage.py", &[], 5, false).to_yaml(),
    );
    let started = std::time::Instant::now();
    ws.run(&["run", "manifests/garbage.yaml"])
        .code(3)
        .stderr_has("metrics file ($TUNIX_METRICS_FILE) line 2 is not a metrics record")
        .stderr_has("step 2: loss=1.5");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "the program was not stopped at the bad line"
    );
    let m = read_json(ws.path().join("submission_runs/garbage/run_manifest.json"));
    assert_eq!(m["failure"]["class"], "bad_metrics");
}

#[test]
fn missing_predictions_with_an_eval_section_are_their_own_failure_class() {
    let ws = Workspace::new();
    ws.file(
        "manifests/nopred.yaml",
        command_manifest("nopred", "ignore_stop.py", &[], 2, true).to_yaml(),
    );
    ws.run(&["run", "manifests/nopred.yaml"])
        .code(2)
        .stderr_has("trained to step 2 but wrote no predictions to $TUNIX_PREDICTIONS_FILE")
        .stderr_has(r#"one JSON line {"id": ..., "output": ...} per item of the eval set"#)
        .stderr_has("or drop `eval:` from the manifest");
    let m = read_json(ws.path().join("submission_runs/nopred/run_manifest.json"));
    assert_eq!(m["status"], "failed");
    assert_eq!(m["failure"]["class"], "no_predictions");
    assert!(
        m["failure"]["message"]
            .as_str()
            .is_some_and(|t| t.contains("$TUNIX_PREDICTIONS_FILE")),
        "{m:#}"
    );
}

#[test]
fn an_unknown_template_variable_is_bad_input_at_its_line_and_nothing_runs() {
    let ws = Workspace::new();
    // Literal text: the message names the command's line.
    ws.file(
        "manifests/typo.yaml",
        format!(
            "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: typo
spec:
  command: [\"python3\", \"{}\", \"--lr\", \"{{{{ learning_rat }}}}\"]
  env:
    TOY_LABEL: \"from the manifest\"
  training:
    learning_rate: 0.005
    per_device_batch_size: 1
    max_steps: 5
",
            fixture("toy.py")
        ),
    );
    let run = ws.run_read_only(&["run", "manifests/typo.yaml"]);
    run.code(2)
        .stderr_has("manifests/typo.yaml:6:")
        .stderr_has("/spec/command/3")
        .stderr_has("unknown variable `learning_rat`")
        .stderr_has("learning_rate");
    ws.run_read_only(&["validate", "manifests/typo.yaml"])
        .code(2);
}

#[test]
fn a_command_that_does_not_exist_is_bad_input_before_anything_runs() {
    let ws = Workspace::new();
    ws.file(
        "manifests/missing.yaml",
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: missing
spec:
  command: [\"no-such-trainer-xyz\", \"--fast\"]
  training:
    learning_rate: 0.01
    per_device_batch_size: 1
    max_steps: 3
",
    );
    ws.run_read_only(&["run", "manifests/missing.yaml"])
        .code(2)
        .stderr_has("/spec/command/0")
        .stderr_has("`no-such-trainer-xyz` is not on PATH");
}

#[test]
fn model_and_command_together_or_neither_are_refused() {
    let ws = Workspace::new();
    ws.file(
        "manifests/both.yaml",
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: both
spec:
  command: [\"true\"]
  model:
    preset: gpt-nano
  training:
    learning_rate: 0.01
    per_device_batch_size: 1
    max_steps: 3
",
    );
    ws.run_read_only(&["validate", "manifests/both.yaml"])
        .code(2)
        .stderr_has("`model` is for the built-in trainer");
    ws.file(
        "manifests/neither.yaml",
        "apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: neither
spec:
  training:
    learning_rate: 0.01
    per_device_batch_size: 1
    max_steps: 3
",
    );
    ws.run_read_only(&["validate", "manifests/neither.yaml"])
        .code(2)
        .stderr_has("`model` is missing");
}
