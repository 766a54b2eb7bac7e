//! Numbers in answers and in free text: the grammar, exact decimals, and the
//! scanner that finds every number token.
//!
//! A number is: an optional sign (`+`, `-`, or U+2212 `−`), an optional
//! currency symbol (`$`, `€`, `£`; the sign may come before or after it),
//! then digits with an optional fraction (`12`, `12.50`, `.5`). Thousands
//! separators are accepted only in valid groups: `1,000` and `12,500,000` are
//! numbers, `1,5` and `1,0000` are not. An exponent (`1.5e3`) makes the value
//! a float. A trailing `%` (optionally after spaces) marks a percent; it is
//! not allowed together with a currency symbol. Only ASCII digits count.

use std::fmt;

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
    /// Canonical rendering; [`normalize`](super::normalize::normalize) reads it
    /// back to the same value.
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
/// Returns the end offset and the value. Shared by [`parse_number`] (which
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
pub(super) fn parse_number(s: &str) -> Option<Number> {
    match match_number(s, 0) {
        Some((end, number)) if end == s.len() => Some(number),
        _ => None,
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
/// when the sign stands where a sign can (see the module documentation). A comma run
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_reads_every_token() {
        let values: Vec<String> = numbers_in("a 1,000 b 2.5, c .5 d 1.2.3 e $-4 f 1e3")
            .iter()
            .map(|t| t.number.to_string())
            .collect();
        assert_eq!(values, ["1000", "2.5", "0.5", "1.2", "3", "-4", "1e3"]);
    }
}

/// Proptest strategies that write one number in many styles, shared by the
/// normalization and extraction property tests.
#[cfg(test)]
pub(crate) mod strategies {
    use super::*;
    use proptest::prelude::*;

    /// A random exact decimal as (negative, integer part, fraction digits).
    pub(crate) fn decimal() -> impl Strategy<Value = (bool, u64, String)> {
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
    pub(crate) struct Style {
        thousands: bool,
        currency: Option<char>,
        sign_after_currency: bool,
        unicode_minus: bool,
        explicit_plus: bool,
        extra_zeros: usize,
        pad: bool,
        period: bool,
    }

    pub(crate) fn style() -> impl Strategy<Value = Style> {
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

    pub(crate) fn render(neg: bool, int: u64, frac: &str, st: &Style) -> String {
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

    pub(crate) fn canonical(neg: bool, int: u64, frac: &str) -> Decimal {
        Decimal::from_parts(neg, &int.to_string(), frac)
    }
}
