//! What `tunix-rt regress` prints: one document ([`RegressReport`],
//! `schema_version` 1 in JSON) rendered as text or as Markdown made for a
//! pull-request comment. Flipped-item lists are capped in text and
//! Markdown; the JSON lists every one.

use std::fmt::Write as _;

use serde::Serialize;

use super::gate::{FlippedItem, GateOutcome, GateSettings};
use super::lock::BaselineLock;
use crate::scoring::compare::DiffInterval;
use crate::scoring::{PairedTest, Verdict};

/// Version of the JSON document.
pub const REPORT_SCHEMA_VERSION: u32 = 1;
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
    pub threshold: f64,
    pub alpha: f64,
    pub baseline: RunRef,
    pub candidate: RunRef,
    /// The eval set both were scored on.
    pub evalset: EvalsetRef,
    pub scoring_rules_version: u32,
    /// Items scored in both runs.
    pub n_pairs: usize,
    /// Candidate − baseline, mean over the pairs.
    pub diff: Option<f64>,
    /// Its confidence interval at level `1 − alpha`.
    pub diff_ci: Option<DiffInterval>,
    pub test: Option<PairedTest>,
    pub p_value: Option<f64>,
    /// Smallest |diff| detectable at this n (alpha, 80% power).
    pub min_detectable_difference: Option<f64>,
    /// Items worse in the candidate, sorted by id.
    pub lost: Vec<FlippedItem>,
    /// Items better in the candidate, sorted by id.
    pub gained: Vec<FlippedItem>,
    /// Caveats from the pairing (unmatched, skipped, duplicate ids).
    pub warnings: Vec<String>,
}

/// One side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRef {
    pub run_id: String,
    /// Workspace-relative where possible.
    pub run_dir: String,
    /// Mean over the paired items.
    pub mean: Option<f64>,
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
    RegressReport {
        schema_version: REPORT_SCHEMA_VERSION,
        verdict: outcome.verdict,
        informational,
        threshold: settings.threshold,
        alpha: settings.alpha,
        baseline: RunRef {
            run_id: lock.run_id.clone(),
            run_dir: lock.run_dir.clone(),
            mean: c.mean_a,
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
        diff: c.diff,
        diff_ci: c.diff_ci,
        test: c.test,
        p_value: c.p_value,
        min_detectable_difference: c.min_detectable_difference,
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
    let t = points(r.threshold);
    match r.verdict {
        Verdict::Regressed => format!("the whole CI of candidate − baseline lies below −{t}"),
        Verdict::Improved => format!("the whole CI of candidate − baseline lies above +{t}"),
        Verdict::NoEvidence => format!("the CI of candidate − baseline does not clear ±{t}"),
    }
}

/// A 0–1 value as signed percentage points, or `n/a`.
fn signed(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:+.1} pp", v * 100.0))
}

/// A non-negative 0–1 value as percentage points.
fn points(v: f64) -> String {
    format!("{:.1} pp", v * 100.0)
}

/// A 0–1 value as a percentage, or `n/a`.
fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".into(), |v| format!("{:.1}%", v * 100.0))
}

fn interval(ci: Option<&DiffInterval>) -> String {
    ci.map_or_else(
        || "n/a".into(),
        |c| {
            format!(
                "[{}, {}] ({:.0}% CI)",
                signed(Some(c.low)),
                signed(Some(c.high)),
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

/// `extracted (correctness)` of one side.
fn side(extracted: Option<&str>, correctness: f64) -> String {
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
        "baseline   {} ({})  {}",
        r.baseline.run_id,
        r.baseline.run_dir,
        pct(r.baseline.mean)
    );
    let _ = writeln!(
        out,
        "candidate  {} ({})  {}",
        r.candidate.run_id,
        r.candidate.run_dir,
        pct(r.candidate.mean)
    );
    let _ = writeln!(
        out,
        "eval set   {} (blake3 {})",
        r.evalset.path,
        &r.evalset.blake3[..r.evalset.blake3.len().min(12)]
    );
    let _ = writeln!(out, "items      {} paired", r.n_pairs);
    let _ = writeln!(
        out,
        "difference {} {}",
        signed(r.diff),
        interval(r.diff_ci.as_ref())
    );
    let _ = writeln!(out, "test       {}", test_name(r));
    let _ = writeln!(
        out,
        "detectable {} at n = {} (alpha {}, 80% power)",
        r.min_detectable_difference
            .map_or_else(|| "n/a".into(), points),
        r.n_pairs,
        r.alpha
    );
    let _ = writeln!(out, "threshold  ±{}", points(r.threshold));
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
                    i.baseline_correctness
                )),
                one_line(&side(
                    i.candidate_extracted.as_deref(),
                    i.candidate_correctness
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

/// A shortened one-line Markdown table cell.
fn md(s: &str) -> String {
    md_escape(&one_line(s))
}

/// Text safe inside Markdown: control characters become spaces, and the
/// characters that would break a table or start markup are escaped.
fn md_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().map(|c| if c.is_control() { ' ' } else { c }) {
        match c {
            '|' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
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
        "Candidate `{}` against baseline `{}`: {}.",
        md(&r.candidate.run_id),
        md(&r.baseline.run_id),
        explanation(r)
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "| | |");
    let _ = writeln!(out, "|---|---|");
    let _ = writeln!(out, "| Baseline | {} |", pct(r.baseline.mean));
    let _ = writeln!(out, "| Candidate | {} |", pct(r.candidate.mean));
    let _ = writeln!(
        out,
        "| Difference | **{}** {} |",
        signed(r.diff),
        interval(r.diff_ci.as_ref())
    );
    let _ = writeln!(out, "| Threshold | ±{} |", points(r.threshold));
    let _ = writeln!(
        out,
        "| Minimum detectable difference | {} |",
        r.min_detectable_difference
            .map_or_else(|| "n/a".into(), points)
    );
    let _ = writeln!(out, "| Items paired | {} |", r.n_pairs);
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
                    i.baseline_correctness
                )),
                md(&side(
                    i.candidate_extracted.as_deref(),
                    i.candidate_correctness
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
