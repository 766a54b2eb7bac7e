//! Report rendering: leaderboards and run comparisons as self-contained HTML,
//! GitHub-flavoured Markdown and stable JSON.
//!
//! The caller (the store and the CLI) fills the input structs; this module
//! only renders. Rendering is a pure function of its input: no clock, no
//! randomness, no I/O besides reading override templates in
//! [`Templates::with_overrides`].
//!
//! HTML and Markdown come from minijinja templates (`templates/*.j2`,
//! embedded in the binary). Every template is autoescaped: `.md.j2` files
//! with Markdown escaping (HTML entities for `< > &`, backslashes for
//! Markdown punctuation, `<br>` for newlines), every other template with
//! HTML escaping. Text from runs is data and is never rendered as a
//! template. JSON is serialized directly from the documented structs
//! [`LeaderboardDoc`] and [`CompareDoc`] (`schema_version` 1).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

mod compare;
mod env;
mod leaderboard;
pub mod rank;
mod svg;

pub use compare::{CategoryDelta, CompareDoc, ItemDiffDoc};
pub use leaderboard::{FilterDoc, LeaderboardDoc, RankedRunDoc};

/// The version of the JSON documents; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// The output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    /// One self-contained HTML file (inline CSS, SVG and script).
    Html,
    /// GitHub-flavoured Markdown, sized for a pull-request comment.
    Md,
    /// Pretty-printed JSON with a trailing newline.
    Json,
}

/// The report templates: the built-ins, optionally overridden from a folder.
#[derive(Debug)]
pub struct Templates {
    env: minijinja::Environment<'static>,
}

impl Templates {
    /// Built-in templates (embedded with `include_str!` from `templates/`).
    pub fn builtin() -> Result<Templates, ReportError> {
        env::environment(None).map(|env| Templates { env })
    }

    /// Templates from `dir` override the built-ins of the same file name
    /// (`leaderboard.html.j2`, `leaderboard.md.j2`, `compare.html.j2`,
    /// `compare.md.j2`); a missing file falls back to the built-in. Other
    /// files in `dir` can be included or imported by name from templates.
    pub fn with_overrides(dir: &std::path::Path) -> Result<Templates, ReportError> {
        env::environment(Some(dir)).map(|env| Templates { env })
    }

    /// Render template `name` with `context`.
    fn render<S: Serialize>(&self, name: &str, context: S) -> Result<String, ReportError> {
        let template = self.env.get_template(name)?;
        Ok(template.render(context)?)
    }
}

/// A report could not be rendered: a template failed to load, parse or
/// render. The message names the template and line when minijinja knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    /// What went wrong, with the template name and line where known.
    pub message: String,
}

impl ReportError {
    /// An error with `message`.
    fn new(message: impl Into<String>) -> Self {
        ReportError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReportError {}

impl From<minijinja::Error> for ReportError {
    fn from(e: minijinja::Error) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ReportError::new(message)
    }
}

impl From<serde_json::Error> for ReportError {
    fn from(e: serde_json::Error) -> Self {
        ReportError::new(format!("cannot serialize the report as JSON: {e}"))
    }
}

/// One run as the reports show it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSummary {
    /// Unique run id (the run folder's id in the index).
    pub run_id: String,
    /// Human name from the manifest.
    pub name: String,
    /// Job kind (`Train`, `Sweep`, `Eval`).
    pub kind: String,
    /// Model identifier.
    pub model_id: String,
    /// Training dataset name, when there was one.
    pub dataset: Option<String>,
    /// Hash of the resolved config.
    pub config_hash: String,
    /// Labels from the manifest.
    pub labels: BTreeMap<String, String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Git commit the run was made from.
    pub git_commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    pub git_dirty: bool,
    /// Eval set path.
    pub evalset_path: String,
    /// Eval set blake3.
    pub evalset_blake3: String,
    /// Primary score in [0, 1]; null when nothing was scored.
    pub primary_score: Option<f64>,
    /// Lower bound of the primary score's 95% CI.
    pub ci_low: Option<f64>,
    /// Upper bound of the primary score's 95% CI.
    pub ci_high: Option<f64>,
    /// How the CI was computed (`wilson`, `bootstrap`).
    pub ci_method: Option<String>,
    /// Items in the eval set.
    pub n_items: u64,
    /// Items with a valid score.
    pub n_scored: u64,
    /// Items skipped (no prediction, no valid score).
    pub n_skipped: u64,
    /// Mean score per item category; null when nothing in it was scored.
    pub category_means: BTreeMap<String, Option<f64>>,
    /// Sweep (tuning job) the run belongs to.
    pub sweep_id: Option<String>,
    /// `(step, loss)` from `metrics.jsonl`; empty when none.
    pub loss_curve: Vec<(u64, f64)>,
}

