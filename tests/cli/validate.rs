//! `tunix-rt validate`: every bad-input class of a manifest's own text
//! and the files it names gets a located message, exit 2, and writes
//! nothing. Sweep bases and slurm blocks are in validate_sweep.rs,
//! evidence folders and files in validate_evidence.rs.

use crate::support::{repo, Workspace};

pub(crate) const TRAIN: &str = "\
apiVersion: tunix-rt/v1
kind: Train
metadata:
  name: t1
spec:
  model:
    preset: gpt-nano
  dataset:
    name: dev-reasoning-v2
  training:
    learning_rate: 1.0e-3
    per_device_batch_size: 8
    warmup_steps: 10
    max_steps: 100
  eval:
    evalset: ../evalsets/eval_v2.jsonl
";

fn sweep(search_space: &str) -> String {
    format!(
        "\
apiVersion: tunix-rt/v1
kind: Sweep
metadata:
  name: s1
spec:
  base: train.yaml
  search_space:
{search_space}
  num_samples: 4
"
    )
}

/// Validate one manifest; expect exit 2 and each `expected` text on stderr.
fn bad(contents: impl AsRef<[u8]>, expected: &[&str]) {
    let ws = Workspace::new();
    ws.file("manifests/train.yaml", TRAIN);
    ws.file("manifests/m.yaml", contents);
    let run = ws.run_read_only(&["validate", "manifests/m.yaml"]);
    run.code(2);
    for text in expected {
        run.stderr_has(text);
    }
}

#[test]
fn repository_manifests_and_configs_are_valid() {
    let out = assert_cmd::Command::cargo_bin("tunix-rt")
        .expect("binary")
        .args(["validate", "manifests/", "configs/"])
        .current_dir(repo())
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for name in [
        "quickstart.yaml",
        "sweep_example.yaml",
        "eval_predictions.yaml",
        "base_train.yaml",
    ] {
        assert!(stdout.contains(name), "{name} not checked: {stdout}");
    }
}

#[test]
fn repository_manifests_point_editors_at_the_schema() {
    for dir in ["manifests", "configs"] {
        for entry in std::fs::read_dir(repo().join(dir)).expect("list") {
            let path = entry.expect("entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read");
            assert!(
                text.starts_with("# yaml-language-server: $schema=../schemas/"),
                "{} lacks the schema line",
                path.display()
            );
        }
    }
}

#[test]
fn valid_manifest_passes() {
    let ws = Workspace::new();
    ws.file("manifests/train.yaml", TRAIN);
    ws.run_read_only(&["validate", "manifests/train.yaml"])
        .code(0)
        .stdout_has("manifests/train.yaml: ok (Train t1)");
}

#[test]
fn yaml_syntax_error() {
    bad(
        "apiVersion: tunix-rt/v1\nkind: [Train\n",
        &["manifests/m.yaml:", "invalid YAML"],
    );
}

#[test]
fn tab_indentation() {
    bad(
        TRAIN.replace("  name: t1", "\tname: t1"),
        &[
            "manifests/m.yaml:4:1: error: tab character in indentation",
            "spaces only",
        ],
    );
}

#[test]
fn duplicate_keys() {
    bad(
        TRAIN.replace(
            "    max_steps: 100\n",
            "    max_steps: 100\n    max_steps: 200\n",
        ),
        &["manifests/m.yaml:15:5: error: duplicate key `max_steps` (at /spec/training/max_steps)"],
    );
}

#[test]
fn unknown_kind() {
    bad(
        TRAIN.replace("kind: Train", "kind: Trian"),
        &[
            "manifests/m.yaml:2:7: error: unknown kind `Trian` (at /kind)",
            "did you mean `Train`?",
        ],
    );
}

#[test]
fn unknown_api_version() {
    bad(
        TRAIN.replace("tunix-rt/v1", "tunix-rt/v2"),
        &["manifests/m.yaml:1:13: error: string `tunix-rt/v2` is not allowed here; expected \"tunix-rt/v1\" (at /apiVersion)"],
    );
}

#[test]
fn wrong_types() {
    bad(
        TRAIN.replace("max_steps: 100", "max_steps: lots"),
        &["manifests/m.yaml:14:16: error: expected an integer, found string `lots` (at /spec/training/max_steps)"],
    );
}

