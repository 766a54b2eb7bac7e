//! The `Sweep` kind: many Train trials over a search space.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::common::ParamValue;
use super::slurm::SlurmSpec;
use super::train::TrainSpec;
// `Executor` is the Train spec's (a trial is a Train job); kept nameable here.
pub use super::train::Executor;

/// What a Sweep job does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// The Train job every trial starts from: a path to a Train manifest
    /// (relative to this file) or an inline Train spec.
    pub base: BaseSpec,
    /// Training parameters to search, each with a distribution.
    #[schemars(length(min = 1))]
    pub search_space: BTreeMap<String, Distribution>,
    /// Training parameters fixed for every trial, e.g. `max_steps: 50`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, ParamValue>,
    /// Trials per grid point (Ray Tune's rule): there are `num_samples` ×
    /// (product of the `grid` dimensions' lengths) trials, each drawing the
    /// non-grid parameters at random; without a grid, `num_samples` trials.
    #[schemars(range(min = 1, max = 100_000))]
    pub num_samples: u32,
    /// Metric the sweep optimizes: any metric the trainer reports on its
    /// metrics lines (`primary_score`, `val_loss`, `loss`, `grad_norm`,
    /// `val/f1`, ...).
    #[serde(default)]
    pub metric: SweepMetric,
    /// Whether a larger metric is better. Defaults to `max` for
    /// `primary_score` and `min` for `loss` and `val_loss`; any other
    /// metric needs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// How the non-grid parameters are drawn: `random` (each trial
    /// independently) or `{tpe: {...}}` (the Tree-structured Parzen
    /// Estimator, from the results of the trials before it).
    #[serde(default, skip_serializing_if = "Search::is_random")]
    pub search: Search,
    /// Early stopping of unpromising trials.
    #[serde(default)]
    pub scheduler: Scheduler,
    /// Trials running at once.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1024))]
    pub max_concurrent_trials: u32,
    /// Trials sharing one GPU: with N visible GPUs, trial slots get
    /// `CUDA_VISIBLE_DEVICES` round-robin, at most N × this many at once.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    pub trials_per_gpu: u32,
    /// Seconds one trial process may run (each rung's run of a trial is
    /// one process); then its whole process group is killed and the trial
    /// fails with class `timeout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub trial_timeout_s: Option<u64>,
    /// Retries per failure class, per trial over the whole sweep (across
    /// rungs and resumed coordinators); a retry resumes from the trial's
    /// newest checkpoint.
    #[serde(default)]
    pub max_retries: MaxRetries,
    /// Where trials run.
    #[serde(default)]
    pub executor: Executor,
    /// The Slurm jobs' resources and placement (`executor: slurm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm: Option<SlurmSpec>,
    /// Seed of the trial sampler: trial k's parameters depend only on (seed, k).
    #[serde(default)]
    pub seed: u64,
    /// Where to write the best trial's config and parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promote: Option<Promote>,
}

fn one() -> u32 {
    1
}

/// How often a failed trial is retried, by failure class. Invalid configs
/// and NaN losses fail the same way again, so they are not retried unless
/// asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct MaxRetries {
    #[schemars(range(max = 10))]
    pub crash: u32,
    #[schemars(range(max = 10))]
    pub timeout: u32,
    #[schemars(range(max = 10))]
    pub out_of_memory: u32,
    #[schemars(range(max = 10))]
    pub nan_loss: u32,
    #[schemars(range(max = 10))]
    pub bad_config: u32,
    /// A metrics line that is not a metrics record fails the same way
    /// again.
    #[schemars(range(max = 10))]
    pub bad_metrics: u32,
    /// A command trainer that writes no predictions for the `eval`
    /// section does not write them the next time either.
    #[schemars(range(max = 10))]
    pub no_predictions: u32,
}

impl Default for MaxRetries {
    fn default() -> Self {
        MaxRetries {
            crash: 1,
            timeout: 1,
            out_of_memory: 0,
            nan_loss: 0,
            bad_config: 0,
            bad_metrics: 0,
            no_predictions: 0,
        }
    }
}

