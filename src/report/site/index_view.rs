//! The front page's template context: the runs in leaderboard order (rank,
//! score, coverage, status), each linked to its page, to its comparison
//! with its eval set's leader and to its sweep's report; the sweeps; the
//! leaderboard's notes and the site's own.

use std::collections::BTreeMap;

use minijinja::Value;
use serde::Serialize;

use super::super::calculator;
use super::super::context::RunContext;
use super::super::leaderboard::{tie_rule_text, LeaderboardDoc, RankedRunDoc};
use super::super::templates::trusted;
use super::super::{num, words};
use super::links::{compare_page, run_page, safe_href, sweep_page, INDEX, LEADERBOARD};
use super::{SiteInput, SweepReport};
use crate::manifest::sweep::Mode;

/// What `site_index.html.j2` receives.
#[derive(Debug, Serialize)]
pub(super) struct IndexView<'a> {
    title: &'a str,
    /// Active filters as `key=value`.
    filters: Vec<String>,
    /// The leaderboard's notes, then the site's.
    notes: Vec<&'a str>,
    tie_rule: String,
    calc_meaning: &'static str,
    leaderboard_href: Value,
    rows: Vec<RowView<'a>>,
    any_tied: bool,
    sweeps: Vec<SweepView<'a>>,
    /// How many comparison pages the site has.
    n_compares: usize,
}

/// A link and its text.
#[derive(Debug, Serialize)]
pub(super) struct LinkView<'a> {
    pub href: Value,
    pub text: &'a str,
}

/// One run of the front page.
#[derive(Debug, Serialize)]
struct RowView<'a> {
    rank: Value,
    rank_key: Value,
    leader_group: bool,
    tied: bool,
    run: RunContext<'a>,
    /// Its page.
    href: Value,
    full_score: Value,
    full_key: Value,
    coverage: Value,
    coverage_key: Value,
    incomplete: bool,
    score: Value,
    score_key: Value,
    status: &'a str,
    /// Its comparison with its eval set's leader (the leader itself: none).
    compare: Option<LinkView<'a>>,
    /// Its sweep's report, when the site has it.
    sweep: Option<LinkView<'a>>,
    created: String,
}

/// One sweep of the front page.
#[derive(Debug, Serialize)]
struct SweepView<'a> {
    name: &'a str,
    /// Its report page; none when the sweep could not be read.
    href: Option<Value>,
    trials: usize,
    metric: String,
    /// The promoted trial, when there is one.
    best: Option<&'a str>,
    /// Why there is no report page.
    problem: Option<&'a str>,
}

/// The front page of the site of `input`, whose leaderboard is `doc`;
/// `compares` lists each run's comparison pages, `sweeps` the sweeps with
/// a report page.
pub(super) fn view<'a>(
    doc: &'a LeaderboardDoc<'a>,
    input: &'a SiteInput,
    compares: &BTreeMap<&'a str, Vec<(&'a str, &'a str)>>,
    sweeps: &[&str],
) -> IndexView<'a> {
    let names: BTreeMap<&str, &str> = doc
        .runs
        .iter()
        .map(|r| (r.run.run_id.as_str(), r.run.name.as_str()))
        .collect();
    let rows: Vec<RowView> = doc
        .runs
        .iter()
        .map(|r| {
            let id = r.run.run_id.as_str();
            let compare = compares
                .get(id)
                .and_then(|pairs| pairs.iter().find(|(_, b)| *b == id))
                .map(|(a, b)| LinkView {
                    href: safe_href(INDEX, &compare_page(a, b)),
                    text: names.get(a).copied().unwrap_or(a),
                });
            row(r, compare, sweeps)
        })
        .collect();
    IndexView {
        title: "tunix-rt runs",
        filters: doc
            .filters
            .iter()
            .map(|f| format!("{}={}", f.key, f.value))
            .collect(),
        notes: doc
            .notes
            .iter()
            .chain(&input.notes)
            .map(String::as_str)
            .collect(),
        tie_rule: tie_rule_text(doc.alpha),
        calc_meaning: calculator::MEANING,
        leaderboard_href: safe_href(INDEX, LEADERBOARD),
        any_tied: rows.iter().any(|r| r.tied),
        rows,
        sweeps: input.sweeps.iter().map(sweep_row).collect(),
        n_compares: input.compares.len(),
    }
}

/// The row of `ranked`.
fn row<'a>(
    ranked: &RankedRunDoc<'a>,
    compare: Option<LinkView<'a>>,
    sweeps: &[&str],
) -> RowView<'a> {
    let run = ranked.run;
    let full = run.decision();
    let ci = full.ci95;
    RowView {
        rank: trusted(ranked.rank.map_or(num::NONE.to_string(), |r| r.to_string())),
        rank_key: trusted(ranked.rank.map(|r| r.to_string()).unwrap_or_default()),
        leader_group: ranked.rank == Some(1),
        tied: ranked.tied,
        run: RunContext::from(run),
        href: safe_href(INDEX, &run_page(&run.run_id)),
        full_score: trusted(num::with_ci(
            full.score,
            ci.map(|c| c.low),
            ci.map(|c| c.high),
        )),
        full_key: trusted(num::sort_key(full.score)),
        coverage: trusted(num::percent(full.coverage)),
        coverage_key: trusted(num::sort_key(full.coverage)),
        incomplete: ranked.incomplete,
        score: trusted(num::with_ci(run.primary_score, run.ci_low, run.ci_high)),
        score_key: trusted(num::sort_key(run.primary_score)),
        status: if run.status.is_empty() {
            num::NONE
        } else {
            &run.status
        },
        compare,
        sweep: run
            .sweep_id
            .as_deref()
            .filter(|s| sweeps.contains(s))
            .map(|s| LinkView {
                href: safe_href(INDEX, &sweep_page(s)),
                text: s,
            }),
        created: words::date(&run.created_at),
    }
}

/// The front page's entry of `sweep`.
fn sweep_row(sweep: &super::SiteSweep) -> SweepView<'_> {
    match &sweep.report {
        SweepReport::Read(report) => SweepView {
            name: &sweep.name,
            href: Some(safe_href(INDEX, &sweep_page(&sweep.name))),
            trials: report.ledger.trials.len(),
            metric: format!(
                "{} ({})",
                report.ledger.metric.as_str(),
                match report.ledger.mode {
                    Mode::Max => "max",
                    Mode::Min => "min",
                }
            ),
            best: report.ledger.best.as_ref().map(|b| b.trial_id.as_str()),
            problem: None,
        },
        SweepReport::Unreadable(why) => SweepView {
            name: &sweep.name,
            href: None,
            trials: 0,
            metric: num::NONE.to_string(),
            best: None,
            problem: Some(why),
        },
    }
}
