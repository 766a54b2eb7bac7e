//! The tensors of a Hugging Face model folder: `model.safetensors`, or the
//! shards that `model.safetensors.index.json` maps tensor names to. Each
//! file's header is read first, so a tensor in a dtype other than F32, F16
//! or BF16 is refused by name before any data is converted; a model then
//! takes its tensors one by one, by name and expected shape, as f32 or in
//! the dtype it asks for. [`stored_kinds`] reads only the headers: each
//! tensor's dtype as saved, which a merged export keeps.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use crate::hf::error::HfError;

/// The single-file weights' name.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The sharded weights' index.
pub const INDEX_FILE: &str = "model.safetensors.index.json";

/// dtypes accepted (computation is always f32).
const DTYPES: [&str; 3] = ["F32", "F16", "BF16"];

struct Stored {
    file: PathBuf,
    tensor: Tensor,
}

/// The tensors of a model folder, each with the file it came from.
pub struct Weights {
    tensors: BTreeMap<String, Stored>,
    /// Where a tensor is looked for: its shard per the index, else this.
    expected_in: BTreeMap<String, PathBuf>,
    source: PathBuf,
}

#[derive(Deserialize)]
struct Index {
    weight_map: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    #[serde(default)]
    shape: Vec<i64>,
    /// Byte range in the data section (after the header).
    #[serde(default)]
    data_offsets: [u64; 2],
}

impl Weights {
    /// Read the weights of a model folder (single file or sharded).
    pub fn load(dir: &Path) -> Result<Self, HfError> {
        let single = dir.join(WEIGHTS_FILE);
        let index = dir.join(INDEX_FILE);
        let mut weights = Weights {
            tensors: BTreeMap::new(),
            expected_in: BTreeMap::new(),
            source: single.clone(),
        };
        if single.is_file() {
            weights.read_file(&single)?;
        } else if index.is_file() {
            weights.source = index.clone();
            let (expected_in, shards) = read_index(dir, &index)?;
            weights.expected_in = expected_in;
            for shard in &shards {
                if !shard.is_file() {
                    return Err(HfError::MissingShard {
                        index: index.clone(),
                        shard: shard.clone(),
                    });
                }
                weights.read_file(shard)?;
            }
        } else {
            return Err(HfError::NoWeights {
                dir: dir.to_path_buf(),
            });
        }
        Ok(weights)
    }

    /// Read every tensor of `file`, one at a time: each tensor's bytes go
    /// through one buffer of its size into the tensor, so loading peaks at
    /// the weights plus the largest tensor, not twice the file.
    fn read_file(&mut self, file: &Path) -> Result<(), HfError> {
        let (data_start, entries) = read_header(file)?;
        for (name, entry) in &entries {
            if !DTYPES.contains(&entry.dtype.as_str()) {
                return Err(HfError::UnsupportedDtype {
                    file: file.to_path_buf(),
                    name: name.clone(),
                    dtype: entry.dtype.clone(),
                });
            }
        }
        let io = |source| HfError::Io {
            file: file.to_path_buf(),
            source,
        };
        let mut f = std::fs::File::open(file).map_err(io)?;
        for (name, entry) in entries {
            let tensor = read_tensor(&mut f, file, data_start, &name, &entry)?;
            let stored = Stored {
                file: file.to_path_buf(),
                tensor,
            };
            self.tensors.insert(name, stored);
        }
        Ok(())
    }

