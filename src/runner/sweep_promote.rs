//! Where and what a sweep promotes (`promote:`): the targets, the best
//! trial's config and parameters, its evidence folder, and the guard on
//! committed evidence. The coordinator calls it once the sweep's best
//! trial is decided.
//!
//! A promotion target (`promote.config`, `promote.params`, the
//! `promote.evidence` folder or any file in it) that git tracks in the
//! workspace's repository is committed evidence: a sweep run leaves it as
//! it is unless asked to regenerate it (`tunix-rt run --update-evidence`),
//! so running an example sweep does not dirty the tree (and every later
//! run's `+dirty`). Without git, or outside a repository, nothing is
//! tracked. The files are written by [`write_promoted`] and
//! [`write_evidence`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::sweep::rebase_data_paths;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::sweep::{BaseSpec, Mode, SweepMetric};
use crate::manifest::train::TrainSpec;
use crate::manifest::{SweepManifest, TrainManifest};
use crate::runfolder::{read_manifest, Artifact, EVAL_ITEMS, EVAL_SUMMARY, METRICS, RUN_LOG};
use crate::sweep::ledger::BestTrial;
use crate::sweep::promote;
use crate::workspace::Workspace;

/// Where the promoted files go.
#[derive(Debug, Clone, PartialEq)]
pub struct Promoted {
    pub config: PathBuf,
    pub params: PathBuf,
    /// The evidence folder (`promote.evidence`).
    pub evidence: Option<PathBuf>,
}

/// A promotion left undone because its targets are committed evidence.
#[derive(Debug, Clone, PartialEq)]
pub struct Withheld {
    /// The best trial, which would have been promoted.
    pub trial_id: String,
    /// The tracked files among the targets, relative to the workspace.
    pub files: Vec<PathBuf>,
}

/// The Sweep manifest's `promote` targets, resolved against the manifest
/// at `manifest_path` (never outside the workspace); none without
/// `promote`.
pub fn targets(
    ws: &Workspace,
    manifest_path: &Path,
    sweep: &SweepManifest,
) -> Result<Option<Promoted>> {
    let Some(p) = &sweep.spec.promote else {
        return Ok(None);
    };
    let resolve = |path: &Path, key: &str| {
        ws.resolve(manifest_path, path)
            .map_err(|e| Error::bad_input(format!("{key}: {e}")).with_path(manifest_path))
    };
    Ok(Some(Promoted {
        config: resolve(&p.config, "/spec/promote/config")?,
        params: resolve(&p.params, "/spec/promote/params")?,
        evidence: p
            .evidence
            .as_ref()
            .map(|e| resolve(e, "/spec/promote/evidence"))
            .transpose()?,
    }))
}

/// The files among `to`'s targets that git tracks in the repository of
/// the workspace `ws`, relative to the workspace; empty without git or
/// outside a repository.
pub fn tracked(ws: &Workspace, to: &Promoted) -> Vec<PathBuf> {
    let specs: Vec<PathBuf> = [Some(&to.config), Some(&to.params), to.evidence.as_ref()]
        .into_iter()
        .flatten()
        .map(|p| ws.display_path(p))
        .filter(|p| !p.as_os_str().is_empty() && p.is_relative())
        .collect();
    crate::probe::git_tracked(ws.root(), &specs)
}

/// The `--plan` note on `to`'s committed evidence, when git tracks any of
/// it; `update` is `--update-evidence`.
pub fn plan_note(ws: &Workspace, to: &Promoted, update: bool) -> Option<String> {
    let files = tracked(ws, to);
    if files.is_empty() {
        return None;
    }
    let listed = shown(&files);
    Some(if update {
        format!(
            "--update-evidence: promotion rewrites committed evidence (tracked by git: {listed})"
        )
    } else {
        format!(
            "promotion into committed evidence will be skipped (promotion targets tracked by git: {listed}); the sweep still runs and picks its best trial, and --update-evidence regenerates them"
        )
    })
}

/// The summary's text for a withheld promotion; `rerun` is the command
/// that regenerates the files.
pub fn withheld_message(w: &Withheld, rerun: &str) -> String {
    format!(
        "promotion into committed evidence was skipped: the best trial is {} (promotion targets tracked by git: {}); to regenerate them, run: {rerun} --update-evidence",
        w.trial_id,
        shown(&w.files)
    )
}

fn shown(files: &[PathBuf]) -> String {
    files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The sweep's best trial as it ran, for [`write_promoted`].
pub(super) struct Finalist<'a> {
    /// The sweep's name (the plan's).
    pub sweep_name: &'a str,
    pub best: &'a BestTrial,
    /// Its Train spec as it ran, with the base config's data paths.
    pub spec: TrainSpec,
    /// Its trial folder.
    pub run_dir: PathBuf,
    /// The trials' eval set, resolved (absolute).
    pub evalset: Option<&'a Path>,
    /// The folder the base config's relative data paths name files in.
    pub data_dir: &'a Path,
}

