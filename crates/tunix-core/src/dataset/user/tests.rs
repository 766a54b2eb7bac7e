use std::path::Path;

use serde_json::json;

use super::*;
use crate::error::ErrorKind;

const EVAL: &str = "Mia has 4 boxes with 9 pencils in each box. She gives away 7 pencils. How many pencils does Mia have now?";

fn evals() -> EvalIndex {
    EvalIndex::from_prompts([(
        "evalsets/eval_v2.jsonl:core-001".to_string(),
        EVAL.to_string(),
    )])
}

fn config(extra: serde_json::Value) -> DatasetConfig {
    let mut value = json!({"path": "train.jsonl", "val_fraction": 0.25});
    if let (Some(map), Some(more)) = (value.as_object_mut(), extra.as_object()) {
        for (k, v) in more {
            if v.is_null() {
                map.remove(k);
            } else {
                map.insert(k.clone(), v.clone());
            }
        }
    }
    serde_json::from_value(value).expect("dataset config")
}

fn pc(i: usize) -> String {
    json!({"prompt": format!("What is {i} plus {i}?"), "completion": format!("{i}+{i}={}. Answer: {}", 2 * i, 2 * i)})
        .to_string()
}

fn lines(n: usize) -> String {
    (0..n).map(|i| pc(i) + "\n").collect()
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new(files: &[(&str, &[u8])]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in files {
            std::fs::write(dir.path().join(name), bytes).expect("write");
        }
        Dir(dir)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn load(&self, config: &DatasetConfig) -> Result<UserData> {
        let ws = Workspace::at(self.path()).expect("ws");
        load_files(config, self.path(), Some(&ws), &evals())
    }

    /// The diagnostics of a load that must fail, as printed.
    fn problems(&self, config: &DatasetConfig) -> Vec<String> {
        let err = self.load(config).expect_err("invalid data");
        assert_eq!(err.kind(), ErrorKind::BadInput, "{err}");
        assert!(!err.diagnostics().is_empty(), "{err}");
        err.diagnostics().iter().map(|d| d.to_string()).collect()
    }
}

fn bad(contents: &[u8]) -> Vec<String> {
    Dir::new(&[("train.jsonl", contents)]).problems(&config(json!({})))
}

#[test]
fn both_formats_load_with_their_answers() {
    let chat = json!({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"}
    ]});
    let text = format!(
        "{}\n{chat}\r\n{}\n",
        json!({"prompt": "Q: a\nb", "completion": "x\nAnswer: 12 \n"}),
        json!({"prompt": "", "completion": "no marker"})
    );
    let dir = Dir::new(&[
        ("train.jsonl", text.as_bytes()),
        ("val.jsonl", pc(7).as_bytes()),
    ]);
    let data = dir
        .load(&config(
            json!({"val_fraction": null, "val_path": "val.jsonl"}),
        ))
        .expect("valid");
    let mut train = data.dataset.train.clone();
    train.sort_by(|a, b| a.prompt.cmp(&b.prompt));
    assert_eq!(train.len(), 3);
    assert_eq!(
        (train[0].prompt.as_str(), train[0].answer.as_str()),
        ("", "")
    );
    assert_eq!(train[1].prompt, "Be brief.\n2+2?");
    assert_eq!(train[1].completion, "4");
    assert_eq!(train[2].prompt, "Q: a\nb");
    assert_eq!(train[2].answer, "12");
    assert!(train.iter().all(|e| e.steps == 0));
    assert_eq!(data.dataset.val.len(), 1);
    assert_eq!(data.dataset.val[0].answer, "14");
    let files = &data.files;
    assert_eq!(files.path.as_ref().unwrap().path, "train.jsonl");
    assert_eq!(
        files.path.as_ref().unwrap().blake3,
        crate::fsutil::blake3_hex(text.as_bytes())
    );
    assert_eq!(files.val_path.as_ref().unwrap().path, "val.jsonl");
}

