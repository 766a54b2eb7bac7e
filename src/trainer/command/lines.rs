//! The lines a command trainer appends to `$TUNIX_METRICS_FILE`: one JSON
//! object per line with an integer `step` and any of `loss`, `lr`,
//! `tokens_per_s`, `val_loss`, `primary_score` (other keys are ignored).

use crate::runfolder::MetricRecord;
use crate::trainer::protocol::{Failed, FailureClass};

/// Parse metrics line number `n` (1-based) of `shown`.
pub fn metric(shown: &str, n: usize, text: &str) -> Result<MetricRecord, Failed> {
    let bad = |why: String| {
        Failed {
        class: FailureClass::Crash,
        message: format!(
            "{shown} line {n} is not a metrics record ({why}): {}; each line must be a JSON object like {{\"step\": 10, \"loss\": 2.31}}",
            excerpt(text)
        ),
    }
    };
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) if has_non_finite(text) => {
            return Err(Failed {
                class: FailureClass::NanLoss,
                message: format!(
                    "{shown} line {n} reports a non-finite value: {}",
                    excerpt(text)
                ),
            })
        }
        Err(e) => return Err(bad(format!("not JSON: {e}"))),
    };
    let Some(object) = value.as_object() else {
        return Err(bad("not a JSON object".into()));
    };
    let step = match object.get("step") {
        Some(s) => s
            .as_u64()
            .ok_or_else(|| bad("`step` must be a non-negative integer".into()))?,
        None => return Err(bad("no `step`".into())),
    };
    let number = |key: &str| -> Result<Option<f64>, Failed> {
        match object.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| bad(format!("`{key}` must be a number"))),
        }
    };
    Ok(MetricRecord {
        step,
        loss: number("loss")?,
        lr: number("lr")?,
        tokens_per_s: number("tokens_per_s")?,
        val_loss: number("val_loss")?,
        primary_score: number("primary_score")?,
    })
}

/// Python's `json.dumps` writes NaN and Infinity as bare words.
fn has_non_finite(text: &str) -> bool {
    ["NaN", "Infinity"].iter().any(|w| text.contains(w))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metrics_line_keeps_the_known_keys() {
        let r = metric(
            "m",
            1,
            r#"{"step": 10, "loss": 2.5, "accuracy": 0.3, "val_loss": null}"#,
        )
        .expect("parses");
        assert_eq!(r.step, 10);
        assert_eq!(r.loss, Some(2.5));
        assert_eq!(r.val_loss, None);
    }

    #[test]
    fn garbage_names_the_file_and_line() {
        for (text, why) in [
            ("hello", "not JSON"),
            ("[1, 2]", "not a JSON object"),
            (r#"{"loss": 1}"#, "no `step`"),
            (r#"{"step": -1}"#, "non-negative integer"),
            (r#"{"step": 1, "loss": "low"}"#, "`loss` must be a number"),
        ] {
            let f = metric("metrics.jsonl", 7, text).expect_err(text);
            assert_eq!(f.class, FailureClass::Crash);
            assert!(f.message.contains("metrics.jsonl line 7"), "{}", f.message);
            assert!(f.message.contains(why), "{}", f.message);
        }
    }

    #[test]
    fn python_nan_is_a_nan_loss() {
        let f = metric("m", 3, r#"{"step": 3, "loss": NaN}"#).expect_err("nan");
        assert_eq!(f.class, FailureClass::NanLoss);
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
