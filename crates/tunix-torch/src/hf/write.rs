//! Writing a file of an output folder so that it appears whole: the bytes
//! (or safetensors) go to a hidden temporary name beside it, which is then
//! renamed into place; an output folder is created, or taken when empty.

use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::hf::error::HfError;

fn io(file: &Path) -> impl FnOnce(std::io::Error) -> HfError + '_ {
    move |source| HfError::Io {
        file: file.to_path_buf(),
        source,
    }
}

/// The hidden temporary name beside `path`.
fn temp_of(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Create `dir` (and its parents), or take it when it exists and is empty.
pub fn fresh_dir(dir: &Path) -> Result<(), HfError> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
        if entries.next().is_some() {
            return Err(HfError::OutputNotEmpty {
                dir: dir.to_path_buf(),
            });
        }
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(io(dir))
}

/// Write `bytes` to `path` through a temporary file and a rename.
pub fn bytes(path: &Path, bytes: &[u8]) -> Result<(), HfError> {
    let tmp = temp_of(path);
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Copy `from` to `to` through a temporary file and a rename.
pub fn copy(from: &Path, to: &Path) -> Result<(), HfError> {
    let tmp = temp_of(to);
    std::fs::copy(from, &tmp).map_err(io(from))?;
    std::fs::rename(&tmp, to).map_err(io(to))
}

/// Write `tensors` (any device; moved to the CPU, made contiguous) as a
/// safetensors file at `path` through a temporary file and a rename.
pub fn safetensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), HfError> {
    let mut cpu = Vec::with_capacity(tensors.len());
    for (name, t) in tensors {
        let t = t
            .f_detach()?
            .f_to_device(tch::Device::Cpu)?
            .f_contiguous()?;
        cpu.push((name.as_str(), t));
    }
    let tmp = temp_of(path);
    Tensor::write_safetensors(&cpu, &tmp).map_err(|e| HfError::Safetensors {
        file: path.to_path_buf(),
        message: e.to_string(),
    })?;
    std::fs::rename(&tmp, path).map_err(io(path))
}
