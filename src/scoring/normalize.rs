//! Answer extraction, normalization and equivalence.
//!
//! The rules, in the order they apply:
//!
//! 1. **Extraction** ([`extract_answer`]) tries the rules of
//!    [`AnswerExtraction::order`] in turn and keeps the first that yields a
//!    non-blank answer (blank = nothing left after trimming whitespace and
//!    surrounding punctuation):
//!    - `marker`: the text after the *last* case-insensitive occurrence of
//!      any marker, up to the end of that line;
//!    - `last_number`: the last number token of the output (see below);
//!    - `last_line`: the last non-blank line.
//! 2. **Normalization** ([`normalize`]): trim whitespace, strip surrounding
//!    punctuation (`. , ; : ! ?`, quotes, brackets, `*` and backticks; a
//!    leading `.` that starts a number such as `.5` is kept), then read the
//!    rest as a number if it is *entirely* one, otherwise as text
//!    (lower-cased, inner whitespace collapsed to one space).
//! 3. **Equivalence** ([`answers_match`]): two numbers match when they are
//!    the same exact decimal; when either side was written in scientific
//!    notation they match within [`Equivalence::float_rel_tol`]. A percent
//!    sign never changes the value: `25%` equals `25`, never `0.25`. Two texts
//!    match when their normalized strings are equal. A number never equals a
//!    text.
//!
//! A number is: an optional sign (`+`, `-`, or U+2212 `−`), an optional
//! currency symbol (`$`, `€`, `£`; the sign may come before or after it),
//! then digits with an optional fraction (`12`, `12.50`, `.5`). Thousands
//! separators are accepted only in valid groups: `1,000` and `12,500,000` are
//! numbers, `1,5` and `1,0000` are not. An exponent (`1.5e3`) makes the value
//! a float. A trailing `%` (optionally after spaces) marks a percent; it is
//! not allowed together with a currency symbol. Only ASCII digits count.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ScoringError;

/// One way of finding the answer inside a model's raw output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtractRule {
    /// The text after the last occurrence of any marker (e.g. `Answer:`), up
    /// to the end of that line.
    Marker,
    /// The last number in the output, with its sign, currency and percent.
    LastNumber,
    /// The last line that is not blank.
    LastLine,
}

/// How the answer is extracted from a model's raw output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AnswerExtraction {
    /// Extraction rules, tried in this order; the first one that finds a
    /// non-blank answer wins. Default: `[marker, last_number, last_line]`.
    pub order: Vec<ExtractRule>,
    /// Markers that introduce the answer, matched case-insensitively. The
    /// answer is the text after the last occurrence of any of them, up to the
    /// end of that line. Default: `["Answer:", "####"]`.
    pub markers: Vec<String>,
}

impl Default for AnswerExtraction {
    fn default() -> Self {
        Self {
            order: vec![
                ExtractRule::Marker,
                ExtractRule::LastNumber,
                ExtractRule::LastLine,
            ],
            markers: vec!["Answer:".to_string(), "####".to_string()],
        }
    }
}

impl AnswerExtraction {
    /// Checks that the order is non-empty, that no marker is blank, and that
    /// markers exist when the `marker` rule is used.
    pub fn validate(&self) -> Result<(), ScoringError> {
        if self.order.is_empty() {
            return Err(ScoringError::invalid(
                "order",
                "at least one rule is needed (marker, last_number, last_line)",
            ));
        }
        if let Some(i) = self.markers.iter().position(|m| m.trim().is_empty()) {
            return Err(ScoringError::invalid(
                format!("markers[{i}]"),
                "a marker may not be empty or whitespace",
            ));
        }
        if self.order.contains(&ExtractRule::Marker) && self.markers.is_empty() {
            return Err(ScoringError::invalid(
                "markers",
                "the `marker` rule is in `order` but no markers are given",
            ));
        }
        Ok(())
    }
}

/// How numeric answers are compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Equivalence {
    /// Relative tolerance, used only when either side is written in
    /// scientific notation (e.g. `1.5e3`); integers and plain decimals always
    /// compare exactly. Two values match when `|a - b| <= tol * max(|a|, |b|)`.
    /// Must be in `[0, 1)`. Default: `1e-6`.
    pub float_rel_tol: f64,
}

impl Default for Equivalence {
    fn default() -> Self {
        Self {
            float_rel_tol: 1e-6,
        }
    }
}

