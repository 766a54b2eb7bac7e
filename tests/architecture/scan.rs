//! The token-based reading of Rust source for the import-cycle check:
//! comments and literals dropped, `use` trees expanded, code paths
//! collected, `#[cfg(test)]` items skipped.

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Punct(char),
}

/// The tokens of `src` with their line numbers: identifiers, `::` and
/// punctuation. Comments, string, char and number literals and lifetimes
/// are dropped; `$crate` reads as `crate`, `r#name` as `name`.
pub fn lex(src: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = src.chars().collect();
    let at = |i: usize| c.get(i).copied().unwrap_or('\0');
    let is_ident = |ch: char| ch == '_' || ch.is_alphanumeric();
    let (mut out, mut i, mut line) = (Vec::new(), 0, 1);
    // Skips a (raw) string whose opening quote is at `i`, counting lines.
    let skip_string = |mut i: usize, hashes: usize, raw: bool, line: &mut usize| {
        i += 1;
        while i < c.len() {
            match c[i] {
                '\\' if !raw => i += 1,
                '\n' => *line += 1,
                '"' if (1..=hashes).all(|k| at(i + k) == '#') => return i + 1 + hashes,
                _ => {}
            }
            i += 1;
        }
        i
    };
    while i < c.len() {
        let ch = c[i];
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && at(i + 1) == '*' {
            let (mut depth, start) = (0, i);
            while i < c.len() {
                if c[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += c[start..i].iter().filter(|&&x| x == '\n').count();
        } else if ch == '"' {
            i = skip_string(i, 0, false, &mut line);
        } else if ch == '\'' {
            if at(i + 1) == '\\' {
                i = (i + 3..c.len())
                    .find(|&k| c[k] == '\'')
                    .map_or(c.len(), |k| k + 1);
            } else if at(i + 2) == '\'' {
                i += 3; // 'x'
            } else {
                i += 1; // a lifetime or label: its name is skipped below
                while i < c.len() && is_ident(c[i]) {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() {
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
        } else if is_ident(ch) {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            let hashes = (i..).take_while(|&k| at(k) == '#').count();
            let raw_prefix = matches!(word.as_str(), "r" | "br" | "cr");
            if raw_prefix && at(i + hashes) == '"' {
                i = skip_string(i + hashes, hashes, true, &mut line);
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                i = skip_string(i, 0, false, &mut line);
            } else if word == "b" && at(i) == '\'' {
                let from = if at(i + 1) == '\\' { i + 3 } else { i + 2 };
                i = (from..c.len())
                    .find(|&k| c[k] == '\'')
                    .map_or(c.len(), |k| k + 1);
            } else if word == "r" && hashes == 1 && is_ident(at(i + 1)) {
                let start = i + 1;
                i = start;
                while i < c.len() && is_ident(c[i]) {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), line));
            } else {
                out.push((Tok::Ident(word), line));
            }
        } else if ch == '$' && c[i + 1..].starts_with(&['c', 'r', 'a', 't', 'e']) {
            out.push((Tok::Ident("crate".into()), line));
            i += 6;
        } else if ch == ':' && at(i + 1) == ':' {
            out.push((Tok::Sep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

/// A path of a `use` tree or of code, seen at `line` inside the inline
/// modules `inline` of its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathRef {
    pub segs: Vec<String>,
    /// `use a::b as c` imports `c`; `None` for globs and code paths.
    pub name: Option<String>,
    pub is_use: bool,
    pub inline: Vec<String>,
    pub line: usize,
}

/// What one file says about modules: its `mod child;` declarations and
/// inline modules (each with the inline modules around it) and its paths.
#[derive(Debug, Default)]
pub struct Facts {
    pub mod_files: Vec<(Vec<String>, String)>,
    pub inline_mods: Vec<Vec<String>>,
    pub paths: Vec<PathRef>,
}

fn is_cfg_test(attr: &[(Tok, usize)]) -> bool {
    let id = |s: &str| attr.iter().any(|(t, _)| *t == Tok::Ident(s.into()));
    attr.first().map(|t| &t.0) == Some(&Tok::Ident("cfg".into())) && id("test") && !id("not")
}

/// The index after the bracket that closes the one at `open`.
fn close_of(toks: &[(Tok, usize)], open: usize) -> usize {
    let mut depth = 0i32;
    for (k, (t, _)) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// The index after the item (or field, or statement) starting at `i`.
fn skip_item(toks: &[(Tok, usize)], mut i: usize) -> usize {
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct(';' | ',') => return i + 1,
            Tok::Punct(')' | ']' | '}') => return i, // the end of what holds it
            Tok::Punct('{') => return close_of(toks, i),
            Tok::Punct('(' | '[') => i = close_of(toks, i),
            _ => i += 1,
        }
    }
    i
}

fn ident(toks: &[(Tok, usize)], i: usize) -> Option<&str> {
    match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s),
        _ => None,
    }
}

fn punct(toks: &[(Tok, usize)], i: usize, ch: char) -> bool {
    toks.get(i).map(|t| &t.0) == Some(&Tok::Punct(ch))
}

/// Parses the use tree at `*i` under `prefix` into `out`.
fn use_tree(
    toks: &[(Tok, usize)],
    i: &mut usize,
    prefix: Vec<String>,
    base: &PathRef,
    out: &mut Vec<PathRef>,
) {
    let mut segs = prefix;
    let line = toks.get(*i).map_or(base.line, |t| t.1);
    loop {
        match toks.get(*i).map(|t| &t.0) {
            Some(Tok::Sep) => *i += 1,
            Some(Tok::Ident(s)) if s != "as" => {
                segs.push(s.clone());
                *i += 1;
                if toks.get(*i).map(|t| &t.0) != Some(&Tok::Sep) {
                    break;
                }
            }
            Some(Tok::Punct('{')) => {
                *i += 1;
                while *i < toks.len() && !punct(toks, *i, '}') {
                    let before = *i;
                    use_tree(toks, i, segs.clone(), base, out);
                    if punct(toks, *i, ',') || *i == before {
                        *i += 1;
                    }
                }
                *i += 1;
                return;
            }
            Some(Tok::Punct('*')) => {
                *i += 1;
                out.push(PathRef {
                    segs,
                    name: None,
                    line,
                    ..base.clone()
                });
                return;
            }
            _ => break,
        }
    }
    if segs.last().map(String::as_str) == Some("self") {
        segs.pop();
    }
    let mut name = segs.last().cloned();
    if ident(toks, *i) == Some("as") {
        name = ident(toks, *i + 1).map(str::to_string);
        *i += 2;
    }
    if !segs.is_empty() {
        out.push(PathRef {
            segs,
            name,
            line,
            ..base.clone()
        });
    }
}

/// Reads one file's tokens; `#[cfg(test)]` items are skipped, and a file
/// that starts with `#![cfg(test)]` says nothing.
pub fn scan(toks: &[(Tok, usize)]) -> Facts {
    let mut facts = Facts::default();
    let mut inline: Vec<(String, i32)> = Vec::new(); // name, depth inside it
    let (mut i, mut depth, mut test_item) = (0, 0i32, false);
    let stack = |inline: &[(String, i32)]| inline.iter().map(|m| m.0.clone()).collect::<Vec<_>>();
    while i < toks.len() {
        let (tok, line) = (&toks[i].0, toks[i].1);
        if *tok == Tok::Punct('#') {
            let inner = punct(toks, i + 1, '!');
            let open = i + 1 + usize::from(inner);
            if !punct(toks, open, '[') {
                i += 1;
                continue;
            }
            let close = close_of(toks, open);
            if is_cfg_test(&toks[open + 1..close.saturating_sub(1)]) {
                if inner && depth == 0 {
                    return Facts::default();
                }
                test_item = !inner;
            }
            i = close;
            continue;
        }
        if test_item {
            test_item = false;
            i = skip_item(toks, i);
            continue;
        }
        match tok {
            Tok::Ident(kw) if kw == "mod" => {
                if let Some(name) = ident(toks, i + 1) {
                    if punct(toks, i + 2, ';') {
                        facts.mod_files.push((stack(&inline), name.to_string()));
                    } else if punct(toks, i + 2, '{') {
                        inline.push((name.to_string(), depth + 1));
                        facts.inline_mods.push(stack(&inline));
                    }
                }
                i += 2;
            }
            Tok::Ident(kw) if kw == "use" => {
                i += 1;
                let base = PathRef {
                    segs: vec![],
                    name: None,
                    is_use: true,
                    inline: stack(&inline),
                    line,
                };
                use_tree(toks, &mut i, Vec::new(), &base, &mut facts.paths);
            }
            Tok::Ident(first)
                if toks.get(i + 1).map(|t| &t.0) == Some(&Tok::Sep)
                    && (i == 0 || !matches!(toks[i - 1].0, Tok::Sep | Tok::Punct('.'))) =>
            {
                let mut segs = vec![first.clone()];
                i += 1;
                while toks.get(i).map(|t| &t.0) == Some(&Tok::Sep) {
                    match ident(toks, i + 1) {
                        Some(s) => segs.push(s.to_string()),
                        None => break,
                    }
                    i += 2;
                }
                facts.paths.push(PathRef {
                    segs,
                    name: None,
                    is_use: false,
                    inline: stack(&inline),
                    line,
                });
            }
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|m| m.1 == depth) {
                    inline.pop();
                }
                depth -= 1;
                i += 1;
            }
            _ => i += 1,
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idents(src: &str) -> Vec<String> {
        lex(src)
            .into_iter()
            .filter_map(|(t, _)| if let Tok::Ident(s) = t { Some(s) } else { None })
            .collect()
    }

    fn paths(src: &str) -> Vec<String> {
        let facts = scan(&lex(src));
        let show = |p: &PathRef| {
            let kind = if p.is_use { "use" } else { "code" };
            let name = p
                .name
                .as_deref()
                .map(|n| format!(" as {n}"))
                .unwrap_or_default();
            let inline = if p.inline.is_empty() {
                String::new()
            } else {
                format!(" in {}", p.inline.join("::"))
            };
            format!("{kind} {}{name}{inline} @{}", p.segs.join("::"), p.line)
        };
        facts.paths.iter().map(show).collect()
    }

    #[test]
    fn comments_strings_chars_and_lifetimes_are_not_tokens() {
        let src = r###"a // crate::x
/* b /* nested */ crate::y */ c "crate::z \" d" 'e' '\'' '\\' b'\'' f<'g> r#"h " i"# br"j" k 1u32 r#type $crate"###;
        assert_eq!(idents(src), ["a", "c", "f", "k", "type", "crate"]);
        let lines: Vec<usize> = lex("a\n/*\n*/ b \"\n\" c")
            .into_iter()
            .map(|t| t.1)
            .collect();
        assert_eq!(lines, [1, 3, 4]);
    }

    #[test]
    fn use_trees_expand_to_paths() {
        let src = "use crate::a::{self, b::{C, D as E}, f::*};\npub use super::g;\nuse std::fmt;";
        assert_eq!(
            paths(src),
            [
                "use crate::a as a @1",
                "use crate::a::b::C as C @1",
                "use crate::a::b::D as E @1",
                "use crate::a::f @1",
                "use super::g as g @2",
                "use std::fmt as fmt @3"
            ]
        );
    }

    #[test]
    fn code_paths_start_at_their_first_segment() {
        let src = "fn f() { let x = crate::a::B::<T>::new(); super::super::c(); y.z::<u8>(); Self::k(); }";
        assert_eq!(
            paths(src),
            [
                "code crate::a::B @1",
                "code super::super::c @1",
                "code Self::k @1"
            ]
        );
    }

    #[test]
    fn cfg_test_items_are_skipped_and_inline_modules_tracked() {
        let src = "mod a;\n#[cfg(test)]\nmod tests { use super::*; use crate::x; }\n#[cfg(test)] mod more;\n\
                   mod inner { use super::y; mod deep; }\nstruct S { #[cfg(test)] f: crate::t::T, g: u8 }\n#[cfg(not(test))] use crate::z;";
        let facts = scan(&lex(src));
        assert_eq!(
            facts.mod_files,
            [
                (vec![], "a".to_string()),
                (vec!["inner".to_string()], "deep".to_string())
            ]
        );
        assert_eq!(facts.inline_mods, [vec!["inner".to_string()]]);
        assert_eq!(
            paths(src),
            ["use super::y as y in inner @5", "use crate::z as z @7"]
        );
        assert!(scan(&lex("#![cfg(test)]\nuse crate::a;")).paths.is_empty());
    }
}
