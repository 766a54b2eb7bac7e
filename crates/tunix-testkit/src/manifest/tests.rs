//! The builders' YAML reads back as the manifest they built and passes the
//! generated JSON Schema; enums are plain mappings, never YAML tags.

use tunix_core::manifest::Kind;

use super::*;

/// Parse `yaml` as `T` and check its JSON form against `kind`'s schema.
fn read_back<T: DeserializeOwned>(kind: Kind, yaml: &str) -> T {
    let value: serde_json::Value = serde_yaml::from_str(yaml).expect("YAML");
    let issues = kind.compiled().check(&value);
    assert!(issues.is_empty(), "{issues:?}\n{yaml}");
    serde_json::from_value(value).expect("the manifest type")
}

fn built_in() -> TrainManifestBuilder {
    TrainManifestBuilder::new("tiny")
        .label("milestone", "m-test")
        .model(ModelPreset::GptNano)
        .n_layer(1)
        .n_head(2)
        .n_embd(32)
        .context_length(192)
        .dataset(DatasetName::DevReasoningV2)
        .train_examples(300)
        .val_examples(20)
        .learning_rate(3.0e-3)
        .per_device_batch_size(4)
        .max_steps(20)
        .checkpoint_interval(10)
        .device("cpu")
        .eval("../evalsets/eval_v2.jsonl")
        .decoding(16, 64)
}

#[test]
fn a_built_in_train_manifest_reads_back_as_built() {
    let builder = built_in();
    let yaml = builder.to_yaml();
    assert!(
        yaml.starts_with("apiVersion: tunix-rt/v1\nkind: Train\n"),
        "{yaml}"
    );
    for default in [
        "log_interval",
        "grad_clip",
        "difficulty",
        "prompt_template",
        "output",
    ] {
        assert!(!yaml.contains(default), "{default} is left out: {yaml}");
    }
    let manifest: TrainManifest = read_back(Kind::Train, &yaml);
    assert_eq!(manifest, builder.build());
    assert_eq!(manifest.spec.training.log_interval, 10, "the default");
    assert_eq!(
        manifest.spec.eval.expect("eval").decoding.max_new_tokens,
        16
    );
}

#[test]
fn a_command_trainer_reads_back_as_built() {
    let builder = TrainManifestBuilder::new("toy")
        .command(["python3", "toy.py", "--lr", "{{ learning_rate }}"])
        .env("TOY_LABEL", "$(touch pwned); `touch pwned2`")
        .param("x", 0.5)
        .param("optimizer", "adamw")
        .learning_rate(0.005)
        .max_steps(12);
    let manifest: TrainManifest = read_back(Kind::Train, &builder.to_yaml());
    assert_eq!(manifest, builder.build());
    assert!(manifest.spec.model.is_none() && manifest.spec.dataset.is_none());
}

#[test]
fn a_sweep_reads_back_as_built_with_enums_as_mappings() {
    let shared = SlurmSpec {
        shared_dir: "/srv/it's here".into(),
        partition: Some("debug".into()),
        gpus_per_trial: 0,
        gpu_request: Default::default(),
        gpu_type: None,
        cpus_per_trial: Some(1),
        mem_per_trial: None,
        time_limit: Some("10:00".into()),
        account: None,
        qos: None,
        constraint: None,
        extra_sbatch: vec!["--comment=tunix-rt-test".into()],
        tunix_rt: None,
    };
    let builder = SweepManifestBuilder::inline(
        "toy",
        TrainManifestBuilder::new("unused").command(["python3", "toy.py"]),
    )
    .inline_base(|b| b.env("TOY_LABEL", "x").max_steps(8))
    .search("learning_rate", loguniform(0.0005, 0.01))
    .search("per_device_batch_size", choice([8, 16]))
    .search("weight_decay", uniform(0.0, 0.1))
    .search("warmup_steps", randint(0, 3))
    .search("params.opt", grid(["adamw", "sgd"]))
    .overrides("max_steps", 8)
    .num_samples(6)
    .metric("val/f1")
    .mode(Mode::Max)
    .tpe(TpeConfig {
        n_startup_trials: 3,
        ..TpeConfig::default()
    })
    .asha(2, 2)
    .max_concurrent_trials(3)
    .trial_timeout_s(2)
    .max_retries(MaxRetries {
        timeout: 0,
        ..MaxRetries::default()
    })
    .seed(5)
    .promote("../configs/best.yaml", "../configs/best.json")
    .evidence("../submission_runs/toy_v1")
    .slurm(shared);
    let yaml = builder.to_yaml();
    assert!(!yaml.contains('!'), "no YAML tags: {yaml}");
    assert!(yaml.contains("loguniform:"), "{yaml}");
    let manifest: SweepManifest = read_back(Kind::Sweep, &yaml);
    assert_eq!(manifest, builder.build());
}

#[test]
fn a_sweep_on_a_file_keeps_the_path() {
    let builder = SweepManifestBuilder::based_on("s", "../configs/base.yaml")
        .search("learning_rate", grid([0.001, 0.002]));
    let manifest: SweepManifest = read_back(Kind::Sweep, &builder.to_yaml());
    assert_eq!(manifest, builder.build());
}