/// Write `to.config` (a Train manifest of the finalist that runs from its
/// own folder) and `to.params` (its values, `metric` in direction `mode`
/// and the primary score's CI when it was evaluated), for the sweep
/// `sweep` of the manifest at `manifest_path`.
pub(super) fn write_promoted(
    ws: &Workspace,
    sweep: &SweepManifest,
    manifest_path: &Path,
    finalist: &Finalist,
    (metric, mode): (&SweepMetric, Mode),
    to: &Promoted,
) -> Result<()> {
    let name = finalist.sweep_name;
    let best = finalist.best;
    let mut spec = finalist.spec.clone();
    let config_dir = to.config.parent().unwrap_or(ws.root());
    if let (Some(eval), Some(abs)) = (spec.eval.as_mut(), finalist.evalset) {
        eval.evalset = promote::relative_path(config_dir, abs);
    }
    rebase_data_paths(&mut spec, |p| {
        promote::relative_path(config_dir, &finalist.data_dir.join(p))
    });
    spec.output = Default::default();
    let labels = match &sweep.spec.base {
        BaseSpec::Path(p) => base_labels(ws, manifest_path, p).unwrap_or_default(),
        BaseSpec::Inline(_) => sweep.metadata.labels.clone(),
    };
    let manifest = promote::manifest(name, &labels, spec);
    let schema = promote::relative_path(
        config_dir,
        &ws.root().join("schemas").join("train.schema.json"),
    );
    let yaml = promote::manifest_yaml(&manifest, name, best, &schema)?;
    write_atomic(&to.config, yaml.as_bytes())?;
    // The primary score's CI, when the trial was evaluated.
    let ci95 = crate::runfolder::read_summary(&finalist.run_dir)
        .ok()
        .and_then(|s| s.scorecard.ci95);
    let params = promote::params_json(name, best, metric, mode, ci95);
    write_atomic(&to.params, &crate::runfolder::to_json_bytes(&params)?)
}

/// The labels of the base Train manifest `base` (relative to the Sweep
/// manifest at `manifest_path`).
fn base_labels(
    ws: &Workspace,
    manifest_path: &Path,
    base: &Path,
) -> Option<BTreeMap<String, String>> {
    let path = ws.resolve(manifest_path, base).ok()?;
    let text = std::fs::read_to_string(path).ok()?;
    let m: TrainManifest = serde_yaml::from_str(&text).ok()?;
    Some(m.metadata.labels)
}

/// Copy the best trial's run record (text files; checkpoints stay and are
/// referenced by hash) from its run folder `trial` into the evidence
/// folder `dir`, as a run named after the folder with
/// `promoted_from_trial_id`.
pub fn write_evidence(trial: &Path, best: &BestTrial, dir: &Path) -> Result<()> {
    let mut manifest = read_manifest(trial)?;
    let run_id = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::bad_input("promote.evidence must name a folder").with_path(dir))?;
    let mut artifacts = Vec::new();
    for name in [RUN_LOG, METRICS, EVAL_SUMMARY, EVAL_ITEMS] {
        let from = trial.join(name);
        match std::fs::read(&from) {
            Ok(bytes) => {
                write_atomic(&dir.join(name), &bytes)?;
                artifacts.push(Artifact::new(name.to_string(), &bytes));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("read", &from, e)),
        }
    }
    artifacts.extend(
        manifest
            .artifacts
            .iter()
            .filter(|a| a.path.starts_with(crate::trainer::protocol::CHECKPOINTS))
            .cloned(),
    );
    manifest.run_id = run_id;
    manifest.promoted_from_trial_id = Some(best.trial_id.clone());
    manifest.artifacts = artifacts;
    write_atomic(
        &dir.join(crate::runfolder::RUN_MANIFEST),
        &crate::runfolder::to_json_bytes(&manifest)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> bool {
        std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn targets_in(root: &Path) -> Promoted {
        Promoted {
            config: root.join("configs/best.yaml"),
            params: root.join("runs/v1/best.json"),
            evidence: Some(root.join("runs/v1")),
        }
    }

    #[test]
    fn tracked_targets_are_the_committed_files_among_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        for (file, text) in [
            ("configs/best.yaml", "a"),
            ("configs/other.yaml", "b"),
            ("runs/v1/run_manifest.json", "{}"),
            ("runs/v1/untracked.txt", "c"),
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        let ws = Workspace::at(root).expect("workspace");
        assert!(tracked(&ws, &targets_in(ws.root())).is_empty(), "no repo");
        if !git(root, &["init", "-q"]) {
            eprintln!("git is not installed: only the no-repository case ran");
            return;
        }
        assert!(git(
            root,
            &[
                "add",
                "configs/best.yaml",
                "configs/other.yaml",
                "runs/v1/run_manifest.json"
            ]
        ));
        assert!(git(root, &["commit", "-q", "-m", "evidence"]));
        let files = tracked(&ws, &targets_in(ws.root()));
        assert_eq!(
            files,
            vec![
                PathBuf::from("configs/best.yaml"),
                PathBuf::from("runs/v1/run_manifest.json")
            ]
        );
        let note = plan_note(&ws, &targets_in(ws.root()), false).expect("note");
        assert!(note.contains("will be skipped"), "{note}");
        let w = Withheld {
            trial_id: "t003".into(),
            files,
        };
        assert_eq!(
            withheld_message(&w, "tunix-rt run manifests/s.yaml"),
            "promotion into committed evidence was skipped: the best trial is t003 (promotion targets tracked by git: configs/best.yaml, runs/v1/run_manifest.json); to regenerate them, run: tunix-rt run manifests/s.yaml --update-evidence"
        );
    }
}
