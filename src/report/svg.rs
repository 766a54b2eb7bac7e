//! Pure SVG string builders for the HTML reports: the leaderboard's score
//! chart, loss curves and the per-category delta bars.
//!
//! Every piece of text that reaches the SVG goes through [`escape`], so the
//! returned strings are safe to embed in HTML as they are. The SVGs carry no
//! `xmlns` (inline SVG in HTML needs none) and no external references.

use super::rank::Interval;

/// Accent color of the leader's rank group.
const ACCENT: &str = "#0969da";
/// Neutral color of other runs.
const NEUTRAL: &str = "#57606a";
/// Color of gridlines.
const GRID: &str = "#d0d7de";
/// Positive deltas.
const POSITIVE: &str = "#1a7f37";
/// Negative deltas.
const NEGATIVE: &str = "#cf222e";
/// Font of all labels: the reader's own system font, nothing downloaded.
const FONT: &str =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"12\"";
/// Most points drawn per curve (longer curves are thinned evenly).
pub(super) const MAX_CURVE_POINTS: usize = 400;

/// Escape `& < > " '` for SVG/HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// At most `max` characters of `text`, with `…` when cut.
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
        cut.push('…');
        cut
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

/// One run in the score chart.
#[derive(Debug, Clone)]
pub struct ScoreRow<'a> {
    /// Label on the left (rank and name).
    pub label: &'a str,
    /// The score drawn (the leaderboard: the full-set score); the row says
    /// "no score" when missing.
    pub score: Option<f64>,
    /// 95% CI drawn as whiskers.
    pub ci: Option<Interval>,
    /// Whether the run shares the leader's rank (drawn in the accent color).
    pub highlight: bool,
}

/// Layout of the score chart.
mod score_layout {
    /// Total width.
    pub const WIDTH: f64 = 760.0;
    /// Left edge of the plot (labels to its left).
    pub const LEFT: f64 = 230.0;
    /// Width of the 0–1 axis.
    pub const PLOT: f64 = 440.0;
    /// Top of the first row.
    pub const TOP: f64 = 12.0;
    /// Height of one row.
    pub const ROW: f64 = 22.0;
    /// Space under the rows for the axis labels.
    pub const BOTTOM: f64 = 30.0;
}

