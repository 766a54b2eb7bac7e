//! Normalization and equivalence of one answer.
//!
//! 1. **Normalization** ([`normalize`]): trim whitespace, strip surrounding
//!    punctuation (`. , ; : ! ?`, quotes, brackets, `*` and backticks; a
//!    leading `.` that starts a number such as `.5` is kept), then read the
//!    rest as a number if it is *entirely* one, otherwise as text
//!    (lower-cased, inner whitespace collapsed to one space).
//! 2. **Equivalence** ([`answers_match`]): two numbers match when they are
//!    the same exact decimal; when either side was written in scientific
//!    notation they match within [`Equivalence::float_rel_tol`]. A percent
//!    sign never changes the value: `25%` equals `25`, never `0.25`. Two texts
//!    match when their normalized strings are equal. A number never equals a
//!    text.
//!
//! Numbers are read by the grammar in [`number`](super::number).

use std::fmt;

// Manifests name the scoring settings by this module's path.
pub use super::answer_config::{AnswerExtraction, Equivalence};
use super::number::{numbers_in, parse_number, Number, NumberValue};

/// A normalized answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Normalized {
    /// The whole answer is one number.
    Number(Number),
    /// Anything else: lower-cased, whitespace collapsed, surrounding
    /// punctuation stripped.
    Text(String),
}

impl fmt::Display for Normalized {
    /// Canonical rendering; normalizing it again gives the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Normalized::Number(n) => write!(f, "{n}"),
            Normalized::Text(t) => f.write_str(t),
        }
    }
}

/// Punctuation stripped from both ends of an answer.
fn is_surrounding_punct(c: char) -> bool {
    matches!(
        c,
        '.' | ','
            | ';'
            | ':'
            | '!'
            | '?'
            | '"'
            | '\''
            | '`'
            | '*'
            | '('
            | ')'
            | '['
            | ']'
            | '{'
            | '}'
            | '<'
            | '>'
            | '\u{201C}'
            | '\u{201D}'
            | '\u{2018}'
            | '\u{2019}'
            | '\u{AB}'
            | '\u{BB}'
    )
}

/// Trims whitespace and surrounding punctuation, keeping a leading `.` that
/// starts a number (`.5`).
fn strip_surrounding(s: &str) -> &str {
    let mut rest = s;
    loop {
        let before = rest.len();
        rest = rest.trim();
        if let Some(c) = rest
            .chars()
            .next_back()
            .filter(|&c| is_surrounding_punct(c))
        {
            rest = &rest[..rest.len() - c.len_utf8()];
        }
        let mut chars = rest.chars();
        if let Some(c) = chars.next().filter(|&c| is_surrounding_punct(c)) {
            let starts_number = c == '.' && chars.next().is_some_and(|d| d.is_ascii_digit());
            if !starts_number {
                rest = &rest[c.len_utf8()..];
            }
        }
        if rest.len() == before {
            return rest;
        }
    }
}

/// True when nothing is left after trimming whitespace and punctuation.
pub(super) fn is_blank(s: &str) -> bool {
    strip_surrounding(s).is_empty()
}

/// Lower-cases and collapses runs of whitespace to one space.
pub(super) fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.extend(word.chars().flat_map(char::to_lowercase));
    }
    out
}

/// Normalizes an answer: trim, strip surrounding punctuation, then read it
/// as a number if the whole remainder is one, else as lower-cased text with
/// whitespace collapsed. See the module documentation for the grammar.
pub fn normalize(s: &str) -> Normalized {
    let core = strip_surrounding(s);
    match parse_number(core) {
        Some(n) => Normalized::Number(n),
        None => Normalized::Text(normalize_text(core)),
    }
}

/// Whether two numbers are equivalent: exact decimals compare exactly; if
/// either is a float, within the relative tolerance. Percent is ignored.
pub fn numbers_match(a: &Number, b: &Number, eq: &Equivalence) -> bool {
    match (&a.value, &b.value) {
        (NumberValue::Exact(x), NumberValue::Exact(y)) => x == y,
        _ => {
            let (x, y) = (a.to_f64(), b.to_f64());
            x == y || (x - y).abs() <= eq.tolerance() * x.abs().max(y.abs())
        }
    }
}

