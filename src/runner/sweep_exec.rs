//! Running a Sweep on this machine: the coordinator.
//!
//! The sweep folder is `submission_runs/<sweep>/`: `sweep.json` (the
//! [`Ledger`]), `plan.json` (the resolved plan, written once), `.lock` (held while a coordinator runs; pid inside) and
//! `trials/<sweep>-<trial_id>/`, one Train run folder per trial (the sweep's
//! name keeps trial run ids unique in the index; the names are
//! [`crate::runfolder::layout`]'s).
//!
//! Scheduling is synchronous successive halving ([`crate::sweep::halving`]):
//! for each rung in order, every live trial runs to that step through an
//! [`Executor`] (the local pool, at most `max_concurrent_trials` trainer
//! processes at once, or Slurm job arrays; the loop does not know which),
//! then the rung is decided from the metrics on disk and written to the
//! ledger before the next rung starts. Without a scheduler the single rung is `max_steps`.
//!
//! Resume: the same command reads the ledger (refusing one of another
//! plan), keeps decided rungs, takes what a trial already reached from its
//! run folder (status stopped/completed and a metrics line at the rung)
//! instead of running it again, and resumes unfinished trials from their
//! newest checkpoint. A failed trial is recorded with its failure class and
//! takes no further part; it never stops the sweep. Nothing here prints:
//! progress goes to the caller as [`SweepEvent`]s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use super::executor::{Executor, RungEnd, RungWork};
use super::local_pool::LocalPool;
use super::rung_message::{failure_of, Message};
use super::sweep_slurm::SlurmArrays;
use super::train::TrainJob;
use crate::error::{Error, Result};
use crate::fsutil::canonical_hash;
use crate::fsutil::write_atomic;
use crate::job::claim::{holder_name, try_lock, Lock, LOCK_FILE};
use crate::job::{Existing, Placement};
use crate::manifest::slurm::SlurmSpec;
use crate::manifest::sweep::{self as spec, BaseSpec, Mode, ParamValue, Scheduler};
use crate::manifest::{LoadedManifest, Manifest, SweepManifest};
use crate::runfolder::layout::trial_dir;
use crate::runfolder::{Failure, RunStatus};
use crate::sweep::ledger::{
    Ledger, ResultDraw, RungDecision, TrialEntry, TrialState, LEDGER, LEDGER_SCHEMA_VERSION, PLAN,
};
use crate::sweep::metric::{metric_at, missing, reached};
use crate::sweep::{decide, restarts, tpe_draw, SweepPlan, TrialPlan};
use crate::trainer::protocol::newest_checkpoint;
use crate::trainer::TrainerCommand;
use crate::workspace::Workspace;

/// What the coordinator reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub enum SweepEvent {
    /// The ledger was found: the sweep continues where it stopped.
    Resumed { decided_rungs: usize },
    /// These trials start (or continue) towards `rung`.
    RungStarted { rung: u32, trials: Vec<String> },
    /// A trial reached `step` (from its run, or found on disk).
    TrialReached {
        trial_id: String,
        step: u32,
        metric: Option<f64>,
        from_disk: bool,
    },
    /// A running trial's trainer reported a step.
    TrialProgress { trial_id: String, step: u64 },
    /// A trial's trainer failed and the trial runs again (retry `attempt`
    /// of its failure class), from its newest checkpoint.
    TrialRetrying {
        trial_id: String,
        failure: Failure,
        attempt: u32,
    },
    /// A trial's trainer failed.
    TrialFailed { trial_id: String, failure: Failure },
    /// The scheduler decided a rung.
    RungDecided(RungDecision),
    /// Slurm accepted a job array of these trials for `rung`.
    SlurmSubmitted {
        job_id: String,
        rung: u32,
        trials: Vec<String>,
    },
    /// A Slurm job of an earlier coordinator is still known to Slurm: this
    /// one follows it instead of submitting again.
    SlurmAttached { job_id: String },
    /// Ctrl-C cancelled the trial's job; it continues when the sweep runs
    /// again.
    TrialCancelled { trial_id: String },
    /// TPE drew these trials' values from the results of `observed`
    /// earlier trials.
    TrialsDrawn {
        trials: Vec<String>,
        observed: usize,
    },
}