/// Each run's score as a dot with CI whiskers on a 0–1 axis, the leader's
/// CI (`band`) shaded across all rows.
pub fn score_chart(rows: &[ScoreRow<'_>], band: Option<Interval>) -> String {
    use score_layout::*;
    let rows_height = ROW * rows.len().max(1) as f64;
    let height = TOP + rows_height + BOTTOM;
    let mut out = open(
        WIDTH,
        height,
        "chart score-chart",
        "Full-set score with 95% CI per run, on a 0 to 1 axis",
    );
    out.push_str(&grid(TOP, rows_height));
    if let Some(b) = band {
        out.push_str(&leader_band(b, rows_height));
    }
    for (i, row) in rows.iter().enumerate() {
        out.push_str(&score_row(row, TOP + ROW * i as f64 + ROW / 2.0));
    }
    out.push_str("</svg>");
    out
}

/// x of a score in the score chart (clamped to the axis).
fn score_x(v: f64) -> f64 {
    score_layout::LEFT + v.clamp(0.0, 1.0) * score_layout::PLOT
}

/// Vertical gridlines and labels at 0, 0.1, ..., 1.
fn grid(top: f64, rows_height: f64) -> String {
    let mut out = String::from("<g class=\"axis\">");
    for tick in 0..=10 {
        let v = f64::from(tick) / 10.0;
        let x = c(score_x(v));
        let bottom = top + rows_height;
        out.push_str(&format!(
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{GRID}\" stroke-width=\"1\"/>",
            c(top),
            c(bottom)
        ));
        if tick % 2 == 0 {
            out.push_str(&format!(
                "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{NEUTRAL}\">{v:.1}</text>",
                c(bottom + 18.0)
            ));
        }
    }
    out.push_str("</g>");
    out
}

/// The leader's CI as a shaded band over all rows.
fn leader_band(band: Interval, rows_height: f64) -> String {
    let (x1, x2) = (score_x(band.low), score_x(band.high));
    format!(
        "<rect class=\"leader-band\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{ACCENT}\" fill-opacity=\"0.12\"><title>{}</title></rect>",
        c(x1),
        c(score_layout::TOP),
        c((x2 - x1).max(1.0)),
        c(rows_height),
        escape(&format!("leader's 95% CI [{:.4}, {:.4}]", band.low, band.high))
    )
}

/// One run: label, whiskers, dot and score, centred on `y`.
fn score_row(row: &ScoreRow<'_>, y: f64) -> String {
    use score_layout::*;
    let color = if row.highlight { ACCENT } else { NEUTRAL };
    let mut out = format!("<g><title>{}</title>", escape(row.label));
    out.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#1f2328\">{}</text>",
        c(LEFT - 10.0),
        c(y + 4.0),
        escape(&truncate(row.label, 34))
    ));
    match row.score.filter(|s| s.is_finite()) {
        Some(score) => {
            if let Some(ci) = row.ci {
                out.push_str(&whiskers(ci, y, color));
            }
            out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"4.5\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\" fill=\"{color}\">{score:.4}</text>",
                c(score_x(score)),
                c(y),
                c(LEFT + PLOT + 12.0),
                c(y + 4.0)
            ));
        }
        None => out.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{NEUTRAL}\" font-style=\"italic\">no score</text>",
            c(LEFT + 6.0),
            c(y + 4.0)
        )),
    }
    out.push_str("</g>");
    out
}

/// A CI as a horizontal line with end caps.
fn whiskers(ci: Interval, y: f64, color: &str) -> String {
    let (x1, x2) = (c(score_x(ci.low)), c(score_x(ci.high)));
    let (top, bottom) = (c(y - 5.0), c(y + 5.0));
    let y = c(y);
    format!(
        "<path d=\"M{x1} {y}H{x2}M{x1} {top}V{bottom}M{x2} {top}V{bottom}\" stroke=\"{color}\" stroke-width=\"1.5\" fill=\"none\"/>"
    )
}

/// Layout of a loss-curve small multiple.
mod loss_layout {
    /// Total width.
    pub const WIDTH: f64 = 280.0;
    /// Total height.
    pub const HEIGHT: f64 = 150.0;
    /// Left edge of the plot (loss labels to its left).
    pub const LEFT: f64 = 56.0;
    /// Right edge of the plot.
    pub const RIGHT: f64 = 270.0;
    /// Top of the plot (title above it).
    pub const TOP: f64 = 26.0;
    /// Bottom of the plot (step labels under it).
    pub const BOTTOM: f64 = 124.0;
}

/// A loss curve (loss against step) titled `title`; `None` when the curve
/// has no finite point.
pub fn loss_curve(title: &str, curve: &[(u64, f64)]) -> Option<String> {
    use loss_layout::*;
    let points = finite_sorted(curve);
    let (first, last) = (points.first()?, points.last()?);
    let (step_lo, step_hi) = widen(first.0 as f64, last.0 as f64);
    let (loss_lo, loss_hi) = widen_loss(&points);
    let x = |s: f64| LEFT + (s - step_lo) / (step_hi - step_lo) * (RIGHT - LEFT);
    let y = |l: f64| BOTTOM - (l - loss_lo) / (loss_hi - loss_lo) * (BOTTOM - TOP);
    let mut out = open(
        WIDTH,
        HEIGHT,
        "chart loss-chart",
        &format!("Training loss of {title} by step"),
    );
    out.push_str(&format!(
        "<text x=\"8.0\" y=\"16\" fill=\"#1f2328\" font-weight=\"600\">{}</text>",
        escape(&truncate(title, 38))
    ));
    out.push_str(&format!(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{GRID}\"/>",
        c(LEFT),
        c(TOP),
        c(RIGHT - LEFT),
        c(BOTTOM - TOP)
    ));
    out.push_str(&loss_labels(first.0, last.0, loss_lo, loss_hi));
    out.push_str(&curve_path(&thin(&points), x, y));
    out.push_str("</svg>");
    Some(out)
}