/// What a leaderboard shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeaderboardInput {
    /// Heading of the report.
    pub title: String,
    /// Active filters as `(key, value)`, shown as `key=value`.
    pub filters: Vec<(String, String)>,
    /// The runs, in any order (the report sorts them).
    pub runs: Vec<RunSummary>,
}

/// Render the leaderboard of `input` in `format`.
pub fn render_leaderboard(
    t: &Templates,
    input: &LeaderboardInput,
    format: ReportFormat,
) -> Result<String, ReportError> {
    leaderboard::render(t, input, format)
}

/// One item of a paired comparison: the same eval item in run A and run B.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ItemDiff {
    /// Eval item id.
    pub id: String,
    /// Eval item category.
    pub category: String,
    /// Expected answer.
    pub expected: String,
    /// Answer extracted from A's output.
    pub a_extracted: Option<String>,
    /// A's answer correctness in [0, 1]; null when skipped.
    pub a_correct: Option<f64>,
    /// Answer extracted from B's output.
    pub b_extracted: Option<String>,
    /// B's answer correctness in [0, 1]; null when skipped.
    pub b_correct: Option<f64>,
}

/// The statistics module's paired comparison of B against A.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ComparisonFigures {
    /// Items scored in both runs.
    pub n_pairs: u64,
    /// Number of item ids only in A.
    pub n_only_in_a: u64,
    /// Item ids only in A.
    pub only_in_a: Vec<String>,
    /// Number of item ids only in B.
    pub n_only_in_b: u64,
    /// Item ids only in B.
    pub only_in_b: Vec<String>,
    /// Items skipped in either run.
    pub n_skipped: u64,
    /// Mean of A over the pairs.
    pub mean_a: Option<f64>,
    /// Mean of B over the pairs.
    pub mean_b: Option<f64>,
    /// Mean of B − A over the pairs.
    pub diff: Option<f64>,
    /// Lower bound of the difference's CI.
    pub diff_ci_low: Option<f64>,
    /// Upper bound of the difference's CI.
    pub diff_ci_high: Option<f64>,
    /// How the difference's CI was computed.
    pub diff_ci_method: Option<String>,
    /// The test behind `p_value` (`mcnemar_exact`, `paired_bootstrap`).
    pub test: Option<String>,
    /// Two-sided p-value.
    pub p_value: Option<f64>,
    /// `improved` | `no_evidence` | `regressed`.
    pub verdict: String,
    /// Minimum detectable difference at 80% power.
    pub min_detectable_difference: Option<f64>,
    /// Significance level.
    pub alpha: f64,
    /// Smallest difference that counts as a change.
    pub min_effect: f64,
    /// Caveats (small samples, skipped items, ...).
    pub warnings: Vec<String>,
}

/// What a comparison report shows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CompareInput {
    /// The baseline run.
    pub a: RunSummary,
    /// The candidate run.
    pub b: RunSummary,
    /// The paired comparison of B against A.
    pub figures: ComparisonFigures,
    /// Items present in both runs, in any order (the report sorts them).
    pub items: Vec<ItemDiff>,
    /// Whether A and B were scored on different eval sets.
    pub evalsets_differ: bool,
}

/// Render the comparison of `input` in `format`.
pub fn render_compare(
    t: &Templates,
    input: &CompareInput,
    format: ReportFormat,
) -> Result<String, ReportError> {
    compare::render(t, input, format)
}

