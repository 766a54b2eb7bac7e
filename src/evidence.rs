//! Checking evidence: run folders (the run-folder schemas, as ingest reads
//! them), baseline locks and sweeps' best_params.json files. `tunix-rt
//! validate` takes these next to manifests.
//!
//! Rule: a primary score may be null in general (a run without an eval
//! set), but evidence runs whose folder name (the run version) starts with
//! `m34_` or `m35_` must have an eval summary with a non-null primary score.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;
use crate::runfolder::{EVAL_SUMMARY, RUN_MANIFEST};
use crate::schema_check::{generate, CompiledSchema};
use crate::sweep::promote::BestParams;

/// Run versions whose evidence must carry a primary score.
pub const SCORED_VERSIONS: [&str; 2] = ["m34_", "m35_"];
/// The file name of a sweep's promoted parameters.
pub const BEST_PARAMS: &str = "best_params.json";
/// How baseline lock files are named.
pub const LOCK_SUFFIX: &str = ".lock.yaml";

/// What a path given to `validate` is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Manifest(PathBuf),
    RunFolder(PathBuf),
    BaselineLock(PathBuf),
    BestParams(PathBuf),
}

impl Target {
    /// A folder is a run folder; `*.lock.yaml` a baseline lock; a JSON
    /// file a sweep's promoted parameters (`promote.params`); any other
    /// file a manifest.
    pub fn of(path: &Path) -> Target {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_dir() {
            Target::RunFolder(path.to_path_buf())
        } else if name.ends_with(LOCK_SUFFIX) {
            Target::BaselineLock(path.to_path_buf())
        } else if name.ends_with(".json") {
            Target::BestParams(path.to_path_buf())
        } else {
            Target::Manifest(path.to_path_buf())
        }
    }
}

/// Check the run folder `dir` (`shown` in messages): its files against the
/// run-folder schemas and the evidence rule. Returns the run's kind and id.
pub fn check_run_folder(dir: &Path, shown: &str) -> Result<(String, String), Vec<Diagnostic>> {
    let run = crate::runfolder::validate::validate_run_folder(dir, shown)
        .map_err(|why| vec![Diagnostic::new(shown, "", why)])?;
    let version = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(problem) = scored_rule(&version, run.summary.as_ref().map(|s| s.primary_score)) {
        let file = format!("{shown}/{EVAL_SUMMARY}");
        return Err(vec![Diagnostic::new(&file, "/primary_score", problem).help(
            "evaluate the run on its eval set (a Train `eval` section, or `tunix-rt eval`) before committing it as evidence",
        )]);
    }
    Ok((run.manifest.kind.to_string(), run.manifest.run_id))
}

/// The evidence rule for run version `version` whose summary's primary
/// score is `summary` (none: no eval summary); the problem, if any.
pub fn scored_rule(version: &str, summary: Option<Option<f64>>) -> Option<String> {
    let prefix = SCORED_VERSIONS.iter().find(|p| version.starts_with(*p))?;
    match summary {
        Some(Some(_)) => None,
        Some(None) => Some(format!(
            "primary_score is null, but evidence runs named {prefix}* must have a primary score (rule: m34_/m35_ run folders are scored)"
        )),
        None => Some(format!(
            "no {EVAL_SUMMARY}: evidence runs named {prefix}* must have a primary score (rule: m34_/m35_ run folders are scored)"
        )),
    }
}

/// Check a baseline lock file; returns the baseline's run id.
pub fn check_lock(path: &Path, shown: &str) -> Result<String, Vec<Diagnostic>> {
    crate::regress::lock::load(path, shown)
        .map(|lock| lock.run_id)
        .map_err(|e| diagnostics_of(shown, &e))
}

/// Check a best_params.json against its schema; returns the sweep's name.
pub fn check_best_params(path: &Path, shown: &str) -> Result<String, Vec<Diagnostic>> {
    static SCHEMA: std::sync::OnceLock<CompiledSchema> = std::sync::OnceLock::new();
    let bytes = std::fs::read(path)
        .map_err(|e| vec![Diagnostic::new(shown, "", format!("cannot read: {e}"))])?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| vec![Diagnostic::new(shown, "", format!("not JSON: {e}"))])?;
    let schema = SCHEMA.get_or_init(|| {
        CompiledSchema::new(generate::<BestParams>())
            .unwrap_or_else(|e| panic!("generated schema must compile: {e}"))
    });
    let issues = schema.check(&value);
    if !issues.is_empty() {
        return Err(issues
            .into_iter()
            .map(|i| Diagnostic::new(shown, &i.pointer, i.message))
            .collect());
    }
    serde_json::from_value::<BestParams>(value)
        .map(|b| b.sweep)
        .map_err(|e| vec![Diagnostic::new(shown, "", e.to_string())])
}

fn diagnostics_of(shown: &str, e: &crate::error::Error) -> Vec<Diagnostic> {
    match e.diagnostics() {
        [] => vec![Diagnostic::new(shown, "", e.to_string())],
        ds => ds.to_vec(),
    }
}

/// Whether `dir` is a run folder.
pub fn is_run_folder(dir: &Path) -> bool {
    dir.join(RUN_MANIFEST).is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn m34_and_m35_evidence_must_be_scored() {
        assert_eq!(scored_rule("m35_v1", Some(Some(0.25))), None);
        assert_eq!(scored_rule("quickstart", Some(None)), None);
        assert_eq!(scored_rule("quickstart", None), None);
        let null = scored_rule("m35_v1", Some(None)).expect("a problem");
        assert!(
            null.contains("primary_score is null") && null.contains("m35_"),
            "{null}"
        );
        let missing = scored_rule("m34_v2", None).expect("a problem");
        assert!(missing.contains("no eval_summary.json"), "{missing}");
    }

    #[test]
    fn paths_are_classified_by_shape_and_name() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            Target::of(tmp.path()),
            Target::RunFolder(tmp.path().to_path_buf())
        );
        let lock = tmp.path().join("baseline.lock.yaml");
        assert_eq!(Target::of(&lock), Target::BaselineLock(lock.clone()));
        let best = tmp.path().join("best_params.json");
        assert_eq!(Target::of(&best), Target::BestParams(best.clone()));
        let named = tmp.path().join("m34_best.json");
        assert_eq!(Target::of(&named), Target::BestParams(named.clone()));
        let m = tmp.path().join("train.yaml");
        assert_eq!(Target::of(&m), Target::Manifest(m.clone()));
    }
}
