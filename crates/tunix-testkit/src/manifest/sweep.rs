//! [`SweepManifestBuilder`]: a Sweep manifest for tests, on a base file
//! or an inline base, with its search space, overrides, metric, search,
//! scheduler, limits, promotion and executor.

use std::path::PathBuf;

use tunix_core::manifest::common::{ApiVersion, Metadata};
use tunix_core::manifest::slurm::SlurmSpec;
use tunix_core::manifest::sweep::{
    AshaConfig, BaseSpec, Distribution, Executor, MaxRetries, Mode, Promote, Scheduler, Search,
    SweepMetric, SweepSpec, TpeConfig,
};
use tunix_core::manifest::{SweepKind, SweepManifest};

use super::{to_yaml, with_defaults, Param, TrainManifestBuilder};

/// A Sweep manifest under construction: one sample, no search space yet
/// (add at least one parameter with [`Self::search`]), and every other
/// key at its default.
#[derive(Debug, Clone)]
pub struct SweepManifestBuilder {
    manifest: SweepManifest,
}

impl SweepManifestBuilder {
    fn new(name: &str, base: BaseSpec) -> Self {
        let mut spec: SweepSpec = with_defaults(
            "a Sweep spec",
            serde_json::json!({ "base": "base.yaml", "search_space": {}, "num_samples": 1 }),
        );
        spec.base = base;
        SweepManifestBuilder {
            manifest: SweepManifest {
                api_version: ApiVersion::V1,
                kind: SweepKind::Tag,
                metadata: Metadata {
                    name: name.to_string(),
                    labels: Default::default(),
                    description: None,
                },
                spec,
            },
        }
    }

    /// A Sweep named `name` whose base is the Train manifest at `path`
    /// (relative to the Sweep manifest's folder).
    pub fn based_on(name: &str, path: &str) -> Self {
        SweepManifestBuilder::new(name, BaseSpec::Path(PathBuf::from(path)))
    }

    /// A Sweep named `name` whose base is `base`'s spec, inline.
    pub fn inline(name: &str, base: TrainManifestBuilder) -> Self {
        SweepManifestBuilder::new(name, BaseSpec::Inline(Box::new(base.into_spec())))
    }

    /// Change the inline base with the Train builder's methods.
    pub fn inline_base(
        mut self,
        edit: impl FnOnce(TrainManifestBuilder) -> TrainManifestBuilder,
    ) -> Self {
        let base = std::mem::replace(&mut self.manifest.spec.base, BaseSpec::Path(PathBuf::new()));
        let BaseSpec::Inline(spec) = base else {
            panic!("inline_base: this Sweep's base is a file, not an inline spec");
        };
        let base = TrainManifestBuilder::from_spec(&self.manifest.metadata.name, *spec);
        self.manifest.spec.base = BaseSpec::Inline(Box::new(edit(base).into_spec()));
        self
    }

    /// The manifest.
    pub fn build(self) -> SweepManifest {
        self.manifest
    }

    /// The manifest as YAML.
    pub fn to_yaml(&self) -> String {
        to_yaml(&self.manifest)
    }

    /// `search_space.NAME: distribution`.
    pub fn search(mut self, name: &str, distribution: Distribution) -> Self {
        self.manifest
            .spec
            .search_space
            .insert(name.to_string(), distribution);
        self
    }

    /// `overrides.NAME: value`, fixed for every trial.
    pub fn overrides(mut self, name: &str, value: impl Param) -> Self {
        self.manifest
            .spec
            .overrides
            .insert(name.to_string(), value.param());
        self
    }

    /// `num_samples`.
    pub fn num_samples(mut self, n: u32) -> Self {
        self.manifest.spec.num_samples = n;
        self
    }

    /// `metric`: any name, checked when the manifest is loaded.
    pub fn metric(mut self, name: &str) -> Self {
        self.manifest.spec.metric = SweepMetric::new(name);
        self
    }

    /// `mode`.
    pub fn mode(mut self, mode: Mode) -> Self {
        self.manifest.spec.mode = Some(mode);
        self
    }

    /// `search: { tpe: ... }`.
    pub fn tpe(mut self, config: TpeConfig) -> Self {
        self.manifest.spec.search = Search::Tpe(config);
        self
    }

    /// `scheduler`.
    pub fn scheduler(mut self, scheduler: Scheduler) -> Self {
        self.manifest.spec.scheduler = scheduler;
        self
    }

    /// `scheduler: { asha: { grace_period, reduction_factor } }`.
    pub fn asha(self, grace_period: u32, reduction_factor: u32) -> Self {
        self.scheduler(Scheduler::Asha(AshaConfig {
            grace_period,
            reduction_factor,
        }))
    }

    /// `max_concurrent_trials`.
    pub fn max_concurrent_trials(mut self, n: u32) -> Self {
        self.manifest.spec.max_concurrent_trials = n;
        self
    }

    /// `trial_timeout_s`.
    pub fn trial_timeout_s(mut self, seconds: u64) -> Self {
        self.manifest.spec.trial_timeout_s = Some(seconds);
        self
    }

    /// `max_retries`.
    pub fn max_retries(mut self, retries: MaxRetries) -> Self {
        self.manifest.spec.max_retries = retries;
        self
    }

    /// `seed` of the trial sampler.
    pub fn seed(mut self, seed: u64) -> Self {
        self.manifest.spec.seed = seed;
        self
    }

    /// `promote: { config, params }` (paths relative to the manifest's
    /// folder).
    pub fn promote(mut self, config: &str, params: &str) -> Self {
        self.manifest.spec.promote = Some(Promote {
            config: PathBuf::from(config),
            params: PathBuf::from(params),
            evidence: None,
        });
        self
    }

    /// `promote.evidence`: the folder that receives the best trial's run
    /// record.
    pub fn evidence(mut self, folder: &str) -> Self {
        let promote = self
            .manifest
            .spec
            .promote
            .as_mut()
            .expect("set .promote(config, params) before its evidence folder");
        promote.evidence = Some(PathBuf::from(folder));
        self
    }

    /// `executor: slurm` with this `slurm` block.
    pub fn slurm(mut self, slurm: SlurmSpec) -> Self {
        self.manifest.spec.executor = Executor::Slurm;
        self.manifest.spec.slurm = Some(slurm);
        self
    }
}
