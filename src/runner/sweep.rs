//! Planning a loaded Sweep manifest: resolve its base Train spec (inline, or
//! loaded and fully checked from the `base` file), then expand the trials
//! with [`crate::sweep::expand`] into a [`SweepJob`] (what
//! [`super::run`] hands the coordinator), with the trials' trainer; and
//! where the base's own data files are seen from elsewhere (a trial, a
//! promoted config). Reads the base file; writes nothing.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::manifest::sweep::BaseSpec;
use crate::manifest::train::{TrainModel, TrainSpec};
use crate::manifest::{LoadedManifest, Manifest, SweepManifest};
use crate::sweep::SweepPlan;
use crate::trainer::TrainerCommand;
use crate::workspace::Workspace;

/// A planned Sweep: the manifest, its trials, and how it was asked to run.
#[derive(Debug, Clone)]
pub struct SweepJob {
    pub loaded: LoadedManifest,
    pub plan: SweepPlan,
    /// The command line that started it (recorded in each trial).
    pub command: Vec<String>,
    /// `--update-evidence`: promote into files git tracks, too.
    pub update_evidence: bool,
}

/// The trainer of a sweep's trials: that of its first trial's spec (every
/// trial shares the base's `command`, or none), else the built-in one.
pub fn trainer(plan: &SweepPlan) -> Result<TrainerCommand> {
    match plan.trials.first() {
        Some(t) => super::trainer_for(&t.spec),
        None => super::builtin_trainer(),
    }
}

/// The trial plan of a loaded Sweep manifest; bad input (exit 2) for any
/// other kind.
pub fn sweep_plan(ws: &Workspace, loaded: &LoadedManifest) -> Result<SweepPlan> {
    let Manifest::Sweep(sweep) = &loaded.manifest else {
        return Err(Error::bad_input(format!(
            "only Sweep manifests have a trial plan; this is a {} manifest (run it without --plan)",
            loaded.manifest.kind().name()
        ))
        .with_path(&loaded.path));
    };
    let base = base_spec(ws, loaded, sweep)?;
    crate::sweep::expand(&sweep.metadata.name, &sweep.spec, &base)
        .map_err(|e| e.with_path(&loaded.path))
}

/// The Sweep's base Train spec, loaded through the same pipeline as
/// `validate` (schema and semantic checks).
fn base_spec(ws: &Workspace, loaded: &LoadedManifest, sweep: &SweepManifest) -> Result<TrainSpec> {
    let path = match &sweep.spec.base {
        BaseSpec::Inline(spec) => return Ok((**spec).clone()),
        BaseSpec::Path(path) => path,
    };
    let resolved = ws
        .resolve(&loaded.path, path)
        .map_err(|e| Error::bad_input(format!("/spec/base: {e}")).with_path(&loaded.path))?;
    let shown = ws.display_path(&resolved).display().to_string();
    let base =
        crate::manifest::load(ws, &resolved, &shown).map_err(|d| Error::invalid_file(&shown, d))?;
    match base.manifest {
        Manifest::Train(train) => Ok(train.spec),
        other => Err(Error::bad_input(format!(
            "/spec/base: `{}` is a {} manifest; a Sweep's base must be a Train manifest",
            path.display(),
            other.kind().name()
        ))
        .with_path(&loaded.path)),
    }
}

/// `spec`'s own input paths (`dataset.path`, `dataset.val_path`, a
/// pretrained model's `model.hf`) through `to`: the base config names them
/// relative to its folder, a trial runs them from the sweep's, and a
/// promoted config from its own.
pub(super) fn rebase_data_paths(spec: &mut TrainSpec, to: impl Fn(&Path) -> PathBuf) {
    if let Some(d) = spec.dataset.as_mut() {
        for p in [&mut d.path, &mut d.val_path].into_iter().flatten() {
            *p = to(p);
        }
    }
    if let Some(TrainModel::Hf(m)) = spec.model.as_mut() {
        m.hf = to(&m.hf);
    }
}
