//! A Train job: generate the data, train with checkpoints, evaluate, and
//! keep the run folder current throughout.
//!
//! Unlike an evaluation, a training run's folder exists while it runs (its
//! checkpoints make resume possible): `run_manifest.json` says `running`
//! until the end, then `completed` or `failed` with the failure classified.
//! Running a manifest whose run folder holds an unfinished run with the same
//! config resumes from its newest checkpoint; a completed run is never
//! touched (the new run gets `<name>-2`, …).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tch::{Device, Kind, TchError, Tensor};

use super::batches::{train_batch, val_batches, Batch};
use super::checkpoint::{self, CheckpointState, CHECKPOINTS, MODEL_FILE, OPTIMIZER_FILE};
use super::data::{self, Dataset};
use super::decontam::EvalIndex;
use super::model_eval::model_outputs;
use super::optim::{clip_grad_norm, zero_grad, AdamW};
use super::schedule::learning_rate;
use crate::error::{Error, Result};
use crate::evalset::EvalSet;
use crate::evaluate::{score_items, summarize, EvalSettings};
use crate::fsutil::{blake3_file, write_atomic};
use crate::manifest::common::DEFAULT_PROMPT_TEMPLATE;
use crate::manifest::train::{TrainEval, TrainSpec};
use crate::model::device::{self, is_out_of_memory, DeviceChoice, Precision};
use crate::model::dims::ModelDims;
use crate::model::gpt::Gpt;
use crate::progress::Progress;
use crate::runfolder::{
    config_hash, git_info, now_rfc3339, relative_path, to_json_bytes, to_jsonl_bytes, Artifact,
    EvalItemRecord, EvalSummary, Failure, FileRef, MetricRecord, RunManifest, RunStatus,
    EVAL_ITEMS, EVAL_SUMMARY, METRICS, RUN_LOG, RUN_MANIFEST, SCHEMA_VERSION,
};
use crate::scoring::rng::derive_seed;
use crate::workspace::Workspace;

/// Set to a step number to make that step's loss NaN (tests of the
/// failure path; never set in normal use).
pub const FAULT_NAN_ENV: &str = "TUNIX_RT_FAULT_NAN_STEP";

/// Validation batches evaluated for `val_loss`.
const VAL_BATCHES: usize = 8;

/// Everything a Train job needs, resolved from its manifest.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub spec: TrainSpec,
    /// The eval set of the spec's `eval` section, resolved.
    pub evalset: Option<PathBuf>,
    /// Folder holding run folders.
    pub runs_root: PathBuf,
    pub run_name: String,
    /// The resolved manifest, recorded in run_manifest.json.
    pub config: serde_json::Value,
    pub command: Vec<String>,
    /// The manifest file (errors point at it).
    pub manifest_path: PathBuf,
    pub tuning_job_id: Option<String>,
    pub trial_id: Option<String>,
}

/// What a finished Train job produced.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub summary: Option<EvalSummary>,
    pub notes: Vec<String>,
}

/// Load the eval set at `path`, shown relative to the workspace.
pub fn load_evalset(ws: &Workspace, path: &Path) -> Result<EvalSet> {
    let shown = ws.display_path(path).display().to_string();
    crate::evalset::load(path, &shown).map_err(|d| Error::invalid_file(&shown, d))
}

/// The eval sets' prompts to keep out of training: every file in the
/// workspace's `evalsets/`, plus the job's own (already loaded) eval set.
pub fn eval_index(ws: &Workspace, extra: Option<&EvalSet>) -> Result<(EvalIndex, Vec<String>)> {
    let dir = ws.root().join("evalsets");
    let (mut items, mut files) = if dir.is_dir() {
        super::decontam::eval_prompts_in_dir(&dir, "evalsets").map_err(Error::bad_input)?
    } else {
        (Vec::new(), Vec::new())
    };
    if let Some(set) = extra {
        let shown = ws.display_path(&set.path).display().to_string();
        if !files.contains(&shown) {
            items.extend(
                set.items
                    .iter()
                    .map(|i| (format!("{shown}:{}", i.id), i.prompt.clone())),
            );
            files.push(shown);
        }
    }
    Ok((EvalIndex::from_prompts(items), files))
}

/// The prompt template training text is written with: the eval section's,
/// so training and evaluation agree.
pub fn prompt_template(spec: &TrainSpec) -> String {
    spec.eval
        .as_ref()
        .map(|e| e.decoding.prompt_template.clone())
        .unwrap_or_else(|| DEFAULT_PROMPT_TEMPLATE.to_string())
}

