//! Environment report: versions of the tool and DuckDB, the workspace, and
//! — asked of the trainer worker, the only program that loads libtorch —
//! libtorch and CUDA.

use std::path::PathBuf;

use serde::Serialize;

use crate::error::{Error, Result};

pub use crate::trainer::protocol::TorchReport;

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
    let torch = match &worker {
        Ok(w) => ask(w).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
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

/// Why the trainer worker could not report on libtorch.
#[derive(Debug, thiserror::Error)]
enum AskError {
    /// The worker could not be started.
    #[error("cannot run {}: {error}", .worker.display())]
    CannotRun {
        /// The worker's executable.
        worker: PathBuf,
        /// Why it could not be started.
        error: std::io::Error,
    },
    /// `WORKER doctor` exited with a failure.
    #[error("{} doctor failed ({status}): {stderr}", .worker.display())]
    Failed {
        /// The worker's executable.
        worker: PathBuf,
        /// How it exited.
        status: std::process::ExitStatus,
        /// What it printed on stderr, trimmed.
        stderr: String,
    },
    /// `WORKER doctor` printed something other than its JSON report.
    #[error("{} doctor printed no report: {error}", .worker.display())]
    NoReport {
        /// The worker's executable.
        worker: PathBuf,
        /// Why its output is not a report.
        error: serde_json::Error,
    },
}

/// Run `WORKER doctor` and read its JSON report.
fn ask(worker: &PathBuf) -> std::result::Result<TorchReport, AskError> {
    let out = std::process::Command::new(worker)
        .arg("doctor")
        .output()
        .map_err(|error| AskError::CannotRun {
            worker: worker.clone(),
            error,
        })?;
    if !out.status.success() {
        return Err(AskError::Failed {
            worker: worker.clone(),
            status: out.status,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    serde_json::from_slice(&out.stdout).map_err(|error| AskError::NoReport {
        worker: worker.clone(),
        error,
    })
}

fn duckdb_version() -> Result<String> {
    let conn = duckdb::Connection::open_in_memory()
        .map_err(|e| Error::runtime("cannot open an in-memory DuckDB").with_source(e))?;
    conn.query_row("SELECT version()", [], |row| row.get::<_, String>(0))
        .map_err(|e| Error::runtime("cannot query the DuckDB version").with_source(e))
}
