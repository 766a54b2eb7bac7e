//! Metrics from `metrics.jsonl` as inline SVG line charts against the
//! step, with a legend: a run's metrics (the static site's run pages,
//! [`line_chart`]) and the same metric of several runs overlaid on shared
//! axes, one colour per run (the comparison of runs, [`overlay_chart`]).
//! Pure string building on the helpers of [`svg`](super::svg): every piece
//! of text goes through its `escape`, long curves through its `thin`.

use super::svg::{escape, thin, truncate};

/// Font of all labels: the reader's own system font, nothing downloaded.
const FONT: &str =
    "font-family=\"system-ui, -apple-system, 'Segoe UI', sans-serif\" font-size=\"12\"";
/// Color of the frame.
const GRID: &str = "#d0d7de";
/// Color of axis labels, and of legend entries that name a line style
/// rather than a series.
const LABEL: &str = "#57606a";
/// Series colors, in order (the first series is the training curve; in an
/// overlay, run `i` has color `i`).
pub const COLORS: [&str; 10] = [
    "#0969da", "#bf3989", "#1a7f37", "#9a6700", "#8250df", "#cf222e", "#1b7c83", "#953800",
    "#6e7781", "#0550ae",
];

/// Total width and height (with one row of legend).
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 270.0;
/// The plot area (with one row of legend).
const LEFT: f64 = 76.0;
const RIGHT: f64 = 740.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 236.0;
/// Legend entries per row, their spacing, and the height a further row
/// adds.
const LEGEND_PER_ROW: usize = 4;
const LEGEND_STEP: f64 = 170.0;
const LEGEND_ROW: f64 = 16.0;

/// One named series of `(step, value)` points.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    pub name: &'a str,
    pub points: &'a [(u64, f64)],
}

/// One line of an overlay chart: a series drawn in color `color` (an
/// index into [`COLORS`], wrapping), dashed or solid.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub name: &'a str,
    pub points: &'a [(u64, f64)],
    pub color: usize,
    pub dashed: bool,
}

/// One entry of an overlay chart's legend: a color (an index into
/// [`COLORS`]) or, when `None`, a line style in the labels' grey.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub name: &'a str,
    pub color: Option<usize>,
    pub dashed: bool,
}

/// Color `i` of [`COLORS`], wrapping.
pub fn color(i: usize) -> &'static str {
    COLORS[i % COLORS.len()]
}

/// A coordinate with one decimal.
fn c(x: f64) -> String {
    format!("{x:.1}")
}

/// An axis label: 4 decimals, or scientific notation for very large or
/// very small magnitudes.
pub fn value_text(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(0.001..10_000.0).contains(&a) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// `[lo, hi]` of `values`, widened when flat; `None` without a value.
fn span(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
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

/// The finite points of `points`, by step, thinned for drawing.
fn drawn(points: &[(u64, f64)]) -> Vec<(u64, f64)> {
    let mut out: Vec<(u64, f64)> = points.iter().copied().filter(|p| p.1.is_finite()).collect();
    out.sort_by_key(|p| p.0);
    thin(&out)
}

/// Where a chart's plot lies and how values map onto it.
struct Frame {
    x_lo: f64,
    x_hi: f64,
    y_lo: f64,
    y_hi: f64,
    /// The plot area's top and bottom, below the legend's rows.
    top: f64,
    bottom: f64,
    /// The chart's total height.
    height: f64,
}

impl Frame {
    /// The frame of `lines` under a legend of `keys` entries; `None` when
    /// no line has a point.
    fn of(lines: &[Vec<(u64, f64)>], keys: usize) -> Option<Frame> {
        let (y_lo, y_hi) = span(lines.iter().flat_map(|p| p.iter().map(|q| q.1)))?;
        let (x_lo, x_hi) = span(lines.iter().flat_map(|p| p.iter().map(|q| q.0 as f64)))?;
        let extra = keys.saturating_sub(1).div_euclid(LEGEND_PER_ROW) as f64 * LEGEND_ROW;
        Some(Frame {
            x_lo,
            x_hi,
            y_lo,
            y_hi,
            top: TOP + extra,
            bottom: BOTTOM + extra,
            height: HEIGHT + extra,
        })
    }

    fn x(&self, step: u64) -> f64 {
        LEFT + (step as f64 - self.x_lo) / (self.x_hi - self.x_lo) * (RIGHT - LEFT)
    }

    fn y(&self, v: f64) -> f64 {
        self.bottom - (v - self.y_lo) / (self.y_hi - self.y_lo) * (self.bottom - self.top)
    }

    /// The opening tag, the title and the plot's border.
    fn open(&self, title: &str) -> String {
        let mut out = format!(
            "<svg class=\"chart metric-chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" {FONT}><title>{t}</title>",
            w = c(WIDTH),
            h = c(self.height),
            t = escape(title)
        );
        out.push_str(&format!(
            "<text x=\"8.0\" y=\"16.0\" fill=\"#1f2328\" font-weight=\"600\">{}</text>",
            escape(&truncate(title, 80))
        ));
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"{GRID}\"/>",
            c(LEFT),
            c(self.top),
            c(RIGHT - LEFT),
            c(self.bottom - self.top)
        ));
        out.push_str(&self.axes());
        out
    }

    /// The value range on the left, the step range underneath.
    fn axes(&self) -> String {
        let left = c(LEFT - 6.0);
        let under = c(self.bottom + 16.0);
        format!(
            "<g fill=\"{LABEL}\"><text x=\"{left}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <text x=\"{left}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <text x=\"{}\" y=\"{under}\">{}</text>\
             <text x=\"{}\" y=\"{under}\" text-anchor=\"middle\">step</text>\
             <text x=\"{}\" y=\"{under}\" text-anchor=\"end\">{}</text></g>",
            c(self.top + 10.0),
            escape(&value_text(self.y_hi)),
            c(self.bottom),
            escape(&value_text(self.y_lo)),
            c(LEFT),
            self.x_lo.max(0.0).round(),
            c((LEFT + RIGHT) / 2.0),
            c(RIGHT),
            self.x_hi.max(0.0).round()
        )
    }

    /// One series: a polyline, or a dot when it has one point; dashed
    /// lines and hollow dots for `dashed`.
    fn line(&self, name: &str, points: &[(u64, f64)], color: &str, dashed: bool) -> String {
        let mut out = format!(
            "<g class=\"series\" data-series=\"{n}\"><title>{n}</title>",
            n = escape(name)
        );
        match (points, dashed) {
            ([(step, v)], false) => out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"3.0\" fill=\"{color}\"/>",
                c(self.x(*step)),
                c(self.y(*v))
            )),
            ([(step, v)], true) => out.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"3.0\" fill=\"#ffffff\" stroke=\"{color}\" stroke-width=\"1.5\"/>",
                c(self.x(*step)),
                c(self.y(*v))
            )),
            _ => {
                let coords: Vec<String> = points
                    .iter()
                    .map(|(s, v)| format!("{},{}", c(self.x(*s)), c(self.y(*v))))
                    .collect();
                let dash = if dashed {
                    " stroke-dasharray=\"6 3\""
                } else {
                    ""
                };
                out.push_str(&format!(
                    "<polyline points=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.5\" stroke-linejoin=\"round\"{dash}/>",
                    coords.join(" ")
                ));
            }
        }
        out.push_str("</g>");
        out
    }
}