/// Run the job.
pub fn run(ws: &Workspace, job: &TrainJob) -> Result<TrainOutcome> {
    let bad = |msg: String| Error::bad_input(msg).with_path(&job.manifest_path);
    let choice = device::resolve(&job.spec.device, device::cuda_device_count()).map_err(bad)?;
    let dims = ModelDims::resolve(&job.spec.model);
    let evalset = job
        .evalset
        .as_deref()
        .map(|p| load_evalset(ws, p))
        .transpose()?;
    let (index, _) = eval_index(ws, evalset.as_ref())?;
    let template = prompt_template(&job.spec);
    let dataset = data::generate(&job.spec.dataset, &index);
    let train_stream = Dataset::stream(&dataset.train, &template);
    let val_stream = Dataset::stream(&dataset.val, &template);
    let context = dims.context_length as usize;
    if train_stream.len() <= context + 1 {
        return Err(bad(format!(
            "the training split is {} bytes, shorter than one context window ({context} tokens); raise dataset.train_examples",
            train_stream.len()
        )));
    }
    let hash = config_hash(&job.config);
    let folder = RunFolder::open(&job.runs_root, &job.run_name, &hash)?;
    let mut notes = Vec::new();
    if let Some(note) = &choice.note {
        notes.push(note.clone());
    }
    let mut ctx = Context {
        ws,
        job,
        folder,
        choice,
        dims,
        dataset_ref: FileRef {
            path: format!(
                "dev-reasoning-v2 (seed {}, {} train, {} val)",
                job.spec.dataset.seed,
                job.spec.dataset.train_examples,
                job.spec.dataset.val_examples
            ),
            blake3: Dataset::blake3(&train_stream, &val_stream),
        },
        evalset_ref: evalset.as_ref().map(|e| FileRef {
            path: ws.display_path(&e.path).display().to_string(),
            blake3: e.blake3.clone(),
        }),
        created_at: now_rfc3339(),
        hash,
    };
    ctx.log(&format!(
        "dataset {}: {} train examples ({} bytes), {} val ({} bytes); {} dropped for overlapping eval sets",
        ctx.dataset_ref.path,
        dataset.train.len(),
        train_stream.len(),
        dataset.val.len(),
        val_stream.len(),
        dataset.rejected.len()
    ))?;
    for note in &notes {
        ctx.log(note)?;
    }
    ctx.write_manifest(RunStatus::Running, None, Vec::new())?;
    let eval = evalset.as_ref().zip(job.spec.eval.as_ref());
    let result = train_and_evaluate(&mut ctx, eval, &train_stream, &val_stream);
    match result {
        Ok(summary) => {
            ctx.log("run complete")?;
            let artifacts = collect_artifacts(&ctx.folder.dir)?;
            ctx.write_manifest(RunStatus::Completed, None, artifacts)?;
            Ok(TrainOutcome {
                run_dir: ctx.folder.dir.clone(),
                summary,
                notes,
            })
        }
        Err(failure) => {
            let _ = ctx.log(&format!("failed ({}): {}", failure.class, failure.error));
            let artifacts = collect_artifacts(&ctx.folder.dir).unwrap_or_default();
            ctx.write_manifest(
                RunStatus::Failed,
                Some(Failure {
                    class: failure.class.to_string(),
                    message: failure.error.to_string(),
                }),
                artifacts,
            )?;
            Err(*failure.error)
        }
    }
}

/// A run's failure and its class.
struct Classified {
    class: &'static str,
    error: Box<Error>,
}

impl Classified {
    fn crash(error: Error) -> Self {
        Classified {
            class: "crash",
            error: Box::new(error),
        }
    }
}

impl From<Error> for Classified {
    fn from(error: Error) -> Self {
        Classified::crash(error)
    }
}

struct Context<'a> {
    ws: &'a Workspace,
    job: &'a TrainJob,
    folder: RunFolder,
    choice: DeviceChoice,
    dims: ModelDims,
    dataset_ref: FileRef,
    evalset_ref: Option<FileRef>,
    created_at: String,
    hash: String,
}

