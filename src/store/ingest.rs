//! Ingest: walk the runs root, validate each run folder, hash its files, and
//! upsert it into the index inside one transaction (bulk rows through the
//! Appender). Idempotent: a folder whose files did not change is left alone;
//! a changed folder replaces its run; a vanished folder removes it. A folder
//! that fails validation is reported and skipped; the rest are ingested.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use duckdb::{params, Connection};
use serde::Serialize;

use super::{db_error, schema, Store};
use crate::error::Result;
use crate::runfolder::{
    relative_path, Artifact, EvalItemRecord, EvalSummary, MetricRecord, RunManifest, EVAL_ITEMS,
    EVAL_SUMMARY, METRICS, RUN_MANIFEST,
};
use crate::schema_check::CompiledSchema;
use crate::sweep::ledger::{Ledger, LEDGER};

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

/// A validated run folder, ready to insert.
#[derive(Debug, Clone)]
pub struct RunRecord {
    pub run_dir: String,
    pub manifest: RunManifest,
    pub summary: Option<EvalSummary>,
    pub items: Vec<EvalItemRecord>,
    pub metrics: Vec<MetricRecord>,
    /// Every file of the folder (checkpoints excluded), hashed.
    pub files: Vec<Artifact>,
    /// blake3 over the folder's files: changes when any of them changes.
    pub content_hash: String,
}

/// Run folders under `runs_root`: folders holding run_manifest.json, up to
/// three levels down (sweeps nest trials), skipping hidden and staging folders.
pub fn find_run_folders(runs_root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(runs_root)
        .min_depth(1)
        .max_depth(3)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !e.file_name().to_string_lossy().starts_with('.') && e.file_name() != "checkpoints"
        })
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_dir() && e.path().join(RUN_MANIFEST).is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// Sweep ledgers (`sweep.json`) under `runs_root`, the root itself
/// included (a sweep folder can be ingested on its own).
pub fn find_sweep_ledgers(runs_root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(runs_root)
        .max_depth(2)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.') || e.depth() == 0)
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file() && e.file_name() == LEDGER)
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

/// A `sweeps` row: id, name, created_at (the earliest trial's), trial
/// count, the best trial's run id.
struct SweepRow {
    id: String,
    created_at: Option<String>,
    n_trials: i64,
    best_run_id: Option<String>,
}

fn sweep_rows(ledgers: &[PathBuf], runs: &[RunRecord], report: &mut IngestReport) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    for path in ledgers {
        let ledger = match Ledger::read(path) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                report
                    .skipped
                    .push((path.display().to_string(), e.to_string()));
                continue;
            }
        };
        let created_at = runs
            .iter()
            .filter(|r| r.manifest.tuning_job_id.as_deref() == Some(ledger.sweep.as_str()))
            .map(|r| r.manifest.created_at.clone())
            .min();
        rows.push(SweepRow {
            best_run_id: ledger
                .best
                .as_ref()
                .map(|b| format!("{}-{}", ledger.sweep, b.trial_id)),
            n_trials: ledger.trials.len() as i64,
            created_at,
            id: ledger.sweep,
        });
    }
    rows
}

fn schema_of<T: schemars::JsonSchema>(
    cell: &'static OnceLock<CompiledSchema>,
) -> &'static CompiledSchema {
    cell.get_or_init(|| {
        CompiledSchema::new(crate::schema_check::generate::<T>())
            .unwrap_or_else(|e| panic!("generated schema must compile: {e}"))
    })
}

fn parse_checked<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    file: &str,
    schema: &CompiledSchema,
) -> std::result::Result<T, String> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("{file}: invalid JSON: {e}"))?;
    if let Some(issue) = schema.check(&value).into_iter().next() {
        return Err(format!("{file}: {} (at {})", issue.message, issue.pointer));
    }
    serde_json::from_value(value).map_err(|e| format!("{file}: {e}"))
}

fn parse_lines<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    file: &str,
) -> std::result::Result<Vec<T>, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("{file}: not UTF-8: {e}"))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("{file}:{}: {e}", i + 1)))
        .collect()
}