impl Equivalence {
    /// Checks that the tolerance is finite and in `[0, 1)`.
    pub fn validate(&self) -> Result<(), ScoringError> {
        if (0.0..1.0).contains(&self.float_rel_tol) {
            Ok(())
        } else {
            Err(ScoringError::invalid(
                "float_rel_tol",
                format!("must be in [0, 1), got {}", self.float_rel_tol),
            ))
        }
    }

    /// The tolerance actually applied: invalid values act as 0 (exact).
    fn tolerance(&self) -> f64 {
        if (0.0..1.0).contains(&self.float_rel_tol) {
            self.float_rel_tol
        } else {
            0.0
        }
    }
}

/// An answer found in a model's output, and the rule that found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Extracted {
    /// The extracted answer text, trimmed but otherwise as written.
    pub text: String,
    /// The extraction rule that produced it.
    pub rule: ExtractRule,
}

/// An exact decimal: `(-1)^negative × digits × 10^(-scale)`.
///
/// Canonical form: `digits` has no leading or trailing zeros (trailing zeros
/// are folded into `scale`, which may be negative); zero is the empty digit
/// string, positive, with scale 0. Structural equality is numeric equality.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Decimal {
    negative: bool,
    digits: String,
    scale: i64,
}

impl Decimal {
    /// Builds a canonical decimal from its sign and ASCII digit strings.
    fn from_parts(negative: bool, int_digits: &str, frac_digits: &str) -> Self {
        let all: String = int_digits.chars().chain(frac_digits.chars()).collect();
        let significant = all.trim_start_matches('0');
        let kept = significant.trim_end_matches('0');
        if kept.is_empty() {
            return Self::zero();
        }
        let trailing = significant.len() - kept.len();
        Self {
            negative,
            digits: kept.to_string(),
            scale: frac_digits.len() as i64 - trailing as i64,
        }
    }

    fn zero() -> Self {
        Self {
            negative: false,
            digits: String::new(),
            scale: 0,
        }
    }

    /// The nearest `f64` (correctly rounded; may be infinite for huge values).
    pub fn to_f64(&self) -> f64 {
        if self.digits.is_empty() {
            return 0.0;
        }
        let sign = if self.negative { "-" } else { "" };
        format!("{sign}{}e{}", self.digits, -self.scale)
            .parse()
            .unwrap_or(f64::NAN)
    }
}

impl fmt::Display for Decimal {
    /// Plain decimal notation without exponent: `-12.5`, `1000`, `0.05`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.digits.is_empty() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        let len = self.digits.len() as i64;
        if self.scale <= 0 {
            f.write_str(&self.digits)?;
            (0..-self.scale).try_for_each(|_| f.write_str("0"))
        } else if self.scale >= len {
            f.write_str("0.")?;
            (0..self.scale - len).try_for_each(|_| f.write_str("0"))?;
            f.write_str(&self.digits)
        } else {
            // 0 < scale < len, so the split point is inside the digit string.
            let (int, frac) = self.digits.split_at((len - self.scale) as usize);
            write!(f, "{int}.{frac}")
        }
    }
}

/// The value of a number: exact for plain decimals, a float for scientific
/// notation.
#[derive(Debug, Clone, PartialEq)]
pub enum NumberValue {
    /// An integer or plain decimal, compared exactly.
    Exact(Decimal),
    /// A number written with an exponent, compared with a relative tolerance.
    Float(f64),
}

/// A normalized number.
#[derive(Debug, Clone, PartialEq)]
pub struct Number {
    /// The numeric value.
    pub value: NumberValue,
    /// Whether it was written with a trailing `%`. Informational only: it
    /// never changes equivalence (`25%` equals `25`).
    pub percent: bool,
}

impl Number {
    /// The value as an `f64`.
    pub fn to_f64(&self) -> f64 {
        match &self.value {
            NumberValue::Exact(d) => d.to_f64(),
            NumberValue::Float(x) => *x,
        }
    }
}

impl fmt::Display for Number {
    /// Canonical rendering; [`normalize`] reads it back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            NumberValue::Exact(d) => write!(f, "{d}")?,
            NumberValue::Float(x) => write!(f, "{x:e}")?,
        }
        if self.percent {
            f.write_str("%")?;
        }
        Ok(())
    }
}

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

