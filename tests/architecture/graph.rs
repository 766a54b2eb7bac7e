//! The module-file graph of one crate and its cycles.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::Path;

use crate::rel;
use crate::scan::{lex, scan, Facts};

/// One crate's module files and the edges between them: for each
/// (from, to), the first path that makes it, as "line: a::b::c".
pub struct Graph {
    files: BTreeSet<String>,
    edges: BTreeMap<String, BTreeMap<String, String>>,
}

/// Follows `mod child;` from the crate root `root` and resolves every
/// path to the deepest module that exists.
pub fn crate_graph(root: &Path) -> Graph {
    let mut modules: HashMap<Vec<String>, String> = HashMap::new(); // module → its file
    let mut files: Vec<(String, Vec<String>, Facts)> = Vec::new();
    let mut queue = vec![(root.to_path_buf(), Vec::<String>::new())];
    while let Some((file, module)) = queue.pop() {
        let src = fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let facts = scan(&lex(&src));
        let name = rel(&file);
        let dir = match file.file_name().and_then(|n| n.to_str()) {
            Some("lib.rs" | "main.rs" | "mod.rs") => file.parent().map(Path::to_path_buf),
            _ => file
                .parent()
                .map(|p| p.join(file.file_stem().unwrap_or_default())),
        }
        .unwrap_or_default();
        modules.insert(module.clone(), name.clone());
        for inner in &facts.inline_mods {
            modules.insert([module.clone(), inner.clone()].concat(), name.clone());
        }
        for (inner, child) in &facts.mod_files {
            let base = inner.iter().fold(dir.clone(), |d, m| d.join(m));
            let child_file = [
                base.join(format!("{child}.rs")),
                base.join(child).join("mod.rs"),
            ]
            .into_iter()
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{name}: no file for `mod {child};`"));
            queue.push((
                child_file,
                [module.clone(), inner.clone(), vec![child.clone()]].concat(),
            ));
        }
        files.push((name, module, facts));
    }
    let mut graph = Graph {
        files: BTreeSet::new(),
        edges: BTreeMap::new(),
    };
    for (name, module, facts) in &files {
        graph.files.insert(name.clone());
        let mut aliases: HashMap<&str, Vec<String>> = HashMap::new();
        let mut resolved = Vec::new();
        // `use` first (in any order: they bring module names in scope), then code.
        for pass_use in [true, false] {
            for p in facts.paths.iter().filter(|p| p.is_use == pass_use) {
                let here = [module.clone(), p.inline.clone()].concat();
                let Some((target, whole)) = resolve(&p.segs, &here, &modules, &aliases) else {
                    continue;
                };
                if let (true, Some(alias)) = (whole, &p.name) {
                    aliases.insert(alias, target.clone());
                }
                if module.starts_with(&target) {
                    continue; // a module file using its own ancestors' items: no edge
                }
                resolved.push((
                    modules[&target].clone(),
                    format!("{}: {}", p.line, p.segs.join("::")),
                ));
            }
        }
        for (to, why) in resolved {
            if to != *name {
                graph
                    .edges
                    .entry(name.clone())
                    .or_default()
                    .entry(to)
                    .or_insert(why);
            }
        }
    }
    graph
}

/// The deepest existing module that `segs` names from the module `here`,
/// and whether that is the whole path; `None` for paths outside the crate.
fn resolve(
    segs: &[String],
    here: &[String],
    modules: &HashMap<Vec<String>, String>,
    aliases: &HashMap<&str, Vec<String>>,
) -> Option<(Vec<String>, bool)> {
    let (mut at, mut rest) = match segs.first()?.as_str() {
        "crate" => (vec![], &segs[1..]),
        "self" => (here.to_vec(), &segs[1..]),
        "super" => {
            let supers = segs.iter().take_while(|s| *s == "super").count();
            (
                here[..here.len().checked_sub(supers)?].to_vec(),
                &segs[supers..],
            )
        }
        first => match aliases.get(first) {
            Some(target) => (target.clone(), &segs[1..]),
            None if modules.contains_key(&[here, &segs[..1]].concat()) => (here.to_vec(), segs),
            None => return None,
        },
    };
    while let Some(next) = rest.first() {
        let deeper = [at.clone(), vec![next.clone()]].concat();
        if !modules.contains_key(&deeper) {
            break;
        }
        at = deeper;
        rest = &rest[1..];
    }
    Some((at, rest.is_empty()))
}

