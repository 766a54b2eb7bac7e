//! A Train job: claim its run folder, start a trainer process on it
//! through the trainer protocol, turn the trainer's events into the run
//! record (log, metrics, scored evaluations, checkpoint hashes) and the
//! caller's progress display, and end the run as completed, stopped or
//! failed — or interrupted, when SIGINT or SIGTERM stopped the trainer
//! ([`crate::interrupt`]): the run records the step it reached and resumes
//! from its newest checkpoint when the job runs again.
//!
//! A run folder claimed fresh holds nothing until the trainer reports
//! `started`: a trainer that refuses its request (no CUDA device, too
//! little data) leaves no folder behind.

use std::collections::BTreeMap;

use super::hf_model;
use super::train_job::{job_identity, write_control_files};
pub use super::train_job::{prepare, read_job, TrainJob};
use super::{Observer, Outcome};
use crate::dataset::load_evalset;
use crate::error::{Error, Result};
use crate::evalset::EvalSet;
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::interrupt::Signal;
use crate::job::{self, Claim, Decision, RunRecord};
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{
    to_json_bytes, to_jsonl_bytes, CheckpointSource, EvalSummary, Failure, FileRef, Interruption,
    MetricRecord, RunKind, RunManifest, RunStatus, EVAL_ITEMS, EVAL_SUMMARY,
};
use crate::trainer::protocol::{
    newest_checkpoint, Event, Failed, FailureClass, Outputs, Started, PROTOCOL_VERSION,
};
use crate::trainer::{process, ResumePoint, TrainerCommand, TrainerRequest};
use crate::workspace::Workspace;

/// Lines of the trainer's stderr quoted in a crash's error message.
const CRASH_TAIL: usize = 12;

/// Run the job with the trainer `trainer`, reporting progress to
/// `observer`.
pub fn execute(
    ws: &Workspace,
    job: &TrainJob,
    trainer: &TrainerCommand,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    // From here on SIGINT and SIGTERM end the run as interrupted.
    crate::interrupt::catch();
    let max_steps = job.spec.training.max_steps;
    let until_step = job.until_step.unwrap_or(max_steps);
    if until_step == 0 || until_step > max_steps {
        return Err(Error::bad_input(format!(
            "until step {until_step} is outside 1..={max_steps} (training.max_steps)"
        ))
        .with_path(&job.manifest_path));
    }
    let evalset = job
        .evalset
        .as_deref()
        .map(|p| load_evalset(ws, p))
        .transpose()?;
    let evalset_ref = evalset.as_ref().map(|e| FileRef {
        path: ws.display_path(&e.path).display().to_string(),
        blake3: e.blake3.clone(),
    });
    let (start, identity) = job_identity(ws, job, evalset.as_ref(), evalset_ref.as_ref())?;
    let init = start.init;
    let claim = job::claim(&job.placement, RunKind::Train, &identity)?;
    let resume = match &claim.decision {
        Decision::Fresh => None,
        Decision::Resume { .. } => newest_checkpoint(&claim.dir),
    };
    match (&claim.decision, &resume) {
        (Decision::Fresh, _) => tracing::info!("{}: fresh run to step {until_step}", claim.run_id),
        (_, Some(r)) => tracing::info!(
            "{}: resuming from checkpoint step {} to step {until_step}",
            claim.run_id,
            r.step
        ),
        (_, None) => tracing::info!(
            "{}: unfinished run without a checkpoint; restarting from step 0",
            claim.run_id
        ),
    }
    if let Decision::Resume { previous } = &claim.decision {
        observer.note(&format!(
            "resuming the {} run {} {}",
            previous.status.as_str(),
            ws.display_path(&claim.dir).display(),
            resume.as_ref().map_or_else(
                || "from step 0 (it has no checkpoint)".to_string(),
                |r| format!("from its checkpoint at step {}", r.step)
            )
        ));
    }
    if let Some(r) = resume.as_ref().filter(|r| r.step > until_step) {
        return Err(Error::bad_input(format!(
            "run {} is already at step {}, past the requested until step {until_step}",
            claim.run_id, r.step
        )));
    }
    let request = TrainerRequest {
        protocol: PROTOCOL_VERSION,
        run_dir: claim.dir.clone(),
        workspace: ws.root().to_path_buf(),
        spec: job.spec.clone(),
        evalset: job.evalset.clone(),
        until_step,
        resume: resume.clone(),
        identity: identity.clone(),
        manifest: job.manifest_path.clone(),
        trial_id: job.trial_id.clone(),
        init: init.clone(),
        model_dir: start.pretrained.as_ref().map(|p| p.base.dir.clone()),
        prompt_template: start.pretrained.as_ref().and_then(|p| p.frame.clone()),
    };
    let request_path = match write_control_files(&claim, job, &request) {
        Ok(path) => path,
        Err(e) => {
            claim.abandon();
            return Err(e);
        }
    };
    let mut manifest = RunManifest::new(&claim.run_id, RunKind::Train, &job.name, &now_rfc3339());
    manifest.labels = job.labels.clone();
    manifest.git = git_info(ws.root());
    manifest.config = job.config.clone();
    manifest.command = job.command.clone();
    manifest.seed = Some(job.spec.training.seed);
    manifest.tuning_job_id = job.tuning_job_id.clone();
    manifest.trial_id = job.trial_id.clone();
    manifest.config_hash = Some(identity);
    manifest.evalset = evalset_ref.clone();
    if let (Some(p), Some(config)) = (&start.pretrained, manifest.config.as_object_mut()) {
        config.insert(hf_model::RECORD_KEY.into(), p.base.record(ws));
        config.insert("prompt_format".into(), p.format.clone());
    }
    manifest.init = init.as_ref().map(|p| CheckpointSource {
        run_id: p.run_id.clone(),
        step: p.step,
        blake3: p.model_blake3.clone(),
    });
    let settings = job.spec.eval.as_ref().map(|e| EvalSettings {
        extraction: e.answer_extraction.clone(),
        equivalence: e.equivalence,
        seed: crate::scoring::DEFAULT_BOOTSTRAP_SEED,
    });
    let mut run = Coordinator {
        job,
        shown_dir: ws.display_path(&claim.dir).display().to_string(),
        last_step: 0,
        phase: Phase::Claimed {
            claim,
            manifest: Box::new(manifest),
            pending_log: Vec::new(),
        },
        resume,
        evalset,
        evalset_ref,
        settings,
        scores: BTreeMap::new(),
        summary: None,
        notes: Vec::new(),
        finished: None,
        failed: None,
        observer,
    };
    let exit = process::run(trainer, &request_path, |event| run.handle(event));
    run.conclude(exit, trainer)
}

