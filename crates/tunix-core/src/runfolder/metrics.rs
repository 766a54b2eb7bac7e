//! `metrics.jsonl`, a run's training progress: one [`MetricRecord`] per
//! line (the step and any number of named metrics), the rules for metric
//! names, and the one reader every report uses.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One line of `metrics.jsonl` (training progress): the step and any
/// number of named metrics. The five the tools know by name have fields;
/// every other metric (`grad_norm`, `val/f1`, ...) is in `extra`. A name
/// is 1–64 characters of `[A-Za-z0-9_./-]` starting with a letter (see
/// [`metric_name_problem`]). Values are finite. Fields that are not
/// numbers are ignored when read, so newer writers stay readable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MetricRecord {
    pub step: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_score: Option<f64>,
    /// Every other metric, by name.
    #[serde(flatten, deserialize_with = "numbers_only")]
    pub extra: BTreeMap<String, f64>,
}

/// The metrics [`MetricRecord`] has a field for.
pub const NAMED_METRICS: [&str; 5] = ["loss", "lr", "tokens_per_s", "val_loss", "primary_score"];

/// The longest metric name.
pub const METRIC_NAME_MAX: usize = 64;

impl MetricRecord {
    /// A record of `step` with no metrics.
    pub fn at(step: u64) -> Self {
        MetricRecord {
            step,
            ..MetricRecord::default()
        }
    }

    /// The metric `name`, when the record has it.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "loss" => self.loss,
            "lr" => self.lr,
            "tokens_per_s" => self.tokens_per_s,
            "val_loss" => self.val_loss,
            "primary_score" => self.primary_score,
            other => self.extra.get(other).copied(),
        }
    }

    /// Set the metric `name` (a named field, or an extra metric).
    pub fn set(&mut self, name: &str, value: f64) {
        let slot = match name {
            "loss" => &mut self.loss,
            "lr" => &mut self.lr,
            "tokens_per_s" => &mut self.tokens_per_s,
            "val_loss" => &mut self.val_loss,
            "primary_score" => &mut self.primary_score,
            other => {
                self.extra.insert(other.to_string(), value);
                return;
            }
        };
        *slot = Some(value);
    }

    /// Every metric the record has, as `(name, value)`: the named ones in
    /// [`NAMED_METRICS`] order, then the others by name.
    pub fn values(&self) -> Vec<(&str, f64)> {
        NAMED_METRICS
            .iter()
            .filter_map(|&name| self.get(name).map(|v| (name, v)))
            .chain(self.extra.iter().map(|(k, v)| (k.as_str(), *v)))
            .collect()
    }
}

/// Why `name` cannot name a metric, or `None` when it can: 1–64
/// characters of `[A-Za-z0-9_./-]`, starting with a letter, not `step`.
pub fn metric_name_problem(name: &str) -> Option<String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    if name.is_empty() {
        return Some("a metric name is empty".into());
    }
    if name == "step" {
        return Some("`step` is the step, not a metric".into());
    }
    if name.len() > METRIC_NAME_MAX {
        return Some(format!(
            "metric name `{}…` is longer than {METRIC_NAME_MAX} characters",
            name.chars().take(24).collect::<String>()
        ));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Some(format!("metric name `{name}` must start with a letter"));
    }
    if let Some(c) = name.chars().find(|c| !allowed(*c)) {
        return Some(format!(
            "metric name `{name}` has the character {c:?}; names use only letters, digits and `_ . / -`"
        ));
    }
    None
}

/// The extra metrics of a line: its numeric fields (others are ignored).
fn numbers_only<'de, D>(d: D) -> std::result::Result<BTreeMap<String, f64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let fields = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
    Ok(fields
        .into_iter()
        .filter_map(|(k, v)| v.as_f64().filter(|v| v.is_finite()).map(|v| (k, v)))
        .collect())
}

