//! Reading a sweep folder into the sweep report's [`SweepInput`] (the
//! report itself is pure). A sweep folder is
//! `submission_runs/<sweep>/`, holding `sweep.json` (the ledger) and one
//! run folder per started trial under `trials/` (the layout is
//! [`crate::runfolder::layout`]'s; [`crate::runner::coordinator`] writes it).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::manifest::sweep::{Distribution, SweepMetric};
use crate::report::sweep::{SearchSpace, SweepInput, TrialRun};
use crate::runfolder::layout::{trial_dir, CONTROL_DIR, JOB_SPEC};
use crate::runfolder::{EvalItemRecord, RunFolder, RunManifest, RUN_MANIFEST};
use crate::workspace::Workspace;
use tunix_core::sweep::ledger::{Ledger, LEDGER};

/// Read the sweep folder `dir`: its ledger, every started trial's run
/// folder, and the search space of the Sweep manifest when it can be found.
pub fn read_sweep_folder(ws: &Workspace, dir: &Path, alpha: f64) -> Result<SweepInput> {
    let ledger_path = dir.join(LEDGER);
    let ledger = Ledger::read(&ledger_path)?.ok_or_else(|| {
        Error::bad_input(format!("{} is not a sweep folder", dir.display())).with_path(&ledger_path)
    })?;
    let mut runs = BTreeMap::new();
    let mut manifests = Vec::new();
    for trial in &ledger.trials {
        let run_dir = trial_dir(dir, &ledger.sweep, &trial.trial_id);
        if !run_dir.join(RUN_MANIFEST).is_file() {
            continue;
        }
        let folder = RunFolder::open(&run_dir)?;
        let run = read_trial(&folder, &ledger.metric)?;
        manifests.push((run_dir, folder.into_manifest()));
        runs.insert(trial.trial_id.clone(), run);
    }
    let space = manifest_candidates(ws, &manifests)
        .into_iter()
        .find_map(|path| search_space(ws, &path, &ledger.sweep));
    Ok(SweepInput {
        folder: ws.display_path(dir).display().to_string(),
        ledger,
        space,
        runs,
        alpha,
    })
}

/// One trial's run folder.
fn read_trial(folder: &RunFolder, metric: &SweepMetric) -> Result<TrialRun> {
    let manifest = folder.manifest();
    let records = folder.metrics()?;
    let series = |name: &str| -> Vec<(u64, f64)> {
        let by_step: BTreeMap<u64, f64> = records
            .iter()
            .filter_map(|r| r.get(name).filter(|v| v.is_finite()).map(|v| (r.step, v)))
            .collect();
        by_step.into_iter().collect()
    };
    let items = if folder.has_items() {
        Some(
            folder
                .items()?
                .iter()
                .map(EvalItemRecord::item_row)
                .collect(),
        )
    } else {
        None
    };
    Ok(TrialRun {
        run_id: manifest.run_id.clone(),
        status: manifest.status,
        failure: manifest.failure.clone(),
        loss: series("loss"),
        metric: series(metric.as_str()),
        items,
    })
}

/// Where the Sweep manifest may be, most reliable first: the manifest
/// path each trial's job spec (`.job/spec.json`) recorded, then the
/// manifest named on each trial's recorded command line (`run FILE`),
/// taken relative to the workspace root.
fn manifest_candidates(ws: &Workspace, runs: &[(PathBuf, RunManifest)]) -> Vec<PathBuf> {
    let from_jobs = runs.iter().filter_map(|(dir, _)| {
        let bytes = std::fs::read(dir.join(CONTROL_DIR).join(JOB_SPEC)).ok()?;
        let job: Value = serde_json::from_slice(&bytes).ok()?;
        job.get("manifest_path")?.as_str().map(PathBuf::from)
    });
    let from_commands = runs.iter().filter_map(|(_, m)| {
        let at = m.command.iter().position(|a| a == "run")?;
        let file = m.command.get(at + 1)?;
        Some(ws.root().join(file))
    });
    let mut out: Vec<PathBuf> = Vec::new();
    for path in from_jobs.chain(from_commands) {
        if !out.contains(&path) {
            out.push(path);
        }
    }
    out
}

