//! Checks the schema cannot express: relations between fields, paths that
//! must exist and stay inside the workspace, and sweep parameters that must
//! name real training fields.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

use serde_json::Value;

use super::chain::{ChainLink, Cycle, MAX_BASE_CHAIN};
use super::common::{Decoding, Output};
use super::eval::{EvalSpec, ModelSource};
use super::sweep::{BaseSpec, Distribution, Executor, ParamValue, SweepMetric, SweepSpec};
use super::train::{ModelConfig, TrainSpec, TrainingConfig, MISSING_DATASET, MISSING_MODEL};
use super::{Kind, Manifest};
use crate::diagnostic::Diagnostic;
use crate::schema_check::CompiledSchema;
use crate::suggest;
use crate::workspace::Workspace;

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
            Err(e) => self.push(pointer, e, None),
        }
    }

    /// A path the job writes: must resolve inside the workspace.
    fn output_path(&mut self, pointer: String, value: &Path) {
        if let Err(e) = self.ws.resolve(self.file, value) {
            self.push(pointer, e, None);
        }
    }

    fn output(&mut self, base: &str, output: &Output) {
        if let Some(root) = &output.root {
            self.output_path(format!("{base}/root"), root);
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
            self.input(format!("{base}/eval/evalset"), &eval.evalset);
            self.decoding(&format!("{base}/eval/decoding"), &eval.decoding);
        }
        self.output(&format!("{base}/output"), &spec.output);
    }

    /// The built-in trainer's `model` and `dataset`.
    fn builtin(&mut self, base: &str, spec: &TrainSpec) {
        if spec.model.is_none() {
            self.push(base.to_string(), MISSING_MODEL, None);
        }
        if spec.dataset.is_none() {
            self.push(base.to_string(), MISSING_DATASET, None);
        }
        if let Some(model) = &spec.model {
            self.model(&format!("{base}/model"), model);
        }
        if let Some(mix) = spec.dataset.as_ref().map(|d| &d.difficulty) {
            if mix.easy + mix.medium + mix.hard <= 0.0 {
                self.push(
                    format!("{base}/dataset/difficulty"),
                    "difficulty weights are all zero",
                    Some("give at least one of easy, medium, hard a positive weight".into()),
                );
            }
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
        let problems = crate::trainer::command::template::check(command, &spec.training);
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
        let program = crate::trainer::command::template::check_program(command, &spec.training);
        if let Some(program) = program {
            if let Err(e) = crate::trainer::command::find_program(&program, self.ws.root()) {
                self.push(format!("{base}/command/0"), e, None);
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
                self.train("/spec/base", train);
                Some((**train).clone())
            }
            BaseSpec::Path(path) => self.sweep_base_file(path),
        };
        let params = training_params();
        let names: Vec<&str> = params.keys().map(String::as_str).collect();
        for (name, dist) in &spec.search_space {
            let pointer = format!("/spec/search_space/{name}");
            match params.get(name) {
                None => self.push(
                    pointer,
                    format!("`{name}` is not a training parameter"),
                    suggest::help_for(name, &names),
                ),
                Some(ty) => self.distribution(&pointer, *ty, dist),
            }
        }
        for name in spec.overrides.keys() {
            let pointer = format!("/spec/overrides/{name}");
            if !params.contains_key(name) {
                self.push(
                    pointer,
                    format!("`{name}` is not a training parameter"),
                    suggest::help_for(name, &names),
                );
            } else if spec.search_space.contains_key(name) {
                self.push(
                    pointer,
                    format!("`{name}` is both searched and overridden"),
                    Some("remove it from one of search_space and overrides".into()),
                );
            }
        }
        if let Some(train) = base_train {
            self.overrides_apply(&train.training, &spec.overrides);
            if spec.metric == SweepMetric::PrimaryScore && train.eval.is_none() {
                self.push(
                    "/spec/metric".into(),
                    "metric `primary_score` needs an `eval` section in the base Train spec"
                        .to_string(),
                    Some("add spec.eval to the base, or use `metric: val_loss`".into()),
                );
            }
        }
        let trials = spec
            .search_space
            .values()
            .filter_map(|d| match d {
                Distribution::Grid(values) => Some(values.len() as u64),
                _ => None,
            })
            .product::<u64>()
            .saturating_mul(u64::from(spec.num_samples));
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
        }
        if spec.executor == Executor::Slurm {
            self.push_at_key(
                "/spec/executor",
                "executor `slurm` is not available in this version yet; use `executor: local`",
                None,
            );
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
                self.push("/spec/base".into(), e, None);
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

    fn distribution(&mut self, pointer: &str, ty: ParamType, dist: &Distribution) {
        let integer_only = ty == ParamType::Integer;
        match dist {
            Distribution::Uniform([low, high]) | Distribution::Loguniform([low, high]) => {
                let log = matches!(dist, Distribution::Loguniform(_));
                let name = if log { "loguniform" } else { "uniform" };
                if integer_only {
                    self.push(
                        format!("{pointer}/{name}"),
                        format!("this parameter is an integer; `{name}` samples real numbers"),
                        Some("use `randint: [low, high]` or `choice: [...]`".into()),
                    );
                }
                if low > high {
                    self.push(
                        format!("{pointer}/{name}"),
                        format!("{name} bounds are reversed: low {low} > high {high}"),
                        Some(format!("write `{name}: [{high}, {low}]`")),
                    );
                }
                if log && *low <= 0.0 {
                    self.push(
                        format!("{pointer}/{name}/0"),
                        format!("loguniform needs positive bounds, found low {low}"),
                        None,
                    );
                }
            }
            Distribution::Randint([low, high]) => {
                if low > high {
                    self.push(
                        format!("{pointer}/randint"),
                        format!("randint bounds are reversed: low {low} > high {high}"),
                        Some(format!("write `randint: [{high}, {low}]`")),
                    );
                }
            }
            Distribution::Choice(values) | Distribution::Grid(values) => {
                let name = if matches!(dist, Distribution::Choice(_)) {
                    "choice"
                } else {
                    "grid"
                };
                for (i, v) in values.iter().enumerate() {
                    let fits = matches!(
                        (ty, v),
                        (ParamType::Integer, ParamValue::Int(_))
                            | (ParamType::Number, ParamValue::Int(_) | ParamValue::Float(_))
                    );
                    if !fits {
                        self.push(
                            format!("{pointer}/{name}/{i}"),
                            format!("expected {}, found `{}`", ty.describe(), param_text(v)),
                            None,
                        );
                    }
                }
            }
        }
    }

    /// Apply the overrides to the base's training section and check that the
    /// result still type-checks.
    fn overrides_apply(&mut self, base: &TrainingConfig, overrides: &BTreeMap<String, ParamValue>) {
        match set_training_params(base, overrides) {
            Err(e) => self.push(
                format!("/spec/overrides/{}", e.name),
                format!(
                    "override does not fit the training parameter: {}",
                    e.message
                ),
                None,
            ),
            Ok(t) => {
                for (_, message) in training_rules(&t) {
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
        self.input("/spec/evalset".into(), &spec.evalset);
        match &spec.model {
            ModelSource::Predictions(p) => self.input("/spec/model/predictions".into(), p),
            ModelSource::Checkpoint(c) => {
                self.output_path("/spec/model/checkpoint/run".into(), &c.run)
            }
        }
        self.decoding("/spec/decoding", &spec.decoding);
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

/// Relations between training fields the schema cannot express, as
/// (field, message) pairs; empty when the section is consistent.
pub fn training_rules(t: &TrainingConfig) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if t.warmup_steps > t.max_steps {
        out.push((
            "warmup_steps",
            format!(
                "warmup_steps ({}) is larger than max_steps ({})",
                t.warmup_steps, t.max_steps
            ),
        ));
    }
    out
}

/// A sweep parameter that does not fit its training field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamMismatch {
    /// The training parameter, e.g. `per_device_batch_size`.
    pub name: String,
    pub message: String,
}

/// `training` with each of `params` set on it, in order, through serde and
/// then the [`TrainingConfig`] schema (types and ranges), so the result is a
/// valid training section. The first parameter that does not fit is the
/// error. Sweeps use it for their overrides and for every trial's values.
pub fn set_training_params<'a>(
    training: &TrainingConfig,
    params: impl IntoIterator<Item = (&'a String, &'a ParamValue)>,
) -> Result<TrainingConfig, ParamMismatch> {
    let mismatch = |name: &str, message: String| ParamMismatch {
        name: name.to_string(),
        message,
    };
    let mut merged = match serde_json::to_value(training) {
        Ok(Value::Object(map)) => map,
        Ok(_) | Err(_) => {
            return Err(mismatch(
                "",
                "internal: the training section is not a JSON object".into(),
            ))
        }
    };
    let mut result = training.clone();
    for (name, value) in params {
        // Only a non-finite float serializes to null.
        let v = serde_json::to_value(value).unwrap_or(Value::Null);
        if let (Value::Null, ParamValue::Float(f)) = (&v, value) {
            return Err(mismatch(name, format!("`{f}` is not a finite number")));
        }
        merged.insert(name.clone(), v);
        result = serde_json::from_value(Value::Object(merged.clone()))
            .map_err(|e| mismatch(name, e.to_string()))?;
    }
    if let Some(issue) = training_schema()
        .check(&Value::Object(merged))
        .into_iter()
        .next()
    {
        let field = issue.pointer.trim_start_matches('/');
        let name = field.split('/').next().unwrap_or(field);
        return Err(mismatch(name, issue.message));
    }
    Ok(result)
}

/// The compiled schema of [`TrainingConfig`].
fn training_schema() -> &'static CompiledSchema {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        CompiledSchema::new(crate::schema_check::generate::<TrainingConfig>())
            .unwrap_or_else(|e| panic!("generated schema must compile: {e}"))
    })
}

