//! Predictions from any model: JSONL lines `{"id": ..., "output": ...}`,
//! validated against the eval set they answer.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;
use crate::evalset::EvalItem;
use crate::file_kind::{self, JsonlKind};
use crate::fsutil::blake3_hex;
use crate::jsonl::{self, Content};

/// Largest single output accepted, in bytes. Larger outputs mean a broken
/// file (or a model that never stopped), so they are refused, not truncated.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;
/// Largest predictions file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 30;

/// One line of a predictions file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prediction {
    /// The eval item's id.
    #[schemars(length(min = 1))]
    pub id: String,
    /// The model's raw output text for the item's prompt.
    pub output: String,
}

/// A validated predictions file, keyed by item id.
#[derive(Debug, Clone)]
pub struct Predictions {
    pub by_id: BTreeMap<String, String>,
    pub blake3: String,
    /// Ids whose output is empty (scored as incorrect, and listed).
    pub empty_outputs: Vec<String>,
}

/// Read and validate the predictions at `path` against `items`. Every
/// problem is reported with its line number: malformed lines, unknown ids,
/// duplicate ids, oversized outputs, invalid UTF-8. Items with no prediction
/// are not an error here; they are scored as skipped.
pub fn load(path: &Path, shown: &str, items: &[EvalItem]) -> Result<Predictions, Vec<Diagnostic>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![Diagnostic::new(
            shown,
            "",
            format!("cannot read the file: {e}"),
        )]
    })?;
    parse(shown, &bytes, items)
}

/// Validate predictions bytes against `items`.
pub fn parse(
    shown: &str,
    bytes: &[u8],
    items: &[EvalItem],
) -> Result<Predictions, Vec<Diagnostic>> {
    jsonl::check_size(shown, bytes, MAX_FILE_BYTES, "predictions")?;
    if let Some(message) = file_kind::mismatch(file_kind::of_bytes(bytes), JsonlKind::Predictions) {
        return Err(vec![Diagnostic::new(shown, "", message).help(
            r#"give the model's outputs here, one {"id", "output"} line per eval item"#,
        )]);
    }
    let known: HashSet<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let mut problems = Vec::new();
    let mut by_id = BTreeMap::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut empty_outputs = Vec::new();
    for line in jsonl::lines(bytes) {
        let n = line.number;
        let text = match line.content {
            Content::Text(text) => text,
            Content::InvalidUtf8 { column, .. } => {
                problems.push(
                    Diagnostic::new(shown, "", "line is not valid UTF-8")
                        .at(line.at(column))
                        .help("write predictions as UTF-8 JSON (non-ASCII as \\u escapes is fine)"),
                );
                continue;
            }
            Content::Blank => {
                problems.push(Diagnostic::new(shown, "", "blank line").at(line.at(1)));
                continue;
            }
        };
        let p: Prediction = match serde_json::from_str(text) {
            Ok(p) => p,
            Err(e) => {
                let what = if line.is_truncated(&e) {
                    "truncated last line"
                } else {
                    "malformed line"
                };
                problems.push(
                    Diagnostic::new(shown, "", format!("{what}: {e}"))
                        .at(line.at_json_error(&e))
                        .help("each line must be {\"id\": \"...\", \"output\": \"...\"}"),
                );
                continue;
            }
        };
        if p.output.len() > MAX_OUTPUT_BYTES {
            problems.push(
                Diagnostic::new(
                    shown,
                    "/output",
                    format!(
                        "output of `{}` is {} bytes; outputs are limited to {MAX_OUTPUT_BYTES}",
                        p.id,
                        p.output.len()
                    ),
                )
                .at(line.at(1))
                .help("cap generation length (max_new_tokens) when producing predictions"),
            );
            continue;
        }
        if !known.contains(p.id.as_str()) {
            problems.push(
                Diagnostic::new(
                    shown,
                    "/id",
                    format!("unknown id `{}`: not in the eval set", p.id),
                )
                .at(line.at(1))
                .help("predictions must answer items of the eval set they are scored on"),
            );
            continue;
        }
        if let Some(first) = first_line.get(&p.id) {
            problems.push(
                Diagnostic::new(
                    shown,
                    "/id",
                    format!("duplicate id `{}` (first on line {first})", p.id),
                )
                .at(line.at(1)),
            );
            continue;
        }
        first_line.insert(p.id.clone(), n);
        if p.output.trim().is_empty() {
            empty_outputs.push(p.id.clone());
        }
        by_id.insert(p.id, p.output);
    }
    if problems.is_empty() {
        empty_outputs.sort();
        Ok(Predictions {
            by_id,
            blake3: blake3_hex(bytes),
            empty_outputs,
        })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evalset::Category;

    fn items() -> Vec<EvalItem> {
        ["a", "b", "c"]
            .iter()
            .map(|id| EvalItem {
                id: id.to_string(),
                category: Category::Core,
                prompt: "q".into(),
                expected_answer: "1".into(),
                required_values: vec![],
                tags: vec![],
            })
            .collect()
    }

    fn errors(text: &[u8]) -> Vec<String> {
        parse("p.jsonl", text, &items())
            .expect_err("should fail")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn good_predictions_and_missing_items() {
        let p = parse(
            "p.jsonl",
            b"{\"id\": \"a\", \"output\": \"1\"}\n{\"id\": \"b\", \"output\": \"  \"}\n",
            &items(),
        )
        .expect("valid");
        assert_eq!(p.by_id.len(), 2);
        assert_eq!(p.empty_outputs, vec!["b"]);
    }

    #[test]
    fn every_bad_line_is_reported() {
        let errs = errors(
            b"{\"id\": \"a\", \"output\": \"1\"}\n{\"id\": \"zz\", \"output\": \"1\"}\n{\"id\": \"a\", \"output\": \"2\"}\nnot json\n{\"id\": \"b\", \"output\": \"\xff\"}\n{\"id\": \"c\", \"outp",
        );
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(errs[0].starts_with("p.jsonl:2:1") && errs[0].contains("unknown id `zz`"));
        assert!(
            errs[1].starts_with("p.jsonl:3:1")
                && errs[1].contains("duplicate id `a` (first on line 1)")
        );
        assert!(errs[2].starts_with("p.jsonl:4:") && errs[2].contains("malformed line"));
        assert!(errs[3].starts_with("p.jsonl:5:24") && errs[3].contains("not valid UTF-8"));
        assert!(errs[4].starts_with("p.jsonl:6:") && errs[4].contains("truncated last line"));
    }

    #[test]
    fn huge_outputs_are_refused() {
        let big = "x".repeat(MAX_OUTPUT_BYTES + 1);
        let text = format!("{{\"id\": \"a\", \"output\": \"{big}\"}}\n");
        let errs = errors(text.as_bytes());
        assert!(errs[0].contains("outputs are limited to"), "{errs:?}");
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse("p.jsonl", &bytes, &items());
        }
    }

    #[test]
    fn unknown_fields_are_refused() {
        let errs = errors(b"{\"id\": \"a\", \"output\": \"1\", \"score\": 3}\n");
        assert!(errs[0].contains("unknown field `score`"), "{errs:?}");
    }
}
