//! Checks the schema cannot express: relations between fields, paths that
//! must exist and stay inside the workspace, and sweep parameters that must
//! name real training fields.

use std::collections::BTreeMap;
use std::path::Path;

use super::chain::{ChainLink, Cycle, MAX_BASE_CHAIN};
use super::common::{Decoding, Output};
use super::eval::{EvalSpec, ModelSource};
use super::params::{
    is_user_param, param_type, set_params, spec_rules, sweep_params, training_rules,
};
use super::slurm::{extra_option_problem, SlurmSpec};
use super::sweep::{BaseSpec, Distribution, Executor, ParamValue, SweepSpec};
use super::train::{
    ModelConfig, TrainModel, TrainSpec, TrainingConfig, MISSING_DATASET, MISSING_MODEL,
};
use super::{Kind, Manifest};
use crate::diagnostic::Diagnostic;
use crate::file_kind::{self, JsonlKind};
use crate::suggest;
use crate::workspace::Workspace;

mod dataset;
mod hf;
mod metric;
mod search;

/// One semantic problem, located by JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
    pub help: Option<String>,
    /// Report the key's position (e.g. `base:`), not the value's.
    pub at_key: bool,
}

/// Everything the semantic checks found in one manifest.
#[derive(Debug, Clone)]
pub(crate) struct Findings {
    pub problems: Vec<Problem>,
    /// A cycle of Sweep bases through this file that starts at a file
    /// further up the chain (see [`super::LoadFailure`]).
    pub open_cycle: Option<Cycle>,
}

struct Checker<'a> {
    ws: &'a Workspace,
    file: &'a Path,
    /// The files whose Sweep bases led here, this file last.
    chain: &'a [ChainLink],
    problems: Vec<Problem>,
    open_cycle: Option<Cycle>,
}

