//! The zip itself, byte-identical for identical files: entries in path
//! order, each under `<run_version>/`, then `MANIFEST.json` at the root;
//! every entry dated 1980-01-01 00:00:00, mode 0644, made by "Unix",
//! deflated at level 6, with no extra fields and no comment. Nothing from
//! the file system (times, owners, permissions) but names and bytes goes in.

use std::io::{Cursor, Read, Write};

use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, System, ZipWriter};

use super::select::EvidenceFile;
use crate::error::{Error, Result};
use crate::runfolder::{to_json_bytes, GitInfo};

/// Name of the package's own manifest, at the zip's root.
pub const MANIFEST_NAME: &str = "MANIFEST.json";

/// Version of the MANIFEST.json format.
pub const MANIFEST_SCHEMA_VERSION: u32 = 1;

/// Deflate level of every entry.
pub const DEFLATE_LEVEL: i64 = 6;

/// Unix permissions of every entry.
const FILE_MODE: u32 = 0o644;

/// Files from this size on are written with zip64 headers.
const LARGE_FILE: u64 = 0xFFFF_FFFF;

/// `MANIFEST.json`: what the package holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageManifest {
    pub schema_version: u32,
    /// The run's id (from its run_manifest.json).
    pub run_id: String,
    /// The run folder's name: the zip's top-level folder.
    pub run_version: String,
    /// The commit the run was made from, when it recorded one.
    pub git: Option<GitInfo>,
    /// The tunix-rt version that wrote the package.
    pub tool_version: String,
    /// Every packaged file, sorted by path.
    pub files: Vec<PackagedFile>,
}

/// One packaged file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackagedFile {
    /// Path inside the zip: `<run_version>/<path in the run folder>`.
    pub path: String,
    /// blake3 of the file's bytes, lowercase hex.
    pub blake3: String,
    /// Size in bytes.
    pub size: u64,
}

/// What identifies the run in MANIFEST.json.
#[derive(Debug, Clone)]
pub struct Header {
    pub run_id: String,
    pub run_version: String,
    pub git: Option<GitInfo>,
}

/// The options of every entry: fixed time, mode, system and compression.
fn entry_options(size: u64) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::DEFAULT)
        .unix_permissions(FILE_MODE)
        .system(System::Unix)
        .large_file(size >= LARGE_FILE)
}

/// Build the zip in memory from `files` (sorted by path, as
/// [`super::select::select_files`] returns them). Each file is read once,
/// hashed as it is compressed, so MANIFEST.json describes exactly the bytes
/// in the zip.
pub fn build(header: &Header, files: &[EvidenceFile]) -> Result<(Vec<u8>, PackageManifest)> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut packaged = Vec::with_capacity(files.len());
    for f in files {
        let name = format!("{}/{}", header.run_version, f.rel);
        zip.start_file(name.as_str(), entry_options(f.size))
            .map_err(|e| zip_error(&name, e))?;
        let file = std::fs::File::open(&f.path)
            .map_err(|e| Error::io("open the file to package", &f.path, e))?;
        let mut reader = HashingReader::new(file);
        std::io::copy(&mut reader, &mut zip)
            .map_err(|e| Error::io("add the file to the package", &f.path, e))?;
        let (blake3, size) = reader.finish();
        packaged.push(PackagedFile {
            path: name,
            blake3,
            size,
        });
    }
    let manifest = PackageManifest {
        schema_version: MANIFEST_SCHEMA_VERSION,
        run_id: header.run_id.clone(),
        run_version: header.run_version.clone(),
        git: header.git.clone(),
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        files: packaged,
    };
    let manifest_bytes = to_json_bytes(&manifest)?;
    zip.start_file(MANIFEST_NAME, entry_options(manifest_bytes.len() as u64))
        .map_err(|e| zip_error(MANIFEST_NAME, e))?;
    zip.write_all(&manifest_bytes).map_err(|e| {
        Error::runtime(format!("cannot write {MANIFEST_NAME} into the package")).with_source(e)
    })?;
    let bytes = zip
        .finish()
        .map_err(|e| zip_error("the central directory", e))?
        .into_inner();
    Ok((bytes, manifest))
}