#[test]
fn val_fraction_holds_out_a_rounded_up_share_chosen_by_the_seed() {
    let dir = Dir::new(&[("train.jsonl", lines(10).as_bytes())]);
    let a = dir
        .load(&config(json!({"seed": 1})))
        .expect("valid")
        .dataset;
    assert_eq!((a.train.len(), a.val.len()), (7, 3));
    let again = dir
        .load(&config(json!({"seed": 1})))
        .expect("valid")
        .dataset;
    assert_eq!((a.train.clone(), a.val.clone()), (again.train, again.val));
    let other = dir
        .load(&config(json!({"seed": 2})))
        .expect("valid")
        .dataset;
    assert_ne!(a.val, other.val, "another seed holds out other examples");
    let mut all: Vec<String> = a
        .train
        .iter()
        .chain(&a.val)
        .map(|e| e.prompt.clone())
        .collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 10, "every example lands in exactly one split");
}

#[test]
fn training_order_is_shuffled_by_the_seed_and_only_by_it() {
    let dir = Dir::new(&[
        ("train.jsonl", lines(20).as_bytes()),
        ("val.jsonl", pc(99).as_bytes()),
    ]);
    let cfg =
        |seed: u64| config(json!({"seed": seed, "val_fraction": null, "val_path": "val.jsonl"}));
    let order = |seed| -> Vec<String> {
        let d = dir.load(&cfg(seed)).expect("valid").dataset;
        d.train.into_iter().map(|e| e.prompt).collect()
    };
    assert_eq!(order(3), order(3));
    assert_ne!(order(3), order(4));
    let file_order: Vec<String> = (0..20).map(|i| format!("What is {i} plus {i}?")).collect();
    assert_ne!(order(3), file_order);
    assert_eq!(order(3).len(), 20, "with val_path, train is all of path");
}

#[test]
fn held_out_rounds_up_and_leaves_one_on_each_side() {
    assert_eq!(held_out(100, 0.07), 7);
    assert_eq!(held_out(10, 0.25), 3);
    assert_eq!(held_out(1000, 0.001), 1);
    assert_eq!(held_out(2, 0.01), 1);
    assert_eq!(held_out(2, 0.99), 1);
    assert_eq!(held_out(5, 0.9), 4);
}

#[test]
fn too_few_examples_for_a_split_is_an_error() {
    let dir = Dir::new(&[("train.jsonl", lines(1).as_bytes())]);
    let err = dir.load(&config(json!({}))).expect_err("one example");
    assert!(err.to_string().contains("needs at least 2"), "{err}");
}

#[test]
fn a_non_utf8_line_is_named_with_its_byte() {
    let mut bytes = lines(2).into_bytes();
    bytes.extend_from_slice(b"{\"prompt\": \"caf\xe9\", \"completion\": \"x\"}\n");
    let p = bad(&bytes);
    assert_eq!(
        p,
        vec!["train.jsonl:3:16: error: line is not valid UTF-8 (byte 0xE9)\n    help: save the file as UTF-8"]
    );
}

#[test]
fn bad_json_points_at_its_column() {
    let p = bad(format!("{}\n{{\"prompt\": \"q\",, }}\n", pc(0)).as_bytes());
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("train.jsonl:2:16: error: invalid JSON: key must be a string\n"),
        "{p:?}"
    );
}

#[test]
fn a_cut_off_last_line_is_called_truncated() {
    let p = bad(format!("{}\n{{\"prompt\": \"q\", \"comp", pc(0)).as_bytes());
    assert!(p[0].starts_with("train.jsonl:2:"), "{p:?}");
    assert!(p[0].contains("truncated last line"), "{p:?}");
}

#[test]
fn a_missing_field_is_named() {
    let p = bad(format!("{}\n{}\n", pc(0), json!({"prompt": "q"})).as_bytes());
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with(
            "train.jsonl:2:1: error: missing field `completion`\n    help: each line is"
        ),
        "{p:?}"
    );
}

