//! Ingest: walk the runs root, validate each run folder, hash its files, and
//! upsert it into the index inside one transaction. Idempotent: a folder
//! whose files did not change is left alone; a changed folder replaces its
//! run; a vanished folder removes it. A folder that fails validation is
//! reported and skipped; the rest are ingested.
//!
//! Worker threads read, hash and validate the folders (`folder`, `items`:
//! eval items become Arrow columns); the calling thread, DuckDB's one
//! writer, takes them in folder order and appends each run's rows
//! (`write`), so the report lists runs in the same order however many
//! threads ran. Modules: `ordered` (the ordered parallel map), `sweeps`
//! (sweep ledgers).

mod folder;
mod items;
mod ordered;
mod sweeps;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use duckdb::Connection;
use serde::Serialize;

use super::{db_error, schema, Store};
use crate::error::Result;
use crate::runfolder::layout::find_run_folders;
use folder::FolderHead;
use sweeps::{sweep_rows, write_sweeps, RunStamp};
use write::RunWriter;

pub use folder::{load_run_folder, FolderError, RunRecord};
pub use items::ItemBatch;
pub use sweeps::find_sweep_ledgers;

/// Set to a file path to stop an ingest at a known point, for tests of
/// crash safety; never set in normal use. With it set, [`ingest`] writes
/// its rows inside its transaction as usual, then, before COMMIT, creates
/// that file (holding its process id) and sleeps forever, so a test can
/// wait for the file and kill the process while the transaction is open.
pub const FAULT_INGEST_PAUSE_ENV: &str = "TUNIX_RT_FAULT_INGEST_PAUSE";

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    pub new: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
    pub removed: Vec<String>,
    /// Run folders that failed validation: (folder, reason).
    pub skipped: Vec<(String, String)>,
    /// Rows written to eval_items in this ingest.
    pub item_rows: u64,
}

