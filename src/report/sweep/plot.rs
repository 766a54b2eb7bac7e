//! Inline SVG for the sweep report: each parameter against the metric (a
//! scatter on the parameter's [`Axis`]) and the learning curves of every
//! trial in one chart, with a marker where the scheduler stopped a trial.
//! Pure string builders; every piece of text goes through
//! [`escape`](super::super::svg::escape), so the output is safe to embed.

use serde_json::Value;

use super::axis::{number_text, Axis};
use crate::report::svg::{escape, thin, truncate};
use tunix_core::sweep::ledger::TrialState;

/// Font of all labels: the reader's own system font, nothing downloaded.
const FONT: &str =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"11\"";
/// Color of frames and gridlines.
const GRID: &str = "#d0d7de";
/// Color of axis labels.
const LABEL: &str = "#57606a";
/// Color of the best trial.
const BEST: &str = "#0969da";
/// Space between a frame's border and the data, so that extreme points
/// do not sit on the border.
const INSET: f64 = 6.0;

/// The color a trial is drawn in.
pub fn color(state: TrialState, best: bool) -> &'static str {
    if best {
        return BEST;
    }
    match state {
        TrialState::Completed => "#8250df",
        TrialState::Stopped => "#8c959f",
        TrialState::Failed => "#cf222e",
        TrialState::Running | TrialState::Pending | TrialState::Cancelled => "#bf8700",
    }
}

/// A coordinate with one decimal.
fn c(x: f64) -> String {
    format!("{x:.1}")
}

/// The opening tag of an SVG of `width` × `height` with an accessible title.
fn open(width: f64, height: f64, class: &str, title: &str) -> String {
    format!(
        "<svg class=\"{class}\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" {FONT}><title>{t}</title>",
        w = c(width),
        h = c(height),
        t = escape(title)
    )
}

/// A plot area: where the data goes inside an SVG.
#[derive(Debug, Clone, Copy)]
struct Frame {
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    /// x of a position from 0 (left) to 1 (right).
    fn x(&self, at: f64) -> f64 {
        self.left + INSET + at * (self.right - self.left - 2.0 * INSET)
    }

    /// y of a position from 0 (bottom) to 1 (top).
    fn y(&self, at: f64) -> f64 {
        self.bottom - INSET - at * (self.bottom - self.top - 2.0 * INSET)
    }

    /// The frame's border.
    fn border(&self) -> String {
        format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{GRID}\"/>",
            c(self.left),
            c(self.top),
            c(self.right - self.left),
            c(self.bottom - self.top)
        )
    }

    /// Labels of the value range `lo`–`hi` on the left edge, level with
    /// the highest and lowest data.
    fn y_labels(&self, lo: f64, hi: f64) -> String {
        let x = c(self.left - 5.0);
        format!(
            "<g fill=\"{LABEL}\" text-anchor=\"end\"><text x=\"{x}\" y=\"{}\">{}</text><text x=\"{x}\" y=\"{}\">{}</text></g>",
            c(self.y(1.0) + 4.0),
            escape(&number_text(hi)),
            c(self.y(0.0) + 4.0),
            escape(&number_text(lo))
        )
    }
}

/// The range of `values` (finite ones), widened when it is a single value;
/// `None` when there is none.
pub fn range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if lo > hi {
        None
    } else if hi > lo {
        Some((lo, hi))
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        Some((lo - pad, hi + pad))
    }
}

/// Where `v` falls in `[lo, hi]`, from 0 to 1.
fn unit(v: f64, (lo, hi): (f64, f64)) -> f64 {
    ((v - lo) / (hi - lo)).clamp(0.0, 1.0)
}

/// One trial in a parameter's scatter plot.
#[derive(Debug, Clone)]
pub struct ScatterPoint<'a> {
    pub trial_id: &'a str,
    /// The parameter's value.
    pub value: &'a Value,
    /// The metric at the last step the trial reached.
    pub metric: f64,
    pub state: TrialState,
    pub best: bool,
}

/// Layout of a scatter plot.
const SCATTER: Frame = Frame {
    left: 52.0,
    right: 296.0,
    top: 26.0,
    bottom: 170.0,
};

