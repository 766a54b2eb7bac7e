//! The settings of answer scoring, as manifests spell them: how the answer
//! is found in a model's output ([`AnswerExtraction`]) and how numbers are
//! compared ([`Equivalence`]), each with its range check.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::ScoringError;

/// One way of finding the answer inside a model's raw output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtractRule {
    /// The text after the last occurrence of any marker (e.g. `Answer:`), up
    /// to the end of that line.
    Marker,
    /// The last number in the output, with its sign, currency and percent.
    LastNumber,
    /// The last line that is not blank.
    LastLine,
}

/// How the answer is extracted from a model's raw output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AnswerExtraction {
    /// Extraction rules, tried in this order; the first one that finds a
    /// non-blank answer wins. Default: `[marker, last_number, last_line]`.
    pub order: Vec<ExtractRule>,
    /// Markers that introduce the answer, matched case-insensitively. The
    /// answer is the text after the last occurrence of any of them, up to the
    /// end of that line. Default: `["Answer:", "####"]`.
    pub markers: Vec<String>,
}

impl Default for AnswerExtraction {
    fn default() -> Self {
        Self {
            order: vec![
                ExtractRule::Marker,
                ExtractRule::LastNumber,
                ExtractRule::LastLine,
            ],
            markers: vec!["Answer:".to_string(), "####".to_string()],
        }
    }
}

impl AnswerExtraction {
    /// Checks that the order is non-empty, that no marker is blank, and that
    /// markers exist when the `marker` rule is used.
    pub fn validate(&self) -> Result<(), ScoringError> {
        if self.order.is_empty() {
            return Err(ScoringError::invalid(
                "order",
                "at least one rule is needed (marker, last_number, last_line)",
            ));
        }
        if let Some(i) = self.markers.iter().position(|m| m.trim().is_empty()) {
            return Err(ScoringError::invalid(
                format!("markers[{i}]"),
                "a marker may not be empty or whitespace",
            ));
        }
        if self.order.contains(&ExtractRule::Marker) && self.markers.is_empty() {
            return Err(ScoringError::invalid(
                "markers",
                "the `marker` rule is in `order` but no markers are given",
            ));
        }
        Ok(())
    }
}

/// How numeric answers are compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Equivalence {
    /// Relative tolerance, used only when either side is written in
    /// scientific notation (e.g. `1.5e3`); integers and plain decimals always
    /// compare exactly. Two values match when `|a - b| <= tol * max(|a|, |b|)`.
    /// Must be in `[0, 1)`. Default: `1e-6`.
    pub float_rel_tol: f64,
}

impl Default for Equivalence {
    fn default() -> Self {
        Self {
            float_rel_tol: 1e-6,
        }
    }
}

impl Equivalence {
    /// Checks that the tolerance is finite and in `[0, 1)`.
    pub fn validate(&self) -> Result<(), ScoringError> {
        if (0.0..1.0).contains(&self.float_rel_tol) {
            Ok(())
        } else {
            Err(ScoringError::invalid(
                "float_rel_tol",
                format!("must be in [0, 1), got {}", self.float_rel_tol),
            ))
        }
    }

    /// The tolerance actually applied: invalid values act as 0 (exact).
    pub(super) fn tolerance(&self) -> f64 {
        if (0.0..1.0).contains(&self.float_rel_tol) {
            self.float_rel_tol
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_validation() {
        assert!(AnswerExtraction::default().validate().is_ok());
        let blank = AnswerExtraction {
            markers: vec!["Answer:".into(), " ".into()],
            ..AnswerExtraction::default()
        };
        assert!(blank.validate().is_err());
        let no_markers = AnswerExtraction {
            markers: vec![],
            ..AnswerExtraction::default()
        };
        assert!(no_markers.validate().is_err());
        assert!(Equivalence::default().validate().is_ok());
        assert!(Equivalence {
            float_rel_tol: -1.0
        }
        .validate()
        .is_err());
        assert!(Equivalence {
            float_rel_tol: f64::NAN
        }
        .validate()
        .is_err());
    }

    #[test]
    fn config_serde_defaults_and_unknown_fields() {
        let cfg: AnswerExtraction =
            serde_json::from_str(r#"{"markers": ["Final:"]}"#).unwrap_or_default();
        assert_eq!(cfg.order, AnswerExtraction::default().order);
        assert_eq!(cfg.markers, ["Final:"]);
        let bad = serde_json::from_str::<AnswerExtraction>(r#"{"marker": ["x"]}"#);
        assert!(bad.is_err());
        let rule = serde_json::to_string(&ExtractRule::LastNumber).ok();
        assert_eq!(rule.as_deref(), Some("\"last_number\""));
    }
}
