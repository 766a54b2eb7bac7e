//! The one error of scoring: a setting outside its documented range.

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
