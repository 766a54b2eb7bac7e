//! Loading and writing the baseline lock (`configs/baseline.lock.yaml`; its
//! format is the core crate's `formats::baseline_lock`, re-exported here).
//! A small reviewable YAML file: changing the baseline is a visible diff in
//! a pull request. Loaded through the manifests' pipeline (YAML → JSON
//! value → schema check with file:line:col diagnostics → typed).

use std::path::Path;
use std::sync::OnceLock;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::source::parse_yaml;
use crate::schema_check::CompiledSchema;
use crate::workspace::Workspace;

pub use tunix_core::formats::baseline_lock::*;

fn compiled() -> &'static CompiledSchema {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        CompiledSchema::new(schema())
            .unwrap_or_else(|e| panic!("generated lock schema must compile: {e}"))
    })
}

/// Parse and check the lock file's `bytes`; `shown` names the file in
/// diagnostics.
pub fn parse(shown: &str, bytes: &[u8]) -> Result<BaselineLock> {
    let doc = parse_yaml(shown, bytes).map_err(|d| Error::invalid_file(shown, d))?;
    let issues = compiled().check(&doc.value);
    if !issues.is_empty() {
        return Err(Error::invalid_file(shown, doc.diagnostics(shown, issues)));
    }
    let lock: BaselineLock = serde_json::from_value(doc.value).map_err(|e| {
        Error::invalid_file(
            shown,
            vec![Diagnostic::new(
                shown,
                "",
                format!("invalid baseline lock: {e}"),
            )],
        )
    })?;
    if lock.schema_version != LOCK_SCHEMA_VERSION {
        let d = Diagnostic::new(
            shown,
            "/schema_version",
            format!(
                "schema_version {} is not supported (this tool reads {LOCK_SCHEMA_VERSION})",
                lock.schema_version
            ),
        )
        .at(doc.positions.value("/schema_version"));
        return Err(Error::invalid_file(shown, vec![d]));
    }
    Ok(lock)
}

/// Read and check the lock at `path`; `shown` names it in messages.
pub fn load(path: &Path, shown: &str) -> Result<BaselineLock> {
    let bytes = std::fs::read(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "read the baseline lock (set one with `tunix-rt baseline set <run>`)"
        } else {
            "read the baseline lock"
        };
        Error::user_file(hint, path, e)
    })?;
    parse(shown, &bytes)
}

/// The lock as YAML, headed by a comment pointing editors at the schema
/// (`schema_ref`, relative to the lock's folder).
pub fn to_yaml(lock: &BaselineLock, schema_ref: &str) -> Result<String> {
    let body = serde_yaml::to_string(lock)
        .map_err(|e| Error::runtime("cannot serialize the baseline lock").with_source(e))?;
    Ok(format!(
        "# yaml-language-server: $schema={schema_ref}\n\
         # The regression gate's baseline, written by `tunix-rt baseline set`.\n\
         # Change it with that command; review the diff like code.\n{body}"
    ))
}

/// How the lock at `out` refers to `schemas/` in its header: relative
/// when `out` is inside the workspace, absolute otherwise.
fn schema_ref(ws: &Workspace, out: &Path) -> String {
    let shown = ws.display_path(out);
    if shown.is_absolute() {
        return ws
            .root()
            .join("schemas")
            .join(LOCK_SCHEMA_FILE)
            .display()
            .to_string();
    }
    let depth = shown.components().count().saturating_sub(1);
    format!("{}schemas/{LOCK_SCHEMA_FILE}", "../".repeat(depth))
}

/// Write `lock` to `out` atomically.
pub fn save(ws: &Workspace, lock: &BaselineLock, out: &Path) -> Result<()> {
    let text = to_yaml(lock, &schema_ref(ws, out))?;
    write_atomic(out, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regress::rules::ScoringRules;
    use crate::runfolder::FileRef;
    use crate::scoring::{CiMethod, SCORING_RULES_VERSION};

    fn lock() -> BaselineLock {
        BaselineLock {
            schema_version: LOCK_SCHEMA_VERSION,
            name: "base".into(),
            run_id: "run-a".into(),
            run_dir: "submission_runs/run-a".into(),
            evalset: FileRef {
                path: "evalsets/e.jsonl".into(),
                blake3: "ab".repeat(32),
            },
            score: LockedScore {
                primary: 0.5,
                ci95: Some(LockedInterval {
                    low: 0.4,
                    high: 0.6,
                    method: CiMethod::Wilson,
                }),
                n_items: 10,
                n_scored: 10,
            },
            items_blake3: "cd".repeat(32),
            scoring_rules: ScoringRules {
                version: SCORING_RULES_VERSION,
                answer_extraction: None,
                equivalence: Some(Default::default()),
            },
            tool_version: "0.1.0".into(),
            set_by: "me".into(),
            set_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn a_written_lock_reads_back() {
        let text = to_yaml(&lock(), "../schemas/baseline_lock.schema.json").expect("yaml");
        assert!(text.starts_with("# yaml-language-server: $schema=../schemas/"));
        assert_eq!(parse("l.yaml", text.as_bytes()).expect("parse"), lock());
    }

    #[test]
    fn schema_problems_are_located() {
        let text = to_yaml(&lock(), "x").expect("yaml");
        let bad = text.replace("name: base\n", "name: base\ncolour: red\n");
        let err = parse("l.yaml", bad.as_bytes()).expect_err("unknown key");
        let d = &err.diagnostics()[0];
        assert_eq!((d.file.as_str(), d.line), ("l.yaml", Some(6)), "{d}");
        assert!(d.message.contains("colour"), "{d}");
        let bad = text.replace("primary: 0.5", "primary: high");
        let err = parse("l.yaml", bad.as_bytes()).expect_err("wrong type");
        assert_eq!(err.diagnostics()[0].pointer, "/score/primary");
        let bad = text.replace("schema_version: 1", "schema_version: 9");
        let err = parse("l.yaml", bad.as_bytes()).expect_err("version");
        assert!(err.diagnostics()[0].message.contains("schema_version 9"));
    }
}