#[test]
fn a_non_string_field_is_named() {
    let p = bad(format!("{}\n", json!({"prompt": "q", "completion": 5})).as_bytes());
    assert_eq!(
        p,
        vec!["train.jsonl:1:1: error: `completion` must be a string, found number `5` (at /completion)"]
    );
}

#[test]
fn an_empty_completion_is_refused() {
    let p = bad(format!("{}\n{}\n", pc(0), json!({"prompt": "q", "completion": ""})).as_bytes());
    assert!(
        p[0].starts_with("train.jsonl:2:1: error: `completion` is empty (\"\") (at /completion)"),
        "{p:?}"
    );
}

#[test]
fn wrong_role_order_and_unknown_roles_are_named() {
    let two_users = json!({"messages": [
        {"role": "user", "content": "a"}, {"role": "user", "content": "b"}
    ]});
    let tool = json!({"messages": [
        {"role": "tool", "content": "a"}, {"role": "assistant", "content": "b"}
    ]});
    let p = bad(format!("{two_users}\n{tool}\n").as_bytes());
    assert_eq!(p.len(), 2);
    assert!(
        p[0].starts_with("train.jsonl:1:1: error: message 1 is `user` where `assistant` was expected (at /messages/1/role)"),
        "{p:?}"
    );
    assert!(
        p[1].starts_with(
            "train.jsonl:2:1: error: unknown role `tool` in message 0 (at /messages/0/role)"
        ),
        "{p:?}"
    );
}

#[test]
fn unknown_keys_are_refused() {
    let p = bad(format!(
        "{}\n",
        json!({"prompt": "q", "completion": "a", "weight": 2})
    )
    .as_bytes());
    assert!(
        p[0].starts_with("train.jsonl:1:1: error: unknown key `weight` (at /weight)"),
        "{p:?}"
    );
}

#[test]
fn an_empty_file_and_blank_lines_are_refused() {
    assert_eq!(
        bad(b""),
        vec![format!(
            "train.jsonl:1:1: error: the file is empty\n    help: {}",
            line::FORMAT_HELP
        )]
    );
    let p = bad(format!("{}\n\n{}\n", pc(0), pc(1)).as_bytes());
    assert_eq!(p.len(), 1);
    assert!(
        p[0].starts_with("train.jsonl:2:1: error: blank line"),
        "{p:?}"
    );
}

#[test]
fn every_problem_of_both_files_is_reported() {
    let dir = Dir::new(&[
        ("train.jsonl", format!("{}\nnot json\n", pc(0)).as_bytes()),
        ("val.jsonl", b"{\"prompt\": \"q\"}\n"),
    ]);
    let err = dir
        .load(&config(
            json!({"val_fraction": null, "val_path": "val.jsonl"}),
        ))
        .expect_err("invalid");
    let files: Vec<(&str, Option<usize>)> = err
        .diagnostics()
        .iter()
        .map(|d| (d.file.as_str(), d.line))
        .collect();
    assert_eq!(
        files,
        vec![("train.jsonl", Some(2)), ("val.jsonl", Some(1))]
    );
}

#[test]
fn problems_past_the_limit_are_counted_not_listed() {
    let text = "x\n".repeat(MAX_LISTED_PROBLEMS + 7);
    let p = bad(text.as_bytes());
    assert_eq!(p.len(), MAX_LISTED_PROBLEMS + 1);
    assert_eq!(
        p.last().unwrap(),
        "train.jsonl: error: ... and 7 more problem(s) not listed"
    );
}

#[test]
fn a_missing_file_is_bad_input() {
    let dir = Dir::new(&[]);
    let err = dir.load(&config(json!({}))).expect_err("missing");
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains("train.jsonl"), "{err}");
}

