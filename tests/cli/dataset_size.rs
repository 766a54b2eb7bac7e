//! Impossible dataset sizes are refused when the manifest is validated:
//! `validate`, `data` and `run` exit 2 with the estimated size and what to
//! lower, and nothing is written (no half-claimed run folder).

use crate::support::{tiny_train_evaluated, Workspace};

/// The tiny manifest asking for ten million training and a million
/// validation examples.
fn too_many() -> Workspace {
    let ws = Workspace::new();
    ws.file(
        "manifests/too-many.yaml",
        tiny_train_evaluated("too-many", 5)
            .train_examples(10_000_000)
            .val_examples(1_000_000)
            .to_yaml(),
    );
    ws
}

#[test]
fn validate_refuses_a_dataset_too_big_for_memory() {
    let ws = too_many();
    ws.run_read_only(&["validate", "manifests/too-many.yaml"])
        .code(2)
        .stderr_has("manifests/too-many.yaml:")
        .stderr_has("11000000 examples")
        .stderr_has("GiB limit")
        .stderr_has("lower train_examples + val_examples")
        .stderr_has("TUNIX_RT_MAX_DATASET_GIB");
}

#[test]
fn run_and_data_refuse_it_before_writing_anything() {
    let ws = too_many();
    ws.run_read_only(&["run", "manifests/too-many.yaml", "--no-index"])
        .code(2)
        .stderr_has("GiB limit");
    ws.run_read_only(&["data", "manifests/too-many.yaml"])
        .code(2)
        .stderr_has("GiB limit");
    assert!(!ws.path().join("submission_runs").exists());
}

#[test]
fn the_limit_can_be_raised_for_a_bigger_machine() {
    let ws = too_many();
    let out = ws
        .command(&["validate", "manifests/too-many.yaml"])
        .env("TUNIX_RT_MAX_DATASET_GIB", "64")
        .output()
        .expect("tunix-rt runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = ws
        .command(&["validate", "manifests/too-many.yaml"])
        .env("TUNIX_RT_MAX_DATASET_GIB", "lots")
        .output()
        .expect("tunix-rt runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a positive number of GiB"));
}
