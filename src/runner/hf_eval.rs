//! Evaluating a Hugging Face model folder (`model: { hf: PATH }`), zero-shot
//! or with the weights a Train run fine-tuned over it (an Eval of a
//! checkpoint of such a run): the prompts are rendered here, through the
//! folder's own chat template when it has one ([`super::chat_template`];
//! `decoding.chat_template` decides, see [`prompt_format`]) or else through
//! `decoding.prompt_template` exactly as for the built-in model; the
//! built-in worker decodes them greedily with the folder's model and
//! tokenizer (`generate-hf`), and the outputs are scored like any
//! predictions into a normal Eval run folder. Its identity covers the base
//! weights ([`HfBase`]) and the fine-tuned checkpoint's.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::json;

use super::decode::{decode_in_worker, finish_decoded, write_request};
use super::hf_model::{format_record, prompt_format, HfBase, RECORD_KEY};
use super::{Observer, Outcome};
use crate::dataset::load_evalset;
use crate::device::DeviceSpec;
use crate::error::{Error, Result};
use crate::evaluate::EvalSettings;
use crate::fsutil::canonical_hash;
use crate::job::{self, Placement};
use crate::manifest::common::Decoding;
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{CheckpointSource, FileRef, RunKind, RunManifest};
use crate::trainer::protocol::{
    HfGenerateRequest, RenderedPrompt, TrainedCheckpoint, PROTOCOL_VERSION,
};
use crate::trainer::TrainerCommand;
use crate::workspace::Workspace;

/// Evaluating one Hugging Face model folder.
#[derive(Debug, Clone)]
pub struct HfEval {
    /// Run name (the run folder's default name).
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// The model folder (absolute).
    pub model_dir: PathBuf,
    pub evalset: PathBuf,
    pub decoding: Decoding,
    /// Where the model decodes.
    pub device: DeviceSpec,
    pub settings: EvalSettings,
    pub placement: Placement,
    /// The resolved configuration recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
    /// Decode with a Train run's fine-tuned weights over the folder's;
    /// none: zero-shot.
    pub fine_tuned: Option<FineTuned>,
}

/// One checkpoint of a Train run that fine-tuned the folder's model.
#[derive(Debug, Clone)]
pub struct FineTuned {
    /// The Train run's id and model id.
    pub run_id: String,
    pub model_id: String,
    pub step: u32,
    pub checkpoint: TrainedCheckpoint,
    /// The run's config, whose record of the base folder the folder must
    /// still match.
    pub source_config: serde_json::Value,
}

/// Render the prompts, decode them with the folder's model through `worker`
/// (the built-in worker's `generate-hf`, [`super::builtin_hf_decoder`]),
/// score and record the run.
pub fn eval_hf(
    ws: &Workspace,
    job: &HfEval,
    worker: &TrainerCommand,
    observer: &mut dyn Observer,
) -> Result<Outcome> {
    if job.decoding.calculator {
        return Err(Error::bad_input(
            "calculator-assisted decoding is not available for an hf model; remove `decoding.calculator`",
        ));
    }
    let base = HfBase::hash(&job.model_dir)?;
    if let Some(f) = &job.fine_tuned {
        base.check_record(&f.source_config, &f.run_id)?;
    }
    let chat = prompt_format(&job.model_dir, &job.decoding)?;
    let set = load_evalset(ws, &job.evalset)?;
    let mut prompts = Vec::with_capacity(set.items.len());
    for item in &set.items {
        let text = match &chat {
            Some(t) => t.render(&item.prompt)?,
            None => job
                .decoding
                .prompt_template
                .replace("{prompt}", &item.prompt),
        };
        prompts.push(RenderedPrompt {
            id: item.id.clone(),
            text,
        });
    }
    let prompt_format = format_record(chat.as_ref());
    let evalset_ref = FileRef {
        path: ws.display_path(&set.path).display().to_string(),
        blake3: set.blake3.clone(),
    };
    let mut identity = json!({
        "kind": "Eval",
        "hf": base.files,
        "evalset": evalset_ref.blake3,
        "decoding": job.decoding,
        "extraction": job.settings.extraction,
        "equivalence": job.settings.equivalence,
    });
    if chat.is_some() {
        identity["chat_template"] = prompt_format["blake3"].clone();
    }
    if let Some(f) = &job.fine_tuned {
        identity["checkpoint"] = json!(f.checkpoint.model_blake3);
    }
    let identity = canonical_hash(&identity);
    let claim = job::claim(&job.placement, RunKind::Eval, &identity)?;
    let request = HfGenerateRequest {
        protocol: PROTOCOL_VERSION,
        model_dir: job.model_dir.clone(),
        device: job.device,
        prompts,
        max_new_tokens: job.decoding.max_new_tokens,
        stop: job.decoding.stop.clone(),
        batch_size: job.decoding.batch_size,
        checkpoint: job.fine_tuned.as_ref().map(|f| f.checkpoint.clone()),
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
    manifest.model_id = match &job.fine_tuned {
        Some(f) => format!("{}@step-{}", f.model_id, f.step),
        None => format!("hf:{}", base.name()),
    };
    manifest.checkpoint = job.fine_tuned.as_ref().map(|f| CheckpointSource {
        run_id: f.run_id.clone(),
        step: f.step,
        blake3: f.checkpoint.model_blake3.clone(),
    });
    manifest.evalset = Some(evalset_ref.clone());
    manifest.config = job.config.clone();
    if let Some(config) = manifest.config.as_object_mut() {
        config.insert(RECORD_KEY.into(), base.record(ws));
        config.insert("prompt_format".into(), prompt_format);
    }
    manifest.command = job.command.clone();
    manifest.seed = Some(job.settings.seed);
    manifest.config_hash = Some(identity);
    let (run, outputs) = decode_in_worker(
        worker,
        &request_path,
        claim,
        manifest,
        &job.command,
        observer,
    )?;
    let shown = ws.display_path(&job.model_dir);
    let decoded_by = match &job.fine_tuned {
        Some(f) => format!(
            "the hf model {} fine-tuned by run {} (checkpoint step {}, blake3 {})",
            shown.display(),
            f.run_id,
            f.step,
            f.checkpoint.model_blake3
        ),
        None => format!("the hf model {} (zero-shot)", shown.display()),
    };
    finish_decoded(
        run,
        &outputs,
        &set.items,
        evalset_ref,
        &job.settings,
        &decoded_by,
    )
}