/// Entry `i` of the legend above the plot ([`LEGEND_PER_ROW`] a row): a
/// bar in `color`, or a dashed stroke, and `name` cut to `max` characters.
fn legend(i: usize, name: &str, color: &str, dashed: bool, max: usize) -> String {
    let x = LEFT + LEGEND_STEP * (i % LEGEND_PER_ROW) as f64;
    let row = LEGEND_ROW * (i / LEGEND_PER_ROW) as f64;
    let mark = if dashed {
        format!(
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{color}\" stroke-width=\"2.0\" stroke-dasharray=\"4 2\"/>",
            c(x),
            c(x + 14.0),
            y = c(26.0 + row)
        )
    } else {
        format!(
            "<rect x=\"{}\" y=\"{}\" width=\"14.0\" height=\"4.0\" fill=\"{color}\"/>",
            c(x),
            c(24.0 + row)
        )
    };
    format!(
        "<g class=\"legend\">{mark}<text x=\"{}\" y=\"{}\" fill=\"#1f2328\">{}</text></g>",
        c(x + 20.0),
        c(30.0 + row),
        escape(&truncate(name, max))
    )
}

/// The series against the step in one chart titled `title` (also its
/// accessible name), each in its own color with a legend; `None` when no
/// series has a finite point.
pub fn line_chart(title: &str, series: &[Series<'_>]) -> Option<String> {
    let kept: Vec<(&str, Vec<(u64, f64)>)> = series
        .iter()
        .map(|s| (s.name, drawn(s.points)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let points: Vec<Vec<(u64, f64)>> = kept.iter().map(|(_, p)| p.clone()).collect();
    let frame = Frame::of(&points, kept.len())?;
    let mut out = frame.open(title);
    for (i, (name, points)) in kept.iter().enumerate() {
        let color = color(i);
        out.push_str(&legend(i, name, color, false, 22));
        out.push_str(&frame.line(name, points, color, false));
    }
    out.push_str("</svg>");
    Some(out)
}

/// `lines` overlaid on shared axes in one chart titled `title`, with the
/// legend `keys` above the plot; lines without a finite point are left
/// out. `None` when no line has one.
pub fn overlay_chart(title: &str, lines: &[Line<'_>], keys: &[Key<'_>]) -> Option<String> {
    let kept: Vec<(&Line, Vec<(u64, f64)>)> = lines
        .iter()
        .map(|l| (l, drawn(l.points)))
        .filter(|(_, p)| !p.is_empty())
        .collect();
    let points: Vec<Vec<(u64, f64)>> = kept.iter().map(|(_, p)| p.clone()).collect();
    let frame = Frame::of(&points, keys.len())?;
    let mut out = frame.open(title);
    for (i, key) in keys.iter().enumerate() {
        let shade = key.color.map(color).unwrap_or(LABEL);
        out.push_str(&legend(i, key.name, shade, key.dashed, 19));
    }
    for (line, points) in &kept {
        out.push_str(&frame.line(line.name, points, color(line.color), line.dashed));
    }
    out.push_str("</svg>");
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_series_share_one_chart_with_a_legend() {
        let train = [(0, 3.0), (10, 2.0), (20, 1.5)];
        let val = [(10, 2.2), (20, 1.9)];
        let svg = line_chart(
            "Training and validation loss",
            &[
                Series {
                    name: "loss",
                    points: &train,
                },
                Series {
                    name: "val_loss",
                    points: &val,
                },
            ],
        )
        .expect("points");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("class=\"legend\"").count(), 2);
        assert!(svg.contains("data-series=\"val_loss\""));
        assert!(
            svg.contains(">3.0000<") && svg.contains(">1.5000<"),
            "{svg}"
        );
        assert!(svg.contains(">0<") && svg.contains(">20<"));
    }

    #[test]
    fn single_points_are_dots_and_empty_or_infinite_series_are_left_out() {
        let one = [(5, 0.25)];
        let bad = [(1, f64::NAN), (2, f64::INFINITY)];
        let svg = line_chart(
            "m",
            &[
                Series {
                    name: "a",
                    points: &one,
                },
                Series {
                    name: "b",
                    points: &bad,
                },
            ],
        )
        .expect("one point");
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(!svg.contains("data-series=\"b\""));
        assert!(line_chart(
            "m",
            &[Series {
                name: "b",
                points: &bad
            }]
        )
        .is_none());
        assert!(line_chart("m", &[]).is_none());
    }

    #[test]
    fn text_is_escaped() {
        let points = [(1, 1.0), (2, 2.0)];
        let svg = line_chart(
            "<b>",
            &[Series {
                name: "<script>",
                points: &points,
            }],
        )
        .expect("points");
        assert!(!svg.contains("<script>") && !svg.contains("<b>"));
        assert!(svg.contains("&lt;script&gt;"));
    }

    #[test]
    fn values_are_shown_with_four_decimals_or_in_scientific_notation() {
        assert_eq!(value_text(0.25), "0.2500");
        assert_eq!(value_text(0.0), "0.0000");
        assert_eq!(value_text(3e-5), "3.000e-5");
        assert_eq!(value_text(123456.0), "1.235e5");
    }

    #[test]
    fn overlays_give_each_run_its_color_and_dash_validation_lines() {
        let (a_loss, a_val) = ([(0, 3.0), (10, 2.0)], [(10, 2.5)]);
        let b_loss = [(0, 2.5), (20, 1.0)];
        let lines = [
            Line {
                name: "R1 loss",
                points: &a_loss,
                color: 0,
                dashed: false,
            },
            Line {
                name: "R1 val_loss",
                points: &a_val,
                color: 0,
                dashed: true,
            },
            Line {
                name: "R2 loss",
                points: &b_loss,
                color: 1,
                dashed: false,
            },
            Line {
                name: "R2 val_loss",
                points: &[],
                color: 1,
                dashed: true,
            },
        ];
        let keys = [
            Key {
                name: "R1",
                color: Some(0),
                dashed: false,
            },
            Key {
                name: "R2",
                color: Some(1),
                dashed: false,
            },
            Key {
                name: "val_loss",
                color: None,
                dashed: true,
            },
        ];
        let svg = overlay_chart("Loss", &lines, &keys).expect("points");
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("class=\"legend\"").count(), 3);
        assert!(!svg.contains("data-series=\"R2 val_loss\""));
        assert!(svg.contains("stroke=\"#bf3989\""));
        assert!(svg.contains("fill=\"#ffffff\" stroke=\"#0969da\""), "{svg}");
        assert!(svg.contains("stroke-dasharray=\"4 2\""));
        assert!(svg.contains(">0<") && svg.contains(">20<"));
        assert!(overlay_chart("Loss", &lines[3..], &keys).is_none());
    }

    #[test]
    fn a_long_legend_wraps_and_makes_the_chart_taller() {
        let points = [(1, 1.0), (2, 2.0)];
        let names: Vec<String> = (0..9).map(|i| format!("run-{i}")).collect();
        let series: Vec<Series> = names
            .iter()
            .map(|name| Series {
                name,
                points: &points,
            })
            .collect();
        let four = line_chart("m", &series[..4]).expect("points");
        assert!(four.contains("height=\"270.0\""), "{four}");
        let nine = line_chart("m", &series).expect("points");
        assert!(nine.contains("height=\"302.0\""), "{nine}");
        assert!(nine.contains("<text x=\"96.0\" y=\"62.0\" fill=\"#1f2328\">run-8</text>"));
        assert!(nine.contains("stroke=\"#6e7781\""), "the ninth color");
        assert_eq!(color(12), COLORS[2]);
    }
}
