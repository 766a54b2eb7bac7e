//! How a searched parameter is plotted against the metric: on a log axis
//! (`loguniform`), a linear axis (`uniform`, `randint`) or as categories
//! (`choice`, `grid`, in the order the manifest lists them). Without the
//! Sweep manifest the axis is inferred from the values: numbers linear,
//! anything else categorical. Pure functions.

use serde::Serialize;
use serde_json::Value;

use crate::manifest::sweep::{Distribution, ParamValue};

/// The kind of axis a parameter is plotted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AxisKind {
    /// Logarithmic (a `loguniform` parameter).
    Log,
    /// Linear (`uniform`, `randint`, or numbers of unknown distribution).
    Linear,
    /// One band per value (`choice`, `grid`, or values that are not all
    /// numbers).
    Categorical,
}

/// A parameter's axis with its range or categories.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    /// Numbers from `lo` to `hi`, on a log scale when `log`.
    Numeric { log: bool, lo: f64, hi: f64 },
    /// One band per label, in this order.
    Categorical(Vec<String>),
}

/// The name of a distribution as written in a manifest.
pub fn distribution_name(dist: &Distribution) -> &'static str {
    match dist {
        Distribution::Uniform(_) => "uniform",
        Distribution::Loguniform(_) => "loguniform",
        Distribution::Randint(_) => "randint",
        Distribution::Choice(_) => "choice",
        Distribution::Grid(_) => "grid",
    }
}

/// The axis kind of a parameter with distribution `dist` (when known) and
/// these sampled `values`. A log axis needs every value positive; it falls
/// back to linear otherwise.
pub fn axis_kind(dist: Option<&Distribution>, values: &[&Value]) -> AxisKind {
    let numbers: Option<Vec<f64>> = values.iter().map(|v| v.as_f64()).collect();
    match (dist, numbers) {
        (Some(Distribution::Choice(_) | Distribution::Grid(_)), _) => AxisKind::Categorical,
        (Some(Distribution::Loguniform(_)), Some(n)) if n.iter().all(|x| *x > 0.0) => AxisKind::Log,
        (_, Some(_)) => AxisKind::Linear,
        (_, None) => AxisKind::Categorical,
    }
}

/// The axis of kind `kind` covering `values` and, when known, the bounds
/// or listed values of `dist`.
pub fn axis(kind: AxisKind, dist: Option<&Distribution>, values: &[&Value]) -> Axis {
    match kind {
        AxisKind::Categorical => {
            let mut labels: Vec<String> = match dist {
                Some(Distribution::Choice(listed) | Distribution::Grid(listed)) => {
                    listed.iter().map(listed_text).collect()
                }
                _ => Vec::new(),
            };
            let mut extra: Vec<String> = values
                .iter()
                .map(|v| value_text(v))
                .filter(|t| !labels.contains(t))
                .collect();
            extra.sort();
            extra.dedup();
            labels.extend(extra);
            Axis::Categorical(labels)
        }
        AxisKind::Log | AxisKind::Linear => {
            let log = kind == AxisKind::Log;
            let bounds = match dist {
                Some(Distribution::Uniform([lo, hi]) | Distribution::Loguniform([lo, hi])) => {
                    vec![*lo, *hi]
                }
                Some(Distribution::Randint([lo, hi])) => vec![*lo as f64, *hi as f64],
                _ => Vec::new(),
            };
            let all = values
                .iter()
                .filter_map(|v| v.as_f64())
                .chain(bounds)
                .filter(|x| x.is_finite() && (!log || *x > 0.0));
            let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
                (lo.min(x), hi.max(x))
            });
            if lo > hi {
                Axis::Numeric {
                    log,
                    lo: 0.0,
                    hi: 1.0,
                }
            } else {
                Axis::Numeric { log, lo, hi }
            }
        }
    }
}