/// A run as the templates see it: every [`RunSummary`] field, borrowed,
/// except `loss_curve` (drawn as SVG instead; converting thousands of points
/// per run into template values would dominate rendering time).
#[derive(Debug, Serialize)]
struct RunContext<'a> {
    run_id: &'a str,
    name: &'a str,
    kind: &'a str,
    model_id: &'a str,
    dataset: Option<&'a str>,
    config_hash: &'a str,
    labels: &'a BTreeMap<String, String>,
    created_at: &'a str,
    git_commit: Option<&'a str>,
    git_dirty: bool,
    evalset_path: &'a str,
    evalset_blake3: &'a str,
    primary_score: Option<f64>,
    ci_low: Option<f64>,
    ci_high: Option<f64>,
    ci_method: Option<&'a str>,
    n_items: u64,
    n_scored: u64,
    n_skipped: u64,
    category_means: &'a BTreeMap<String, Option<f64>>,
    sweep_id: Option<&'a str>,
    /// Number of points in the loss curve.
    loss_points: usize,
}

impl<'a> From<&'a RunSummary> for RunContext<'a> {
    fn from(run: &'a RunSummary) -> Self {
        // Destructured without `..`: a new RunSummary field fails to compile
        // here until templates get it too.
        let RunSummary {
            run_id,
            name,
            kind,
            model_id,
            dataset,
            config_hash,
            labels,
            created_at,
            git_commit,
            git_dirty,
            evalset_path,
            evalset_blake3,
            primary_score,
            ci_low,
            ci_high,
            ci_method,
            n_items,
            n_scored,
            n_skipped,
            category_means,
            sweep_id,
            loss_curve,
        } = run;
        RunContext {
            run_id,
            name,
            kind,
            model_id,
            dataset: dataset.as_deref(),
            config_hash,
            labels,
            created_at,
            git_commit: git_commit.as_deref(),
            git_dirty: *git_dirty,
            evalset_path,
            evalset_blake3,
            primary_score: *primary_score,
            ci_low: *ci_low,
            ci_high: *ci_high,
            ci_method: ci_method.as_deref(),
            n_items: *n_items,
            n_scored: *n_scored,
            n_skipped: *n_skipped,
            category_means,
            sweep_id: sweep_id.as_deref(),
            loss_points: loss_curve.len(),
        }
    }
}

/// Serialize `doc` as pretty JSON with a trailing newline; arrays inside
/// arrays (loss-curve points `[step, loss]`) stay on one line.
fn to_json<S: Serialize>(doc: &S) -> Result<String, ReportError> {
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, json::Formatter::default());
    doc.serialize(&mut serializer)?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|e| ReportError::new(format!("JSON output is not UTF-8: {e}")))
}

/// The JSON layout of the reports.
mod json {
    use std::io::{self, Write};

    use serde_json::ser::PrettyFormatter;

