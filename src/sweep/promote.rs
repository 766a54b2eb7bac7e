//! Promotion: the best trial becomes a Train manifest (`promote.config`)
//! and a parameters file (`promote.params`). Pure: building the documents
//! and rebasing paths; the runner writes them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::ledger::BestTrial;
use crate::error::{Error, Result};
use crate::manifest::common::{ApiVersion, Metadata};
use crate::manifest::sweep::{Mode, SweepMetric};
use crate::manifest::train::TrainSpec;
use crate::manifest::{TrainKind, TrainManifest};
use crate::scoring::ConfidenceInterval;

/// Longest job name (`metadata.name`'s schema).
const MAX_NAME: usize = 63;

/// The promoted Train manifest: `<sweep>-best`, with `labels` (the base's
/// metadata labels) and the best trial's spec.
pub fn manifest(sweep: &str, labels: &BTreeMap<String, String>, spec: TrainSpec) -> TrainManifest {
    let stem: String = sweep.chars().take(MAX_NAME - "-best".len()).collect();
    TrainManifest {
        api_version: ApiVersion::V1,
        kind: TrainKind::Tag,
        metadata: Metadata {
            name: format!("{stem}-best"),
            labels: labels.clone(),
            description: Some(format!("best trial of sweep {sweep}")),
        },
        spec,
    }
}

/// The manifest as YAML with a header naming where it came from, after
/// the line that points editors at `schema` (the Train schema, relative to
/// the file's folder).
pub fn manifest_yaml(
    m: &TrainManifest,
    sweep: &str,
    best: &BestTrial,
    schema: &Path,
) -> Result<String> {
    let body = serde_yaml::to_string(m)
        .map_err(|e| Error::runtime(format!("cannot write the promoted manifest: {e}")))?;
    Ok(format!(
        "# yaml-language-server: $schema={}\n# Promoted by tunix-rt from sweep {sweep}, trial {} (metric {}).\n{body}",
        schema.display(),
        best.trial_id,
        best.metric
    ))
}

pub use tunix_core::formats::best_params::{BestMetric, BestParams};

/// The parameters file of `best`.
pub fn params_json(
    sweep: &str,
    best: &BestTrial,
    metric: &SweepMetric,
    mode: Mode,
    ci95: Option<ConfidenceInterval>,
) -> BestParams {
    BestParams {
        sweep: sweep.to_string(),
        trial_id: best.trial_id.clone(),
        promoted_from_trial_id: best.trial_id.clone(),
        params: best.params.clone(),
        mapping: mapping(best),
        metric: BestMetric {
            name: metric.clone(),
            mode,
            value: best.metric,
            ci95,
        },
    }
}

/// Where each searched parameter went in the promoted spec
/// (`learning_rate` → `spec.training.learning_rate`).
pub fn mapping(best: &BestTrial) -> BTreeMap<String, String> {
    best.params
        .keys()
        .map(|k| (k.clone(), crate::manifest::params::field_of(k)))
        .collect()
}

pub fn relative_path(from_dir: &Path, target: &Path) -> PathBuf {
    let from: Vec<Component> = from_dir.components().collect();
    let to: Vec<Component> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for c in &to[common..] {
        out.push(c.as_os_str());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn relative_paths_climb_to_the_common_folder() {
        assert_eq!(
            relative_path(Path::new("/ws/configs"), Path::new("/ws/evalsets/e.jsonl")),
            PathBuf::from("../evalsets/e.jsonl")
        );
        assert_eq!(
            relative_path(Path::new("/ws"), Path::new("/ws/evalsets/e.jsonl")),
            PathBuf::from("evalsets/e.jsonl")
        );
        assert_eq!(
            relative_path(Path::new("/ws/a/b"), Path::new("/ws/c")),
            PathBuf::from("../../c")
        );
    }

    #[test]
    fn long_sweep_names_still_make_a_valid_job_name() {
        let name = "s".repeat(63);
        let spec: TrainSpec = serde_json::from_value(json!({
            "model": { "preset": "gpt-nano" },
            "dataset": { "name": "dev-reasoning-v2" },
            "training": { "learning_rate": 0.001, "per_device_batch_size": 4, "max_steps": 10 }
        }))
        .expect("spec");
        let m = manifest(&name, &BTreeMap::new(), spec);
        assert_eq!(m.metadata.name.len(), 63);
        assert!(m.metadata.name.ends_with("-best"));
    }
}