/// Parameter `name` (on `axis`) against `metric`: one dot per trial, the
/// best ringed; `None` when no point can be placed.
pub fn scatter(
    name: &str,
    metric: &str,
    axis: &Axis,
    points: &[ScatterPoint<'_>],
) -> Option<String> {
    let placed: Vec<(f64, &ScatterPoint)> = points
        .iter()
        .filter(|p| p.metric.is_finite())
        .filter_map(|p| axis.position(p.value).map(|at| (at, p)))
        .collect();
    let y_range = range(placed.iter().map(|(_, p)| p.metric))?;
    let f = SCATTER;
    let scale = match axis {
        Axis::Numeric { log: true, .. } => "log scale",
        Axis::Numeric { .. } => "linear scale",
        Axis::Categorical(_) => "categories",
    };
    let mut out = open(
        320.0,
        206.0,
        "chart scatter-chart",
        &format!("{metric} against {name} ({scale}), one dot per trial"),
    );
    out.push_str(&format!(
        "<text x=\"8.0\" y=\"15.0\" fill=\"#1f2328\" font-weight=\"600\">{} <tspan fill=\"{LABEL}\" font-weight=\"400\">({scale})</tspan></text>",
        escape(name)
    ));
    out.push_str(&f.border());
    out.push_str(&f.y_labels(y_range.0, y_range.1));
    out.push_str(&format!("<g fill=\"{LABEL}\" text-anchor=\"middle\">"));
    for (at, label) in axis.ticks() {
        let x = c(f.x(at));
        out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{GRID}\"/><text x=\"{x}\" y=\"{}\">{}</text>",
            c(f.bottom),
            c(f.bottom + 4.0),
            c(f.bottom + 16.0),
            escape(&truncate(&label, 10))
        ));
    }
    out.push_str("</g>");
    let spread = match axis {
        Axis::Categorical(_) => spread(&placed.iter().map(|(at, _)| *at).collect::<Vec<_>>()),
        Axis::Numeric { .. } => vec![0.0; placed.len()],
    };
    for ((at, p), dx) in placed.iter().zip(spread) {
        let (x, y) = (c(f.x(*at) + dx), c(f.y(unit(p.metric, y_range))));
        let color = color(p.state, p.best);
        let ring = if p.best {
            format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"7.0\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\"/>")
        } else {
            String::new()
        };
        out.push_str(&format!(
            "<g class=\"point\"><title>{}</title>{ring}<circle cx=\"{x}\" cy=\"{y}\" r=\"4.0\" fill=\"{color}\" fill-opacity=\"0.85\"/></g>",
            escape(&format!(
                "{}: {name} = {}, {metric} = {:.4} ({})",
                p.trial_id,
                super::axis::value_text(p.value),
                p.metric,
                p.state.name()
            ))
        ));
    }
    out.push_str("</svg>");
    Some(out)
}

/// Horizontal offsets that set dots of the same category side by side
/// (6 units apart, centred on the category), in the order given.
fn spread(positions: &[f64]) -> Vec<f64> {
    let count = |at: f64| positions.iter().filter(|p| **p == at).count();
    positions
        .iter()
        .enumerate()
        .map(|(i, at)| {
            let before = positions[..i].iter().filter(|p| **p == *at).count();
            (before as f64 - (count(*at) as f64 - 1.0) / 2.0) * 6.0
        })
        .collect()
}

/// One trial's curve in a learning-curve chart.
#[derive(Debug, Clone)]
pub struct CurveLine<'a> {
    pub trial_id: &'a str,
    pub state: TrialState,
    pub best: bool,
    /// `(step, value)`, by step.
    pub points: &'a [(u64, f64)],
    /// Where the scheduler stopped the trial: `(rung, value)`.
    pub stop: Option<(u64, f64)>,
}

/// Layout of a learning-curve chart.
const CURVES: Frame = Frame {
    left: 60.0,
    right: 740.0,
    top: 30.0,
    bottom: 260.0,
};