    /// What an open array or object is written as.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Frame {
        /// An array with one value per line.
        PrettyArray,
        /// An object with one member per line.
        PrettyObject,
        /// A container written on one line.
        Inline,
    }

    /// serde_json's pretty layout (two-space indent), except that arrays
    /// directly inside arrays, and everything inside those, are written on
    /// one line: `[0, 5.5452]`.
    #[derive(Default)]
    pub struct Formatter {
        pretty: PrettyFormatter<'static>,
        stack: Vec<Frame>,
    }

    impl Formatter {
        /// Whether the innermost open container is written on one line.
        fn inline(&self) -> bool {
            self.stack.last() == Some(&Frame::Inline)
        }
    }

    impl serde_json::ser::Formatter for Formatter {
        fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            if matches!(self.stack.last(), Some(Frame::Inline | Frame::PrettyArray)) {
                self.stack.push(Frame::Inline);
                w.write_all(b"[")
            } else {
                self.stack.push(Frame::PrettyArray);
                self.pretty.begin_array(w)
            }
        }

        fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            match self.stack.pop() {
                Some(Frame::Inline) => w.write_all(b"]"),
                _ => self.pretty.end_array(w),
            }
        }

        fn begin_array_value<W: ?Sized + Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            match (self.inline(), first) {
                (true, true) => Ok(()),
                (true, false) => w.write_all(b", "),
                (false, _) => self.pretty.begin_array_value(w, first),
            }
        }

        fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            if self.inline() {
                Ok(())
            } else {
                self.pretty.end_array_value(w)
            }
        }

        fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            if self.inline() {
                self.stack.push(Frame::Inline);
                w.write_all(b"{")
            } else {
                self.stack.push(Frame::PrettyObject);
                self.pretty.begin_object(w)
            }
        }

        fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            match self.stack.pop() {
                Some(Frame::Inline) => w.write_all(b"}"),
                _ => self.pretty.end_object(w),
            }
        }

        fn begin_object_key<W: ?Sized + Write>(
            &mut self,
            w: &mut W,
            first: bool,
        ) -> io::Result<()> {
            match (self.inline(), first) {
                (true, true) => Ok(()),
                (true, false) => w.write_all(b", "),
                (false, _) => self.pretty.begin_object_key(w, first),
            }
        }

        fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            if self.inline() {
                w.write_all(b": ")
            } else {
                self.pretty.begin_object_value(w)
            }
        }

        fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
            if self.inline() {
                Ok(())
            } else {
                self.pretty.end_object_value(w)
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use serde_json::json;

        #[test]
        fn nested_arrays_stay_on_one_line() {
            let doc = json!({"a": [[0, 1.5], [10, {"x": [1, 2]}]], "b": [], "c": {"d": [1, 2]}, "e": [[]]});
            let text = super::super::to_json(&doc).expect("json");
            let expected = "{\n  \"a\": [\n    [0, 1.5],\n    [10, {\"x\": [1, 2]}]\n  ],\n  \"b\": [],\n  \"c\": {\n    \"d\": [\n      1,\n      2\n    ]\n  },\n  \"e\": [\n    []\n  ]\n}\n";
            assert_eq!(text, expected);
            let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
            assert_eq!(back, doc);
        }
    }
}

/// Text built by this module from numbers and fixed words, marked safe so
/// that neither HTML nor Markdown escaping touches it. Never call this on
/// text that contains data from a run.
fn trusted(text: String) -> minijinja::Value {
    debug_assert!(
        !text.contains(['<', '>', '&', '"', '\'', '|', '\n', '\\', '*', '_', '`']),
        "not trusted text: {text}"
    );
    minijinja::Value::from_safe_string(text)
}

/// Number formatting shared by the reports (4 decimals, `—` for null).
mod num {
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
        f: fn(Option<f64>) -> String,
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
}

/// Labels for machine names of methods and tests.
mod words {
    /// Human name of a CI method or statistical test as stored
    /// (`mcnemar_exact` → `McNemar exact`).
    pub fn method(name: &str) -> String {
        match name {
            "mcnemar_exact" => "McNemar exact".to_string(),
            "wilson" => "Wilson".to_string(),
            "newcombe_hybrid_score" => "Newcombe hybrid score".to_string(),
            other => other.replace('_', " "),
        }
    }

    /// The first `n` characters of `text` (ids and hashes).
    pub fn short(text: &str, n: usize) -> String {
        text.chars().take(n).collect()
    }

    /// The first `n` characters of an id, with `…` when cut.
    pub fn abbrev(text: &str, n: usize) -> String {
        if text.chars().count() > n {
            format!("{}…", short(text, n))
        } else {
            text.to_string()
        }
    }

    /// A commit as shown in tables: 7 characters, `+dirty` when the tree
    /// had changes, `—` when unknown.
    pub fn commit(commit: Option<&str>, dirty: bool) -> String {
        match (commit, dirty) {
            (Some(c), true) => format!("{}+dirty", short(c, 7)),
            (Some(c), false) => short(c, 7),
            (None, true) => "—+dirty".to_string(),
            (None, false) => "—".to_string(),
        }
    }

    /// The date part of an RFC 3339 timestamp; the text itself otherwise.
    pub fn date(timestamp: &str) -> String {
        match timestamp.get(..10) {
            Some(date)
                if timestamp
                    .as_bytes()
                    .get(10)
                    .is_some_and(|b| matches!(b, b'T' | b't' | b' ')) =>
            {
                date.to_string()
            }
            _ => timestamp.to_string(),
        }
    }
}

#[cfg(test)]
mod fixtures {
    //! Fixed inputs for the golden tests and helpers to check outputs.

