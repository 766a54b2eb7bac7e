//! Architecture checks (docs/architecture.md, "Checks"), run by `make test`:
//!
//! - no file-level import cycle inside a crate: the module files (`foo.rs`,
//!   `foo/mod.rs`) of each crate root are nodes, and each `crate::`,
//!   `super::` and `self::` path (in `use` or in code, and through the
//!   module names those bring in scope) is an edge to the deepest module
//!   file it names. Declaring a child (`mod child;`) is no edge, a
//!   re-export (`pub use`) is an edge of the re-exporting file only, and
//!   `#[cfg(test)]` items are skipped.
//! - no source file over `MAX_LINES` lines.
//!
//! Exceptions live in `architecture-allow.toml`, each with its reason; an
//! entry that is no longer needed fails the check too, so the list only
//! shrinks. The parsing (`scan.rs`) is token based (comments and literals
//! removed), enough for this code base; each file has its unit tests.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

mod graph;
mod scan;

use graph::{chain, crate_graph, cycles};

const MAX_LINES: usize = 600;
const ALLOW_FILE: &str = "architecture-allow.toml";
/// Crate roots, relative to the repository root (`crates/*/` are added).
const ROOTS: &[&str] = &["src/lib.rs", "src/main.rs"];
/// Folders whose `.rs` files the length check covers (`crates/*/src` added).
const LENGTH_DIRS: &[&str] = &["src", "tests", "benches"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rel(path: &Path) -> String {
    let path = path.strip_prefix(repo()).unwrap_or(path);
    path.to_string_lossy().replace('\\', "/")
}

/// A line of the allow-list that does not read: its number, why, and the line.
#[derive(Debug)]
struct BadAllowLine {
    line: usize,
    why: &'static str,
    raw: String,
}

impl std::fmt::Display for BadAllowLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{ALLOW_FILE}:{}: {}: {}", self.line, self.why, self.raw)
    }
}

/// The allow-list: section → key → reason. Lines are `[section]` or
/// `"key" = "reason"`; `#` starts a comment line.
fn parse_allow(text: &str) -> Result<BTreeMap<String, BTreeMap<String, String>>, BadAllowLine> {
    let mut out: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let mut section = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        let err = |why: &'static str| BadAllowLine {
            line: n + 1,
            why,
            raw: raw.to_string(),
        };
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if !matches!(name, "cycles" | "long-files") {
                return Err(err("unknown section (cycles, long-files)"));
            }
            section = Some(name.to_string());
            continue;
        }
        let quoted = |s: &str| {
            s.trim()
                .strip_prefix('"')?
                .strip_suffix('"')
                .filter(|q| !q.contains(['"', '\\']))
                .map(str::to_string)
        };
        let (key, reason) = line
            .split_once("\" = \"")
            .ok_or_else(|| err("expected \"key\" = \"reason\""))?;
        let (key, reason) = (quoted(&format!("{key}\"")), quoted(&format!("\"{reason}")));
        let (Some(key), Some(reason)) = (key, reason) else {
            return Err(err(
                "expected \"key\" = \"reason\" (no quotes or backslashes inside)",
            ));
        };
        if reason.trim().is_empty() {
            return Err(err("an exception needs its reason"));
        }
        let section = section
            .clone()
            .ok_or_else(|| err("entry before any [section]"))?;
        if out
            .entry(section)
            .or_default()
            .insert(key, reason)
            .is_some()
        {
            return Err(err("duplicate entry"));
        }
    }
    Ok(out)
}

fn allowed(section: &str) -> BTreeMap<String, String> {
    let text = fs::read_to_string(repo().join(ALLOW_FILE)).unwrap_or_default();
    parse_allow(&text)
        .unwrap_or_else(|e| panic!("{e}"))
        .remove(section)
        .unwrap_or_default()
}

