//! The site's input: the leaderboard of the matching runs from the index
//! (as `report leaderboard` picks them), what each run's folder holds (its
//! recorded config, metrics, items, and the prompts of the eval set its
//! manifest names), each ranked run's comparison with its eval set's
//! leader, and every sweep folder under the runs root.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::error::Result;
use crate::evalset::EvalItem;
use crate::report::site::{
    leader_pairs, ItemDetails, PromptSource, RunDetails, SiteInput, SiteSweep, SweepReport,
};
use crate::report_input::{compare, leaderboard_checked, read_sweep_folder};
use crate::runfolder::layout::find_run_folders;
use crate::runfolder::{read_eval_items, read_manifest, FileRef, EVAL_ITEMS, METRICS};
use crate::scoring::CompareConfig;
use crate::store::filter::{RunFilter, RunLimit};
use crate::store::runs;
use crate::store::Store;
use crate::workspace::Workspace;
use tunix_core::sweep::ledger::LEDGER;

/// Significance level of the sweep reports' tie test (`report sweep`'s
/// default).
const SWEEP_ALPHA: f64 = 0.05;

/// Where the site's runs come from.
#[derive(Debug, Clone)]
pub struct SiteSource<'a> {
    /// Which runs (the leaderboard's filters).
    pub filter: &'a RunFilter,
    /// Rank runs scored under different scoring-rules versions together.
    pub allow_mixed_rules: bool,
    /// The folder of run and sweep folders (`submission_runs/`).
    pub runs_root: &'a Path,
}

/// Everything the site shows, read from the index `store` and the folders.
pub fn read_site(ws: &Workspace, store: &Store, source: &SiteSource<'_>) -> Result<SiteInput> {
    let leaderboard = leaderboard_checked(
        store,
        source.filter,
        RunLimit::All,
        source.allow_mixed_rules,
    )?;
    let ids: Vec<&str> = leaderboard.runs.iter().map(|r| r.run_id.as_str()).collect();
    let indexed: BTreeMap<String, String> = runs::by_ids(store, &ids)?
        .into_iter()
        .map(|row| (row.run_id, row.run_dir))
        .collect();
    let mut folders = Folders::new(ws, source.runs_root);
    let mut evalsets = EvalSets::default();
    let mut runs = BTreeMap::new();
    for id in &ids {
        let dir = folders.find(id, indexed.get(*id).map(String::as_str));
        runs.insert(id.to_string(), details(ws, dir.as_deref(), &mut evalsets));
    }
    let config = CompareConfig::default();
    let compares = leader_pairs(&leaderboard.runs)
        .iter()
        .map(|(a, b)| compare(store, a, b, &config, false))
        .collect::<Result<Vec<_>>>()?;
    let mut notes = Vec::new();
    let missing = runs.values().filter(|d| d.folder.is_none()).count();
    if missing > 0 {
        notes.push(format!(
            "{missing} of {} runs' folders were not found (under {} or where the index recorded them): their pages show the index's figures only",
            runs.len(),
            ws.display_path(source.runs_root).display()
        ));
    }
    let sweeps = read_sweeps(
        ws,
        source.runs_root,
        source.filter.sweep.as_deref(),
        &mut notes,
    );
    Ok(SiteInput {
        leaderboard,
        runs,
        compares,
        sweeps,
        notes,
    })
}

/// Finds run folders: where the index recorded them, else by name under
/// the runs root.
struct Folders<'a> {
    ws: &'a Workspace,
    runs_root: &'a Path,
    /// Run folders under the runs root by folder name, listed when first
    /// needed.
    by_name: Option<HashMap<String, PathBuf>>,
}

impl<'a> Folders<'a> {
    fn new(ws: &'a Workspace, runs_root: &'a Path) -> Self {
        Folders {
            ws,
            runs_root,
            by_name: None,
        }
    }