fn contaminated() -> String {
    let chat = json!({"messages": [
        {"role": "system", "content": "You are a careful tutor who explains every step of the arithmetic."},
        {"role": "user", "content": EVAL},
        {"role": "assistant", "content": "Answer: 29"}
    ]});
    format!(
        "{}\n{}\n{}{chat}\n",
        pc(0),
        json!({"prompt": EVAL, "completion": "Answer: 29"}),
        lines(6)
    )
}

#[test]
fn drop_reports_and_removes_overlapping_examples_with_their_lines() {
    let dir = Dir::new(&[("train.jsonl", contaminated().as_bytes())]);
    let data = dir.load(&config(json!({}))).expect("drop is the default");
    assert_eq!(data.rejected_at, vec!["train.jsonl:2", "train.jsonl:9"]);
    assert_eq!(data.dataset.rejected.len(), 2);
    assert_eq!(
        data.dataset.rejected[0].overlap.eval_item,
        "evalsets/eval_v2.jsonl:core-001"
    );
    let all = data.dataset.train.len() + data.dataset.val.len();
    assert_eq!(all, 7);
    assert!(data
        .dataset
        .train
        .iter()
        .chain(&data.dataset.val)
        .all(|e| !e.prompt.contains("Mia")));
}

#[test]
fn refuse_names_the_overlapping_lines_and_the_fix() {
    let dir = Dir::new(&[("train.jsonl", contaminated().as_bytes())]);
    let err = dir
        .load(&config(json!({"overlap": "refuse"})))
        .expect_err("refused");
    assert_eq!(err.exit_code(), 2);
    let text = err.to_string();
    assert!(text.contains("2 example(s) overlap an eval set"), "{text}");
    assert!(
        text.contains("train.jsonl:2 ~ evalsets/eval_v2.jsonl:core-001 (exact)"),
        "{text}"
    );
    assert!(
        text.contains("train.jsonl:9 ~ evalsets/eval_v2.jsonl:core-001"),
        "{text}"
    );
    assert!(text.contains("set `dataset.overlap: drop`"), "{text}");
}

#[test]
fn a_file_of_only_eval_questions_leaves_nothing_to_train_on() {
    let text = format!("{}\n", json!({"prompt": EVAL, "completion": "29"}));
    let dir = Dir::new(&[
        ("train.jsonl", text.as_bytes()),
        ("val.jsonl", lines(2).as_bytes()),
    ]);
    let err = dir
        .load(&config(
            json!({"val_fraction": null, "val_path": "val.jsonl"}),
        ))
        .expect_err("empty");
    assert!(err.to_string().contains("no examples left"), "{err}");
}

#[test]
fn the_config_needs_one_way_to_validate() {
    let dir = Dir::new(&[("train.jsonl", lines(4).as_bytes())]);
    let err = dir
        .load(&config(json!({"val_fraction": null})))
        .expect_err("no validation");
    assert!(err.to_string().contains("val_path"), "{err}");
}

#[test]
fn display_names_say_where_validation_comes_from() {
    assert_eq!(
        display_name(&config(json!({"seed": 3}))),
        "train.jsonl (val_fraction 0.25, seed 3)"
    );
    assert_eq!(
        display_name(&config(
            json!({"val_fraction": null, "val_path": "v.jsonl"})
        )),
        "train.jsonl + v.jsonl (seed 0)"
    );
}

#[test]
fn hashing_alone_gives_the_same_file_hashes_as_loading() {
    let dir = Dir::new(&[
        ("train.jsonl", lines(4).as_bytes()),
        ("val.jsonl", pc(9).as_bytes()),
    ]);
    let cfg = config(json!({"val_fraction": null, "val_path": "val.jsonl"}));
    let ws = Workspace::at(dir.path()).expect("ws");
    let hashed = hash_files(&cfg, dir.path(), Some(&ws)).expect("hashed");
    assert_eq!(hashed, dir.load(&cfg).expect("valid").files);
    let generated = config(json!({"name": "dev-reasoning-v2"}));
    assert_eq!(
        hash_files(&generated, dir.path(), None).expect("nothing to hash"),
        DataFiles::default()
    );
}