    use std::collections::BTreeMap;

    use super::*;

    /// Hostile text that must come out as literal text.
    pub const PAYLOADS: [&str; 3] = [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "{{ 7*7 }}",
    ];

    /// A run with the fields the golden files show.
    fn run(run_id: &str, name: &str, score: Option<f64>, ci: Option<(f64, f64)>) -> RunSummary {
        RunSummary {
            run_id: run_id.to_string(),
            name: name.to_string(),
            kind: "Eval".to_string(),
            model_id: "gpt-nano".to_string(),
            dataset: Some("dev-reasoning-v2".to_string()),
            config_hash: "c0ffee00d15ea5e5".to_string(),
            labels: BTreeMap::new(),
            created_at: "2025-11-01T09:30:00Z".to_string(),
            git_commit: Some("3f9a2c1d0e5b7a6c4d3e2f1a0b9c8d7e6f5a4b3c".to_string()),
            git_dirty: false,
            evalset_path: "evalsets/eval_v2.jsonl".to_string(),
            evalset_blake3: "ab".repeat(32),
            primary_score: score,
            ci_low: ci.map(|c| c.0),
            ci_high: ci.map(|c| c.1),
            ci_method: ci.map(|_| "wilson".to_string()),
            n_items: 120,
            n_scored: 120,
            n_skipped: 0,
            category_means: BTreeMap::new(),
            sweep_id: None,
            loss_curve: Vec::new(),
        }
    }

