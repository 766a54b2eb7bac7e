//! The scoring settings a run is re-scored under: `current` (the source
//! run's own settings), or a rules file (`--rules FILE`: YAML with
//! `answer_extraction` and/or `equivalence`, spelled as in an Eval
//! manifest's spec). A rules file is loaded like a manifest: schema check
//! with file:line:column, then the settings' range checks.

use std::path::Path;
use std::sync::OnceLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::evaluate::EvalSettings;
use crate::fsutil::blake3_hex;
use crate::manifest::source::{parse_yaml, PositionMap};
use crate::regress::rules::ScoringRules;
use crate::runfolder::FileRef;
use crate::schema_check::{generate, CompiledSchema};
use crate::scoring::{AnswerExtraction, Equivalence, ScoringError, DEFAULT_BOOTSTRAP_SEED};

/// A rules file: the scoring settings to re-score under. A key left out
/// keeps the source run's own setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// How the answer is extracted from a raw output (as in an Eval
    /// manifest's spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "AnswerExtraction")]
    pub answer_extraction: Option<AnswerExtraction>,
    /// How answers are compared (as in an Eval manifest's spec).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Equivalence")]
    pub equivalence: Option<Equivalence>,
}

/// Which settings to re-score under.
#[derive(Debug, Clone, PartialEq)]
pub enum Rules {
    /// The source run's own settings under this tool's scoring code.
    Current,
    /// The settings of a rules file, with the file's reference.
    File { file: FileRef, rules: RulesFile },
}

impl Rules {
    /// How the rules are named in output and in the new run's config:
    /// `current`, or the rules file's path.
    pub fn name(&self) -> &str {
        match self {
            Rules::Current => "current",
            Rules::File { file, .. } => &file.path,
        }
    }

    /// The settings to re-score a run with resolved config `config` under.
    pub fn settings(&self, config: &Value) -> Result<EvalSettings> {
        let own = ScoringRules::of_run(config)?;
        let (file_extraction, file_equivalence) = match self {
            Rules::Current => (None, None),
            Rules::File { rules, .. } => (rules.answer_extraction.clone(), rules.equivalence),
        };
        Ok(EvalSettings {
            extraction: file_extraction
                .or(own.answer_extraction)
                .unwrap_or_default(),
            equivalence: file_equivalence.or(own.equivalence).unwrap_or_default(),
            seed: DEFAULT_BOOTSTRAP_SEED,
        })
    }
}

fn compiled() -> &'static CompiledSchema {
    static SCHEMA: OnceLock<CompiledSchema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        CompiledSchema::new(generate::<RulesFile>())
            .unwrap_or_else(|e| panic!("generated rules-file schema must compile: {e}"))
    })
}

/// Parse and check a rules file's `bytes`; `shown` names it in
/// diagnostics.
pub fn parse(shown: &str, bytes: &[u8]) -> Result<RulesFile> {
    let doc = parse_yaml(shown, bytes).map_err(|d| Error::invalid_file(shown, d))?;
    if !doc.value.is_object() {
        let d = Diagnostic::new(
            shown,
            "",
            "a rules file is a mapping with `answer_extraction` and/or `equivalence`",
        )
        .at(doc.positions.value(""));
        return Err(Error::invalid_file(shown, vec![d]));
    }
    let issues = compiled().check(&doc.value);
    if !issues.is_empty() {
        return Err(Error::invalid_file(shown, doc.diagnostics(shown, issues)));
    }
    let rules: RulesFile = serde_json::from_value(doc.value).map_err(|e| {
        Error::invalid_file(
            shown,
            vec![Diagnostic::new(
                shown,
                "",
                format!("invalid rules file: {e}"),
            )],
        )
    })?;
    let mut problems = Vec::new();
    if let Some(Err(e)) = rules.answer_extraction.as_ref().map(|a| a.validate()) {
        problems.push(range_diagnostic(
            shown,
            "/answer_extraction",
            &e,
            &doc.positions,
        ));
    }
    if let Some(Err(e)) = rules.equivalence.as_ref().map(|q| q.validate()) {
        problems.push(range_diagnostic(shown, "/equivalence", &e, &doc.positions));
    }
    if !problems.is_empty() {
        return Err(Error::invalid_file(shown, problems));
    }
    if rules.answer_extraction.is_none() && rules.equivalence.is_none() {
        let d = Diagnostic::new(
            shown,
            "",
            "the rules file sets neither `answer_extraction` nor `equivalence`",
        )
        .help("use `--rules current` to re-score under the run's own settings");
        return Err(Error::invalid_file(shown, vec![d]));
    }
    Ok(rules)
}