impl MaxRetries {
    /// Retries allowed for failures of class `class` (a
    /// [`crate::trainer::FailureClass`] name); unknown classes get none.
    pub fn for_class(&self, class: &str) -> u32 {
        match class {
            "crash" => self.crash,
            "timeout" => self.timeout,
            "out_of_memory" => self.out_of_memory,
            "nan_loss" => self.nan_loss,
            "bad_config" => self.bad_config,
            "bad_metrics" => self.bad_metrics,
            "no_predictions" => self.no_predictions,
            _ => 0,
        }
    }
}

/// The base of a sweep: a Train manifest path or an inline Train spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BaseSpec {
    /// Path to a Train manifest, relative to the Sweep manifest.
    Path(PathBuf),
    /// An inline Train spec.
    Inline(Box<TrainSpec>),
}

/// A search distribution for one parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum Distribution {
    /// Uniform real in `[low, high]`.
    Uniform([f64; 2]),
    /// Log-uniform real in `[low, high]`, both positive.
    Loguniform([f64; 2]),
    /// Uniform integer in `[low, high]` (both inclusive).
    Randint([i64; 2]),
    /// One of the listed values, sampled uniformly.
    Choice(#[schemars(length(min = 1))] Vec<ParamValue>),
    /// Every listed value (a grid dimension).
    Grid(#[schemars(length(min = 1))] Vec<ParamValue>),
}

/// The metric a sweep optimizes, named as the trainer reports it: 1–64
/// characters of `[A-Za-z0-9_./-]`, starting with a letter. The default,
/// `primary_score`, is the eval set's score (it needs the base's `eval`
/// section).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(transparent)]
pub struct SweepMetric(#[schemars(regex(pattern = r"^[A-Za-z][A-Za-z0-9_./-]{0,63}$"))] String);

impl SweepMetric {
    pub const PRIMARY_SCORE: &'static str = "primary_score";
    pub const VAL_LOSS: &'static str = "val_loss";

    pub fn new(name: impl Into<String>) -> Self {
        SweepMetric(name.into())
    }

    /// The eval set's primary score.
    pub fn primary_score() -> Self {
        SweepMetric::new(Self::PRIMARY_SCORE)
    }

    /// Loss on the validation split.
    pub fn val_loss() -> Self {
        SweepMetric::new(Self::VAL_LOSS)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether larger or smaller is better when the manifest does not
    /// say: `max` for `primary_score`, `min` for `loss` and `val_loss`;
    /// none for any other metric.
    pub fn default_mode(&self) -> Option<Mode> {
        match self.as_str() {
            Self::PRIMARY_SCORE => Some(Mode::Max),
            "loss" | Self::VAL_LOSS => Some(Mode::Min),
            _ => None,
        }
    }
}

impl Default for SweepMetric {
    fn default() -> Self {
        SweepMetric::primary_score()
    }
}

impl std::fmt::Display for SweepMetric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl SweepSpec {
    /// The direction the sweep optimizes in: `mode`, else the metric's
    /// default; `None` when neither says (the manifest check refuses it).
    pub fn resolved_mode(&self) -> Option<Mode> {
        self.mode.or_else(|| self.metric.default_mode())
    }
}

/// Whether larger or smaller metric values are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Max,
    Min,
}

/// How a sweep draws its trials' non-grid parameters.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Search {
    /// Each trial's values drawn at random, independently (trial k's
    /// values depend only on the seed and k).
    #[default]
    Random,
    /// The Tree-structured Parzen Estimator (Bergstra et al. 2011, as
    /// Optuna's `TPESampler`): after `n_startup_trials` random trials,
    /// each trial's values are drawn from the results of the trials
    /// completed before it, in batches of `max_concurrent_trials`.
    Tpe(TpeConfig),
}

impl Search {
    pub fn is_random(&self) -> bool {
        *self == Search::Random
    }

    /// The TPE settings, when the sweep uses TPE.
    pub fn tpe(&self) -> Option<&TpeConfig> {
        match self {
            Search::Tpe(config) => Some(config),
            Search::Random => None,
        }
    }
}

/// TPE's settings; the defaults are Optuna's but for `gamma` and, for
/// more than two parameters drawn together, `n_ei_candidates`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TpeConfig {
    /// Trials drawn at random before the estimator takes over (at most
    /// the sweep's trial count).
    #[serde(default = "ten")]
    #[schemars(range(min = 1, max = 100_000))]
    pub n_startup_trials: u32,
    /// Candidates drawn from the good trials' density per draw; the one
    /// with the best ratio of good to bad density is chosen. Default: 24
    /// per two parameters drawn together ([`default_ei_candidates`]: 24
    /// for one or two, as Optuna, 48 for three or four, 72 for five or
    /// six).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10_000))]
    pub n_ei_candidates: Option<u32>,
    /// One joint density over all parameters (Optuna's
    /// `multivariate=True`) instead of one per parameter.
    #[serde(default = "default_multivariate")]
    pub multivariate: bool,
    /// The good group's share: the best ⌈gamma·n⌉ of n complete trials
    /// (at most 25) are good. Optuna's is 0.1; the default, 0.15, is
    /// Watanabe (2023)'s recommendation, measured better here.
    #[serde(default = "default_gamma")]
    #[schemars(range(min = 0.01, max = 1.0))]
    pub gamma: f64,
}

