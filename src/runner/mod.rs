//! Executing a loaded manifest: plan the job from the manifest, then run it
//! through the run lifecycle ([`crate::job`]) — Eval jobs score here,
//! Train jobs run in a trainer process ([`crate::trainer`]), handed to the
//! executors a sweep's trials use as a sweep of one (the local pool, or
//! Slurm). Only this module and the store do I/O on behalf of a job;
//! nothing here opens the index or prints.

pub mod chat_template;
pub mod checkpoint_eval;
pub mod coordinator;
mod decode;
pub mod eval;
mod executor;
pub mod hf_eval;
pub mod hf_export;
pub mod hf_model;
mod local_pool;
mod retry;
mod rung_message;
mod slurm_judge;
mod slurm_shape;
mod slurm_track;
pub mod source_checkpoint;
pub mod sweep;
pub mod sweep_promote;
pub mod sweep_slurm;
pub mod train;
mod train_job;
mod train_run;
pub mod train_slurm;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::evaluate::EvalSettings;
use crate::job::Placement;
use crate::manifest::common::Output;
use crate::manifest::eval::ModelSource;
use crate::manifest::{LoadedManifest, Manifest};
use crate::runfolder::{EvalSummary, RunStatus};
use crate::trainer::{Event, TrainerCommand};
use crate::workspace::Workspace;

pub use checkpoint_eval::{eval_checkpoint, CheckpointEval};
pub use eval::{eval_predictions, PredictionsEval};
pub use hf_eval::{eval_hf, HfEval};
pub use sweep::{sweep_plan, SweepJob};
pub use train::TrainJob;

/// What a finished job produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub run_dir: PathBuf,
    /// `completed`, or `stopped` for a Train job run to an earlier step.
    pub status: RunStatus,
    /// The evaluation's summary; none for a Train job without an eval section.
    pub summary: Option<EvalSummary>,
    /// Things the user should know (e.g. a device fallback).
    pub notes: Vec<String>,
}

/// Sees a job's progress: the binary turns it into a progress bar or
/// plain lines. Metrics events arrive with the coordinator's scores filled in.
pub trait Observer {
    fn event(&mut self, event: &Event);

    /// Something the user should know now (e.g. that the run resumes).
    fn note(&mut self, _message: &str) {}

    /// What a sweep's coordinator did (a Sweep job's progress).
    fn sweep(&mut self, _event: &coordinator::SweepEvent) {}
}

/// An observer that shows nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn event(&mut self, _event: &Event) {}
}

/// The job a loaded manifest describes.
#[derive(Debug, Clone)]
pub enum Job {
    Eval(Box<PredictionsEval>),
    CheckpointEval(Box<CheckpointEval>),
    HfEval(Box<HfEval>),
    Train(Box<TrainJob>),
    Sweep(Box<SweepJob>),
}