/// A setting out of its range, pointed at in the file: `markers[1]` under
/// `/answer_extraction` is `/answer_extraction/markers/1`.
fn range_diagnostic(
    shown: &str,
    base: &str,
    error: &ScoringError,
    positions: &PositionMap,
) -> Diagnostic {
    let ScoringError::InvalidConfig { field, reason } = error;
    let pointer = format!("{base}/{}", field.replace('[', "/").replace(']', ""));
    Diagnostic::new(shown, &pointer, reason.clone()).at(positions.value(&pointer))
}

/// The rules `arg` names: `current`, or a rules file to read and check
/// (`shown` names it in messages).
pub fn load(arg: &str, path: &Path, shown: &str) -> Result<Rules> {
    if arg == "current" {
        return Ok(Rules::Current);
    }
    let bytes =
        std::fs::read(path).map_err(|e| Error::user_file("read the rules file", path, e))?;
    let rules = parse(shown, &bytes)?;
    Ok(Rules::File {
        file: FileRef {
            path: shown.to_string(),
            blake3: blake3_hex(&bytes),
        },
        rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scoring::ExtractRule;
    use serde_json::json;

    #[test]
    fn a_rules_file_reads_like_a_manifest_spec() {
        let rules = parse(
            "r.yaml",
            b"answer_extraction:\n  markers: [\"Final:\"]\nequivalence:\n  float_rel_tol: 0.001\n",
        )
        .expect("valid");
        let extraction = rules.answer_extraction.expect("extraction");
        assert_eq!(extraction.markers, ["Final:"]);
        assert_eq!(extraction.order, AnswerExtraction::default().order);
        assert_eq!(rules.equivalence.map(|e| e.float_rel_tol), Some(0.001));
    }

    #[test]
    fn bad_rules_files_are_pointed_at() {
        let err = parse("r.yaml", b"answer_extraction:\n  marker: [x]\n").expect_err("typo");
        let d = &err.diagnostics()[0];
        assert_eq!((d.file.as_str(), d.line), ("r.yaml", Some(2)), "{d}");
        assert!(d.help.as_deref().unwrap_or("").contains("markers"), "{d}");

        let err = parse(
            "r.yaml",
            b"answer_extraction:\n  markers: [\"Answer:\", \" \"]\n",
        )
        .expect_err("blank marker");
        let d = &err.diagnostics()[0];
        assert_eq!(d.pointer, "/answer_extraction/markers/1", "{d}");
        assert_eq!(d.line, Some(2), "{d}");

        let err = parse("r.yaml", b"equivalence:\n  float_rel_tol: 2\n").expect_err("range");
        assert_eq!(err.diagnostics()[0].pointer, "/equivalence/float_rel_tol");

        for bad in [
            &b"{}"[..],
            b"- a\n",
            b"answer_extraction: [1]\n",
            b"rules: 1\n",
        ] {
            assert!(
                parse("r.yaml", bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn settings_come_from_the_file_then_the_run_then_the_defaults() {
        let run = json!({"answer_extraction": {"order": ["last_line"]}, "equivalence": {"float_rel_tol": 0.01}});
        let current = Rules::Current.settings(&run).expect("settings");
        assert_eq!(current.extraction.order, [ExtractRule::LastLine]);
        assert_eq!(current.equivalence.float_rel_tol, 0.01);
        assert_eq!(current.seed, DEFAULT_BOOTSTRAP_SEED);

        let file = Rules::File {
            file: FileRef {
                path: "r.yaml".into(),
                blake3: "0".repeat(64),
            },
            rules: RulesFile {
                answer_extraction: Some(AnswerExtraction::default()),
                equivalence: None,
            },
        };
        let mixed = file.settings(&run).expect("settings");
        assert_eq!(mixed.extraction, AnswerExtraction::default());
        assert_eq!(mixed.equivalence.float_rel_tol, 0.01);
        assert_eq!(file.name(), "r.yaml");

        let none = Rules::Current.settings(&json!({})).expect("settings");
        assert_eq!(none.extraction, AnswerExtraction::default());
        assert_eq!(none.equivalence, Equivalence::default());
    }
}
