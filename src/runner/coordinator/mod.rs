//! Running a Sweep: the coordinator.
//!
//! The sweep folder is `submission_runs/<sweep>/`: `sweep.json` (the
//! [`Ledger`]), `plan.json` (the resolved plan, written once), `.lock`
//! (held while a coordinator runs; pid inside) and
//! `trials/<sweep>-<trial_id>/`, one Train run folder per trial (the
//! sweep's name keeps trial run ids unique in the index; the names are
//! [`crate::runfolder::layout`]'s).
//!
//! Scheduling is synchronous successive halving ([`crate::sweep::halving`]):
//! for each rung in order ([`schedule`]), every live trial runs to that
//! step through an [`Executor`] (the local process pool, at most
//! `max_concurrent_trials` at once, or Slurm job arrays; this loop does not
//! know which), then the rung is decided from the metrics on disk and
//! written to the ledger before the next rung starts. Without a scheduler
//! the single rung is `max_steps`.
//!
//! The ledger changes only through pure transitions: starting a rung
//! ([`start`]), what the executor reports ([`report`]), a rung's decision
//! ([`schedule`]). This module and [`rung`] do the reading and writing
//! around them.
//!
//! Resume: the same command reads the ledger (refusing one of another
//! plan, [`open`]), keeps decided rungs, takes what a trial already reached
//! from its run folder (status stopped/completed and a metrics line at the
//! rung) instead of running it again, and resumes unfinished trials from
//! their newest checkpoint. A failed trial is recorded with its failure
//! class and takes no further part; it never stops the sweep. Nothing here
//! prints: progress goes to the caller as [`SweepEvent`]s. Promotion of the
//! best trial is [`super::sweep_promote`]'s.

mod event;
mod open;
mod report;
mod rung;
mod schedule;
mod start;
#[cfg(test)]
mod testing;
mod trials;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use event::SweepEvent;

use super::executor::Executor;
use super::local_pool::LocalPool;
use super::sweep_promote::{self, Finalist, Promoted, Withheld};
use super::sweep_slurm::{Shape, SlurmExecutor};
use crate::error::{Error, Result};
use crate::fsutil::{canonical_hash, write_atomic};
use crate::job::claim::{holder_name, try_lock, Lock, LOCK_FILE};
use crate::manifest::slurm::SlurmSpec;
use crate::manifest::sweep::{self as spec, BaseSpec};
use crate::manifest::{LoadedManifest, Manifest, SweepManifest};
use crate::sweep::ledger::{Ledger, LEDGER, PLAN};
use crate::sweep::{decide, tpe_draw, SweepPlan};
use crate::trainer::TrainerCommand;
use crate::workspace::Workspace;
use start::Rung;
use trials::Trials;

/// How `run` was asked to run a sweep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepOptions {
    /// `--detach` (Slurm): submit and return.
    pub detach: bool,
    /// `--update-evidence`: promote into files git tracks, too.
    pub update_evidence: bool,
}

/// A finished sweep.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    pub dir: PathBuf,
    pub ledger: Ledger,
    pub promoted: Option<Promoted>,
    /// The promotion left undone: its targets are committed evidence and
    /// `--update-evidence` was not given.
    pub withheld: Option<Withheld>,
    /// `--detach` on Slurm: the jobs submitted (or found running); the
    /// sweep goes on without a coordinator until `sweep attach`.
    pub detached: Option<Vec<String>>,
}

