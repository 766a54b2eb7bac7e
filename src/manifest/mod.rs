//! Manifests: the Kubernetes-style envelope (`apiVersion`, `kind`,
//! `metadata`, `spec`) around the Train, Sweep and Eval specs, and the
//! pipeline that loads one: YAML → JSON value → JSON Schema → typed value →
//! semantic checks. Every failure is a [`Diagnostic`] with file, line,
//! column and key path.

pub mod chain;
pub mod check;
pub mod common;
pub mod eval;
pub mod params;
pub mod slurm;
pub mod source;
pub mod sweep;
pub mod train;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::schema_check::CompiledSchema;
use crate::suggest;
use crate::workspace::Workspace;
use chain::{ChainLink, LoadFailure};
use common::{ApiVersion, Metadata};
use source::{parse_yaml, PositionMap};

macro_rules! envelope {
    ($(#[$doc:meta])* $name:ident, $kind_ty:ident, $kind:literal, $spec:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        pub struct $name {
            /// Manifest format version: `tunix-rt/v1`.
            pub api_version: ApiVersion,
            #[doc = concat!("Always `", $kind, "`.")]
            pub kind: $kind_ty,
            pub metadata: Metadata,
            pub spec: $spec,
        }

        #[doc = concat!("The `kind` tag of a ", $kind, " manifest.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub enum $kind_ty {
            #[serde(rename = $kind)]
            Tag,
        }
    };
}

envelope!(
    /// A Train manifest: train a built-in GPT, then evaluate it.
    TrainManifest, TrainKind, "Train", train::TrainSpec
);
envelope!(
    /// A Sweep manifest: many Train trials over a search space.
    SweepManifest, SweepKind, "Sweep", sweep::SweepSpec
);
envelope!(
    /// An Eval manifest: score a model's outputs on an eval set.
    EvalManifest, EvalKind, "Eval", eval::EvalSpec
);

/// The manifest kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Train,
    Sweep,
    Eval,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Train, Kind::Sweep, Kind::Eval];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Train => "Train",
            Kind::Sweep => "Sweep",
            Kind::Eval => "Eval",
        }
    }

    /// The generated schema's file stem, e.g. `train` for `train.schema.json`.
    pub fn schema_stem(self) -> &'static str {
        match self {
            Kind::Train => "train",
            Kind::Sweep => "sweep",
            Kind::Eval => "eval",
        }
    }

    /// The JSON Schema of this kind's manifest, generated from the types.
    pub fn schema(self) -> Value {
        match self {
            Kind::Train => crate::schema_check::generate::<TrainManifest>(),
            Kind::Sweep => crate::schema_check::generate::<SweepManifest>(),
            Kind::Eval => crate::schema_check::generate::<EvalManifest>(),
        }
    }

    fn compiled(self) -> &'static CompiledSchema {
        static SCHEMAS: OnceLock<Vec<CompiledSchema>> = OnceLock::new();
        let all = SCHEMAS.get_or_init(|| {
            Kind::ALL
                .iter()
                .map(|k| {
                    CompiledSchema::new(k.schema())
                        .unwrap_or_else(|e| panic!("generated schema must compile: {e}"))
                })
                .collect()
        });
        &all[self as usize]
    }
}

/// A typed manifest of any kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Manifest {
    Train(TrainManifest),
    Sweep(SweepManifest),
    Eval(EvalManifest),
}

impl Manifest {
    pub fn kind(&self) -> Kind {
        match self {
            Manifest::Train(_) => Kind::Train,
            Manifest::Sweep(_) => Kind::Sweep,
            Manifest::Eval(_) => Kind::Eval,
        }
    }

    pub fn metadata(&self) -> &Metadata {
        match self {
            Manifest::Train(m) => &m.metadata,
            Manifest::Sweep(m) => &m.metadata,
            Manifest::Eval(m) => &m.metadata,
        }
    }
}

/// A manifest that passed every check, with the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedManifest {
    /// Absolute path of the file.
    pub path: PathBuf,
    pub manifest: Manifest,
}

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

fn typed(kind: Kind, value: Value) -> serde_json::Result<Manifest> {
    Ok(match kind {
        Kind::Train => Manifest::Train(serde_json::from_value(value)?),
        Kind::Sweep => Manifest::Sweep(serde_json::from_value(value)?),
        Kind::Eval => Manifest::Eval(serde_json::from_value(value)?),
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