impl Default for TpeConfig {
    fn default() -> Self {
        TpeConfig {
            n_startup_trials: ten(),
            n_ei_candidates: None,
            multivariate: default_multivariate(),
            gamma: default_gamma(),
        }
    }
}

fn ten() -> u32 {
    10
}

fn default_multivariate() -> bool {
    true
}

fn default_gamma() -> f64 {
    DEFAULT_GAMMA
}

/// The default good-group share γ. With Optuna 5.1's `TPESampler` given
/// `gamma = min(⌈0.15·n⌉, 25)` against its default 0.1 (50 trials, seeds
/// 100–259 of `bench/search.py`'s objectives), 0.15 reached a lower
/// regret on 100 of 160 seeds on Branin and 92 of 160 on Hartmann-6, and
/// tied on the noisy surface (79 of 160); docs/benchmarks.md has the runs.
pub const DEFAULT_GAMMA: f64 = 0.15;

/// TPE's candidates per draw when a sweep does not set `n_ei_candidates`:
/// 24 (Optuna's) per two parameters drawn together, so a joint draw over
/// more dimensions samples its good density as densely. With Optuna 5.1's
/// `TPESampler` (γ = 0.15, 50 trials, seeds 100–259 of `bench/search.py`'s
/// objectives), against 24 candidates: Hartmann-6 (72) reached a lower
/// regret on 87 of 160 seeds (median 0.330 vs 0.367), the 4-parameter
/// noisy surface (48) on 77 of 160 (median 0.066 vs 0.067, a tie), and
/// Branin (24) is unchanged; docs/benchmarks.md has the runs.
pub fn default_ei_candidates(dims: usize) -> u32 {
    let pairs = u32::try_from(dims.div_ceil(2)).unwrap_or(u32::MAX).max(1);
    pairs.saturating_mul(24)
}

/// Trial scheduler.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    /// Every trial runs to `max_steps`.
    #[default]
    None,
    /// Asynchronous successive halving.
    Asha(AshaConfig),
    /// Hyperband: several brackets of successive halving, each starting
    /// its trials at a different budget (Li et al. 2018).
    Hyperband(HyperbandConfig),
}

/// Hyperband's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HyperbandConfig {
    /// Steps a trial trains at most: every trial's `max_steps`, and the
    /// last rung of every bracket.
    #[schemars(range(min = 1))]
    pub max_t: u32,
    /// At each rung the best 1/reduction_factor of a bracket's trials
    /// continue; each bracket starts reduction_factor times later than the
    /// one before.
    #[serde(default = "three")]
    #[schemars(range(min = 2))]
    pub reduction_factor: u32,
    /// The smallest budget, where the most exploratory bracket first
    /// compares its trials; default `max_t / reduction_factor²` (three
    /// brackets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub grace_period: Option<u32>,
}