/// Run the Sweep manifest `loaded` (planned as `plan`) with `trainer`.
pub fn run_sweep(
    ws: &Workspace,
    loaded: &LoadedManifest,
    plan: &SweepPlan,
    trainer: &TrainerCommand,
    command: &[String],
    options: SweepOptions,
    on_event: &mut dyn FnMut(&SweepEvent),
) -> Result<SweepOutcome> {
    let detach = options.detach;
    let Manifest::Sweep(sweep) = &loaded.manifest else {
        return Err(Error::bad_input("not a Sweep manifest").with_path(&loaded.path));
    };
    let slurm = match (sweep.spec.executor, &sweep.spec.slurm) {
        (spec::Executor::Slurm, Some(spec)) => Some(spec),
        (spec::Executor::Slurm, None) => {
            return Err(
                Error::bad_input("`executor: slurm` needs a `slurm` block").with_path(&loaded.path)
            )
        }
        (spec::Executor::Local, _) => None,
    };
    if detach && slurm.is_none() {
        return Err(Error::bad_input(
            "--detach needs `executor: slurm` (a local sweep runs in this process)",
        )
        .with_path(&loaded.path));
    }
    let resolve = |base: &Path, p: &Path, key: &str| {
        ws.resolve(base, p)
            .map_err(|e| Error::bad_input(format!("{key}: {e}")).with_path(&loaded.path))
    };
    let promote_to = sweep_promote::targets(ws, &loaded.path, sweep)?;
    let mode = sweep.spec.resolved_mode().ok_or_else(|| {
        Error::bad_input(format!(
            "metric `{}` has no default direction: set `mode: max` or `mode: min`",
            sweep.spec.metric
        ))
        .with_path(&loaded.path)
    })?;
    let base_file = match &sweep.spec.base {
        BaseSpec::Path(p) => resolve(&loaded.path, p, "/spec/base")?,
        BaseSpec::Inline(_) => loaded.path.clone(),
    };
    let evalset = match plan.trials.first().and_then(|t| t.spec.eval.as_ref()) {
        Some(e) => Some(resolve(&base_file, &e.evalset, "eval.evalset")?),
        None => None,
    };

    let dir = ws.root().join("submission_runs").join(&plan.name);
    let rungs = open::rungs(plan);
    let plan_value = open::plan_json(plan, &rungs, sweep, mode);
    let identity = canonical_hash(&plan_value);
    let ledger_path = dir.join(LEDGER);
    // A folder of another plan is refused before anything is touched (the
    // ledger is only ever replaced whole, so reading it unlocked is safe).
    open::refuse_other_plan(ws, loaded, &ledger_path, &identity, &plan_value)?;
    if let Some(spec) = slurm {
        super::sweep_slurm::preflight(ws, spec).map_err(|e| e.with_path(&loaded.path))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create the sweep folder", &dir, e))?;
    let _lock = lock(ws, &dir)?;

    let mut ledger = match Ledger::read(&ledger_path)? {
        Some(l) if l.identity != identity => {
            open::refuse_other_plan(ws, loaded, &ledger_path, &identity, &plan_value)?;
            l
        }
        Some(l) => {
            on_event(&SweepEvent::Resumed {
                decided_rungs: l.decisions.len(),
            });
            l
        }
        None => open::new_ledger(plan, sweep, identity, mode, rungs.clone()),
    };
    ledger.manifest = Some(ws.display_path(&loaded.path).display().to_string());
    let plan_path = dir.join(PLAN);
    if !plan_path.exists() {
        write_atomic(&plan_path, &crate::runfolder::to_json_bytes(&plan_value)?)?;
    }
    ledger.write(&ledger_path)?;

    let trials = Trials {
        sweep,
        plan,
        dir: &dir,
        evalset,
        data_dir: base_file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default(),
        manifest_path: &loaded.path,
        command,
    };
    let executor = executor(ws, sweep, trainer, &dir, plan, slurm, detach);
    let last = rungs.last().copied().unwrap_or(0);
    let run = Run {
        trials: &trials,
        executor: executor.as_ref(),
        ledger_path: &ledger_path,
        rungs: &rungs,
        last,
    };
    if let Some(job_ids) = run.rungs(&mut ledger, on_event)? {
        return Ok(SweepOutcome {
            dir: dir.clone(),
            ledger,
            promoted: None,
            withheld: None,
            detached: Some(job_ids),
        });
    }

    ledger.best = decide::best(&ledger, last);
    ledger.write(&ledger_path)?;

    let (mut promoted, mut withheld) = (None, None);
    if let (Some(best), Some(to)) = (&ledger.best, promote_to) {
        let files = match options.update_evidence {
            true => Vec::new(),
            false => sweep_promote::tracked(ws, &to),
        };
        if files.is_empty() {
            let finalist = Finalist {
                sweep_name: &plan.name,
                best,
                spec: trials.trial(&ledger, &best.trial_id)?.spec,
                run_dir: trials.run_dir(&best.trial_id),
                evalset: trials.evalset.as_deref(),
                data_dir: &trials.data_dir,
            };
            let metric = (&ledger.metric, ledger.mode);
            sweep_promote::write_promoted(ws, sweep, &loaded.path, &finalist, metric, &to)?;
            if let Some(evidence) = &to.evidence {
                sweep_promote::write_evidence(&finalist.run_dir, best, evidence)?;
            }
            promoted = Some(to);
        } else {
            let trial_id = best.trial_id.clone();
            withheld = Some(Withheld { trial_id, files });
        }
    }
    Ok(SweepOutcome {
        dir: dir.clone(),
        ledger,
        promoted,
        withheld,
        detached: None,
    })
}

/// Lock the sweep folder `dir` for this coordinator; a running one is
/// named.
fn lock(ws: &Workspace, dir: &Path) -> Result<File> {
    match try_lock(&dir.join(LOCK_FILE))? {
        Lock::Held(file) => Ok(file),
        Lock::Busy { holder } => Err(Error::runtime(format!(
            "sweep is running in {} ({}); wait for it to finish",
            holder_name(holder.as_deref()),
            ws.display_path(dir).display()
        ))),
    }
}

/// The executor of the sweep's trials: Slurm job arrays when `slurm` is
/// set (Ctrl-C then cancels them), else the local pool, whose trainer
/// stops a trial at `trial_timeout_s`.
fn executor<'a>(
    ws: &'a Workspace,
    sweep: &'a SweepManifest,
    trainer: &TrainerCommand,
    dir: &'a Path,
    plan: &'a SweepPlan,
    slurm: Option<&'a SlurmSpec>,
    detach: bool,
) -> Box<dyn Executor + 'a> {
    let s = &sweep.spec;
    if let Some(spec) = slurm {
        crate::slurm::interrupt::catch();
        return Box::new(SlurmExecutor {
            ws,
            spec,
            shape: Shape::Sweep {
                name: &plan.name,
                dir,
                throttle: s.max_concurrent_trials,
            },
            retries: s.max_retries,
            detach,
        });
    }
    let mut trainer = trainer.clone();
    trainer.timeout = s.trial_timeout_s.map(Duration::from_secs);
    Box::new(LocalPool {
        ws,
        trainer,
        limit: usize::try_from(s.max_concurrent_trials).unwrap_or(1),
        trials_per_gpu: s.trials_per_gpu,
        retries: s.max_retries,
        pin: true,
    })
}

