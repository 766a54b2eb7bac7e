//! The sweep report as a document: the JSON format serializes it as it
//! is, and the templates' view is built from it. Pure.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::axis::{axis_kind, distribution_name, AxisKind};
use super::input::SweepInput;
use super::ties::{ties, TiesDoc};
use crate::manifest::sweep::{Mode, SweepMetric};
use tunix_core::sweep::ledger::{BestTrial, RungDecision, TieRuleNote, TrialEntry, TrialState};

/// The sweep report as JSON.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SweepDoc<'a> {
    /// Version of this document's layout: 1.
    pub schema_version: u32,
    /// The sweep's name.
    pub sweep: &'a str,
    /// The sweep folder, as shown.
    pub folder: &'a str,
    /// The metric the sweep optimizes (`primary_score`, `val_loss`, or
    /// any metric its trainer reports).
    pub metric: &'a SweepMetric,
    /// Whether larger (`max`) or smaller (`min`) is better.
    pub mode: Mode,
    /// The steps at which trials were compared.
    pub rungs: &'a [u32],
    /// Every searched parameter, by name.
    pub params: Vec<ParamDoc<'a>>,
    /// The Sweep manifest the distributions come from; null when it was
    /// not found and the axes were inferred from the values.
    pub params_source: Option<&'a str>,
    /// Every trial, best first by `mode` (trials without a metric last),
    /// equal metrics by trial id.
    pub trials: Vec<TrialDoc<'a>>,
    /// The promoted (best) trial, from the ledger; null until the sweep
    /// has finished with one.
    pub best: Option<&'a BestTrial>,
    /// How many completed trials are statistically tied with the best.
    pub ties: TiesDoc<'a>,
    /// The rungs (and the final pick of the best) that the tie rule alone
    /// decided, because every trial had the same metric or none had one;
    /// empty when the metric told the trials apart every time.
    pub decided_by_tie_rule: Vec<TieRuleDoc>,
    /// Failed trials, by trial id.
    pub failures: Vec<FailureDoc<'a>>,
    /// Learning curves of every started trial, by trial id.
    pub curves: Vec<CurveDoc<'a>>,
    /// Hyperband's brackets, in the order they ran; absent without
    /// Hyperband.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub brackets: Vec<BracketDoc<'a>>,
    /// The trials whose values TPE drew from the results of earlier
    /// trials, by trial id; absent for random search.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drawn_from_results: Vec<&'a str>,
}

/// One Hyperband bracket.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BracketDoc<'a> {
    pub bracket: u32,
    /// Its trials, by trial id.
    pub trials: Vec<&'a str>,
    /// Its rungs' decisions, in rung order.
    pub decisions: Vec<&'a RungDecision>,
}

/// One searched parameter.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ParamDoc<'a> {
    pub name: &'a str,
    /// The distribution in the Sweep manifest (`loguniform`, `uniform`,
    /// `randint`, `choice`, `grid`); null when it is not known.
    pub distribution: Option<&'static str>,
    /// The axis it is plotted on against the metric.
    pub axis: AxisKind,
}

/// One trial.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrialDoc<'a> {
    pub trial_id: &'a str,
    /// Its run folder's id; null when it has not started.
    pub run_id: Option<&'a str>,
    /// `pending`, `running`, `stopped`, `completed` or `failed`.
    pub state: TrialState,
    /// Its sampled parameters.
    pub params: &'a BTreeMap<String, Value>,
    /// The metric at the last step it reached; null when none.
    pub metric: Option<f64>,
    /// The last step (rung) it reached.
    pub last_step: u32,
    /// The rung at which the scheduler stopped it.
    pub stop_rung: Option<u32>,
    /// Its failure class (`nan_loss`, `out_of_memory`, `bad_config`,
    /// `crash`, ...).
    pub failure_class: Option<&'a str>,
    /// Whether it is the promoted trial.
    pub best: bool,
    /// Whether it is statistically tied with the best; null when it was
    /// not compared.
    pub tied_with_best: Option<bool>,
}

/// A rung (or the final pick of the best) the tie rule alone decided.
pub type TieRuleDoc = TieRuleNote;

/// One failed trial.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailureDoc<'a> {
    pub trial_id: &'a str,
    pub class: &'a str,
    pub message: &'a str,
}

/// One trial's learning curves.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CurveDoc<'a> {
    pub trial_id: &'a str,
    pub state: TrialState,
    /// The rung at which the scheduler stopped it.
    pub stop_rung: Option<u32>,
    /// `[step, loss]` pairs.
    pub loss: &'a [(u64, f64)],
    /// `[step, value]` pairs of the sweep's metric.
    pub metric: &'a [(u64, f64)],
}

