//! The JSON layout of the reports: serde_json's pretty layout, except that
//! arrays inside arrays (loss-curve points `[step, loss]`) stay on one line.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::PrettyFormatter;

use super::ReportError;

/// Serialize `doc` as pretty JSON with a trailing newline; arrays inside
/// arrays (loss-curve points `[step, loss]`) stay on one line.
pub(super) fn to_json<S: Serialize>(doc: &S) -> Result<String, ReportError> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, Formatter::default());
    doc.serialize(&mut serializer)?;
    out.push(b'\n');
    String::from_utf8(out).map_err(|e| ReportError::new(format!("JSON output is not UTF-8: {e}")))
}

/// What an open array or object is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    /// An array with one value per line.
    PrettyArray,
    /// An object with one member per line.
    PrettyObject,
    /// A container written on one line.
    Inline,
}

/// serde_json's pretty layout (two-space indent), except that arrays
/// directly inside arrays, and everything inside those, are written on
/// one line: `[0, 5.5452]`.
#[derive(Default)]
struct Formatter {
    pretty: PrettyFormatter<'static>,
    stack: Vec<Frame>,
}

impl Formatter {
    /// Whether the innermost open container is written on one line.
    fn inline(&self) -> bool {
        self.stack.last() == Some(&Frame::Inline)
    }
}

impl serde_json::ser::Formatter for Formatter {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if matches!(self.stack.last(), Some(Frame::Inline | Frame::PrettyArray)) {
            self.stack.push(Frame::Inline);
            w.write_all(b"[")
        } else {
            self.stack.push(Frame::PrettyArray);
            self.pretty.begin_array(w)
        }
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match self.stack.pop() {
            Some(Frame::Inline) => w.write_all(b"]"),
            _ => self.pretty.end_array(w),
        }
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        match (self.inline(), first) {
            (true, true) => Ok(()),
            (true, false) => w.write_all(b", "),
            (false, _) => self.pretty.begin_array_value(w, first),
        }
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inline() {
            Ok(())
        } else {
            self.pretty.end_array_value(w)
        }
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inline() {
            self.stack.push(Frame::Inline);
            w.write_all(b"{")
        } else {
            self.stack.push(Frame::PrettyObject);
            self.pretty.begin_object(w)
        }
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        match self.stack.pop() {
            Some(Frame::Inline) => w.write_all(b"}"),
            _ => self.pretty.end_object(w),
        }
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        match (self.inline(), first) {
            (true, true) => Ok(()),
            (true, false) => w.write_all(b", "),
            (false, _) => self.pretty.begin_object_key(w, first),
        }
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inline() {
            w.write_all(b": ")
        } else {
            self.pretty.begin_object_value(w)
        }
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        if self.inline() {
            Ok(())
        } else {
            self.pretty.end_object_value(w)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn nested_arrays_stay_on_one_line() {
        let doc =
            json!({"a": [[0, 1.5], [10, {"x": [1, 2]}]], "b": [], "c": {"d": [1, 2]}, "e": [[]]});
        let text = super::to_json(&doc).expect("json");
        let expected = "{\n  \"a\": [\n    [0, 1.5],\n    [10, {\"x\": [1, 2]}]\n  ],\n  \"b\": [],\n  \"c\": {\n    \"d\": [\n      1,\n      2\n    ]\n  },\n  \"e\": [\n    []\n  ]\n}\n";
        assert_eq!(text, expected);
        let back: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(back, doc);
    }
}
