//! The calculator of calculator annotations (`<<4*9=36>>`): evaluates an
//! arithmetic expression exactly (rationals) and writes the result the way
//! the generated traces do.
//!
//! Grammar: numbers (`12`, `1.25`, a leading `-` for a negative operand),
//! `+ - * /` with the usual precedence, parentheses, spaces ignored.
//! Results are written as integers when whole, otherwise as decimals with
//! at most [`MAX_DECIMALS`] places (rounded half away from zero).

use std::fmt;

/// Decimal places a non-whole result is written with, at most.
pub const MAX_DECIMALS: u32 = 6;

/// An exact rational `num / den` with `den > 0`, in lowest terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Value {
    num: i128,
    den: i128,
}

/// Why an expression has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalcError {
    #[error("not an arithmetic expression at byte {0}")]
    Syntax(usize),
    #[error("division by zero")]
    DivisionByZero,
    #[error("number too large")]
    Overflow,
}

impl Value {
    pub fn int(n: i64) -> Self {
        Value {
            num: i128::from(n),
            den: 1,
        }
    }

    fn new(num: i128, den: i128) -> Result<Self, CalcError> {
        if den == 0 {
            return Err(CalcError::DivisionByZero);
        }
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1) as i128;
        let sign = if den < 0 { -1 } else { 1 };
        let v = Value {
            num: sign * num / g,
            den: sign * den / g,
        };
        if v.num.unsigned_abs() > 1 << 100 || v.den > 1 << 100 {
            return Err(CalcError::Overflow);
        }
        Ok(v)
    }

    pub fn is_integer(self) -> bool {
        self.den == 1
    }

    fn add(self, o: Value) -> Result<Value, CalcError> {
        let num = mul(self.num, o.den)?
            .checked_add(mul(o.num, self.den)?)
            .ok_or(CalcError::Overflow)?;
        Value::new(num, mul(self.den, o.den)?)
    }

    fn sub(self, o: Value) -> Result<Value, CalcError> {
        self.add(Value {
            num: -o.num,
            den: o.den,
        })
    }

    fn mul(self, o: Value) -> Result<Value, CalcError> {
        Value::new(mul(self.num, o.num)?, mul(self.den, o.den)?)
    }

    fn div(self, o: Value) -> Result<Value, CalcError> {
        Value::new(mul(self.num, o.den)?, mul(self.den, o.num)?)
    }
}

fn mul(a: i128, b: i128) -> Result<i128, CalcError> {
    a.checked_mul(b).ok_or(CalcError::Overflow)
}

fn gcd(a: u128, b: u128) -> u128 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(*self))
    }
}

/// The value of `expr`.
pub fn evaluate(expr: &str) -> Result<Value, CalcError> {
    let mut p = Parser {
        s: expr.as_bytes(),
        i: 0,
    };
    let v = p.sum()?;
    p.skip_spaces();
    if p.i != p.s.len() {
        return Err(CalcError::Syntax(p.i));
    }
    Ok(v)
}