/// Plan the job of a loaded manifest: resolve its paths and settings.
pub fn plan(ws: &Workspace, loaded: &LoadedManifest, command: Vec<String>) -> Result<Job> {
    let resolve = |p: &Path| {
        ws.resolve(&loaded.path, p)
            .map_err(|e| Error::bad_input(e.to_string()).with_path(&loaded.path))
    };
    // `output.root` (default submission_runs/) holds `output.name` (default
    // metadata.name), numbered when taken.
    let placement = |output: &Output, metadata_name: &str| -> Result<Placement> {
        Ok(Placement::Numbered {
            root: match &output.root {
                Some(r) => resolve(r)?,
                None => ws.root().join("submission_runs"),
            },
            name: output
                .name
                .clone()
                .unwrap_or_else(|| metadata_name.to_string()),
        })
    };
    match &loaded.manifest {
        Manifest::Eval(m) => {
            let spec = &m.spec;
            let settings = EvalSettings {
                extraction: spec.answer_extraction.clone(),
                equivalence: spec.equivalence,
                seed: crate::scoring::DEFAULT_BOOTSTRAP_SEED,
            };
            let name = spec
                .output
                .name
                .clone()
                .unwrap_or_else(|| m.metadata.name.clone());
            let predictions = match &spec.model {
                ModelSource::Predictions(p) => resolve(p)?,
                ModelSource::Hf(dir) => {
                    return Ok(Job::HfEval(Box::new(HfEval {
                        name,
                        labels: m.metadata.labels.clone(),
                        model_dir: resolve(dir)?,
                        evalset: resolve(&spec.evalset)?,
                        decoding: spec.decoding.clone(),
                        device: spec.device,
                        settings,
                        placement: placement(&spec.output, &m.metadata.name)?,
                        config: serde_json::to_value(m).unwrap_or_default(),
                        command,
                        fine_tuned: None,
                    })));
                }
                ModelSource::Checkpoint(c) => {
                    let run = c.run.to_string_lossy();
                    let source = source_checkpoint::source_folder(ws, &loaded.path, &run)
                        .map_err(|e| e.with_path(&loaded.path))?;
                    return Ok(Job::CheckpointEval(Box::new(CheckpointEval {
                        name,
                        labels: m.metadata.labels.clone(),
                        source,
                        step: c.step,
                        evalset: resolve(&spec.evalset)?,
                        decoding: Some(spec.decoding.clone()),
                        device: (!spec.device.is_auto()).then_some(spec.device),
                        settings: Some(settings),
                        placement: placement(&spec.output, &m.metadata.name)?,
                        config: serde_json::to_value(m).unwrap_or_default(),
                        command,
                    })));
                }
            };
            Ok(Job::Eval(Box::new(PredictionsEval {
                name,
                labels: m.metadata.labels.clone(),
                evalset: resolve(&spec.evalset)?,
                predictions,
                settings,
                placement: placement(&spec.output, &m.metadata.name)?,
                config: serde_json::to_value(m).unwrap_or_default(),
                command,
            })))
        }
        Manifest::Train(m) => {
            let spec = &m.spec;
            Ok(Job::Train(Box::new(TrainJob {
                name: m.metadata.name.clone(),
                labels: m.metadata.labels.clone(),
                spec: spec.clone(),
                evalset: spec
                    .eval
                    .as_ref()
                    .map(|e| resolve(&e.evalset))
                    .transpose()?,
                placement: placement(&spec.output, &m.metadata.name)?,
                config: serde_json::to_value(m).unwrap_or_default(),
                command,
                manifest_path: loaded.path.clone(),
                tuning_job_id: None,
                trial_id: None,
                until_step: None,
            })))
        }
        Manifest::Sweep(_) => Ok(Job::Sweep(Box::new(SweepJob {
            loaded: loaded.clone(),
            plan: sweep_plan(ws, loaded)?,
            command,
            update_evidence: false,
        }))),
    }
}

/// The refusal of a Sweep where one job is wanted (a determinism check, a
/// job run without its coordinator).
pub fn not_a_single_job(loaded: &LoadedManifest) -> Error {
    Error::bad_input(
        "a Sweep manifest is not a single job; run it with `tunix-rt run` (runner::coordinator), or see its trials with `--plan`",
    )
    .with_path(&loaded.path)
}

/// How [`run`] runs a job.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    /// Submit a Train job or a Sweep with `executor: slurm` and return
    /// without waiting for it.
    pub detach: bool,
}

/// How a job ran.
#[derive(Debug)]
pub enum Ran {
    /// It ran to its end (completed, stopped or failed: the outcome says).
    Done(Box<Outcome>),
    /// It was handed to Slurm (`detach`) and runs without a coordinator.
    Detached(train_slurm::SlurmTrain),
    /// A Sweep ran (or, with `detach`, its jobs were submitted: the
    /// outcome says).
    Swept(Box<coordinator::SweepOutcome>),
}

