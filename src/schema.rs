//! JSON Schemas generated from the Rust types: written to `schemas/` by
//! `tunix-rt schema export`, and compared against the committed files by
//! `tunix-rt schema export --check` (CI runs the check).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::Kind;
/// Re-exported for older callers; the generator lives in
/// [`crate::schema_check`] so loaders never import this module.
use crate::schema_check::generate;

/// Every generated schema: (file name, pretty JSON with a final newline).
pub fn all() -> Vec<(String, String)> {
    let mut out: Vec<(String, Value)> = Kind::ALL
        .iter()
        .map(|k| (format!("{}.schema.json", k.schema_stem()), k.schema()))
        .collect();
    out.push((
        "eval_item.schema.json".to_string(),
        generate::<crate::evalset::EvalItem>(),
    ));
    out.push((
        "prediction.schema.json".to_string(),
        generate::<crate::predictions::Prediction>(),
    ));
    out.push((
        "run_manifest.schema.json".to_string(),
        generate::<crate::runfolder::RunManifest>(),
    ));
    out.push((
        "eval_summary.schema.json".to_string(),
        generate::<crate::runfolder::EvalSummary>(),
    ));
    out.push((
        "eval_item_record.schema.json".to_string(),
        generate::<crate::runfolder::EvalItemRecord>(),
    ));
    out.push((
        "best_params.schema.json".to_string(),
        generate::<tunix_core::formats::best_params::BestParams>(),
    ));
    out.push((
        tunix_core::formats::baseline_lock::LOCK_SCHEMA_FILE.to_string(),
        tunix_core::formats::baseline_lock::schema(),
    ));
    out.into_iter()
        .map(|(name, value)| {
            let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
            text.push('\n');
            (name, text)
        })
        .collect()
}

/// What `--check` found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Staleness {
    /// Files whose contents differ from the generated schema.
    pub stale: Vec<PathBuf>,
    /// Generated schemas with no committed file.
    pub missing: Vec<PathBuf>,
}

impl Staleness {
    pub fn is_clean(&self) -> bool {
        self.stale.is_empty() && self.missing.is_empty()
    }
}

/// Write every schema into `dir`; returns the files written.
pub fn export(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (name, text) in all() {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

/// Compare the committed schemas in `dir` with the generated ones.
pub fn check(dir: &Path) -> Result<Staleness> {
    let mut report = Staleness::default();
    for (name, text) in all() {
        let path = dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) if bytes == text.as_bytes() => {}
            Ok(_) => report.stale.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => report.missing.push(path),
            Err(e) => return Err(Error::user_file("read the schema", &path, e)),
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_is_deterministic() {
        let first = all();
        assert_eq!(first, all());
        for (name, text) in &first {
            let value: Value = serde_json::from_str(text).expect("valid JSON");
            assert!(
                jsonschema::validator_for(&value).is_ok(),
                "{name} does not compile"
            );
        }
    }

    #[test]
    fn export_then_check_is_clean_and_edits_are_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        export(dir.path()).expect("export");
        assert!(check(dir.path()).expect("check").is_clean());
        std::fs::write(dir.path().join("train.schema.json"), "{}\n").expect("edit");
        std::fs::remove_file(dir.path().join("eval.schema.json")).expect("remove");
        let report = check(dir.path()).expect("check");
        assert_eq!(report.stale, vec![dir.path().join("train.schema.json")]);
        assert_eq!(report.missing, vec![dir.path().join("eval.schema.json")]);
    }
}
