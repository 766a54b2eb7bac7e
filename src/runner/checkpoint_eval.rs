//! Evaluating a checkpoint of a Train run on an eval set: the built-in
//! worker decodes the eval set with the checkpoint's weights (`generate`),
//! the outputs are scored here like any predictions, and a new Eval run
//! folder names the source run, the step and the weights' blake3.
//!
//! The checkpoint must still be the one the source run recorded: its
//! weights' blake3 is checked against the source's run_manifest.json
//! before anything is written, and again by the worker against the
//! checkpoint's state.json.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::eval::publish_scores;
use super::hf_eval::{FineTuned, HfEval};
use super::hf_model::HfBase;
use super::source_checkpoint::{self, SourceCheckpoint};
use super::{Observer, Outcome};
use crate::dataset::load_evalset;
use crate::error::{Error, Result};
use crate::evalset::EvalItem;
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::fsutil::{canonical_hash, write_atomic};
use crate::job::{self, Claim, Placement, RunRecord};
use crate::manifest::common::Decoding;
use crate::manifest::train::TrainSpec;
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{
    to_json_bytes, CheckpointSource, Failure, FileRef, RunKind, RunManifest, RunStatus,
};
use crate::trainer::protocol::{
    Event, GenerateRequest, Outputs, TrainedCheckpoint, PROTOCOL_VERSION,
};
use crate::trainer::{process, TrainerCommand};
use crate::workspace::Workspace;

/// Evaluating one checkpoint of a Train run.
#[derive(Debug, Clone)]
pub struct CheckpointEval {
    /// Run name (the run folder's default name).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The source Train run's folder.
    pub source: PathBuf,
    /// The checkpoint step; none: the newest.
    pub step: Option<u32>,
    pub evalset: PathBuf,
    /// Decoding; none: the source run's own (its `eval` section), else the
    /// defaults.
    pub decoding: Option<Decoding>,
    /// Answer extraction and equivalence; none: the source run's own, else
    /// the defaults.
    pub settings: Option<EvalSettings>,
    pub placement: Placement,
    /// The resolved configuration recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
}

/// The source run, the checkpoint and what to run it with, checked.
struct Resolved {
    source: RunManifest,
    spec: TrainSpec,
    step: u32,
    dir: PathBuf,
    blake3: String,
    decoding: Decoding,
    settings: EvalSettings,
}

/// Decode the eval set with the checkpoint through `worker` (the built-in
/// worker's `generate`, [`super::builtin_decoder`]), or, for a run that
/// fine-tuned a pretrained model, through `hf_worker` (`generate-hf`,
/// [`super::builtin_hf_decoder`]) over the base model folder; score and
/// record the run.
pub fn eval_checkpoint(
    ws: &Workspace,
    job: &CheckpointEval,
    worker: &TrainerCommand,
    hf_worker: &TrainerCommand,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    let r = resolve(ws, job)?;
    if r.spec.pretrained().is_ok() {
        return super::hf_eval::eval_hf(ws, &fine_tuned_job(ws, job, r)?, hf_worker, observer);
    }
    let set = load_evalset(ws, &job.evalset)?;
    let evalset_ref = FileRef {
        path: ws.display_path(&set.path).display().to_string(),
        blake3: set.blake3.clone(),
    };
    let identity = canonical_hash(&json!({
        "kind": "Eval",
        "checkpoint": r.blake3,
        "evalset": evalset_ref.blake3,
        "decoding": r.decoding,
        "extraction": r.settings.extraction,
        "equivalence": r.settings.equivalence,
    }));
    let claim = job::claim(&job.placement, RunKind::Eval, &identity)?;
    let request = GenerateRequest {
        protocol: PROTOCOL_VERSION,
        workspace: ws.root().to_path_buf(),
        checkpoint: r.dir.clone(),
        model: r.spec.builtin_model().cloned().ok_or_else(|| {
            Error::bad_input("the source run has no built-in model").with_path(&job.source)
        })?,
        device: r.spec.device,
        evalset: set.path.clone(),
        decoding: r.decoding.clone(),
    };
    let request_path = claim
        .dir
        .join(crate::runfolder::layout::CONTROL_DIR)
        .join(crate::runfolder::layout::REQUEST);
    if let Err(e) = write_atomic(&request_path, &to_json_bytes(&request)?) {
        claim.abandon();
        return Err(e);
    }
    let mut manifest = RunManifest::new(&claim.run_id, RunKind::Eval, &job.name, &now_rfc3339());
    manifest.labels = job.labels.clone();
    manifest.git = git_info(ws.root());
    manifest.model_id = format!("{}@step-{}", r.source.model_id, r.step);
    manifest.evalset = Some(evalset_ref.clone());
    // What the model was trained on.
    manifest.dataset = r.source.dataset.clone();
    manifest.config = job.config.clone();
    // The scoring and decoding settings used, where the config does not hold them (the
    // command line's checkpoint evaluation): re-scoring and the regression
    // gate read them from here.
    if let Some(config) = manifest.config.as_object_mut() {
        if !config.contains_key("spec") {
            config
                .entry("answer_extraction")
                .or_insert_with(|| json!(r.settings.extraction));
            config
                .entry("equivalence")
                .or_insert_with(|| json!(r.settings.equivalence));
            // The decoding used (the source run's own unless given), so
            // a calculator-assisted evaluation is marked as one.
            config
                .entry("decoding")
                .or_insert_with(|| json!(r.decoding));
        }
    }
    manifest.command = job.command.clone();
    manifest.seed = Some(r.settings.seed);
    manifest.config_hash = Some(identity);
    manifest.checkpoint = Some(CheckpointSource {
        run_id: r.source.run_id.clone(),
        step: r.step,
        blake3: r.blake3.clone(),
    });
    let (run, outputs) = decode_in_worker(
        worker,
        &request_path,
        claim,
        manifest,
        &job.command,
        observer,
    )?;
    let decoded_by = format!(
        "checkpoint step {} of run {} (blake3 {})",
        r.step, r.source.run_id, r.blake3
    );
    finish_decoded(
        run,
        &outputs,
        &set.items,
        evalset_ref,
        &r.settings,
        &decoded_by,
    )
}

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
    run.log(&format!(
        "decoded {} items with {decoded_by}",
        outputs.outputs.len()
    ))?;
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

