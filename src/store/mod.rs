//! The DuckDB index over run folders. Run folders are the system of record;
//! this index is rebuildable from them at any time (`tunix-rt db rebuild`).
//! One writing process at a time, enforced by a lock file beside the database.
//!
//! Modules: `schema` (tables and migrations), `lock` (the writer lock),
//! `ingest` (run folders into the index), `filter` (which runs a report is
//! about, as SQL), `runs` (runs as the reports read them), `query` (run
//! lookup, items, read-only SQL, Parquet export), `details` (the configs
//! and every metric of runs, for comparing them).

pub mod datetime;
pub mod details;
pub mod filter;
#[cfg(test)]
pub(crate) mod fixtures;
pub mod ingest;
pub mod lock;
pub mod query;
pub mod runs;
pub mod schema;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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

/// How long to wait for another process that holds the index (a writer,
/// or a reader that DuckDB's own file lock keeps a writer out for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Fail at once, saying who holds it.
    No,
    /// Wait up to [`WAIT_ENV`] seconds (default [`DEFAULT_WAIT_S`]), saying
    /// so once, then fail with [`Busy`] as the cause.
    Yes,
}

/// The environment variable that bounds [`Wait::Yes`], in seconds.
pub const WAIT_ENV: &str = "TUNIX_RT_INDEX_WAIT_S";
/// [`Wait::Yes`]'s bound when [`WAIT_ENV`] is not set.
pub const DEFAULT_WAIT_S: f64 = 120.0;

impl Wait {
    /// The longest this wait lasts.
    pub fn bound(self) -> Duration {
        match self {
            Wait::No => Duration::ZERO,
            Wait::Yes => {
                let secs = std::env::var(WAIT_ENV)
                    .ok()
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .unwrap_or(DEFAULT_WAIT_S);
                Duration::from_secs_f64(secs)
            }
        }
    }
}

/// The cause of an error when another process held the index for longer
/// than the wait allowed: a job that finished writing its run folders
/// treats it as "indexed later", not as a failure ([`is_busy`]).
#[derive(Debug, thiserror::Error)]
#[error("held by {holder} for the {waited_s:.1} s this process waited")]
pub struct Busy {
    pub holder: String,
    pub waited_s: f64,
}

/// Whether `err` is the index being held by another process ([`Busy`]).
pub fn is_busy(err: &Error) -> bool {
    std::error::Error::source(err).is_some_and(|s| s.is::<Busy>())
}

