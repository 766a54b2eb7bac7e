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

use super::decode::{decode_in_worker, finish_decoded, write_request};
use super::hf_eval::{FineTuned, HfEval};
use super::hf_model::HfBase;
use super::source_checkpoint::{self, SourceCheckpoint};
use super::{Observer, Outcome};
use crate::dataset::load_evalset;
use crate::device::DeviceSpec;
use crate::error::{Error, Result};
use crate::evaluate::EvalSettings;
use crate::fsutil::canonical_hash;
use crate::job::{self, Placement};
use crate::manifest::common::Decoding;
use crate::manifest::train::TrainSpec;
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{CheckpointSource, FileRef, RunKind, RunManifest};
use crate::trainer::protocol::{GenerateRequest, TrainedCheckpoint, PROTOCOL_VERSION};
use crate::trainer::TrainerCommand;
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
    /// Where the checkpoint decodes; none: where the source run trained.
    pub device: Option<DeviceSpec>,
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
        device: job.device.unwrap_or(r.spec.device),
        evalset: set.path.clone(),
        decoding: r.decoding.clone(),
    };
    let request_path = match write_request(&claim, &request) {
        Ok(path) => path,
        Err(e) => {
            claim.abandon();
            return Err(e);
        }
    };
    let mut manifest = RunManifest::new(&claim.run_id, RunKind::Eval, &job.name, &now_rfc3339());
    manifest.labels = job.labels.clone();
    manifest.git = git_info(ws.root());
    manifest.model_id = format!("{}@step-{}", r.source.model_id, r.step);
    manifest.evalset = Some(evalset_ref.clone());
    // What the model was trained on.
    manifest.dataset = r.source.dataset.clone();
    manifest.config = with_settings(&job.config, &r);
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

/// `config` with the scoring and decoding settings used where it does not
/// hold them (the command line's checkpoint evaluation has no `spec`):
/// re-scoring and the regression gate read them from there, and the
/// decoding (the source run's own unless given) marks a calculator-assisted
/// evaluation as one.
fn with_settings(config: &serde_json::Value, r: &Resolved) -> serde_json::Value {
    let mut config = config.clone();
    if let Some(c) = config.as_object_mut().filter(|c| !c.contains_key("spec")) {
        c.entry("answer_extraction")
            .or_insert_with(|| json!(r.settings.extraction));
        c.entry("equivalence")
            .or_insert_with(|| json!(r.settings.equivalence));
        c.entry("decoding").or_insert_with(|| json!(r.decoding));
    }
    config
}

/// The evaluation of a checkpoint of a run that fine-tuned a pretrained
/// model: its base folder (checked against the run's record of it) and
/// the checkpoint's trained weights.
fn fine_tuned_job(ws: &Workspace, job: &CheckpointEval, r: Resolved) -> Result<HfEval> {
    let model_dir = HfBase::recorded_dir(ws, &r.source.config, &r.source.run_id)?;
    let lora = r.spec.pretrained().ok().and_then(|(m, _)| m.lora.clone());
    let config = with_settings(&job.config, &r);
    Ok(HfEval {
        device: job.device.unwrap_or(r.spec.device),
        name: job.name.clone(),
        labels: job.labels.clone(),
        model_dir,
        evalset: job.evalset.clone(),
        decoding: r.decoding,
        settings: r.settings,
        placement: job.placement.clone(),
        config,
        command: job.command.clone(),
        fine_tuned: Some(FineTuned {
            source_config: r.source.config,
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
