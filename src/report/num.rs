//! Number formatting shared by the reports: scores with 4 decimals on the
//! 0–1 scale, differences in percentage points (`+8.33 pp`, 2 decimals, an
//! explicit sign), shares as percentages, `—` for a missing number.

/// The placeholder for a missing number.
pub const NONE: &str = "—";

/// `x` with 4 decimals; `—` when missing or not finite.
pub fn fixed(x: Option<f64>) -> String {
    match x.filter(|v| v.is_finite()) {
        Some(v) => unsign_zero(format!("{v:.4}")),
        None => NONE.to_string(),
    }
}

/// `x` with 4 decimals and an explicit sign (`+0.0830`, `-0.0120`,
/// `0.0000`).
pub fn signed(x: Option<f64>) -> String {
    match x.filter(|v| v.is_finite()) {
        Some(v) => {
            let text = unsign_zero(format!("{v:.4}"));
            if v > 0.0 && text != "0.0000" {
                format!("+{text}")
            } else {
                text
            }
        }
        None => NONE.to_string(),
    }
}

/// A number as a sort key for the HTML tables' script: its shortest
/// exact text, empty when missing or not finite.
pub fn sort_key(x: Option<f64>) -> String {
    x.filter(|v| v.is_finite())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// A score with its 95% CI: `0.7500 [0.6661, 0.8178]`; the score alone
/// when the CI is incomplete.
pub fn with_ci(x: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    interval(fixed(x), fixed, low, high)
}

/// A difference with its CI: `+0.0830 [+0.0210, +0.1450]`.
pub fn signed_with_ci(x: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    interval(signed(x), signed, low, high)
}

/// `value` followed by `[low, high]` formatted with `f`, when the value
/// and both bounds are finite numbers.
fn interval(
    value: String,
    f: impl Fn(Option<f64>) -> String,
    low: Option<f64>,
    high: Option<f64>,
) -> String {
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    match (value.as_str(), finite(low), finite(high)) {
        (NONE, _, _) => value,
        (_, Some(_), Some(_)) => format!("{value} [{}, {}]", f(low), f(high)),
        _ => value,
    }
}

/// A difference already in percentage points, signed, 2 decimals:
/// `+8.33 pp`, `-0.42 pp`, `0.00 pp`; `—` when missing.
pub fn pp(x: Option<f64>) -> String {
    match x.filter(|v| v.is_finite()) {
        Some(v) => {
            let text = format!("{v:.2}");
            let text = if text == "-0.00" {
                "0.00".to_string()
            } else {
                text
            };
            if v > 0.0 && text != "0.00" {
                format!("+{text} pp")
            } else {
                format!("{text} pp")
            }
        }
        None => NONE.to_string(),
    }
}

/// A size in percentage points, unsigned: `8.33 pp`; `—` when missing.
pub fn pp_abs(x: Option<f64>) -> String {
    match x.filter(|v| v.is_finite()) {
        Some(v) => format!("{:.2} pp", v.abs()),
        None => NONE.to_string(),
    }
}

/// A difference in percentage points with its CI:
/// `+8.33 pp [-4.25, +62.31]`.
pub fn pp_with_ci(x: Option<f64>, low: Option<f64>, high: Option<f64>) -> String {
    let bound = |v: Option<f64>| pp(v).trim_end_matches(" pp").to_string();
    interval(pp(x), bound, low, high)
}

/// A share in `[0, 1]` as a percentage with one decimal: `9.2%`,
/// `100.0%`; `—` when missing.
pub fn percent(x: Option<f64>) -> String {
    match x.filter(|v| v.is_finite()) {
        Some(v) => format!("{:.1}%", v * 100.0),
        None => NONE.to_string(),
    }
}

/// A p-value: `0.0040`; below 0.0001 in scientific notation
/// (`1.2e-7`) rather than rounded to zero.
pub fn p_value(p: Option<f64>) -> String {
    match p.filter(|v| v.is_finite()) {
        Some(v) if v != 0.0 && v.abs() < 0.0001 => format!("{v:.1e}"),
        other => fixed(other),
    }
}

/// A setting such as alpha, in its shortest exact form (`0.05`, `0`).
pub fn setting(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        NONE.to_string()
    }
}

/// `-0.0000` reads as a sign that is not there.
fn unsign_zero(text: String) -> String {
    if text == "-0.0000" {
        "0.0000".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_four_decimals_and_a_dash_for_null() {
        assert_eq!(fixed(Some(0.75)), "0.7500");
        assert_eq!(fixed(None), "—");
        assert_eq!(fixed(Some(f64::NAN)), "—");
        assert_eq!(fixed(Some(-0.00001)), "0.0000");
        assert_eq!(signed(Some(0.083)), "+0.0830");
        assert_eq!(signed(Some(-0.012)), "-0.0120");
        assert_eq!(signed(Some(0.0)), "0.0000");
        assert_eq!(signed(Some(0.00001)), "0.0000");
        assert_eq!(
            with_ci(Some(0.75), Some(0.6661), Some(0.8178)),
            "0.7500 [0.6661, 0.8178]"
        );
        assert_eq!(with_ci(Some(0.75), None, Some(0.8)), "0.7500");
        assert_eq!(with_ci(None, Some(0.1), Some(0.8)), "—");
        assert_eq!(
            signed_with_ci(Some(0.083), Some(-0.01), Some(0.2)),
            "+0.0830 [-0.0100, +0.2000]"
        );
        assert_eq!(p_value(Some(0.004)), "0.0040");
        assert_eq!(p_value(Some(1.23e-9)), "1.2e-9");
        assert_eq!(p_value(Some(0.0)), "0.0000");
        assert_eq!(p_value(None), "—");
        assert_eq!(setting(0.05), "0.05");
        assert_eq!(setting(0.0), "0");
        assert_eq!(pp(Some(8.333)), "+8.33 pp");
        assert_eq!(pp(Some(-0.001)), "0.00 pp");
        assert_eq!(pp(Some(-19.8)), "-19.80 pp");
        assert_eq!(pp(None), "—");
        assert_eq!(pp_abs(Some(-2.0)), "2.00 pp");
        assert_eq!(
            pp_with_ci(Some(33.33), Some(-4.25), Some(62.31)),
            "+33.33 pp [-4.25, +62.31]"
        );
        assert_eq!(percent(Some(11.0 / 120.0)), "9.2%");
        assert_eq!(percent(Some(1.0)), "100.0%");
    }
}