#[test]
fn negative_learning_rate() {
    bad(
        TRAIN.replace("learning_rate: 1.0e-3", "learning_rate: -0.1"),
        &["manifests/m.yaml:11:20: error: number `-0.1` must be greater than 0.0 (at /spec/training/learning_rate)"],
    );
}

#[test]
fn zero_batch_size() {
    bad(
        TRAIN.replace("per_device_batch_size: 8", "per_device_batch_size: 0"),
        &["manifests/m.yaml:12:28: error: number `0` is below the minimum 1 (at /spec/training/per_device_batch_size)"],
    );
}

#[test]
fn zero_max_steps() {
    bad(
        TRAIN.replace("max_steps: 100", "max_steps: 0"),
        &["error: number `0` is below the minimum 1 (at /spec/training/max_steps)"],
    );
}

#[test]
fn warmup_longer_than_training() {
    bad(
        TRAIN.replace("warmup_steps: 10", "warmup_steps: 500"),
        &["manifests/m.yaml:13:19: error: warmup_steps (500) is larger than max_steps (100) (at /spec/training/warmup_steps)"],
    );
}

#[test]
fn uniform_low_above_high() {
    bad(
        sweep("    weight_decay: { uniform: [0.5, 0.1] }"),
        &["manifests/m.yaml:8:30: error: uniform bounds are reversed: low 0.5 > high 0.1 (at /spec/search_space/weight_decay/uniform)"],
    );
}

#[test]
fn empty_choice_list() {
    bad(
        sweep("    per_device_batch_size: { choice: [] }"),
        &["error: list has 0 item(s); at least 1 required (at /spec/search_space/per_device_batch_size/choice)"],
    );
}

#[test]
fn unknown_distribution_gets_a_suggestion() {
    bad(
        sweep("    learning_rate: { logunifrom: [1.0e-5, 1.0e-3] }"),
        &[
            "(at /spec/search_space/learning_rate)",
            "did you mean `loguniform`?",
        ],
    );
}

#[test]
fn unknown_search_parameter_gets_a_suggestion() {
    bad(
        sweep("    warmup_step: { choice: [0, 10] }"),
        &[
            "`warmup_step` is not a training parameter",
            "did you mean `warmup_steps`?",
        ],
    );
}

#[test]
fn real_distribution_for_an_integer_parameter() {
    bad(
        sweep("    per_device_batch_size: { uniform: [1, 8] }"),
        &["this parameter is an integer; `uniform` samples real numbers"],
    );
}

#[test]
fn unknown_keys_get_did_you_mean() {
    bad(
        TRAIN.replace("warmup_steps: 10", "warmup_step: 10"),
        &[
            "manifests/m.yaml:13:5: error: unknown key `warmup_step` (at /spec/training/warmup_step)",
            "help: did you mean `warmup_steps`?",
        ],
    );
}

#[test]
fn empty_file() {
    bad("", &["manifests/m.yaml:1:1: error: the document is empty"]);
}

#[test]
fn list_where_a_mapping_belongs() {
    bad("- a\n- b\n", &["manifests/m.yaml:1:1: error: expected a mapping at the top level, found a list of 2 item(s)"]);
    bad(
        TRAIN.replace("    preset: gpt-nano", "    - gpt-nano"),
        &["manifests/m.yaml:7:5: error: expected a mapping, found a list of 1 item(s) (at /spec/model)"],
    );
}

#[test]
fn non_utf8_bytes() {
    let mut bytes = TRAIN.as_bytes().to_vec();
    bytes.extend_from_slice(b"# caf\xe9\n");
    bad(
        bytes,
        &["manifests/m.yaml:17:6: error: file is not valid UTF-8 (byte 0xE9)"],
    );
}

#[test]
fn alias_bomb_is_refused_in_bounded_time() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..20 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    bad(text, &["aliases expand to more than"]);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
}

#[test]
fn very_deep_nesting_is_refused() {
    let text = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    bad(text, &["manifests/m.yaml:1:", "recursion limit exceeded"]);
    let block: String = (0..100)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
        .collect();
    bad(
        block,
        &["manifests/m.yaml:65:", "nesting deeper than 64 levels"],
    );
}

#[test]
fn relative_path_escaping_the_workspace() {
    bad(
        TRAIN.replace("../evalsets/eval_v2.jsonl", "../../../etc/passwd"),
        &[
            "manifests/m.yaml:16:14: error: relative path `../../../etc/passwd` resolves to",
            "outside the workspace",
            "(at /spec/eval/evalset)",
        ],
    );
}

