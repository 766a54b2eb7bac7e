//! Checkpoints: `checkpoints/step-NNNNNNNN/` in the run folder with
//! `model.safetensors` (the weights, loadable with
//! `safetensors.torch.load_file`), `optimizer.safetensors` (AdamW moments)
//! and `state.json` (step, RNG scheme, hashes). A checkpoint is written under
//! a temporary name and renamed into place, so a kill never leaves a partial
//! one. Only the newest checkpoint keeps its optimizer state; older ones keep
//! their weights for evaluation.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use tunix_core::error::{Error, Result};
use tunix_core::fsutil::{blake3_file, write_atomic};
use tunix_core::protocol::checkpoint_dir_name;
use tunix_core::runfolder::{relative_path, to_json_bytes, Artifact};

pub use tunix_core::protocol::MODEL_FILE;
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
pub use tunix_core::protocol::{CHECKPOINTS, CHECKPOINT_STATE as STATE_FILE};

/// What `state.json` records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointState {
    /// Optimizer steps completed.
    pub step: u32,
    /// Hash of the run's resolved config; resume refuses a different one.
    pub config_hash: String,
    /// Training seed. Batches and dropout masks of step `s` are drawn from
    /// generators seeded with (seed, s), so (seed, step) is the whole RNG
    /// state.
    pub seed: u64,
    pub rng_scheme: String,
    /// Mean training loss over the last logging interval.
    pub loss: Option<f64>,
    pub model_blake3: String,
    pub optimizer_blake3: String,
}

/// The RNG scheme recorded in checkpoints.
pub const RNG_SCHEME: &str = "per-step: xoshiro256**(derive(seed, batch/step)), torch manual_seed(derive(seed, dropout/step))";

/// Folder of the checkpoint after `step` steps.
pub fn dir_for(run_dir: &Path, step: u32) -> PathBuf {
    run_dir.join(CHECKPOINTS).join(checkpoint_dir_name(step))
}