impl Context<'_> {
    fn log(&self, line: &str) -> Result<()> {
        append(
            &self.folder.dir.join(RUN_LOG),
            &format!("{} {line}\n", now_rfc3339()),
        )
    }

    fn write_manifest(
        &self,
        status: RunStatus,
        failure: Option<Failure>,
        artifacts: Vec<Artifact>,
    ) -> Result<()> {
        let finished = status != RunStatus::Running;
        let manifest = RunManifest {
            schema_version: SCHEMA_VERSION,
            run_id: self.folder.run_id.clone(),
            kind: "Train".to_string(),
            name: self.job.name.clone(),
            labels: self.job.labels.clone(),
            status,
            created_at: self.created_at.clone(),
            finished_at: finished.then(now_rfc3339),
            git: git_info(self.ws.root()),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            libtorch_version: crate::doctor::libtorch_version().to_string(),
            device: self.choice.label.clone(),
            model_id: model_id(&self.job.spec),
            dataset: Some(self.dataset_ref.clone()),
            evalset: self.evalset_ref.clone(),
            predictions: None,
            config: self.job.config.clone(),
            command: self.job.command.clone(),
            seed: Some(self.job.spec.training.seed),
            tuning_job_id: self.job.tuning_job_id.clone(),
            trial_id: self.job.trial_id.clone(),
            artifacts,
            failure,
        };
        write_atomic(
            &self.folder.dir.join(RUN_MANIFEST),
            &to_json_bytes(&manifest)?,
        )
    }
}

/// The model's name in records: the preset, with any size overrides.
pub fn model_id(spec: &TrainSpec) -> String {
    let preset = serde_json::to_value(spec.model.preset)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    let m = &spec.model;
    let overrides: Vec<String> = [
        ("n_layer", m.n_layer),
        ("n_head", m.n_head),
        ("n_embd", m.n_embd),
        ("context_length", m.context_length),
    ]
    .iter()
    .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
    .collect();
    if overrides.is_empty() {
        preset
    } else {
        format!("{preset}({})", overrides.join(","))
    }
}

fn torch_failure(job: &TrainJob, device: &str, what: &str, e: TchError) -> Classified {
    let msg = e.to_string();
    if is_out_of_memory(&msg) {
        let b = job.spec.training.per_device_batch_size;
        Classified {
            class: "out_of_memory",
            error: Box::new(Error::runtime(format!(
                "out of memory on {device} while {what} with per_device_batch_size {b}; lower training.per_device_batch_size (e.g. to {}) or use a smaller model",
                (b / 2).max(1)
            ))
            .with_path(&job.manifest_path)
            .with_source(e)),
        }
    } else {
        Classified::crash(Error::runtime(format!("libtorch failed while {what}")).with_source(e))
    }
}

