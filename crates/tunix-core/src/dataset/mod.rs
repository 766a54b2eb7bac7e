//! Training data for the built-in trainer: the seeded generators
//! (`dev-reasoning-v2`, `dev-reasoning-v3`), the user's own JSONL files, and
//! decontamination against every eval set. Pure Rust (no torch):
//! `tunix-rt data` reports on it and the trainer worker trains on it, and
//! both see the same examples.

pub mod arith;
pub mod budget;
pub mod calc;
pub mod decontam;
pub mod generate;
mod story;
pub mod user;

use std::path::Path;

use crate::error::{Error, Result};
use crate::evalset::EvalSet;
use crate::manifest::common::DEFAULT_PROMPT_TEMPLATE;
use crate::manifest::train::{DatasetConfig, DatasetName, TrainSpec};
use crate::workspace::Workspace;

pub use decontam::{EvalIndex, Overlap};
pub use generate::{Dataset, Example, Exhausted, Rejected};

/// Load the eval set at `path`, shown relative to the workspace.
pub fn load_evalset(ws: &Workspace, path: &Path) -> Result<EvalSet> {
    let shown = ws.display_path(path).display().to_string();
    crate::evalset::load(path, &shown).map_err(|d| Error::invalid_file(&shown, d))
}

/// The eval sets' prompts to keep out of training: every file in the
/// workspace's `evalsets/`, plus the job's own (already loaded) eval set.
/// Returns the index and the files it covers.
pub fn eval_index(ws: &Workspace, extra: Option<&EvalSet>) -> Result<(EvalIndex, Vec<String>)> {
    let dir = ws.root().join("evalsets");
    let (mut items, mut files) = if dir.is_dir() {
        decontam::eval_prompts_in_dir(&dir, "evalsets")
            .map_err(|e| Error::bad_input(e.to_string()))?
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

/// How the data set is named in run records.
pub fn display_name(config: &DatasetConfig) -> String {
    match config.name {
        Some(name) => format!(
            "{} (seed {}, {} train, {} val)",
            name.as_str(),
            config.seed,
            config.train_examples,
            config.val_examples
        ),
        None => user::display_name(config),
    }
}

/// The data set of `config`: generated, or read from the user's files
/// (paths resolved against `manifest_dir`), without anything that
/// overlaps `evals`. A generator that cannot fill a split, or user data
/// that does not validate, is a bad-input error.
pub fn build(config: &DatasetConfig, manifest_dir: &Path, evals: &EvalIndex) -> Result<Dataset> {
    build_reporting(config, manifest_dir, evals, &mut |_| {})
}

/// [`build`], telling `progress` how far a generator has come (every
/// [`generate::PROGRESS_EVERY`] examples; your own files are read without
/// reports).
pub fn build_reporting(
    config: &DatasetConfig,
    manifest_dir: &Path,
    evals: &EvalIndex,
    progress: &mut dyn FnMut(generate::Generated),
) -> Result<Dataset> {
    match config.name {
        Some(DatasetName::DevReasoningV2) => generate::generate_reporting(config, evals, progress)
            .map_err(|e| Error::bad_input(e.to_string())),
        Some(DatasetName::DevReasoningV3) => arith::generate_reporting(config, evals, progress)
            .map_err(|e| Error::bad_input(e.to_string())),
        None => user::load(config, manifest_dir, evals),
    }
}