/// The strongly connected components of more than one file (Tarjan).
pub fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        g: &'a Graph,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        stack: Vec<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        for w in s.g.edges.get(v).into_iter().flat_map(|e| e.keys()) {
            if !s.index.contains_key(w.as_str()) {
                visit(s, w);
                let low = s.low[w.as_str()].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.stack.contains(&w.as_str()) {
                let low = s.index[w.as_str()].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let at = s.stack.iter().rposition(|x| *x == v).unwrap_or(0);
            let mut scc: Vec<String> = s.stack.drain(at..).map(str::to_string).collect();
            if scc.len() > 1 {
                scc.sort();
                s.out.push(scc);
            }
        }
    }
    let mut s = State {
        g: graph,
        index: HashMap::new(),
        low: HashMap::new(),
        stack: vec![],
        out: vec![],
    };
    for f in &graph.files {
        if !s.index.contains_key(f.as_str()) {
            visit(&mut s, f);
        }
    }
    s.out.sort();
    s.out
}

/// A shortest cycle through the first file of `scc`, as its chain of edges.
pub fn chain(graph: &Graph, scc: &[String]) -> Vec<String> {
    let start = &scc[0];
    let mut prev: BTreeMap<&String, &String> = BTreeMap::new();
    let mut frontier = vec![start];
    'bfs: while !frontier.is_empty() {
        let mut next = vec![];
        for v in frontier {
            for w in graph.edges.get(v).into_iter().flat_map(|e| e.keys()) {
                if scc.contains(w) && !prev.contains_key(w) {
                    prev.insert(w, v);
                    if w == start {
                        break 'bfs;
                    }
                    next.push(w);
                }
            }
        }
        frontier = next;
    }
    let (mut lines, mut at) = (vec![], start);
    while let Some(&from) = prev.get(at) {
        lines.push(format!("    {from} -> {at}   ({})", graph.edges[from][at]));
        at = from;
        if at == start {
            break;
        }
    }
    lines.reverse();
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_to_the_deepest_module_through_aliases_and_children() {
        let modules: HashMap<Vec<String>, String> = [vec![], vec!["a"], vec!["a", "b"], vec!["c"]]
            .into_iter()
            .map(|m| (m.iter().map(|s| s.to_string()).collect(), m.join("/")))
            .collect();
        let v = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
        let aliases: HashMap<&str, Vec<String>> = [("bee", v("a::b"))].into_iter().collect();
        let r = |p: &str, here: &str| {
            resolve(
                &v(p),
                &v(here)
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>(),
                &modules,
                &aliases,
            )
        };
        assert_eq!(r("crate::a::b::Ledger::new", ""), Some((v("a::b"), false)));
        assert_eq!(r("crate::a::b", "c"), Some((v("a::b"), true)));
        assert_eq!(r("super::c::X", "a::b"), Some((v("a"), false)));
        assert_eq!(r("super::super::c::X", "a::b"), Some((v("c"), false)));
        assert_eq!(r("self::b::X", "a"), Some((v("a::b"), false)));
        assert_eq!(r("b::X", "a"), Some((v("a::b"), false)));
        assert_eq!(r("bee::X", "c"), Some((v("a::b"), false)));
        assert_eq!(r("std::fmt", "a"), None);
        assert_eq!(r("super::super::super::x", "a"), None);
    }

    #[test]
    fn tarjan_finds_the_cycles_and_a_chain_through_each() {
        let mut graph = Graph {
            files: BTreeSet::new(),
            edges: BTreeMap::new(),
        };
        for (from, to) in [
            ("a", "b"),
            ("b", "c"),
            ("c", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "d"),
            ("f", "a"),
        ] {
            graph.files.extend([from.to_string(), to.to_string()]);
            graph
                .edges
                .entry(from.into())
                .or_default()
                .insert(to.into(), format!("1: {to}"));
        }
        assert_eq!(cycles(&graph), [vec!["a", "b", "c"], vec!["d", "e"]]);
        assert_eq!(
            chain(&graph, &["d".into(), "e".into()]),
            ["    d -> e   (1: e)", "    e -> d   (1: d)"]
        );
    }
}