    /// The folder of run `run_id`, which the index recorded at `run_dir`
    /// (relative to the workspace).
    fn find(&mut self, run_id: &str, run_dir: Option<&str>) -> Option<PathBuf> {
        let is_run = |p: &Path| p.join(crate::runfolder::RUN_MANIFEST).is_file();
        if let Some(dir) = run_dir.map(|d| self.ws.root().join(d)) {
            if is_run(&dir) {
                return Some(dir);
            }
        }
        let runs_root = self.runs_root;
        let by_name = self.by_name.get_or_insert_with(|| {
            find_run_folders(runs_root)
                .into_iter()
                .filter_map(|p| {
                    let name = p.file_name()?.to_string_lossy().into_owned();
                    Some((name, p))
                })
                .collect()
        });
        by_name.get(run_id).cloned()
    }
}

/// What run folder `dir` holds (nothing but a problem when it was not
/// found). What cannot be read is a problem on the run's page, not an
/// error: one broken folder does not stop the site.
fn details(ws: &Workspace, dir: Option<&Path>, evalsets: &mut EvalSets) -> RunDetails {
    let Some(dir) = dir else {
        return RunDetails {
            problems: vec![
                "the run folder was not found: this page shows the index's figures only".into(),
            ],
            ..RunDetails::default()
        };
    };
    let mut out = RunDetails {
        folder: Some(ws.display_path(dir).display().to_string()),
        ..RunDetails::default()
    };
    let mut prompts = None;
    match read_manifest(dir) {
        Ok(manifest) => {
            out.config = Some(manifest.config);
            if let Some(evalset) = &manifest.evalset {
                prompts = Some(evalsets.get(ws, evalset));
            }
        }
        Err(e) => out.problems.push(e.to_string()),
    }
    match crate::runfolder::read_metrics_file(&dir.join(METRICS)) {
        Ok(metrics) => out.metrics = crate::report::series_of(&metrics),
        Err(e) => out.problems.push(e.to_string()),
    }
    if dir.join(EVAL_ITEMS).is_file() {
        match read_eval_items(dir) {
            Ok(records) => {
                let items = prompts.as_ref().and_then(|p| p.items.as_deref());
                out.items = Some(
                    records
                        .into_iter()
                        .map(|record| {
                            let item = items.and_then(|i| i.get(&record.id));
                            ItemDetails {
                                prompt: item.map(|i| i.prompt.clone()),
                                tags: item.map(|i| i.tags.clone()).unwrap_or_default(),
                                record,
                            }
                        })
                        .collect(),
                );
            }
            Err(e) => out.problems.push(e.to_string()),
        }
    }
    out.prompts = prompts.map(|p| p.source).unwrap_or_default();
    out
}

/// A run's eval set as far as it could be read.
struct Prompts {
    source: PromptSource,
    /// Its items by id; `None` when the file is gone or unreadable.
    items: Option<Rc<HashMap<String, EvalItem>>>,
}

/// The eval sets read so far, by path (runs share them).
#[derive(Default)]
struct EvalSets {
    loaded: HashMap<PathBuf, Loaded>,
}

/// An eval set file as read.
enum Loaded {
    /// Its blake3 and its items by id.
    Items {
        blake3: String,
        items: Rc<HashMap<String, EvalItem>>,
    },
    /// Why it is not a readable eval set.
    Unreadable(String),
}

impl EvalSets {
    /// The prompts of the eval set `evalset` a run names (its path
    /// relative to the workspace, and the blake3 it had then).
    fn get(&mut self, ws: &Workspace, evalset: &FileRef) -> Prompts {
        let path = ws.root().join(&evalset.path);
        let shown = evalset.path.clone();
        if !path.is_file() {
            return Prompts {
                source: PromptSource::Gone { path: shown },
                items: None,
            };
        }
        let loaded = self
            .loaded
            .entry(path.clone())
            .or_insert_with(|| match crate::evalset::load(&path, &shown) {
                Ok(set) => Loaded::Items {
                    blake3: set.blake3,
                    items: Rc::new(set.items.into_iter().map(|i| (i.id.clone(), i)).collect()),
                },
                Err(diagnostics) => Loaded::Unreadable(
                    diagnostics
                        .first()
                        .map(|d| d.message.clone())
                        .unwrap_or_else(|| "not a valid eval set".to_string()),
                ),
            });
        match loaded {
            Loaded::Items { blake3, items } => Prompts {
                source: if *blake3 == evalset.blake3 {
                    PromptSource::Found { path: shown }
                } else {
                    PromptSource::Changed { path: shown }
                },
                items: Some(Rc::clone(items)),
            },
            Loaded::Unreadable(reason) => Prompts {
                source: PromptSource::Unreadable {
                    path: shown,
                    reason: reason.clone(),
                },
                items: None,
            },
        }
    }
}

