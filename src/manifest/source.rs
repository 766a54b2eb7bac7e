//! Reading a YAML file into a JSON value plus a map from JSON pointer to
//! line/column, so later checks (schema, semantics) can point at the exact
//! key or value. Guards against the YAML classics: bad UTF-8, tab
//! indentation, duplicate keys, alias bombs, very deep nesting.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, Span};

use crate::diagnostic::{child_pointer, Diagnostic};
use crate::error::Location;

/// Largest manifest accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 1 << 20;
/// Deepest nesting of mappings and sequences accepted.
pub const MAX_DEPTH: usize = 64;
/// Most nodes a document may expand to once aliases are followed.
pub const MAX_EXPANDED_NODES: usize = 100_000;

/// Where a node sits in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePosition {
    /// The key that introduces the node, for mapping values.
    pub key: Option<Location>,
    /// The node itself.
    pub value: Location,
}

/// JSON pointer → position of every node in a document.
#[derive(Debug, Default, Clone)]
pub struct PositionMap {
    nodes: HashMap<String, NodePosition>,
}

impl PositionMap {
    /// Position of the node at `pointer`, or of its nearest ancestor.
    pub fn value(&self, pointer: &str) -> Option<Location> {
        self.nearest(pointer).map(|p| p.value)
    }

    /// Position of the key at `pointer` (falls back to the value, then to the
    /// nearest ancestor).
    pub fn key(&self, pointer: &str) -> Option<Location> {
        self.nearest(pointer).map(|p| p.key.unwrap_or(p.value))
    }

    fn nearest(&self, pointer: &str) -> Option<&NodePosition> {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.nodes.get(p) {
                return Some(pos);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return None,
            }
        }
    }
}

/// A parsed YAML document.
#[derive(Debug, Clone)]
pub struct YamlDocument {
    pub value: serde_json::Value,
    pub positions: PositionMap,
}

impl YamlDocument {
    /// Schema issues found in this document (file `shown`) as diagnostics
    /// at their key's or value's line and column.
    pub fn diagnostics(
        &self,
        shown: &str,
        issues: Vec<crate::schema_check::SchemaIssue>,
    ) -> Vec<Diagnostic> {
        issues
            .into_iter()
            .map(|i| {
                let at = if i.at_key {
                    self.positions.key(&i.pointer)
                } else {
                    self.positions.value(&i.pointer)
                };
                let d = Diagnostic::new(shown, &i.pointer, i.message).at(at);
                match i.help {
                    Some(h) => d.help(h),
                    None => d,
                }
            })
            .collect()
    }
}

/// Parse `bytes` (the contents of `file`) into a JSON value with positions.
/// All problems come back as diagnostics; nothing here panics on any input.
pub fn parse_yaml(file: &str, bytes: &[u8]) -> Result<YamlDocument, Vec<Diagnostic>> {
    let diag = |loc: Option<Location>, msg: String| Diagnostic::new(file, "", msg).at(loc);
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![diag(
            None,
            format!(
                "file is {} bytes; manifests are limited to {MAX_FILE_BYTES} bytes",
                bytes.len()
            ),
        )]);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let loc = byte_location(bytes, e.valid_up_to());
            return Err(vec![diag(
                Some(loc),
                format!(
                    "file is not valid UTF-8 (byte 0x{:02X})",
                    bytes[e.valid_up_to()]
                ),
            )
            .help("save the file as UTF-8")]);
        }
    };
    let tabs = tab_indentation(file, text);
    if !tabs.is_empty() {
        return Err(tabs);
    }
    let positions = scan_events(file, text)?;
    let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| {
        let loc = e.location().map(|l| Location {
            line: l.line(),
            column: l.column(),
        });
        vec![diag(loc, format!("invalid YAML: {e}"))]
    })?;
    if value.is_null() {
        return Err(vec![diag(
            Some(Location { line: 1, column: 1 }),
            "the document is empty".to_string(),
        )
        .help(
            "a manifest is a mapping with apiVersion, kind, metadata and spec",
        )]);
    }
    Ok(YamlDocument { value, positions })
}

/// Line and column (1-based, columns in characters) of byte `offset`.
pub fn byte_location(bytes: &[u8], offset: usize) -> Location {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Location { line, column }
}

