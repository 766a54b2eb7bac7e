//! A run's `eval_items.jsonl` as one column-at-a-time batch for the
//! `eval_items` table: each line is validated as an [`EvalItemRecord`]
//! (unknown fields, wrong types and missing fields are refused with the
//! line number) and its fields are pushed onto Arrow columns, which the
//! writer hands to DuckDB's appender in one call.

use std::sync::{Arc, OnceLock};

use duckdb::arrow::array::{ArrayRef, Float64Builder, StringBuilder};
use duckdb::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use duckdb::arrow::record_batch::RecordBatch;

use crate::runfolder::{EvalItemRecord, EVAL_ITEMS};
use crate::scoring::ExtractRule;

/// Why `eval_items.jsonl` cannot be indexed: the line at fault where there
/// is one. Shown as `eval_items.jsonl:line: message`; the run folder's
/// reader makes it a `FolderError` of that file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {}", EVAL_ITEMS, .line.map(|l| format!(":{l}")).unwrap_or_default(), .message)]
pub struct ItemsError {
    /// 1-based line in `eval_items.jsonl`.
    pub line: Option<usize>,
    pub message: String,
}

/// The `eval_items` rows of one run, column by column, in the table's
/// column order.
#[derive(Debug, Clone)]
pub struct ItemBatch {
    batch: RecordBatch,
}

impl ItemBatch {
    /// No rows (a run without `eval_items.jsonl`).
    pub fn empty() -> ItemBatch {
        ItemBatch {
            batch: RecordBatch::new_empty(schema()),
        }
    }

    /// The rows of run `run_id` from the bytes of its `eval_items.jsonl`;
    /// blank lines are skipped. The first invalid line is the error.
    pub fn parse(run_id: &str, bytes: &[u8]) -> Result<ItemBatch, ItemsError> {
        let text = std::str::from_utf8(bytes).map_err(|e| ItemsError {
            line: None,
            message: format!("not UTF-8: {e}"),
        })?;
        let mut columns = Columns::with_capacity(bytecount_lines(bytes), bytes.len());
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: EvalItemRecord = serde_json::from_str(line).map_err(|e| ItemsError {
                line: Some(i + 1),
                message: e.to_string(),
            })?;
            columns.push(run_id, &record);
        }
        columns.finish()
    }

    /// How many rows.
    pub fn len(&self) -> usize {
        self.batch.num_rows()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.batch.num_rows() == 0
    }

    /// The rows as an Arrow record batch (columns named and typed as the
    /// `eval_items` table's).
    pub fn record_batch(&self) -> &RecordBatch {
        &self.batch
    }
}

/// The Arrow schema of the `eval_items` table (see `schema::MIGRATIONS`).
fn schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let text = |name: &str, nullable: bool| Field::new(name, DataType::Utf8, nullable);
            let number = |name: &str| Field::new(name, DataType::Float64, true);
            Arc::new(Schema::new(vec![
                text("run_id", false),
                text("item_id", false),
                text("category", false),
                text("expected", false),
                text("output", true),
                text("extracted", true),
                text("extraction_rule", true),
                number("answer_correctness"),
                number("trace_consistency"),
            ]))
        })
        .clone()
}

/// An upper bound on the number of lines, to size the columns once.
fn bytecount_lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|b| **b == b'\n').count() + 1
}

/// The columns being filled.
struct Columns {
    run_id: StringBuilder,
    item_id: StringBuilder,
    category: StringBuilder,
    expected: StringBuilder,
    output: StringBuilder,
    extracted: StringBuilder,
    extraction_rule: StringBuilder,
    answer_correctness: Float64Builder,
    trace_consistency: Float64Builder,
}

impl Columns {
    /// Room for `rows` rows holding about `bytes` bytes of text in all.
    fn with_capacity(rows: usize, bytes: usize) -> Columns {
        let text = |share: usize| StringBuilder::with_capacity(rows, share);
        Columns {
            run_id: text(rows * 16),
            item_id: text(rows * 16),
            category: text(rows * 8),
            expected: text(rows * 8),
            output: text(bytes / 2),
            extracted: text(rows * 8),
            extraction_rule: text(rows * 8),
            answer_correctness: Float64Builder::with_capacity(rows),
            trace_consistency: Float64Builder::with_capacity(rows),
        }
    }

