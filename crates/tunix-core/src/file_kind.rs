//! What a JSONL file is, told from the keys of its first line: a file given
//! where another kind belongs (a predictions file as an eval set, ...) is
//! named for what it is in one line, instead of one error per line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::{Map, Value};

/// Longest first line read to tell a file's kind, in bytes.
const MAX_FIRST_LINE: u64 = 1 << 20;

/// The JSONL formats this tool reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonlKind {
    /// An eval set: `{"id", "category", "prompt", "expected_answer", ...}`.
    EvalSet,
    /// Predictions: `{"id", "output"}`.
    Predictions,
    /// A run's scored items (`eval_items.jsonl`): `{"id", "output",
    /// "extracted", "answer_correctness", ...}`.
    EvalRecords,
    /// Training data: `{"prompt", "completion"}` or `{"messages"}`.
    TrainingData,
    /// Metrics (`metrics.jsonl`): `{"step", "loss", ...}`.
    Metrics,
}

impl JsonlKind {
    /// The kind, with the line shape that shows it.
    pub fn describe(self) -> &'static str {
        match self {
            JsonlKind::EvalSet => {
                r#"an eval set (lines {"id", "category", "prompt", "expected_answer"})"#
            }
            JsonlKind::Predictions => r#"a predictions file (lines {"id", "output"})"#,
            JsonlKind::EvalRecords => {
                r#"a run's scored items, eval_items.jsonl (lines {"id", "output", "extracted", "answer_correctness", ...})"#
            }
            JsonlKind::TrainingData => {
                r#"training data (lines {"prompt", "completion"} or {"messages"})"#
            }
            JsonlKind::Metrics => r#"a metrics file (lines {"step", "loss", ...})"#,
        }
    }

    /// The kind of a line, when its keys show one.
    pub fn of_line(line: &str) -> Option<JsonlKind> {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(map)) => Self::of_object(&map),
            _ => None,
        }
    }

    fn of_object(map: &Map<String, Value>) -> Option<JsonlKind> {
        let has = |key: &str| map.contains_key(key);
        if has("expected_answer") && (has("prompt") || has("question")) {
            Some(JsonlKind::EvalSet)
        } else if has("answer_correctness") || (has("output") && has("extracted")) {
            Some(JsonlKind::EvalRecords)
        } else if has("id") && has("output") {
            Some(JsonlKind::Predictions)
        } else if has("messages") || (has("prompt") && has("completion")) {
            Some(JsonlKind::TrainingData)
        } else if has("step") && (has("loss") || has("val_loss") || has("lr")) {
            Some(JsonlKind::Metrics)
        } else {
            None
        }
    }
}

/// The kind of the JSONL bytes, from their first line that is not blank.
pub fn of_bytes(bytes: &[u8]) -> Option<JsonlKind> {
    bytes
        .split(|b| *b == b'\n')
        .map(|line| line.trim_ascii())
        .find(|line| !line.is_empty())
        .and_then(|line| std::str::from_utf8(line).ok())
        .and_then(JsonlKind::of_line)
}

/// The kind of the file at `path`, from its first line that is not blank
/// (none when it cannot be read or its first line shows no kind).
pub fn of_file(path: &Path) -> Option<JsonlKind> {
    let file = std::fs::File::open(path).ok()?;
    let mut reader = BufReader::new(file.take(MAX_FIRST_LINE));
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if !line.trim().is_empty() {
            return JsonlKind::of_line(&line);
        }
    }
}

/// The one-line complaint about a file of kind `found` where `expected`
/// belongs, when they differ.
pub fn mismatch(found: Option<JsonlKind>, expected: JsonlKind) -> Option<String> {
    let found = found.filter(|k| *k != expected)?;
    Some(format!(
        "this is {}, not {}",
        found.describe(),
        expected.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_format_is_told_by_its_keys() {
        let cases = [
            (
                r#"{"id":"a","category":"core","prompt":"1+1?","expected_answer":"2"}"#,
                Some(JsonlKind::EvalSet),
            ),
            (
                r#"{"id":"a","output":"Answer: 2"}"#,
                Some(JsonlKind::Predictions),
            ),
            (
                r#"{"id":"a","category":"core","expected":"2","output":"2","extracted":"2","answer_correctness":1.0}"#,
                Some(JsonlKind::EvalRecords),
            ),
            (
                r#"{"prompt":"1+1?","completion":"2"}"#,
                Some(JsonlKind::TrainingData),
            ),
            (r#"{"messages":[]}"#, Some(JsonlKind::TrainingData)),
            (r#"{"step":3,"loss":1.5}"#, Some(JsonlKind::Metrics)),
            (r#"{"id":"a"}"#, None),
            ("not json", None),
            ("[1, 2]", None),
        ];
        for (line, kind) in cases {
            assert_eq!(JsonlKind::of_line(line), kind, "{line}");
        }
    }

    #[test]
    fn the_first_line_that_is_not_blank_decides() {
        let bytes = b"\n  \n{\"id\":\"a\",\"output\":\"x\"}\n{\"step\":1,\"loss\":2}\n";
        assert_eq!(of_bytes(bytes), Some(JsonlKind::Predictions));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.jsonl");
        std::fs::write(&path, bytes).expect("write");
        assert_eq!(of_file(&path), Some(JsonlKind::Predictions));
        assert_eq!(of_file(&dir.path().join("missing.jsonl")), None);
    }

    #[test]
    fn a_mismatch_says_what_the_file_is_and_what_was_expected() {
        let text = mismatch(Some(JsonlKind::Predictions), JsonlKind::EvalSet).expect("differs");
        assert_eq!(
            text,
            r#"this is a predictions file (lines {"id", "output"}), not an eval set (lines {"id", "category", "prompt", "expected_answer"})"#
        );
        assert_eq!(mismatch(Some(JsonlKind::EvalSet), JsonlKind::EvalSet), None);
        assert_eq!(mismatch(None, JsonlKind::EvalSet), None);
    }
}