/// Write a checkpoint (under a temporary name, then renamed into place);
/// returns its files relative to the run folder, with blake3. `extras`
/// writes any further files into the (temporary) folder it is given and
/// returns their names (e.g. a PEFT adapter beside the weights).
pub fn save(
    run_dir: &Path,
    state: &mut CheckpointState,
    model: &[(String, Tensor)],
    optimizer: &[(String, Tensor)],
    extras: &dyn Fn(&Path) -> Result<Vec<String>>,
) -> Result<Vec<Artifact>> {
    let root = run_dir.join(CHECKPOINTS);
    let final_dir = dir_for(run_dir, state.step);
    let tmp = root.join(format!(
        ".tmp-step-{:08}-{}",
        state.step,
        std::process::id()
    ));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| Error::io("clear", &tmp, e))?;
    }
    std::fs::create_dir_all(&tmp)
        .map_err(|e| Error::io("create the checkpoint folder", &tmp, e))?;
    let mut files = Vec::new();
    let result = (|| {
        let (model_blake3, model_bytes) = write_tensors(&tmp.join(MODEL_FILE), model)?;
        let (optimizer_blake3, optimizer_bytes) =
            write_tensors(&tmp.join(OPTIMIZER_FILE), optimizer)?;
        state.model_blake3 = model_blake3.clone();
        state.optimizer_blake3 = optimizer_blake3.clone();
        let state_bytes = to_json_bytes(state)?;
        write_atomic(&tmp.join(STATE_FILE), &state_bytes)?;
        let rel = |name: &str| relative_path(run_dir, &final_dir.join(name));
        files = vec![
            Artifact {
                path: rel(MODEL_FILE),
                blake3: model_blake3,
                bytes: model_bytes,
            },
            Artifact {
                path: rel(OPTIMIZER_FILE),
                blake3: optimizer_blake3,
                bytes: optimizer_bytes,
            },
            Artifact::new(rel(STATE_FILE), &state_bytes),
        ];
        for name in extras(&tmp)? {
            let (blake3, bytes) = blake3_file(&tmp.join(&name))?;
            files.push(Artifact {
                path: rel(&name),
                blake3,
                bytes,
            });
        }
        if final_dir.exists() {
            std::fs::remove_dir_all(&final_dir)
                .map_err(|e| Error::io("replace the checkpoint", &final_dir, e))?;
        }
        std::fs::rename(&tmp, &final_dir)
            .map_err(|e| Error::io("move the checkpoint into place", &final_dir, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result?;
    for (step, dir) in list(run_dir) {
        if step < state.step {
            let _ = std::fs::remove_file(dir.join(OPTIMIZER_FILE));
        }
    }
    Ok(files)
}

/// Write tensors as safetensors; returns the file's blake3 and size.
fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(String, u64)> {
    let cpu = tensors
        .iter()
        .map(|(n, t)| {
            Ok((
                n.clone(),
                t.f_detach()?.f_to_device(Device::Cpu)?.f_contiguous()?,
            ))
        })
        .collect::<std::result::Result<Vec<_>, tch::TchError>>()
        .map_err(|e| Error::runtime("cannot copy tensors for a checkpoint").with_source(e))?;
    Tensor::write_safetensors(&cpu, path).map_err(|e| {
        Error::runtime("cannot write the checkpoint")
            .with_path(path)
            .with_source(e)
    })?;
    blake3_file(path)
}

/// Checkpoint folders of a run (with weights), oldest first.
pub fn list(run_dir: &Path) -> Vec<(u32, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(run_dir.join(CHECKPOINTS)) else {
        return Vec::new();
    };
    let mut out: Vec<(u32, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse::<u32>().ok()?;
            let dir = e.path();
            (dir.join(STATE_FILE).is_file() && dir.join(MODEL_FILE).is_file())
                .then_some((step, dir))
        })
        .collect();
    out.sort();
    out
}

/// Read `state.json` of a checkpoint folder.
pub fn read_state(dir: &Path) -> Result<CheckpointState> {
    let path = dir.join(STATE_FILE);
    let bytes =
        std::fs::read(&path).map_err(|e| Error::io("read the checkpoint state", &path, e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::runtime(format!("checkpoint state is not valid: {e}")).with_path(&path))
}

/// Read a safetensors file of a checkpoint, checking its blake3.
pub fn read_tensors(path: &Path, blake3: &str) -> Result<Vec<(String, Tensor)>> {
    if blake3_file(path)?.0 != blake3 {
        return Err(Error::runtime(
            "checkpoint file does not match the blake3 in its state.json (corrupted or replaced); delete this checkpoint folder to fall back to an earlier one",
        )
        .with_path(path));
    }
    Tensor::read_safetensors(path).map_err(|e| {
        Error::runtime("cannot read the checkpoint")
            .with_path(path)
            .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &Path) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    fn state(step: u32) -> CheckpointState {
        CheckpointState {
            step,
            config_hash: "h".into(),
            seed: 1,
            rng_scheme: RNG_SCHEME.into(),
            loss: Some(1.5),
            model_blake3: String::new(),
            optimizer_blake3: String::new(),
        }
    }

    #[test]
    fn checkpoints_round_trip_and_only_the_newest_keeps_optimizer_state() {
        let dir = tempfile::tempdir().unwrap();
        let w = vec![("w".to_string(), Tensor::from_slice(&[1.0f32, 2.0]))];
        let m = vec![("exp_avg.w".to_string(), Tensor::from_slice(&[0.5f32, 0.25]))];
        let mut s10 = state(10);
        save(dir.path(), &mut s10, &w, &m, &none).unwrap();
        let mut s20 = state(20);
        let files = save(dir.path(), &mut s20, &w, &m, &none).unwrap();
        assert_eq!(
            list(dir.path()).iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            vec![10, 20]
        );
        for f in &files {
            let (hash, bytes) = blake3_file(&dir.path().join(&f.path)).unwrap();
            assert_eq!((hash, bytes), (f.blake3.clone(), f.bytes), "{}", f.path);
        }
        let point = tunix_core::protocol::newest_checkpoint(dir.path()).unwrap();
        assert_eq!(point.step, 20);
        let latest = point.dir;
        assert!(!dir_for(dir.path(), 10).join(OPTIMIZER_FILE).exists());
        let read = read_state(&latest).unwrap();
        assert_eq!(read, s20);
        let t = read_tensors(&latest.join(MODEL_FILE), &read.model_blake3).unwrap();
        assert_eq!(t[0].0, "w");
        assert!(t[0].1.equal(&w[0].1));
    }

    #[test]
    fn a_corrupted_checkpoint_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let w = vec![("w".to_string(), Tensor::from_slice(&[1.0f32]))];
        let mut s = state(5);
        save(dir.path(), &mut s, &w, &w, &none).unwrap();
        let at = dir_for(dir.path(), 5);
        std::fs::write(at.join(MODEL_FILE), b"garbage").unwrap();
        let err = read_tensors(&at.join(MODEL_FILE), &s.model_blake3).unwrap_err();
        assert!(
            err.to_string().contains("does not match the blake3"),
            "{err}"
        );
    }
}
