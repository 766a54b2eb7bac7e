//! The user's own training data: JSONL files named by `dataset.path` (and
//! `dataset.val_path`), relative to the manifest's folder.
//!
//! - Each line is `{"prompt": str, "completion": str}` or `{"messages":
//!   [{"role", "content"}, ...]}` ([`line`]); every problem is reported as
//!   `file:line:column` with the field and how to fix it, and nothing
//!   trains on a file with problems.
//! - Files are read line by line (never whole), hashed (blake3) on the way,
//!   and only the examples are kept.
//! - Every prompt (and every user turn of a conversation) is checked against
//!   the eval sets: overlaps are always reported ([`Dataset::rejected`]);
//!   `overlap: drop` trains without them, `overlap: refuse` is an error.
//! - Without `val_path`, `val_fraction` of the examples (rounded up, at
//!   least one, leaving at least one) are held out by a seeded shuffle; the
//!   training examples are then shuffled by the seed too. The data set is a
//!   pure function of the files' contents, the eval sets and the seed.

pub mod line;

use std::io::{BufRead, BufReader, Read as _};
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Dataset, EvalIndex, Example, Overlap, Rejected};
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Result};
use crate::jsonl::{self, Content};
use crate::location::Location;
use crate::manifest::train::{DatasetConfig, OverlapPolicy};
use crate::rng::{derive_seed, Rng};
use crate::runfolder::FileRef;
use crate::workspace::{normalize_lexically, Workspace};

/// Longest line accepted, in bytes.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Problems listed per load; past this only the count grows.
pub const MAX_LISTED_PROBLEMS: usize = 50;

/// Overlapping lines named in a `refuse` error.
const MAX_LISTED_OVERLAPS: usize = 5;

/// The answer marker: `Example::answer` is what follows the last one.
const ANSWER_MARKER: &str = "Answer:";

/// The user's data set, with where everything came from.
#[derive(Debug, Clone)]
pub struct UserData {
    pub dataset: Dataset,
    /// `file:line` of each entry of `dataset.rejected`, in the same order.
    pub rejected_at: Vec<String>,
    /// The files read (`path`, then `val_path`) by content.
    pub files: DataFiles,
}

/// The user's files by content: what the config identity hashes instead of
/// their paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataFiles {
    pub path: Option<FileRef>,
    pub val_path: Option<FileRef>,
}

impl DataFiles {
    /// The files present, `path` first.
    pub fn iter(&self) -> impl Iterator<Item = &FileRef> {
        self.path.iter().chain(&self.val_path)
    }
}

/// How a user data set is named in run records: its files as the manifest
/// names them, and how validation is chosen.
pub fn display_name(config: &DatasetConfig) -> String {
    let Some(path) = &config.path else {
        return "(no dataset)".to_string();
    };
    match (&config.val_path, config.val_fraction) {
        (Some(val), _) => format!(
            "{} + {} (seed {})",
            path.display(),
            val.display(),
            config.seed
        ),
        (None, Some(f)) => format!(
            "{} (val_fraction {f}, seed {})",
            path.display(),
            config.seed
        ),
        (None, None) => path.display().to_string(),
    }
}

/// The user's files by content, without reading their lines: for a config
/// identity where the data need not be checked again. Empty for generated
/// data.
pub fn hash_files(
    config: &DatasetConfig,
    manifest_dir: &Path,
    ws: Option<&Workspace>,
) -> Result<DataFiles> {
    let hash = |value: &Path| -> Result<FileRef> {
        let file = DataFile::new(manifest_dir, value, ws);
        let handle = std::fs::File::open(&file.path)
            .map_err(|e| Error::user_file("read the training data", &file.path, e))?;
        let mut hasher = blake3::Hasher::new();
        std::io::copy(&mut BufReader::new(handle), &mut hasher)
            .map_err(|e| Error::user_file("read the training data", &file.path, e))?;
        Ok(FileRef {
            path: file.shown,
            blake3: hasher.finalize().to_hex().to_string(),
        })
    };
    if config.name.is_some() {
        return Ok(DataFiles::default());
    }
    Ok(DataFiles {
        path: config.path.as_deref().map(hash).transpose()?,
        val_path: config.val_path.as_deref().map(hash).transpose()?,
    })
}