fn train_and_evaluate(
    ctx: &mut Context<'_>,
    eval: Option<(&EvalSet, &TrainEval)>,
    train_stream: &[u8],
    val_stream: &[u8],
) -> std::result::Result<Option<EvalSummary>, Classified> {
    let job = ctx.job;
    let t = &job.spec.training;
    let device = ctx.choice.device;
    let label = ctx.choice.label.as_str();
    let tf = |what: &'static str| move |e: TchError| torch_failure(job, label, what, e);
    let precision = Precision::for_device(device);
    let model = Gpt::new(ctx.dims, job.spec.model.dropout, precision, device, t.seed)
        .map_err(tf("building the model"))?;
    let params = model.named_parameters();
    let mut opt = AdamW::new(params, t.weight_decay).map_err(tf("building the optimizer"))?;
    let mut start = 0u32;
    if let Some((step, dir)) = ctx.folder.resume.clone() {
        let state = checkpoint::read_state(&dir)?;
        let weights = checkpoint::read_tensors(&dir.join(MODEL_FILE), &state.model_blake3)?;
        model.load(&weights).map_err(|m| {
            Error::runtime(format!("cannot resume: {m}")).with_path(dir.join(MODEL_FILE))
        })?;
        let moments = checkpoint::read_tensors(&dir.join(OPTIMIZER_FILE), &state.optimizer_blake3)?;
        opt.load(params, &moments, u64::from(step)).map_err(|m| {
            Error::runtime(format!("cannot resume: {m}")).with_path(dir.join(OPTIMIZER_FILE))
        })?;
        truncate_metrics(&ctx.folder.dir.join(METRICS), step)?;
        start = step;
        ctx.log(&format!("resumed from checkpoint step {step}"))?;
    }
    ctx.log(&format!(
        "training {} ({} parameters) on {label} in {}: {} steps of {} x {} tokens from step {start}",
        model_id(&job.spec),
        ctx.dims.parameter_count(),
        precision.name(),
        t.max_steps,
        t.per_device_batch_size,
        ctx.dims.context_length
    ))?;
    let fault_step: Option<u32> = std::env::var(FAULT_NAN_ENV)
        .ok()
        .and_then(|v| v.parse().ok());
    let rows = t.per_device_batch_size as usize;
    let context = ctx.dims.context_length as usize;
    let progress = Progress::new(u64::from(t.max_steps), "train");
    progress.update(u64::from(start), "");
    let mut loss_sum = Tensor::zeros([], (Kind::Float, device));
    let mut interval_steps = 0u32;
    let mut interval_start = Instant::now();
    let mut final_record: Option<MetricRecord> = None;
    let mut last_checkpoint = start;
    for step in start..t.max_steps {
        let lr = learning_rate(step, t.learning_rate, t.warmup_steps, t.max_steps);
        tch::manual_seed(derive_seed(t.seed, &format!("dropout/{step}")) as i64);
        let batch = train_batch(train_stream, t.seed, step, rows, context);
        let (x, y) = to_tensors(&batch, device).map_err(tf("copying a batch"))?;
        zero_grad(params);
        let mut loss = model
            .loss(&x, &y, true)
            .map_err(tf("running the forward pass"))?;
        if fault_step == Some(step + 1) {
            loss = loss
                .f_mul_scalar(f64::NAN)
                .map_err(tf("injecting a fault"))?;
        }
        loss.f_backward().map_err(tf("running the backward pass"))?;
        let _grad_norm = clip_grad_norm(params, t.grad_clip).map_err(tf("clipping gradients"))?;
        opt.step(params, lr).map_err(tf("updating the weights"))?;
        loss_sum = loss_sum
            .f_add(&loss.f_detach().map_err(tf("reading the loss"))?)
            .map_err(tf("reading the loss"))?;
        interval_steps += 1;
        let done = step + 1;
        let is_last = done == t.max_steps;
        let log_now = done % t.log_interval == 0 || is_last;
        let eval_now = t.eval_interval.is_some_and(|n| done % n == 0) && !is_last;
        let ckpt_now = t.checkpoint_interval.is_some_and(|n| done % n == 0) || is_last;
        if !(log_now || eval_now || ckpt_now) {
            continue;
        }
        let mean = loss_sum
            .f_double_value(&[])
            .map_err(tf("reading the loss"))?
            / f64::from(interval_steps);
        if !mean.is_finite() {
            return Err(Classified {
                class: "nan_loss",
                error: Box::new(Error::runtime(format!(
                    "training loss became {mean} by step {done} (learning rate {lr:.3e}); lower training.learning_rate, raise warmup_steps or lower grad_clip; the last good checkpoint is step {last_checkpoint}"
                ))
                .with_path(&job.manifest_path)),
            });
        }
        let elapsed = interval_start.elapsed().as_secs_f64();
        let tokens_per_s = (interval_steps as usize * rows * context) as f64 / elapsed.max(1e-9);
        let mut record = MetricRecord {
            step: u64::from(done),
            loss: Some(mean),
            lr: Some(lr),
            tokens_per_s: Some(tokens_per_s),
            val_loss: None,
            primary_score: None,
        };
        if eval_now {
            record.val_loss = Some(
                val_loss(&model, val_stream, rows, context)
                    .map_err(tf("computing validation loss"))?,
            );
            if let Some((set, spec)) = eval {
                let scored = evaluate(ctx, &model, set, spec, None)?;
                record.primary_score = scored.summary.primary_score;
            }
        }
        let status = format!(
            "loss {mean:.4} lr {lr:.2e} {:.0} tok/s{}{}",
            tokens_per_s,
            record
                .val_loss
                .map_or(String::new(), |v| format!(" val {v:.4}")),
            record
                .primary_score
                .map_or(String::new(), |s| format!(" score {s:.4}"))
        );
        progress.update(u64::from(done), &status);
        if log_now || eval_now {
            if is_last {
                final_record = Some(record);
            } else {
                append_metric(&ctx.folder.dir, &record)?;
            }
            ctx.log(&format!("step {done}/{} {status}", t.max_steps))?;
            progress.line_without_bar(&format!("step {done}/{} {status}", t.max_steps));
        }
        if ckpt_now {
            let mut state = CheckpointState {
                step: done,
                config_hash: ctx.hash.clone(),
                seed: t.seed,
                rng_scheme: checkpoint::RNG_SCHEME.to_string(),
                loss: Some(mean),
                model_blake3: String::new(),
                optimizer_blake3: String::new(),
            };
            let dir = checkpoint::save(&ctx.folder.dir, &mut state, params, &opt.state(params))?;
            last_checkpoint = done;
            ctx.log(&format!(
                "checkpoint {} (model blake3 {})",
                ctx.ws.display_path(&dir).display(),
                state.model_blake3
            ))?;
        }
        loss_sum = Tensor::zeros([], (Kind::Float, device));
        interval_steps = 0;
        interval_start = Instant::now();
    }
    progress.finish();
    let mut record = final_record.unwrap_or(MetricRecord {
        step: u64::from(t.max_steps),
        loss: None,
        lr: None,
        tokens_per_s: None,
        val_loss: None,
        primary_score: None,
    });
    record.val_loss =
        Some(val_loss(&model, val_stream, rows, context).map_err(tf("computing validation loss"))?);
    let summary = match eval {
        Some((set, spec)) => {
            let eval_progress = Progress::new(set.items.len() as u64, "eval");
            let scored = evaluate(ctx, &model, set, spec, Some(&eval_progress))?;
            eval_progress.finish();
            write_eval_files(ctx, &scored)?;
            record.primary_score = scored.summary.primary_score;
            Some(scored.summary)
        }
        None => None,
    };
    append_metric(&ctx.folder.dir, &record)?;
    Ok(summary)
}

