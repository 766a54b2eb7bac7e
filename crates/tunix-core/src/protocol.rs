//! The trainer protocol: what the coordinator tells a trainer process and
//! what the trainer reports back. Process-based and language-neutral, so the
//! built-in torch worker and a user's own training command speak the same
//! thing.
//!
//! - The coordinator writes a [`TrainerRequest`] as JSON and starts the
//!   trainer with its path (`--request FILE`, also in `TUNIX_REQUEST`).
//! - The trainer trains from `resume` (or step 0) until `until_step`
//!   (≤ `max_steps`; the learning-rate schedule always runs to `max_steps`,
//!   so stopping early and continuing later changes nothing), writing
//!   checkpoints as `checkpoints/step-NNNNNNNN/` folders that appear whole
//!   (written under a temporary name, then renamed) and hold a `state.json`.
//!   The newest such folder is the resume point.
//! - It reports [`Event`]s on stdout, one JSON object per line, and exits 0
//!   after `finished`, or non-zero after `failed`. Anything it prints on
//!   stderr goes to the run's log.
//! - It never writes `run_manifest.json`, `metrics.jsonl`, `run.log` or the
//!   eval files: the coordinator does, from the events, so every trainer
//!   gets the same run folder. Scoring happens on the coordinator's side
//!   (the trainer sends raw outputs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::device::DeviceSpec;
use crate::manifest::common::Decoding;
use crate::manifest::train::{LoraConfig, ModelConfig, TrainSpec};
use crate::runfolder::{Artifact, FileRef, MetricRecord};

/// The protocol version a request carries; a trainer refuses others.
pub const PROTOCOL_VERSION: u32 = 1;

/// Environment variable holding the request file's path.
pub const REQUEST_ENV: &str = "TUNIX_REQUEST";

/// Folder of a run holding checkpoints, one `step-NNNNNNNN` folder each.
pub const CHECKPOINTS: &str = "checkpoints";

/// A checkpoint folder is complete once this file is in it.
pub const CHECKPOINT_STATE: &str = "state.json";

/// The built-in trainer's weights file in a checkpoint folder.
pub const MODEL_FILE: &str = "model.safetensors";

/// The metrics the built-in trainer (`tunix-rt-worker`) reports on its
/// metrics events: the mean training loss, learning rate, throughput and
/// gradient norm (before clipping) of each logging interval, and the
/// validation loss at each evaluation. The coordinator adds
/// `primary_score` where the run has an eval set.
pub const BUILTIN_METRICS: [&str; 5] = ["loss", "lr", "tokens_per_s", "grad_norm", "val_loss"];

/// The built-in trainer's name for the gradient norm.
pub const GRAD_NORM: &str = "grad_norm";

/// What the coordinator asks of a trainer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainerRequest {
    pub protocol: u32,
    /// The run folder (absolute); checkpoints go under `checkpoints/`.
    pub run_dir: PathBuf,
    /// The workspace root (absolute): its `evalsets/` are kept out of the
    /// training data.
    pub workspace: PathBuf,
    /// The resolved Train spec.
    pub spec: TrainSpec,
    /// The eval set of `spec.eval`, resolved to an absolute path.
    pub evalset: Option<PathBuf>,
    /// Stop after this many optimizer steps (≤ `spec.training.max_steps`).
    pub until_step: u32,
    /// Continue from this checkpoint; none for a fresh start.
    pub resume: Option<ResumePoint>,
    /// The run's config identity; checkpoints record it and resume refuses
    /// a checkpoint of another identity.
    pub identity: String,
    /// The manifest the job came from, for error messages.
    pub manifest: PathBuf,
    /// The sweep trial this run is (command trainers get it as
    /// `$TUNIX_TRIAL_ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trial_id: Option<String>,
    /// Start a fresh run from these weights (`model: { init }`), checked
    /// by the coordinator; a resumed run ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init: Option<InitPoint>,
    /// The pretrained model's folder (absolute), for `model: { hf }`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
    /// How prompts are framed for training and evaluation, `{prompt}`
    /// marking the prompt: a pretrained model's chat template rendered
    /// around one user turn; none: the spec's `decoding.prompt_template`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_template: Option<String>,
}

