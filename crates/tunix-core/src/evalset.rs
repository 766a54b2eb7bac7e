//! Eval sets: versioned JSONL files of items (`evalsets/*.jsonl`), their
//! validation (per line, with line numbers) and summary statistics.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::file_kind::{self, JsonlKind};
use crate::fsutil::blake3_hex;
use crate::jsonl::{self, Content};
use crate::location::Location;
use crate::schema_check::CompiledSchema;

/// Largest eval-set file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// What an item tests.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Short deterministic answers.
    Core,
    /// Reasoning steps matter: the item lists intermediate values a correct
    /// trace contains.
    Trace,
    /// Answer formatting: whitespace, casing, separators, currency, numeric
    /// equivalence.
    Edge,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Core => "core",
            Category::Trace => "trace",
            Category::Edge => "edge",
        }
    }
}

/// One line of an eval set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EvalItem {
    /// Stable, unique id, e.g. `core-001`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"))]
    pub id: String,
    pub category: Category,
    /// The question, without the model's prompt template.
    #[schemars(length(min = 1))]
    pub prompt: String,
    /// The reference answer, as a person would write it.
    #[schemars(length(min = 1))]
    pub expected_answer: String,
    /// `trace` items only: intermediate values a correct trace contains.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_values: Vec<String>,
    /// Free-form tags, e.g. the operations involved or the formatting trap.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A validated eval set.
#[derive(Debug, Clone)]
pub struct EvalSet {
    pub path: PathBuf,
    pub items: Vec<EvalItem>,
    /// blake3 of the file's bytes: the eval set's version.
    pub blake3: String,
    pub bytes: usize,
}

/// Summary statistics of an eval set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalSetStats {
    pub file: String,
    pub items: usize,
    pub blake3: String,
    pub bytes: usize,
    pub categories: BTreeMap<String, usize>,
    pub answer_types: BTreeMap<String, usize>,
    pub trace_required_values: usize,
    pub prompt_chars_min: usize,
    pub prompt_chars_max: usize,
    pub prompt_chars_mean: f64,
}

fn item_schema() -> &'static CompiledSchema {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        CompiledSchema::new(crate::schema_check::generate::<EvalItem>())
            .unwrap_or_else(|e| panic!("generated eval-item schema must compile: {e}"))
    })
}

/// Read and validate the eval set at `path` (`shown` names it in messages).
/// Every problem in the file is reported, each with its line number.
pub fn load(path: &Path, shown: &str) -> Result<EvalSet, Vec<Diagnostic>> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![Diagnostic::new(
            shown,
            "",
            format!("cannot read the file: {e}"),
        )]
    })?;
    let items = parse(shown, &bytes)?;
    Ok(EvalSet {
        path: path.to_path_buf(),
        items,
        blake3: blake3_hex(&bytes),
        bytes: bytes.len(),
    })
}