use super::sweep::rebase_data_paths;
use super::sweep_promote::Finalist;
pub use super::sweep_promote::{Promoted, Withheld};

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
    let promote_to = super::sweep_promote::targets(ws, &loaded.path, sweep)?;
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
    let rungs = if plan.rungs.is_empty() {
        vec![max_steps(plan)]
    } else {
        plan.rungs.clone()
    };
    let plan_value = plan_json(plan, &rungs, sweep, mode);
    let identity = canonical_hash(&plan_value);
    let ledger_path = dir.join(LEDGER);
    // A folder of another plan is refused before anything is touched (the
    // ledger is only ever replaced whole, so reading it unlocked is safe).
    refuse_other_plan(ws, loaded, &ledger_path, &identity, &plan_value)?;
    if let Some(spec) = slurm {
        super::sweep_slurm::preflight(ws, spec).map_err(|e| e.with_path(&loaded.path))?;
    }
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("create the sweep folder", &dir, e))?;
    let _lock = match try_lock(&dir.join(LOCK_FILE))? {
        Lock::Held(file) => file,
        Lock::Busy { holder } => {
            return Err(Error::runtime(format!(
                "sweep is running in {} ({}); wait for it to finish",
                holder_name(holder.as_deref()),
                ws.display_path(&dir).display()
            )))
        }
    };

    let mut ledger = match Ledger::read(&ledger_path)? {
        Some(l) if l.identity != identity => {
            refuse_other_plan(ws, loaded, &ledger_path, &identity, &plan_value)?;
            l
        }
        Some(l) => {
            on_event(&SweepEvent::Resumed {
                decided_rungs: l.decisions.len(),
            });
            l
        }
        None => Ledger {
            schema_version: LEDGER_SCHEMA_VERSION,
            sweep: plan.name.clone(),
            identity,
            metric: sweep.spec.metric.clone(),
            mode,
            rungs: rungs.clone(),
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
        },
    };
    ledger.manifest = Some(ws.display_path(&loaded.path).display().to_string());
    let plan_path = dir.join(PLAN);
    if !plan_path.exists() {
        write_atomic(&plan_path, &crate::runfolder::to_json_bytes(&plan_value)?)?;
    }
    ledger.write(&ledger_path)?;

    let executor = executor(ws, sweep, trainer, &dir, plan, slurm, detach);
    let ctx = Context {
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
        executor: executor.as_ref(),
    };
    let reduction_factor = match &sweep.spec.scheduler {
        Scheduler::Asha(a) => a.reduction_factor,
        Scheduler::Hyperband(h) => h.reduction_factor,
        Scheduler::None => 2,
    };
    let last = rungs.last().copied().unwrap_or(0);
    // The brackets in the order they run; a sweep without Hyperband is one
    // bracket (`None`) over all rungs.
    let brackets: Vec<(Option<u32>, Vec<u32>)> = match plan.brackets.is_empty() {
        true => vec![(None, rungs.clone())],
        false => plan
            .brackets
            .iter()
            .map(|b| (Some(b.index), b.rungs.clone()))
            .collect(),
    };
    for (bracket, bracket_rungs) in &brackets {
        let first = bracket_rungs.first().copied().unwrap_or(0);
        for &rung in bracket_rungs {
            // A TPE sweep draws a bracket's trials batch by batch at its
            // first rung, each batch from the results before it.
            loop {
                if rung == first {
                    draw_due(sweep, &mut ledger, *bracket, rung, &ledger_path, on_event)?;
                }
                let at = Rung {
                    rung,
                    last,
                    bracket: *bracket,
                };
                if let Some(job_ids) = ctx.run_to(at, &mut ledger, &ledger_path, on_event)? {
                    return Ok(SweepOutcome {
                        dir: dir.clone(),
                        ledger,
                        promoted: None,
                        withheld: None,
                        detached: Some(job_ids),
                    });
                }
                let awaiting = ledger
                    .trials
                    .iter()
                    .any(|t| t.bracket == *bracket && t.is_awaiting_draw());
                if rung != first || !awaiting {
                    break;
                }
            }
            if rung == last || ledger.decision_in(*bracket, rung).is_some() {
                continue;
            }
            let decision = decide::rung(&mut ledger, *bracket, rung, reduction_factor);
            ledger.write(&ledger_path)?;
            on_event(&SweepEvent::RungDecided(decision));
        }
    }

    ledger.best = decide::best(&ledger, last);
    ledger.write(&ledger_path)?;

    let (mut promoted, mut withheld) = (None, None);
    if let (Some(best), Some(to)) = (&ledger.best, promote_to) {
        let files = match options.update_evidence {
            true => Vec::new(),
            false => super::sweep_promote::tracked(ws, &to),
        };
        if files.is_empty() {
            let finalist = Finalist {
                sweep_name: &plan.name,
                best,
                spec: ctx.trial(&ledger, &best.trial_id)?.spec,
                run_dir: trial_dir(&dir, &plan.name, &best.trial_id),
                evalset: ctx.evalset.as_deref(),
                data_dir: &ctx.data_dir,
            };
            let metric = (&ledger.metric, ledger.mode);
            super::sweep_promote::write_promoted(ws, sweep, &loaded.path, &finalist, metric, &to)?;
            if let Some(evidence) = &to.evidence {
                super::sweep_promote::write_evidence(&finalist.run_dir, best, evidence)?;
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
        return Box::new(SlurmArrays {
            ws,
            spec,
            sweep: &plan.name,
            dir,
            throttle: s.max_concurrent_trials,
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
    })
}

/// Draw the batch of a TPE sweep that is due (see
/// [`crate::sweep::tpe_draw`]) and record it in the ledger before any of
/// it runs.
fn draw_due(
    sweep: &SweepManifest,
    ledger: &mut Ledger,
    bracket: Option<u32>,
    rung: u32,
    ledger_path: &Path,
    on_event: &mut dyn FnMut(&SweepEvent),
) -> Result<()> {
    let batch = tpe_draw::next_batch(&sweep.spec, ledger.mode, &ledger.trials, bracket, rung);
    if batch.is_empty() {
        return Ok(());
    }
    for d in &batch {
        if let Some(t) = ledger.trial_mut(&d.trial_id) {
            t.params = d.params.clone();
            t.draw = Some(ResultDraw {
                drawn: true,
                observed: d.observed.clone(),
                pending: d.pending.clone(),
            });
        }
    }
    ledger.write(ledger_path)?;
    on_event(&SweepEvent::TrialsDrawn {
        trials: batch.iter().map(|d| d.trial_id.clone()).collect(),
        observed: batch.first().map_or(0, |d| d.observed.len()),
    });
    Ok(())
}

/// Refuse a sweep folder whose ledger holds another plan, naming the
/// keys that differ.
fn refuse_other_plan(
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
/// of its trials (each trial stops at its own, see [`Context::steps_at`]).
fn max_steps(plan: &SweepPlan) -> u32 {
    plan.trials
        .iter()
        .map(|t| t.spec.training.max_steps)
        .max()
        .unwrap_or(0)
}

/// What the plan's identity hashes: every trial's id, values and spec,
/// the rungs, the metric and the mode.
fn plan_json(
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

/// Where `run_to` brings trials: `rung` (of `last`, the final one) for
/// the trials of `bracket`.
#[derive(Debug, Clone, Copy)]
struct Rung {
    rung: u32,
    last: u32,
    bracket: Option<u32>,
}

struct Context<'a> {
    sweep: &'a SweepManifest,
    plan: &'a SweepPlan,
    dir: &'a Path,
    evalset: Option<PathBuf>,
    /// The folder the base config's relative data paths name files in.
    data_dir: PathBuf,
    manifest_path: &'a Path,
    command: &'a [String],
    executor: &'a dyn Executor,
}

impl Context<'_> {
    /// Bring every live trial to `rung`: take what is on disk, run the rest.
    /// Some(job ids) when the trials were left to Slurm (`--detach`).
    fn run_to(
        &self,
        at: Rung,
        ledger: &mut Ledger,
        ledger_path: &Path,
        on_event: &mut dyn FnMut(&SweepEvent),
    ) -> Result<Option<Vec<String>>> {
        let Rung {
            rung,
            last,
            bracket,
        } = at;
        let metric = ledger.metric.clone();
        let steps = self.steps_at(ledger, rung)?;
        let mut todo = Vec::new();
        for t in ledger.trials.iter_mut() {
            let here = t.bracket == bracket && !t.is_awaiting_draw();
            let step = steps.get(&t.trial_id).copied().unwrap_or(rung);
            if !here || !t.state.is_live() || t.last_step >= step {
                continue;
            }
            let run_dir = trial_dir(self.dir, &self.plan.name, &t.trial_id);
            if let Some((completed, value)) = reached(&run_dir, step, &metric) {
                let value = Some(value);
                t.reach(step, completed && rung == last, value);
                on_event(&SweepEvent::TrialReached {
                    trial_id: t.trial_id.clone(),
                    step,
                    metric: value,
                    from_disk: true,
                });
                continue;
            }
            let has_checkpoint = newest_checkpoint(&run_dir).is_some();
            restarts::record(t, rung, has_checkpoint);
            t.state = TrialState::Running;
            todo.push(t.trial_id.clone());
        }
        ledger.write(ledger_path)?;
        if todo.is_empty() {
            return Ok(None);
        }
        on_event(&SweepEvent::RungStarted {
            rung,
            trials: todo.clone(),
        });
        let jobs = todo
            .iter()
            .map(|id| {
                let step = steps.get(id).copied().unwrap_or(rung);
                self.job(&self.trial(ledger, id)?, step)
            })
            .collect::<Result<Vec<TrainJob>>>()?;
        let previous = ledger.slurm_jobs.clone();
        let mut handle = |trial_id: &str, message: Message| -> Result<()> {
            if let Message::Submitted(job) = message {
                on_event(&SweepEvent::SlurmSubmitted {
                    job_id: job.job_id.clone(),
                    rung: job.rung,
                    trials: job.trials.clone(),
                });
                ledger.slurm_jobs.push(job);
                return ledger.write(ledger_path);
            }
            if let Message::Attached(job_id) = message {
                on_event(&SweepEvent::SlurmAttached { job_id });
                return Ok(());
            }
            let trial_id = trial_id.to_string();
            let run_dir = trial_dir(self.dir, &self.plan.name, &trial_id);
            let Some(t) = ledger.trial_mut(&trial_id) else {
                return Ok(());
            };
            match message {
                Message::Progress(step) => {
                    on_event(&SweepEvent::TrialProgress { trial_id, step });
                    return Ok(());
                }
                Message::Submitted(_) | Message::Attached(_) => return Ok(()),
                Message::Cancelled => {
                    t.state = TrialState::Cancelled;
                    on_event(&SweepEvent::TrialCancelled { trial_id });
                }
                Message::Failed(failure) => {
                    t.state = TrialState::Failed;
                    t.failure = Some(failure.clone());
                    on_event(&SweepEvent::TrialFailed { trial_id, failure });
                }
                Message::Retrying { failure, attempt } => {
                    t.retried.push(failure.clone());
                    on_event(&SweepEvent::TrialRetrying {
                        trial_id,
                        failure,
                        attempt,
                    });
                }
                Message::Done(result) => match *result {
                    Ok(outcome) => {
                        let step = steps.get(&trial_id).copied().unwrap_or(rung);
                        let value = metric_at(&run_dir, step, &metric);
                        let never = value.is_none().then(|| missing(&run_dir, step, &metric));
                        if let Some(failure) = never.flatten() {
                            t.fail_at(step, failure.clone());
                            on_event(&SweepEvent::TrialFailed { trial_id, failure });
                            return ledger.write(ledger_path);
                        }
                        t.reach(step, outcome.status == RunStatus::Completed, value);
                        on_event(&SweepEvent::TrialReached {
                            trial_id,
                            step,
                            metric: value,
                            from_disk: false,
                        });
                    }
                    // Interrupted: the trial stays `running` in the ledger
                    // and resumes when the sweep runs again.
                    Err(e) if e.interrupted_by().is_some() => return Err(e),
                    Err(e) => {
                        let failure = failure_of(&run_dir, &e);
                        t.state = TrialState::Failed;
                        t.failure = Some(failure.clone());
                        on_event(&SweepEvent::TrialFailed { trial_id, failure });
                    }
                },
            }
            ledger.write(ledger_path)
        };
        let work = RungWork {
            rung,
            jobs,
            recorded: previous,
        };
        match self.executor.run_rung(work, &mut handle)? {
            RungEnd::Done => Ok(None),
            RungEnd::Detached { job_ids } => Ok(Some(job_ids)),
        }
    }

    /// Trial `trial_id` as it runs: the plan's, or, for a trial drawn from
    /// results, the base with the values the ledger recorded for it.
    fn trial(&self, ledger: &Ledger, trial_id: &str) -> Result<TrialPlan> {
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
    fn steps_at(&self, ledger: &Ledger, rung: u32) -> Result<BTreeMap<String, u32>> {
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
    fn job(&self, trial: &TrialPlan, rung: u32) -> Result<TrainJob> {
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
                dir: trial_dir(self.dir, &self.plan.name, &trial.trial_id),
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