#[test]
fn missing_input_file() {
    bad(
        TRAIN.replace("eval_v2.jsonl", "eval_v9.jsonl"),
        &["error: `../evalsets/eval_v9.jsonl` does not exist"],
    );
}

#[test]
fn every_file_is_checked_and_every_error_reported() {
    let ws = Workspace::new();
    ws.file(
        "manifests/a.yaml",
        TRAIN.replace("max_steps: 100", "max_steps: 0"),
    );
    ws.file(
        "manifests/b.yaml",
        TRAIN.replace("kind: Train", "kind: Nope"),
    );
    ws.file("manifests/c.yaml", TRAIN);
    ws.file(
        "manifests/d.yaml",
        TRAIN
            .replace("learning_rate: 1.0e-3", "learning_rate: 0")
            .replace("preset: gpt-nano", "preset: gpt-huge"),
    );
    let run = ws.run_read_only(&["validate", "manifests"]);
    run.code(2)
        .stdout_has("manifests/c.yaml: ok")
        .stdout_has("checked 4 file(s): 1 ok, 3 with errors")
        .stderr_has("manifests/a.yaml:14:16")
        .stderr_has("manifests/b.yaml:2:7")
        .stderr_has("(at /spec/model/preset)")
        .stderr_has("(at /spec/training/learning_rate)")
        .stderr_has("error: 4 problem(s) in 3 file(s); nothing was run");
}

#[test]
fn json_format_for_machines() {
    let ws = Workspace::new();
    ws.file(
        "manifests/a.yaml",
        TRAIN.replace("warmup_steps", "warmup_step"),
    );
    let run = ws.run_read_only(&["validate", "--format", "json", "manifests/a.yaml"]);
    run.code(2);
    let v = run.json();
    assert_eq!(v["ok"], false);
    let err = &v["files"][0]["errors"][0];
    assert_eq!(err["file"], "manifests/a.yaml");
    assert_eq!(err["line"], 13);
    assert_eq!(err["column"], 5);
    assert_eq!(err["pointer"], "/spec/training/warmup_step");
    assert_eq!(err["help"], "did you mean `warmup_steps`?");
}

#[test]
fn missing_path_is_reported() {
    let ws = Workspace::new();
    ws.run_read_only(&["validate", "manifests/nope.yaml"])
        .code(2)
        .stderr_has("manifests/nope.yaml: error: cannot read");
}

#[test]
fn a_predictions_file_given_as_the_eval_set_is_named_in_one_line() {
    let ws = Workspace::new();
    ws.file("preds/model-x.jsonl", crate::support::predictions(&ws, 4));
    ws.file(
        "manifests/e.yaml",
        "apiVersion: tunix-rt/v1\nkind: Eval\nmetadata: { name: swapped }\nspec:\n  evalset: ../preds/model-x.jsonl\n  model: { predictions: ../evalsets/eval_v2.jsonl }\n",
    );
    ws.file(
        "manifests/t.yaml",
        TRAIN.replace("../evalsets/eval_v2.jsonl", "../preds/model-x.jsonl"),
    );
    for command in ["validate", "run"] {
        let run = ws.run_read_only(&[command, "manifests/e.yaml"]);
        run.code(2)
            .stderr_has(r#"`../preds/model-x.jsonl`: this is a predictions file (lines {"id", "output"}), not an eval set (lines {"id", "category", "prompt", "expected_answer"}) (at /spec/evalset)"#)
            .stderr_has("`../evalsets/eval_v2.jsonl`: this is an eval set (lines {\"id\", \"category\", \"prompt\", \"expected_answer\"}), not a predictions file (lines {\"id\", \"output\"}) (at /spec/model/predictions)");
        assert_eq!(
            run.stderr.matches("error:").count(),
            3,
            "one line per misplaced file, then the summary: {}",
            run.stderr
        );
    }
    ws.run_read_only(&["validate", "manifests/t.yaml"])
        .code(2)
        .stderr_has("this is a predictions file")
        .stderr_has("(at /spec/eval/evalset)");
    let swapped = ws.run_read_only(&[
        "eval",
        "--evalset",
        "preds/model-x.jsonl",
        "--predictions",
        "evalsets/eval_v2.jsonl",
    ]);
    swapped
        .code(2)
        .stderr_has("preds/model-x.jsonl: error: this is a predictions file");
    assert_eq!(
        swapped.stderr.matches("error:").count(),
        2,
        "{}",
        swapped.stderr
    );
}
