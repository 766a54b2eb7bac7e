//! Running a decoding worker for an Eval run and finishing the run: the
//! run folder is written once the worker has started, its outputs are
//! scored like any predictions, and a failure or an interruption is
//! recorded in the run. Shared by the evaluations of built-in checkpoints
//! and of Hugging Face models.

use crate::error::{Error, Result};
use crate::evalset::EvalItem;
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::job::{Claim, RunRecord};
use crate::runfolder::{Failure, FileRef, RunManifest, RunStatus};
use crate::trainer::protocol::{Event, Outputs};
use crate::trainer::{process, TrainerCommand};

use super::eval::publish_scores;
use super::{Observer, Outcome};

/// Score the outputs a worker decoded, publish them and finish the run:
/// the end every eval decoded in the worker shares (`decoded_by` says in
/// the run log what decoded them).
pub(super) fn finish_decoded(
    mut run: RunRecord,
    outputs: &Outputs,
    items: &[EvalItem],
    evalset_ref: FileRef,
    settings: &EvalSettings,
    decoded_by: &str,
) -> Result<Outcome> {
    let records = score_items(items, &outputs.outputs, settings);
    let empty = outputs
        .outputs
        .iter()
        .filter(|(_, o)| o.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    let summary = summarize(&records, items, evalset_ref, empty, settings);
    let mut line = format!("decoded {} items with {decoded_by}", outputs.outputs.len());
    let cut = &outputs.truncated_prompts;
    if !cut.is_empty() {
        let shown: Vec<&str> = cut.iter().take(10).map(String::as_str).collect();
        line.push_str(&format!(
            "; {} prompt(s) longer than the model's positions lost their start: {}{}",
            cut.len(),
            shown.join(", "),
            if cut.len() > shown.len() { ", ..." } else { "" }
        ));
    }
    run.log(&line)?;
    publish_scores(&mut run, &records, &summary)?;
    let run_dir = run.finish(RunStatus::Completed, None)?;
    Ok(Outcome {
        run_dir,
        status: RunStatus::Completed,
        summary: Some(summary),
        notes: Vec::new(),
    })
}

/// Run `worker` on the request at `request_path`: the run folder is
/// written from `claim` and `manifest` once the worker has started; returns
/// the run (still open) and the outputs, or records the failure or the
/// interruption (`command` is how to rerun) and returns the error.
pub(super) fn decode_in_worker(
    worker: &TrainerCommand,
    request_path: &std::path::Path,
    claim: Claim,
    manifest: RunManifest,
    command: &[String],
    observer: &mut dyn Observer,
) -> Result<(RunRecord, Outputs)> {
    let mut session = Session {
        claim: Some(claim),
        manifest: Some(manifest),
        run: None,
        outputs: None,
        failed: None,
        observer,
    };
    let exit = process::run(worker, request_path, |e| session.handle(e));
    let signal = match &exit {
        Ok(exit) => exit.interrupted,
        Err(e) => e.interrupted_by(),
    };
    if let Some(signal) = signal {
        let message = format!(
            "interrupted by {signal} while decoding; to evaluate, run: {}",
            crate::interrupt::rerun_command(command)
        );
        match session.run.take() {
            Some(run) => {
                run.finish(RunStatus::Interrupted, None)?;
            }
            None => {
                if let Some(claim) = session.claim.take() {
                    claim.abandon();
                }
            }
        }
        return Err(Error::interrupted(signal, message));
    }
    let Some(run) = session.run.take() else {
        if let Some(claim) = session.claim.take() {
            claim.abandon();
        }
        return Err(worker_error(exit, session.failed.take()));
    };
    let outputs = match (exit, session.outputs.take(), session.failed.take()) {
        (Ok(e), Some(o), None) if e.status.success() => o,
        (exit, _, failed) => {
            let e = worker_error(exit, failed);
            run.finish(
                RunStatus::Failed,
                Some(Failure {
                    class: "crash".into(),
                    message: e.to_string(),
                }),
            )?;
            return Err(e);
        }
    };
    Ok((run, outputs))
}

/// Where the worker's events go while it decodes.
struct Session<'a> {
    claim: Option<Claim>,
    manifest: Option<RunManifest>,
    run: Option<RunRecord>,
    outputs: Option<Outputs>,
    failed: Option<crate::trainer::protocol::Failed>,
    observer: &'a mut dyn Observer,
}

impl Session<'_> {
    fn handle(&mut self, event: Event) -> Result<()> {
        match &event {
            Event::Started(s) => {
                let (Some(claim), Some(mut manifest)) = (self.claim.take(), self.manifest.take())
                else {
                    return Err(Error::runtime("the worker reported `started` twice"));
                };
                manifest.device = s.device.clone();
                manifest.libtorch_version = s.framework_version.clone();
                let run = RunRecord::begin(claim, manifest)?;
                for note in &s.notes {
                    run.log(note)?;
                }
                run.log(&format!(
                    "decoding on {} ({})",
                    s.device, s.framework_version
                ))?;
                self.run = Some(run);
            }
            Event::Log { message } => {
                if let Some(run) = self.run.as_mut() {
                    run.log(message)?;
                }
            }
            Event::Outputs(o) => self.outputs = Some(o.clone()),
            Event::Failed(f) => self.failed = Some(f.clone()),
            _ => {}
        }
        self.observer.event(&event);
        Ok(())
    }
}

/// The error of a worker that did not deliver its outputs.
pub(super) fn worker_error(
    exit: Result<process::TrainerExit>,
    failed: Option<crate::trainer::protocol::Failed>,
) -> Error {
    match (exit, failed) {
        (_, Some(f)) if f.class == crate::trainer::FailureClass::BadConfig => {
            Error::bad_input(f.message)
        }
        (_, Some(f)) => Error::runtime(f.message),
        (Err(e), None) => e,
        (Ok(exit), None) => Error::runtime(format!(
            "the worker exited ({}) without outputs{}",
            exit.status,
            exit.stderr_tail
                .last()
                .map_or(String::new(), |l| format!("; last line: {l}"))
        )),
    }
}

/// Write a decoding worker's `request` into `claim`'s control folder;
/// the claim is given up when that fails. The request file's path.
pub(super) fn write_request<T: serde::Serialize>(
    claim: &Claim,
    request: &T,
) -> Result<std::path::PathBuf> {
    let path = claim
        .dir
        .join(crate::runfolder::layout::CONTROL_DIR)
        .join(crate::runfolder::layout::REQUEST);
    crate::fsutil::write_atomic(&path, &crate::runfolder::to_json_bytes(request)?)?;
    Ok(path)
}
