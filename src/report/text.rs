//! The comparison as plain text for a terminal (`tunix-rt compare`): the
//! verdict, the difference with its CI (in percentage points), the test and
//! p-value, the minimum detectable difference, both runs' coverage, the
//! per-tag means and the flipped items; an incomplete run is marked, a
//! calculator-assisted run is marked `calc`, and a note says when only one
//! of the two runs was. Text from runs is shown
//! with control characters escaped (`\n`, `\u{1b}`), so a run folder cannot
//! move the cursor or recolour the terminal.

use std::collections::BTreeMap;

use super::compare::{document, ItemDiffDoc};
use super::tags::TagDelta;
use super::{calculator, num, words, CompareInput, RunSummary};
use crate::scoring::{Pairing, TagStats};

/// Most flipped items listed; the JSON lists every item.
const MAX_FLIPPED: usize = 20;

/// Render the comparison of `input` as plain text, ending with a newline.
pub fn render_compare_text(input: &CompareInput) -> String {
    let doc = document(input);
    let f = doc.figures;
    let mut out = String::new();
    run_line(&mut out, "A", doc.a);
    run_line(&mut out, "B", doc.b);
    if doc.evalsets_differ {
        line(
            &mut out,
            "warning: A and B were scored on different eval sets; only items with the same id are paired",
        );
    }
    line(
        &mut out,
        &format!(
            "coverage  A {}, B {}: items without a valid value count as wrong",
            coverage(doc.a),
            coverage(doc.b)
        ),
    );
    for note in &doc.notes {
        line(&mut out, &format!("note: {note}"));
    }
    out.push('\n');
    line(&mut out, words::headline(f.verdict));
    let diff = num::pp_with_ci(f.diff_pp, f.diff_ci_low_pp, f.diff_ci_high_pp);
    let level = num::setting(((1.0 - f.alpha) * 1000.0).round() / 10.0);
    let method = f
        .diff_ci_method
        .map(|m| format!(" ({level}% CI, {})", words::diff_ci_method(m)))
        .unwrap_or_default();
    line(&mut out, &format!("  B − A              {diff}{method}"));
    let test = match f.test {
        Some(t) => format!("{}, p = {}", words::test(t), num::p_value(f.p_value)),
        None => num::NONE.to_string(),
    };
    line(&mut out, &format!("  test               {test}"));
    line(
        &mut out,
        &format!(
            "  means A / B        {} / {} over {} items ({})",
            num::fixed(f.mean_a),
            num::fixed(f.mean_b),
            f.n_pairs,
            match f.pairing {
                Pairing::Union => "every item of either run",
                Pairing::Shared => "items of both runs",
            }
        ),
    );
    line(
        &mut out,
        &format!(
            "  detectable         {} (minimum difference at 80% power)",
            num::pp_abs(f.min_detectable_difference_pp)
        ),
    );
    line(
        &mut out,
        &format!(
            "  settings           alpha {}, minimum effect {}",
            num::setting(f.alpha),
            num::pp_abs(Some(f.min_effect_pp))
        ),
    );
    line(
        &mut out,
        &format!(
            "  counted as wrong   {} items in A, {} in B (no valid value; {} only in A, {} only in B)",
            f.n_unscored_a, f.n_unscored_b, f.n_only_in_a, f.n_only_in_b
        ),
    );
    for w in &f.warnings {
        line(&mut out, &format!("warning: {}", plain(w)));
    }
    tag_lines(&mut out, &doc.tag_deltas);
    let flipped: Vec<&ItemDiffDoc> = doc.items.iter().filter(|i| i.flipped).collect();
    out.push('\n');
    if flipped.is_empty() {
        line(&mut out, "No item flipped.");
    } else {
        line(
            &mut out,
            &format!("Flipped items ({}), A → B:", flipped.len()),
        );
        for i in flipped.iter().take(MAX_FLIPPED) {
            let item = i.item;
            line(
                &mut out,
                &format!(
                    "  {} [{}] expected {}: {} {} → {} {}",
                    plain(&item.id),
                    plain(&item.category),
                    plain(&item.expected),
                    answer(item.a_extracted.as_deref()),
                    mark(item.a_correct),
                    answer(item.b_extracted.as_deref()),
                    mark(item.b_correct)
                ),
            );
        }
        if flipped.len() > MAX_FLIPPED {
            line(
                &mut out,
                &format!(
                    "  … {} more (the JSON format lists every item)",
                    flipped.len() - MAX_FLIPPED
                ),
            );
        }
    }
    out
}

/// A run's coverage: `100.0%`, or `9.2% (INCOMPLETE)`.
fn coverage(run: &RunSummary) -> String {
    let full = run.decision();
    let marker = if full.complete() { "" } else { " (INCOMPLETE)" };
    format!("{}{marker}", num::percent(full.coverage))
}

/// `A  name (run id)  0.7500 [0.6661, 0.8178] Wilson, 120 items, 120 scored`.
fn run_line(out: &mut String, side: &str, run: &RunSummary) {
    let id = if run.run_id == run.name {
        String::new()
    } else {
        format!(" ({})", plain(&run.run_id))
    };
    let method = run
        .ci_method
        .map(|m| format!(" {}", words::ci_method(m)))
        .unwrap_or_default();
    let calc = if run.calculator {
        format!(", {} (calculator-assisted decoding)", calculator::MARKER)
    } else {
        String::new()
    };
    line(
        out,
        &format!(
            "{side}  {}{id}  {}{method}{calc}, {} items, {} scored, {} skipped; full-set score {}",
            plain(&run.name),
            num::with_ci(run.primary_score, run.ci_low, run.ci_high),
            run.n_items,
            run.n_scored,
            run.n_skipped,
            full_score(run)
        ),
    );
}

