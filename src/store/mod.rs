//! The DuckDB index over run folders. Run folders are the system of record;
//! this index is rebuildable from them at any time (`tunix-rt db rebuild`).
//! One writing process at a time, enforced by a lock file beside the database.

pub mod ingest;
pub mod lock;
pub mod query;
pub mod schema;

use std::path::{Path, PathBuf};

use duckdb::{AccessMode, Config, Connection};

use crate::error::{Error, Result};
use lock::WriteLock;

/// Default database file name, at the workspace root.
pub const DEFAULT_DB: &str = "tunix.duckdb";

/// An open index.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    _lock: Option<WriteLock>,
}

/// How to wait for another writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Fail at once with "locked by process N".
    No,
    /// Block until the other writer is done.
    Yes,
}

impl Store {
    /// Open (creating if needed) for writing: takes the write lock, then
    /// applies pending migrations.
    pub fn open_write(path: &Path, wait: Wait) -> Result<Store> {
        let lock = WriteLock::acquire(path, wait)?;
        let conn = Connection::open(path).map_err(|e| db_error(path, "open", e))?;
        schema::migrate(&conn).map_err(|e| db_error(path, "migrate", e))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// Open an existing index read-only.
    pub fn open_read(path: &Path) -> Result<Store> {
        if !path.exists() {
            return Err(Error::bad_input(format!(
                "no index at {}; run `tunix-rt db rebuild` to create it from submission_runs/",
                path.display()
            )));
        }
        let config = Config::default()
            .access_mode(AccessMode::ReadOnly)
            .map_err(|e| db_error(path, "configure", e))?;
        let conn = Connection::open_with_flags(path, config).map_err(|e| {
            let text = e.to_string();
            if text.contains("lock") {
                Error::runtime(format!(
                    "the index {} is being written by another process; try again when it finishes",
                    path.display()
                ))
            } else {
                db_error(path, "open", e)
            }
        })?;
        schema::check_version(&conn, path)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            _lock: None,
        })
    }

    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A DuckDB failure on `path` as a runtime error.
pub fn db_error(path: &Path, action: &str, err: duckdb::Error) -> Error {
    Error::runtime(format!("DuckDB could not {action} the index"))
        .with_path(path)
        .with_source(err)
}
