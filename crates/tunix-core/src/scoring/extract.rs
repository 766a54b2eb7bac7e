//! Finding the answer in a model's raw output, and scoring the output.
//!
//! **Extraction** ([`extract_answer`]) tries the rules of
//! [`AnswerExtraction::order`] in turn and keeps the first that yields a
//! non-blank answer (blank = nothing left after trimming whitespace and
//! surrounding punctuation):
//! - `marker`: the text after the *last* case-insensitive occurrence of
//!   any marker, up to the end of that line;
//! - `last_number`: the last number token of the output (see
//!   [`number`](super::number));
//! - `last_line`: the last non-blank line.
//!
//! [`answer_correctness`] compares the extracted answer with the expected one
//! ([`answers_match`]); [`trace_consistency`] counts the required values an
//! output mentions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::answer_config::{AnswerExtraction, Equivalence, ExtractRule};
use super::normalize::{
    answers_match, is_blank, normalize, normalize_text, numbers_match, Normalized,
};
use super::number::{numbers_in, Number};

/// An answer found in a model's output, and the rule that found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Extracted {
    /// The extracted answer text, trimmed but otherwise as written.
    pub text: String,
    /// The extraction rule that produced it.
    pub rule: ExtractRule,
}

/// Case-insensitive char equality (ASCII fast path, else Unicode lower case).
fn chars_eq_ci(a: char, b: char) -> bool {
    if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b || a.to_lowercase().eq(b.to_lowercase())
    }
}

/// The byte length of `needle` matched case-insensitively at the start of
/// `hay`, if it matches there.
fn match_ci_at(hay: &str, needle: &str) -> Option<usize> {
    let mut hay_chars = hay.char_indices();
    for n in needle.chars() {
        let (_, h) = hay_chars.next()?;
        if !chars_eq_ci(h, n) {
            return None;
        }
    }
    Some(hay_chars.next().map_or(hay.len(), |(i, _)| i))
}

/// The span `(start, end)` of the last occurrence of any marker; on equal
/// starts the longer match wins.
fn last_marker_span(output: &str, markers: &[String]) -> Option<(usize, usize)> {
    let markers: Vec<&str> = markers
        .iter()
        .map(String::as_str)
        .filter(|m| !m.is_empty())
        .collect();
    for (start, _) in output.char_indices().rev() {
        let rest = &output[start..];
        let longest = markers.iter().filter_map(|m| match_ci_at(rest, m)).max();
        if let Some(len) = longest {
            return Some((start, start + len));
        }
    }
    None
}

/// The `marker` rule: text after the last marker, up to the end of its line.
fn extract_after_marker<'a>(output: &'a str, markers: &[String]) -> Option<&'a str> {
    let (_, end) = last_marker_span(output, markers)?;
    let line = output[end..].split('\n').next().unwrap_or_default().trim();
    (!is_blank(line)).then_some(line)
}

/// The `last_number` rule: the text of the last number token.
fn extract_last_number(output: &str) -> Option<&str> {
    numbers_in(output).last().map(|t| t.text)
}

/// The `last_line` rule: the last non-blank line, trimmed.
fn extract_last_line(output: &str) -> Option<&str> {
    output.lines().rev().map(str::trim).find(|l| !is_blank(l))
}

/// Extracts the answer from a model's raw output by trying the configured
/// rules in order; `None` when no rule finds a non-blank answer.
pub fn extract_answer(output: &str, cfg: &AnswerExtraction) -> Option<Extracted> {
    cfg.order.iter().find_map(|&rule| {
        let found = match rule {
            ExtractRule::Marker => extract_after_marker(output, &cfg.markers),
            ExtractRule::LastNumber => extract_last_number(output),
            ExtractRule::LastLine => extract_last_line(output),
        };
        found.map(|text| Extracted {
            text: text.to_string(),
            rule,
        })
    })
}

/// Scores one output against its expected answer: the extracted answer (if
/// any) and 1.0 when it matches, else 0.0. An empty output or one where
/// nothing can be extracted scores 0.0.
pub fn answer_correctness(
    output: &str,
    expected: &str,
    extraction: &AnswerExtraction,
    eq: &Equivalence,
) -> (Option<Extracted>, f64) {
    if output.trim().is_empty() {
        return (None, 0.0);
    }
    match extract_answer(output, extraction) {
        Some(extracted) => {
            let correct = answers_match(&extracted.text, expected, eq);
            (Some(extracted), if correct { 1.0 } else { 0.0 })
        }
        None => (None, 0.0),
    }
}

