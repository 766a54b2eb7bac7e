//! Evaluating a Hugging Face model folder zero-shot (`model: { hf: PATH }`):
//! the prompts are rendered here, through the folder's own chat template
//! when it has one ([`super::chat_template`]; `decoding.chat_template`
//! decides, see [`prompt_format`]) or else through `decoding.prompt_template`
//! exactly as for the built-in model; the built-in worker decodes them greedily with
//! the folder's model and tokenizer (`generate-hf`), and the outputs are
//! scored like any predictions into a normal Eval run folder. Its identity
//! covers the base weights: config.json, tokenizer.json and every weight
//! file are hashed with blake3 and recorded in the run's config.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::json;

use super::chat_template::{self, ChatTemplate};
use super::checkpoint_eval::{decode_in_worker, finish_decoded};
use super::{Observer, Outcome};
use crate::dataset::load_evalset;
use crate::error::{Error, Result};
use crate::evaluate::EvalSettings;
use crate::fsutil::{blake3_file, canonical_hash, write_atomic};
use crate::job::{self, Placement};
use crate::manifest::common::{Decoding, DEFAULT_PROMPT_TEMPLATE};
use crate::probe::{git_info, now_rfc3339};
use crate::runfolder::{to_json_bytes, FileRef, RunKind, RunManifest};
use crate::trainer::protocol::{HfGenerateRequest, RenderedPrompt, PROTOCOL_VERSION};
use crate::trainer::TrainerCommand;
use crate::workspace::Workspace;

/// The single-file weights of a model folder.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The index of sharded weights.
pub const WEIGHTS_INDEX: &str = "model.safetensors.index.json";

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
    pub settings: EvalSettings,
    pub placement: Placement,
    /// The resolved configuration recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
}

/// The files that make a model folder's identity, relative to it:
/// config.json, tokenizer.json and the weights (model.safetensors, or the
/// index and every shard it names).
pub fn identity_files(dir: &Path) -> Result<Vec<String>> {
    let mut files = vec!["config.json".to_string(), "tokenizer.json".to_string()];
    let index = dir.join(WEIGHTS_INDEX);
    if dir.join(WEIGHTS_FILE).is_file() {
        files.push(WEIGHTS_FILE.into());
    } else if index.is_file() {
        let text = std::fs::read_to_string(&index).map_err(|e| {
            Error::bad_input("cannot read the weights index")
                .with_path(&index)
                .with_source(e)
        })?;
        let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            Error::bad_input(format!("the weights index is not JSON: {e}")).with_path(&index)
        })?;
        let shards: BTreeSet<String> = value["weight_map"]
            .as_object()
            .ok_or_else(|| {
                Error::bad_input("the weights index has no `weight_map`").with_path(&index)
            })?
            .values()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        files.push(WEIGHTS_INDEX.into());
        files.extend(shards);
    } else {
        return Err(Error::bad_input(format!(
            "no weights: add {WEIGHTS_FILE} or {WEIGHTS_INDEX} (save the model with transformers' save_pretrained)"
        ))
        .with_path(dir));
    }
    Ok(files)
}

/// How the prompts are framed: the folder's chat template (`Some`) or
/// `decoding.prompt_template` (`None`). Unset `decoding.chat_template`
/// uses the chat template when the folder has one and `prompt_template`
/// is the default; `true` requires it; `false` never uses it.
pub fn prompt_format(dir: &Path, decoding: &Decoding) -> Result<Option<ChatTemplate>> {
    match decoding.chat_template {
        Some(false) => Ok(None),
        Some(true) => match chat_template::load(dir)? {
            Some(t) => Ok(Some(t)),
            None => Err(Error::bad_input(
                "`decoding.chat_template: true` but the model folder has no chat template (tokenizer_config.json's `chat_template` or chat_template.jinja); remove it to use `decoding.prompt_template`",
            )
            .with_path(dir)),
        },
        None if decoding.prompt_template != DEFAULT_PROMPT_TEMPLATE => Ok(None),
        None => chat_template::load(dir),
    }
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
    let mut hashed = Vec::new();
    for f in identity_files(&job.model_dir)? {
        let path = job.model_dir.join(&f);
        let (blake3, _) = blake3_file(&path)?;
        hashed.push(json!({ "file": f, "blake3": blake3 }));
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
    let prompt_format = match &chat {
        Some(t) => json!({
            "format": "chat_template",
            "file": t.path.file_name().map(|n| n.to_string_lossy().into_owned()),
            "blake3": blake3::hash(t.source.as_bytes()).to_hex().to_string(),
        }),
        None => json!({ "format": "prompt_template" }),
    };
    let evalset_ref = FileRef {
        path: ws.display_path(&set.path).display().to_string(),
        blake3: set.blake3.clone(),
    };
    let mut identity = json!({
        "kind": "Eval",
        "hf": hashed,
        "evalset": evalset_ref.blake3,
        "decoding": job.decoding,
        "extraction": job.settings.extraction,
        "equivalence": job.settings.equivalence,
    });
    if chat.is_some() {
        identity["chat_template"] = prompt_format["blake3"].clone();
    }
    let identity = canonical_hash(&identity);
    let claim = job::claim(&job.placement, RunKind::Eval, &identity)?;
    let request = HfGenerateRequest {
        protocol: PROTOCOL_VERSION,
        model_dir: job.model_dir.clone(),
        device: Default::default(),
        prompts,
        max_new_tokens: job.decoding.max_new_tokens,
        stop: job.decoding.stop.clone(),
        batch_size: job.decoding.batch_size,
        checkpoint: None,
    };
    let request_path = claim
        .dir
        .join(crate::runfolder::layout::CONTROL_DIR)
        .join(crate::runfolder::layout::REQUEST);
    if let Err(e) = write_atomic(&request_path, &to_json_bytes(&request)?) {
        claim.abandon();
        return Err(e);
    }
    let folder = job.model_dir.file_name().map_or_else(
        || job.model_dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut manifest = RunManifest::new(&claim.run_id, RunKind::Eval, &job.name, &now_rfc3339());
    manifest.labels = job.labels.clone();
    manifest.git = git_info(ws.root());
    manifest.model_id = format!("hf:{folder}");
    manifest.evalset = Some(evalset_ref.clone());
    manifest.config = job.config.clone();
    if let Some(config) = manifest.config.as_object_mut() {
        config.insert(
            "hf_model".into(),
            json!({
                "path": ws.display_path(&job.model_dir).display().to_string(),
                "files": hashed,
            }),
        );
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
    let decoded_by = format!(
        "the hf model {} (zero-shot)",
        ws.display_path(&job.model_dir).display()
    );
    finish_decoded(
        run,
        &outputs,
        &set.items,
        evalset_ref,
        &job.settings,
        &decoded_by,
    )
}