impl Axis {
    /// Where `value` falls on the axis, from 0 to 1; `None` when it cannot
    /// be placed (not a number on a numeric axis, not positive on a log
    /// axis). A numeric axis of one value puts it in the middle.
    pub fn position(&self, value: &Value) -> Option<f64> {
        match self {
            Axis::Numeric { log, lo, hi } => {
                let x = value.as_f64().filter(|x| x.is_finite())?;
                let (x, lo, hi) = if *log {
                    if x <= 0.0 {
                        return None;
                    }
                    (x.ln(), lo.ln(), hi.ln())
                } else {
                    (x, *lo, *hi)
                };
                if hi > lo {
                    Some(((x - lo) / (hi - lo)).clamp(0.0, 1.0))
                } else {
                    Some(0.5)
                }
            }
            Axis::Categorical(labels) => {
                let text = value_text(value);
                let i = labels.iter().position(|l| *l == text)?;
                Some((i as f64 + 0.5) / labels.len() as f64)
            }
        }
    }

    /// Tick positions (0 to 1) and labels: every power of ten in range on a
    /// log axis (with the ends when fewer than two fit), the ends and the
    /// middle on a linear one, every category in its band.
    pub fn ticks(&self) -> Vec<(f64, String)> {
        match self {
            Axis::Numeric { log: true, lo, hi } if hi > lo => {
                // A bound that is a power of ten (1e-4) may come out of
                // log10 a hair off; the slack keeps its tick.
                let first = (lo.log10() - 1e-9).ceil() as i32;
                let last = (hi.log10() + 1e-9).floor() as i32;
                let decades: Vec<(f64, String)> = (first..=last)
                    .map(|k| {
                        let at = (f64::from(k) * std::f64::consts::LN_10 - lo.ln())
                            / (hi.ln() - lo.ln());
                        (at.clamp(0.0, 1.0), format!("1e{k}"))
                    })
                    .collect();
                if decades.len() >= 2 {
                    decades
                } else {
                    vec![(0.0, number_text(*lo)), (1.0, number_text(*hi))]
                }
            }
            Axis::Numeric { lo, hi, .. } if hi > lo => vec![
                (0.0, number_text(*lo)),
                (0.5, number_text((lo + hi) / 2.0)),
                (1.0, number_text(*hi)),
            ],
            Axis::Numeric { lo, .. } => vec![(0.5, number_text(*lo))],
            Axis::Categorical(labels) => labels
                .iter()
                .enumerate()
                .map(|(i, l)| ((i as f64 + 0.5) / labels.len() as f64, l.clone()))
                .collect(),
        }
    }
}

/// A parameter value as shown: integers as written, reals with 4
/// significant digits (`0.0523`, `1.156e-3`), text as is, `—` for null.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::Null => super::super::num::NONE.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => n.as_f64().map(number_text).unwrap_or_default(),
        other => other.to_string(),
    }
}

/// A listed manifest value as shown, the same as the sampled value would be.
fn listed_text(value: &ParamValue) -> String {
    value_text(&serde_json::to_value(value).unwrap_or(Value::Null))
}

