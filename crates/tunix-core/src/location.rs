//! A position inside a text file: 1-based line and column. Shared by
//! diagnostics and errors, and depends on neither.

use std::fmt;

/// A line and column in a text file, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_line_colon_column() {
        assert_eq!(Location { line: 3, column: 5 }.to_string(), "3:5");
    }
}
