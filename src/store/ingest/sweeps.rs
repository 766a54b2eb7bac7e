//! The `sweeps` rows: one per sweep ledger (`sweep.json`) under the runs
//! root, with the earliest creation time of its ingested trials.

use std::path::{Path, PathBuf};

use duckdb::{params, Connection};

use tunix_core::sweep::ledger::{Ledger, LEDGER};

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

/// What a sweep row needs of an ingested run.
pub struct RunStamp {
    pub tuning_job_id: Option<String>,
    pub created_at: String,
}

/// A `sweeps` row: id, name, created_at (the earliest trial's), trial
/// count, the best trial's run id.
pub struct SweepRow {
    id: String,
    created_at: Option<String>,
    n_trials: i64,
    best_run_id: Option<String>,
}

/// The rows of `ledgers`; a ledger that cannot be read is `skipped`
/// (path, reason) instead.
pub fn sweep_rows(
    ledgers: &[PathBuf],
    runs: &[RunStamp],
    skipped: &mut Vec<(String, String)>,
) -> Vec<SweepRow> {
    let mut rows = Vec::new();
    for path in ledgers {
        let ledger = match Ledger::read(path) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                skipped.push((path.display().to_string(), e.to_string()));
                continue;
            }
        };
        let created_at = runs
            .iter()
            .filter(|r| r.tuning_job_id.as_deref() == Some(ledger.sweep.as_str()))
            .map(|r| r.created_at.clone())
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

/// Replace the `sweeps` row of each of `rows`.
pub fn write_sweeps(conn: &Connection, rows: &[SweepRow]) -> duckdb::Result<()> {
    for row in rows {
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
    Ok(())
}
