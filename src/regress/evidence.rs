//! The run folders behind the gate: reading an evaluated run, locking one
//! as the baseline ([`lock_run`]), and the checks that refuse a comparison
//! that would mean nothing: a baseline folder that changed since it was
//! locked ([`check_baseline`]), a candidate scored on another eval set or
//! under other scoring rules ([`check_candidate`]).

use std::path::{Path, PathBuf};

use super::lock::{BaselineLock, LockedInterval, LockedScore, LOCK_SCHEMA_VERSION};
use super::rules::{correctness_hash, ScoringRules};
use crate::error::{Error, Result};
use crate::runfolder::{
    EvalItemRecord, EvalSummary, FileRef, RunFolder, RunManifest, EVAL_ITEMS, EVAL_SUMMARY,
    RUN_MANIFEST,
};
use crate::workspace::Workspace;

/// An evaluated run folder, read.
#[derive(Debug, Clone)]
pub struct EvaluatedRun {
    /// The folder.
    pub dir: PathBuf,
    pub manifest: RunManifest,
    pub summary: EvalSummary,
    pub items: Vec<EvalItemRecord>,
}

impl EvaluatedRun {
    /// Read `dir`'s run manifest, eval summary and eval items; a folder
    /// without them is bad input.
    pub fn read(dir: &Path) -> Result<Self> {
        let run = RunFolder::open_evaluated(dir, &dir.display().to_string(), "gated")?;
        Ok(EvaluatedRun {
            dir: dir.to_path_buf(),
            summary: run.summary()?,
            items: run.items()?,
            manifest: run.into_manifest(),
        })
    }

    /// The eval set the run was scored on.
    fn evalset(&self) -> Result<&FileRef> {
        self.manifest.evalset.as_ref().ok_or_else(|| {
            Error::bad_input(format!(
                "run `{}` records no eval set, so it cannot be compared",
                self.manifest.run_id
            ))
            .with_path(self.dir.join(RUN_MANIFEST))
        })
    }

    /// The scoring rules the run was scored under: the version its eval
    /// summary records (runs from before versions were recorded count as
    /// the current one), the settings its config holds.
    pub fn rules(&self) -> Result<ScoringRules> {
        let mut rules = ScoringRules::of_run(&self.manifest.config)
            .map_err(|e| e.with_path(self.dir.join(RUN_MANIFEST)))?;
        if let Some(v) = self.summary.scoring_rules_version {
            rules.version = v;
        }
        Ok(rules)
    }
}

/// Who and when, recorded in the lock.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub who: String,
    pub when: String,
}

/// The lock for the run in `run_dir` (inside the workspace), named `name`
/// (default: the run id).
pub fn lock_run(
    ws: &Workspace,
    run_dir: &Path,
    name: Option<&str>,
    stamp: Stamp,
) -> Result<BaselineLock> {
    let run = EvaluatedRun::read(run_dir)?;
    let shown = ws.display_path(run_dir);
    if shown.is_absolute() {
        return Err(Error::bad_input(format!(
            "the baseline run {} is outside the workspace {}: the lock records a \
             workspace-relative path, so move or copy the run under submission_runs/",
            run_dir.display(),
            ws.root().display()
        )));
    }
    let Some(primary) = run.summary.primary_score else {
        return Err(Error::bad_input(format!(
            "run `{}` has no primary score (no item was scored): it cannot be a baseline",
            run.manifest.run_id
        ))
        .with_path(run_dir.join(EVAL_SUMMARY)));
    };
    Ok(BaselineLock {
        schema_version: LOCK_SCHEMA_VERSION,
        name: name.unwrap_or(&run.manifest.run_id).to_string(),
        run_id: run.manifest.run_id.clone(),
        run_dir: shown.to_string_lossy().replace('\\', "/"),
        evalset: run.evalset()?.clone(),
        score: LockedScore {
            primary,
            ci95: run.summary.scorecard.ci95.map(|c| LockedInterval {
                low: c.low,
                high: c.high,
                method: c.method,
            }),
            n_items: run.summary.n_items,
            n_scored: run.summary.n_scored,
        },
        items_blake3: correctness_hash(&run.items),
        scoring_rules: run.rules()?,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        set_by: stamp.who,
        set_at: stamp.when,
    })
}

/// Read the baseline run the lock names and check it is still the run
/// that was locked: same run id, eval set and per-item correctness.
pub fn check_baseline(
    ws: &Workspace,
    lock: &BaselineLock,
    lock_shown: &str,
) -> Result<EvaluatedRun> {
    let dir = ws.root().join(&lock.run_dir);
    if !dir.join(RUN_MANIFEST).is_file() {
        return Err(Error::bad_input(format!(
            "the baseline run folder `{}` named in {lock_shown} does not exist (or has no \
             {RUN_MANIFEST}); restore it or set a new baseline",
            lock.run_dir
        ))
        .with_path(dir));
    }
    let run = EvaluatedRun::read(&dir)?;
    let mut changed = Vec::new();
    if run.manifest.run_id != lock.run_id {
        changed.push(format!(
            "run id is `{}`, the lock says `{}`",
            run.manifest.run_id, lock.run_id
        ));
    }
    let evalset = run.evalset()?;
    if evalset.blake3 != lock.evalset.blake3 {
        changed.push(format!(
            "eval set blake3 is {}, the lock says {}",
            evalset.blake3, lock.evalset.blake3
        ));
    }
    let hash = correctness_hash(&run.items);
    if hash != lock.items_blake3 {
        changed.push(format!(
            "per-item correctness hashes to {hash}, the lock says {}",
            lock.items_blake3
        ));
    }
    if !changed.is_empty() {
        return Err(Error::bad_input(format!(
            "the baseline run folder `{}` changed since it was locked in {lock_shown}: {}; \
             restore it, or review the change and set the baseline again",
            lock.run_dir,
            changed.join("; ")
        ))
        .with_path(dir.join(EVAL_ITEMS)));
    }
    Ok(run)
}

/// Refuse a candidate scored on another eval set or under other scoring
/// rules than the baseline, saying what differs.
pub fn check_candidate(lock: &BaselineLock, candidate: &EvaluatedRun) -> Result<()> {
    let evalset = candidate.evalset()?;
    if evalset.blake3 != lock.evalset.blake3 {
        return Err(Error::bad_input(format!(
            "the candidate `{}` was scored on a different eval set: {} (blake3 {}), the \
             baseline on {} (blake3 {}); evaluate the candidate on the baseline's eval set, \
             or set a new baseline",
            candidate.manifest.run_id,
            evalset.path,
            evalset.blake3,
            lock.evalset.path,
            lock.evalset.blake3
        ))
        .with_path(candidate.dir.join(RUN_MANIFEST)));
    }
    let differences = lock.scoring_rules.differences(&candidate.rules()?);
    if !differences.is_empty() {
        return Err(Error::bad_input(format!(
            "the candidate `{}` was scored under different scoring rules than the baseline: {}; \
             re-score one of them so both use the same rules",
            candidate.manifest.run_id,
            differences.join("; ")
        ))
        .with_path(candidate.dir.join(RUN_MANIFEST)));
    }
    Ok(())
}
