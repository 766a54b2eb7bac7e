//! The lines a command trainer appends to `$TUNIX_METRICS_FILE`: one JSON
//! object per line with an integer `step` and any number of metrics, each
//! a number (or null for "not measured") under a name of 1–64 characters
//! of `[A-Za-z0-9_./-]` starting with a letter (`loss`, `val/f1`, ...).
//! Steps never go backwards. Python's bare `NaN` and `Infinity` are read:
//! a non-finite `loss` or `val_loss` fails the run as `nan_loss`; a
//! non-finite value of any other metric is left out of the record (the
//! metric counts as not reported at that step). Anything else is a
//! `bad_metrics` failure naming the line.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::runfolder::{metric_name_problem, MetricRecord};
use crate::trainer::protocol::{Failed, FailureClass};

/// The losses whose non-finite values fail the run as `nan_loss`.
const LOSSES: [&str; 2] = ["loss", "val_loss"];

/// Stands in for a bare `NaN`/`Infinity` while the line is parsed as JSON
/// (as JSON text, and as the string it parses to).
const NON_FINITE: &str = "\\u0000non-finite";
const NON_FINITE_VALUE: &str = "\u{0}non-finite";

/// A parsed metrics line.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub record: MetricRecord,
    /// Metrics whose value was non-finite, left out of `record`.
    pub non_finite: Vec<String>,
}

/// Parse metrics line number `n` (1-based) of `shown`.
pub fn metric(shown: &str, n: usize, text: &str) -> Result<Parsed, Failed> {
    let bad = |why: String| {
        Failed {
        class: FailureClass::BadMetrics,
        message: format!(
            "{shown} line {n} is not a metrics record ({why}): {}; each line must be a JSON object like {{\"step\": 10, \"loss\": 2.31, \"val/f1\": 0.5}}",
            excerpt(text)
        ),
    }
    };
    let value: serde_json::Value =
        serde_json::from_str(&mark_non_finite(text)).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(bad("not a JSON object".into()));
    };
    let step = match object.get("step") {
        Some(s) => s
            .as_u64()
            .ok_or_else(|| bad("`step` must be a non-negative integer".into()))?,
        None => return Err(bad("no `step`".into())),
    };
    let mut parsed = Parsed {
        record: MetricRecord::at(step),
        non_finite: Vec::new(),
    };
    for (key, value) in object.iter().filter(|(k, _)| *k != "step") {
        if let Some(problem) = metric_name_problem(key) {
            return Err(bad(problem));
        }
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) if s == NON_FINITE_VALUE => {
                if LOSSES.contains(&key.as_str()) {
                    return Err(Failed {
                        class: FailureClass::NanLoss,
                        message: format!(
                            "{shown} line {n} reports a non-finite `{key}`: {}",
                            excerpt(text)
                        ),
                    });
                }
                parsed.non_finite.push(key.clone());
            }
            v => match v.as_f64() {
                Some(x) => parsed.record.set(key, x),
                None => return Err(bad(format!("`{key}` must be a number or null"))),
            },
        }
    }
    Ok(parsed)
}

/// The steps of the lines so far: a step below the previous line's is
/// refused.
#[derive(Debug, Default)]
pub struct StepOrder {
    last: Option<(usize, u64)>,
}

impl StepOrder {
    /// Accept line `n` of `shown` at `step`, or fail naming both lines.
    pub fn accept(&mut self, shown: &str, n: usize, step: u64) -> Result<(), Failed> {
        if let Some((line, last)) = self.last.filter(|(_, last)| step < *last) {
            return Err(Failed {
                class: FailureClass::BadMetrics,
                message: format!(
                    "{shown} line {n} reports step {step} after line {line} reported step {last}; steps must not go backwards"
                ),
            });
        }
        self.last = Some((n, step));
        Ok(())
    }
}

/// `text` with Python's bare `NaN`, `Infinity` and `-Infinity` (outside
/// strings) replaced by the [`NON_FINITE`] string.
fn mark_non_finite(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if let Some(word) = ["NaN", "Infinity", "-Infinity"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            out.push('"');
            out.push_str(NON_FINITE);
            out.push('"');
            rest = &rest[word.len()..];
            continue;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 120;
    if text.chars().count() <= MAX {
        format!("`{text}`")
    } else {
        format!("`{}…`", text.chars().take(MAX).collect::<String>())
    }
}

/// Complete lines at the end of a growing file: feed it what was read;
/// it returns the lines finished so far and keeps a partial last line.
#[derive(Debug, Default)]
pub struct LineBuffer {
    partial: Vec<u8>,
    /// Lines handed out so far (the next line's number is this + 1).
    pub count: usize,
}

impl LineBuffer {
    /// The complete lines in `partial + bytes`, with their 1-based
    /// numbers; blank lines are skipped but counted.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<(usize, String)> {
        self.partial.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(end) = self.partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            self.count += 1;
            let text = String::from_utf8_lossy(&line[..end]).trim().to_string();
            if !text.is_empty() {
                out.push((self.count, text));
            }
        }
        out
    }
}