/// Every sweep folder directly under `runs_root` (only `only`'s, when
/// given), read for its report; a sweep that cannot be read is listed
/// with the reason, and noted.
fn read_sweeps(
    ws: &Workspace,
    runs_root: &Path,
    only: Option<&str>,
    notes: &mut Vec<String>,
) -> Vec<SiteSweep> {
    let Ok(entries) = std::fs::read_dir(runs_root) else {
        return Vec::new();
    };
    let mut dirs: Vec<(String, PathBuf)> = entries
        .filter_map(std::result::Result::ok)
        .filter(|e| e.path().join(LEDGER).is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .filter(|(name, _)| !name.starts_with('.'))
        .collect();
    dirs.sort();
    let mut out: Vec<SiteSweep> = Vec::new();
    for (folder, dir) in dirs {
        let sweep = match read_sweep_folder(ws, &dir, SWEEP_ALPHA) {
            Ok(input) => SiteSweep {
                name: input.ledger.sweep.clone(),
                report: SweepReport::Read(Box::new(input)),
            },
            Err(e) => SiteSweep {
                name: folder,
                report: SweepReport::Unreadable(e.to_string()),
            },
        };
        if only.is_some_and(|s| s != sweep.name) {
            continue;
        }
        if let SweepReport::Unreadable(why) = &sweep.report {
            notes.push(format!("sweep {}: no report: {why}", sweep.name));
        }
        if out.iter().any(|s| s.name == sweep.name) {
            notes.push(format!(
                "sweep {}: another folder holds a sweep of that name; only the first ({}) has a page",
                sweep.name,
                ws.display_path(&dir).display()
            ));
            continue;
        }
        out.push(sweep);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_come_from_the_eval_set_and_say_when_it_changed_or_is_gone() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let ws = Workspace::at(tmp.path()).expect("workspace");
        let line = r#"{"id": "core-001", "category": "core", "prompt": "What is 2 + 2?", "expected_answer": "4", "tags": ["add"]}"#;
        std::fs::write(tmp.path().join("e.jsonl"), format!("{line}\n")).expect("write");
        let blake3 = crate::fsutil::blake3_hex(format!("{line}\n").as_bytes());
        let mut sets = EvalSets::default();
        let found = sets.get(
            &ws,
            &FileRef {
                path: "e.jsonl".into(),
                blake3: blake3.clone(),
            },
        );
        assert_eq!(
            found.source,
            PromptSource::Found {
                path: "e.jsonl".into()
            }
        );
        let items = found.items.expect("items");
        assert_eq!(items["core-001"].prompt, "What is 2 + 2?");
        assert_eq!(items["core-001"].tags, ["add"]);
        let changed = sets.get(
            &ws,
            &FileRef {
                path: "e.jsonl".into(),
                blake3: "0".repeat(64),
            },
        );
        assert!(matches!(changed.source, PromptSource::Changed { .. }));
        assert!(changed.items.is_some());
        let gone = sets.get(
            &ws,
            &FileRef {
                path: "gone.jsonl".into(),
                blake3,
            },
        );
        assert!(matches!(gone.source, PromptSource::Gone { .. }));
        assert!(gone.items.is_none());
        std::fs::write(tmp.path().join("bad.jsonl"), "not json\n").expect("write");
        let bad = sets.get(
            &ws,
            &FileRef {
                path: "bad.jsonl".into(),
                blake3: "0".repeat(64),
            },
        );
        assert!(matches!(bad.source, PromptSource::Unreadable { .. }));
    }
}