/// The sub folders of `crates/`, relative to the repository root.
fn member_crates() -> Vec<String> {
    let mut dirs: Vec<String> = fs::read_dir(repo().join("crates"))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| format!("crates/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Fails with the unexpected findings and the allow-list entries no finding uses.
fn judge(what: &str, section: &str, found: BTreeMap<String, String>) {
    let allow = allowed(section);
    let new: Vec<_> = found
        .iter()
        .filter(|(k, _)| !allow.contains_key(*k))
        .map(|(_, v)| v.clone())
        .collect();
    let stale: Vec<_> = allow
        .keys()
        .filter(|k| !found.contains_key(*k))
        .map(|k| format!("  \"{k}\""))
        .collect();
    let mut msg = String::new();
    if !new.is_empty() {
        msg += &format!("{what}:\n{}\nbreak them up, or add an entry with its reason under [{section}] in {ALLOW_FILE}\n", new.join("\n"));
    }
    if !stale.is_empty() {
        msg += &format!("entries of [{section}] in {ALLOW_FILE} that nothing needs any more (remove them):\n{}\n", stale.join("\n"));
    }
    assert!(msg.is_empty(), "\n{msg}");
}

#[test]
fn no_import_cycle_between_module_files() {
    let mut found = BTreeMap::new();
    let crates = std::iter::once(String::new()).chain(member_crates().into_iter().map(|c| c + "/"));
    for krate in crates {
        for root in ROOTS
            .iter()
            .map(|r| repo().join(format!("{krate}{r}")))
            .filter(|p| p.is_file())
        {
            let graph = crate_graph(&root);
            for scc in cycles(&graph) {
                let text = format!(
                    "  cycle of {} files: {}\n{}",
                    scc.len(),
                    scc.join(", "),
                    chain(&graph, &scc).join("\n")
                );
                found.insert(scc.join(" + "), text);
            }
        }
    }
    judge(
        "import cycles between module files (key: the files joined by \" + \")",
        "cycles",
        found,
    );
}

#[test]
fn no_source_file_over_the_line_limit() {
    let mut files = Vec::new();
    let dirs = LENGTH_DIRS
        .iter()
        .map(|d| d.to_string())
        .chain(member_crates().into_iter().map(|c| c + "/src"));
    for dir in dirs {
        rust_files(&repo().join(dir), &mut files);
    }
    let mut found = BTreeMap::new();
    for file in files {
        let lines = fs::read_to_string(&file)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if lines > MAX_LINES {
            found.insert(
                rel(&file),
                format!("  {}: {lines} lines (limit {MAX_LINES})", rel(&file)),
            );
        }
    }
    judge("source files over the line limit", "long-files", found);
}

/// The lines of `text` that name a `Result` whose error is a bare
/// `String` (comment lines and `FromStr`'s `from_str` left out).
fn string_errors(text: &str) -> Vec<(usize, String)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| {
            let code = line.trim_start();
            !code.starts_with("//")
                && !code.contains("fn from_str")
                && code
                    .match_indices("Result<")
                    .any(|(at, open)| error_type(&code[at + open.len()..]) == Some("String"))
        })
        .map(|(n, line)| (n + 1, line.trim().to_string()))
        .collect()
}

/// The error type of the `Result` whose generic arguments start `args`
/// (just after `Result<`): the second top-level argument, when there is
/// one (a one-argument `Result<T>` is an alias with a typed error) and the
/// arguments close on this line.
fn error_type(args: &str) -> Option<&str> {
    let mut depth = 0usize;
    let mut second = None;
    for (i, c) in args.char_indices() {
        match c {
            '<' | '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.checked_sub(1)?,
            '>' if depth == 0 => return second.map(|at: usize| args[at..i].trim()),
            '>' => depth -= 1,
            ',' if depth == 0 => second = Some(i + 1),
            _ => {}
        }
    }
    None
}

#[test]
fn errors_are_typed_outside_from_str() {
    let mut files = Vec::new();
    let dirs = ["src", "tests", "benches", "examples"]
        .iter()
        .map(|d| d.to_string())
        .chain(
            member_crates()
                .into_iter()
                .flat_map(|c| [format!("{c}/src"), format!("{c}/tests")]),
        );
    for dir in dirs {
        rust_files(&repo().join(dir), &mut files);
    }
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap_or_default();
        for (n, line) in string_errors(&text) {
            found.push(format!("  {}:{n}: {line}", rel(&file)));
        }
    }
    assert!(
        found.is_empty(),
        "errors that are a bare String (give them a type that says what failed and where):\n{}",
        found.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allow_list_needs_a_reason_per_entry() {
        let ok = parse_allow("# c\n[long-files]\n\"src/a.rs\" = \"split planned\"\n[cycles]\n\"a.rs + b.rs\" = \"why\"\n");
        let ok = ok.unwrap_or_default();
        assert_eq!(ok["long-files"]["src/a.rs"], "split planned");
        assert_eq!(ok["cycles"]["a.rs + b.rs"], "why");
        for bad in [
            "[long-files]\n\"a\" = \"\"",
            "[other]",
            "\"a\" = \"b\"",
            "[cycles]\na = \"b\"",
            "[cycles]\n\"a\" = \"b\"\n\"a\" = \"c\"",
        ] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
        let err = parse_allow("[cycles]\na = \"b\"")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("architecture-allow.toml:2: expected \"key\" = \"reason\": a = \"b\"")
        );
    }

    #[test]
    fn string_errors_are_found_outside_from_str_and_comments() {
        let text = concat!(
            "fn a() -> Result<u8, ",
            "String> {}\n",
            "// fn b() -> Result<u8, ",
            "String>\n",
            "fn from_str(s: &str) -> Result<Self, ",
            "String> {}\n",
            "fn c() -> Result<Vec<u8>, Error> {}\n",
            "fn d() -> Result<BTreeMap<String, String>, Bad> {}\n",
            "fn e() -> Result<(u8, Vec<u8>), ",
            "String> {}\n",
            "fn f() -> Result<String> {}\n",
        );
        let lines: Vec<usize> = string_errors(text).into_iter().map(|(n, _)| n).collect();
        assert_eq!(lines, [1, 6]);
    }
}