impl HyperbandConfig {
    /// The grace period, or its default.
    pub fn grace(&self) -> u32 {
        self.grace_period
            .unwrap_or_else(|| (self.max_t / self.reduction_factor.max(2).saturating_pow(2)).max(1))
    }
}

/// ASHA early-stopping settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AshaConfig {
    /// Steps every trial runs before it can be stopped.
    #[schemars(range(min = 1))]
    pub grace_period: u32,
    /// Keep the best 1/reduction_factor of trials at each rung.
    #[serde(default = "three")]
    #[schemars(range(min = 2))]
    pub reduction_factor: u32,
}

fn three() -> u32 {
    3
}

/// Where the best trial is promoted to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Promote {
    /// Train manifest written with the best parameters.
    pub config: PathBuf,
    /// JSON file with the best parameters and their score.
    pub params: PathBuf,
    /// Folder to receive the best trial's run record as evidence (its
    /// run_manifest.json with `promoted_from_trial_id`, eval summary and
    /// items, metrics and log; text files only, checkpoints referenced by
    /// hash). Its name becomes the run id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_metrics_have_a_direction_and_others_take_the_manifests() {
        let spec = |metric: &str, mode: Option<Mode>| -> SweepSpec {
            let mut v = serde_json::json!({
                "base": "b.yaml",
                "search_space": { "learning_rate": { "uniform": [0.1, 0.2] } },
                "num_samples": 1,
                "metric": metric,
            });
            if let Some(m) = mode {
                v["mode"] = serde_json::to_value(m).expect("mode");
            }
            serde_json::from_value(v).expect("spec")
        };
        assert_eq!(spec("primary_score", None).resolved_mode(), Some(Mode::Max));
        assert_eq!(spec("val_loss", None).resolved_mode(), Some(Mode::Min));
        assert_eq!(spec("loss", None).resolved_mode(), Some(Mode::Min));
        assert_eq!(spec("val/f1", None).resolved_mode(), None);
        assert_eq!(
            spec("val/f1", Some(Mode::Max)).resolved_mode(),
            Some(Mode::Max)
        );
        assert_eq!(
            spec("val_loss", Some(Mode::Max)).resolved_mode(),
            Some(Mode::Max)
        );
        assert_eq!(SweepMetric::default().as_str(), "primary_score");
        assert_eq!(MaxRetries::default().for_class("bad_metrics"), 0);
        assert_eq!(
            serde_json::to_value(SweepMetric::new("val/f1")).expect("json"),
            serde_json::json!("val/f1")
        );
    }

    #[test]
    fn tpe_draws_24_candidates_per_two_parameters_by_default() {
        let counts: Vec<u32> = (0..=7).map(default_ei_candidates).collect();
        assert_eq!(counts, [24, 24, 24, 48, 48, 72, 72, 96]);
        let config: TpeConfig = serde_json::from_value(serde_json::json!({})).expect("tpe");
        assert_eq!(config.n_ei_candidates, None);
        assert_eq!(
            serde_json::to_value(&config).expect("json")["n_ei_candidates"],
            serde_json::Value::Null
        );
        let set: TpeConfig =
            serde_json::from_value(serde_json::json!({ "n_ei_candidates": 24 })).expect("tpe");
        assert_eq!(set.n_ei_candidates, Some(24));
    }

    #[test]
    fn failures_that_repeat_are_not_retried_by_default() {
        let retries = MaxRetries::default();
        assert_eq!(retries.for_class("crash"), 1);
        for class in ["no_predictions", "bad_config", "nan_loss"] {
            assert_eq!(retries.for_class(class), 0, "{class}");
        }
        let asked = MaxRetries {
            no_predictions: 2,
            ..MaxRetries::default()
        };
        assert_eq!(asked.for_class("no_predictions"), 2);
    }
}
