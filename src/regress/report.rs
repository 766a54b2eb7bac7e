//! What `tunix-rt regress` prints: one document ([`RegressReport`],
//! `schema_version` 2 in JSON) rendered as text or as Markdown made for a
//! pull-request comment. Scores are on the 0–1 scale, differences in
//! percentage points (`*_pp` in JSON); an incomplete run (coverage below
//! 100%) is marked. Flipped-item lists are capped in text and Markdown;
//! the JSON lists every one.

use std::fmt::Write as _;

use serde::Serialize;

use super::gate::{FlippedItem, GateOutcome, GateSettings};
use super::lock::BaselineLock;
use crate::scoring::compare::{DiffCiMethod, DiffInterval};
use crate::scoring::{FullSetScore, PairedTest, Verdict};

/// Version of the JSON document: 2 since differences are in percentage
/// points and runs carry their coverage.
pub const REPORT_SCHEMA_VERSION: u32 = 2;
/// Most flipped items listed per direction in text and Markdown.
pub const MAX_LISTED: usize = 20;

/// The regression gate's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegressReport {
    pub schema_version: u32,
    /// `regressed`, `no_evidence` or `improved`.
    pub verdict: Verdict,
    /// Whether the exit code ignores the verdict (`--informational`).
    pub informational: bool,
    /// Smallest change the whole CI must clear, in percentage points.
    pub threshold_pp: f64,
    pub alpha: f64,
    /// Largest coverage difference the gate accepts, in percentage points.
    pub max_coverage_gap_pp: f64,
    pub baseline: RunRef,
    pub candidate: RunRef,
    /// The eval set both were scored on.
    pub evalset: EvalsetRef,
    pub scoring_rules_version: u32,
    /// Items compared: every item of either run (a missing one counted as
    /// wrong).
    pub n_pairs: usize,
    /// Candidate − baseline, mean over the pairs, in percentage points.
    pub diff_pp: Option<f64>,
    /// Its confidence interval at level `1 − alpha`.
    pub diff_ci: Option<DiffIntervalPp>,
    pub test: Option<PairedTest>,
    pub p_value: Option<f64>,
    /// Smallest |difference| detectable at this n (alpha, 80% power), in
    /// percentage points.
    pub min_detectable_difference_pp: Option<f64>,
    /// Items worse in the candidate (a baseline item the candidate lacks
    /// included), sorted by id.
    pub lost: Vec<FlippedItem>,
    /// Items better in the candidate, sorted by id.
    pub gained: Vec<FlippedItem>,
    /// Caveats from the pairing (unmatched, missing, duplicate ids).
    pub warnings: Vec<String>,
}

/// A difference's confidence interval in percentage points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DiffIntervalPp {
    pub low_pp: f64,
    pub high_pp: f64,
    /// Confidence level, `1 − alpha`.
    pub level: f64,
    pub method: DiffCiMethod,
}

impl From<DiffInterval> for DiffIntervalPp {
    fn from(ci: DiffInterval) -> Self {
        DiffIntervalPp {
            low_pp: ci.low * 100.0,
            high_pp: ci.high * 100.0,
            level: ci.level,
            method: ci.method,
        }
    }
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    pub run_id: String,
    /// Workspace-relative where possible.
    pub run_dir: String,
    /// Mean over the compared items (0–1; a missing item counts 0): the
    /// full-eval-set score.
    pub mean: Option<f64>,
    /// Items of the run.
    pub n_items: usize,
    /// Items with a valid value.
    pub n_scored: usize,
    /// `n_scored / n_items`.
    pub coverage: Option<f64>,
    /// Whether coverage is below 100%.
    pub incomplete: bool,
}

impl RunRef {
    /// The run `run_id` in `run_dir` with its coverage figures.
    pub fn new(run_id: String, run_dir: String, full: &FullSetScore) -> Self {
        RunRef {
            run_id,
            run_dir,
            mean: full.score,
            n_items: full.n_items,
            n_scored: full.n_scored,
            coverage: full.coverage,
            incomplete: !full.complete(),
        }
    }
}

/// The eval set, by path and hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalsetRef {
    pub path: String,
    pub blake3: String,
}

/// Assemble the document.
pub fn build(
    lock: &BaselineLock,
    candidate: RunRef,
    outcome: GateOutcome,
    settings: GateSettings,
    informational: bool,
) -> RegressReport {
    let c = outcome.comparison;
    let pp = |x: Option<f64>| x.map(|v| v * 100.0);
    RegressReport {
        schema_version: REPORT_SCHEMA_VERSION,
        verdict: outcome.verdict,
        informational,
        threshold_pp: settings.threshold * 100.0,
        alpha: settings.alpha,
        max_coverage_gap_pp: settings.max_coverage_gap * 100.0,
        baseline: RunRef {
            mean: c.mean_a,
            ..RunRef::new(lock.run_id.clone(), lock.run_dir.clone(), &outcome.baseline)
        },
        candidate: RunRef {
            mean: c.mean_b,
            ..candidate
        },
        evalset: EvalsetRef {
            path: lock.evalset.path.clone(),
            blake3: lock.evalset.blake3.clone(),
        },
        scoring_rules_version: lock.scoring_rules.version,
        n_pairs: c.n_pairs,
        diff_pp: pp(c.diff),
        diff_ci: c.diff_ci.map(DiffIntervalPp::from),
        test: c.test,
        p_value: c.p_value,
        min_detectable_difference_pp: pp(c.min_detectable_difference),
        lost: outcome.flips.lost,
        gained: outcome.flips.gained,
        warnings: c.warnings,
    }
}