    /// Category means from `(name, mean)` pairs.
    fn means(pairs: &[(&str, Option<f64>)]) -> BTreeMap<String, Option<f64>> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    /// The baseline: the leader, with a loss curve and labels.
    pub fn baseline() -> RunSummary {
        let mut r = run(
            "baseline-gpt-nano",
            "baseline-gpt-nano",
            Some(0.75),
            Some((0.6661, 0.8178)),
        );
        r.labels = [("milestone", "m34"), ("purpose", "baseline")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        r.category_means = means(&[
            ("core", Some(0.76)),
            ("edge", Some(0.7)),
            ("trace", Some(0.775)),
        ]);
        r.loss_curve = vec![
            (0, 5.5452),
            (50, 3.1021),
            (100, 2.2210),
            (150, 1.7433),
            (200, 1.5120),
            (250, 1.4377),
        ];
        r
    }

    /// The challenger: tied with the leader, hostile name, label and model.
    pub fn challenger() -> RunSummary {
        let mut r = run(
            "eval-micro-2",
            "<script>alert(1)</script> {{ 7*7 }} | *bold* _it_",
            Some(0.7333),
            Some((0.6473, 0.8042)),
        );
        r.model_id = "gpt-micro".to_string();
        r.evalset_path = "evalsets/eval_v3.jsonl".to_string();
        r.evalset_blake3 = "cd".repeat(32);
        r.labels = [("note", "<img src=x onerror=alert(1)>")]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        r.created_at = "2025-11-02T14:05:00+01:00".to_string();
        r.git_commit = Some("b71c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c".to_string());
        r.git_dirty = true;
        r.category_means = means(&[
            ("core", Some(0.74)),
            ("edge", Some(0.7333)),
            ("trace", Some(0.725)),
        ]);
        r.loss_curve = vec![(0, 5.6012), (100, 2.9034), (200, 1.9981), (300, 1.6120)];
        r
    }

    /// The leaderboard fixture: a tie, a separate rank, a null score.
    pub fn leaderboard() -> LeaderboardInput {
        let mut weak = run(
            "sweep-7-trial-03",
            "weak-lr-1e-5",
            Some(0.5417),
            Some((0.4524, 0.6283)),
        );
        weak.category_means = means(&[("core", Some(0.6)), ("edge", Some(0.5)), ("trace", None)]);
        weak.sweep_id = Some("sweep-7".to_string());
        weak.ci_method = Some("bootstrap".to_string());
        weak.n_scored = 110;
        weak.n_skipped = 10;
        let mut crashed = run("crashed-run", "crashed-run", None, None);
        crashed.git_commit = None;
        crashed.n_scored = 0;
        crashed.n_skipped = 120;
        LeaderboardInput {
            title: "tunix-rt leaderboard".to_string(),
            filters: vec![
                ("dataset".to_string(), "dev-reasoning-v2".to_string()),
                ("label".to_string(), "milestone=m34".to_string()),
            ],
            runs: vec![crashed, weak, challenger(), baseline()],
        }
    }

    /// One item diff.
    fn item(
        id: &str,
        category: &str,
        expected: &str,
        a: (Option<&str>, Option<f64>),
        b: (Option<&str>, Option<f64>),
    ) -> ItemDiff {
        ItemDiff {
            id: id.to_string(),
            category: category.to_string(),
            expected: expected.to_string(),
            a_extracted: a.0.map(String::from),
            a_correct: a.1,
            b_extracted: b.0.map(String::from),
            b_correct: b.1,
        }
    }

    /// The comparison fixture: baseline (A) against the challenger (B).
    pub fn compare() -> CompareInput {
        let mut a = baseline();
        a.category_means.insert("extra".to_string(), Some(0.5));
        let items = vec![
            item(
                "trace-002",
                "trace",
                "31",
                (Some("31"), Some(1.0)),
                (Some("3*12=36"), Some(0.0)),
            ),
            item(
                "core-001",
                "core",
                "54",
                (Some("54"), Some(1.0)),
                (Some("54"), Some(1.0)),
            ),
            item(
                "edge-007",
                "edge",
                "$5.00",
                (Some("5"), Some(0.0)),
                (Some("$5.00"), Some(1.0)),
            ),
            item(
                "core-003",
                "core",
                "a|b",
                (Some("<img src=x onerror=alert(1)>"), Some(0.0)),
                (Some("a|b"), Some(1.0)),
            ),
            item(
                "core-002",
                "core",
                "12",
                (Some("{{ 7*7 }}"), Some(0.0)),
                (Some("<script>alert(1)</script>"), Some(0.0)),
            ),
            item(
                "edge-001",
                "edge",
                "YES",
                (None, None),
                (Some("yes\nno"), Some(1.0)),
            ),
            item(
                "trace-001",
                "trace",
                "0.5",
                (Some("0.50"), Some(1.0)),
                (Some("0.5"), Some(1.0)),
            ),
        ];
        CompareInput {
            a,
            b: challenger(),
            figures: ComparisonFigures {
                n_pairs: 6,
                n_only_in_a: 1,
                only_in_a: vec!["core-099".to_string()],
                n_only_in_b: 2,
                only_in_b: vec!["edge-100".to_string(), "<b>edge-101</b>".to_string()],
                n_skipped: 1,
                mean_a: Some(0.5),
                mean_b: Some(0.8333),
                diff: Some(0.3333),
                diff_ci_low: Some(-0.0425),
                diff_ci_high: Some(0.6231),
                diff_ci_method: Some("newcombe_hybrid_score".to_string()),
                test: Some("mcnemar_exact".to_string()),
                p_value: Some(0.625),
                verdict: "no_evidence".to_string(),
                min_detectable_difference: Some(0.7123),
                alpha: 0.05,
                min_effect: 0.0,
                warnings: vec!["only 6 pairs: the CI is wide".to_string()],
            },
            items,
            evalsets_differ: true,
        }
    }

    /// Compare `actual` with `tests/golden/NAME`, or rewrite the file when
    /// `UPDATE_GOLDEN` is set.
    pub fn assert_golden(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("create tests/golden");
            std::fs::write(&path, actual).expect("write golden file");
            return;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
                path.display()
            )
        });
        if expected != actual {
            let line = expected
                .lines()
                .zip(actual.lines())
                .position(|(e, a)| e != a)
                .unwrap_or_else(|| expected.lines().count().min(actual.lines().count()));
            panic!(
                "{} differs from the output at line {} (UPDATE_GOLDEN=1 rewrites it)\nexpected: {:?}\nactual:   {:?}",
                path.display(),
                line + 1,
                expected.lines().nth(line),
                actual.lines().nth(line)
            );
        }
    }

    /// The payloads in `out` are escaped text, never markup or expanded.
    pub fn assert_payloads_inert(out: &str, format: ReportFormat) {
        assert!(
            !out.contains("<script>alert") && !out.contains("<img"),
            "{format:?}: raw markup in\n{out}"
        );
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{format:?}: payload missing"
        );
        assert!(
            out.contains("&lt;img src=x onerror=alert(1)&gt;"),
            "{format:?}: payload missing"
        );
        let template = match format {
            ReportFormat::Md => "{{ 7\\*7 }}",
            _ => "{{ 7*7 }}",
        };
        assert!(
            out.contains(template),
            "{format:?}: template syntax lost or expanded"
        );
    }

    /// One document, no network: inline everything, CSP, no URLs.
    pub fn assert_html_self_contained(html: &str) {
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        ));
        assert!(html.contains("<link rel=\"icon\" href=\"data:,\">"));
        for banned in [
            "http:", "https:", "//", "url(", "@import", " src=\"", "<iframe", "<object", "<embed",
        ] {
            assert!(!html.contains(banned), "{banned} in the HTML");
        }
        for (i, _) in html.match_indices("href=\"") {
            let target = &html[i + 6..];
            assert!(
                target.starts_with("data:,\"") || target.starts_with('#'),
                "link off the page: {}",
                &target[..target.len().min(40)]
            );
        }
        assert_eq!(
            html.matches("<script").count(),
            1,
            "only the report's own script"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_four_decimals_and_a_dash_for_null() {
        assert_eq!(num::fixed(Some(0.75)), "0.7500");
        assert_eq!(num::fixed(None), "—");
        assert_eq!(num::fixed(Some(f64::NAN)), "—");
        assert_eq!(num::fixed(Some(-0.00001)), "0.0000");
        assert_eq!(num::signed(Some(0.083)), "+0.0830");
        assert_eq!(num::signed(Some(-0.012)), "-0.0120");
        assert_eq!(num::signed(Some(0.0)), "0.0000");
        assert_eq!(num::signed(Some(0.00001)), "0.0000");
        assert_eq!(
            num::with_ci(Some(0.75), Some(0.6661), Some(0.8178)),
            "0.7500 [0.6661, 0.8178]"
        );
        assert_eq!(num::with_ci(Some(0.75), None, Some(0.8)), "0.7500");
        assert_eq!(num::with_ci(None, Some(0.1), Some(0.8)), "—");
        assert_eq!(
            num::signed_with_ci(Some(0.083), Some(-0.01), Some(0.2)),
            "+0.0830 [-0.0100, +0.2000]"
        );
        assert_eq!(num::p_value(Some(0.004)), "0.0040");
        assert_eq!(num::p_value(Some(1.23e-9)), "1.2e-9");
        assert_eq!(num::p_value(Some(0.0)), "0.0000");
        assert_eq!(num::p_value(None), "—");
        assert_eq!(num::setting(0.05), "0.05");
        assert_eq!(num::setting(0.0), "0");
    }

    #[test]
    fn words_shorten_commits_dates_and_methods() {
        assert_eq!(words::commit(Some("3f9a2c1d0e"), true), "3f9a2c1+dirty");
        assert_eq!(words::commit(Some("3f9a2c1d0e"), false), "3f9a2c1");
        assert_eq!(words::commit(None, false), "—");
        assert_eq!(words::date("2025-11-01T09:30:00Z"), "2025-11-01");
        assert_eq!(words::date("yesterday"), "yesterday");
        assert_eq!(words::date("2025-11-01é"), "2025-11-01é");
        assert_eq!(words::method("mcnemar_exact"), "McNemar exact");
        assert_eq!(words::method("paired_bootstrap"), "paired bootstrap");
        assert_eq!(words::short("αβγδεζηθι", 8), "αβγδεζηθ");
        assert_eq!(words::abbrev("sweep-7-trial-03", 8), "sweep-7-…");
        assert_eq!(words::abbrev("run-a", 8), "run-a");
    }

    #[test]
    fn minijinja_errors_name_the_template_and_line() {
        let mut env = minijinja::Environment::new();
        let err = env
            .add_template("x.md.j2", "line one\n{{ broken")
            .expect_err("syntax error");
        let report = ReportError::from(err);
        assert!(report.message.contains("x.md.j2:2"), "{}", report.message);
    }
}
