//! Loading a manifest: YAML → JSON value (with every key's position) →
//! JSON Schema → typed value → semantic checks. Every failure is a
//! [`Diagnostic`] with file, line, column and key path. The types
//! themselves (the envelope, the Train, Sweep and Eval specs) are the core
//! crate's, re-exported here.

pub mod chain;
pub mod check;
pub mod source;

pub use tunix_core::manifest::*;

use std::path::Path;

use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::suggest;
use crate::workspace::Workspace;
use chain::{ChainLink, LoadFailure};
use source::{parse_yaml, PositionMap};

/// Load and fully check the manifest at `path`. `shown` is how the file is
/// named in diagnostics.
pub fn load(ws: &Workspace, path: &Path, shown: &str) -> Result<LoadedManifest, Vec<Diagnostic>> {
    load_in_chain(ws, path, shown, &[]).map_err(|f| f.diagnostics)
}

/// [`load`] for a file reached through the Sweep bases in `chain` (outermost
/// first), so a base that leads back to a file on the chain is reported as a
/// cycle instead of being loaded again.
pub(crate) fn load_in_chain(
    ws: &Workspace,
    path: &Path,
    shown: &str,
    chain: &[ChainLink],
) -> Result<LoadedManifest, LoadFailure> {
    let bytes = std::fs::read(path).map_err(|e| {
        vec![Diagnostic::new(
            shown,
            "",
            format!("cannot read the file: {e}"),
        )]
    })?;
    let doc = parse_yaml(shown, &bytes)?;
    let at = |pointer: &str, key: bool| {
        if key {
            doc.positions.key(pointer)
        } else {
            doc.positions.value(pointer)
        }
    };
    let kind = detect_kind(&doc.value, shown, &doc.positions)?;
    let issues = kind.compiled().check(&doc.value);
    if !issues.is_empty() {
        return Err(doc.diagnostics(shown, issues).into());
    }
    let typed = typed(kind, doc.value.clone()).map_err(|e| {
        vec![Diagnostic::new(shown, "", format!("invalid manifest: {e}")).at(at("", false))]
    })?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut links = chain.to_vec();
    links.push(ChainLink::new(&abs, shown));
    let found = check::check(ws, &abs, &typed, &links);
    if !found.problems.is_empty() {
        return Err(LoadFailure {
            diagnostics: found
                .problems
                .into_iter()
                .map(|p| {
                    let d =
                        Diagnostic::new(shown, &p.pointer, p.message).at(at(&p.pointer, p.at_key));
                    match p.help {
                        Some(h) => d.help(h),
                        None => d,
                    }
                })
                .collect(),
            open_cycle: found.open_cycle,
        });
    }
    Ok(LoadedManifest {
        path: abs,
        manifest: typed,
    })
}

/// Read `kind` before the schema check, so the right schema is used and an
/// unknown kind gets its own clear message.
fn detect_kind(
    value: &Value,
    shown: &str,
    positions: &PositionMap,
) -> Result<Kind, Vec<Diagnostic>> {
    let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
    let expected = "one of `Train`, `Sweep`, `Eval`";
    let Value::Object(map) = value else {
        return Err(vec![Diagnostic::new(
            shown,
            "",
            format!(
                "expected a mapping at the top level, found {}",
                crate::schema_check::describe_value(value)
            ),
        )
        .at(positions.value(""))
        .help(
            "a manifest is a mapping with apiVersion, kind, metadata and spec",
        )]);
    };
    match map.get("kind") {
        None => Err(vec![Diagnostic::new(
            shown,
            "",
            "missing required key `kind`",
        )
        .at(positions.value(""))
        .help(format!("add `kind:` with {expected}"))]),
        Some(Value::String(k)) => match Kind::ALL.iter().find(|kind| kind.name() == k) {
            Some(kind) => Ok(*kind),
            None => {
                let help = suggest::closest(k, names.iter().copied())
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| format!("kind is {expected}"));
                Err(vec![Diagnostic::new(
                    shown,
                    "/kind",
                    format!("unknown kind `{k}`"),
                )
                .at(positions.value("/kind"))
                .help(help)])
            }
        },
        Some(other) => Err(vec![Diagnostic::new(
            shown,
            "/kind",
            format!(
                "expected a string ({expected}), found {}",
                crate::schema_check::describe_value(other)
            ),
        )
        .at(positions.value("/kind"))]),
    }
}