/// The type of a training parameter, as far as sweeps care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Integer,
    Number,
}

impl ParamType {
    fn describe(self) -> &'static str {
        match self {
            ParamType::Integer => "an integer",
            ParamType::Number => "a number",
        }
    }
}

fn param_text(v: &ParamValue) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Training parameters a sweep may search or override, with their types,
/// read from the generated schema of [`TrainingConfig`] so the two never
/// drift apart.
pub fn training_params() -> &'static BTreeMap<String, ParamType> {
    static PARAMS: OnceLock<BTreeMap<String, ParamType>> = OnceLock::new();
    PARAMS.get_or_init(|| {
        let schema = crate::schema_check::generate::<TrainingConfig>();
        let mut out = BTreeMap::new();
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, prop) in props {
                let types: Vec<&str> = match prop.get("type") {
                    Some(Value::String(t)) => vec![t.as_str()],
                    Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                if types.contains(&"integer") {
                    out.insert(name.clone(), ParamType::Integer);
                } else if types.contains(&"number") {
                    out.insert(name.clone(), ParamType::Number);
                }
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_params_come_from_the_schema() {
        let p = training_params();
        assert_eq!(p.get("learning_rate"), Some(&ParamType::Number));
        assert_eq!(p.get("per_device_batch_size"), Some(&ParamType::Integer));
        assert_eq!(p.get("max_steps"), Some(&ParamType::Integer));
        assert_eq!(p.get("eval_interval"), Some(&ParamType::Integer));
    }

    #[test]
    fn set_training_params_checks_types_and_ranges() {
        let base: TrainingConfig = serde_json::from_value(serde_json::json!({
            "learning_rate": 1e-3, "per_device_batch_size": 8, "max_steps": 100,
        }))
        .expect("training");
        let set = |name: &str, v: ParamValue| {
            let params = BTreeMap::from([(name.to_string(), v)]);
            set_training_params(&base, &params)
        };
        let t = set("warmup_steps", ParamValue::Int(10)).expect("fits");
        assert_eq!(t.warmup_steps, 10);
        assert_eq!(
            set("max_steps", ParamValue::Int(0)).map_err(|e| e.name),
            Err("max_steps".into())
        );
        assert_eq!(
            set("per_device_batch_size", ParamValue::Float(1.5)).map_err(|e| e.name),
            Err("per_device_batch_size".into())
        );
        assert_eq!(
            set("learning_rate", ParamValue::Float(f64::NAN)).map_err(|e| e.name),
            Err("learning_rate".into())
        );
    }
}