/// What to ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every run folder under this root; indexed runs whose folder under it
    /// is gone are removed.
    Root(&'a Path),
    /// Every run folder under this root, into an emptied index (rebuild).
    Rebuild(&'a Path),
    /// Just this run folder (what a job just wrote).
    Folder(&'a Path),
}

/// Told how an ingest advances (a progress bar); called on the thread
/// that called [`ingest_observed`].
pub trait IngestObserver {
    /// The ingest found `folders` run folders to look at.
    fn started(&mut self, folders: usize);
    /// `done` of them have been handled (written, found unchanged, or
    /// skipped).
    fn advanced(&mut self, done: usize);
}

/// An observer that ignores everything.
pub struct Unobserved;

impl IngestObserver for Unobserved {
    fn started(&mut self, _folders: usize) {}
    fn advanced(&mut self, _done: usize) {}
}

/// Ingest run folders (shown relative to `ws_root`) in one transaction.
pub fn ingest(store: &Store, ws_root: &Path, scope: Scope<'_>) -> Result<IngestReport> {
    ingest_observed(store, ws_root, scope, &mut Unobserved)
}

/// [`ingest`], telling `observer` how it advances.
pub fn ingest_observed(
    store: &Store,
    ws_root: &Path,
    scope: Scope<'_>,
    observer: &mut dyn IngestObserver,
) -> Result<IngestReport> {
    let (folders, runs_root, replace_all) = match scope {
        Scope::Root(root) => (find_run_folders(root), Some(root), false),
        Scope::Rebuild(root) => (find_run_folders(root), Some(root), true),
        Scope::Folder(dir) => (vec![dir.to_path_buf()], None, false),
    };
    let ledgers = runs_root.map(find_sweep_ledgers).unwrap_or_default();
    tracing::info!(
        "ingesting {} run folder(s) into {}{}",
        folders.len(),
        store.path().display(),
        if replace_all {
            " (rebuild: emptied first)"
        } else {
            ""
        }
    );
    let conn = store.connection();
    let path = store.path();
    let existing = if replace_all {
        BTreeMap::new()
    } else {
        existing_runs(conn).map_err(|e| db_error(path, "read", e))?
    };
    let shown = |p: &Path| {
        p.strip_prefix(ws_root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let jobs: Vec<(PathBuf, String)> = folders
        .into_iter()
        .map(|dir| {
            let rel = shown(&dir);
            (dir, rel)
        })
        .collect();
    let root_prefix = runs_root.map(shown);
    let mut tally = Tally {
        existing: &existing,
        report: IngestReport::default(),
        seen_ids: BTreeSet::new(),
        stamps: Vec::new(),
    };

    conn.execute_batch("BEGIN TRANSACTION")
        .map_err(|e| db_error(path, "begin a transaction on", e))?;
    let result = (|| -> duckdb::Result<()> {
        if replace_all {
            for table in schema::ALL_TABLES {
                if *table != "baselines" {
                    conn.execute_batch(&format!("DELETE FROM {table}"))?;
                }
            }
        }
        observer.started(jobs.len());
        let mut rows = RunWriter::new(conn)?;
        ordered::for_each_ordered(
            &jobs,
            worker_threads(),
            WINDOW_PER_THREAD * worker_threads(),
            |(dir, rel)| load(dir, rel, &existing),
            |i, loaded| {
                tally.take(&mut rows, &jobs[i].1, loaded)?;
                observer.advanced(i + 1);
                Ok::<(), duckdb::Error>(())
            },
        )?;
        rows.finish()?;
        let sweeps = sweep_rows(&ledgers, &tally.stamps, &mut tally.report.skipped);
        write_sweeps(conn, &sweeps)?;
        tally.remove_vanished(conn, root_prefix.as_deref())
    })();
    if let Err(e) = result {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(db_error(path, "write", e));
    }
    if let Err(e) = pause_before_commit_if_asked() {
        let _ = conn.execute_batch("ROLLBACK");
        return Err(e);
    }
    conn.execute_batch("COMMIT")
        .map_err(|e| db_error(path, "commit to", e))?;
    log_outcome(&tally.report);
    Ok(tally.report)
}

/// Folders each worker may read ahead of the writer.
const WINDOW_PER_THREAD: usize = 4;

/// Threads that read and validate folders: one per core (the writer
/// mostly waits on them, or they on it).
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

/// A folder as a worker hands it to the writer.
enum Loaded {
    /// Its files differ from what the index holds (or it is new).
    Changed(Box<RunRecord>),
    /// Its files are byte for byte what the index holds for its run id.
    Unchanged(Box<FolderHead>),
}

/// Read folder `dir` (shown as `rel`); its rows are parsed only when the
/// index does not hold exactly these files for its run id.
fn load(
    dir: &Path,
    rel: &str,
    existing: &BTreeMap<String, (String, String)>,
) -> std::result::Result<Loaded, FolderError> {
    let head = folder::read_head(dir, rel)?;
    let unchanged = existing
        .get(&head.manifest.run_id)
        .is_some_and(|(hash, _)| *hash == head.content_hash);
    if unchanged {
        head.into_unchanged()
            .map(|h| Loaded::Unchanged(Box::new(h)))
    } else {
        folder::into_record(head).map(|r| Loaded::Changed(Box::new(r)))
    }
}

/// What the writing thread keeps track of over one ingest: the runs seen
/// and the report.
struct Tally<'a> {
    /// Indexed runs before this ingest: run id → (content hash, folder).
    existing: &'a BTreeMap<String, (String, String)>,
    report: IngestReport,
    /// Run ids of the folders taken so far.
    seen_ids: BTreeSet<String>,
    stamps: Vec<RunStamp>,
}

impl Tally<'_> {
    /// Write (or skip, or count as unchanged) folder `rel` with `rows`.
    fn take(
        &mut self,
        rows: &mut RunWriter<'_>,
        rel: &str,
        loaded: std::result::Result<Loaded, FolderError>,
    ) -> duckdb::Result<()> {
        let loaded = match loaded {
            Ok(l) => l,
            Err(reason) => {
                self.report.skipped.push((rel.to_string(), reason.into()));
                return Ok(());
            }
        };
        let manifest = match &loaded {
            Loaded::Changed(run) => &run.manifest,
            Loaded::Unchanged(head) => &head.manifest,
        };
        let id = manifest.run_id.clone();
        if !self.seen_ids.insert(id.clone()) {
            self.report.skipped.push((
                rel.to_string(),
                format!("run_id `{id}` is used by another folder"),
            ));
            return Ok(());
        }
        self.stamps.push(RunStamp {
            tuning_job_id: manifest.tuning_job_id.clone(),
            created_at: manifest.created_at.clone(),
        });
        let run = match loaded {
            Loaded::Unchanged(_) => {
                self.report.unchanged += 1;
                return Ok(());
            }
            Loaded::Changed(run) => run,
        };
        if self.existing.contains_key(&id) {
            rows.delete(&id)?;
            self.report.updated.push(id);
        } else {
            self.report.new.push(id);
        }
        rows.insert(&run)?;
        self.report.item_rows += run.items.len() as u64;
        Ok(())
    }

    /// Remove indexed runs whose folder was under `root` (shown relative to
    /// the workspace) and is gone; a folder skipped for being invalid keeps
    /// its run.
    fn remove_vanished(&mut self, conn: &Connection, root: Option<&str>) -> duckdb::Result<()> {
        let Some(root) = root else { return Ok(()) };
        for (id, (_, dir)) in self.existing {
            let under_root = root.is_empty() || dir.starts_with(&format!("{root}/"));
            if under_root
                && !self.seen_ids.contains(id)
                && !self.report.skipped.iter().any(|(d, _)| d == dir)
            {
                write::delete_run(conn, id)?;
                self.report.removed.push(id.clone());
            }
        }
        Ok(())
    }
}

/// The [`FAULT_INGEST_PAUSE_ENV`] hook: returns at once unless it is set
/// (and obeyed, see [`crate::fault`]);
/// otherwise announces the pause with its marker file and never returns.
fn pause_before_commit_if_asked() -> Result<()> {
    let Some(marker) = crate::fault::var(FAULT_INGEST_PAUSE_ENV) else {
        return Ok(());
    };
    let marker = PathBuf::from(marker);
    // Atomically, so a watcher that sees the file also sees the pid.
    crate::fsutil::write_atomic(&marker, std::process::id().to_string().as_bytes())?;
    tracing::warn!(
        "fault: ingest paused before commit ({FAULT_INGEST_PAUSE_ENV}={})",
        marker.display()
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// What a user sees at `-v`: the counts, and why each folder was skipped.
fn log_outcome(report: &IngestReport) {
    for id in &report.new {
        tracing::debug!("new run {id}");
    }
    for id in &report.updated {
        tracing::debug!("updated run {id}: its files changed");
    }
    for id in &report.removed {
        tracing::debug!("removed run {id}: its folder is gone");
    }
    for (dir, reason) in &report.skipped {
        tracing::info!("skipped {dir}: {reason}");
    }
    tracing::info!(
        "ingest committed: {} new, {} updated, {} unchanged, {} removed, {} skipped, {} item rows written",
        report.new.len(),
        report.updated.len(),
        report.unchanged,
        report.removed.len(),
        report.skipped.len(),
        report.item_rows
    );
}

fn existing_runs(conn: &Connection) -> duckdb::Result<BTreeMap<String, (String, String)>> {
    let mut stmt = conn.prepare("SELECT run_id, content_hash, run_dir FROM runs")?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            (r.get::<_, String>(1)?, r.get::<_, String>(2)?),
        ))
    })?;
    rows.collect()
}