/// Every trial's `points` by step in one chart titled `title`, the best
/// on top in its own color, a dashed line at each rung, a cross where the
/// scheduler stopped a trial; `None` when no curve has a point.
pub fn curves(title: &str, rungs: &[u32], lines: &[CurveLine<'_>]) -> Option<String> {
    let values = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.1).chain(l.stop.map(|s| s.1)));
    let y_range = range(values)?;
    let last_step = lines
        .iter()
        .flat_map(|l| l.points.iter().map(|p| p.0))
        .chain(rungs.iter().map(|r| u64::from(*r)))
        .max()
        .unwrap_or(0)
        .max(1);
    let f = CURVES;
    let x = |step: u64| f.x(step as f64 / last_step as f64);
    let y = |v: f64| f.y(unit(v, y_range));
    let mut out = open(760.0, 290.0, "chart curves-chart", title);
    out.push_str(&format!(
        "<text x=\"8.0\" y=\"16.0\" fill=\"#1f2328\" font-weight=\"600\">{}</text>",
        escape(title)
    ));
    out.push_str(&f.border());
    out.push_str(&f.y_labels(y_range.0, y_range.1));
    let label_y = c(f.bottom + 16.0);
    out.push_str(&format!(
        "<g fill=\"{LABEL}\" text-anchor=\"middle\"><text x=\"{}\" y=\"{label_y}\">0</text><text x=\"{}\" y=\"{label_y}\">step</text><text x=\"{}\" y=\"{label_y}\">{last_step}</text></g>",
        c(f.x(0.0)),
        c(f.x(0.5)),
        c(f.x(1.0))
    ));
    for rung in rungs {
        let rx = c(x(u64::from(*rung)));
        out.push_str(&format!(
            "<g class=\"rung\"><line x1=\"{rx}\" y1=\"{}\" x2=\"{rx}\" y2=\"{}\" stroke=\"{GRID}\" stroke-dasharray=\"4 3\"/><text x=\"{rx}\" y=\"{}\" fill=\"{LABEL}\" text-anchor=\"middle\">rung {rung}</text></g>",
            c(f.top),
            c(f.bottom),
            c(f.top - 4.0)
        ));
    }
    let mut ordered: Vec<&CurveLine> = lines.iter().collect();
    ordered.sort_by_key(|l| l.best);
    for line in ordered {
        out.push_str(&curve(line, &x, &y));
    }
    out.push_str("</svg>");
    Some(out)
}

/// One trial: its polyline (a dot when it has one point) and its stop
/// marker, with the trial id as the tooltip.
fn curve(line: &CurveLine<'_>, x: &impl Fn(u64) -> f64, y: &impl Fn(f64) -> f64) -> String {
    let color = color(line.state, line.best);
    let width = if line.best { "2.5" } else { "1.2" };
    let dash = if line.state == TrialState::Failed {
        " stroke-dasharray=\"5 3\""
    } else {
        ""
    };
    let mut title = format!("{} ({})", line.trial_id, line.state.name());
    if let Some((rung, _)) = line.stop {
        title.push_str(&format!(", stopped at rung {rung}"));
    }
    let mut out = format!(
        "<g class=\"curve\" data-trial=\"{}\"><title>{}</title>",
        escape(line.trial_id),
        escape(&title)
    );
    let points = thin(line.points);
    match points.as_slice() {
        [] => {}
        [(step, v)] => out.push_str(&format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"3.0\" fill=\"{color}\"/>",
            c(x(*step)),
            c(y(*v))
        )),
        many => {
            let coords: Vec<String> = many
                .iter()
                .map(|(s, v)| format!("{},{}", c(x(*s)), c(y(*v))))
                .collect();
            out.push_str(&format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"{width}\" stroke-opacity=\"0.9\" stroke-linejoin=\"round\"{dash}/>",
                coords.join(" ")
            ));
        }
    }
    if let Some((rung, v)) = line.stop {
        let (mx, my) = (x(rung), y(v));
        out.push_str(&format!(
            "<path class=\"stop\" d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{color}\" stroke-width=\"2.0\"/>",
            c(mx - 4.0),
            c(my - 4.0),
            c(mx + 4.0),
            c(my + 4.0),
            c(mx - 4.0),
            c(my + 4.0),
            c(mx + 4.0),
            c(my - 4.0)
        ));
    }
    out.push_str("</g>");
    out
}

