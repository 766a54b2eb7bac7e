//! [`TrainManifestBuilder`]: a Train manifest for tests, the built-in
//! model's (`model`, `dataset`) or a command trainer's (`command`, `env`,
//! `params`), with its training settings, eval section and executor.

use std::path::PathBuf;

use tunix_core::manifest::common::{ApiVersion, Decoding, Metadata};
use tunix_core::manifest::slurm::SlurmSpec;
use tunix_core::manifest::train::{
    DatasetConfig, DatasetName, Executor, InitFrom, ModelConfig, ModelPreset, OverlapPolicy,
    TrainEval, TrainModel, TrainSpec, TrainingConfig,
};
use tunix_core::manifest::{TrainKind, TrainManifest};

use super::{to_yaml, with_defaults, Param};

/// A Train manifest under construction. [`TrainManifestBuilder::new`]
/// starts with the required training keys only (learning rate 1e-3, batch
/// size 1, one step); the built-in model needs [`Self::model`] and a
/// dataset ([`Self::dataset`] or [`Self::own_data`]), a command trainer
/// [`Self::command`].
#[derive(Debug, Clone)]
pub struct TrainManifestBuilder {
    manifest: TrainManifest,
}

impl TrainManifestBuilder {
    /// A Train manifest named `name` (also its run folder's name).
    pub fn new(name: &str) -> Self {
        let training = serde_json::json!({
            "learning_rate": 1.0e-3,
            "per_device_batch_size": 1,
            "max_steps": 1,
        });
        let spec: TrainSpec =
            with_defaults("a Train spec", serde_json::json!({ "training": training }));
        TrainManifestBuilder {
            manifest: TrainManifest {
                api_version: ApiVersion::V1,
                kind: TrainKind::Tag,
                metadata: Metadata {
                    name: name.to_string(),
                    labels: Default::default(),
                    description: None,
                },
                spec,
            },
        }
    }

    /// A builder for an existing spec (an inline Sweep base), named `name`.
    pub(super) fn from_spec(name: &str, spec: TrainSpec) -> Self {
        let mut builder = TrainManifestBuilder::new(name);
        builder.manifest.spec = spec;
        builder
    }

    /// The manifest.
    pub fn build(self) -> TrainManifest {
        self.manifest
    }

    /// The spec alone (an inline Sweep base).
    pub fn into_spec(self) -> TrainSpec {
        self.manifest.spec
    }

    /// The manifest as YAML.
    pub fn to_yaml(&self) -> String {
        to_yaml(&self.manifest)
    }

    /// `metadata.labels.KEY: value`.
    pub fn label(mut self, key: &str, value: &str) -> Self {
        self.manifest
            .metadata
            .labels
            .insert(key.to_string(), value.to_string());
        self
    }

    /// `metadata.description`.
    pub fn description(mut self, text: &str) -> Self {
        self.manifest.metadata.description = Some(text.to_string());
        self
    }

    /// The built-in model: `preset` at its own sizes.
    pub fn model(mut self, preset: ModelPreset) -> Self {
        self.manifest.spec.model = Some(TrainModel::Builtin(ModelConfig {
            preset,
            n_layer: None,
            n_head: None,
            n_embd: None,
            context_length: None,
            dropout: 0.0,
            init: None,
        }));
        self
    }

    fn model_mut(&mut self) -> &mut ModelConfig {
        match self.manifest.spec.model.as_mut() {
            Some(TrainModel::Builtin(m)) => m,
            _ => panic!("set the model with .model(preset) before its sizes"),
        }
    }

    /// `model.n_layer`.
    pub fn n_layer(mut self, n: u32) -> Self {
        self.model_mut().n_layer = Some(n);
        self
    }

    /// `model.n_head`.
    pub fn n_head(mut self, n: u32) -> Self {
        self.model_mut().n_head = Some(n);
        self
    }

    /// `model.n_embd`.
    pub fn n_embd(mut self, n: u32) -> Self {
        self.model_mut().n_embd = Some(n);
        self
    }

    /// `model.context_length`.
    pub fn context_length(mut self, n: u32) -> Self {
        self.model_mut().context_length = Some(n);
        self
    }

    /// `model.init`: start from run `run`'s checkpoint at `step`.
    pub fn init(mut self, run: &str, step: u32) -> Self {
        self.model_mut().init = Some(InitFrom {
            run: run.to_string(),
            step: Some(step),
        });
        self
    }

    /// A generated data set, at the default sizes.
    pub fn dataset(mut self, name: DatasetName) -> Self {
        let mut dataset: DatasetConfig = with_defaults("a dataset", serde_json::json!({}));
        dataset.name = Some(name);
        self.manifest.spec.dataset = Some(dataset);
        self
    }

