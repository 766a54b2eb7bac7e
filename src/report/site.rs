//! The static site (`tunix-rt report site`): a front page listing the runs
//! in leaderboard order, a page per run (its config and hyperparameters,
//! its metrics as charts, per-category, per-tag and per-item results with
//! each item's prompt and raw output), the leaderboard report, each run's
//! comparison with the leader of its eval set and each sweep's report, the
//! last three rendered by the existing report renderers. Every link is
//! relative and every page self-contained, so the folder opens from disk
//! or from any static host.
//!
//! Rendering is pure: [`render_site`] turns a [`SiteInput`] (filled by
//! `crate::site` from the index and the run folders) into pages; writing
//! them is `crate::site::publish`. Modules, one job each:
//! - `input`: the input types; `links`: page paths and relative links;
//! - `index_view`, `run_view`: what the two site templates receive (metric
//!   charts from [`curves`](super::curves), hyperparameters from
//!   [`hyper`](super::hyper)).

mod index_view;
mod input;
mod links;
mod run_view;

use std::collections::BTreeMap;

pub use input::{ItemDetails, PromptSource, RunDetails, SiteInput, SiteSweep, SweepReport};
pub use links::{compare_page, href, run_page, stem, sweep_page, INDEX, LEADERBOARD};

use super::env::{SITE_INDEX_HTML, SITE_RUN_HTML};
use super::{
    decision_order, render_compare, render_leaderboard, render_sweep, ReportError, ReportFormat,
    RunSummary, Templates,
};

/// One page of the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SitePage {
    /// Where it goes, relative to the site's root, `/`-separated
    /// (`index.html`, `runs/<stem>.html`, ...).
    pub path: String,
    /// The page.
    pub html: String,
}

/// Every page of the site of `input`: the front page first, then the
/// leaderboard, the runs, the comparisons and the sweeps.
pub fn render_site(t: &Templates, input: &SiteInput) -> Result<Vec<SitePage>, ReportError> {
    let doc = super::leaderboard::document(&input.leaderboard);
    let compares: BTreeMap<&str, Vec<(&str, &str)>> = compare_index(input);
    let sweeps = sweep_pages(input);
    let names = names(input);
    let mut pages = vec![SitePage {
        path: INDEX.to_string(),
        html: t.render(
            SITE_INDEX_HTML,
            index_view::view(&doc, input, &compares, &sweeps),
        )?,
    }];
    pages.push(SitePage {
        path: LEADERBOARD.to_string(),
        html: render_leaderboard(t, &input.leaderboard, ReportFormat::Html)?,
    });
    for ranked in &doc.runs {
        let run_id = ranked.run.run_id.as_str();
        let path = run_page(run_id);
        let view = run_view::view(run_view::RunPage {
            path: &path,
            ranked,
            details: input.runs.get(run_id),
            compares: compares.get(run_id).map(Vec::as_slice).unwrap_or_default(),
            names: &names,
            sweeps: &sweeps,
        });
        pages.push(SitePage {
            html: t.render(SITE_RUN_HTML, view)?,
            path,
        });
    }
    for compare in &input.compares {
        pages.push(SitePage {
            path: compare_page(&compare.a.run_id, &compare.b.run_id),
            html: render_compare(t, compare, ReportFormat::Html)?,
        });
    }
    for sweep in &input.sweeps {
        if let SweepReport::Read(report) = &sweep.report {
            pages.push(SitePage {
                path: sweep_page(&sweep.name),
                html: render_sweep(t, report, ReportFormat::Html)?,
            });
        }
    }
    Ok(pages)
}

/// The pairs `(leader, run)` a site compares: each ranked run on a known
/// eval set against the best-ranked run on the same eval set (its
/// leader), in leaderboard order. Leaders are not compared with
/// themselves; runs without a score or an eval-set hash are not compared.
pub fn leader_pairs(runs: &[RunSummary]) -> Vec<(String, String)> {
    let mut order: Vec<(&RunSummary, Option<f64>)> =
        runs.iter().map(|r| (r, ranked_score(r))).collect();
    order.sort_by(|(a, sa), (b, sb)| decision_order(&a.run_id, *sa, &b.run_id, *sb));
    let mut leaders: BTreeMap<&str, &str> = BTreeMap::new();
    let mut pairs = Vec::new();
    for (run, score) in order {
        if score.is_none() || run.evalset_blake3.is_empty() {
            continue;
        }
        match leaders.get(run.evalset_blake3.as_str()) {
            Some(leader) => pairs.push((leader.to_string(), run.run_id.clone())),
            None => {
                leaders.insert(&run.evalset_blake3, &run.run_id);
            }
        }
    }
    pairs
}

/// The score the leaderboard ranks a run on: its full-eval-set score, when
/// it scored an item.
fn ranked_score(run: &RunSummary) -> Option<f64> {
    let full = run.decision();
    full.score.filter(|s| s.is_finite() && full.n_scored > 0)
}

/// Per run id, the comparison pages it is in, as `(A, B)` run ids.
fn compare_index(input: &SiteInput) -> BTreeMap<&str, Vec<(&str, &str)>> {
    let mut out: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
    for c in &input.compares {
        let pair = (c.a.run_id.as_str(), c.b.run_id.as_str());
        out.entry(pair.0).or_default().push(pair);
        if pair.1 != pair.0 {
            out.entry(pair.1).or_default().push(pair);
        }
    }
    out
}

/// The names of the sweeps that have a report page.
fn sweep_pages(input: &SiteInput) -> Vec<&str> {
    input
        .sweeps
        .iter()
        .filter(|s| matches!(s.report, SweepReport::Read(_)))
        .map(|s| s.name.as_str())
        .collect()
}

/// Each listed run's name, by run id.
fn names(input: &SiteInput) -> BTreeMap<&str, &str> {
    input
        .leaderboard
        .runs
        .iter()
        .map(|r| (r.run_id.as_str(), r.name.as_str()))
        .collect()
}

#[cfg(test)]
mod tests;