/// The records of a run's `metrics.jsonl` (none when there is no file),
/// read by [`read_metrics_lines`]'s policy.
pub fn read_metrics_file(path: &Path) -> Result<Vec<MetricRecord>> {
    read_metrics_lines(path)
}

/// The lines of a `metrics.jsonl` file as `T` — the one bad-line policy of
/// the format: no file is no lines; the rest is [`parse_metrics_lines`].
pub fn read_metrics_lines<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read the metrics", path, e)),
    };
    parse_metrics_lines(&text).map_err(|bad| {
        Error::bad_input(format!("not a valid metrics record: {}", bad.message))
            .with_path(path)
            .with_location(crate::error::Location {
                line: bad.line,
                column: bad.column,
            })
    })
}

/// A `metrics.jsonl` line that does not parse: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// The lines of a `metrics.jsonl` text as `T`: blank lines are skipped; a
/// last line without its newline is still being written and is left out
/// when it does not parse; any other line that does not parse is the error.
pub fn parse_metrics_lines<T: DeserializeOwned>(
    text: &str,
) -> std::result::Result<Vec<T>, BadLine> {
    let complete = text.ends_with('\n');
    let lines: Vec<&str> = text.lines().collect();
    let mut records = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(r) => records.push(r),
            Err(_) if !complete && i + 1 == lines.len() => {}
            Err(e) => {
                return Err(BadLine {
                    line: i + 1,
                    column: e.column(),
                    message: e.to_string(),
                })
            }
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_half_written_last_metrics_line_is_left_out_and_other_bad_lines_are_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join(super::super::METRICS);
        std::fs::write(&path, "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"lo").expect("write");
        assert_eq!(read_metrics_file(&path).expect("read").len(), 1);
        std::fs::write(&path, "nope\n{\"step\": 1}\n").expect("write");
        let err = read_metrics_file(&path).expect_err("bad line");
        assert_eq!(err.location().map(|l| l.line), Some(1));
        assert!(read_metrics_file(&tmp.path().join("none"))
            .expect("no file")
            .is_empty());
    }

    #[test]
    fn metric_records_keep_every_metric_by_name() {
        let mut r = MetricRecord::at(4);
        r.set("loss", 2.5);
        r.set("val/f1", 0.75);
        r.set("grad_norm", 1.5);
        let line = serde_json::to_string(&r).expect("json");
        assert_eq!(
            line,
            r#"{"step":4,"loss":2.5,"grad_norm":1.5,"val/f1":0.75}"#
        );
        let back: MetricRecord = serde_json::from_str(&line).expect("reads");
        assert_eq!(back, r);
        assert_eq!(back.get("val/f1"), Some(0.75));
        assert_eq!(back.get("loss"), Some(2.5));
        assert_eq!(back.get("val_loss"), None);
        let old: MetricRecord =
            serde_json::from_str(r#"{"step":2,"loss":1.0,"val_loss":null}"#).expect("old");
        assert_eq!(old.values(), vec![("loss", 1.0)]);
        let newer: MetricRecord =
            serde_json::from_str(r#"{"step":2,"phase":"train","tags":[1],"acc":0.5}"#)
                .expect("fields that are not numbers are ignored");
        assert_eq!(newer.values(), vec![("acc", 0.5)]);
    }

    #[test]
    fn metric_names_are_letters_digits_and_a_few_separators() {
        for ok in ["loss", "val/f1", "eval/bleu-4", "train.acc_top5", "a"] {
            assert_eq!(metric_name_problem(ok), None, "{ok}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("step", "is the step"),
            ("1st", "start with a letter"),
            ("_x", "start with a letter"),
            ("val f1", "character ' '"),
            ("val:f1", "character ':'"),
            ("é", "start with a letter"),
        ] {
            let problem = metric_name_problem(bad).expect(bad);
            assert!(problem.contains(why), "{bad}: {problem}");
        }
        assert!(metric_name_problem(&"a".repeat(64)).is_none());
        assert!(metric_name_problem(&"a".repeat(65))
            .expect("long")
            .contains("longer than 64"));
    }
}