/// Parse and validate eval-set bytes.
pub fn parse(shown: &str, bytes: &[u8]) -> Result<Vec<EvalItem>, Vec<Diagnostic>> {
    jsonl::check_size(shown, bytes, MAX_FILE_BYTES, "eval sets")?;
    if let Some(message) = file_kind::mismatch(file_kind::of_bytes(bytes), JsonlKind::EvalSet) {
        return Err(vec![Diagnostic::new(shown, "", message).help(
            "give the eval set here; predictions are scored with `tunix-rt eval EVALSET --predictions FILE` or an Eval manifest's `model: { predictions: FILE }`",
        )]);
    }
    let mut problems = Vec::new();
    let mut items = Vec::new();
    let mut first_line_of: HashMap<String, usize> = HashMap::new();
    for line in jsonl::lines(bytes) {
        let n = line.number;
        let text = match line.content {
            Content::Text(text) => text,
            Content::InvalidUtf8 { column, byte } => {
                problems.push(
                    Diagnostic::new(
                        shown,
                        "",
                        format!("line is not valid UTF-8 (byte 0x{byte:02X})"),
                    )
                    .at(line.at(column))
                    .help("save the file as UTF-8"),
                );
                continue;
            }
            Content::Blank => {
                if !bytes.is_empty() {
                    problems.push(
                        Diagnostic::new(shown, "", "blank line")
                            .at(line.at(1))
                            .help("JSONL holds one JSON object per line; remove the blank line"),
                    );
                }
                continue;
            }
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) if line.is_truncated(&e) => {
                problems.push(
                    Diagnostic::new(shown, "", format!("truncated last line: {e}"))
                        .at(line.at_json_error(&e))
                        .help("the file looks cut off; restore its last line"),
                );
                continue;
            }
            Err(e) => {
                problems.push(
                    Diagnostic::new(shown, "", format!("invalid JSON: {e}"))
                        .at(line.at_json_error(&e)),
                );
                continue;
            }
        };
        let issues = item_schema().check(&value);
        if !issues.is_empty() {
            for i in issues {
                let d = Diagnostic::new(shown, &i.pointer, i.message).at(line.at(1));
                problems.push(match i.help {
                    Some(h) => d.help(h),
                    None => d,
                });
            }
            continue;
        }
        let item: EvalItem = match serde_json::from_value(value) {
            Ok(item) => item,
            Err(e) => {
                problems
                    .push(Diagnostic::new(shown, "", format!("invalid item: {e}")).at(line.at(1)));
                continue;
            }
        };
        for (pointer, message) in item_problems(&item) {
            problems.push(Diagnostic::new(shown, &pointer, message).at(line.at(1)));
        }
        match first_line_of.get(&item.id) {
            Some(first) => problems.push(
                Diagnostic::new(
                    shown,
                    "/id",
                    format!("duplicate id `{}` (first on line {first})", item.id),
                )
                .at(line.at(1))
                .help("ids must be unique and stable; give this item a new id"),
            ),
            None => {
                first_line_of.insert(item.id.clone(), n);
            }
        }
        items.push(item);
    }
    if items.is_empty() && problems.is_empty() {
        problems.push(
            Diagnostic::new(shown, "", "the eval set has no items")
                .at(Some(Location { line: 1, column: 1 })),
        );
    }
    if problems.is_empty() {
        Ok(items)
    } else {
        Err(problems)
    }
}

/// Rules the schema cannot express.
fn item_problems(item: &EvalItem) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (pointer, text) in [
        ("/prompt", &item.prompt),
        ("/expected_answer", &item.expected_answer),
    ] {
        if text.trim().is_empty() {
            out.push((pointer.to_string(), "must not be blank".to_string()));
        }
    }
    match item.category {
        Category::Trace if item.required_values.is_empty() => out.push((
            "/required_values".to_string(),
            "trace items need required_values: the intermediate values a correct trace contains"
                .to_string(),
        )),
        Category::Core | Category::Edge if !item.required_values.is_empty() => out.push((
            "/required_values".to_string(),
            format!(
                "required_values is only for trace items, not `{}`",
                item.category.as_str()
            ),
        )),
        _ => {}
    }
    for (i, v) in item.required_values.iter().enumerate() {
        if v.trim().is_empty() {
            out.push((
                format!("/required_values/{i}"),
                "must not be blank".to_string(),
            ));
        }
    }
    out
}

/// How an expected answer is written.
pub fn answer_type(answer: &str) -> &'static str {
    let t = answer.trim().trim_end_matches('.').trim();
    let lower = t.to_lowercase();
    if lower == "yes" || lower == "no" {
        return "yes_no";
    }
    if t.ends_with('%') {
        return "percent";
    }
    if t.contains(['$', '€', '£']) {
        return "currency";
    }
    let digits = t
        .trim_start_matches(['+', '-', '\u{2212}'])
        .replace(',', "");
    if !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()) {
        return "integer";
    }
    if digits.parse::<f64>().is_ok() {
        return "decimal";
    }
    "text"
}

