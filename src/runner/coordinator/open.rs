//! Opening a sweep folder: the plan's identity (a hash of what
//! `plan.json` holds), refusing a folder whose ledger holds another plan
//! (naming the keys that differ), and the ledger of a sweep that starts.

use std::path::Path;

use serde_json::json;

use crate::error::{Error, Result};
use crate::manifest::sweep::Mode;
use crate::manifest::{LoadedManifest, SweepManifest};
use crate::sweep::ledger::{Ledger, TrialEntry, LEDGER_SCHEMA_VERSION, PLAN};
use crate::sweep::SweepPlan;
use crate::workspace::Workspace;

/// The rungs trials are compared at: the plan's, or for a sweep without a
/// scheduler the one rung [`max_steps`].
pub(super) fn rungs(plan: &SweepPlan) -> Vec<u32> {
    if plan.rungs.is_empty() {
        vec![max_steps(plan)]
    } else {
        plan.rungs.clone()
    }
}

/// The ledger of a sweep that starts: every planned trial pending (or
/// awaiting its draw from results), in its bracket.
pub(super) fn new_ledger(
    plan: &SweepPlan,
    sweep: &SweepManifest,
    identity: String,
    mode: Mode,
    rungs: Vec<u32>,
) -> Ledger {
    Ledger {
        schema_version: LEDGER_SCHEMA_VERSION,
        sweep: plan.name.clone(),
        identity,
        metric: sweep.spec.metric.clone(),
        mode,
        rungs,
        trials: plan
            .trials
            .iter()
            .map(|t| {
                let mut entry = match t.drawn_from_results {
                    true => TrialEntry::awaiting_draw(&t.trial_id, &t.params),
                    false => TrialEntry::pending(&t.trial_id, &t.params),
                };
                entry.bracket = t.bracket;
                entry
            })
            .collect(),
        decisions: Vec::new(),
        best: None,
        manifest: None,
        slurm_jobs: Vec::new(),
    }
}

/// Refuse a sweep folder whose ledger holds another plan, naming the
/// keys that differ.
pub(super) fn refuse_other_plan(
    ws: &Workspace,
    loaded: &LoadedManifest,
    ledger_path: &Path,
    identity: &str,
    plan_value: &serde_json::Value,
) -> Result<()> {
    let Some(l) = Ledger::read(ledger_path)? else {
        return Ok(());
    };
    if l.identity == identity {
        return Ok(());
    }
    let stored: serde_json::Value = std::fs::read(ledger_path.with_file_name(PLAN))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let keys = crate::sweep::diff::differing_keys(&stored, plan_value, 12);
    let differs = if stored.is_null() || keys.is_empty() {
        String::new()
    } else {
        format!("; differing keys: {}", keys.join(", "))
    };
    Err(Error::bad_input(format!(
        "{} holds a sweep of a different manifest (plan identity {}, this manifest's is {}){differs}; a sweep folder never mixes two plans: give this sweep another metadata.name, or move that folder away",
        ws.display_path(ledger_path).display(),
        crate::job::claim::short(&l.identity),
        crate::job::claim::short(identity)
    ))
    .with_path(&loaded.path))
}

/// The one rung of a sweep without a scheduler: the largest `max_steps`
/// of its trials (each trial stops at its own, see [`super::trials::Trials::steps_at`]).
fn max_steps(plan: &SweepPlan) -> u32 {
    plan.trials
        .iter()
        .map(|t| t.spec.training.max_steps)
        .max()
        .unwrap_or(0)
}

/// What the plan's identity hashes: every trial's id, values and spec,
/// the rungs, the metric and the mode.
pub(super) fn plan_json(
    plan: &SweepPlan,
    rungs: &[u32],
    sweep: &SweepManifest,
    mode: Mode,
) -> serde_json::Value {
    let trials: Vec<_> = plan
        .trials
        .iter()
        .map(|t| {
            let mut trial = match t.drawn_from_results {
                true => {
                    json!({ "trial_id": t.trial_id, "grid": t.params, "drawn_from_results": true })
                }
                false => json!({ "trial_id": t.trial_id, "params": t.params, "spec": t.spec }),
            };
            if let Some(b) = t.bracket {
                trial["bracket"] = json!(b);
            }
            trial
        })
        .collect();
    let mut value = json!({
        "kind": "Sweep",
        "trials": trials,
        "rungs": rungs,
        "metric": sweep.spec.metric,
        "mode": mode,
    });
    // Only TPE sweeps name their search, so the identities of random
    // sweeps recorded before TPE existed are unchanged.
    if let Some(tpe) = plan.search.tpe() {
        value["search"] = json!({
            "tpe": tpe,
            "search_space": sweep.spec.search_space,
            "seed": plan.seed,
            "base": plan.base,
            "max_concurrent_trials": sweep.spec.max_concurrent_trials,
        });
    }
    if !plan.brackets.is_empty() {
        value["brackets"] = json!(plan.brackets);
    }
    value
}