fn append_metric(run_dir: &Path, record: &MetricRecord) -> Result<()> {
    append(
        &run_dir.join(METRICS),
        &String::from_utf8_lossy(&to_jsonl_bytes(std::slice::from_ref(record))?),
    )
}

/// A scored evaluation of the model.
struct Scored {
    records: Vec<EvalItemRecord>,
    summary: EvalSummary,
    /// Items whose prompt lost its start to the context length.
    truncated_prompts: usize,
}

/// Generate and score the model's outputs on the eval set.
fn evaluate(
    ctx: &Context<'_>,
    model: &Gpt,
    set: &EvalSet,
    spec: &TrainEval,
    progress: Option<&Progress>,
) -> std::result::Result<Scored, Classified> {
    let outputs = model_outputs(model, &set.items, &spec.decoding, progress)
        .map_err(|e| torch_failure(ctx.job, &ctx.choice.label, "evaluating", e))?;
    let settings = EvalSettings {
        extraction: spec.answer_extraction.clone(),
        equivalence: spec.equivalence,
        seed: crate::scoring::DEFAULT_BOOTSTRAP_SEED,
    };
    let records = score_items(&set.items, &outputs.by_id, &settings);
    let empty: Vec<String> = outputs
        .by_id
        .iter()
        .filter(|(_, o)| o.is_empty())
        .map(|(id, _)| id.clone())
        .collect();
    let evalset_ref = ctx.evalset_ref.clone().unwrap_or(FileRef {
        path: set.path.display().to_string(),
        blake3: set.blake3.clone(),
    });
    let summary = summarize(&records, evalset_ref, empty, &settings);
    Ok(Scored {
        records,
        summary,
        truncated_prompts: outputs.truncated_prompts.len(),
    })
}

/// The final evaluation's files and log line.
fn write_eval_files(ctx: &Context<'_>, scored: &Scored) -> Result<()> {
    let dir = &ctx.folder.dir;
    write_atomic(&dir.join(EVAL_ITEMS), &to_jsonl_bytes(&scored.records)?)?;
    write_atomic(&dir.join(EVAL_SUMMARY), &to_json_bytes(&scored.summary)?)?;
    let mut line = format!(
        "evaluated {} items: primary_score {}",
        scored.summary.n_items,
        scored
            .summary
            .primary_score
            .map_or("null".into(), |s| format!("{s:.4}"))
    );
    if scored.truncated_prompts > 0 {
        let _ = write!(
            line,
            "; {} prompt(s) longer than the context lost their start",
            scored.truncated_prompts
        );
    }
    ctx.log(&line)
}

fn to_tensors(batch: &Batch, device: Device) -> std::result::Result<(Tensor, Tensor), TchError> {
    let shape = [batch.rows as i64, batch.context as i64];
    let x = Tensor::f_from_slice(&batch.inputs)?
        .f_view(shape)?
        .f_to_device(device)?;
    let y = Tensor::f_from_slice(&batch.targets)?
        .f_view(shape)?
        .f_to_device(device)?;
    Ok((x, y))
}