    /// The user's own training data: `dataset.path` (relative to the
    /// manifest's folder), with [`Self::val_fraction`] or [`Self::val_path`].
    pub fn own_data(mut self, path: &str) -> Self {
        let mut dataset: DatasetConfig = with_defaults("a dataset", serde_json::json!({}));
        dataset.path = Some(PathBuf::from(path));
        self.manifest.spec.dataset = Some(dataset);
        self
    }

    fn dataset_mut(&mut self) -> &mut DatasetConfig {
        self.manifest
            .spec
            .dataset
            .as_mut()
            .expect("set the data with .dataset(name) or .own_data(path) first")
    }

    /// `dataset.train_examples`.
    pub fn train_examples(mut self, n: u32) -> Self {
        self.dataset_mut().train_examples = n;
        self
    }

    /// `dataset.val_examples`.
    pub fn val_examples(mut self, n: u32) -> Self {
        self.dataset_mut().val_examples = n;
        self
    }

    /// `dataset.val_fraction`.
    pub fn val_fraction(mut self, fraction: f64) -> Self {
        self.dataset_mut().val_fraction = Some(fraction);
        self
    }

    /// `dataset.val_path`.
    pub fn val_path(mut self, path: &str) -> Self {
        self.dataset_mut().val_path = Some(PathBuf::from(path));
        self
    }

    /// `dataset.overlap`.
    pub fn overlap(mut self, policy: OverlapPolicy) -> Self {
        self.dataset_mut().overlap = policy;
        self
    }

    /// `command`: train with this program (each element a template).
    pub fn command<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        self.manifest.spec.command = Some(argv.into_iter().map(Into::into).collect());
        self
    }

    /// `env.KEY: value` for the command.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.manifest
            .spec
            .env
            .insert(key.to_string(), value.to_string());
        self
    }

    /// `params.NAME: value`, the command trainer's own hyperparameter.
    pub fn param(mut self, name: &str, value: impl Param) -> Self {
        self.manifest
            .spec
            .params
            .insert(name.to_string(), value.param());
        self
    }

    fn training(&mut self) -> &mut TrainingConfig {
        &mut self.manifest.spec.training
    }

    /// `training.learning_rate`.
    pub fn learning_rate(mut self, rate: f64) -> Self {
        self.training().learning_rate = rate;
        self
    }

    /// `training.per_device_batch_size`.
    pub fn per_device_batch_size(mut self, n: u32) -> Self {
        self.training().per_device_batch_size = n;
        self
    }

    /// `training.warmup_steps`.
    pub fn warmup_steps(mut self, n: u32) -> Self {
        self.training().warmup_steps = n;
        self
    }

    /// `training.max_steps`.
    pub fn max_steps(mut self, n: u32) -> Self {
        self.training().max_steps = n;
        self
    }

    /// `training.checkpoint_interval`.
    pub fn checkpoint_interval(mut self, n: u32) -> Self {
        self.training().checkpoint_interval = Some(n);
        self
    }

    /// `training.log_interval`.
    pub fn log_interval(mut self, n: u32) -> Self {
        self.training().log_interval = n;
        self
    }

    /// `training.eval_interval`.
    pub fn eval_interval(mut self, n: u32) -> Self {
        self.training().eval_interval = Some(n);
        self
    }

    /// `training.seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.training().seed = seed;
        self
    }

    /// `device`: `auto`, `cpu`, `cuda` or `cuda:N`.
    pub fn device(mut self, device: &str) -> Self {
        self.manifest.spec.device = device
            .parse()
            .unwrap_or_else(|e| panic!("a test asked for {e}"));
        self
    }

    /// An `eval` section on `evalset` (relative to the manifest's folder),
    /// with the default decoding.
    pub fn eval(mut self, evalset: &str) -> Self {
        self.manifest.spec.eval = Some(TrainEval {
            evalset: PathBuf::from(evalset),
            decoding: Decoding::default(),
            answer_extraction: Default::default(),
            equivalence: Default::default(),
        });
        self
    }

    /// The eval section's `decoding.max_new_tokens` and `batch_size`.
    pub fn decoding(mut self, max_new_tokens: u32, batch_size: u32) -> Self {
        let eval = self
            .manifest
            .spec
            .eval
            .as_mut()
            .expect("add the eval section with .eval(evalset) before its decoding");
        eval.decoding.max_new_tokens = max_new_tokens;
        eval.decoding.batch_size = batch_size;
        self
    }

    /// `executor: slurm` with this `slurm` block.
    pub fn slurm(mut self, slurm: SlurmSpec) -> Self {
        self.manifest.spec.executor = Executor::Slurm;
        self.manifest.spec.slurm = Some(Box::new(slurm));
        self
    }
}