impl Store {
    /// Open (creating if needed) for writing: takes the write lock, then
    /// applies pending migrations.
    pub fn open_write(path: &Path, wait: Wait) -> Result<Store> {
        let lock = WriteLock::acquire(path, wait)?;
        let created = !path.exists();
        let conn = open_waiting(path, wait, || Connection::open(path))?;
        let applied = schema::migrate(&conn).map_err(|e| db_error(path, "migrate", e))?;
        match (created, applied) {
            (true, _) => tracing::info!(
                "created the index {} (schema version {})",
                path.display(),
                schema::current_version()
            ),
            (false, 0) => tracing::info!("opened the index {} for writing", path.display()),
            (false, n) => tracing::info!(
                "opened the index {} for writing; applied {n} migration(s), now at schema version {}",
                path.display(),
                schema::current_version()
            ),
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            _lock: Some(lock),
        })
    }

    /// Open an existing index read-only, waiting a bounded time
    /// ([`Wait::Yes`]) while a writer holds it.
    pub fn open_read(path: &Path) -> Result<Store> {
        Store::open_read_waiting(path, Wait::Yes)
    }

    /// Open an existing index read-only, waiting as `wait` says.
    pub fn open_read_waiting(path: &Path, wait: Wait) -> Result<Store> {
        if !path.exists() {
            return Err(Error::bad_input(format!(
                "no index at {}; run `tunix-rt db rebuild` to create it from submission_runs/",
                path.display()
            )));
        }
        let conn = open_waiting(path, wait, || {
            let config = Config::default().access_mode(AccessMode::ReadOnly)?;
            Connection::open_with_flags(path, config)
        })?;
        schema::check_version(&conn, path)?;
        tracing::info!("opened the index {} read-only", path.display());
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

/// Open the index with `open`, retrying while another process holds
/// DuckDB's own file lock on it, for up to `wait`'s bound (saying once that
/// it waits). Past the bound the error says who holds it and has [`Busy`]
/// as its cause; any other failure is a plain DuckDB failure. Both are
/// runtime failures (exit 3).
fn open_waiting(
    path: &Path,
    wait: Wait,
    mut open: impl FnMut() -> duckdb::Result<Connection>,
) -> Result<Connection> {
    let start = Instant::now();
    let bound = wait.bound();
    let mut said = false;
    loop {
        match open() {
            Ok(conn) => return Ok(conn),
            Err(e) if is_file_lock_conflict(&e) && start.elapsed() < bound => {
                if !said {
                    tracing::warn!(
                        "the index {} is in use by another process; waiting up to {:.0} s ({WAIT_ENV} changes this) ...",
                        path.display(),
                        bound.as_secs_f64()
                    );
                    said = true;
                }
                std::thread::sleep(RETRY_EVERY);
            }
            Err(e) if is_file_lock_conflict(&e) => {
                return Err(busy(path, "another process", start.elapsed(), wait))
            }
            Err(e) => return Err(db_error(path, "open", e)),
        }
    }
}

/// How often a waiting process tries the index again.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// The index was held by `holder` for longer than `wait` allowed.
pub(crate) fn busy(path: &Path, holder: &str, waited: Duration, wait: Wait) -> Error {
    let how = match wait {
        Wait::No => "wait for it to finish, or run without --no-wait to wait for it".to_string(),
        Wait::Yes => format!(
            "waited {:.0} s; wait for it to finish, or set {WAIT_ENV} to wait longer",
            waited.as_secs_f64()
        ),
    };
    Error::runtime(format!(
        "database {} is in use by {holder}; {how}",
        path.display()
    ))
    .with_source(Busy {
        holder: holder.to_string(),
        waited_s: waited.as_secs_f64(),
    })
}

/// Whether `err` is DuckDB refusing to open a database file because another
/// process holds a conflicting lock on it.
///
/// DuckDB has no error code for this: `duckdb_open_ext` returns only
/// `DuckDBError` plus a message, so duckdb-rs reports every open failure as
/// `DuckDBFailure` with `ErrorCode::Unknown`. The message is DuckDB's
/// `IOException` from `LocalFileSystem` ("IO Error: Could not set lock on
/// file \"...\": Conflicting lock is held in ... (PID N)"); its stable part,
/// the exception type and the first sentence, is what is matched here.
pub fn is_file_lock_conflict(err: &duckdb::Error) -> bool {
    const LOCK_CONFLICT: &str = "IO Error: Could not set lock on file";
    match err {
        duckdb::Error::DuckDBFailure(code, Some(message)) => {
            code.extended_code == duckdb::ffi::DuckDBError && message.starts_with(LOCK_CONFLICT)
        }
        _ => false,
    }
}

/// A DuckDB failure on `path` as a runtime error.
pub fn db_error(path: &Path, action: &str, err: duckdb::Error) -> Error {
    Error::runtime(format!("DuckDB could not {action} the index"))
        .with_path(path)
        .with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set by [`duckdb_file_lock_is_detected_from_a_second_process`] for the
    /// helper it starts: `<db>\n<ready marker>`.
    const HOLDER_ENV: &str = "TUNIX_RT_TEST_HOLD_DUCKDB";

    /// Helper process, not a test of its own: opens the database named in
    /// [`HOLDER_ENV`] for writing, creates the marker, and sleeps until it
    /// is killed. Without the variable it does nothing.
    #[test]
    #[ignore = "helper process for duckdb_file_lock_is_detected_from_a_second_process"]
    fn hold_duckdb_file_lock() {
        let Ok(spec) = std::env::var(HOLDER_ENV) else {
            return;
        };
        let (db, marker) = spec.split_once('\n').expect("db and marker");
        let _conn = Connection::open(db).expect("open for writing");
        std::fs::write(marker, "ready").expect("marker");
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }

    /// Kills the helper however the test ends.
    struct Holder(std::process::Child);

    impl Drop for Holder {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn duckdb_file_lock_is_detected_from_a_second_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("t.duckdb");
        let marker = dir.path().join("ready");
        Store::open_write(&db, Wait::No).expect("create");
        let exe = std::env::current_exe().expect("test binary");
        let child = std::process::Command::new(exe)
            .args([
                "--exact",
                "store::tests::hold_duckdb_file_lock",
                "--ignored",
                "--nocapture",
            ])
            .env(
                HOLDER_ENV,
                format!("{}\n{}", db.display(), marker.display()),
            )
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start the holder");
        let mut holder = Holder(child);
        let deadline = Instant::now() + Duration::from_secs(120);
        while !marker.exists() {
            if let Some(status) = holder.0.try_wait().expect("poll") {
                panic!("the holder exited before taking the lock: {status}");
            }
            assert!(Instant::now() < deadline, "the holder never took the lock");
            std::thread::sleep(Duration::from_millis(20));
        }

        let config = Config::default()
            .access_mode(AccessMode::ReadOnly)
            .expect("config");
        let raw = Connection::open_with_flags(&db, config)
            .expect_err("DuckDB must refuse a second process");
        assert!(is_file_lock_conflict(&raw), "{raw:?}");

        let err = Store::open_read_waiting(&db, Wait::No)
            .err()
            .expect("open_read must fail");
        assert_eq!(err.exit_code(), crate::error::EXIT_RUNTIME);
        assert!(is_busy(&err));
        assert_eq!(
            err.to_string(),
            format!(
                "database {} is in use by another process; wait for it to finish, or run without --no-wait to wait for it",
                db.display()
            )
        );

        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(holder);
        });
        Store::open_read(&db).expect("a reader waits until the holder is gone");
        release.join().expect("released");
    }

    #[test]
    fn other_open_failures_are_not_lock_conflicts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let not_a_db = dir.path().join("notes.txt");
        std::fs::write(&not_a_db, "just text, not a DuckDB file\n").expect("write");
        let err = Connection::open(&not_a_db).expect_err("a text file is not a database");
        assert!(!is_file_lock_conflict(&err), "{err:?}");
        let err = Store::open_read(&not_a_db)
            .err()
            .expect("open_read must fail");
        assert_eq!(err.exit_code(), crate::error::EXIT_RUNTIME);
        assert!(
            err.to_string().contains("DuckDB could not open the index"),
            "{err}"
        );
    }
}
