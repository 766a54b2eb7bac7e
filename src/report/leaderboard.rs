//! The leaderboard: runs sorted by full-eval-set score (a missing item
//! counted as wrong), grouped into statistical ranks (paired tests against
//! each rank's leader on a shared eval set, Holm-adjusted; CI overlap
//! otherwise), with coverage, status, per-tag figures and
//! calculator-assisted runs marked (and a note when they are ranked with
//! plain runs), as JSON or through the `leaderboard.{html,md}.j2`
//! templates (their context is built in `view`).

use std::cmp::Ordering;

use serde::Serialize;

use super::calculator;
use super::env::{LEADERBOARD_HTML, LEADERBOARD_MD};
use super::json::to_json;
use super::rank::{rank, shared, Candidate, Interval, Placement, TieRule};
use super::{
    ItemTable, LeaderboardInput, ReportError, ReportFormat, RunScore, RunSummary, Templates,
    LEADERBOARD_SCHEMA_VERSION,
};
use crate::scoring::{CompareConfig, FullSetScore, PairedTest};

mod view;

/// The leaderboard as JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeaderboardDoc<'a> {
    /// Version of this document's layout: 2.
    pub schema_version: u32,
    /// Heading of the report.
    pub title: &'a str,
    /// Active filters, in the order given.
    pub filters: Vec<FilterDoc<'a>>,
    /// How many runs match the filters, present only when `runs` lists
    /// fewer of them (the best N, under `--limit N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matching_runs: Option<usize>,
    /// What ranks the runs: `full_set_score`.
    pub ranked_by: &'static str,
    /// How ties are decided (the same text the pages show).
    pub tie_rule: String,
    /// Significance level of the paired tie tests.
    pub alpha: f64,
    /// Runs by full-eval-set score, best first; runs without one last;
    /// equal scores by run id.
    pub runs: Vec<RankedRunDoc<'a>>,
    /// Notes about the ranking (e.g. runs scored under different scoring
    /// rules, or calculator-assisted and plain runs, ranked side by side);
    /// absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One active filter, e.g. `{"key": "label", "value": "milestone=m34"}`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FilterDoc<'a> {
    /// Filter name (`dataset`, `model`, `label`, ...).
    pub key: &'a str,
    /// Filter value.
    pub value: &'a str,
}

/// One run of the leaderboard: its rank group and every [`RunSummary`]
/// field, flattened into the same object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedRunDoc<'a> {
    /// Statistical rank, from 1: the leader and every run not separated
    /// from it share rank 1; the best remaining run and those not separated
    /// from it share rank 2; and so on (see `tie_rule`). Null for a run
    /// without a full-eval-set score: it is listed, not ranked.
    pub rank: Option<usize>,
    /// Whether another run shares this rank (the order between them is noise).
    pub tied: bool,
    /// Whether this run is not the leader but shares the leader's rank.
    pub tied_with_leader: bool,
    /// Whether the run left eval items without a valid value (coverage
    /// below 100%): they count as wrong in its full-eval-set score.
    pub incomplete: bool,
    /// The comparison that placed the run: with its rank's leader when it
    /// shares that rank, else with the leader of the rank above. Absent
    /// for the leader and for runs that are not ranked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank_decided_by: Option<RankDecisionDoc<'a>>,
    /// The run.
    #[serde(flatten)]
    pub run: &'a RunSummary,
}

/// How a run's rank was decided against another run.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankDecisionDoc<'a> {
    /// `paired_test` (same eval set: the paired test `compare` runs,
    /// Holm-adjusted) or `ci_overlap` (95% CIs of the full-eval-set scores).
    pub rule: TieRule,
    /// The run compared with.
    pub against: &'a str,
    /// Whether the two were found tied (not separated).
    pub tied: bool,
    /// `mcnemar_exact` or `paired_bootstrap` (paired rule only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<PairedTest>,
    /// The test's two-sided p-value (paired rule only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The p-value after Holm's correction over every run compared with
    /// the same leader (paired rule only); separated when below `alpha`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p_holm: Option<f64>,
}

/// Render the leaderboard of `input` in `format`.
pub fn render_leaderboard(
    t: &Templates,
    input: &LeaderboardInput,
    format: ReportFormat,
) -> Result<String, ReportError> {
    let doc = document(input);
    match format {
        ReportFormat::Json => to_json(&doc),
        ReportFormat::Html => t.render(LEADERBOARD_HTML, view::view(&doc, true)),
        ReportFormat::Md => t.render(LEADERBOARD_MD, view::view(&doc, false)),
    }
}

/// The settings of the paired tie tests (those of `compare`'s defaults).
fn tie_config() -> CompareConfig {
    CompareConfig::default()
}

/// The tie rule in words, as the pages state it.
pub(super) fn tie_rule_text(alpha: f64) -> String {
    format!(
        "Runs are ranked by their full-eval-set score (every eval item counts; an item without a valid value counts as wrong); the primary score, over scored items only, is shown but does not rank. Rank 1 is the leader and every run not separated from it; the best run not yet ranked leads rank 2 with the remaining runs not separated from it; and so on. Runs on the same eval set as a rank's leader are separated by the paired test compare uses (exact McNemar for 0/1 items, paired bootstrap otherwise, over the union of items, a missing item counted as wrong), its p-values Holm-adjusted over the runs compared with that leader, at alpha {alpha}; runs on another eval set (or without per-item values) by non-overlapping 95% CIs. A run without a score is not ranked."
    )
}