impl Checker<'_> {
    fn push(&mut self, pointer: String, message: impl Into<String>, help: Option<String>) {
        self.problems.push(Problem {
            pointer,
            message: message.into(),
            help,
            at_key: false,
        });
    }

    fn push_at_key(&mut self, pointer: &str, message: impl Into<String>, help: Option<String>) {
        self.problems.push(Problem {
            pointer: pointer.to_string(),
            message: message.into(),
            help,
            at_key: true,
        });
    }

    /// A path the job reads: must resolve inside the workspace and exist.
    fn input(&mut self, pointer: String, value: &Path) {
        match self.ws.resolve(self.file, value) {
            Ok(p) if !p.exists() => self.push(
                pointer,
                format!("`{}` does not exist ({})", value.display(), p.display()),
                Some("paths are relative to this manifest's folder".to_string()),
            ),
            Ok(_) => {}
            Err(e) => self.push(pointer, e.to_string(), None),
        }
    }

    /// A JSONL file the job reads as `expected`: must exist (see
    /// [`Self::input`]) and must not be another kind of file.
    fn jsonl_input(&mut self, pointer: String, value: &Path, expected: JsonlKind) {
        let found = match self.ws.resolve(self.file, value) {
            Ok(p) if p.is_file() => file_kind::of_file(&p),
            _ => return self.input(pointer, value),
        };
        if let Some(message) = file_kind::mismatch(found, expected) {
            self.push(
                pointer,
                format!("`{}`: {message}", value.display()),
                Some(match expected {
                    JsonlKind::EvalSet => "give an eval set here (evalsets/*.jsonl); a predictions file goes in an Eval manifest's `model: { predictions: FILE }`".to_string(),
                    _ => format!("give {} here", expected.describe()),
                }),
            );
        }
    }

    /// A path the job writes: must resolve inside the workspace.
    fn output_path(&mut self, pointer: String, value: &Path) {
        if let Err(e) = self.ws.resolve(self.file, value) {
            self.push(pointer, e.to_string(), None);
        }
    }

    fn output(&mut self, base: &str, output: &Output) {
        if let Some(root) = &output.root {
            self.output_path(format!("{base}/root"), root);
        }
    }

    /// `chat_template` is a Hugging Face model's: set anywhere else, it
    /// would be silently ignored.
    fn no_chat_template(&mut self, base: &str, decoding: &Decoding, source: &str) {
        if decoding.chat_template.is_some() {
            self.push_at_key(
                &format!("{base}/chat_template"),
                format!(
                    "`chat_template` applies to a Hugging Face model (`model: {{ hf: ... }}`); these outputs come from {source}, which has no chat template"
                ),
                Some("remove `chat_template`".to_string()),
            );
        }
    }

    /// Calculator-assisted decoding needs the built-in model's byte-level
    /// decoding loop.
    fn no_calculator(&mut self, base: &str, decoding: &Decoding) {
        if decoding.calculator {
            self.push_at_key(
                &format!("{base}/calculator"),
                "calculator-assisted decoding is available for the built-in model only, not for a Hugging Face model",
                Some("remove `calculator`".to_string()),
            );
        }
    }

    fn decoding(&mut self, base: &str, decoding: &Decoding) {
        if !decoding.prompt_template.contains("{prompt}") {
            self.push(
                format!("{base}/prompt_template"),
                "prompt_template does not contain `{prompt}`",
                Some("write where the eval item's prompt goes, e.g. \"Q: {prompt}\\nA:\"".into()),
            );
        }
        for (i, stop) in decoding.stop.iter().enumerate() {
            if stop.is_empty() {
                self.push(
                    format!("{base}/stop/{i}"),
                    "stop strings must not be empty",
                    None,
                );
            }
        }
    }

    fn train(&mut self, base: &str, spec: &TrainSpec) {
        match &spec.command {
            Some(command) => self.command(base, spec, command),
            None => self.builtin(base, spec),
        }
        self.training(&format!("{base}/training"), &spec.training);
        if let Some(eval) = &spec.eval {
            self.jsonl_input(
                format!("{base}/eval/evalset"),
                &eval.evalset,
                JsonlKind::EvalSet,
            );
            self.decoding(&format!("{base}/eval/decoding"), &eval.decoding);
            let decoding = format!("{base}/eval/decoding");
            if spec.pretrained().is_ok() {
                self.no_calculator(&decoding, &eval.decoding);
            } else {
                self.no_chat_template(&decoding, &eval.decoding, "a trained model");
            }
        }
        self.output(&format!("{base}/output"), &spec.output);
        self.slurm(base, spec.executor, spec.slurm.as_deref());
    }

    /// The built-in trainer's `model` and `dataset`.
    fn builtin(&mut self, base: &str, spec: &TrainSpec) {
        if !spec.params.is_empty() {
            self.push(
                format!("{base}/params"),
                "`params` are your own trainer's hyperparameters (for `command`): the built-in trainer takes none",
                Some("set the built-in model's own keys (`model`, `dataset`, `training`) instead".into()),
            );
        }
        if spec.model.is_none() {
            self.push(base.to_string(), MISSING_MODEL, None);
        }
        if spec.dataset.is_none() {
            self.push(base.to_string(), MISSING_DATASET, None);
        }
        match &spec.model {
            Some(TrainModel::Builtin(model)) => self.model(&format!("{base}/model"), model),
            Some(TrainModel::Hf(model)) => self.hf_model(&format!("{base}/model/hf"), &model.hf),
            None => {}
        }
        if let Some(dataset) = &spec.dataset {
            self.dataset(&format!("{base}/dataset"), dataset);
        }
    }

    /// A command trainer: no built-in model or data; every argument
    /// renders; the program exists.
    fn command(&mut self, base: &str, spec: &TrainSpec, command: &[String]) {
        for key in ["model", "dataset"] {
            let given = match key {
                "model" => spec.model.is_some(),
                _ => spec.dataset.is_some(),
            };
            if given {
                self.push_at_key(
                    &format!("{base}/{key}"),
                    format!("`{key}` is for the built-in trainer; this spec trains with its own `command`"),
                    Some(format!("remove `{key}`, or remove `command` to train the built-in model")),
                );
            }
        }
        let problems =
            crate::trainer::command::template::check(command, &spec.training, &spec.params);
        for p in &problems {
            self.push(
                format!("{base}/command/{}", p.index),
                p.message.clone(),
                p.help.clone(),
            );
        }
        if problems.iter().any(|p| p.index == 0) {
            return;
        }
        let program =
            crate::trainer::command::template::check_program(command, &spec.training, &spec.params);
        if let Some(program) = program {
            if let Err(e) = crate::trainer::command::find_program(&program, self.ws.root()) {
                self.push(format!("{base}/command/0"), e.to_string(), None);
            }
        }
    }

    fn model(&mut self, base: &str, model: &ModelConfig) {
        let dims = model.dims();
        let (n_head, n_embd) = (dims.n_head, dims.n_embd);
        if n_embd % n_head != 0 {
            self.push(
                format!("{base}/n_embd"),
                format!("n_embd ({n_embd}) is not a multiple of n_head ({n_head})"),
                None,
            );
        }
    }

    fn training(&mut self, base: &str, t: &TrainingConfig) {
        for (field, message) in training_rules(t) {
            self.push(format!("{base}/{field}"), message, None);
        }
    }

    fn sweep(&mut self, spec: &SweepSpec) {
        let base_train = match &spec.base {
            BaseSpec::Inline(train) => {
                self.train("/spec/base", &search::with_swept_params(train, spec));
                Some((**train).clone())
            }
            BaseSpec::Path(path) => self.sweep_base_file(path),
        };
        let params = sweep_params();
        let names: Vec<&str> = params.keys().map(String::as_str).collect();
        let unknown = |name: &str| {
            format!(
                "`{name}` is not a training parameter (nor a numeric or named-choice `model.` or `dataset.` field, nor one of your trainer's `params.NAME`)"
            )
        };
        let builtin_base = base_train.as_ref().is_some_and(|t| t.command.is_none());
        for (name, dist) in &spec.search_space {
            let pointer = format!("/spec/search_space/{name}");
            match param_type(name) {
                None => self.push(pointer, unknown(name), suggest::help_for(name, &names)),
                Some(_) if builtin_base && is_user_param(name) => {
                    self.push(pointer, search::USER_PARAM_NEEDS_COMMAND, None)
                }
                Some(ty) => self.distribution(&pointer, &ty, dist),
            }
        }
        for name in spec.overrides.keys() {
            let pointer = format!("/spec/overrides/{name}");
            if param_type(name).is_none() {
                self.push(pointer, unknown(name), suggest::help_for(name, &names));
            } else if spec.search_space.contains_key(name) {
                self.push(
                    pointer,
                    format!("`{name}` is both searched and overridden"),
                    Some("remove it from one of search_space and overrides".into()),
                );
            }
        }
        if let Some(train) = &base_train {
            self.overrides_apply(train, &spec.overrides);
        }
        self.sweep_metric(spec, base_train.as_ref());
        let trials = spec
            .search_space
            .values()
            .filter_map(|d| match d {
                Distribution::Grid(values) => Some(values.len() as u64),
                _ => None,
            })
            .product::<u64>()
            .saturating_mul(u64::from(spec.num_samples));
        self.search(spec, trials);
        self.hyperband(spec);
        if u64::from(spec.max_concurrent_trials) > trials {
            self.push(
                "/spec/max_concurrent_trials".into(),
                format!(
                    "max_concurrent_trials ({}) is more than the plan's {trials} trial(s)",
                    spec.max_concurrent_trials
                ),
                Some(format!("set it to at most {trials}")),
            );
        }
        if let Some(promote) = &spec.promote {
            self.output_path("/spec/promote/config".into(), &promote.config);
            self.output_path("/spec/promote/params".into(), &promote.params);
            if let Some(evidence) = &promote.evidence {
                self.output_path("/spec/promote/evidence".into(), evidence);
            }
        }
        self.slurm("/spec", spec.executor, spec.slurm.as_ref());
    }

    /// The `executor` and `slurm` keys of the spec at `base`.
    fn slurm(&mut self, base: &str, executor: Executor, slurm: Option<&SlurmSpec>) {
        let Some(slurm) = slurm else {
            if executor == Executor::Slurm {
                self.push_at_key(
                    &format!("{base}/executor"),
                    "`executor: slurm` needs a `slurm` block",
                    Some("add `slurm: {shared_dir: /a/folder/the/compute/nodes/see}` and the partition, GPUs, time limit your cluster wants".into()),
                );
            }
            return;
        };
        let at = format!("{base}/slurm");
        if executor != Executor::Slurm {
            self.push_at_key(
                &at,
                "a `slurm` block only applies with `executor: slurm`",
                Some("add `executor: slurm`, or remove the block".into()),
            );
        }
        if !slurm.shared_dir.is_absolute() {
            self.push(
                format!("{at}/shared_dir"),
                format!(
                    "shared_dir `{}` is not an absolute path",
                    slurm.shared_dir.display()
                ),
                Some("give the folder's absolute path, as the compute nodes see it".into()),
            );
        }
        if let Some(bin) = slurm.tunix_rt.as_ref().filter(|b| !b.is_absolute()) {
            self.push(
                format!("{at}/tunix_rt"),
                format!("tunix_rt `{}` is not an absolute path", bin.display()),
                None,
            );
        }
        if slurm.gpu_type.is_some() && slurm.gpus_per_trial == 0 {
            self.push(
                format!("{at}/gpu_type"),
                "gpu_type is set but gpus_per_trial is 0",
                Some("set gpus_per_trial, or remove gpu_type".into()),
            );
        }
        for (i, option) in slurm.extra_sbatch.iter().enumerate() {
            if let Some(problem) = extra_option_problem(option) {
                self.push(
                    format!("{at}/extra_sbatch/{i}"),
                    format!("extra_sbatch entry {option:?} {problem}"),
                    None,
                );
            }
        }
    }

    /// Report a cycle of Sweep bases; when it starts further up the chain,
    /// also hand it up so the file where it starts reports it as its own.
    fn base_cycle(&mut self, cycle: Cycle) {
        self.push_at_key(
            "/spec/base",
            format!("Sweep bases form a cycle: {cycle}"),
            Some("a Sweep's base must be a Train manifest or an inline Train spec".into()),
        );
        if !cycle.starts_at(self.chain.last()) {
            self.open_cycle = Some(cycle);
        }
    }

    fn sweep_base_file(&mut self, path: &Path) -> Option<TrainSpec> {
        let resolved = match self.ws.resolve(self.file, path) {
            Ok(p) => p,
            Err(e) => {
                self.push("/spec/base".into(), e.to_string(), None);
                return None;
            }
        };
        if !resolved.exists() {
            self.input("/spec/base".into(), path);
            return None;
        }
        let shown = self.ws.display_path(&resolved).display().to_string();
        if let Some(cycle) = Cycle::closed_by(self.chain, ChainLink::new(&resolved, &shown)) {
            self.base_cycle(cycle);
            return None;
        }
        if self.chain.len() >= MAX_BASE_CHAIN {
            self.push_at_key(
                "/spec/base",
                format!("Sweep bases nest more than {MAX_BASE_CHAIN} files deep"),
                Some("a Sweep's base must be a Train manifest".into()),
            );
            return None;
        }
        match super::load_in_chain(self.ws, &resolved, &shown, self.chain) {
            Ok(loaded) => match loaded.manifest {
                Manifest::Train(train) => Some(train.spec),
                other => {
                    self.push(
                        "/spec/base".into(),
                        format!(
                            "base `{}` is a {} manifest; a Sweep's base must be a Train manifest",
                            path.display(),
                            other.kind().name()
                        ),
                        None,
                    );
                    None
                }
            },
            Err(failure) => {
                match failure.open_cycle {
                    Some(cycle) if cycle.starts_at(self.chain.last()) => self.base_cycle(cycle),
                    open_cycle => {
                        self.invalid_base(path, &shown, &failure.diagnostics);
                        self.open_cycle = open_cycle;
                    }
                }
                None
            }
        }
    }

    fn invalid_base(&mut self, path: &Path, shown: &str, diagnostics: &[Diagnostic]) {
        let first = diagnostics
            .first()
            .map(|d| d.to_string())
            .unwrap_or_default();
        self.push(
            "/spec/base".into(),
            format!(
                "base manifest `{}` is invalid ({} problem(s)); first: {first}",
                path.display(),
                diagnostics.len()
            ),
            Some(format!("run `tunix-rt validate {shown}`")),
        );
    }

    /// Apply the overrides to the base's training section and check that the
    /// result still type-checks.
    fn overrides_apply(&mut self, base: &TrainSpec, overrides: &BTreeMap<String, ParamValue>) {
        match set_params(base, overrides) {
            Err(e) => self.push(
                format!("/spec/overrides/{}", e.name),
                format!("override does not fit the parameter: {}", e.message),
                None,
            ),
            Ok(t) => {
                for (_, message) in spec_rules(&t) {
                    self.push(
                        "/spec/overrides".into(),
                        format!("with these overrides {message}"),
                        None,
                    );
                }
            }
        }
    }

    fn eval(&mut self, spec: &EvalSpec) {
        self.jsonl_input("/spec/evalset".into(), &spec.evalset, JsonlKind::EvalSet);
        match &spec.model {
            ModelSource::Predictions(p) => {
                self.jsonl_input("/spec/model/predictions".into(), p, JsonlKind::Predictions)
            }
            ModelSource::Checkpoint(c) => {
                self.output_path("/spec/model/checkpoint/run".into(), &c.run)
            }
            ModelSource::Hf(dir) => self.hf_model("/spec/model/hf", dir),
        }
        self.decoding("/spec/decoding", &spec.decoding);
        match &spec.model {
            ModelSource::Hf(_) => self.no_calculator("/spec/decoding", &spec.decoding),
            ModelSource::Predictions(_) => {
                self.no_chat_template("/spec/decoding", &spec.decoding, "a predictions file");
                if !spec.device.is_auto() {
                    self.push_at_key(
                        "/spec/device",
                        "`device` says where a checkpoint or hf model decodes; these outputs come from a predictions file, which decodes nothing",
                        Some("remove `device`".to_string()),
                    );
                }
            }
            ModelSource::Checkpoint(_) => {
                self.no_chat_template("/spec/decoding", &spec.decoding, "a checkpoint")
            }
        }
        self.output("/spec/output", &spec.output);
    }
}

/// Run every semantic check on `manifest`, read from `file`; `chain` lists
/// the files whose Sweep bases led here, `file` last.
pub(crate) fn check(
    ws: &Workspace,
    file: &Path,
    manifest: &Manifest,
    chain: &[ChainLink],
) -> Findings {
    let mut checker = Checker {
        ws,
        file,
        chain,
        problems: Vec::new(),
        open_cycle: None,
    };
    match manifest {
        Manifest::Train(m) => checker.train("/spec", &m.spec),
        Manifest::Sweep(m) => checker.sweep(&m.spec),
        Manifest::Eval(m) => checker.eval(&m.spec),
    }
    debug_assert!(Kind::ALL.contains(&manifest.kind()));
    Findings {
        problems: checker.problems,
        open_cycle: checker.open_cycle,
    }
}