/// The checkpoint a fresh run starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InitPoint {
    /// The source run's id.
    pub run_id: String,
    pub step: u32,
    /// The checkpoint folder (absolute).
    pub dir: PathBuf,
    /// blake3 of its weights (`model.safetensors`).
    pub model_blake3: String,
}

/// The checkpoint to resume from.
/// What `tunix-rt-worker generate --request FILE` reads: decode every
/// item of an eval set with the weights of one checkpoint. The worker
/// answers with `started`, `eval_progress`, one `outputs` (the
/// checkpoint's step, `last`) and `finished`, or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateRequest {
    pub protocol: u32,
    pub workspace: PathBuf,
    /// The checkpoint folder (`checkpoints/step-NNNNNNNN/`).
    pub checkpoint: PathBuf,
    /// The architecture the checkpoint was trained with.
    pub model: ModelConfig,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: DeviceSpec,
    pub evalset: PathBuf,
    pub decoding: Decoding,
}

/// What `tunix-rt-worker generate-hf --request FILE` reads: greedy
/// continuations of prompts the engine has already rendered, with a Hugging
/// Face model folder. The worker answers like for a [`GenerateRequest`]
/// (`started`, `eval_progress`, one `outputs` at step 0, `last`, and
/// `finished`), or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HfGenerateRequest {
    pub protocol: u32,
    /// The model folder (absolute): config.json, tokenizer.json, weights.
    pub model_dir: PathBuf,
    /// `auto`, `cpu`, `cuda` or `cuda:N`.
    pub device: DeviceSpec,
    /// The prompts, rendered, in eval-set order.
    pub prompts: Vec<RenderedPrompt>,
    /// The most tokens added to each prompt.
    pub max_new_tokens: u32,
    /// An output ends before the first of these strings.
    pub stop: Vec<String>,
    /// Prompts decoded together.
    pub batch_size: u32,
    /// Decode with these fine-tuned weights over `model_dir`'s (a
    /// checkpoint of a Train run of `model: { hf }`); none: the folder's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<TrainedCheckpoint>,
}

/// One checkpoint of a Train run that fine-tuned a pretrained model: the
/// weights it trained, over its base model folder's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainedCheckpoint {
    /// The checkpoint folder (absolute).
    pub dir: PathBuf,
    /// blake3 of its weights file, as its run recorded it.
    pub model_blake3: String,
    /// The run's adapters, when it trained LoRA adapters (its weights are
    /// then the adapters only); none: it trained every weight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lora: Option<LoraConfig>,
}

/// What `tunix-rt-worker export-hf --request FILE` reads: merge one
/// fine-tuned checkpoint into its base model and write the result as a
/// Hugging Face model folder (config.json, model.safetensors, the
/// tokenizer files) that `transformers` loads. The worker answers with
/// `started`, log lines and `finished`, or `failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HfExportRequest {
    pub protocol: u32,
    /// The base model folder (absolute).
    pub model_dir: PathBuf,
    pub checkpoint: TrainedCheckpoint,
    /// The folder to write (absolute); it does not exist yet, and the
    /// coordinator renames it into place once the worker finished.
    pub out_dir: PathBuf,
}

/// One eval item's prompt as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenderedPrompt {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumePoint {
    pub step: u32,
    /// The checkpoint folder (absolute).
    pub dir: PathBuf,
}

