//! Small file-system helpers: atomic writes and hashing (of bytes, files
//! and canonical JSON).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Write `bytes` to `path` atomically: write a temporary file beside it,
/// flush it to disk, then rename it over the target. Readers see either the
/// old file or the new one, never a half-written file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create the folder", dir, e))?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".to_string());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file =
            std::fs::File::create(&tmp).map_err(|e| Error::io("create the file", &tmp, e))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io("write the file", &tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| Error::io("rename into place", path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The blake3 hash of `bytes` as lowercase hex.
pub fn blake3_hex(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// blake3 of a JSON value with object keys sorted: equal values hash equal
/// whatever order their keys were written in.
pub fn canonical_hash(value: &serde_json::Value) -> String {
    fn canonical(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<&String, serde_json::Value> =
                    map.iter().map(|(k, v)| (k, canonical(v))).collect();
                serde_json::Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(canonical).collect())
            }
            other => other.clone(),
        }
    }
    blake3_hex(canonical(value).to_string().as_bytes())
}

/// The blake3 hash (lowercase hex) and size of the file at `path`, read in
/// a stream so large checkpoints are never held in memory.
pub fn blake3_file(path: &Path) -> Result<(String, u64)> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut hasher = blake3::Hasher::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io("read", path, e))?;
    Ok((hasher.finalize().to_hex().to_string(), bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_hash_ignores_key_order() {
        let a = serde_json::json!({"a": 1, "b": {"c": 2, "d": [1, {"e": 3, "f": 4}]}});
        let b = serde_json::json!({"b": {"d": [1, {"f": 4, "e": 3}], "c": 2}, "a": 1});
        assert_eq!(canonical_hash(&a), canonical_hash(&b));
        assert_ne!(
            canonical_hash(&a),
            canonical_hash(&serde_json::json!({"a": 2}))
        );
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("sub/out.json");
        write_atomic(&target, b"one").expect("first write");
        write_atomic(&target, b"two").expect("second write");
        assert_eq!(std::fs::read(&target).expect("read"), b"two");
        let entries: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .expect("list")
            .collect();
        assert_eq!(entries.len(), 1);
    }
}