/// The document of `input`.
pub fn document(input: &SweepInput) -> SweepDoc<'_> {
    let ledger = &input.ledger;
    let ties = ties(input);
    let best_id = ledger.best.as_ref().map(|b| b.trial_id.as_str());
    let mut entries: Vec<&TrialEntry> = ledger.trials.iter().collect();
    entries.sort_by(|a, b| trial_order(a, b, ledger.mode));
    let trials = entries
        .into_iter()
        .map(|t| TrialDoc {
            trial_id: &t.trial_id,
            run_id: input.runs.get(&t.trial_id).map(|r| r.run_id.as_str()),
            state: t.state,
            params: &t.params,
            metric: metric_of(t),
            last_step: t.last_step,
            stop_rung: t.stopped_at.as_ref().map(|s| s.rung),
            failure_class: failure_of(input, t).map(|f| f.0),
            best: Some(t.trial_id.as_str()) == best_id,
            tied_with_best: ties
                .comparisons
                .iter()
                .find(|c| c.trial_id == t.trial_id)
                .and_then(|c| c.tied),
        })
        .collect();
    let mut failures: Vec<FailureDoc> = ledger
        .trials
        .iter()
        .filter_map(|t| {
            let (class, message) = failure_of(input, t)?;
            Some(FailureDoc {
                trial_id: &t.trial_id,
                class,
                message,
            })
        })
        .collect();
    failures.sort_by(|a, b| a.trial_id.cmp(b.trial_id));
    let mut curves: Vec<CurveDoc> = ledger
        .trials
        .iter()
        .filter_map(|t| {
            let run = input.runs.get(&t.trial_id)?;
            Some(CurveDoc {
                trial_id: &t.trial_id,
                state: t.state,
                stop_rung: t.stopped_at.as_ref().map(|s| s.rung),
                loss: &run.loss,
                metric: &run.metric,
            })
        })
        .collect();
    curves.sort_by(|a, b| a.trial_id.cmp(b.trial_id));
    SweepDoc {
        schema_version: super::super::SCHEMA_VERSION,
        sweep: &ledger.sweep,
        folder: &input.folder,
        metric: &ledger.metric,
        mode: ledger.mode,
        rungs: &ledger.rungs,
        params: params(input),
        params_source: input.space.as_ref().map(|s| s.source.as_str()),
        trials,
        best: ledger.best.as_ref(),
        ties,
        decided_by_tie_rule: ledger.tie_rule_notes(),
        failures,
        curves,
        brackets: brackets(ledger),
        drawn_from_results: ledger
            .trials
            .iter()
            .filter(|t| t.draw.is_some())
            .map(|t| t.trial_id.as_str())
            .collect(),
    }
}

/// The ledger's Hyperband brackets, by bracket number.
fn brackets(ledger: &tunix_core::sweep::ledger::Ledger) -> Vec<BracketDoc<'_>> {
    let mut numbers: Vec<u32> = ledger.trials.iter().filter_map(|t| t.bracket).collect();
    numbers.sort_unstable();
    numbers.dedup();
    numbers
        .into_iter()
        .map(|b| BracketDoc {
            bracket: b,
            trials: ledger
                .trials
                .iter()
                .filter(|t| t.bracket == Some(b))
                .map(|t| t.trial_id.as_str())
                .collect(),
            decisions: ledger
                .decisions
                .iter()
                .filter(|d| d.bracket == Some(b))
                .collect(),
        })
        .collect()
}

/// The trial's metric at the last step it reached, when finite.
pub fn metric_of(t: &TrialEntry) -> Option<f64> {
    t.metrics
        .get(&t.last_step)
        .copied()
        .flatten()
        .filter(|m| m.is_finite())
}

/// Best first by `mode` (larger first for `max`, smaller for `min`),
/// trials without a metric last, equal metrics by trial id.
pub fn trial_order(a: &TrialEntry, b: &TrialEntry, mode: Mode) -> Ordering {
    tunix_core::sweep::halving::order(
        (&a.trial_id, metric_of(a)),
        (&b.trial_id, metric_of(b)),
        mode,
    )
}

/// The trial's failure `(class, message)`: its run folder's, else the
/// ledger's.
fn failure_of<'a>(input: &'a SweepInput, t: &'a TrialEntry) -> Option<(&'a str, &'a str)> {
    input
        .runs
        .get(&t.trial_id)
        .and_then(|r| r.failure.as_ref())
        .or(t.failure.as_ref())
        .map(|f| (f.class.as_str(), f.message.as_str()))
}