/// `v` as the traces write it: `36`, `-3`, `2.5`, `0.333333`.
pub fn format(v: Value) -> String {
    if v.is_integer() {
        return v.num.to_string();
    }
    let scale = 10i128.pow(MAX_DECIMALS);
    let scaled = v.num * scale;
    let mut q = scaled / v.den;
    let r = scaled % v.den;
    if 2 * r.abs() >= v.den {
        q += scaled.signum();
    }
    let sign = if q < 0 { "-" } else { "" };
    let q = q.abs();
    let int = q / scale;
    let frac = format!("{:0width$}", q % scale, width = MAX_DECIMALS as usize);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// The numbers of a prompt, in order, as `n1`, `n2`, ... refer to them:
/// digits with optional thousands separators and decimals, a `-` sign when
/// it directly precedes the digits and does not follow a letter or digit.
pub fn prompt_numbers(prompt: &str) -> Vec<String> {
    let b = prompt.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit()
            || (i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.'))
        {
            i += 1;
            continue;
        }
        let negative = i > 0 && b[i - 1] == b'-' && (i < 2 || !b[i - 2].is_ascii_alphanumeric());
        let mut text = String::from(if negative { "-" } else { "" });
        while i < b.len() {
            let c = b[i];
            let joins = (c == b',' || c == b'.') && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if c.is_ascii_digit() {
                text.push(c as char);
            } else if joins && c == b'.' {
                text.push('.');
            } else if !joins {
                break;
            }
            i += 1;
        }
        out.push(text);
    }
    out
}

/// `expr` with its references replaced: `n3` by the third number of the
/// prompt, `r2` by the second result so far. `None` when a reference has
/// no value.
pub fn resolve(expr: &str, numbers: &[String], results: &[String]) -> Option<String> {
    let b = expr.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if (c == b'n' || c == b'r') && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let digits: String = expr[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            let k: usize = digits.parse().ok()?;
            let table = if c == b'n' { numbers } else { results };
            let value = table.get(k.checked_sub(1)?)?;
            out.push_str(value);
            i += 1 + digits.len();
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    Some(out)
}

/// The text of an output written with references, with every reference
/// (`n3`, `r2`, outside and inside annotations) replaced by its number:
/// what a reader (and the scorer) sees.
pub fn render(output: &str, numbers: &[String]) -> String {
    let mut results: Vec<String> = Vec::new();
    let mut out = String::new();
    let mut rest = output;
    loop {
        let Some(open) = rest.find("<<") else {
            out.push_str(&resolve_text(rest, numbers, &results));
            return out;
        };
        out.push_str(&resolve_text(&rest[..open], numbers, &results));
        let body_end = rest[open..].find(">>").map(|e| open + e);
        let Some(end) = body_end else {
            out.push_str(&resolve_text(&rest[open..], numbers, &results));
            return out;
        };
        let body = &rest[open + 2..end];
        let rendered = match body.rsplit_once('=') {
            Some((expr, result)) => {
                let shown = resolve(expr, numbers, &results).unwrap_or_else(|| expr.to_string());
                results.push(result.to_string());
                format!("<<{shown}={result}>>")
            }
            None => format!("<<{body}>>"),
        };
        out.push_str(&rendered);
        rest = &rest[end + 2..];
    }
}

/// Plain text with references replaced where they resolve.
fn resolve_text(text: &str, numbers: &[String], results: &[String]) -> String {
    text.split(' ')
        .map(|word| {
            let core = word.trim_start_matches(['$', '+']);
            let core = core.trim_end_matches(['%', '.', ',']);
            let is_ref = core.len() > 1
                && (core.starts_with('n') || core.starts_with('r'))
                && core[1..].bytes().all(|b| b.is_ascii_digit());
            match is_ref.then(|| resolve(core, numbers, results)).flatten() {
                Some(v) => word.replacen(core, &v, 1),
                None => word.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn skip_spaces(&mut self) {
        while self.s.get(self.i) == Some(&b' ') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_spaces();
        self.s.get(self.i).copied()
    }

    fn sum(&mut self) -> Result<Value, CalcError> {
        let mut v = self.product()?;
        while let Some(op @ (b'+' | b'-')) = self.peek() {
            self.i += 1;
            let rhs = self.product()?;
            v = if op == b'+' { v.add(rhs)? } else { v.sub(rhs)? };
        }
        Ok(v)
    }

    fn product(&mut self) -> Result<Value, CalcError> {
        let mut v = self.atom()?;
        while let Some(op @ (b'*' | b'/')) = self.peek() {
            self.i += 1;
            let rhs = self.atom()?;
            v = if op == b'*' { v.mul(rhs)? } else { v.div(rhs)? };
        }
        Ok(v)
    }

    fn atom(&mut self) -> Result<Value, CalcError> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let v = self.sum()?;
                if self.peek() != Some(b')') {
                    return Err(CalcError::Syntax(self.i));
                }
                self.i += 1;
                Ok(v)
            }
            Some(b'-') => {
                self.i += 1;
                Value::int(0).sub(self.atom()?)
            }
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Result<Value, CalcError> {
        let start = self.i;
        let mut num: i128 = 0;
        let mut den: i128 = 1;
        let mut digits = 0;
        let mut seen_point = false;
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b'0'..=b'9' => {
                    num = num
                        .checked_mul(10)
                        .and_then(|n| n.checked_add(i128::from(c - b'0')))
                        .ok_or(CalcError::Overflow)?;
                    if seen_point {
                        den = den.checked_mul(10).ok_or(CalcError::Overflow)?;
                    }
                    digits += 1;
                }
                b'.' if !seen_point => seen_point = true,
                _ => break,
            }
            self.i += 1;
            if digits > 30 {
                return Err(CalcError::Overflow);
            }
        }
        if digits == 0 {
            return Err(CalcError::Syntax(start));
        }
        Value::new(num, den)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn calc(e: &str) -> String {
        format(evaluate(e).expect(e))
    }

    #[test]
    fn precedence_parentheses_and_signs() {
        assert_eq!(calc("4*9"), "36");
        assert_eq!(calc("36-7"), "29");
        assert_eq!(calc("2+3*4"), "14");
        assert_eq!(calc("(2+3)*4"), "20");
        assert_eq!(calc("10*100/40"), "25");
        assert_eq!(calc("5-8"), "-3");
        assert_eq!(calc("-4-3"), "-7");
        assert_eq!(calc(" 7 - -2 "), "9");
        assert_eq!(calc("1.25*4"), "5");
        assert_eq!(calc("9/4"), "2.25");
        assert_eq!(calc("5/2"), "2.5");
        assert_eq!(calc("10/3"), "3.333333");
        assert_eq!(calc("-2/3"), "-0.666667");
        assert_eq!(calc("3.00-0.75*3"), "0.75");
    }

    #[test]
    fn bad_expressions_are_errors_not_panics() {
        assert_eq!(evaluate("4*"), Err(CalcError::Syntax(2)));
        assert_eq!(evaluate("4/0"), Err(CalcError::DivisionByZero));
        assert!(matches!(evaluate("(1+2"), Err(CalcError::Syntax(_))));
        assert!(matches!(evaluate("Q: 3"), Err(CalcError::Syntax(_))));
        assert!(matches!(evaluate(""), Err(CalcError::Syntax(_))));
        assert!(evaluate(&"9".repeat(40)).is_err());
        assert!(evaluate("99999999999999*".repeat(12).trim_end_matches('*')).is_err());
    }

    #[test]
    fn prompt_numbers_are_read_in_order_with_signs_separators_and_decimals() {
        let p =
            "Mia has 4 boxes of 12 pens. It costs $1,250 and $1.25, then -4 degrees; item-3 and 2.";
        assert_eq!(
            prompt_numbers(p),
            vec!["4", "12", "1250", "1.25", "-4", "3", "2"]
        );
    }

    #[test]
    fn references_resolve_to_prompt_numbers_and_earlier_results() {
        let numbers = vec!["4".to_string(), "9".to_string(), "-7".to_string()];
        let results = vec!["36".to_string()];
        assert_eq!(resolve("n1*n2", &numbers, &[]).as_deref(), Some("4*9"));
        assert_eq!(
            resolve("r1-n3", &numbers, &results).as_deref(),
            Some("36--7")
        );
        assert_eq!(resolve("n4+1", &numbers, &results), None);
        assert_eq!(resolve("r0", &numbers, &results), None);
        assert_eq!(
            resolve("12*100/40", &numbers, &results).as_deref(),
            Some("12*100/40")
        );
        let out = render(
            " <<n1*n2=36>> <<r1-7=29>> Answer: r2",
            &["4".to_string(), "9".to_string()],
        );
        assert_eq!(out, " <<4*9=36>> <<36-7=29>> Answer: 29");
        assert_eq!(
            render(" <<n1*2=10>> Answer: $r1.", &["5".to_string()]),
            " <<5*2=10>> Answer: $10."
        );
    }

    proptest! {
        #[test]
        fn integer_arithmetic_matches_i64(a in -100_000i64..100_000, b in -100_000i64..100_000) {
            prop_assert_eq!(calc(&format!("{a}+{b}").replace("+-", "-")), (a + b).to_string());
            prop_assert_eq!(calc(&format!("{a}*{b}").replace("*-", "*(0-1)*")), (a * b).to_string());
            if b != 0 && a % b == 0 {
                prop_assert_eq!(calc(&format!("{a}/({b})")), (a / b).to_string());
            }
        }

        #[test]
        fn any_input_is_a_value_or_an_error(s in "[0-9+*/() .-]{0,24}") {
            let _ = evaluate(&s);
        }
    }
}
