//! Environment report: versions of the tool and DuckDB, the workspace, and
//! — asked of the trainer worker, the only program that loads libtorch —
//! libtorch and CUDA.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What the trainer worker reports about libtorch (`tunix-rt-worker doctor`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TorchReport {
    pub libtorch_version: String,
    pub libtorch_lib: String,
    pub cuda_available: bool,
    pub cuda_devices: Vec<String>,
    pub cudnn_available: bool,
}

/// What `tunix-rt doctor` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub tool_version: String,
    pub libtorch_version: String,
    pub libtorch_lib: String,
    pub cuda_available: bool,
    pub cuda_devices: Vec<String>,
    pub cudnn_available: bool,
    pub duckdb_version: String,
    pub workspace: PathBuf,
    /// The trainer worker that was asked, if found.
    pub worker: Option<PathBuf>,
    /// Why the worker could not be asked (training is then unavailable).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_error: Option<String>,
}

/// Gather the report.
pub fn report(workspace: PathBuf) -> Result<Report> {
    let worker = crate::trainer::locate::worker();
    let torch = worker.as_ref().map_err(Error::to_string).and_then(ask);
    let (torch, worker_error) = match torch {
        Ok(t) => (t, None),
        Err(e) => (
            TorchReport {
                libtorch_version: "unknown".into(),
                libtorch_lib: String::new(),
                cuda_available: false,
                cuda_devices: Vec::new(),
                cudnn_available: false,
            },
            Some(e),
        ),
    };
    Ok(Report {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        libtorch_version: torch.libtorch_version,
        libtorch_lib: torch.libtorch_lib,
        cuda_available: torch.cuda_available,
        cuda_devices: torch.cuda_devices,
        cudnn_available: torch.cudnn_available,
        duckdb_version: duckdb_version()?,
        workspace,
        worker: worker.ok(),
        worker_error,
    })
}

/// Run `WORKER doctor` and read its JSON report.
fn ask(worker: &PathBuf) -> std::result::Result<TorchReport, String> {
    let out = std::process::Command::new(worker)
        .arg("doctor")
        .output()
        .map_err(|e| format!("cannot run {}: {e}", worker.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} doctor failed ({}): {}",
            worker.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{} doctor printed no report: {e}", worker.display()))
}

fn duckdb_version() -> Result<String> {
    let conn = duckdb::Connection::open_in_memory()
        .map_err(|e| Error::runtime("cannot open an in-memory DuckDB").with_source(e))?;
    conn.query_row("SELECT version()", [], |row| row.get::<_, String>(0))
        .map_err(|e| Error::runtime("cannot query the DuckDB version").with_source(e))
}