fn zip_error(what: &str, err: zip::result::ZipError) -> Error {
    Error::runtime(format!("cannot write {what} into the package")).with_source(err)
}

/// A reader that hashes (blake3) and counts what passes through it.
struct HashingReader<R> {
    inner: R,
    hasher: blake3::Hasher,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: blake3::Hasher::new(),
            bytes: 0,
        }
    }

    /// The blake3 (lowercase hex) and size of everything read.
    fn finish(self) -> (String, u64) {
        (self.hasher.finalize().to_hex().to_string(), self.bytes)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::blake3_hex;

    fn evidence(dir: &std::path::Path, files: &[(&str, &[u8])]) -> Vec<EvidenceFile> {
        files
            .iter()
            .map(|(rel, bytes)| {
                let path = dir.join(rel);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(&path, bytes).expect("write");
                EvidenceFile {
                    rel: rel.to_string(),
                    path,
                    size: bytes.len() as u64,
                }
            })
            .collect()
    }

    fn header() -> Header {
        Header {
            run_id: "m35_v1".into(),
            run_version: "m35_v1".into(),
            git: None,
        }
    }

    #[test]
    fn entries_are_fixed_in_time_mode_and_order_and_match_the_manifest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = evidence(
            dir.path(),
            &[
                ("a/b.txt", b"bee"),
                ("run_manifest.json", b"{}\n"),
                ("z.log", b""),
            ],
        );
        let (bytes, manifest) = build(&header(), &files).expect("zip");
        assert_eq!(manifest.files.len(), 3);
        assert_eq!(manifest.files[0].path, "m35_v1/a/b.txt");
        assert_eq!(manifest.files[0].blake3, blake3_hex(b"bee"));
        assert_eq!(manifest.files[0].size, 3);

        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("readable");
        let names: Vec<String> = (0..archive.len())
            .map(|i| {
                let entry = archive.by_index(i).expect("entry");
                entry.name().expect("name").into_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "m35_v1/a/b.txt",
                "m35_v1/run_manifest.json",
                "m35_v1/z.log",
                "MANIFEST.json"
            ]
        );
        for i in 0..archive.len() {
            let entry = archive.by_index(i).expect("entry");
            assert_eq!(entry.unix_mode(), Some(0o100644), "{i}");
            assert_eq!(entry.compression(), CompressionMethod::Deflated);
            let t = entry.last_modified().expect("time");
            assert_eq!(
                (
                    t.year(),
                    t.month(),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                ),
                (1980, 1, 1, 0, 0, 0)
            );
        }
        let mut text = String::new();
        archive
            .by_name(MANIFEST_NAME)
            .expect("manifest")
            .read_to_string(&mut text)
            .expect("read");
        let back: PackageManifest = serde_json::from_str(&text).expect("json");
        assert_eq!(back, manifest);
        assert_eq!(back.tool_version, env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn the_same_files_give_the_same_bytes() {
        let one = tempfile::tempdir().expect("tempdir");
        let two = tempfile::tempdir().expect("tempdir");
        let content: &[(&str, &[u8])] = &[("x.jsonl", b"{\"a\":1}\n"), ("y/z.log", b"hello")];
        let a = build(&header(), &evidence(one.path(), content)).expect("zip");
        let b = build(&header(), &evidence(two.path(), content)).expect("zip");
        assert_eq!(a.0, b.0);
        let other: &[(&str, &[u8])] = &[("x.jsonl", b"{\"a\":2}\n"), ("y/z.log", b"hello")];
        let c = build(&header(), &evidence(two.path(), other)).expect("zip");
        assert_ne!(a.0, c.0);
    }
}