    fn push(&mut self, run_id: &str, r: &EvalItemRecord) {
        self.run_id.append_value(run_id);
        self.item_id.append_value(&r.id);
        self.category.append_value(&r.category);
        self.expected.append_value(&r.expected);
        self.output.append_option(r.output.as_deref());
        self.extracted.append_option(r.extracted.as_deref());
        self.extraction_rule
            .append_option(r.extraction_rule.map(rule_name));
        self.answer_correctness.append_option(r.answer_correctness);
        self.trace_consistency.append_option(r.trace_consistency);
    }

    fn finish(mut self) -> Result<ItemBatch, ItemsError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.run_id.finish()),
            Arc::new(self.item_id.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.expected.finish()),
            Arc::new(self.output.finish()),
            Arc::new(self.extracted.finish()),
            Arc::new(self.extraction_rule.finish()),
            Arc::new(self.answer_correctness.finish()),
            Arc::new(self.trace_consistency.finish()),
        ];
        RecordBatch::try_new(schema(), columns)
            .map(|batch| ItemBatch { batch })
            .map_err(|e| ItemsError {
                line: None,
                message: format!("cannot hold its rows: {e}"),
            })
    }
}

/// The rule as `eval_items.jsonl` and the index spell it.
fn rule_name(rule: ExtractRule) -> &'static str {
    match rule {
        ExtractRule::Marker => "marker",
        ExtractRule::LastNumber => "last_number",
        ExtractRule::LastLine => "last_line",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use duckdb::arrow::array::{Array, AsArray};
    use duckdb::arrow::datatypes::Float64Type;

    #[test]
    fn rule_names_are_the_serialized_names() {
        for rule in [
            ExtractRule::Marker,
            ExtractRule::LastNumber,
            ExtractRule::LastLine,
        ] {
            assert_eq!(
                serde_json::to_value(rule).expect("json"),
                serde_json::Value::String(rule_name(rule).to_string())
            );
        }
    }

    #[test]
    fn lines_become_columns_with_nulls_and_blank_lines_skipped() {
        let text = concat!(
            r#"{"id":"a","category":"core","expected":"1","output":"x","extracted":"1","extraction_rule":"last_number","answer_correctness":1.0,"trace_consistency":null}"#,
            "\n\n",
            r#"{"id":"b","category":"edge","expected":"2","output":null,"extracted":null,"extraction_rule":null,"answer_correctness":null,"trace_consistency":0.5}"#,
            "\n"
        );
        let batch = ItemBatch::parse("r1", text.as_bytes()).expect("parse");
        assert_eq!(batch.len(), 2);
        let b = batch.record_batch();
        assert_eq!(b.column(0).as_string::<i32>().value(1), "r1");
        assert_eq!(b.column(1).as_string::<i32>().value(1), "b");
        assert_eq!(b.column(6).as_string::<i32>().value(0), "last_number");
        assert!(b.column(4).is_null(1));
        assert!(b.column(7).is_null(1));
        assert_eq!(b.column(8).as_primitive::<Float64Type>().value(1), 0.5);
        assert!(ItemBatch::parse("r1", b"").expect("empty").is_empty());
    }

    #[test]
    fn a_bad_line_is_named_by_file_and_line() {
        let good = r#"{"id":"a","category":"core","expected":"1","output":null,"extracted":null,"extraction_rule":null,"answer_correctness":null,"trace_consistency":null}"#;
        let text = format!("{good}\n\n{}\n", good.replace("\"id\"", "\"idd\""));
        let err = ItemBatch::parse("r1", text.as_bytes()).expect_err("unknown field");
        let shown = err.to_string();
        assert!(
            shown.starts_with("eval_items.jsonl:3: unknown field `idd`"),
            "{shown}"
        );
        let err = ItemBatch::parse("r1", b"\xff\n").expect_err("not UTF-8");
        assert!(
            err.to_string().starts_with("eval_items.jsonl: not UTF-8"),
            "{err}"
        );
    }
}
