//! Findings about a user's file: where (file, line, column, JSON pointer),
//! what is wrong, and how to fix it. Validation collects these for every file
//! before deciding the exit code.

use std::fmt;

use serde::Serialize;

use crate::location::Location;

/// One problem found in an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file as the user named it (or relative to the workspace).
    pub file: String,
    /// Line and column (1-based) when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// JSON pointer of the offending key or value ("" is the whole document).
    pub pointer: String,
    /// What is wrong, including what was expected.
    pub message: String,
    /// How to fix it, when there is a concrete suggestion.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: &str, pointer: &str, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_string(),
            line: None,
            column: None,
            pointer: pointer.to_string(),
            message: message.into(),
            help: None,
        }
    }

    pub fn at(mut self, location: Option<Location>) -> Self {
        if let Some(loc) = location {
            self.line = Some(loc.line);
            self.column = Some(loc.column);
        }
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": error: {}", self.message)?;
        if !self.pointer.is_empty() {
            write!(f, " (at {})", self.pointer)?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n    help: {help}")?;
        }
        Ok(())
    }
}

/// Escape one JSON-pointer reference token (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `base` extended by one reference token.
pub fn child_pointer(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_format_has_file_line_column_pointer_and_help() {
        let d = Diagnostic::new("m.yaml", "/spec/x", "unknown key `x`")
            .at(Some(Location { line: 4, column: 3 }))
            .help("did you mean `y`?");
        assert_eq!(
            d.to_string(),
            "m.yaml:4:3: error: unknown key `x` (at /spec/x)\n    help: did you mean `y`?"
        );
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(child_pointer("/a", "b/c~d"), "/a/b~1c~0d");
    }
}
