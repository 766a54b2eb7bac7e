//! Ledgers and failures for the coordinator's unit tests.

use std::collections::BTreeMap;

use crate::manifest::sweep::{Mode, SweepMetric};
use crate::runfolder::Failure;
use crate::sweep::ledger::{Ledger, TrialEntry, LEDGER_SCHEMA_VERSION};

/// A minimizing val_loss ledger over rungs 4 and 8 with pending trials
/// `ids`.
pub(super) fn ledger(ids: &[&str]) -> Ledger {
    Ledger {
        schema_version: LEDGER_SCHEMA_VERSION,
        sweep: "s".into(),
        identity: "x".into(),
        metric: SweepMetric::val_loss(),
        mode: Mode::Min,
        rungs: vec![4, 8],
        trials: ids
            .iter()
            .map(|id| TrialEntry::pending(id, &BTreeMap::new()))
            .collect(),
        decisions: Vec::new(),
        best: None,
        manifest: None,
        slurm_jobs: Vec::new(),
    }
}

/// A failure of class `class`.
pub(super) fn failure(class: &str) -> Failure {
    Failure {
        class: class.into(),
        message: format!("{class} happened"),
    }
}