/// The finite points of `curve`, sorted by step (stable for equal steps).
fn finite_sorted(curve: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let mut points: Vec<(u64, f64)> = curve
        .iter()
        .copied()
        .filter(|(_, l)| l.is_finite())
        .collect();
    points.sort_by_key(|(step, _)| *step);
    points
}

/// `[lo, hi]`, widened by one unit each way when it is a single value.
fn widen(lo: f64, hi: f64) -> (f64, f64) {
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 1.0, hi + 1.0)
    }
}

/// The loss range of `points`, widened by 5% of its value when flat.
fn widen_loss(points: &[(u64, f64)]) -> (f64, f64) {
    let lo = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    if hi > lo {
        (lo, hi)
    } else {
        let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        (lo - pad, hi + pad)
    }
}

/// At most [`MAX_CURVE_POINTS`] points, evenly spaced, always keeping the
/// last one.
pub(super) fn thin(points: &[(u64, f64)]) -> Vec<(u64, f64)> {
    if points.len() <= MAX_CURVE_POINTS {
        return points.to_vec();
    }
    let stride = points.len().div_ceil(MAX_CURVE_POINTS - 1);
    let mut kept: Vec<(u64, f64)> = points.iter().step_by(stride).copied().collect();
    if let Some(last) = points.last() {
        if kept.last() != Some(last) {
            kept.push(*last);
        }
    }
    kept
}

/// Axis labels: loss range on the left, first and last step underneath.
fn loss_labels(first_step: u64, last_step: u64, lo: f64, hi: f64) -> String {
    use loss_layout::*;
    let left = c(LEFT - 6.0);
    format!(
        "<g fill=\"{NEUTRAL}\"><text x=\"{left}\" y=\"{}\" text-anchor=\"end\">{hi:.4}</text>\
         <text x=\"{left}\" y=\"{}\" text-anchor=\"end\">{lo:.4}</text>\
         <text x=\"{}\" y=\"{}\">{first_step}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">step</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{last_step}</text></g>",
        c(TOP + 10.0),
        c(BOTTOM),
        c(LEFT),
        c(BOTTOM + 16.0),
        c((LEFT + RIGHT) / 2.0),
        c(BOTTOM + 16.0),
        c(RIGHT),
        c(BOTTOM + 16.0)
    )
}

/// The curve as a polyline, or a dot when it has one point.
fn curve_path(points: &[(u64, f64)], x: impl Fn(f64) -> f64, y: impl Fn(f64) -> f64) -> String {
    if let [(step, loss)] = points {
        return format!(
            "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{ACCENT}\"/>",
            c(x(*step as f64)),
            c(y(*loss))
        );
    }
    let coords: Vec<String> = points
        .iter()
        .map(|(step, loss)| format!("{},{}", c(x(*step as f64)), c(y(*loss))))
        .collect();
    format!(
        "<polyline points=\"{}\" fill=\"none\" stroke=\"{ACCENT}\" stroke-width=\"1.5\" stroke-linejoin=\"round\"/>",
        coords.join(" ")
    )
}

/// Layout of the category delta bars.
mod delta_layout {
    /// Total width.
    pub const WIDTH: f64 = 640.0;
    /// Left edge of the plot (category names to its left).
    pub const LEFT: f64 = 150.0;
    /// Width of the plot.
    pub const PLOT: f64 = 400.0;
    /// Top of the first row.
    pub const TOP: f64 = 10.0;
    /// Height of one row.
    pub const ROW: f64 = 26.0;
    /// Space under the rows for the axis labels.
    pub const BOTTOM: f64 = 28.0;
    /// Smallest half-range of the axis, so tiny deltas are not blown up.
    pub const MIN_RANGE: f64 = 0.05;
}