/// Read, validate, decontaminate and split the user's files (paths
/// resolved against `manifest_dir`).
pub fn load(config: &DatasetConfig, manifest_dir: &Path, evals: &EvalIndex) -> Result<Dataset> {
    load_files(config, manifest_dir, None, evals).map(|u| u.dataset)
}

/// [`load`], with where each rejected example came from and the files'
/// blake3. Files are named relative to `ws` when given, else relative to
/// the current folder where possible.
pub fn load_files(
    config: &DatasetConfig,
    manifest_dir: &Path,
    ws: Option<&Workspace>,
    evals: &EvalIndex,
) -> Result<UserData> {
    let Some(path) = &config.path else {
        return Err(Error::bad_input(
            "dataset: give `name` (a generator) or `path` (your own JSONL file)",
        ));
    };
    if config.val_path.is_some() == config.val_fraction.is_some() {
        return Err(Error::bad_input(
            "dataset.path needs exactly one of `val_path` (your validation file) and `val_fraction` (a share of `path` held out, e.g. 0.05)",
        ));
    }
    let mut problems = Problems::default();
    let train_file = DataFile::new(manifest_dir, path, ws);
    let val_file = config
        .val_path
        .as_ref()
        .map(|p| DataFile::new(manifest_dir, p, ws));
    let train = read(&train_file, evals, &mut problems)?;
    let val = val_file
        .as_ref()
        .map(|f| read(f, evals, &mut problems))
        .transpose()?;
    if let Some(first) = problems.listed.first() {
        let one_file = problems.listed.iter().all(|d| d.file == first.file);
        let shown = if one_file {
            first.file.clone()
        } else {
            "the training data".to_string()
        };
        return Err(Error::invalid_file(&shown, problems.into_diagnostics()));
    }
    let files = DataFiles {
        path: Some(train.file_ref(&train_file)),
        val_path: val_file
            .as_ref()
            .zip(val.as_ref())
            .map(|(f, r)| r.file_ref(f)),
    };
    let val = val_file.as_ref().zip(val.map(|r| r.entries));
    split(config, (&train_file, train.entries), val, files)
}

/// Decontaminate (drop or refuse) and split.
fn split(
    config: &DatasetConfig,
    (train_file, train): (&DataFile, Vec<Entry>),
    val: Option<(&DataFile, Vec<Entry>)>,
    files: DataFiles,
) -> Result<UserData> {
    let overlapping: Vec<(String, &Overlap)> = std::iter::once((train_file, &train))
        .chain(val.as_ref().map(|(f, v)| (*f, v)))
        .flat_map(|(file, entries)| {
            entries.iter().filter_map(move |e| {
                e.overlap
                    .as_deref()
                    .map(|o| (format!("{}:{}", file.shown, e.line), o))
            })
        })
        .collect();
    if config.overlap == OverlapPolicy::Refuse && !overlapping.is_empty() {
        return Err(refused(&overlapping));
    }
    let rejected_at: Vec<String> = overlapping.into_iter().map(|(at, _)| at).collect();
    let mut rejected = Vec::new();
    let mut train = keep(train, "train", &mut rejected);
    let val = val.map(|(file, entries)| (file, keep(entries, "val", &mut rejected)));
    let dropped = rejected.len();
    let after = if dropped > 0 {
        format!(" after dropping {dropped} that overlap an eval set")
    } else {
        String::new()
    };
    let none_left = |file: &DataFile| {
        Error::bad_input(format!(
            "{}: no examples left{after}; add examples that are not eval questions",
            file.shown
        ))
    };
    let val = match val {
        Some((file, val)) if val.is_empty() => return Err(none_left(file)),
        Some((_, val)) => val,
        None => {
            let n = train.len();
            if n < 2 {
                return Err(Error::bad_input(format!(
                    "{}: {n} example(s){after}; `val_fraction` needs at least 2 (one to train on, one to validate)",
                    train_file.shown,
                )));
            }
            let n_val = held_out(n, config.val_fraction.unwrap_or_default());
            shuffle(&mut train, derive_seed(config.seed, "user-data/split"));
            train.drain(..n_val).collect()
        }
    };
    if train.is_empty() {
        return Err(none_left(train_file));
    }
    shuffle(&mut train, derive_seed(config.seed, "user-data/train"));
    Ok(UserData {
        dataset: Dataset {
            train,
            val,
            rejected,
            val_dropped_as_train: 0,
        },
        rejected_at,
        files,
    })
}

