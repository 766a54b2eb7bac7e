//! The kind of job a run folder records (`run_manifest.json`'s `kind`),
//! written as the manifest kind's name.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What kind of job produced a run: `Train` (trained a model, then
/// evaluated it), `Sweep` or `Eval` (scored a model's outputs on an eval
/// set), written exactly so in `run_manifest.json` and the index.
// The variants carry no doc comments: the schema stays a plain `enum` of
// the three names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum RunKind {
    Train,
    Sweep,
    Eval,
}

impl RunKind {
    /// The kind as written in run_manifest.json and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            RunKind::Train => "Train",
            RunKind::Sweep => "Sweep",
            RunKind::Eval => "Eval",
        }
    }
}

impl fmt::Display for RunKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_written_as_the_manifest_kinds() {
        for (kind, text) in [
            (RunKind::Train, "Train"),
            (RunKind::Sweep, "Sweep"),
            (RunKind::Eval, "Eval"),
        ] {
            assert_eq!(kind.as_str(), text);
            assert_eq!(kind.to_string(), text);
            let json = serde_json::to_string(&kind).expect("serializes");
            assert_eq!(json, format!("\"{text}\""));
            let back: RunKind = serde_json::from_str(&json).expect("reads");
            assert_eq!(back, kind);
        }
    }

    #[test]
    fn unknown_kinds_are_refused() {
        for text in ["\"train\"", "\"TRAIN\"", "\"Rescore\"", "\"\""] {
            let err = serde_json::from_str::<RunKind>(text).expect_err(text);
            assert!(
                err.to_string().starts_with("unknown variant"),
                "{text}: {err}"
            );
        }
        for text in ["1", "null", "{}"] {
            serde_json::from_str::<RunKind>(text).expect_err(text);
        }
    }

    #[test]
    fn the_schema_is_an_enum_of_the_three_names() {
        let schema = crate::schema_check::generate::<RunKind>();
        assert_eq!(
            schema["enum"],
            serde_json::json!(["Train", "Sweep", "Eval"]),
            "{schema}"
        );
        assert_eq!(schema["type"], "string");
    }
}
