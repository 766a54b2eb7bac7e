//! A sweep's trials as Train jobs: a trial's plan as it runs (the plan's,
//! or, for a trial drawn from results, the base with the values the ledger
//! recorded for it), where each trial stops at a rung, and its Train job
//! in its trial folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::error::{Error, Result};
use crate::job::{Existing, Placement};
use crate::manifest::sweep::ParamValue;
use crate::manifest::SweepManifest;
use crate::runfolder::layout::trial_dir;
use crate::runner::sweep::rebase_data_paths;
use crate::runner::train::TrainJob;
use crate::sweep::ledger::Ledger;
use crate::sweep::{SweepPlan, TrialPlan};

/// What a sweep's trial jobs are made from.
pub(super) struct Trials<'a> {
    pub sweep: &'a SweepManifest,
    pub plan: &'a SweepPlan,
    /// The sweep folder.
    pub dir: &'a Path,
    /// The eval set of the trials' `eval` section, resolved (absolute).
    pub evalset: Option<PathBuf>,
    /// The folder the base config's relative data paths name files in.
    pub data_dir: PathBuf,
    pub manifest_path: &'a Path,
    pub command: &'a [String],
}

impl Trials<'_> {
    /// Trial `trial_id`'s folder.
    pub(super) fn run_dir(&self, trial_id: &str) -> PathBuf {
        trial_dir(self.dir, &self.plan.name, trial_id)
    }

    /// Trial `trial_id` as it runs: the plan's, or, for a trial drawn from
    /// results, the base with the values the ledger recorded for it.
    pub(super) fn trial(&self, ledger: &Ledger, trial_id: &str) -> Result<TrialPlan> {
        let planned = self
            .plan
            .trials
            .iter()
            .find(|t| t.trial_id == trial_id)
            .ok_or_else(|| Error::runtime(format!("trial {trial_id} is not in the plan")))?;
        if !planned.drawn_from_results {
            return Ok(planned.clone());
        }
        let entry = ledger
            .trials
            .iter()
            .find(|t| t.trial_id == trial_id)
            .ok_or_else(|| Error::runtime(format!("trial {trial_id} is not in the ledger")))?;
        let values = entry
            .params
            .iter()
            .map(|(name, v)| {
                serde_json::from_value::<ParamValue>(v.clone())
                    .map(|v| (name.clone(), v))
                    .map_err(|e| Error::runtime(format!("trial {trial_id}: `{name}`: {e}")))
            })
            .collect::<Result<BTreeMap<_, _>>>()?;
        crate::sweep::plan::trial_with(
            &self.sweep.spec,
            &self.plan.base,
            trial_id.to_string(),
            values,
        )
    }

    /// Where each drawn trial stops at `rung`: the rung, or its own
    /// `max_steps` when that comes first (a sweep without a scheduler that
    /// searches `max_steps` runs each trial to its own).
    pub(super) fn steps_at(&self, ledger: &Ledger, rung: u32) -> Result<BTreeMap<String, u32>> {
        ledger
            .trials
            .iter()
            .filter(|t| !t.is_awaiting_draw())
            .map(|t| {
                let own = self.trial(ledger, &t.trial_id)?.spec.training.max_steps;
                Ok((t.trial_id.clone(), rung.min(own)))
            })
            .collect()
    }

    /// The Train job of `trial`, run until `rung`.
    pub(super) fn job(&self, trial: &TrialPlan, rung: u32) -> Result<TrainJob> {
        let name = format!("{}-{}", self.plan.name, trial.trial_id);
        let config = json!({
            "apiVersion": "tunix-rt/v1",
            "kind": "Train",
            "metadata": { "name": name, "labels": self.sweep.metadata.labels },
            "spec": trial.spec,
        });
        let mut spec = trial.spec.clone();
        rebase_data_paths(&mut spec, |p| self.data_dir.join(p));
        Ok(TrainJob {
            name,
            labels: self.sweep.metadata.labels.clone(),
            spec,
            evalset: self.evalset.clone(),
            placement: Placement::Fixed {
                dir: self.run_dir(&trial.trial_id),
                existing: Existing::Resume,
            },
            config,
            command: self.command.to_vec(),
            manifest_path: self.manifest_path.to_path_buf(),
            tuning_job_id: Some(self.plan.name.clone()),
            trial_id: Some(trial.trial_id.clone()),
            until_step: Some(rung),
        })
    }
}