/// Read and validate one run folder.
pub fn load_run_folder(dir: &Path, shown: &str) -> std::result::Result<RunRecord, String> {
    static MANIFEST: OnceLock<CompiledSchema> = OnceLock::new();
    static SUMMARY: OnceLock<CompiledSchema> = OnceLock::new();
    let mut files: Vec<Artifact> = Vec::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.file_name() != "checkpoints")
    {
        let entry = entry.map_err(|e| format!("cannot list: {e}"))?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = relative_path(dir, entry.path());
        let bytes = std::fs::read(entry.path()).map_err(|e| format!("{rel}: cannot read: {e}"))?;
        files.push(Artifact::new(rel.clone(), &bytes));
        contents.insert(rel, bytes);
    }
    let mut hasher = blake3::Hasher::new();
    for f in &files {
        hasher.update(f.path.as_bytes());
        hasher.update(b"\0");
        hasher.update(f.blake3.as_bytes());
    }
    let get = |name: &str| contents.get(name).map(Vec::as_slice);
    let manifest: RunManifest = parse_checked(
        get(RUN_MANIFEST).unwrap_or_default(),
        RUN_MANIFEST,
        schema_of::<RunManifest>(&MANIFEST),
    )?;
    let summary: Option<EvalSummary> = get(EVAL_SUMMARY)
        .map(|b| parse_checked(b, EVAL_SUMMARY, schema_of::<EvalSummary>(&SUMMARY)))
        .transpose()?;
    let items: Vec<EvalItemRecord> = get(EVAL_ITEMS)
        .map(|b| parse_lines(b, EVAL_ITEMS))
        .transpose()?
        .unwrap_or_default();
    let metrics: Vec<MetricRecord> = get(METRICS)
        .map(|b| parse_lines(b, METRICS))
        .transpose()?
        .unwrap_or_default();
    if summary.is_some() != contents.contains_key(EVAL_ITEMS) {
        return Err(format!(
            "{EVAL_SUMMARY} and {EVAL_ITEMS} must both be present or both absent"
        ));
    }
    let folder_name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if manifest.run_id != folder_name {
        return Err(format!(
            "run_id `{}` in {RUN_MANIFEST} does not match the folder name `{folder_name}`",
            manifest.run_id
        ));
    }
    Ok(RunRecord {
        run_dir: shown.to_string(),
        manifest,
        summary,
        items,
        metrics,
        files,
        content_hash: hasher.finalize().to_hex().to_string(),
    })
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