/// Per-category B − A as horizontal bars around a zero line: positive in
/// green to the right, negative in red to the left, missing as `—`.
pub fn delta_bars(rows: &[(&str, Option<f64>)]) -> String {
    use delta_layout::*;
    let range = rows
        .iter()
        .filter_map(|(_, d)| d.filter(|v| v.is_finite()))
        .fold(MIN_RANGE, |m, d| m.max(d.abs()));
    let rows_height = ROW * rows.len().max(1) as f64;
    let mut out = open(
        WIDTH,
        TOP + rows_height + BOTTOM,
        "chart delta-chart",
        "Per-category difference B minus A",
    );
    let zero = LEFT + PLOT / 2.0;
    let x = |d: f64| zero + d / range * (PLOT / 2.0);
    for (i, (category, delta)) in rows.iter().enumerate() {
        out.push_str(&delta_row(category, *delta, TOP + ROW * i as f64, x));
    }
    out.push_str(&delta_axis(range, rows_height, zero));
    out.push_str("</svg>");
    out
}

/// One category: name, bar and value, in the row starting at `top`.
fn delta_row(category: &str, delta: Option<f64>, top: f64, x: impl Fn(f64) -> f64) -> String {
    use delta_layout::*;
    let mid = c(top + ROW / 2.0 + 4.0);
    let mut out = format!(
        "<g><title>{}</title><text x=\"{}\" y=\"{mid}\" text-anchor=\"end\" fill=\"#1f2328\">{}</text>",
        escape(category),
        c(LEFT - 10.0),
        escape(&truncate(category, 20))
    );
    match delta.filter(|v| v.is_finite()) {
        Some(d) => {
            let color = if d < 0.0 { NEGATIVE } else { POSITIVE };
            let (x1, x2) = (x(d.min(0.0)), x(d.max(0.0)));
            out.push_str(&format!(
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{color}\"/><text x=\"{}\" y=\"{mid}\" fill=\"{color}\">{}</text>",
                c(x1),
                c(top + 5.0),
                c(x2 - x1),
                c(ROW - 10.0),
                c(LEFT + PLOT + 10.0),
                super::num::pp(Some(d * 100.0))
            ));
        }
        None => out.push_str(&format!(
            "<text x=\"{}\" y=\"{mid}\" fill=\"{NEUTRAL}\">—</text>",
            c(LEFT + PLOT + 10.0)
        )),
    }
    out.push_str("</g>");
    out
}

