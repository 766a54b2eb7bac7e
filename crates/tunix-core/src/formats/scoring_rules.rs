//! What a baseline pins besides the eval set: the scoring rules a run was
//! scored under ([`ScoringRules`]) and a hash of every item's correctness
//! ([`correctness_hash`]). Pure functions of their arguments.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::fsutil::blake3_hex;
use crate::runfolder::EvalItemRecord;
use crate::scoring::{AnswerExtraction, Equivalence, SCORING_RULES_VERSION};

/// Where a run's resolved config holds its scoring settings: `tunix-rt
/// eval` (top level), an Eval manifest (`spec`), a Train manifest
/// (`spec.eval`).
const SETTINGS_AT: [&str; 3] = ["", "/spec", "/spec/eval"];

/// The scoring rules behind a run's correctness values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringRules {
    /// The tool's scoring-rules version (bumped whenever normalization or
    /// extraction changes).
    pub version: u32,
    /// Answer extraction settings from the run's config; null when the run
    /// does not record them.
    pub answer_extraction: Option<AnswerExtraction>,
    /// Equivalence settings from the run's config; null when the run does
    /// not record them.
    pub equivalence: Option<Equivalence>,
}

impl ScoringRules {
    /// The rules of a run with resolved config `config`, at the current
    /// [`SCORING_RULES_VERSION`] (a run's recorded version, in its eval
    /// summary, replaces it: see `EvaluatedRun::rules`).
    pub fn of_run(config: &Value) -> Result<Self> {
        Ok(ScoringRules {
            version: SCORING_RULES_VERSION,
            answer_extraction: setting(config, "answer_extraction")?,
            equivalence: setting(config, "equivalence")?,
        })
    }

    /// One line per rule that differs between `self` (the baseline's) and
    /// `other` (the candidate's); empty when they agree.
    pub fn differences(&self, other: &ScoringRules) -> Vec<String> {
        let mut out = Vec::new();
        if self.version != other.version {
            out.push(format!(
                "scoring-rules version: baseline {}, candidate {}",
                self.version, other.version
            ));
        }
        if self.answer_extraction != other.answer_extraction {
            out.push(format!(
                "answer_extraction: baseline {}, candidate {}",
                compact(&self.answer_extraction),
                compact(&other.answer_extraction)
            ));
        }
        if self.equivalence != other.equivalence {
            out.push(format!(
                "equivalence: baseline {}, candidate {}",
                compact(&self.equivalence),
                compact(&other.equivalence)
            ));
        }
        out
    }
}

/// The first of [`SETTINGS_AT`] that holds `key`, parsed.
fn setting<T: serde::de::DeserializeOwned>(config: &Value, key: &str) -> Result<Option<T>> {
    let Some((at, value)) = SETTINGS_AT
        .iter()
        .find_map(|at| config.pointer(&format!("{at}/{key}")).map(|v| (at, v)))
    else {
        return Ok(None);
    };
    serde_json::from_value(value.clone())
        .map(Some)
        .map_err(|e| {
            Error::bad_input(format!(
                "the run's config has an invalid `{key}` (at config{at}/{key}): {e}"
            ))
        })
}

/// One-line JSON of a setting, `null` when absent.
fn compact<T: Serialize>(value: &Option<T>) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// blake3 over the sorted lines `id:correctness` (one per item, each ending
/// in a newline; a skipped item's correctness is `null`, others are written
/// in Rust's shortest round-trip form, e.g. `1`, `0`, `0.5`). The same items
/// in any order give the same hash.
pub fn correctness_hash(items: &[EvalItemRecord]) -> String {
    let mut lines: Vec<String> = items
        .iter()
        .map(|item| match item.answer_correctness {
            Some(c) => format!("{}:{c}\n", item.id),
            None => format!("{}:null\n", item.id),
        })
        .collect();
    lines.sort_unstable();
    blake3_hex(lines.concat().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: &str, c: Option<f64>) -> EvalItemRecord {
        EvalItemRecord {
            id: id.into(),
            category: "core".into(),
            expected: "1".into(),
            output: None,
            extracted: None,
            extraction_rule: None,
            answer_correctness: c,
            trace_consistency: None,
        }
    }

    #[test]
    fn the_correctness_hash_ignores_order_and_sees_every_change() {
        let a = vec![item("a", Some(1.0)), item("b", Some(0.0)), item("c", None)];
        let shuffled = vec![a[2].clone(), a[0].clone(), a[1].clone()];
        assert_eq!(correctness_hash(&a), correctness_hash(&shuffled));
        assert_eq!(
            correctness_hash(&a),
            blake3_hex(b"a:1\nb:0\nc:null\n"),
            "the documented line format"
        );
        let mut flipped = a.clone();
        flipped[1].answer_correctness = Some(1.0);
        assert_ne!(correctness_hash(&a), correctness_hash(&flipped));
        let mut renamed = a.clone();
        renamed[0].id = "z".into();
        assert_ne!(correctness_hash(&a), correctness_hash(&renamed));
        let mut unscored = a;
        unscored[1].answer_correctness = None;
        assert_ne!(correctness_hash(&unscored), correctness_hash(&flipped));
    }

    #[test]
    fn rules_come_from_every_config_shape_and_differences_are_named() {
        let eval_cmd = json!({"answer_extraction": {"order": ["last_line"]}, "equivalence": {}});
        let eval_manifest =
            json!({"spec": {"answer_extraction": {"order": ["last_line"]}, "equivalence": {}}});
        let train = json!({"spec": {"eval": {"answer_extraction": {"order": ["last_line"]}, "equivalence": {}}}});
        let rules = ScoringRules::of_run(&eval_cmd).expect("rules");
        assert_eq!(rules.version, SCORING_RULES_VERSION);
        assert_eq!(ScoringRules::of_run(&eval_manifest).expect("rules"), rules);
        assert_eq!(ScoringRules::of_run(&train).expect("rules"), rules);
        let none = ScoringRules::of_run(&json!({"skill": 0.5})).expect("rules");
        assert_eq!((none.answer_extraction, none.equivalence), (None, None));
        assert!(rules.differences(&rules).is_empty());
        let mut other = ScoringRules::of_run(&json!({})).expect("rules");
        other.version += 1;
        let diffs = rules.differences(&other);
        assert_eq!(diffs.len(), 3, "{diffs:?}");
        assert!(
            diffs[0].contains("version: baseline 1, candidate 2"),
            "{diffs:?}"
        );
        assert!(diffs[1].contains("candidate null"), "{diffs:?}");
        let err = ScoringRules::of_run(&json!({"equivalence": {"bogus": 1}})).expect_err("bad");
        assert!(err.message().contains("config/equivalence"), "{err}");
    }
}