/// One line a trainer writes on stdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// The trainer is set up and about to train (or resume).
    Started(Started),
    /// A line for the run's log.
    Log { message: String },
    /// Training metrics after `step` steps.
    Metrics(MetricRecord),
    /// Model outputs on the eval set after `step` steps (the coordinator
    /// scores them). `last` marks the evaluation of the finished model.
    Outputs(Outputs),
    /// Generation progress of an evaluation.
    EvalProgress { done: u64, total: u64 },
    /// A checkpoint folder is complete.
    Checkpoint(CheckpointWritten),
    /// The trainer reached `until_step`.
    Finished { step: u32 },
    /// The trainer failed; it exits non-zero after this.
    Failed(Failed),
}

/// What a trainer runs with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Started {
    /// `cpu`, `cuda:0`, …
    pub device: String,
    /// The libtorch (or other framework) version, `none` if not applicable.
    pub framework_version: String,
    pub model_id: String,
    pub parameters: u64,
    /// The generated training data, named and hashed.
    pub dataset: Option<FileRef>,
    /// The step training starts from (the resume point, or 0).
    pub start_step: u32,
    /// Things the user should know (e.g. a device fallback).
    #[serde(default)]
    pub notes: Vec<String>,
}

/// Model outputs on the eval set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outputs {
    pub step: u32,
    pub last: bool,
    /// Raw output by item id.
    pub outputs: BTreeMap<String, String>,
    /// Items whose prompt lost its start to the context length.
    #[serde(default)]
    pub truncated_prompts: Vec<String>,
}

/// A checkpoint that is now complete on disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointWritten {
    pub step: u32,
    /// Its files, relative to the run folder, with blake3 (so the
    /// coordinator never hashes them again).
    pub files: Vec<Artifact>,
}

/// Why a trainer stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failed {
    pub class: FailureClass,
    pub message: String,
}

/// The classes failures are recorded under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureClass {
    /// The request cannot run as given (device, data size, …); nothing
    /// was trained.
    BadConfig,
    /// A command trainer whose manifest has an `eval` section finished
    /// without writing predictions for it: the program does not speak that
    /// part of the protocol, so a retry fails the same way.
    NoPredictions,
    NanLoss,
    OutOfMemory,
    Timeout,
    Crash,
    /// The trainer wrote a metrics line that is not a metrics record
    /// (not JSON, a bad name or value, a step that goes backwards or past
    /// `max_steps`): deterministic, so not retried by default.
    BadMetrics,
    /// A sweep trial ended its first segment without ever reporting the
    /// sweep's metric (recorded by the coordinator, never by a trainer).
    MetricMissing,
    /// A command trainer trained past the step it was asked to stop at
    /// and wrote its predictions after that (or none): they are not that
    /// step's result. The program does not stop, so a retry fails the
    /// same way.
    IgnoredStop,
}

impl FailureClass {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::BadConfig => "bad_config",
            FailureClass::NoPredictions => "no_predictions",
            FailureClass::NanLoss => "nan_loss",
            FailureClass::OutOfMemory => "out_of_memory",
            FailureClass::Timeout => "timeout",
            FailureClass::Crash => "crash",
            FailureClass::BadMetrics => "bad_metrics",
            FailureClass::MetricMissing => "metric_missing",
            FailureClass::IgnoredStop => "ignored_stop",
        }
    }

    /// Whether the user must change the manifest or the program (exit 2):
    /// running it again fails the same way.
    pub fn is_bad_input(self) -> bool {
        matches!(
            self,
            FailureClass::BadConfig | FailureClass::NoPredictions | FailureClass::IgnoredStop
        )
    }
}

impl Event {
    /// The event as one line of JSON (with the newline).
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|e| {
            format!(r#"{{"event":"log","message":"cannot serialize an event: {e}"}}"#)
        });
        line.push('\n');
        line
    }

    /// Parse one line a trainer wrote.
    pub fn parse(line: &str) -> Result<Event, BadEvent> {
        serde_json::from_str(line).map_err(BadEvent)
    }
}

/// A line a trainer wrote that is not a protocol event: the JSON error.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BadEvent(#[from] pub serde_json::Error);