/// The fraction of `required_values` that appear in `output`; `None` when
/// there are none.
///
/// Numeric required values are looked up among all number tokens of the
/// output with the same normalization and default [`Equivalence`] (so
/// `1,000` in the output matches a required `1000`, and `25%` matches `25`).
/// A non-numeric required value counts when its normalized text occurs in
/// the normalized output. Each required value counts at most once, however
/// often it appears.
pub fn trace_consistency<S: AsRef<str>>(output: &str, required_values: &[S]) -> Option<f64> {
    if required_values.is_empty() {
        return None;
    }
    let numbers: Vec<Number> = numbers_in(output).into_iter().map(|t| t.number).collect();
    let text = normalize_text(output);
    let eq = Equivalence::default();
    let found = required_values
        .iter()
        .filter(|value| match normalize(value.as_ref()) {
            Normalized::Number(n) => numbers.iter().any(|m| numbers_match(&n, m, &eq)),
            Normalized::Text(t) => !t.is_empty() && text.contains(&t),
        })
        .count();
    Some(found as f64 / required_values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq() -> Equivalence {
        Equivalence::default()
    }

    #[test]
    fn extraction_marker_takes_last_occurrence_to_end_of_line() {
        let cfg = AnswerExtraction::default();
        let out = "Answer: 3\nwait, recompute\nanswer: 42 \nbye 7";
        let got = extract_answer(out, &cfg);
        assert_eq!(
            got,
            Some(Extracted {
                text: "42".into(),
                rule: ExtractRule::Marker
            })
        );
        let gsm = extract_answer("so 3+4=7\n#### 7", &cfg);
        assert_eq!(gsm.map(|e| e.text), Some("7".into()));
    }

    #[test]
    fn extraction_empty_marker_falls_through_to_next_rule() {
        let cfg = AnswerExtraction::default();
        let got = extract_answer("the total is 12 apples\nAnswer: .", &cfg);
        assert_eq!(
            got,
            Some(Extracted {
                text: "12".into(),
                rule: ExtractRule::LastNumber
            })
        );
    }

    #[test]
    fn extraction_last_line_when_no_marker_or_number() {
        let cfg = AnswerExtraction::default();
        let got = extract_answer("thinking...\nYes\n\n  \n", &cfg);
        assert_eq!(
            got,
            Some(Extracted {
                text: "Yes".into(),
                rule: ExtractRule::LastLine
            })
        );
        assert_eq!(extract_answer("  \n.\n", &cfg), None);
    }

    #[test]
    fn extraction_respects_configured_order() {
        let cfg = AnswerExtraction {
            order: vec![ExtractRule::LastLine, ExtractRule::Marker],
            ..AnswerExtraction::default()
        };
        let got = extract_answer("Answer: 5\nso it is 6", &cfg);
        assert_eq!(got.map(|e| e.rule), Some(ExtractRule::LastLine));
        let numbers_first = AnswerExtraction {
            order: vec![ExtractRule::LastNumber, ExtractRule::Marker],
            ..AnswerExtraction::default()
        };
        let got = extract_answer("Answer: 5 (not 6)", &numbers_first);
        assert_eq!(got.map(|e| e.text), Some("6".into()));
        let none = AnswerExtraction {
            order: vec![],
            ..AnswerExtraction::default()
        };
        assert_eq!(extract_answer("Answer: 5", &none), None);
    }

    #[test]
    fn extraction_marker_is_case_insensitive_including_unicode() {
        let cfg = AnswerExtraction {
            order: vec![ExtractRule::Marker],
            markers: vec!["RÉPONSE:".into()],
        };
        let got = extract_answer("bla\nréponse: oui", &cfg);
        assert_eq!(got.map(|e| e.text), Some("oui".into()));
    }

    #[test]
    fn last_number_keeps_sign_currency_and_percent() {
        let cfg = AnswerExtraction {
            order: vec![ExtractRule::LastNumber],
            ..AnswerExtraction::default()
        };
        let text = |out: &str| extract_answer(out, &cfg).map(|e| e.text);
        assert_eq!(text("costs -$1,200.50 total"), Some("-$1,200.50".into()));
        assert_eq!(text("rate: 25 %."), Some("25 %".into()));
        assert_eq!(text("from 3-5"), Some("5".into()));
        assert_eq!(text("x=-7"), Some("-7".into()));
        assert_eq!(text("list 1,5"), Some("5".into()));
        assert_eq!(text("is \u{2212}3."), Some("\u{2212}3".into()));
        assert_eq!(text("no digits"), None);
    }

    #[test]
    fn correctness_scores_zero_or_one() {
        let (x, e) = (AnswerExtraction::default(), eq());
        let (got, score) = answer_correctness("so... Answer: $1,000.00", "1000", &x, &e);
        assert_eq!(score, 1.0);
        assert_eq!(got.map(|g| g.rule), Some(ExtractRule::Marker));
        assert_eq!(answer_correctness("Answer: 999", "1000", &x, &e).1, 0.0);
        assert_eq!(answer_correctness("   ", "1000", &x, &e), (None, 0.0));
        assert_eq!(answer_correctness("", "", &x, &e), (None, 0.0));
    }

    #[test]
    fn trace_consistency_counts_each_value_once() {
        let out = "We add 1,000 and 250 to get 1250; 1250 again. Result: yes";
        assert_eq!(
            trace_consistency(out, &["1000", "1250", "7"]),
            Some(2.0 / 3.0)
        );
        assert_eq!(trace_consistency(out, &["1250"]), Some(1.0));
        assert_eq!(trace_consistency(out, &["YES"]), Some(1.0));
        assert_eq!(trace_consistency::<&str>(out, &[]), None);
        assert_eq!(trace_consistency("", &["1"]), Some(0.0));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scoring::number::strategies::{decimal, render, style};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn last_number_finds_a_formatted_number_in_prose(
            (neg, int, frac) in decimal(), st in style(),
        ) {
            let number = render(neg, int, &frac, &st);
            let out = format!("Some reasoning with 12 steps.\nSo the total is {}", number.trim());
            let cfg = AnswerExtraction::default();
            let (_, score) = answer_correctness(&out, &number, &cfg, &Equivalence::default());
            prop_assert_eq!(score, 1.0, "{:?}", out);
        }
    }
}