/// The examples of `entries` that overlap no eval prompt (collected in
/// place); the others go to `rejected`.
fn keep(entries: Vec<Entry>, split: &'static str, rejected: &mut Vec<Rejected>) -> Vec<Example> {
    entries
        .into_iter()
        .filter_map(|e| match e.overlap {
            Some(overlap) => {
                rejected.push(Rejected {
                    split,
                    prompt: e.example.prompt,
                    overlap: *overlap,
                });
                None
            }
            None => Some(e.example),
        })
        .collect()
}

/// Examples held out of `n` for `fraction`: rounded up, at least 1 and at
/// most `n - 1` (`n >= 2`).
pub fn held_out(n: usize, fraction: f64) -> usize {
    // The small margin keeps 100 * 0.07 = 7.000000000000001 at 7.
    let wanted = (n as f64 * fraction - 1e-9).ceil();
    (wanted.max(1.0) as usize).min(n - 1)
}

/// Fisher-Yates with the crate's seeded generator.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut rng = Rng::new(seed);
    for i in (1..items.len()).rev() {
        items.swap(i, rng.index(i + 1));
    }
}

/// The `refuse` error: how many, the first few, and what to do.
fn refused(overlapping: &[(String, &Overlap)]) -> Error {
    let listed: Vec<String> = overlapping
        .iter()
        .take(MAX_LISTED_OVERLAPS)
        .map(|(at, o)| format!("{at} ~ {} ({})", o.eval_item, o.kind))
        .collect();
    let more = overlapping.len().saturating_sub(MAX_LISTED_OVERLAPS);
    Error::bad_input(format!(
        "dataset.overlap is `refuse` and {} example(s) overlap an eval set: {}{}; remove them from your data, or set `dataset.overlap: drop` to train without them",
        overlapping.len(),
        listed.join(", "),
        if more > 0 { format!(" and {more} more") } else { String::new() }
    ))
}

/// A data file: where it is and how messages name it.
#[derive(Debug, Clone)]
struct DataFile {
    path: PathBuf,
    shown: String,
}

impl DataFile {
    fn new(manifest_dir: &Path, value: &Path, ws: Option<&Workspace>) -> Self {
        let path = normalize_lexically(&manifest_dir.join(value));
        let shown = match ws {
            Some(ws) => ws.display_path(&path),
            None => shown_from_cwd(&path),
        };
        DataFile {
            path,
            shown: shown.display().to_string(),
        }
    }
}

/// `path` relative to the current folder when it lies inside it.
fn shown_from_cwd(path: &Path) -> PathBuf {
    let Ok(abs) = std::path::absolute(path) else {
        return path.to_path_buf();
    };
    let abs = normalize_lexically(&abs);
    std::env::current_dir()
        .ok()
        .and_then(|cwd| abs.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or(abs)
}

/// One valid line.
#[derive(Debug)]
struct Entry {
    line: usize,
    example: Example,
    /// Boxed: almost every line has none.
    overlap: Option<Box<Overlap>>,
}

/// What reading one file gave.
struct FileRead {
    entries: Vec<Entry>,
    blake3: String,
}

impl FileRead {
    fn file_ref(&self, file: &DataFile) -> FileRef {
        FileRef {
            path: file.shown.clone(),
            blake3: self.blake3.clone(),
        }
    }
}

/// The problems found, the first [`MAX_LISTED_PROBLEMS`] kept.
#[derive(Default)]
struct Problems {
    listed: Vec<Diagnostic>,
    total: usize,
}

impl Problems {
    fn push(&mut self, d: Diagnostic) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(d);
        }
    }

    fn into_diagnostics(mut self) -> Vec<Diagnostic> {
        let more = self.total - self.listed.len();
        if more > 0 {
            let file = self.listed[0].file.clone();
            self.listed.push(Diagnostic::new(
                &file,
                "",
                format!("... and {more} more problem(s) not listed"),
            ));
        }
        self.listed
    }
}

