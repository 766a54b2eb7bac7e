//! The chain of Sweep bases being loaded: a Sweep whose base is a file loads
//! that file, which may itself be a Sweep with a base. Which files are on the
//! chain, and the cycle a base closes when it leads back to one of them.

use std::path::{Path, PathBuf};

use crate::diagnostic::Diagnostic;

/// Most manifest files on one chain of Sweep bases. Only the last link of a
/// valid chain is a Train manifest, so a long chain is already an error; the
/// limit keeps a generated chain of many files from exhausting the stack.
pub const MAX_BASE_CHAIN: usize = 32;

/// A manifest file on the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChainLink {
    /// The file's identity: its canonical path when it exists, so
    /// `./b/../a.yaml` and symlinks name the same file.
    pub id: PathBuf,
    /// How the file is named in diagnostics.
    pub shown: String,
}

impl ChainLink {
    pub fn new(path: &Path, shown: &str) -> Self {
        let id = std::fs::canonicalize(path)
            .or_else(|_| std::path::absolute(path))
            .unwrap_or_else(|_| path.to_path_buf());
        ChainLink {
            id,
            shown: shown.to_string(),
        }
    }
}

/// A cycle of Sweep bases: its first and last links are the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cycle(Vec<ChainLink>);

impl Cycle {
    /// The cycle `next` closes when appended to `chain` (outermost file
    /// first), if `next` is already on it.
    pub fn closed_by(chain: &[ChainLink], next: ChainLink) -> Option<Cycle> {
        let start = chain.iter().position(|l| l.id == next.id)?;
        let mut links = chain[start..].to_vec();
        links.push(next);
        Some(Cycle(links))
    }

    /// Whether the cycle starts (and ends) at `link`.
    pub fn starts_at(&self, link: Option<&ChainLink>) -> bool {
        link.is_some_and(|l| self.0.first().is_some_and(|first| first.id == l.id))
    }
}

impl std::fmt::Display for Cycle {
    /// `a.yaml -> b.yaml -> a.yaml`
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|l| l.shown.as_str()).collect();
        f.write_str(&names.join(" -> "))
    }
}

/// Why a manifest reached through Sweep bases did not load.
#[derive(Debug, Clone)]
pub(crate) struct LoadFailure {
    pub diagnostics: Vec<Diagnostic>,
    /// A cycle through this file that starts further up the chain: the file
    /// where it starts reports it as its own problem.
    pub open_cycle: Option<Cycle>,
}

impl From<Vec<Diagnostic>> for LoadFailure {
    fn from(diagnostics: Vec<Diagnostic>) -> Self {
        LoadFailure {
            diagnostics,
            open_cycle: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(name: &str) -> ChainLink {
        ChainLink {
            id: PathBuf::from("/ws").join(name),
            shown: name.to_string(),
        }
    }

    #[test]
    fn a_file_on_the_chain_closes_a_cycle_from_its_first_appearance() {
        let chain = [link("x.yaml"), link("a.yaml"), link("b.yaml")];
        let cycle = Cycle::closed_by(&chain, link("a.yaml")).expect("cycle");
        assert_eq!(cycle.to_string(), "a.yaml -> b.yaml -> a.yaml");
        assert!(cycle.starts_at(Some(&link("a.yaml"))));
        assert!(!cycle.starts_at(Some(&link("b.yaml"))));
        assert!(!cycle.starts_at(None));
        assert_eq!(Cycle::closed_by(&chain, link("c.yaml")), None);
    }

    #[test]
    fn a_self_reference_is_a_cycle_of_one_file() {
        let cycle = Cycle::closed_by(&[link("s.yaml")], link("s.yaml")).expect("cycle");
        assert_eq!(cycle.to_string(), "s.yaml -> s.yaml");
    }

    #[test]
    fn identity_ignores_how_the_path_is_spelt() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        std::fs::write(dir.path().join("a.yaml"), "").expect("write");
        let plain = ChainLink::new(&dir.path().join("a.yaml"), "a.yaml");
        let dotted = ChainLink::new(&dir.path().join("sub/../a.yaml"), "a.yaml");
        assert_eq!(plain.id, dotted.id);
    }
}