fn tab_indentation(file: &str, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
        if let Some(col) = indent.chars().position(|c| c == '\t') {
            out.push(
                Diagnostic::new(file, "", "tab character in indentation")
                    .at(Some(Location {
                        line: i + 1,
                        column: col + 1,
                    }))
                    .help("YAML indents with spaces only: replace the tab with spaces"),
            );
        }
    }
    out
}

enum Frame {
    Map {
        pointer: String,
        seen: HashSet<String>,
        pending_key: Option<(String, Location)>,
        start_count: usize,
        anchor: usize,
    },
    Seq {
        pointer: String,
        index: usize,
        start_count: usize,
        anchor: usize,
    },
}

fn location(span: &Span) -> Location {
    Location {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// Walk the event stream once: record positions, and refuse duplicate keys,
/// complex keys, several documents, deep nesting and alias bombs.
fn scan_events(file: &str, text: &str) -> Result<PositionMap, Vec<Diagnostic>> {
    let mut map = PositionMap::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchor_sizes: HashMap<usize, usize> = HashMap::new();
    let mut expanded = 0usize;
    let mut documents = 0usize;
    let fail = |loc: Location, msg: String| vec![Diagnostic::new(file, "", msg).at(Some(loc))];

    for event in Parser::new_from_str(text) {
        let (event, span) = match event {
            Ok(ok) => ok,
            Err(e) => {
                let m = e.marker();
                let loc = Location {
                    line: m.line(),
                    column: m.col() + 1,
                };
                return Err(fail(loc, format!("invalid YAML: {}", e.info())));
            }
        };
        let loc = location(&span);
        let (is_node, anchor) = match &event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(fail(
                        loc,
                        "more than one YAML document in the file; put one manifest per file"
                            .to_string(),
                    ));
                }
                continue;
            }
            Event::Scalar(_, _, anchor, _) => (true, *anchor),
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => (true, *anchor),
            Event::Alias(id) => {
                expanded += anchor_sizes.get(id).copied().unwrap_or(1);
                if expanded > MAX_EXPANDED_NODES {
                    return Err(fail(
                        loc,
                        format!("aliases expand to more than {MAX_EXPANDED_NODES} nodes (an alias bomb?)"),
                    ));
                }
                (true, 0)
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let (start, anchor) = match stack.pop() {
                    Some(Frame::Map {
                        start_count,
                        anchor,
                        ..
                    })
                    | Some(Frame::Seq {
                        start_count,
                        anchor,
                        ..
                    }) => (start_count, anchor),
                    None => continue,
                };
                if anchor != 0 {
                    anchor_sizes.insert(anchor, expanded - start + 1);
                }
                continue;
            }
            _ => continue,
        };
        if !is_node {
            continue;
        }

        // Is this node a mapping key?
        if let Some(Frame::Map {
            pointer,
            seen,
            pending_key,
            ..
        }) = stack.last_mut()
        {
            if pending_key.is_none() {
                let Event::Scalar(key, ..) = &event else {
                    return Err(fail(
                        loc,
                        "mapping keys must be plain strings (complex keys and aliases as keys are not supported)"
                            .to_string(),
                    ));
                };
                if !seen.insert(key.to_string()) {
                    return Err(vec![Diagnostic::new(
                        file,
                        &child_pointer(pointer, key),
                        format!("duplicate key `{key}`"),
                    )
                    .at(Some(loc))
                    .help(
                        "each key may appear once per mapping: remove or merge the duplicate",
                    )]);
                }
                *pending_key = Some((key.to_string(), loc));
                continue;
            }
        }

        expanded += 1;
        if expanded > MAX_EXPANDED_NODES {
            return Err(fail(
                loc,
                format!("document has more than {MAX_EXPANDED_NODES} nodes"),
            ));
        }
        let (pointer, key_loc) = match stack.last_mut() {
            None => (String::new(), None),
            Some(Frame::Map {
                pointer,
                pending_key,
                ..
            }) => match pending_key.take() {
                Some((key, key_loc)) => (child_pointer(pointer, &key), Some(key_loc)),
                None => (pointer.clone(), None),
            },
            Some(Frame::Seq { pointer, index, .. }) => {
                let p = format!("{pointer}/{index}");
                *index += 1;
                (p, None)
            }
        };
        map.nodes.insert(
            pointer.clone(),
            NodePosition {
                key: key_loc,
                value: loc,
            },
        );
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(fail(loc, format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                let start_count = expanded;
                stack.push(if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        pointer,
                        seen: HashSet::new(),
                        pending_key: None,
                        start_count,
                        anchor,
                    }
                } else {
                    Frame::Seq {
                        pointer,
                        index: 0,
                        start_count,
                        anchor,
                    }
                });
            }
            _ => {
                if anchor != 0 {
                    anchor_sizes.insert(anchor, 1);
                }
            }
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<YamlDocument, Vec<Diagnostic>> {
        parse_yaml("t.yaml", text.as_bytes())
    }

    fn first_error(text: &[u8]) -> Diagnostic {
        parse_yaml("t.yaml", text)
            .expect_err("should fail")
            .remove(0)
    }

    #[test]
    fn positions_of_keys_and_values() {
        let doc = parse("a: 1\nb:\n  c: [x, y]\n  d:\n    - e: 2\n").expect("valid");
        assert_eq!(
            doc.positions.key("/b/c"),
            Some(Location { line: 3, column: 3 })
        );
        assert_eq!(
            doc.positions.value("/b/c/1"),
            Some(Location {
                line: 3,
                column: 10
            })
        );
        assert_eq!(
            doc.positions.key("/b/d/0/e"),
            Some(Location { line: 5, column: 7 })
        );
        // Unknown pointers fall back to the nearest ancestor.
        assert_eq!(
            doc.positions.value("/b/c/7"),
            Some(Location { line: 3, column: 6 })
        );
        assert_eq!(doc.value["b"]["d"][0]["e"], 2);
    }

    #[test]
    fn duplicate_keys_are_refused_with_position() {
        let d = first_error(b"spec:\n  a: 1\n  a: 2\n");
        assert_eq!(d.message, "duplicate key `a`");
        assert_eq!((d.line, d.column), (Some(3), Some(3)));
        assert_eq!(d.pointer, "/spec/a");
    }

    #[test]
    fn tab_indentation_is_refused() {
        let d = first_error(b"spec:\n\tname: x\n");
        assert_eq!(d.message, "tab character in indentation");
        assert_eq!((d.line, d.column), (Some(2), Some(1)));
    }

    #[test]
    fn invalid_utf8_names_the_position() {
        let d = first_error(b"a: 1\nb: \xff\n");
        assert!(d.message.contains("not valid UTF-8"), "{}", d.message);
        assert_eq!((d.line, d.column), (Some(2), Some(4)));
    }

    #[test]
    fn empty_and_comment_only_files_are_refused() {
        assert!(first_error(b"").message.contains("empty"));
        assert!(first_error(b"# nothing\n").message.contains("empty"));
    }

    #[test]
    fn syntax_errors_carry_a_location() {
        let d = first_error(b"a: [1, 2\nb: 3\n");
        assert!(d.message.starts_with("invalid YAML"), "{}", d.message);
        assert!(d.line.is_some());
    }

    #[test]
    fn alias_bombs_are_refused_quickly() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let d = first_error(text.as_bytes());
        assert!(d.message.contains("alias"), "{}", d.message);
    }

    #[test]
    fn deep_nesting_is_refused() {
        let flow = "[".repeat(10_000) + &"]".repeat(10_000);
        let d = first_error(flow.as_bytes());
        assert!(
            d.message.contains("recursion limit exceeded"),
            "{}",
            d.message
        );
        let block: String = (0..100)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let d = first_error(block.as_bytes());
        assert!(
            d.message.contains("nesting deeper than 64 levels"),
            "{}",
            d.message
        );
        assert_eq!(d.line, Some(65));
    }

    #[test]
    fn several_documents_are_refused() {
        let d = first_error(b"a: 1\n---\nb: 2\n");
        assert!(d.message.contains("more than one YAML document"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse_yaml("f.yaml", &bytes);
        }

        #[test]
        fn arbitrary_yaml_like_text_never_panics(text in "[a-z:{}\\[\\], \n&*!|>#'\"-]{0,200}") {
            let _ = parse_yaml("f.yaml", text.as_bytes());
        }
    }

    #[test]
    fn small_aliases_are_fine() {
        let doc = parse("base: &b {x: 1}\nother: *b\n").expect("valid");
        assert_eq!(doc.value["other"]["x"], 1);
    }
}