/// The rung loop of one coordinator.
struct Run<'a> {
    trials: &'a Trials<'a>,
    executor: &'a dyn Executor,
    ledger_path: &'a Path,
    /// Every rung (the plan's).
    rungs: &'a [u32],
    /// The last rung.
    last: u32,
}

impl Run<'_> {
    /// Every bracket's rungs in order: draw a TPE batch at a bracket's
    /// first rung (again, batch by batch, while trials await their draw),
    /// bring the trials to the rung, decide it. Some(job ids) when the
    /// trials were left to Slurm (`--detach`).
    fn rungs(
        &self,
        ledger: &mut Ledger,
        on_event: &mut dyn FnMut(&SweepEvent),
    ) -> Result<Option<Vec<String>>> {
        let sweep = self.trials.sweep;
        let reduction_factor = schedule::reduction_factor(&sweep.spec.scheduler);
        for (bracket, bracket_rungs) in schedule::brackets(&self.trials.plan.brackets, self.rungs) {
            let first = bracket_rungs.first().copied().unwrap_or(0);
            for rung in bracket_rungs {
                loop {
                    if rung == first {
                        self.draw(ledger, bracket, rung, on_event)?;
                    }
                    let at = Rung {
                        rung,
                        last: self.last,
                        bracket,
                    };
                    let detached = rung::run_to(
                        self.trials,
                        self.executor,
                        at,
                        ledger,
                        self.ledger_path,
                        on_event,
                    )?;
                    if detached.is_some() {
                        return Ok(detached);
                    }
                    if rung != first || !schedule::awaiting_draw(ledger, bracket) {
                        break;
                    }
                }
                let decided = schedule::decide(ledger, bracket, rung, self.last, reduction_factor);
                if let Some(decision) = decided {
                    ledger.write(self.ledger_path)?;
                    on_event(&SweepEvent::RungDecided(decision));
                }
            }
        }
        Ok(None)
    }

    /// Draw the batch of a TPE sweep that is due (see
    /// [`crate::sweep::tpe_draw`]) and record it in the ledger before any
    /// of it runs.
    fn draw(
        &self,
        ledger: &mut Ledger,
        bracket: Option<u32>,
        rung: u32,
        on_event: &mut dyn FnMut(&SweepEvent),
    ) -> Result<()> {
        let spec = &self.trials.sweep.spec;
        let batch = tpe_draw::next_batch(spec, ledger.mode, &ledger.trials, bracket, rung);
        if let Some(event) = start::drawn(ledger, &batch) {
            ledger.write(self.ledger_path)?;
            on_event(&event);
        }
        Ok(())
    }
}
