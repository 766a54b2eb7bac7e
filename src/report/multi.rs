//! The comparison of two or more runs (`tunix-rt compare A B C ...`,
//! `tunix-rt report compare ...`). With two evaluated runs it is the paired
//! report of B against A ([`render_compare`]) with three sections added:
//! the runs' training and validation curves overlaid on shared axes (one
//! colour per run, a chart per metric), each metric's final value, and the
//! config keys whose values differ. With three or more runs, or runs
//! without eval results, it is the N-run report: the runs with their
//! scores and coverage, the paired test of every pair of evaluated runs on
//! the same eval set with Holm's correction across the pairs, the same
//! three sections, and every item with each evaluated run's result
//! (flipped items first). Runs without eval results are compared on their
//! curves, final metrics and config, and the report says there is nothing
//! to test.
//!
//! Modules: `input` (what the caller fills), `config` (config
//! differences), `series` (metric series, charts and final values),
//! `pairs` (Holm over the pairs), `items` (items side by side), `doc` (the
//! JSON documents and notes), `view` (template contexts), `text` (the
//! terminal summary).

mod config;
mod doc;
mod input;
mod items;
mod pairs;
mod series;
mod text;
mod view;

#[cfg(test)]
mod tests;

pub use config::{ConfigDiff, KeyDiff};
pub use doc::{label, CompareRunsDoc, PairRunsDoc, COMPARE_RUNS_SCHEMA_VERSION};
pub use input::{MultiInput, MultiRun, RunItem, RunPair, RunsComparison};
pub use series::{series_of, FinalMetric, FinalValue, Metrics};

use serde::Serialize;

use super::compare::document as compare_document;
use super::env::{COMPARE_MANY_HTML, COMPARE_MANY_MD, COMPARE_RUNS_HTML, COMPARE_RUNS_MD};
use super::json::to_json;
use super::{render_compare, render_compare_text, ReportError, ReportFormat, Templates};

/// Render `input` in `format`: the paired report with the runs' sections
/// for two evaluated runs, the N-run report otherwise.
pub fn render_runs(
    t: &Templates,
    input: &RunsComparison,
    format: ReportFormat,
) -> Result<String, ReportError> {
    match input {
        RunsComparison::Pair { pair, runs } => {
            let doc = doc::pair_document(compare_document(pair), runs);
            let context = |charts: bool| Sections {
                sections: view::sections(&runs.runs, &doc.final_metrics, &doc.config_diff, charts),
            };
            match format {
                ReportFormat::Json => to_json(&doc),
                ReportFormat::Html => {
                    let page = render_compare(t, pair, format)?;
                    let added = t.render(COMPARE_RUNS_HTML, context(true))?;
                    Ok(splice_html(page, &added))
                }
                ReportFormat::Md => {
                    let page = render_compare(t, pair, format)?;
                    let added = t.render(COMPARE_RUNS_MD, context(false))?;
                    Ok(format!("{}\n\n{added}", page.trim_end()))
                }
            }
        }
        RunsComparison::Many(runs) => {
            let doc = doc::document(runs);
            match format {
                ReportFormat::Json => to_json(&doc),
                ReportFormat::Html => {
                    t.render(COMPARE_MANY_HTML, view::many(&doc, &runs.runs, true))
                }
                ReportFormat::Md => t.render(COMPARE_MANY_MD, view::many(&doc, &runs.runs, false)),
            }
        }
    }
}

/// Render `input` as plain text for a terminal: the paired text report
/// with the config keys that differ and the final metrics, or the N-run
/// summary.
pub fn render_runs_text(input: &RunsComparison) -> String {
    match input {
        RunsComparison::Pair { pair, runs } => {
            let mut out = render_compare_text(pair);
            let finals = doc::finals(&runs.runs);
            text::sections_text(&mut out, &doc::config_diff(&runs.runs), &finals, true);
            out
        }
        RunsComparison::Many(runs) => text::many_text(&doc::document(runs)),
    }
}

/// The context of `compare_runs.{html,md}.j2` on its own.
#[derive(Debug, Serialize)]
struct Sections<'a> {
    sections: view::SectionsView<'a>,
}

/// `page` with `sections` inserted before its `</main>` (or, in a page
/// without one, before `</body>`, else at its end).
fn splice_html(mut page: String, sections: &str) -> String {
    match page.rfind("</main>").or_else(|| page.rfind("</body>")) {
        Some(at) => page.insert_str(at, sections),
        None => page.push_str(sections),
    }
    page
}