/// The verdict in words.
fn verdict_words(v: Verdict) -> &'static str {
    match v {
        Verdict::Regressed => "regressed",
        Verdict::NoEvidence => "no evidence",
        Verdict::Improved => "improved",
    }
}

/// One sentence saying what the verdict means under the rule.
fn explanation(r: &RegressReport) -> String {
    let t = points(r.threshold_pp);
    match r.verdict {
        Verdict::Regressed => format!("the whole CI of candidate − baseline lies below −{t}"),
        Verdict::Improved => format!("the whole CI of candidate − baseline lies above +{t}"),
        Verdict::NoEvidence => format!("the CI of candidate − baseline does not clear ±{t}"),
    }
}

/// A difference in percentage points, signed, or `n/a`.
fn signed(v: Option<f64>) -> String {
    v.filter(|v| v.is_finite())
        .map_or_else(|| "n/a".into(), |v| format!("{v:+.2} pp"))
}

/// A non-negative size in percentage points.
fn points(v: f64) -> String {
    format!("{v:.2} pp")
}

/// A 0–1 score with 4 decimals, or `n/a`.
fn score(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{v:.4}"))
}

/// A run's coverage: `100.0%`, or `9.2% (11 of 120 scored) INCOMPLETE`.
fn coverage(r: &RunRef) -> String {
    let share = r
        .coverage
        .map_or_else(|| "n/a".into(), |c| format!("{:.1}%", c * 100.0));
    if r.incomplete {
        format!(
            "{share} ({} of {} scored) INCOMPLETE",
            r.n_scored, r.n_items
        )
    } else {
        share
    }
}

fn interval(ci: Option<&DiffIntervalPp>) -> String {
    ci.map_or_else(
        || "n/a".into(),
        |c| {
            format!(
                "[{:+.2}, {:+.2}] ({:.0}% CI)",
                c.low_pp,
                c.high_pp,
                c.level * 100.0
            )
        },
    )
}

fn test_name(r: &RegressReport) -> String {
    let p = r
        .p_value
        .map_or_else(|| "n/a".into(), |p| format!("{p:.3}"));
    match r.test {
        Some(PairedTest::McnemarExact) => format!("McNemar exact, p {p}"),
        Some(PairedTest::PairedBootstrap) => format!("paired bootstrap, p {p}"),
        None => "no test".into(),
    }
}

/// `extracted (correctness)` of one side; `missing (0)` when it has no
/// valid value.
fn side(extracted: Option<&str>, correctness: f64, missing: bool) -> String {
    if missing {
        return format!("missing ({correctness})");
    }
    format!("{} ({correctness})", extracted.unwrap_or("—"))
}