/// A number found inside free text by [`numbers_in`].
#[derive(Debug, Clone, PartialEq)]
pub struct NumberToken<'a> {
    /// The token as written, including sign, currency and percent.
    pub text: &'a str,
    /// Byte offset of the token in the scanned text.
    pub start: usize,
    /// Its normalized value.
    pub number: Number,
}

const CURRENCY: [char; 3] = ['$', '€', '£'];
const UNICODE_MINUS: char = '\u{2212}';

fn is_sign(c: char) -> bool {
    matches!(c, '+' | '-' | UNICODE_MINUS)
}

fn is_currency(c: char) -> bool {
    CURRENCY.contains(&c)
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
fn is_blank(s: &str) -> bool {
    strip_surrounding(s).is_empty()
}

/// A forward cursor over a string, by byte offset on char boundaries.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<char> {
        self.s[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.s[self.pos..].chars().nth(1)
    }

    /// Consumes the next char if it satisfies `pred`.
    fn eat(&mut self, pred: impl Fn(char) -> bool) -> Option<char> {
        let c = self.peek().filter(|&c| pred(c))?;
        self.pos += c.len_utf8();
        Some(c)
    }

    /// Consumes a run of ASCII digits and returns it.
    fn digits(&mut self) -> &'a str {
        let start = self.pos;
        let len = self.s[start..]
            .bytes()
            .take_while(u8::is_ascii_digit)
            .count();
        self.pos += len;
        &self.s[start..self.pos]
    }

    /// Whether the text at the cursor is `,ddd` not followed by another digit.
    fn at_thousands_group(&self) -> bool {
        let b = &self.s.as_bytes()[self.pos..];
        b.len() >= 4
            && b[0] == b','
            && b[1..4].iter().all(u8::is_ascii_digit)
            && !b.get(4).is_some_and(u8::is_ascii_digit)
    }
}

/// The integer and fraction digits of a number body.
struct Body {
    int_digits: String,
    frac_digits: String,
}

/// Matches a number body at the cursor: `ddd[,ddd]*[.d+]` or `.d+`.
fn match_body(cur: &mut Cursor<'_>) -> Option<Body> {
    if cur.peek() == Some('.') {
        if !cur.peek_second().is_some_and(|c| c.is_ascii_digit()) {
            return None;
        }
        cur.pos += 1;
        return Some(Body {
            int_digits: String::new(),
            frac_digits: cur.digits().to_string(),
        });
    }
    let lead = cur.digits();
    if lead.is_empty() {
        return None;
    }
    let mut int_digits = lead.to_string();
    if (1..=3).contains(&lead.len()) && !lead.starts_with('0') {
        while cur.at_thousands_group() {
            cur.pos += 1;
            int_digits.push_str(cur.digits());
        }
    }
    let mut frac_digits = String::new();
    if cur.peek() == Some('.') && cur.peek_second().is_some_and(|c| c.is_ascii_digit()) {
        cur.pos += 1;
        frac_digits.push_str(cur.digits());
    }
    Some(Body {
        int_digits,
        frac_digits,
    })
}

/// Matches an exponent `[eE][sign]d+` and returns it as a signed digit
/// string (`-3`, `12`), or `None` (consuming nothing) when there is none.
fn match_exponent(cur: &mut Cursor<'_>) -> Option<String> {
    let start = cur.pos;
    cur.eat(|c| c == 'e' || c == 'E')?;
    let negative = cur.eat(is_sign).is_some_and(|c| c != '+');
    let digits = cur.digits();
    if digits.is_empty() {
        cur.pos = start;
        return None;
    }
    Some(format!("{}{digits}", if negative { "-" } else { "" }))
}

/// Matches optional whitespace and a `%`; consumes nothing when absent.
fn match_percent(cur: &mut Cursor<'_>) -> bool {
    let start = cur.pos;
    while cur.eat(char::is_whitespace).is_some() {}
    if cur.eat(|c| c == '%').is_some() {
        true
    } else {
        cur.pos = start;
        false
    }
}