/// The folder name of the checkpoint after `step` steps.
pub fn checkpoint_dir_name(step: u32) -> String {
    format!("step-{step:08}")
}

/// The complete checkpoint folders of a run (`checkpoints/step-N/` holding
/// `state.json`), oldest first.
pub fn checkpoints(run_dir: &Path) -> Vec<ResumePoint> {
    let Ok(entries) = std::fs::read_dir(run_dir.join(CHECKPOINTS)) else {
        return Vec::new();
    };
    let mut out: Vec<ResumePoint> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse::<u32>().ok()?;
            let dir = e.path();
            dir.join(CHECKPOINT_STATE)
                .is_file()
                .then_some(ResumePoint { step, dir })
        })
        .collect();
    out.sort_by_key(|p| p.step);
    out
}

/// The resume point of a run: its newest complete checkpoint.
pub fn newest_checkpoint(run_dir: &Path) -> Option<ResumePoint> {
    checkpoints(run_dir).pop()
}

/// What the trainer worker reports about libtorch (`tunix-rt-worker doctor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorchReport {
    pub libtorch_version: String,
    pub libtorch_lib: String,
    pub cuda_available: bool,
    pub cuda_devices: Vec<String>,
    pub cudnn_available: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_as_tagged_json_lines() {
        let events = vec![
            Event::Log {
                message: "hello".into(),
            },
            Event::Finished { step: 20 },
            Event::Failed(Failed {
                class: FailureClass::NanLoss,
                message: "loss became NaN".into(),
            }),
            Event::EvalProgress { done: 3, total: 9 },
        ];
        for e in events {
            let line = e.to_line();
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            assert_eq!(Event::parse(&line).expect("parses"), e);
        }
        let line = Event::Finished { step: 3 }.to_line();
        assert_eq!(line, "{\"event\":\"finished\",\"step\":3}\n");
    }

    #[test]
    fn no_predictions_is_its_own_bad_input_class() {
        let class = FailureClass::NoPredictions;
        assert_eq!(class.as_str(), "no_predictions");
        assert_eq!(
            serde_json::to_value(class).expect("json"),
            serde_json::json!("no_predictions")
        );
        assert!(class.is_bad_input() && FailureClass::BadConfig.is_bad_input());
        assert!(!FailureClass::Crash.is_bad_input());
    }

    #[test]
    fn ignored_stop_is_a_bad_input_class_that_is_not_retried() {
        let class = FailureClass::IgnoredStop;
        assert_eq!(class.as_str(), "ignored_stop");
        assert_eq!(
            serde_json::to_value(class).expect("json"),
            serde_json::json!("ignored_stop")
        );
        assert!(class.is_bad_input());
        let retries = crate::manifest::sweep::MaxRetries::default();
        assert_eq!(retries.for_class(class.as_str()), 0);
    }

    #[test]
    fn the_newest_complete_checkpoint_is_the_resume_point() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(newest_checkpoint(tmp.path()), None);
        for (step, complete) in [(10, true), (20, true), (30, false)] {
            let dir = tmp.path().join(CHECKPOINTS).join(checkpoint_dir_name(step));
            std::fs::create_dir_all(&dir).expect("mkdir");
            if complete {
                std::fs::write(dir.join(CHECKPOINT_STATE), b"{}").expect("write");
            }
        }
        std::fs::create_dir_all(tmp.path().join("checkpoints/.tmp-step-00000040-1"))
            .expect("mkdir");
        let newest = newest_checkpoint(tmp.path()).expect("a checkpoint");
        assert_eq!(newest.step, 20);
        assert!(newest.dir.ends_with("checkpoints/step-00000020"));
        assert_eq!(checkpoints(tmp.path()).len(), 2);
    }

    #[test]
    fn unknown_events_are_refused_with_a_reason() {
        let err = Event::parse(r#"{"event":"dance"}"#).expect_err("unknown");
        assert!(err.to_string().contains("dance"), "{err}");
    }
}