/// Mean loss over the validation batches.
fn val_loss(
    model: &Gpt,
    stream: &[u8],
    rows: usize,
    context: usize,
) -> std::result::Result<f64, TchError> {
    let _guard = tch::no_grad_guard();
    let batches = val_batches(stream, rows, context, VAL_BATCHES);
    if batches.is_empty() {
        return Ok(f64::NAN);
    }
    let mut total = 0.0;
    for b in &batches {
        let (x, y) = to_tensors(b, model.device())?;
        total += model.loss(&x, &y, false)?.f_double_value(&[])?;
    }
    Ok(total / batches.len() as f64)
}

fn append(path: &Path, text: &str) -> Result<()> {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io("open for appending", path, e))?;
    f.write_all(text.as_bytes())
        .map_err(|e| Error::io("append to", path, e))
}

/// Keep only metric records up to `step` (the resumed checkpoint).
fn truncate_metrics(path: &Path, step: u32) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(());
    };
    let kept: String = text
        .lines()
        .filter(|line| {
            serde_json::from_str::<MetricRecord>(line).is_ok_and(|r| r.step <= u64::from(step))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_atomic(path, kept.as_bytes())
}

/// Every file of the run folder but run_manifest.json and lock/temp
/// files, checkpoints included, with blake3 (hashed as a stream).
fn collect_artifacts(dir: &Path) -> Result<Vec<Artifact>> {
    let mut out = Vec::new();
    let hidden = |e: &walkdir::DirEntry| e.file_name().to_string_lossy().starts_with('.');
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !hidden(e))
    {
        let entry =
            entry.map_err(|e| Error::runtime(format!("cannot list {}: {e}", dir.display())))?;
        let path = relative_path(dir, entry.path());
        if !entry.file_type().is_file() || path == RUN_MANIFEST {
            continue;
        }
        let (blake3, bytes) = blake3_file(entry.path())?;
        out.push(Artifact {
            path,
            blake3,
            bytes,
        });
    }
    Ok(out)
}

/// The run folder of a Train job, locked for the job's lifetime.
struct RunFolder {
    dir: PathBuf,
    run_id: String,
    /// Checkpoint to resume from.
    resume: Option<(u32, PathBuf)>,
    _lock: File,
}

impl RunFolder {
    /// Find or create the folder: resume an unfinished run of the same
    /// config, never touch a completed one.
    fn open(root: &Path, name: &str, hash: &str) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| Error::io("create the runs folder", root, e))?;
        let mut n = 1;
        loop {
            let run_id = if n == 1 {
                name.to_string()
            } else {
                format!("{name}-{n}")
            };
            let dir = root.join(&run_id);
            n += 1;
            if !dir.exists() {
                std::fs::create_dir_all(dir.join(CHECKPOINTS))
                    .map_err(|e| Error::io("create the run folder", &dir, e))?;
                let lock = lock(&dir)?;
                return Ok(RunFolder {
                    dir,
                    run_id,
                    resume: None,
                    _lock: lock,
                });
            }
            let manifest = crate::runfolder::read_manifest(&dir).ok();
            let unfinished = manifest
                .as_ref()
                .is_some_and(|m| m.kind == "Train" && m.status != RunStatus::Completed);
            if !unfinished {
                continue;
            }
            let lock = lock(&dir)?;
            let resume = checkpoint::latest_resumable(&dir);
            if let Some((step, ckpt)) = &resume {
                let state = checkpoint::read_state(ckpt)?;
                if state.config_hash != hash {
                    return Err(Error::bad_input(format!(
                        "run folder {} holds an unfinished run of a different config (its checkpoint step {step} does not match this manifest); set output.name to start a new run, or delete that folder",
                        dir.display()
                    )));
                }
            }
            return Ok(RunFolder {
                dir,
                run_id,
                resume,
                _lock: lock,
            });
        }
    }
}

/// Hold an exclusive lock on the run folder for the process's lifetime.
fn lock(dir: &Path) -> Result<File> {
    let path = dir.join(CHECKPOINTS).join(".lock");
    std::fs::create_dir_all(dir.join(CHECKPOINTS))
        .map_err(|e| Error::io("create the checkpoints folder", dir, e))?;
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open the run lock", &path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::bad_input(format!(
            "run folder {} is in use by another tunix-rt process; wait for it to finish",
            dir.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io("lock the run folder", &path, e)),
    }
}