/// A real with 4 significant digits: fixed between 0.01 and 100000,
/// scientific otherwise (`1.156e-3`), trailing zeros cut (`1.1e-3`).
pub fn number_text(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if (1e-2..1e5).contains(&a) {
        let digits = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        let text = format!("{x:.digits$}");
        if text.contains('.') {
            text.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            text
        }
    } else {
        let text = format!("{x:.3e}");
        match text.split_once('e') {
            Some((mantissa, exponent)) if mantissa.contains('.') => format!(
                "{}e{exponent}",
                mantissa.trim_end_matches('0').trim_end_matches('.')
            ),
            _ => text,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refs(values: &[Value]) -> Vec<&Value> {
        values.iter().collect()
    }

    #[test]
    fn the_distribution_decides_the_axis_and_values_decide_without_it() {
        let lrs = [json!(0.001), json!(0.005)];
        let log = Distribution::Loguniform([1e-3, 1e-2]);
        assert_eq!(axis_kind(Some(&log), &refs(&lrs)), AxisKind::Log);
        let uniform = Distribution::Uniform([0.0, 0.1]);
        assert_eq!(axis_kind(Some(&uniform), &refs(&lrs)), AxisKind::Linear);
        let choice = Distribution::Choice(vec![ParamValue::Int(8)]);
        assert_eq!(axis_kind(Some(&choice), &refs(&lrs)), AxisKind::Categorical);
        assert_eq!(axis_kind(None, &refs(&lrs)), AxisKind::Linear);
        let mixed = [json!(1), json!("adamw")];
        assert_eq!(axis_kind(None, &refs(&mixed)), AxisKind::Categorical);
        let non_positive = [json!(0.0), json!(0.1)];
        assert_eq!(
            axis_kind(Some(&log), &refs(&non_positive)),
            AxisKind::Linear,
            "a log axis cannot place 0"
        );
    }

    #[test]
    fn a_log_axis_spaces_decades_evenly_and_spans_the_distribution() {
        let log = Distribution::Loguniform([1e-4, 1e-2]);
        let values = [json!(0.001), json!(0.002)];
        let axis = axis(AxisKind::Log, Some(&log), &refs(&values));
        assert_eq!(
            axis,
            Axis::Numeric {
                log: true,
                lo: 1e-4,
                hi: 1e-2
            }
        );
        let at = |x: f64| axis.position(&json!(x)).expect("placed");
        assert!((at(1e-4) - 0.0).abs() < 1e-12);
        assert!((at(1e-3) - 0.5).abs() < 1e-12, "{}", at(1e-3));
        assert!((at(1e-2) - 1.0).abs() < 1e-12);
        assert_eq!(axis.position(&json!(-1.0)), None);
        let labels: Vec<String> = axis.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, vec!["1e-4", "1e-3", "1e-2"]);
    }

    #[test]
    fn a_log_axis_within_one_decade_labels_its_ends() {
        let axis = Axis::Numeric {
            log: true,
            lo: 2e-3,
            hi: 8e-3,
        };
        assert_eq!(
            axis.ticks(),
            vec![(0.0, "2e-3".to_string()), (1.0, "8e-3".to_string())]
        );
        let mid = axis.position(&json!(4e-3)).expect("placed");
        assert!((mid - 0.5).abs() < 1e-12, "geometric middle: {mid}");
    }

    #[test]
    fn categories_follow_the_manifest_then_the_values() {
        let choice = Distribution::Choice(vec![
            ParamValue::Int(32),
            ParamValue::Int(8),
            ParamValue::Int(16),
        ]);
        let values = [json!(8), json!(64), json!(32), json!("x")];
        let axis = axis(AxisKind::Categorical, Some(&choice), &refs(&values));
        assert_eq!(
            axis,
            Axis::Categorical(vec![
                "32".into(),
                "8".into(),
                "16".into(),
                "64".into(),
                "x".into()
            ])
        );
        assert_eq!(axis.position(&json!(32)), Some(0.1));
        assert_eq!(axis.position(&json!(99)), None);
    }

    #[test]
    fn linear_axes_cover_values_and_bounds_and_survive_one_value() {
        let randint = Distribution::Randint([0, 20]);
        let values = [json!(5), json!(10)];
        let axis = axis(AxisKind::Linear, Some(&randint), &refs(&values));
        assert_eq!(axis.position(&json!(5)), Some(0.25));
        assert_eq!(axis.ticks()[1].1, "10");
        let single = super::axis(AxisKind::Linear, None, &refs(&[json!(3)]));
        assert_eq!(single.position(&json!(3)), Some(0.5));
        let empty = super::axis(AxisKind::Linear, None, &[]);
        assert_eq!(
            empty,
            Axis::Numeric {
                log: false,
                lo: 0.0,
                hi: 1.0
            }
        );
    }

    #[test]
    fn values_show_four_significant_digits() {
        assert_eq!(value_text(&json!(0.0011559854683297957)), "1.156e-3");
        assert_eq!(value_text(&json!(0.0523)), "0.0523");
        assert_eq!(value_text(&json!(0.1)), "0.1");
        assert_eq!(value_text(&json!(12.5)), "12.5");
        assert_eq!(value_text(&json!(16)), "16");
        assert_eq!(value_text(&json!(0.0)), "0");
        assert_eq!(value_text(&json!("adamw")), "adamw");
        assert_eq!(value_text(&json!(true)), "true");
        assert_eq!(value_text(&Value::Null), "—");
        assert_eq!(number_text(123456.0), "1.235e5");
        assert_eq!(number_text(0.0011), "1.1e-3");
        assert_eq!(number_text(-2e-7), "-2e-7");
    }
}
