//! The single-writer lock: an OS file lock on `<db>.lock`, which holds the
//! writer's process id so a second writer can say who has it. The OS
//! releases the lock when the process dies, even by SIGKILL.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::Wait;
use crate::error::{Error, Result};

/// How often a waiting writer tries the lock again.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// Held while this process writes the index.
pub struct WriteLock {
    file: File,
    _path: PathBuf,
}

/// The lock file of the database at `db`.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".lock");
    db.with_file_name(name)
}

impl WriteLock {
    /// Take the lock, failing with the holder's pid or waiting for it (up
    /// to `wait`'s bound).
    /// Every failure is a runtime failure (exit 3): the lock file is the
    /// index's own, never a path the user named.
    pub fn acquire(db: &Path, wait: Wait) -> Result<WriteLock> {
        let path = lock_path(db);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| runtime_io("cannot create the folder of the index", parent, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| runtime_io("cannot open the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => tracing::info!("took the write lock {}", path.display()),
            Err(TryLockError::WouldBlock) => {
                let holder = format!("process {}", holder_pid(&mut file));
                let start = Instant::now();
                let bound = wait.bound();
                if bound.is_zero() {
                    return Err(super::busy(db, &holder, start.elapsed(), wait));
                }
                tracing::warn!(
                    "waiting for {holder} to release {} (up to {:.0} s; {} changes this) ...",
                    db.display(),
                    bound.as_secs_f64(),
                    super::WAIT_ENV
                );
                loop {
                    std::thread::sleep(RETRY_EVERY);
                    match file.try_lock() {
                        Ok(()) => break,
                        Err(TryLockError::WouldBlock) if start.elapsed() < bound => {}
                        Err(TryLockError::WouldBlock) => {
                            return Err(super::busy(db, &holder, start.elapsed(), wait))
                        }
                        Err(TryLockError::Error(e)) => {
                            return Err(runtime_io("cannot wait for the lock", &path, e))
                        }
                    }
                }
                tracing::info!(
                    "took the write lock {} after waiting {:.1} s",
                    path.display(),
                    start.elapsed().as_secs_f64()
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(runtime_io("cannot lock the lock file", &path, e))
            }
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(|e| runtime_io("cannot write the lock file", &path, e))?;
        Ok(WriteLock { file, _path: path })
    }
}

fn runtime_io(message: &str, path: &Path, err: std::io::Error) -> Error {
    Error::runtime(message).with_path(path).with_source(err)
}

impl Drop for WriteLock {
    fn drop(&mut self) {
        let _ = self.file.unlock();
    }
}

fn holder_pid(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_string(&mut text));
    let pid = text.trim();
    if pid.is_empty() {
        "unknown".to_string()
    } else {
        pid.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_path_is_beside_the_database() {
        assert_eq!(
            lock_path(Path::new("/w/tunix.duckdb")),
            PathBuf::from("/w/tunix.duckdb.lock")
        );
    }

    #[test]
    fn a_second_writer_is_told_who_holds_the_lock() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("t.duckdb");
        let held = WriteLock::acquire(&db, Wait::No).expect("first");
        let err = WriteLock::acquire(&db, Wait::No)
            .err()
            .expect("second must fail");
        assert_eq!(err.exit_code(), crate::error::EXIT_RUNTIME);
        assert!(super::super::is_busy(&err));
        assert_eq!(
            err.to_string(),
            format!(
                "database {} is in use by process {}; wait for it to finish, or run without --no-wait to wait for it",
                db.display(),
                std::process::id()
            )
        );
        drop(held);
        WriteLock::acquire(&db, Wait::No).expect("free again");
    }
}