/// Read `file` line by line: its valid examples (each checked against
/// `evals`) and its blake3; problems go to `problems`. Only a file that
/// cannot be opened or read is an error here.
fn read(file: &DataFile, evals: &EvalIndex, problems: &mut Problems) -> Result<FileRead> {
    let shown = file.shown.as_str();
    let io = |e: std::io::Error| Error::user_file("read the training data", &file.path, e);
    let handle = std::fs::File::open(&file.path).map_err(io)?;
    let mut reader = BufReader::with_capacity(1 << 20, handle);
    let mut hasher = blake3::Hasher::new();
    let mut buf = Vec::new();
    let mut entries = Vec::new();
    let mut number = 0usize;
    let mut bytes = 0u64;
    loop {
        buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = reader
            .by_ref()
            .take(limit)
            .read_until(b'\n', &mut buf)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        number += 1;
        bytes += n as u64;
        hasher.update(&buf);
        let at = |column| {
            Some(Location {
                line: number,
                column,
            })
        };
        if buf.len() > MAX_LINE_BYTES && !buf.ends_with(b"\n") {
            bytes += skip_line(&mut reader, &mut hasher).map_err(io)?;
            problems.push(
                Diagnostic::new(
                    shown,
                    "",
                    format!("line is longer than {MAX_LINE_BYTES} bytes"),
                )
                .at(at(1))
                .help("split it into shorter examples"),
            );
            continue;
        }
        let Some(line) = jsonl::lines(&buf).next() else {
            continue;
        };
        let text = match line.content {
            Content::Text(text) => text,
            Content::InvalidUtf8 { column, byte } => {
                problems.push(
                    Diagnostic::new(
                        shown,
                        "",
                        format!("line is not valid UTF-8 (byte 0x{byte:02X})"),
                    )
                    .at(at(column))
                    .help("save the file as UTF-8"),
                );
                continue;
            }
            Content::Blank => {
                problems.push(
                    Diagnostic::new(shown, "", "blank line")
                        .at(at(1))
                        .help("JSONL holds one JSON object per line; remove the blank line"),
                );
                continue;
            }
        };
        let value: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                // serde's own position counts this line as line 1; the
                // diagnostic has the real one.
                let text = e.to_string();
                let why = text
                    .rsplit_once(" at line ")
                    .map_or(text.as_str(), |(w, _)| w);
                let (message, help) = if line.is_truncated(&e) {
                    (
                        format!("truncated last line: {why}"),
                        "the file looks cut off; restore its last line".to_string(),
                    )
                } else {
                    (
                        format!("invalid JSON: {why}"),
                        line::FORMAT_HELP.to_string(),
                    )
                };
                problems.push(
                    Diagnostic::new(shown, "", message)
                        .at(at(e.column().max(1)))
                        .help(help),
                );
                continue;
            }
        };
        match line::parse(value) {
            Ok(record) => {
                let overlap = evals
                    .check(&record.prompt)
                    .or_else(|| record.user_turns.iter().find_map(|turn| evals.check(turn)));
                entries.push(Entry {
                    line: number,
                    example: example(record),
                    overlap: overlap.map(Box::new),
                });
            }
            Err(found) => {
                for p in found {
                    let d = Diagnostic::new(shown, &p.pointer, p.message).at(at(1));
                    problems.push(match p.help {
                        Some(h) => d.help(h),
                        None => d,
                    });
                }
            }
        }
    }
    if bytes == 0 {
        problems.push(
            Diagnostic::new(shown, "", "the file is empty")
                .at(Some(Location { line: 1, column: 1 }))
                .help(line::FORMAT_HELP),
        );
    }
    Ok(FileRead {
        entries,
        blake3: hasher.finalize().to_hex().to_string(),
    })
}

/// Consume the rest of an overlong line (through its newline), hashing it;
/// the bytes skipped.
fn skip_line(reader: &mut impl BufRead, hasher: &mut blake3::Hasher) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(skipped);
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        hasher.update(&chunk[..take]);
        reader.consume(take);
        skipped += take as u64;
        if done {
            return Ok(skipped);
        }
    }
}

/// A valid line as a training example: the answer is the completion's text
/// after its last `Answer:` marker, if any.
fn example(record: line::Record) -> Example {
    let answer = record
        .completion
        .rfind(ANSWER_MARKER)
        .map(|i| {
            record.completion[i + ANSWER_MARKER.len()..]
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    Example {
        prompt: record.prompt,
        completion: record.completion,
        answer,
        steps: 0,
    }
}

#[cfg(test)]
mod tests;