/// Ingest run folders (shown relative to `ws_root`) in one transaction.
pub fn ingest(store: &Store, ws_root: &Path, scope: Scope<'_>) -> Result<IngestReport> {
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
    let mut report = IngestReport::default();
    let shown = |p: &Path| {
        p.strip_prefix(ws_root)
            .unwrap_or(p)
            .to_string_lossy()
            .replace('\\', "/")
    };
    let mut loaded: Vec<RunRecord> = Vec::new();
    let mut seen_ids: BTreeSet<String> = BTreeSet::new();
    for dir in folders {
        let rel = shown(&dir);
        match load_run_folder(&dir, &rel) {
            Ok(run) if !seen_ids.insert(run.manifest.run_id.clone()) => report.skipped.push((
                rel,
                format!("run_id `{}` is used by another folder", run.manifest.run_id),
            )),
            Ok(run) => loaded.push(run),
            Err(reason) => report.skipped.push((rel, reason)),
        }
    }
    let existing = if replace_all {
        BTreeMap::new()
    } else {
        existing_runs(conn).map_err(|e| db_error(path, "read", e))?
    };
    let root_prefix = runs_root.map(shown);
    let sweeps = sweep_rows(&ledgers, &loaded, &mut report);

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
        for run in &loaded {
            let id = &run.manifest.run_id;
            match existing.get(id) {
                Some((hash, _)) if *hash == run.content_hash => {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => {
                    delete_run(conn, id)?;
                    report.updated.push(id.clone());
                }
                None => report.new.push(id.clone()),
            }
            insert_run(conn, run)?;
            report.item_rows += run.items.len() as u64;
        }
        for row in &sweeps {
            conn.execute("DELETE FROM sweeps WHERE sweep_id = ?", [&row.id])?;
            conn.execute(
                "INSERT INTO sweeps VALUES (?, ?, CAST(? AS TIMESTAMP), ?, ?)",
                params![
                    row.id,
                    row.id,
                    row.created_at,
                    row.n_trials,
                    row.best_run_id
                ],
            )?;
        }
        for (id, (_, dir)) in &existing {
            let under_root = match &root_prefix {
                Some(root) => root.is_empty() || dir.starts_with(&format!("{root}/")),
                None => false,
            };
            if under_root && !seen_ids.contains(id) && !report.skipped.iter().any(|(d, _)| d == dir)
            {
                delete_run(conn, id)?;
                report.removed.push(id.clone());
            }
        }
        Ok(())
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
    log_outcome(&report);
    Ok(report)
}

/// The [`FAULT_INGEST_PAUSE_ENV`] hook: returns at once unless it is set;
/// otherwise announces the pause with its marker file and never returns.
fn pause_before_commit_if_asked() -> Result<()> {
    let Some(marker) = std::env::var_os(FAULT_INGEST_PAUSE_ENV).filter(|v| !v.is_empty()) else {
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

fn delete_run(conn: &Connection, run_id: &str) -> duckdb::Result<()> {
    for table in schema::RUN_TABLES {
        conn.execute(
            &format!("DELETE FROM {table} WHERE run_id = ?"),
            params![run_id],
        )?;
    }
    Ok(())
}

fn insert_run(conn: &Connection, run: &RunRecord) -> duckdb::Result<()> {
    let m = &run.manifest;
    let s = run.summary.as_ref();
    let card = s.map(|s| &s.scorecard);
    let ci = card.and_then(|c| c.ci95.as_ref());
    let labels = serde_json::to_string(&m.labels).unwrap_or_default();
    let config = serde_json::to_string(&m.config).unwrap_or_default();
    let command = m.command.join(" ");
    let scorecard = card.map(|c| serde_json::to_string(c).unwrap_or_default());
    let ci_method = ci.map(|c| {
        serde_json::to_value(c.method)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    });
    conn.execute(
        "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        params![
            m.run_id,
            run.run_dir,
            m.kind,
            m.name,
            labels,
            m.status.as_str(),
            m.created_at.trim_end_matches('Z'),
            m.finished_at.as_deref().map(|t| t.trim_end_matches('Z')),
            m.git.as_ref().map(|g| g.commit.clone()),
            m.git.as_ref().map(|g| g.dirty),
            m.tool_version,
            m.libtorch_version,
            m.device,
            m.model_id,
            m.dataset.as_ref().map(|d| d.path.clone()),
            m.dataset.as_ref().map(|d| d.blake3.clone()),
            m.evalset.as_ref().map(|d| d.path.clone()),
            m.evalset.as_ref().map(|d| d.blake3.clone()),
            m.predictions.as_ref().map(|d| d.path.clone()),
            m.predictions.as_ref().map(|d| d.blake3.clone()),
            config,
            m.config_hash
                .clone()
                .unwrap_or_else(|| crate::fsutil::canonical_hash(&m.config)),
            command,
            m.seed,
            m.tuning_job_id,
            m.trial_id,
            s.and_then(|s| s.primary_score),
            s.map(|s| s.n_items as i64),
            s.map(|s| s.n_scored as i64),
            s.map(|s| s.n_skipped as i64),
            card.and_then(|c| c.mean),
            card.and_then(|c| c.stddev),
            ci.map(|c| c.low),
            ci.map(|c| c.high),
            ci_method,
            s.and_then(|s| s.trace_consistency),
            scorecard,
            run.content_hash,
            s.and_then(|s| s.scoring_rules_version),
        ],
    )?;
    let mut labels_app = conn.appender("run_labels")?;
    for (k, v) in &m.labels {
        labels_app.append_row(params![m.run_id, k, v])?;
    }
    labels_app.flush()?;
    if let Some(card) = card {
        let mut app = conn.appender("category_scores")?;
        for (cat, c) in &card.per_category {
            let ci = c.ci95.as_ref();
            app.append_row(params![
                m.run_id,
                cat,
                c.n_items as i64,
                c.n_scored as i64,
                c.n_skipped as i64,
                c.mean,
                ci.map(|c| c.low),
                ci.map(|c| c.high)
            ])?;
        }
        app.flush()?;
    }
    let mut items = conn.appender("eval_items")?;
    for it in &run.items {
        let rule = it
            .extraction_rule
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|v| v.as_str().map(String::from));
        items.append_row(params![
            m.run_id,
            it.id,
            it.category,
            it.expected,
            it.output,
            it.extracted,
            rule,
            it.answer_correctness,
            it.trace_consistency
        ])?;
    }
    items.flush()?;
    let mut metrics = conn.appender("metrics")?;
    for r in &run.metrics {
        metrics.append_row(params![
            m.run_id,
            r.step as i64,
            r.loss,
            r.lr,
            r.tokens_per_s,
            r.val_loss,
            r.primary_score
        ])?;
    }
    metrics.flush()?;
    let mut artifacts = conn.appender("artifacts")?;
    let mut all: BTreeMap<&str, &Artifact> =
        run.files.iter().map(|a| (a.path.as_str(), a)).collect();
    for a in &m.artifacts {
        all.entry(a.path.as_str()).or_insert(a);
    }
    for a in all.values() {
        artifacts.append_row(params![m.run_id, a.path, a.blake3, a.bytes])?;
    }
    artifacts.flush()?;
    // A promoted evidence copy of a trial names the trial but is not one.
    let is_trial = m.promoted_from_trial_id.is_none();
    if let (Some(job), Some(trial), true) = (&m.tuning_job_id, &m.trial_id, is_trial) {
        conn.execute(
            "INSERT INTO trials VALUES (?, ?, ?, ?, ?, ?)",
            params![
                job,
                trial,
                m.run_id,
                m.status.as_str(),
                s.and_then(|s| s.primary_score),
                serde_json::to_string(&m.config).unwrap_or_default()
            ],
        )?;
    }
    Ok(())
}