/// The ranked leaderboard of `input`: ranks and ties are computed over
/// every matching run, shown or not; only the shown runs are listed.
pub(super) fn document(input: &LeaderboardInput) -> LeaderboardDoc<'_> {
    let mut all: Vec<Entry> = input
        .runs
        .iter()
        .map(|r| Entry::shown(r, &input.items))
        .chain(
            input
                .unshown
                .iter()
                .map(|r| Entry::unshown(r, &input.items)),
        )
        .collect();
    all.sort_by(|a, b| decision_order(a.run_id, a.score(), b.run_id, b.score()));
    let candidates: Vec<Candidate> = all.iter().map(Entry::candidate).collect();
    let config = tie_config();
    let placed = rank(&candidates, &config);
    let ranks: Vec<Option<usize>> = placed.iter().map(|p| p.rank).collect();
    let tied = shared(&ranks);
    let runs: Vec<RankedRunDoc> = all
        .iter()
        .zip(placed.iter().zip(tied))
        .enumerate()
        .filter_map(|(i, (entry, (place, tied)))| {
            let run = entry.shown?;
            Some(RankedRunDoc {
                rank: place.rank,
                tied,
                tied_with_leader: i > 0 && place.rank == Some(1),
                incomplete: !entry.full.complete(),
                rank_decided_by: decision(place, &all),
                run,
            })
        })
        .collect();
    let mut notes = input.notes.clone();
    notes.extend(calculator_note(&all));
    LeaderboardDoc {
        schema_version: LEADERBOARD_SCHEMA_VERSION,
        title: &input.title,
        filters: input
            .filters
            .iter()
            .map(|(key, value)| FilterDoc { key, value })
            .collect(),
        matching_runs: (runs.len() < all.len()).then_some(all.len()),
        ranked_by: "full_set_score",
        tie_rule: tie_rule_text(config.alpha),
        alpha: config.alpha,
        runs,
        notes,
    }
}

/// The comparison behind `place`, when the run is ranked and was compared.
fn decision<'a>(place: &Placement, all: &[Entry<'a>]) -> Option<RankDecisionDoc<'a>> {
    place.rank?;
    let against = all.get(place.against?)?;
    Some(RankDecisionDoc {
        rule: place.rule?,
        against: against.run_id,
        tied: place.tied,
        test: place.test,
        p_value: place.p_value,
        p_holm: place.p_holm,
    })
}

/// Higher full-eval-set score first, missing scores last, then by run id.
pub fn decision_order(id_a: &str, a: Option<f64>, id_b: &str, b: Option<f64>) -> Ordering {
    let finite = |s: Option<f64>| s.filter(|s| s.is_finite());
    match (finite(a), finite(b)) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
    .then_with(|| id_a.cmp(id_b))
}

/// The note when the scored runs among `all` (shown or not) mix
/// calculator-assisted and plain decoding.
fn calculator_note(all: &[Entry<'_>]) -> Option<String> {
    let scored = all.iter().filter(|e| e.score().is_some_and(f64::is_finite));
    let (calc, plain) = scored.fold(
        (0, 0),
        |(c, p), e| {
            if e.calculator {
                (c + 1, p)
            } else {
                (c, p + 1)
            }
        },
    );
    calculator::leaderboard_note(calc, plain)
}

/// A matching run, shown in full or known only by its scores.
struct Entry<'a> {
    run_id: &'a str,
    shown: Option<&'a RunSummary>,
    full: FullSetScore,
    calculator: bool,
    evalset: &'a str,
    items: Option<&'a [(u32, f64)]>,
}

impl<'a> Entry<'a> {
    fn shown(run: &'a RunSummary, items: &'a ItemTable) -> Self {
        Entry {
            run_id: &run.run_id,
            shown: Some(run),
            full: run.decision(),
            calculator: run.calculator,
            evalset: &run.evalset_blake3,
            items: items.runs.get(&run.run_id).map(Vec::as_slice),
        }
    }

    fn unshown(run: &'a RunScore, items: &'a ItemTable) -> Self {
        let full = run.full_set.unwrap_or_else(|| {
            crate::scoring::full_set_from_summary(run.primary_score, 0, 0, false)
        });
        Entry {
            run_id: &run.run_id,
            shown: None,
            full,
            calculator: run.calculator,
            evalset: &run.evalset_blake3,
            items: items.runs.get(&run.run_id).map(Vec::as_slice),
        }
    }

    /// The score the run is ranked on; none for a run that scored no item
    /// (it is listed, not ranked).
    fn score(&self) -> Option<f64> {
        self.full
            .score
            .filter(|s| s.is_finite() && self.full.n_scored > 0)
    }

    fn candidate(&self) -> Candidate<'a> {
        Candidate {
            score: self.score(),
            interval: self
                .score()
                .and(self.full.ci95)
                .and_then(|c| Interval::new(Some(c.low), Some(c.high))),
            evalset: self.evalset,
            items: self.items,
        }
    }
}

#[cfg(test)]
mod tests;