/// The zero line and the axis labels `-range`, `0`, `+range`.
fn delta_axis(range: f64, rows_height: f64, zero: f64) -> String {
    use delta_layout::*;
    let bottom = TOP + rows_height;
    let label_y = c(bottom + 18.0);
    format!(
        "<line x1=\"{z}\" y1=\"{}\" x2=\"{z}\" y2=\"{}\" stroke=\"#1f2328\" stroke-width=\"1\"/>\
         <g fill=\"{NEUTRAL}\" text-anchor=\"middle\"><text x=\"{}\" y=\"{label_y}\">-{pp:.2} pp</text>\
         <text x=\"{z}\" y=\"{label_y}\">0</text><text x=\"{}\" y=\"{label_y}\">+{pp:.2} pp</text></g>",
        c(TOP - 4.0),
        c(bottom + 4.0),
        c(LEFT),
        c(LEFT + PLOT),
        z = c(zero),
        pp = range * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Text nodes and attribute values of `svg` hold no raw markup from data.
    fn assert_inert(svg: &str, payload: &str) {
        assert!(!svg.contains(payload), "raw payload in {svg}");
        assert!(!svg.contains("<script") && !svg.contains("<img"), "{svg}");
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
        );
        assert_eq!(escape("{{ 7*7 }}"), "{{ 7*7 }}");
    }

    #[test]
    fn truncate_counts_characters() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdefg", 6), "abcde…");
        assert_eq!(truncate("ééééééé", 3), "éé…");
    }

    #[test]
    fn score_chart_escapes_labels_and_draws_every_run() {
        let payload = "<script>alert(1)</script>";
        let rows = [
            ScoreRow {
                label: payload,
                score: Some(0.75),
                ci: Interval::new(Some(0.66), Some(0.82)),
                highlight: true,
            },
            ScoreRow {
                label: "<img src=x onerror=alert(1)>",
                score: None,
                ci: None,
                highlight: false,
            },
        ];
        let svg = score_chart(&rows, Interval::new(Some(0.66), Some(0.82)));
        assert_inert(&svg, payload);
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(
            svg.contains("leader-band") && svg.contains("no score") && svg.contains(">0.7500<")
        );
        assert!(!svg.contains("http"), "no namespace URL or link: {svg}");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn score_chart_of_no_runs_is_still_valid() {
        let svg = score_chart(&[], None);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>") && !svg.contains("leader-band"));
    }

    #[test]
    fn scores_outside_the_axis_are_clamped() {
        assert_eq!(score_x(-0.5), score_layout::LEFT);
        assert_eq!(score_x(1.5), score_layout::LEFT + score_layout::PLOT);
    }

    #[test]
    fn loss_curve_sorts_skips_non_finite_and_escapes() {
        let svg = loss_curve(
            "<b>run</b>",
            &[(20, 1.0), (0, 3.0), (10, f64::NAN), (30, 0.5)],
        )
        .expect("svg");
        assert_inert(&svg, "<b>");
        assert!(svg.contains("polyline"));
        assert!(svg.contains("56.0,26.0"), "first point top-left: {svg}");
        assert!(
            svg.contains("270.0,124.0"),
            "last point bottom-right: {svg}"
        );
    }

    #[test]
    fn loss_curve_edge_cases() {
        assert!(loss_curve("x", &[]).is_none());
        assert!(loss_curve("x", &[(1, f64::INFINITY)]).is_none());
        let single = loss_curve("x", &[(5, 2.0)]).expect("svg");
        assert!(single.contains("<circle") && !single.contains("NaN"));
        let flat = loss_curve("x", &[(0, 0.0), (1, 0.0)]).expect("svg");
        assert!(!flat.contains("NaN") && !flat.contains("inf"));
    }

    #[test]
    fn long_curves_are_thinned_keeping_the_ends() {
        let curve: Vec<(u64, f64)> = (0..10_000).map(|s| (s, 1.0 / (s as f64 + 1.0))).collect();
        let kept = thin(&curve);
        assert!(kept.len() <= MAX_CURVE_POINTS, "{}", kept.len());
        assert_eq!(kept.first(), curve.first());
        assert_eq!(kept.last(), curve.last());
    }

    #[test]
    fn delta_bars_color_by_sign_and_escape_names() {
        let svg = delta_bars(&[
            ("core", Some(0.04)),
            ("<i>edge</i>", Some(-0.1)),
            ("trace", None),
        ]);
        assert_inert(&svg, "<i>");
        assert!(svg.contains(POSITIVE) && svg.contains(NEGATIVE));
        assert!(svg.contains("+4.00 pp") && svg.contains("-10.00 pp") && svg.contains(">—<"));
        assert!(
            svg.contains("+10.00 pp<"),
            "axis spans the largest delta: {svg}"
        );
    }

    #[test]
    fn delta_axis_has_a_minimum_range() {
        let svg = delta_bars(&[("core", Some(0.001))]);
        assert!(svg.contains("+5.00 pp<"), "{svg}");
    }
}