/// Whether two normalized answers are equivalent (a number never equals a
/// text).
pub fn normalized_match(a: &Normalized, b: &Normalized, eq: &Equivalence) -> bool {
    match (a, b) {
        (Normalized::Number(x), Normalized::Number(y)) => numbers_match(x, y, eq),
        (Normalized::Text(x), Normalized::Text(y)) => x == y,
        _ => false,
    }
}

/// Whether an extracted answer is equivalent to the expected answer.
///
/// When the expected answer is a number and the extracted text is not, but
/// holds exactly one number token (`42 apples`, `x = 42`), that number is
/// compared: models often add units to a final answer. Text with several
/// numbers (`1,5`, `3 or 4`) never matches a number.
pub fn answers_match(extracted: &str, expected: &str, eq: &Equivalence) -> bool {
    let expected = normalize(expected);
    match (normalize(extracted), &expected) {
        (Normalized::Text(_), Normalized::Number(want)) => match numbers_in(extracted).as_slice() {
            [only] => numbers_match(&only.number, want, eq),
            _ => false,
        },
        (got, _) => normalized_match(&got, &expected, eq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eq() -> Equivalence {
        Equivalence::default()
    }

    fn matches(a: &str, b: &str) -> bool {
        answers_match(a, b, &eq())
    }

    fn exact(s: &str) -> String {
        match normalize(s) {
            Normalized::Number(n) => n.to_string(),
            Normalized::Text(t) => format!("text:{t}"),
        }
    }

    #[test]
    fn a_single_number_with_units_matches_a_numeric_answer() {
        assert!(answers_match("42 apples", "42", &eq()));
        assert!(answers_match("x = $1,200", "1200", &eq()));
        assert!(!answers_match("3 or 4", "3", &eq()));
        assert!(!answers_match("1,5", "15", &eq()));
        assert!(!answers_match("42 apples", "apples", &eq()));
    }

    #[test]
    fn trap_currency_and_trailing_zeros() {
        assert!(matches("$29.00", "29"));
        assert!(matches("29", "$29.00"));
        assert!(matches("€5", "5"));
        assert!(matches("£1,250.50", "1250.5"));
    }

    #[test]
    fn trap_trailing_comma_is_punctuation() {
        assert!(matches("72,", "72"));
        assert!(matches("72.", "72"));
        assert!(matches("(72)", "72"));
        assert!(matches("**72**", "72"));
    }

    #[test]
    fn trap_thousands_separators() {
        assert!(matches("1,000", "1000"));
        assert!(matches("12,500,000", "12500000"));
        assert!(matches("1,234.5", "1234.50"));
        assert!(!matches("1,5", "15"));
        assert!(!matches("1,5", "1.5"));
        assert_eq!(exact("1,5"), "text:1,5");
        assert_eq!(exact("1,0000"), "text:1,0000");
        assert_eq!(exact("12,50,000"), "text:12,50,000");
        assert_eq!(exact("0,500"), "text:0,500");
    }

    #[test]
    fn trap_leading_point_and_zero() {
        assert!(matches(".5", "0.50"));
        assert!(matches("-.5", "-0.5"));
        assert!(matches("-0", "0"));
        assert!(matches("-0.00", "+0"));
        assert_eq!(exact("-0"), "0");
        assert_eq!(exact("007"), "7");
    }

    #[test]
    fn trap_decimal_point_is_not_ignored() {
        assert!(!matches("2024", "20.24"));
        assert!(!matches("1.05", "1.5"));
        assert!(!matches("100", "10"));
    }

    #[test]
    fn trap_signs() {
        assert!(matches("\u{2212}3", "-3"));
        assert!(matches("+4", "4"));
        assert!(!matches("-4", "4"));
        assert!(matches("-$5", "-5"));
        assert!(matches("$-5", "-5"));
        assert!(matches("\u{2212}$5", "-5"));
        assert_eq!(exact("+-5"), "text:+-5");
        assert_eq!(exact("--5"), "text:--5");
    }

    #[test]
    fn trap_text_answers() {
        assert!(matches("YES", "yes"));
        assert!(matches("yes.", "yes"));
        assert!(matches(" Yes ", "yes"));
        assert!(matches("\"New   York\"", "new york"));
        assert!(!matches("yes", "no"));
        assert!(!matches("5", "five"));
    }

    #[test]
    fn percent_equals_the_bare_number_never_the_fraction() {
        assert!(matches("25%", "25"));
        assert!(matches("25 %", "25"));
        assert!(matches("25%", "25.0%"));
        assert!(!matches("25%", "0.25"));
        assert_eq!(exact("25%"), "25%");
        assert_eq!(exact("$5%"), "text:$5%");
    }

    #[test]
    fn scientific_notation_uses_the_tolerance() {
        assert!(matches("1.5e3", "1500"));
        assert!(matches("1.5E3", "1,500"));
        assert!(matches("1e-3", "0.001"));
        assert!(matches("1.0000001e3", "1000"));
        assert!(!matches("1.01e3", "1000"));
        let strict = Equivalence { float_rel_tol: 0.0 };
        assert!(!answers_match("1.0000001e3", "1000", &strict));
        assert_eq!(exact("1e999"), "text:1e999");
    }

    #[test]
    fn plain_decimals_compare_exactly_even_when_floats_would_not() {
        assert!(!matches("0.30000000000000004", "0.3"));
        assert!(matches(
            "123456789012345678901234567890",
            "123,456,789,012,345,678,901,234,567,890"
        ));
        assert!(!matches(
            "123456789012345678901234567890",
            "123456789012345678901234567891"
        ));
    }

    #[test]
    fn decimal_rendering_is_canonical() {
        assert_eq!(exact("1000"), "1000");
        assert_eq!(exact("0.050"), "0.05");
        assert_eq!(exact("-12.50"), "-12.5");
        assert_eq!(exact("1.5e3"), "1.5e3");
        assert_eq!(exact(".5%"), "0.5%");
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use crate::scoring::number::strategies::{canonical, decimal, render, style};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn normalize_is_idempotent_on_any_text(s in "\\PC{0,40}") {
            let once = normalize(&s);
            prop_assert_eq!(normalize(&once.to_string()), once);
        }

        #[test]
        fn normalize_is_idempotent_on_numbers((neg, int, frac) in decimal(), st in style()) {
            let once = normalize(&render(neg, int, &frac, &st));
            prop_assert!(matches!(once, Normalized::Number(_)));
            prop_assert_eq!(normalize(&once.to_string()), once);
        }

        #[test]
        fn normalize_is_idempotent_on_floats(x in -1e12_f64..1e12, pct in any::<bool>()) {
            let text = format!("{x:e}{}", if pct { "%" } else { "" });
            let once = normalize(&text);
            prop_assert_eq!(normalize(&once.to_string()), once);
        }

        #[test]
        fn any_formatting_of_one_number_matches(
            (neg, int, frac) in decimal(), a in style(), b in style(),
        ) {
            let (x, y) = (render(neg, int, &frac, &a), render(neg, int, &frac, &b));
            prop_assert!(answers_match(&x, &y, &Equivalence::default()), "{x:?} vs {y:?}");
        }

        #[test]
        fn different_numbers_never_match(
            (n1, i1, f1) in decimal(), (n2, i2, f2) in decimal(), a in style(), b in style(),
        ) {
            prop_assume!(canonical(n1, i1, &f1) != canonical(n2, i2, &f2));
            let (x, y) = (render(n1, i1, &f1, &a), render(n2, i2, &f2, &b));
            prop_assert!(!answers_match(&x, &y, &Equivalence::default()), "{x:?} vs {y:?}");
        }

        #[test]
        fn text_match_ignores_case_padding_and_punctuation(word in "[a-zA-Z]{1,12}") {
            let variants = [word.to_uppercase(), format!(" {word}. "), format!("\"{word}\"!")];
            for v in &variants {
                prop_assert!(answers_match(v, &word.to_lowercase(), &Equivalence::default()));
            }
        }
    }
}