/// Matches the longest number starting exactly at byte `start` of `s`.
///
/// Returns the end offset and the value. Shared by [`normalize`] (which
/// requires the match to cover the whole string) and [`numbers_in`].
fn match_number(s: &str, start: usize) -> Option<(usize, Number)> {
    let mut cur = Cursor { s, pos: start };
    let sign_before = cur.eat(is_sign);
    let currency = cur.eat(is_currency);
    let sign = match (sign_before, currency) {
        (None, Some(_)) => cur.eat(is_sign),
        _ => sign_before,
    };
    let negative = sign.is_some_and(|c| c != '+');
    let body = match_body(&mut cur)?;
    let exponent = match_exponent(&mut cur);
    let percent = currency.is_none() && match_percent(&mut cur);
    let value = match exponent {
        None => NumberValue::Exact(Decimal::from_parts(
            negative,
            &body.int_digits,
            &body.frac_digits,
        )),
        Some(exp) => NumberValue::Float(float_value(negative, &body, &exp)?),
    };
    Some((cur.pos, Number { value, percent }))
}

/// The finite `f64` of a number written with an exponent; `-0.0` becomes 0.
fn float_value(negative: bool, body: &Body, exp: &str) -> Option<f64> {
    let int = if body.int_digits.is_empty() {
        "0"
    } else {
        &body.int_digits
    };
    let frac = if body.frac_digits.is_empty() {
        "0"
    } else {
        &body.frac_digits
    };
    let sign = if negative { "-" } else { "" };
    let x: f64 = format!("{sign}{int}.{frac}e{exp}").parse().ok()?;
    x.is_finite().then_some(x + 0.0)
}

/// Reads `s` as a number when the whole string is exactly one number.
fn parse_number(s: &str) -> Option<Number> {
    match match_number(s, 0) {
        Some((end, number)) if end == s.len() => Some(number),
        _ => None,
    }
}

