//! The single-writer lock: an OS file lock on `<db>.lock`, which holds the
//! writer's process id so a second writer can say who has it. The OS
//! releases the lock when the process dies, even by SIGKILL.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::Wait;
use crate::error::{Error, Result};

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
    /// Take the lock, failing with the holder's pid or waiting for it.
    pub fn acquire(db: &Path, wait: Wait) -> Result<WriteLock> {
        let path = lock_path(db);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create the folder", parent, e))?;
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("open the lock file", &path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = holder_pid(&mut file);
                if wait == Wait::No {
                    return Err(Error::runtime(format!(
                        "database {} is locked by process {holder}; wait for it to finish or pass --wait",
                        db.display()
                    )));
                }
                eprintln!(
                    "waiting for process {holder} to release {} ...",
                    db.display()
                );
                file.lock()
                    .map_err(|e| Error::io("wait for the lock", &path, e))?;
            }
            Err(TryLockError::Error(e)) => return Err(Error::io("lock", &path, e)),
        }
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| write!(file, "{}", std::process::id()))
            .and_then(|()| file.flush())
            .map_err(|e| Error::io("write the lock file", &path, e))?;
        Ok(WriteLock { file, _path: path })
    }
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
        assert!(
            err.to_string()
                .contains(&format!("locked by process {}", std::process::id())),
            "{err}"
        );
        drop(held);
        WriteLock::acquire(&db, Wait::No).expect("free again");
    }
}