/// Where a stopped trial's marker goes on a curve: its value at the rung,
/// else the last value before it, else `fallback` (the metric the ledger
/// recorded at the rung).
pub fn stop_point(points: &[(u64, f64)], rung: u32, fallback: Option<f64>) -> Option<(u64, f64)> {
    let rung = u64::from(rung);
    points
        .iter()
        .rev()
        .find(|(s, _)| *s <= rung)
        .map(|(_, v)| *v)
        .filter(|v| v.is_finite())
        .or(fallback.filter(|v| v.is_finite()))
        .map(|v| (rung, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_scatter_places_dots_on_a_log_axis_and_escapes_text() {
        let axis = Axis::Numeric {
            log: true,
            lo: 1e-4,
            hi: 1e-2,
        };
        let (a, b, bad) = (json!(1e-4), json!(1e-3), json!("x"));
        let points = [
            ScatterPoint {
                trial_id: "<b>t0</b>",
                value: &a,
                metric: 0.5,
                state: TrialState::Completed,
                best: true,
            },
            ScatterPoint {
                trial_id: "t1",
                value: &b,
                metric: 0.7,
                state: TrialState::Stopped,
                best: false,
            },
            ScatterPoint {
                trial_id: "t2",
                value: &bad,
                metric: 0.9,
                state: TrialState::Stopped,
                best: false,
            },
        ];
        let svg = scatter("learning_rate", "primary_score", &axis, &points).expect("svg");
        assert!(svg.contains("(log scale)"), "{svg}");
        assert!(!svg.contains("<b>") && svg.contains("&lt;b&gt;t0"), "{svg}");
        // 1e-3 is the middle of [1e-4, 1e-2] on a log axis: x = 58 + 116.
        assert!(svg.contains("cx=\"174.0\" cy=\"32.0\""), "{svg}");
        assert!(
            svg.contains("cx=\"58.0\" cy=\"164.0\" r=\"7.0\""),
            "best ringed: {svg}"
        );
        assert_eq!(
            svg.matches("class=\"point\"").count(),
            2,
            "t2 cannot be placed"
        );
        assert!(svg.contains(">1e-3<"));
        assert!(!svg.contains("http"), "{svg}");
    }

    #[test]
    fn a_scatter_without_placeable_points_is_none() {
        let axis = Axis::Categorical(vec!["8".into()]);
        let v = json!(16);
        let p = ScatterPoint {
            trial_id: "t",
            value: &v,
            metric: 1.0,
            state: TrialState::Completed,
            best: false,
        };
        assert!(scatter("batch", "m", &axis, &[p]).is_none());
    }

    #[test]
    fn curves_draw_every_trial_rungs_and_stop_markers() {
        let a = [(0, 4.0), (4, 3.0), (8, 2.0), (12, 1.0)];
        let b = [(0, 4.0), (4, 3.5)];
        let lines = [
            CurveLine {
                trial_id: "t000",
                state: TrialState::Completed,
                best: true,
                points: &a,
                stop: None,
            },
            CurveLine {
                trial_id: "t001",
                state: TrialState::Stopped,
                best: false,
                points: &b,
                stop: stop_point(&b, 4, None),
            },
        ];
        let svg = curves("Training loss", &[4, 8, 12], &lines).expect("svg");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("class=\"rung\"").count(), 3);
        assert_eq!(svg.matches("class=\"stop\"").count(), 1);
        assert!(svg.contains("t001 (stopped), stopped at rung 4"), "{svg}");
        // The best is drawn last, on top.
        assert!(svg.find("data-trial=\"t001\"") < svg.find("data-trial=\"t000\""));
        // Step 12 at the right edge, loss 1 at the bottom.
        assert!(svg.contains("734.0,254.0"), "{svg}");
        assert!(curves("x", &[], &[]).is_none());
    }

    #[test]
    fn stop_markers_sit_at_the_rung_on_the_last_value_reached() {
        let points = [(0, 4.0), (3, 3.0), (6, 2.0)];
        assert_eq!(stop_point(&points, 4, None), Some((4, 3.0)));
        assert_eq!(stop_point(&points, 6, Some(9.0)), Some((6, 2.0)));
        assert_eq!(stop_point(&[], 4, Some(0.3)), Some((4, 0.3)));
        assert_eq!(stop_point(&[], 4, None), None);
        assert_eq!(stop_point(&[(8, 1.0)], 4, None), None);
    }

    #[test]
    fn dots_of_one_category_sit_side_by_side() {
        assert_eq!(spread(&[0.25, 0.75, 0.25, 0.25]), vec![-6.0, 0.0, 0.0, 6.0]);
        assert!(spread(&[]).is_empty());
    }

    #[test]
    fn ranges_widen_a_single_value_and_skip_non_finite() {
        assert_eq!(range([1.0, f64::NAN, 3.0].into_iter()), Some((1.0, 3.0)));
        let (lo, hi) = range([2.0].into_iter()).expect("widened");
        assert!(
            (lo - 1.9).abs() < 1e-12 && (hi - 2.1).abs() < 1e-12,
            "{lo} {hi}"
        );
        assert_eq!(range([0.0].into_iter()), Some((-1.0, 1.0)));
        assert_eq!(range(std::iter::empty()), None);
    }
}