/// The bytes of `path` from `offset` on; nothing when it does not exist.
pub fn read_from(path: &Path, offset: u64) -> std::io::Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_line_keeps_every_numeric_key() {
        let p = metric(
            "m",
            1,
            r#"{"step": 10, "loss": 2.5, "train/acc": 0.3, "val/f1": 1, "eval-bleu.4": 0.25, "val_loss": null}"#,
        )
        .expect("parses");
        let r = p.record;
        assert_eq!(r.step, 10);
        assert_eq!(r.loss, Some(2.5));
        assert_eq!(r.val_loss, None);
        assert_eq!(r.get("train/acc"), Some(0.3));
        assert_eq!(r.get("val/f1"), Some(1.0));
        assert_eq!(r.get("eval-bleu.4"), Some(0.25));
        assert_eq!(
            r.values(),
            vec![
                ("loss", 2.5),
                ("eval-bleu.4", 0.25),
                ("train/acc", 0.3),
                ("val/f1", 1.0)
            ]
        );
        assert!(p.non_finite.is_empty());
    }

    #[test]
    fn garbage_names_the_file_and_line() {
        for (text, why) in [
            ("hello", "not JSON"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"loss": 1}"#, "no `step`"),
            (r#"{"step": -1}"#, "non-negative integer"),
            (r#"{"step": 1.5}"#, "non-negative integer"),
            (
                r#"{"step": 1, "loss": "low"}"#,
                "`loss` must be a number or null",
            ),
            (
                r#"{"step": 1, "acc": true}"#,
                "`acc` must be a number or null",
            ),
            (
                r#"{"step": 1, "acc": [1]}"#,
                "`acc` must be a number or null",
            ),
            (
                r#"{"step": 1, "train acc": 1}"#,
                "metric name `train acc` has the character ' '",
            ),
            (r#"{"step": 1, "1st": 1}"#, "must start with a letter"),
            (r#"{"step": 1, "": 1}"#, "a metric name is empty"),
            (
                r#"{"step": 1, "val:f1": 1}"#,
                "letters, digits and `_ . / -`",
            ),
            (r#"{"step": 1, "x": NaNa}"#, "not JSON"),
        ] {
            let f = metric("metrics.jsonl", 7, text).expect_err(text);
            assert_eq!(f.class, FailureClass::BadMetrics, "{text}");
            assert!(f.message.contains("metrics.jsonl line 7"), "{}", f.message);
            assert!(f.message.contains(why), "{text}: {}", f.message);
        }
        let long = format!(r#"{{"step": 1, "{}": 1}}"#, "a".repeat(65));
        let f = metric("m", 1, &long).expect_err("long");
        assert!(f.message.contains("longer than 64"), "{}", f.message);
        assert!(metric("m", 1, &long.replace(&"a".repeat(65), &"a".repeat(64))).is_ok());
    }

    #[test]
    fn a_non_finite_loss_is_a_nan_loss_and_other_non_finite_metrics_are_left_out() {
        for text in [
            r#"{"step": 3, "loss": NaN}"#,
            r#"{"step": 3, "val_loss": Infinity}"#,
            r#"{"step": 3, "loss": -Infinity, "acc": 1}"#,
        ] {
            let f = metric("m", 3, text).expect_err(text);
            assert_eq!(f.class, FailureClass::NanLoss, "{text}");
            assert!(
                f.message.contains("m line 3 reports a non-finite"),
                "{}",
                f.message
            );
        }
        let p = metric(
            "m",
            4,
            r#"{"step": 4, "loss": 1.0, "val/ppl": Infinity, "grad_norm": NaN, "note": "NaN"}"#,
        );
        let f = p.expect_err("a string value is still not a number");
        assert_eq!(f.class, FailureClass::BadMetrics);
        let p = metric(
            "m",
            4,
            r#"{"step": 4, "loss": 1.0, "val/ppl": Infinity, "grad_norm": NaN}"#,
        )
        .expect("parses");
        assert_eq!(p.record.loss, Some(1.0));
        assert_eq!(p.record.get("val/ppl"), None);
        assert_eq!(p.non_finite, vec!["val/ppl", "grad_norm"]);
    }

    #[test]
    fn nan_inside_a_string_is_text() {
        assert_eq!(
            mark_non_finite(r#"{"a\"NaN": NaN, "b": "Infinity"}"#),
            r#"{"a\"NaN": "\u0000non-finite", "b": "Infinity"}"#
        );
    }

    #[test]
    fn steps_may_repeat_but_not_go_backwards() {
        let mut order = StepOrder::default();
        for (n, step) in [(1, 1), (2, 2), (3, 2), (5, 4)] {
            order.accept("m", n, step).expect("in order");
        }
        let f = order.accept("m", 6, 3).expect_err("backwards");
        assert_eq!(f.class, FailureClass::BadMetrics);
        assert_eq!(
            f.message,
            "m line 6 reports step 3 after line 5 reported step 4; steps must not go backwards"
        );
    }

    #[test]
    fn partial_lines_wait_for_their_end() {
        let mut b = LineBuffer::default();
        assert_eq!(
            b.feed(b"{\"step\":1}\n{\"st"),
            vec![(1, "{\"step\":1}".into())]
        );
        assert_eq!(b.feed(b"ep\":2}\n\n"), vec![(2, "{\"step\":2}".into())]);
        assert_eq!(b.feed(b"x\n"), vec![(4, "x".into())]);
    }
}