/// Every parameter any trial (or the search space) has, by name.
fn params(input: &SweepInput) -> Vec<ParamDoc<'_>> {
    let mut names: Vec<&str> = input
        .ledger
        .trials
        .iter()
        .flat_map(|t| t.params.keys().map(String::as_str))
        .chain(
            input
                .space
                .iter()
                .flat_map(|s| s.params.keys().map(String::as_str)),
        )
        .collect();
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let dist = input.space.as_ref().and_then(|s| s.params.get(name));
            let values: Vec<&Value> = input
                .ledger
                .trials
                .iter()
                .filter_map(|t| t.params.get(name))
                .collect();
            ParamDoc {
                name,
                distribution: dist.map(distribution_name),
                axis: axis_kind(dist, &values),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::input;
    use super::*;

    fn order<'a>(doc: &'a SweepDoc<'a>) -> Vec<&'a str> {
        doc.trials.iter().map(|t| t.trial_id).collect()
    }

    #[test]
    fn trials_come_best_first_by_mode_then_by_id_with_missing_metrics_last() {
        let mut input = input();
        let doc = document(&input);
        assert_eq!(
            order(&doc),
            vec!["t000", "t003", "t006", "t007", "t005", "t001", "t002", "t004"]
        );
        input.ledger.mode = Mode::Min;
        let doc = document(&input);
        assert_eq!(
            order(&doc),
            vec!["t001", "t005", "t007", "t006", "t003", "t000", "t002", "t004"]
        );
        // Equal metrics (and a NaN, which counts as none) go by trial id.
        for t in &mut input.ledger.trials {
            let step = t.last_step;
            let value = if t.trial_id == "t006" { f64::NAN } else { 0.5 };
            t.metrics.insert(step, Some(value));
        }
        let doc = document(&input);
        assert_eq!(
            order(&doc),
            vec!["t000", "t001", "t002", "t003", "t004", "t005", "t007", "t006"]
        );
    }

    #[test]
    fn rows_carry_state_metric_stop_rung_failure_and_tie() {
        let input = input();
        let doc = document(&input);
        let row = |id: &str| {
            doc.trials
                .iter()
                .find(|t| t.trial_id == id)
                .expect("trial")
                .clone()
        };
        let best = row("t000");
        assert!(best.best);
        assert_eq!(best.metric, Some(0.8));
        assert_eq!(
            best.tied_with_best, None,
            "the best is not compared with itself"
        );
        assert_eq!(row("t003").tied_with_best, Some(true));
        assert_eq!(row("t005").tied_with_best, Some(false));
        let stopped = row("t007");
        assert_eq!((stopped.stop_rung, stopped.last_step), (Some(8), 8));
        assert_eq!(stopped.metric, Some(0.55));
        let failed = row("t002");
        assert_eq!(failed.failure_class, Some("nan_loss"));
        assert_eq!(failed.metric, None);
        let pending = row("t004");
        assert_eq!((pending.run_id, pending.state), (None, TrialState::Pending));
        assert_eq!(doc.failures.len(), 1);
        assert!(doc.failures[0].message.contains("became NaN"));
        let curves: Vec<&str> = doc.curves.iter().map(|c| c.trial_id).collect();
        assert_eq!(
            curves,
            vec!["t000", "t001", "t002", "t003", "t005", "t006", "t007"]
        );
    }

    #[test]
    fn parameters_take_their_axis_from_the_manifest_or_the_values() {
        let mut input = input();
        let axes = |doc: &SweepDoc<'_>| -> Vec<(String, Option<&'static str>, AxisKind)> {
            doc.params
                .iter()
                .map(|p| (p.name.to_string(), p.distribution, p.axis))
                .collect()
        };
        let doc = document(&input);
        assert_eq!(doc.params_source, Some("manifests/sweep.yaml"));
        assert_eq!(
            axes(&doc),
            vec![
                ("learning_rate".into(), Some("loguniform"), AxisKind::Log),
                (
                    "per_device_batch_size".into(),
                    Some("choice"),
                    AxisKind::Categorical
                ),
                ("weight_decay".into(), Some("uniform"), AxisKind::Linear),
            ]
        );
        input.space = None;
        let doc = document(&input);
        assert_eq!(doc.params_source, None);
        assert!(axes(&doc)
            .iter()
            .all(|(_, d, a)| d.is_none() && *a == AxisKind::Linear));
    }
}