impl EvalSet {
    pub fn stats(&self, shown: &str) -> EvalSetStats {
        let mut categories = BTreeMap::new();
        let mut answer_types = BTreeMap::new();
        for c in [Category::Core, Category::Trace, Category::Edge] {
            categories.insert(c.as_str().to_string(), 0);
        }
        for item in &self.items {
            *categories
                .entry(item.category.as_str().to_string())
                .or_insert(0) += 1;
            *answer_types
                .entry(answer_type(&item.expected_answer).to_string())
                .or_insert(0) += 1;
        }
        let lens: Vec<usize> = self
            .items
            .iter()
            .map(|i| i.prompt.chars().count())
            .collect();
        EvalSetStats {
            file: shown.to_string(),
            items: self.items.len(),
            blake3: self.blake3.clone(),
            bytes: self.bytes,
            categories,
            answer_types,
            trace_required_values: self.items.iter().map(|i| i.required_values.len()).sum(),
            prompt_chars_min: lens.iter().copied().min().unwrap_or(0),
            prompt_chars_max: lens.iter().copied().max().unwrap_or(0),
            prompt_chars_mean: if lens.is_empty() {
                0.0
            } else {
                lens.iter().sum::<usize>() as f64 / lens.len() as f64
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id": "core-001", "category": "core", "prompt": "2+2?", "expected_answer": "4"}
{"id": "trace-001", "category": "trace", "prompt": "3*4-1?", "expected_answer": "11", "required_values": ["12"]}
"#;

    fn errors(text: &[u8]) -> Vec<String> {
        parse("e.jsonl", text)
            .expect_err("should fail")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn good_file_parses() {
        let items = parse("e.jsonl", GOOD.as_bytes()).expect("valid");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].required_values, vec!["12"]);
    }

    #[test]
    fn duplicate_ids_name_both_lines() {
        let text = format!("{GOOD}{}\n", GOOD.lines().next().expect("line"));
        let errs = errors(text.as_bytes());
        assert_eq!(errs, vec!["e.jsonl:3:1: error: duplicate id `core-001` (first on line 1) (at /id)\n    help: ids must be unique and stable; give this item a new id"]);
    }

    #[test]
    fn unknown_category_and_empty_fields() {
        let errs = errors(
            br#"{"id": "a", "category": "cor", "prompt": "", "expected_answer": " "}
"#,
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("string `cor` is not allowed here")
                    && e.contains("did you mean `core`?")),
            "{errs:?}"
        );
        assert!(
            errs.iter()
                .any(|e| e.contains("must not be empty (at /prompt)")),
            "{errs:?}"
        );
    }

    #[test]
    fn blank_fields_and_trace_rules() {
        let errs = errors(
            br#"{"id": "a", "category": "trace", "prompt": "q", "expected_answer": "  "}
{"id": "b", "category": "core", "prompt": "q", "expected_answer": "1", "required_values": ["2"]}
"#,
        );
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].contains("must not be blank (at /expected_answer)"));
        assert!(errs[1].contains("trace items need required_values"));
        assert!(errs[2].starts_with("e.jsonl:2:1") && errs[2].contains("only for trace items"));
    }

    #[test]
    fn truncated_last_line_is_named() {
        let text = format!("{}{}", GOOD, r#"{"id": "x", "categ"#);
        let errs = errors(text.as_bytes());
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("e.jsonl:3:") && errs[0].contains("truncated last line"),
            "{errs:?}"
        );
    }

    #[test]
    fn invalid_utf8_and_bad_json_and_blank_lines() {
        let errs = errors(b"{\"id\": \"a\xff\"}\n\nnot json\n");
        assert_eq!(errs.len(), 3, "{errs:?}");
        assert!(errs[0].starts_with("e.jsonl:1:10") && errs[0].contains("not valid UTF-8"));
        assert!(errs[1].starts_with("e.jsonl:2:1") && errs[1].contains("blank line"));
        assert!(errs[2].starts_with("e.jsonl:3:") && errs[2].contains("invalid JSON"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse("e.jsonl", &bytes);
        }
    }

    #[test]
    fn empty_file_is_refused() {
        assert!(errors(b"")[0].contains("no items"));
    }

    #[test]
    fn answer_types() {
        assert_eq!(answer_type("1,000"), "integer");
        assert_eq!(answer_type("$5.00"), "currency");
        assert_eq!(answer_type("0.50"), "decimal");
        assert_eq!(answer_type("YES"), "yes_no");
        assert_eq!(answer_type("25%"), "percent");
        assert_eq!(answer_type("15."), "integer");
        assert_eq!(answer_type("-3"), "integer");
        assert_eq!(answer_type("blue"), "text");
    }
}
