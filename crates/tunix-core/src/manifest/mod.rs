//! Manifests as types: the Kubernetes-style envelope (`apiVersion`,
//! `kind`, `metadata`, `spec`) around the Train, Sweep and Eval specs, and
//! their generated JSON Schemas. Loading one (YAML with positions, the
//! schema check, the semantic checks) is the engine's `manifest` module.

pub mod common;
pub mod eval;
pub mod params;
pub mod slurm;
pub mod sweep;
pub mod train;

use std::path::PathBuf;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::schema_check::CompiledSchema;
use common::{ApiVersion, Metadata};

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

    /// This kind's schema, compiled once.
    pub fn compiled(self) -> &'static CompiledSchema {
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

/// The typed manifest of `kind` in `value` (already schema-checked).
pub fn typed(kind: Kind, value: Value) -> serde_json::Result<Manifest> {
    Ok(match kind {
        Kind::Train => Manifest::Train(serde_json::from_value(value)?),
        Kind::Sweep => Manifest::Sweep(serde_json::from_value(value)?),
        Kind::Eval => Manifest::Eval(serde_json::from_value(value)?),
    })
}