/// The search space of the Sweep manifest at `path`, when it is one and
/// its name is `sweep`.
fn search_space(ws: &Workspace, path: &Path, sweep: &str) -> Option<SearchSpace> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_yaml::from_str(&text).ok()?;
    if doc.get("kind")?.as_str()? != "Sweep" || doc.pointer("/metadata/name")?.as_str()? != sweep {
        return None;
    }
    let params: BTreeMap<String, Distribution> =
        serde_json::from_value(doc.pointer("/spec/search_space")?.clone()).ok()?;
    Some(SearchSpace {
        source: ws.display_path(path).display().to_string(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::manifest::sweep::Mode;
    use crate::runfolder::METRICS;
    use crate::runfolder::{to_json_bytes, RunKind, RunStatus};
    use tunix_core::sweep::ledger::{TrialEntry, TrialState};

    fn ledger() -> Ledger {
        let params: BTreeMap<String, Value> =
            [("learning_rate".to_string(), serde_json::json!(0.003))].into();
        let mut done = TrialEntry::pending("t000", &params);
        done.state = TrialState::Completed;
        let trials = vec![done, TrialEntry::pending("t001", &params)];
        crate::report::sweep::fixtures::ledger(
            "s",
            SweepMetric::val_loss(),
            Mode::Min,
            &[4],
            trials,
            None,
        )
    }

    /// A workspace with `submission_runs/s/` holding the ledger and t000's
    /// run folder, and `manifests/sweep.yaml`.
    fn workspace() -> (tempfile::TempDir, Workspace, PathBuf) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::at(tmp.path()).expect("workspace");
        let dir = ws.root().join("submission_runs/s");
        std::fs::create_dir_all(&dir).expect("mkdir");
        ledger().write(&dir.join(LEDGER)).expect("ledger");
        let run_dir = trial_dir(&dir, "s", "t000");
        std::fs::create_dir_all(&run_dir).expect("mkdir");
        let mut m = RunManifest::new("s-t000", RunKind::Train, "s-t000", "2026-01-01T00:00:00Z");
        m.status = RunStatus::Completed;
        m.command = vec![
            "tunix-rt".into(),
            "run".into(),
            "manifests/sweep.yaml".into(),
        ];
        std::fs::write(run_dir.join(RUN_MANIFEST), to_json_bytes(&m).expect("json"))
            .expect("write");
        std::fs::write(
            run_dir.join(METRICS),
            "{\"step\": 4, \"loss\": 2.0}\n{\"step\": 4, \"loss\": 1.5, \"val_loss\": 1.7}\n\n{\"step\": 2, \"loss\": 3.0}\n{\"step\": 6, \"lo",
        )
        .expect("write");
        std::fs::create_dir_all(ws.root().join("manifests")).expect("mkdir");
        std::fs::write(
            ws.root().join("manifests/sweep.yaml"),
            "apiVersion: tunix-rt/v1\nkind: Sweep\nmetadata:\n  name: s\nspec:\n  base: x.yaml\n  search_space:\n    learning_rate: { loguniform: [1.0e-3, 1.0e-2] }\n  num_samples: 2\n",
        )
        .expect("write");
        (tmp, ws, dir)
    }

    #[test]
    fn trials_metrics_and_the_search_space_are_read() {
        let (_tmp, ws, dir) = workspace();
        let input = read_sweep_folder(&ws, &dir, 0.05).expect("read");
        assert_eq!(input.folder, "submission_runs/s");
        assert_eq!(input.runs.len(), 1, "t001 never started");
        let run = &input.runs["t000"];
        assert_eq!(run.run_id, "s-t000");
        assert_eq!(
            run.loss,
            vec![(2, 3.0), (4, 1.5)],
            "last line of a step wins"
        );
        assert_eq!(run.metric, vec![(4, 1.7)]);
        assert_eq!(run.items, None);
        let space = input.space.expect("manifest found from the command line");
        assert_eq!(space.source, "manifests/sweep.yaml");
        assert_eq!(
            space.params["learning_rate"],
            Distribution::Loguniform([1e-3, 1e-2])
        );
    }

    #[test]
    fn a_manifest_of_another_sweep_is_not_used_and_bad_metrics_are_errors() {
        let (_tmp, ws, dir) = workspace();
        let path = ws.root().join("manifests/sweep.yaml");
        let text = std::fs::read_to_string(&path).expect("read");
        std::fs::write(&path, text.replace("name: s", "name: other")).expect("write");
        let input = read_sweep_folder(&ws, &dir, 0.05).expect("read");
        assert_eq!(input.space, None);
        let metrics = trial_dir(&dir, "s", "t000").join(METRICS);
        std::fs::write(&metrics, "{\"step\": 1}\nnot json\n{\"step\": 2}\n").expect("write");
        let err = read_sweep_folder(&ws, &dir, 0.05).expect_err("bad line");
        assert_eq!(err.kind(), ErrorKind::BadInput);
        assert_eq!(err.location().map(|l| l.line), Some(2));
        assert_eq!(err.path(), Some(metrics.as_path()));
    }
}
