//! The comparison of runs as plain text for a terminal (`tunix-rt
//! compare`): each run's score and coverage (or that it was not
//! evaluated), one line per paired test with its Holm-corrected verdict,
//! the config keys that differ and the final metrics. Text from runs is
//! shown with control characters escaped, as in the paired text report.

use super::super::curves::value_text;
use super::super::{num, words};
use super::config::{ConfigDiff, IGNORED};
use super::doc::{label, CompareRunsDoc};
use super::series::FinalMetric;
use super::view::headline;

/// The N-run comparison `doc` as text, ending with a newline.
pub(super) fn many_text(doc: &CompareRunsDoc<'_>) -> String {
    let mut out = String::new();
    line(&mut out, &format!("{} runs:", doc.runs.len()));
    for r in &doc.runs {
        let run = r.run;
        let id = if run.run_id == run.name {
            String::new()
        } else {
            format!(" ({})", plain(&run.run_id))
        };
        let figures = if r.evaluated {
            let full = run.decision();
            let calc = if run.calculator { ", calc" } else { "" };
            let incomplete = if full.complete() { "" } else { " (INCOMPLETE)" };
            format!(
                "full-set score {}, coverage {}{incomplete}, {} items{calc}",
                num::with_ci(
                    full.score,
                    full.ci95.map(|c| c.low),
                    full.ci95.map(|c| c.high)
                ),
                num::percent(full.coverage),
                full.n_items
            )
        } else {
            "not evaluated".to_string()
        };
        line(
            &mut out,
            &format!("  {}  {}{id}  {figures}", r.label, plain(&run.name)),
        );
    }
    for note in &doc.notes {
        line(&mut out, &format!("note: {}", plain(note)));
    }
    if !doc.pairs.is_empty() {
        let alpha = doc.pairs[0].figures.alpha;
        let level = num::setting(((1.0 - alpha) * 1000.0).round() / 10.0);
        out.push('\n');
        line(
            &mut out,
            &format!(
                "Paired tests, each difference in pp with its {level}% CI; verdicts on p-values corrected with Holm's method over {} {} at alpha {}:",
                doc.n_tests,
                if doc.n_tests == 1 { "test" } else { "tests" },
                num::setting(alpha)
            ),
        );
        for p in &doc.pairs {
            let f = p.figures;
            let test = match f.test {
                Some(t) => format!(
                    "{}, p = {}, Holm p = {}",
                    words::test(t),
                    num::p_value(f.p_value),
                    num::p_value(p.p_holm)
                ),
                None => "not tested".to_string(),
            };
            line(
                &mut out,
                &format!(
                    "  {} − {}  {}  {test}  {}",
                    p.b,
                    p.a,
                    num::pp_with_ci(f.diff_pp, f.diff_ci_low_pp, f.diff_ci_high_pp),
                    headline(p.verdict_holm, &p.a, &p.b)
                ),
            );
            for w in &f.warnings {
                line(&mut out, &format!("    warning: {}", plain(w)));
            }
        }
    }
    sections_text(&mut out, &doc.config_diff, &doc.final_metrics, true);
    let n_items = doc.items.len();
    if n_items > 0 {
        let flipped = doc.items.iter().filter(|i| i.flipped).count();
        out.push('\n');
        line(
            &mut out,
            &format!(
                "{flipped} of {n_items} items flipped between the evaluated runs (the html, md and json formats list them)"
            ),
        );
    }
    out
}

/// The config differences and, unless empty or not `with_metrics`, the
/// final metrics, after a blank line.
pub(super) fn sections_text(
    out: &mut String,
    config: &ConfigDiff,
    finals: &[FinalMetric],
    with_metrics: bool,
) {
    out.push('\n');
    if config.differing.is_empty() {
        line(
            out,
            &format!(
                "Config: no key differs ({} equal; {} not compared)",
                config.n_keys,
                IGNORED.join(", ")
            ),
        );
    } else {
        line(
            out,
            &format!(
                "Config: {} of {} keys differ ({} equal; {} not compared):",
                config.differing.len(),
                config.n_keys,
                config.n_equal,
                IGNORED.join(", ")
            ),
        );
        let keys: Vec<String> = config.differing.iter().map(|d| plain(&d.key)).collect();
        let width = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        for (key, d) in keys.iter().zip(&config.differing) {
            let values: Vec<String> = d
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    format!(
                        "{} {}",
                        label(i),
                        v.as_deref().map(plain).unwrap_or_else(|| num::NONE.into())
                    )
                })
                .collect();
            let pad = " ".repeat(width - key.chars().count());
            line(out, &format!("  {key}{pad}  {}", values.join(" | ")));
        }
    }
    if finals.is_empty() || !with_metrics {
        return;
    }
    line(out, "Final metrics (at each run's last step):");
    let names: Vec<String> = finals.iter().map(|f| plain(&f.metric)).collect();
    let width = names.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    for (name, f) in names.iter().zip(finals) {
        let values: Vec<String> = f
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Some(v) => format!("{} {} @ {}", label(i), value_text(v.value), v.step),
                None => format!("{} {}", label(i), num::NONE),
            })
            .collect();
        let pad = " ".repeat(width - name.chars().count());
        line(out, &format!("  {name}{pad}  {}", values.join(" | ")));
    }
}

/// Append `text` and a newline.
fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// `text` with every control character escaped (`\n`, `\t`, `\u{1b}`).
fn plain(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
