//! The error of report rendering: a template failed to load, parse or
//! render, or the JSON could not be written.

use std::fmt;

/// A report could not be rendered: a template failed to load, parse or
/// render. The message names the template and line when minijinja knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportError {
    /// What went wrong, with the template name and line where known.
    pub message: String,
}

impl ReportError {
    /// An error with `message`.
    pub(super) fn new(message: impl Into<String>) -> Self {
        ReportError {
            message: message.into(),
        }
    }
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ReportError {}

impl From<minijinja::Error> for ReportError {
    fn from(e: minijinja::Error) -> Self {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message.push_str(": ");
            message.push_str(&cause.to_string());
            source = cause.source();
        }
        ReportError::new(message)
    }
}

impl From<serde_json::Error> for ReportError {
    fn from(e: serde_json::Error) -> Self {
        ReportError::new(format!("cannot serialize the report as JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minijinja_errors_name_the_template_and_line() {
        let mut env = minijinja::Environment::new();
        let err = env
            .add_template("x.md.j2", "line one\n{{ broken")
            .expect_err("syntax error");
        let report = ReportError::from(err);
        assert!(report.message.contains("x.md.j2:2"), "{}", report.message);
    }
}