    /// Whether a tensor of this name was stored.
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Put `prefix` before every stored name (a GPT-2 checkpoint saved from
    /// `GPT2Model` names `wte.weight` what `GPT2LMHeadModel` calls
    /// `transformer.wte.weight`).
    pub fn add_prefix(&mut self, prefix: &str) {
        self.tensors = std::mem::take(&mut self.tensors)
            .into_iter()
            .map(|(n, v)| (format!("{prefix}{n}"), v))
            .collect();
        self.expected_in = std::mem::take(&mut self.expected_in)
            .into_iter()
            .map(|(n, v)| (format!("{prefix}{n}"), v))
            .collect();
    }

    /// The stored tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Remove a tensor, check its shape, and return it as f32 on `device`.
    pub fn take(&mut self, name: &str, shape: &[i64], device: Device) -> Result<Tensor, HfError> {
        self.take_as(name, shape, device, Kind::Float)
    }

    /// Remove a tensor, check its shape, and return it in dtype `kind` on
    /// `device`.
    pub fn take_as(
        &mut self,
        name: &str,
        shape: &[i64],
        device: Device,
        kind: Kind,
    ) -> Result<Tensor, HfError> {
        let Some(stored) = self.tensors.remove(name) else {
            let file = self.expected_in.get(name).unwrap_or(&self.source).clone();
            return Err(HfError::MissingTensor {
                file,
                name: name.to_string(),
            });
        };
        let found = stored.tensor.size();
        if found != shape {
            return Err(HfError::ShapeMismatch {
                file: stored.file,
                name: name.to_string(),
                expected: shape.to_vec(),
                found,
            });
        }
        Ok(stored.tensor.f_to_device(device)?.f_to_kind(kind)?)
    }
}

/// Each stored tensor's dtype, read from the headers of a model folder's
/// weights (single file or every shard of the index) without their data.
pub fn stored_kinds(dir: &Path) -> Result<BTreeMap<String, Kind>, HfError> {
    let single = dir.join(WEIGHTS_FILE);
    let files = if single.is_file() {
        vec![single]
    } else {
        let index = dir.join(INDEX_FILE);
        if !index.is_file() {
            return Err(HfError::NoWeights {
                dir: dir.to_path_buf(),
            });
        }
        let (_, shards) = read_index(dir, &index)?;
        shards
    };
    let mut kinds = BTreeMap::new();
    for file in files {
        for (name, dtype) in header_dtypes(&file)? {
            let kind = match dtype.as_str() {
                "F32" => Kind::Float,
                "F16" => Kind::Half,
                "BF16" => Kind::BFloat16,
                _ => {
                    return Err(HfError::UnsupportedDtype { file, name, dtype });
                }
            };
            kinds.insert(name, kind);
        }
    }
    Ok(kinds)
}

/// A sharded folder's index: where each tensor is, and the shards in
/// order of first mention (each a file name in `dir`).
fn read_index(
    dir: &Path,
    index: &Path,
) -> Result<(BTreeMap<String, PathBuf>, Vec<PathBuf>), HfError> {
    let text = std::fs::read_to_string(index).map_err(|source| HfError::Io {
        file: index.to_path_buf(),
        source,
    })?;
    let parsed: Index = serde_json::from_str(&text).map_err(|e| HfError::Safetensors {
        file: index.to_path_buf(),
        message: format!("invalid index: {e}"),
    })?;
    let mut expected_in = BTreeMap::new();
    let mut shards: Vec<PathBuf> = Vec::new();
    for (name, shard) in parsed.weight_map {
        if Path::new(&shard).file_name() != Some(std::ffi::OsStr::new(&shard)) {
            return Err(HfError::Safetensors {
                file: index.to_path_buf(),
                message: format!("shard `{shard}` is not a file name in this folder"),
            });
        }
        let path = dir.join(&shard);
        if !shards.contains(&path) {
            shards.push(path.clone());
        }
        expected_in.insert(name, path);
    }
    Ok((expected_in, shards))
}

/// Each tensor's name and dtype, from a safetensors file's JSON header
/// (an 8-byte little-endian length, then the header).
fn header_dtypes(file: &Path) -> Result<Vec<(String, String)>, HfError> {
    let (_, entries) = read_header(file)?;
    Ok(entries.into_iter().map(|(n, e)| (n, e.dtype)).collect())
}

/// One tensor of `file`, open as `f`, whose data section starts at
/// `data_start`, read through a buffer of its own size.
fn read_tensor(
    f: &mut std::fs::File,
    file: &Path,
    data_start: u64,
    name: &str,
    entry: &HeaderEntry,
) -> Result<Tensor, HfError> {
    let bad = |message: String| HfError::Safetensors {
        file: file.to_path_buf(),
        message,
    };
    use std::io::Seek;
    let kind = match entry.dtype.as_str() {
        "F32" => Kind::Float,
        "F16" => Kind::Half,
        _ => Kind::BFloat16,
    };
    let [begin, end] = entry.data_offsets;
    let numel: i64 = entry.shape.iter().product();
    let want = numel as u64 * kind.elt_size_in_bytes() as u64;
    if end < begin || end - begin != want {
        return Err(bad(format!(
            "tensor `{name}`: {} bytes for shape {:?} in {}, which takes {want}",
            end.saturating_sub(begin),
            entry.shape,
            entry.dtype
        )));
    }
    let mut bytes = vec![0u8; want as usize];
    f.seek(std::io::SeekFrom::Start(data_start + begin))
        .and_then(|_| f.read_exact(&mut bytes))
        .map_err(|e| bad(format!("tensor `{name}`: cannot read its bytes: {e}")))?;
    Tensor::f_from_data_size(&bytes, &entry.shape, kind)
        .map_err(|e| bad(format!("tensor `{name}`: {e}")))
}

/// The data section's start and every tensor's entry, from the header.
fn read_header(file: &Path) -> Result<(u64, Vec<(String, HeaderEntry)>), HfError> {
    let io = |source| HfError::Io {
        file: file.to_path_buf(),
        source,
    };
    let bad = |message: String| HfError::Safetensors {
        file: file.to_path_buf(),
        message,
    };
    let mut f = std::fs::File::open(file).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    let mut len = [0u8; 8];
    f.read_exact(&mut len)
        .map_err(|e| bad(format!("no header: {e}")))?;
    let len = u64::from_le_bytes(len);
    if len > size.saturating_sub(8) || len > 100_000_000 {
        return Err(bad(format!("header length {len} exceeds the file")));
    }
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header).map_err(io)?;
    let entries: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&header).map_err(|e| bad(format!("invalid header: {e}")))?;
    let mut out = Vec::new();
    for (name, value) in entries {
        if name == "__metadata__" {
            continue;
        }
        let entry: HeaderEntry = serde_json::from_value(value)
            .map_err(|e| bad(format!("invalid header entry `{name}`: {e}")))?;
        out.push((name, entry));
    }
    Ok((8 + len, out))
}
