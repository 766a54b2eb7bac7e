//! The baseline lock (`configs/baseline.lock.yaml`): the run a regression
//! gate compares candidates against, pinned by its eval set, its
//! per-item correctness and its scoring rules. A small reviewable YAML
//! file: changing the baseline is a visible diff in a pull request. Loaded
//! through the manifests' pipeline (YAML → JSON value → schema check with
//! file:line:col diagnostics → typed).

use std::path::Path;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rules::ScoringRules;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::manifest::source::parse_yaml;
use crate::runfolder::FileRef;
use crate::schema_check::{generate, CompiledSchema};
use crate::scoring::CiMethod;
use crate::workspace::Workspace;

/// Version of the lock file format.
pub const LOCK_SCHEMA_VERSION: u32 = 1;
/// Where `baseline set` writes and `regress` reads, relative to the
/// workspace root.
pub const DEFAULT_LOCK: &str = "configs/baseline.lock.yaml";
/// The lock's schema file in `schemas/`.
pub const LOCK_SCHEMA_FILE: &str = "baseline_lock.schema.json";

/// A locked baseline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BaselineLock {
    /// Lock file format version: `1`.
    pub schema_version: u32,
    /// A name for the baseline (default: the run id).
    pub name: String,
    /// The baseline run's id.
    pub run_id: String,
    /// The baseline run folder, relative to the workspace root.
    pub run_dir: String,
    /// The eval set the baseline was scored on; candidates must match its
    /// blake3.
    pub evalset: FileRef,
    /// The baseline's primary score.
    pub score: LockedScore,
    /// blake3 over the sorted `id:correctness` lines of the baseline's
    /// eval_items.jsonl (skipped items as `id:null`).
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub items_blake3: String,
    /// The scoring rules the baseline was scored under; candidates must
    /// match them.
    pub scoring_rules: ScoringRules,
    /// Version of tunix-rt that wrote the lock.
    pub tool_version: String,
    /// Who set the baseline (`$USER`, or `unknown`).
    pub set_by: String,
    /// When the baseline was set (RFC 3339 UTC).
    pub set_at: String,
}

/// The baseline's primary score and its 95% interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedScore {
    /// Mean answer correctness over scored items, 0–1.
    pub primary: f64,
    /// The 95% confidence interval; null when the scorecard has none.
    pub ci95: Option<LockedInterval>,
    /// Items in the eval set.
    pub n_items: usize,
    /// Items with a correctness value.
    pub n_scored: usize,
}

/// A confidence interval as the lock records it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LockedInterval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// `wilson` or `bootstrap`.
    pub method: CiMethod,
}

/// The lock's JSON Schema, generated from [`BaselineLock`].
pub fn schema() -> serde_json::Value {
    generate::<BaselineLock>()
}

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
    use crate::scoring::SCORING_RULES_VERSION;

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