/// Run a planned job where its manifest says — the one entry point of
/// `tunix-rt run`. A Sweep goes to its coordinator ([`coordinator`]; the
/// observer sees its events), which runs the trials on an executor. A
/// Train job runs as a sweep of one on the same executors ([`train_run`]):
/// the local pool (one slot, nothing pinned), or, with `executor: slurm`,
/// one Slurm job followed to its end (attaching to the job an earlier
/// `run` submitted when Slurm still lists it) or, with `options.detach`,
/// left to run. An Eval runs here, in a decoder process or none
/// ([`execute`]).
pub fn run(
    ws: &Workspace,
    job: &Job,
    options: RunOptions,
    observer: &mut dyn Observer,
) -> Result<Ran> {
    match job {
        Job::Sweep(s) => {
            let options = coordinator::SweepOptions {
                detach: options.detach,
                update_evidence: s.update_evidence,
            };
            let trainer = sweep::trainer(&s.plan)?;
            let mut on_event = |event: &coordinator::SweepEvent| observer.sweep(event);
            Ok(Ran::Swept(Box::new(coordinator::run_sweep(
                ws,
                &s.loaded,
                &s.plan,
                &trainer,
                &s.command,
                options,
                &mut on_event,
            )?)))
        }
        Job::Train(t) if !t.spec.executor.is_local() => {
            train_slurm::run(ws, t, options.detach, observer)
        }
        Job::Train(t) if options.detach => Err(Error::bad_input(
            "--detach needs `executor: slurm` (a local job runs in this process)",
        )
        .with_path(&t.manifest_path)),
        _ if options.detach => Err(Error::bad_input(
            "--detach needs a Train job with `executor: slurm` (an Eval runs in this process)",
        )),
        Job::Train(t) => Ok(Ran::Done(Box::new(train_run::run_local(ws, t, observer)?))),
        _ => Ok(Ran::Done(Box::new(execute(ws, job, observer)?))),
    }
}

/// Run a planned job here. Train jobs run in their trainer process
/// ([`trainer_for`]).
pub fn execute(ws: &Workspace, job: &Job, observer: &mut dyn Observer) -> Result<Outcome> {
    match job {
        Job::Eval(e) => eval_predictions(ws, e),
        Job::CheckpointEval(c) => {
            eval_checkpoint(ws, c, &builtin_decoder()?, &builtin_hf_decoder()?, observer)
        }
        Job::HfEval(h) => eval_hf(ws, h, &builtin_hf_decoder()?, observer),
        Job::Train(t) => train::execute(ws, t, &trainer_for(&t.spec)?, observer),
        Job::Sweep(s) => Err(not_a_single_job(&s.loaded)),
    }
}

/// The built-in trainer: the `tunix-rt-worker` executable's `train`
/// command.
pub fn builtin_trainer() -> Result<TrainerCommand> {
    Ok(TrainerCommand::new(
        crate::trainer::locate::worker()?,
        &["train"],
    ))
}

/// The built-in checkpoint decoder: the `tunix-rt-worker` executable's
/// `generate` command.
pub fn builtin_decoder() -> Result<TrainerCommand> {
    Ok(TrainerCommand::new(
        crate::trainer::locate::worker()?,
        &["generate"],
    ))
}

/// The built-in Hugging Face decoder: the `tunix-rt-worker` executable's
/// `generate-hf` command.
pub fn builtin_hf_decoder() -> Result<TrainerCommand> {
    Ok(TrainerCommand::new(
        crate::trainer::locate::worker()?,
        &["generate-hf"],
    ))
}

/// The built-in exporter of fine-tuned Hugging Face models: the
/// `tunix-rt-worker` executable's `export-hf` command.
pub fn builtin_hf_exporter() -> Result<TrainerCommand> {
    Ok(TrainerCommand::new(
        crate::trainer::locate::worker()?,
        &["export-hf"],
    ))
}

/// The trainer of `spec`: the shim that runs its `command` (this very
/// executable's `command-trainer`), else the built-in worker.
pub fn trainer_for(spec: &crate::manifest::train::TrainSpec) -> Result<TrainerCommand> {
    if spec.command.is_none() {
        return builtin_trainer();
    }
    let exe = std::env::current_exe()
        .map_err(|e| Error::runtime("cannot find the tunix-rt executable").with_source(e))?;
    Ok(TrainerCommand::new(exe, &["command-trainer"]))
}