/// Where the run stands while the trainer runs.
enum Phase {
    /// The folder is claimed; nothing is recorded until `started`.
    Claimed {
        claim: Claim,
        manifest: Box<RunManifest>,
        pending_log: Vec<String>,
    },
    Recording(Box<RunRecord>),
    /// Transient, while moving from one phase to the next.
    Moving,
}

struct Coordinator<'a> {
    job: &'a TrainJob,
    /// The run folder, as messages show it.
    shown_dir: String,
    /// The newest step the trainer reported.
    last_step: u64,
    phase: Phase,
    resume: Option<ResumePoint>,
    evalset: Option<EvalSet>,
    /// The eval set as the run manifest names it (workspace-relative).
    evalset_ref: Option<FileRef>,
    settings: Option<EvalSettings>,
    /// primary_score of each evaluated step.
    scores: BTreeMap<u32, Option<f64>>,
    summary: Option<EvalSummary>,
    notes: Vec<String>,
    finished: Option<u32>,
    failed: Option<Failed>,
    observer: &'a mut dyn Observer,
}

impl Coordinator<'_> {
    fn handle(&mut self, event: Event) -> Result<()> {
        match &event {
            Event::Started(started) => self.start(started)?,
            Event::Log { message } => self.log(message)?,
            Event::Metrics(record) => {
                let mut record = record.clone();
                if record.primary_score.is_none() {
                    record.primary_score = u32::try_from(record.step)
                        .ok()
                        .and_then(|s| self.scores.get(&s).copied().flatten());
                }
                let record_event = Event::Metrics(record.clone());
                self.last_step = self.last_step.max(record.step);
                let max = self.job.spec.training.max_steps;
                self.recording()?.append_metric(&record)?;
                self.log(&format!(
                    "step {}/{max} {}",
                    record.step,
                    status_line(&record)
                ))?;
                self.observer.event(&record_event);
                return Ok(());
            }
            Event::Outputs(outputs) => self.score(outputs)?,
            Event::Checkpoint(c) => {
                let files = c.files.clone();
                let step = c.step;
                let run = self.recording()?;
                run.files_written(files)?;
                run.log(&format!("checkpoint step {step} complete"))?;
            }
            Event::Finished { step } => self.finished = Some(*step),
            Event::Failed(f) => self.failed = Some(f.clone()),
            Event::EvalProgress { .. } => {}
        }
        self.observer.event(&event);
        Ok(())
    }

    fn start(&mut self, started: &Started) -> Result<()> {
        let Phase::Claimed {
            claim,
            mut manifest,
            pending_log,
        } = std::mem::replace(&mut self.phase, Phase::Moving)
        else {
            return Err(Error::runtime("the trainer reported `started` twice"));
        };
        let expected = self.resume.as_ref().map_or(0, |r| r.step);
        if started.start_step != expected {
            return Err(Error::runtime(format!(
                "the trainer started at step {} but was asked to start at step {expected}",
                started.start_step
            )));
        }
        manifest.device = started.device.clone();
        manifest.libtorch_version = started.framework_version.clone();
        manifest.model_id = started.model_id.clone();
        manifest.dataset = started.dataset.clone();
        let resuming = matches!(claim.decision, Decision::Resume { .. });
        let mut run = RunRecord::begin(claim, *manifest)?;
        if resuming {
            run.truncate_metrics(u64::from(expected))?;
            run.discard(EVAL_ITEMS)?;
            run.discard(EVAL_SUMMARY)?;
            match &self.resume {
                Some(r) => run.log(&format!("resumed from checkpoint step {}", r.step))?,
                None => run.log("restarted from step 0: the unfinished run has no checkpoint")?,
            }
        }
        for line in pending_log.iter().chain(&started.notes) {
            run.log(line)?;
        }
        run.log(&format!(
            "trainer on {} ({}): {} with {} parameters, from step {}",
            started.device,
            started.framework_version,
            started.model_id,
            started.parameters,
            started.start_step
        ))?;
        self.notes.extend(started.notes.iter().cloned());
        self.phase = Phase::Recording(Box::new(run));
        Ok(())
    }

    fn log(&mut self, message: &str) -> Result<()> {
        match &mut self.phase {
            Phase::Recording(run) => run.log(message),
            Phase::Claimed { pending_log, .. } => {
                pending_log.push(message.to_string());
                self.observer.note(message);
                Ok(())
            }
            Phase::Moving => Ok(()),
        }
    }

    fn recording(&mut self) -> Result<&mut RunRecord> {
        match &mut self.phase {
            Phase::Recording(run) => Ok(run),
            _ => Err(Error::runtime(
                "the trainer reported progress before `started`",
            )),
        }
    }

    /// Score the trainer's outputs; the last evaluation becomes the run's
    /// eval files.
    fn score(&mut self, outputs: &Outputs) -> Result<()> {
        let (Some(set), Some(settings)) = (&self.evalset, &self.settings) else {
            return self.log(&format!(
                "ignored outputs at step {}: the job has no eval section",
                outputs.step
            ));
        };
        let records = score_items(&set.items, &outputs.outputs, settings);
        let empty: Vec<String> = outputs
            .outputs
            .iter()
            .filter(|(_, o)| o.is_empty())
            .map(|(id, _)| id.clone())
            .collect();
        let evalset_ref = self.evalset_ref.clone().unwrap_or_else(|| FileRef {
            path: set.path.display().to_string(),
            blake3: set.blake3.clone(),
        });
        let summary = summarize(&records, &set.items, evalset_ref, empty, settings);
        self.scores.insert(outputs.step, summary.primary_score);
        if !outputs.last {
            return Ok(());
        }
        let items = to_jsonl_bytes(&records)?;
        let summary_bytes = to_json_bytes(&summary)?;
        let run = self.recording()?;
        run.publish(EVAL_ITEMS, &items)?;
        run.publish(EVAL_SUMMARY, &summary_bytes)?;
        let mut line = format!(
            "evaluated {} items: primary_score {}",
            summary.n_items,
            summary
                .primary_score
                .map_or("null".into(), |s| format!("{s:.4}"))
        );
        if !outputs.truncated_prompts.is_empty() {
            line.push_str(&format!(
                "; {} prompt(s) longer than the context lost their start",
                outputs.truncated_prompts.len()
            ));
        }
        run.log(&line)?;
        self.summary = Some(summary);
        Ok(())
    }

    /// End the run from how the trainer process ended.
    fn conclude(
        mut self,
        exit: Result<process::TrainerExit>,
        trainer: &TrainerCommand,
    ) -> Result<Outcome> {
        let manifest_path = self.job.manifest_path.clone();
        let signal = match &exit {
            Ok(exit) => exit.interrupted,
            Err(e) => e.interrupted_by(),
        };
        if let Some(signal) = signal {
            return self.interrupted(signal);
        }
        let (failure, error) = match exit {
            Err(e) => (
                Failure {
                    class: FailureClass::Crash.as_str().to_string(),
                    message: e.to_string(),
                },
                e,
            ),
            Ok(exit) => {
                if !exit.stderr_tail.is_empty() {
                    let text = exit.stderr_tail.join("\n");
                    self.log(&format!("trainer stderr:\n{text}"))?;
                }
                if exit.timed_out {
                    self.failed = Some(Failed {
                        class: FailureClass::Timeout,
                        message: format!(
                            "the trainer ran past its timeout of {}; its process group was stopped (SIGTERM, then SIGKILL after {:.0?})",
                            trainer.timeout.map_or("?".into(), |t| format!("{:.0?}", t)),
                            crate::interrupt::grace()
                        ),
                    });
                }
                match (self.failed.take(), self.finished) {
                    (None, Some(step)) if exit.status.success() => {
                        return self.complete(step);
                    }
                    (Some(f), _) => {
                        let error = if f.class.is_bad_input() {
                            Error::bad_input(f.message.clone())
                        } else {
                            Error::runtime(f.message.clone())
                        }
                        .with_path(&manifest_path);
                        (
                            Failure {
                                class: f.class.as_str().to_string(),
                                message: f.message,
                            },
                            error,
                        )
                    }
                    (None, _) => {
                        let start = exit.stderr_tail.len().saturating_sub(CRASH_TAIL);
                        let message = format!(
                            "the trainer exited ({}) without finishing{}",
                            exit.status,
                            if exit.stderr_tail.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    "; its last output:\n{}",
                                    exit.stderr_tail[start..].join("\n")
                                )
                            }
                        );
                        (
                            Failure {
                                class: FailureClass::Crash.as_str().to_string(),
                                message: message.clone(),
                            },
                            Error::runtime(message),
                        )
                    }
                }
            }
        };
        match std::mem::replace(&mut self.phase, Phase::Moving) {
            Phase::Recording(run) => {
                run.log(&format!("failed ({}): {}", failure.class, failure.message))?;
                run.finish(RunStatus::Failed, Some(failure))?;
            }
            Phase::Claimed { claim, .. } => claim.abandon(),
            Phase::Moving => {}
        }
        Err(error)
    }

    /// End the run stopped by `signal`: record where it stopped, and say
    /// how to resume it.
    fn interrupted(mut self, signal: Signal) -> Result<Outcome> {
        let max_steps = self.job.spec.training.max_steps;
        let run = match std::mem::replace(&mut self.phase, Phase::Moving) {
            Phase::Recording(run) => run,
            Phase::Claimed { claim, .. } => {
                claim.abandon();
                return Err(Error::interrupted(
                    signal,
                    format!(
                        "interrupted by {signal} before the trainer started; nothing was recorded"
                    ),
                ));
            }
            Phase::Moving => {
                return Err(Error::interrupted(
                    signal,
                    format!("interrupted by {signal}"),
                ))
            }
        };
        let step = self.last_step;
        let resume_step = newest_checkpoint(run.dir()).map(|c| c.step);
        let from = resume_step.map_or_else(
            || "from step 0 (no checkpoint yet)".to_string(),
            |s| format!("from its checkpoint at step {s}"),
        );
        run.log(&format!(
            "interrupted by {signal} at step {step} of {max_steps}; running the job again resumes {from}"
        ))?;
        let mut run = run;
        run.manifest_mut().interruption = Some(Interruption {
            signal: signal.as_str().to_string(),
            step,
            resume_step,
        });
        run.finish(RunStatus::Interrupted, None)?;
        Err(Error::interrupted(
            signal,
            format!(
                "interrupted by {signal} at step {step} of {max_steps}: {} is recorded as interrupted; to resume {from}, run: {}",
                self.shown_dir,
                crate::interrupt::rerun_command(&self.job.command)
            ),
        ))
    }

    fn complete(mut self, step: u32) -> Result<Outcome> {
        let max_steps = self.job.spec.training.max_steps;
        let Phase::Recording(run) = std::mem::replace(&mut self.phase, Phase::Moving) else {
            return Err(Error::runtime(
                "the trainer finished without reporting `started`",
            ));
        };
        let status = if step >= max_steps {
            run.log("run complete")?;
            RunStatus::Completed
        } else {
            run.log(&format!(
                "stopped at step {step} of {max_steps}; running the job again continues it"
            ))?;
            RunStatus::Stopped
        };
        let run_dir = run.finish(status, None)?;
        Ok(Outcome {
            run_dir,
            status,
            summary: self.summary,
            notes: self.notes,
        })
    }
}

/// The status of a metrics record as one line: loss, learning rate,
/// throughput, validation loss and score when measured, then every other
/// metric by name.
pub fn status_line(r: &MetricRecord) -> String {
    let mut parts = Vec::new();
    if let Some(loss) = r.loss {
        parts.push(format!("loss {loss:.4}"));
    }
    if let Some(lr) = r.lr {
        parts.push(format!("lr {lr:.2e}"));
    }
    if let Some(t) = r.tokens_per_s {
        parts.push(format!("{t:.0} tok/s"));
    }
    if let Some(v) = r.val_loss {
        parts.push(format!("val {v:.4}"));
    }
    if let Some(s) = r.primary_score {
        parts.push(format!("score {s:.4}"));
    }
    for (name, value) in &r.extra {
        parts.push(format!("{name} {value:.4}"));
    }
    parts.join(" ")
}