/// Find the source run and the checkpoint, and check its weights.
fn resolve(ws: &Workspace, job: &CheckpointEval) -> Result<Resolved> {
    let SourceCheckpoint {
        source,
        spec,
        step,
        dir,
        blake3,
    } = source_checkpoint::resolve(ws, &job.source, job.step, "evaluate it")?;
    let decoding = job
        .decoding
        .clone()
        .or_else(|| spec.eval.as_ref().map(|e| e.decoding.clone()))
        .unwrap_or_default();
    let settings = job.settings.clone().unwrap_or_else(|| EvalSettings {
        extraction: spec
            .eval
            .as_ref()
            .map(|e| e.answer_extraction.clone())
            .unwrap_or_default(),
        equivalence: spec
            .eval
            .as_ref()
            .map(|e| e.equivalence)
            .unwrap_or_default(),
        seed: crate::scoring::DEFAULT_BOOTSTRAP_SEED,
    });
    Ok(Resolved {
        step,
        dir,
        blake3,
        source,
        spec,
        decoding,
        settings,
    })
}

/// The evaluation of a checkpoint of a run that fine-tuned a pretrained
/// model: its base folder (checked against the run's record of it) and
/// the checkpoint's trained weights.
fn fine_tuned_job(ws: &Workspace, job: &CheckpointEval, r: Resolved) -> Result<HfEval> {
    let base = HfBase::recorded(ws, &r.source.config, &r.source.run_id)?;
    let lora = r.spec.pretrained().ok().and_then(|(m, _)| m.lora.clone());
    let mut config = job.config.clone();
    if let Some(c) = config.as_object_mut().filter(|c| !c.contains_key("spec")) {
        c.entry("answer_extraction")
            .or_insert_with(|| json!(r.settings.extraction));
        c.entry("equivalence")
            .or_insert_with(|| json!(r.settings.equivalence));
        c.entry("decoding").or_insert_with(|| json!(r.decoding));
    }
    Ok(HfEval {
        name: job.name.clone(),
        labels: job.labels.clone(),
        model_dir: base.dir,
        evalset: job.evalset.clone(),
        decoding: r.decoding,
        settings: r.settings,
        placement: job.placement.clone(),
        config,
        command: job.command.clone(),
        fine_tuned: Some(FineTuned {
            run_id: r.source.run_id,
            model_id: r.source.model_id,
            step: r.step,
            checkpoint: TrainedCheckpoint {
                dir: r.dir,
                model_blake3: r.blake3,
                lora,
            },
        }),
    })
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

/// The source run folder and step of `RUN[@STEP]`.
pub fn parse_checkpoint_arg(arg: &str) -> Result<(&str, Option<u32>)> {
    match arg.rsplit_once('@') {
        None => Ok((arg, None)),
        Some((run, "latest")) => Ok((run, None)),
        Some((run, step)) => step.parse::<u32>().map(|s| (run, Some(s))).map_err(|_| {
            Error::bad_input(format!(
                "--checkpoint {arg}: `{step}` is not a step; write RUN, RUN@STEP or RUN@latest"
            ))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_arguments_name_a_run_and_maybe_a_step() {
        assert_eq!(
            parse_checkpoint_arg("quickstart").expect("ok"),
            ("quickstart", None)
        );
        assert_eq!(
            parse_checkpoint_arg("quickstart@200").expect("ok"),
            ("quickstart", Some(200))
        );
        assert_eq!(
            parse_checkpoint_arg("quickstart@latest").expect("ok"),
            ("quickstart", None)
        );
        let err = parse_checkpoint_arg("quickstart@two").expect_err("bad step");
        assert!(err.to_string().contains("not a step"), "{err}");
    }
}
