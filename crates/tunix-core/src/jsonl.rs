//! Reading JSONL bytes line by line, shared by eval sets and predictions:
//! 1-based line numbers, `\r\n` endings, UTF-8 checked per line (with the
//! column of the first bad byte), blank lines told apart, and the one fact a
//! JSON parser cannot know: whether the last line was cut off. Each format
//! turns these facts into its own diagnostics.

use crate::diagnostic::Diagnostic;
use crate::location::Location;

/// One line of a JSONL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// 1-based line number.
    pub number: usize,
    pub content: Content<'a>,
    /// The last line of a file that does not end with a newline.
    pub unterminated: bool,
}

/// What a line holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content<'a> {
    /// Text with something other than whitespace (without its line ending).
    Text(&'a str),
    /// Nothing but whitespace.
    Blank,
    /// Not valid UTF-8: the first bad byte and its 1-based column (in
    /// characters of the valid prefix).
    InvalidUtf8 { column: usize, byte: u8 },
}

impl Line<'_> {
    /// This line at `column`, for a diagnostic.
    pub fn at(&self, column: usize) -> Option<Location> {
        Some(Location {
            line: self.number,
            column,
        })
    }

    /// Where a JSON parse error on this line points (column 1 at least).
    pub fn at_json_error(&self, error: &serde_json::Error) -> Option<Location> {
        self.at(error.column().max(1))
    }

    /// Whether `error` means the file was cut off inside this line: the
    /// JSON ended early on an unterminated last line.
    pub fn is_truncated(&self, error: &serde_json::Error) -> bool {
        self.unterminated && error.is_eof()
    }
}

/// Every line of `bytes`, numbered from 1. A final newline ends the last
/// line rather than starting a new one; empty input is one empty line, so an
/// empty file reads as a blank line 1 unless the caller says otherwise.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = Line<'_>> {
    let terminated = bytes.ends_with(b"\n");
    let body = if terminated {
        &bytes[..bytes.len() - 1]
    } else {
        bytes
    };
    let count = body.split(|&b| b == b'\n').count();
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(move |(index, raw)| {
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            Line {
                number: index + 1,
                content: classify(raw),
                unterminated: !terminated && index + 1 == count,
            }
        })
}

fn classify(raw: &[u8]) -> Content<'_> {
    match std::str::from_utf8(raw) {
        Ok(text) if text.trim().is_empty() => Content::Blank,
        Ok(text) => Content::Text(text),
        Err(e) => {
            let valid = &raw[..e.valid_up_to()];
            let column = String::from_utf8_lossy(valid).chars().count() + 1;
            Content::InvalidUtf8 {
                column,
                byte: raw[e.valid_up_to()],
            }
        }
    }
}

/// Refuse a file larger than `limit` bytes before reading its lines:
/// "file is N bytes; `what` are limited to `limit`". The error is the
/// loaders' own error type, so they can return it with `?`.
pub fn check_size(
    shown: &str,
    bytes: &[u8],
    limit: usize,
    what: &str,
) -> Result<(), Vec<Diagnostic>> {
    if bytes.len() > limit {
        return Err(vec![Diagnostic::new(
            shown,
            "",
            format!(
                "file is {} bytes; {what} are limited to {limit}",
                bytes.len()
            ),
        )]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(bytes: &[u8]) -> Vec<Line<'_>> {
        lines(bytes).collect()
    }

    #[test]
    fn lines_are_numbered_from_one_and_crlf_is_stripped() {
        let got = all(b"a\r\n\n  \nb\n");
        let contents: Vec<Content> = got.iter().map(|l| l.content).collect();
        assert_eq!(
            contents,
            vec![
                Content::Text("a"),
                Content::Blank,
                Content::Blank,
                Content::Text("b")
            ]
        );
        assert_eq!(got[3].number, 4);
        assert!(got.iter().all(|l| !l.unterminated));
    }

    #[test]
    fn only_a_last_line_without_newline_is_unterminated() {
        let got = all(b"a\nb");
        assert_eq!((got[0].unterminated, got[1].unterminated), (false, true));
        let cut = serde_json::from_str::<serde_json::Value>("{\"a\"").expect_err("eof");
        assert!(got[1].is_truncated(&cut));
        assert!(!got[0].is_truncated(&cut));
    }

    #[test]
    fn empty_input_is_one_blank_line() {
        let got = all(b"");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].content, Content::Blank);
        assert_eq!(all(b"\n").len(), 1);
    }

    #[test]
    fn bad_utf8_names_byte_and_character_column() {
        let got = all(b"{\"\xc3\xa9\xff\"}\n");
        assert_eq!(
            got[0].content,
            Content::InvalidUtf8 {
                column: 4,
                byte: 0xFF
            }
        );
    }

    #[test]
    fn oversize_files_are_refused_with_the_limit() {
        assert!(check_size("f.jsonl", b"12345", 5, "things").is_ok());
        let d = check_size("f.jsonl", b"123456", 5, "things").expect_err("too big");
        assert_eq!(d.len(), 1);
        assert_eq!(
            d[0].to_string(),
            "f.jsonl: error: file is 6 bytes; things are limited to 5"
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_number_every_line(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)
        ) {
            let got = all(&bytes);
            let newlines = bytes.iter().filter(|&&b| b == b'\n').count();
            let expected = if bytes.ends_with(b"\n") { newlines } else { newlines + 1 };
            proptest::prop_assert_eq!(got.len(), expected.max(1));
            for (i, line) in got.iter().enumerate() {
                proptest::prop_assert_eq!(line.number, i + 1);
            }
        }
    }
}
