//! Pure scoring and statistics over eval rows.
//!
//! Nothing in this module touches files, the clock, the database or torch:
//! every function is a deterministic function of its arguments, and results
//! never depend on the order of the input rows.
//!
//! - [`normalize`](mod@normalize): answer extraction, normalization, equivalence and trace
//!   consistency for a single model output.
//! - [`score`]: per-item values, the primary score and the scorecard.
//! - [`stats`]: confidence intervals, paired tests and the compare verdict.
//! - bootstraps draw from `crate::rng`, the seeded generator shared with training.

pub mod normalize;
pub mod score;
pub mod stats;

pub use normalize::{
    answer_correctness, answers_match, extract_answer, normalize, trace_consistency,
    AnswerExtraction, Equivalence, ExtractRule, Extracted, Normalized,
};
pub use score::{
    build_scorecard, primary_score, CategoryStats, CiMethod, ConfidenceInterval, ItemRow,
    PrimaryScore, Scorecard, DEFAULT_BOOTSTRAP_RESAMPLES, DEFAULT_BOOTSTRAP_SEED,
};
pub use stats::{compare, CompareConfig, PairedComparison, PairedTest, Verdict};

/// An invalid scoring or comparison setting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    /// A configuration field holds a value outside its documented range.
    #[error("invalid `{field}`: {reason}")]
    InvalidConfig {
        /// The offending field, e.g. `alpha` or `markers[1]`.
        field: String,
        /// What is wrong and what is accepted instead.
        reason: String,
    },
}

impl ScoringError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