/// The full-eval-set score with its CI.
fn full_score(run: &RunSummary) -> String {
    let full = run.decision();
    num::with_ci(
        full.score,
        full.ci95.map(|c| c.low),
        full.ci95.map(|c| c.high),
    )
}

/// The per-tag block: each tag's mean (fully correct / scored) in A and B
/// and B − A; nothing when neither run has per-tag figures.
fn tag_lines(out: &mut String, deltas: &BTreeMap<&str, TagDelta<'_>>) {
    if deltas.is_empty() {
        return;
    }
    out.push('\n');
    line(out, "Per tag, mean (correct/scored) in A → B, and B − A:");
    let shown: Vec<String> = deltas.keys().map(|t| plain(t)).collect();
    let width = shown.iter().map(|t| t.chars().count()).max().unwrap_or(0);
    for (tag, d) in shown.iter().zip(deltas.values()) {
        let pad = " ".repeat(width - tag.chars().count());
        line(
            out,
            &format!(
                "  {tag}{pad}  {} → {}  {}",
                tag_figure(d.a),
                tag_figure(d.b),
                num::pp(d.delta_pp)
            ),
        );
    }
}

/// `0.7500 (15/20)`, or `—` when the run has no item with the tag.
fn tag_figure(stats: Option<&TagStats>) -> String {
    match stats {
        Some(s) => format!("{} ({}/{})", num::fixed(s.mean), s.n_correct, s.n_scored),
        None => num::NONE.to_string(),
    }
}

/// Append `text` and a newline.
fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}

/// An extracted answer, `—` when none was found.
fn answer(extracted: Option<&str>) -> String {
    extracted
        .map(plain)
        .unwrap_or_else(|| num::NONE.to_string())
}

/// `✓` for 1, `✗` for 0, 4 decimals for partial credit, `(missing) ✗`
/// for none (counted as wrong).
fn mark(correct: Option<f64>) -> String {
    match correct {
        Some(1.0) => "✓".to_string(),
        Some(0.0) => "✗".to_string(),
        None => "(missing) ✗".to_string(),
        other => num::fixed(other),
    }
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

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::scoring::Verdict;

    #[test]
    fn the_verdict_and_its_figures_come_first() {
        let text = render_compare_text(&fixtures::compare());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "A  baseline-gpt-nano  0.7500 [0.6661, 0.8178] Wilson, 120 items, 120 scored, 0 skipped; full-set score 0.7500 [0.6661, 0.8178]"
        );
        assert!(
            lines[1].starts_with(
                "B  <script>alert(1)</script> {{ 7*7 }} | *bold* _it_ (eval-micro-2)  0.7333"
            ),
            "{text}"
        );
        assert!(
            text.contains("warning: A and B were scored on different eval sets"),
            "{text}"
        );
        assert!(
            text.contains("\nNo evidence that B differs from A\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "  B − A              +33.33 pp [-4.25, +62.31] (95% CI, Newcombe hybrid score)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("  test               McNemar exact, p = 0.6250\n"),
            "{text}"
        );
        assert!(
            text.contains("  detectable         71.23 pp (minimum difference at 80% power)\n"),
            "{text}"
        );
        assert!(
            text.contains("warning: only 6 pairs: the CI is wide\n"),
            "{text}"
        );
        assert!(
            text.contains("coverage  A 100.0%, B 98.3% (INCOMPLETE): items without a valid value count as wrong\n"),
            "{text}"
        );
        assert!(
            text.contains("\nnote: B is incomplete: coverage 98.3% (118 of 120 items scored)"),
            "{text}"
        );
        assert!(text.ends_with('\n'));
        let mut input = fixtures::compare();
        input.figures.alpha = 0.005;
        let text = render_compare_text(&input);
        assert!(text.contains("(99.5% CI, Newcombe hybrid score)"), "{text}");
    }

    #[test]
    fn flipped_items_are_listed_by_id_with_control_characters_escaped() {
        let text = render_compare_text(&fixtures::compare());
        let flipped: Vec<&str> = text
            .lines()
            .skip_while(|l| !l.starts_with("Flipped items"))
            .collect();
        assert_eq!(
            flipped,
            vec![
                "Flipped items (4), A → B:",
                "  core-003 [core] expected a|b: <img src=x onerror=alert(1)> ✗ → a|b ✓",
                "  edge-001 [edge] expected YES: — (missing) ✗ → yes\\nno ✓",
                "  edge-007 [edge] expected $5.00: 5 ✗ → $5.00 ✓",
                "  trace-002 [trace] expected 31: 31 ✓ → 3*12=36 ✗",
            ]
        );
    }

    #[test]
    fn long_lists_are_cut_and_no_flip_is_said() {
        let mut input = fixtures::compare();
        let template = input.items[0].clone();
        input.items = (0..30)
            .map(|i| {
                let mut item = template.clone();
                item.id = format!("item-{i:02}");
                item
            })
            .collect();
        let text = render_compare_text(&input);
        assert!(text.contains("Flipped items (30), A → B:"), "{text}");
        assert!(text.contains("  item-19 "), "{text}");
        assert!(!text.contains("  item-20 "), "{text}");
        assert!(
            text.contains("  … 10 more (the JSON format lists every item)"),
            "{text}"
        );
        input.items.clear();
        input.figures.verdict = Verdict::Improved;
        let text = render_compare_text(&input);
        assert!(text.contains("B improved over A"), "{text}");
        assert!(text.contains("No item flipped."), "{text}");
    }

    #[test]
    fn plain_escapes_only_control_characters() {
        assert_eq!(
            plain("a\u{1b}[31mb\tc\r\nd é ✓"),
            "a\\u{1b}[31mb\\tc\\r\\nd é ✓"
        );
    }
}