/// Plain text for a terminal or a CI log.
pub fn render_text(r: &RegressReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Regression gate: {}{}",
        verdict_words(r.verdict).to_uppercase(),
        if r.informational {
            " (informational)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "  {}", explanation(r));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "baseline   {} ({})  {}  coverage {}",
        r.baseline.run_id,
        r.baseline.run_dir,
        score(r.baseline.mean),
        coverage(&r.baseline)
    );
    let _ = writeln!(
        out,
        "candidate  {} ({})  {}  coverage {}",
        r.candidate.run_id,
        r.candidate.run_dir,
        score(r.candidate.mean),
        coverage(&r.candidate)
    );
    let _ = writeln!(
        out,
        "eval set   {} (blake3 {})",
        r.evalset.path,
        &r.evalset.blake3[..r.evalset.blake3.len().min(12)]
    );
    let _ = writeln!(
        out,
        "items      {} paired (every item of either run; a missing one counts as wrong)",
        r.n_pairs
    );
    let _ = writeln!(
        out,
        "difference {} {}",
        signed(r.diff_pp),
        interval(r.diff_ci.as_ref())
    );
    let _ = writeln!(out, "test       {}", test_name(r));
    let _ = writeln!(
        out,
        "detectable {} at n = {} (alpha {}, 80% power)",
        r.min_detectable_difference_pp
            .map_or_else(|| "n/a".into(), points),
        r.n_pairs,
        r.alpha
    );
    let _ = writeln!(out, "threshold  ±{}", points(r.threshold_pp));
    for (title, items) in [
        ("Lost (baseline right, candidate wrong)", &r.lost),
        ("Gained (baseline wrong, candidate right)", &r.gained),
    ] {
        let _ = writeln!(out);
        let _ = writeln!(out, "{title}: {}", items.len());
        for i in items.iter().take(MAX_LISTED) {
            let _ = writeln!(
                out,
                "  {}  expected {}  baseline {}  candidate {}",
                i.id,
                one_line(&i.expected),
                one_line(&side(
                    i.baseline_extracted.as_deref(),
                    i.baseline_correctness,
                    i.baseline_missing
                )),
                one_line(&side(
                    i.candidate_extracted.as_deref(),
                    i.candidate_correctness,
                    i.candidate_missing
                )),
            );
        }
        if items.len() > MAX_LISTED {
            let _ = writeln!(out, "  … and {} more", items.len() - MAX_LISTED);
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// Model text on one line, shortened.
fn one_line(s: &str) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() > 40 {
        format!("{}…", flat.chars().take(39).collect::<String>())
    } else {
        flat
    }
}

/// `s` as a Markdown code span: on one line, shortened, between backtick
/// fences longer than any run of backticks inside it (padded with spaces
/// when it starts or ends with one). Nothing inside is escaped: a code span
/// shows every character as it is.
fn code(s: &str) -> String {
    let text = one_line(s);
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A shortened one-line Markdown table cell.
fn md(s: &str) -> String {
    md_escape(&one_line(s))
}

/// Text safe inside Markdown (outside code spans): control characters
/// become spaces, `< > &` HTML entities, and the characters that would
/// break a table or start markup get a backslash (an `_` inside a word is
/// left alone: it cannot start emphasis).
fn md_escape(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let word = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        match c {
            '_' if word(i.checked_sub(1)) && word(Some(i + 1)) => out.push(c),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '|' | '`' | '*' | '_' | '[' | ']' | '#' | '\\' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A run's coverage in Markdown: `100.0%`, or `9.2% (11 of 120 scored)
/// ⚠ incomplete`.
fn md_coverage(r: &RunRef) -> String {
    coverage(r).replace(" INCOMPLETE", " ⚠ incomplete")
}

/// GitHub-flavoured Markdown for a pull-request comment.
pub fn render_md(r: &RegressReport) -> String {
    let icon = match r.verdict {
        Verdict::Regressed => "❌",
        Verdict::NoEvidence => "➖",
        Verdict::Improved => "✅",
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {icon} Regression gate: {}{}",
        verdict_words(r.verdict),
        if r.informational {
            " (informational)"
        } else {
            ""
        }
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Candidate {} against baseline {}: {}.",
        code(&r.candidate.run_id),
        code(&r.baseline.run_id),
        explanation(r)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| | |");
    let _ = writeln!(out, "|---|---|");
    let _ = writeln!(out, "| Baseline | {} |", score(r.baseline.mean));
    let _ = writeln!(out, "| Candidate | {} |", score(r.candidate.mean));
    let _ = writeln!(
        out,
        "| Coverage | baseline {}, candidate {} |",
        md_coverage(&r.baseline),
        md_coverage(&r.candidate)
    );
    let _ = writeln!(
        out,
        "| Difference | **{}** {} |",
        signed(r.diff_pp),
        interval(r.diff_ci.as_ref())
    );
    let _ = writeln!(out, "| Threshold | ±{} |", points(r.threshold_pp));
    let _ = writeln!(
        out,
        "| Minimum detectable difference | {} |",
        r.min_detectable_difference_pp
            .map_or_else(|| "n/a".into(), points)
    );
    let _ = writeln!(
        out,
        "| Items paired | {} (every item of either run; a missing one counts as wrong) |",
        r.n_pairs
    );
    let _ = writeln!(out, "| Test | {} |", test_name(r));
    let _ = writeln!(
        out,
        "| Eval set | {} (`{}`) |",
        md(&r.evalset.path),
        &r.evalset.blake3[..r.evalset.blake3.len().min(12)]
    );
    let _ = writeln!(
        out,
        "| Flipped | {} lost, {} gained |",
        r.lost.len(),
        r.gained.len()
    );
    for (title, items) in [("Lost", &r.lost), ("Gained", &r.gained)] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "<details><summary>{title}: {} item(s)</summary>",
            items.len()
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "| Item | Expected | Baseline | Candidate |");
        let _ = writeln!(out, "|---|---|---|---|");
        for i in items.iter().take(MAX_LISTED) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                md(&i.id),
                md(&i.expected),
                md(&side(
                    i.baseline_extracted.as_deref(),
                    i.baseline_correctness,
                    i.baseline_missing
                )),
                md(&side(
                    i.candidate_extracted.as_deref(),
                    i.candidate_correctness,
                    i.candidate_missing
                )),
            );
        }
        if items.len() > MAX_LISTED {
            let _ = writeln!(out);
            let _ = writeln!(out, "… and {} more.", items.len() - MAX_LISTED);
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "</details>");
    }
    if !r.warnings.is_empty() {
        let _ = writeln!(out);
        for w in &r.warnings {
            let _ = writeln!(out, "> ⚠️ {}", md_escape(w));
        }
    }
    out
}

#[cfg(test)]
mod tests;