/// Lower-cases and collapses runs of whitespace to one space.
fn normalize_text(s: &str) -> String {
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

/// Where a sign may stand in free text: at the start, after whitespace, or
/// after an opening bracket, quote, `=`, `:`, `;` or `,` (so the `-` in
/// `3-5` or `x-5` is not a minus sign).
fn sign_context_ok(prev: Option<char>) -> bool {
    prev.is_none_or(|c| {
        c.is_whitespace()
            || matches!(
                c,
                '(' | '[' | '{' | '<' | '=' | ':' | ';' | ',' | '"' | '\'' | '`' | '\u{201C}'
            )
    })
}

/// Byte offset where the token whose body starts at `body` begins, taking in
/// a preceding sign and/or currency symbol found at or after `floor` (the end
/// of the previous token).
fn token_start(s: &str, floor: usize, body: usize) -> usize {
    let within = |pos: usize| {
        (pos > floor)
            .then(|| s[..pos].chars().next_back())
            .flatten()
    };
    let before = |pos: usize| s[..pos].chars().next_back();
    let Some(c1) = within(body) else {
        return body;
    };
    let p1 = body - c1.len_utf8();
    if is_currency(c1) {
        return match within(p1).filter(|&c| is_sign(c)) {
            Some(c2) if sign_context_ok(before(p1 - c2.len_utf8())) => p1 - c2.len_utf8(),
            _ => p1,
        };
    }
    if !is_sign(c1) {
        return body;
    }
    match within(p1) {
        Some(c2) if is_currency(c2) => {
            let p2 = p1 - c2.len_utf8();
            if before(p2).is_some_and(is_sign) {
                body
            } else {
                p2
            }
        }
        _ if sign_context_ok(before(p1)) => p1,
        _ => body,
    }
}

/// Every number token in free text, left to right.
///
/// A token starts at a digit, or at a `.` directly followed by a digit (and
/// not preceded by one), and takes in a preceding sign and currency symbol
/// when the sign stands where a sign can (see the module rules). A comma run
/// that is not a valid thousands grouping is read as separate numbers: `1,5`
/// yields 1 and 5, never 15 or 1.5.
pub fn numbers_in(text: &str) -> Vec<NumberToken<'_>> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut floor = 0;
    let mut i = 0;
    while i < bytes.len() {
        let starts_body = bytes[i].is_ascii_digit()
            || (bytes[i] == b'.'
                && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)
                && !(i > 0 && bytes[i - 1].is_ascii_digit()));
        if !starts_body {
            i += 1;
            continue;
        }
        let prefixed = token_start(text, floor, i);
        let matched = match_number(text, prefixed)
            .map(|m| (prefixed, m))
            .or_else(|| match_number(text, i).map(|m| (i, m)));
        match matched {
            Some((start, (end, number))) => {
                tokens.push(NumberToken {
                    text: &text[start..end],
                    start,
                    number,
                });
                floor = end;
                i = end;
            }
            None => i += 1,
        }
    }
    tokens
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
    fn numbers_in_reads_every_token() {
        let values: Vec<String> = numbers_in("a 1,000 b 2.5, c .5 d 1.2.3 e $-4 f 1e3")
            .iter()
            .map(|t| t.number.to_string())
            .collect();
        assert_eq!(values, ["1000", "2.5", "0.5", "1.2", "3", "-4", "1e3"]);
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

    #[test]
    fn config_validation() {
        assert!(AnswerExtraction::default().validate().is_ok());
        let blank = AnswerExtraction {
            markers: vec!["Answer:".into(), " ".into()],
            ..AnswerExtraction::default()
        };
        assert!(blank.validate().is_err());
        let no_markers = AnswerExtraction {
            markers: vec![],
            ..AnswerExtraction::default()
        };
        assert!(no_markers.validate().is_err());
        assert!(Equivalence::default().validate().is_ok());
        assert!(Equivalence {
            float_rel_tol: -1.0
        }
        .validate()
        .is_err());
        assert!(Equivalence {
            float_rel_tol: f64::NAN
        }
        .validate()
        .is_err());
    }

    #[test]
    fn config_serde_defaults_and_unknown_fields() {
        let cfg: AnswerExtraction =
            serde_json::from_str(r#"{"markers": ["Final:"]}"#).unwrap_or_default();
        assert_eq!(cfg.order, AnswerExtraction::default().order);
        assert_eq!(cfg.markers, ["Final:"]);
        let bad = serde_json::from_str::<AnswerExtraction>(r#"{"marker": ["x"]}"#);
        assert!(bad.is_err());
        let rule = serde_json::to_string(&ExtractRule::LastNumber).ok();
        assert_eq!(rule.as_deref(), Some("\"last_number\""));
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// A random exact decimal as (negative, integer part, fraction digits).
    fn decimal() -> impl Strategy<Value = (bool, u64, String)> {
        (any::<bool>(), 0_u64..10_000_000_000, "[0-9]{0,6}")
    }

    fn group_thousands(n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }

    /// Formatting choices applied to one number.
    #[derive(Debug, Clone)]
    struct Style {
        thousands: bool,
        currency: Option<char>,
        sign_after_currency: bool,
        unicode_minus: bool,
        explicit_plus: bool,
        extra_zeros: usize,
        pad: bool,
        period: bool,
    }

    fn style() -> impl Strategy<Value = Style> {
        (
            any::<bool>(),
            prop::option::of(prop::sample::select(vec!['$', '€', '£'])),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0_usize..4,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(t, c, s, u, p, z, pad, period)| Style {
                thousands: t,
                currency: c,
                sign_after_currency: s,
                unicode_minus: u,
                explicit_plus: p,
                extra_zeros: z,
                pad,
                period,
            })
    }

    fn render(neg: bool, int: u64, frac: &str, st: &Style) -> String {
        let int_text = if st.thousands {
            group_thousands(int)
        } else {
            int.to_string()
        };
        let mut frac_text = frac.to_string();
        frac_text.extend(std::iter::repeat_n('0', st.extra_zeros));
        let body = if frac_text.is_empty() {
            int_text
        } else {
            format!("{int_text}.{frac_text}")
        };
        let sign = match (neg, st.unicode_minus, st.explicit_plus) {
            (true, true, _) => "\u{2212}",
            (true, false, _) => "-",
            (false, _, true) => "+",
            (false, _, false) => "",
        };
        let number = match st.currency {
            Some(c) if st.sign_after_currency => format!("{c}{sign}{body}"),
            Some(c) => format!("{sign}{c}{body}"),
            None => format!("{sign}{body}"),
        };
        let number = if st.period {
            format!("{number}.")
        } else {
            number
        };
        if st.pad {
            format!("  {number} ")
        } else {
            number
        }
    }

    fn canonical(neg: bool, int: u64, frac: &str) -> Decimal {
        Decimal::from_parts(neg, &int.to_string(), frac)
    }

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
        fn last_number_finds_a_formatted_number_in_prose(
            (neg, int, frac) in decimal(), st in style(),
        ) {
            let number = render(neg, int, &frac, &st);
            let out = format!("Some reasoning with 12 steps.\nSo the total is {}", number.trim());
            let cfg = AnswerExtraction::default();
            let (_, score) = answer_correctness(&out, &number, &cfg, &Equivalence::default());
            prop_assert_eq!(score, 1.0, "{:?}", out);
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
