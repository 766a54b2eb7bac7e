//! The worker's commands: `train --request FILE` serves one trainer
//! request; `generate --request FILE` decodes an eval set with a
//! checkpoint; `generate-hf --request FILE` decodes rendered prompts with a
//! Hugging Face model folder (and a fine-tuned checkpoint over it);
//! `export-hf --request FILE` writes a fine-tuned checkpoint merged into
//! its base as a Hugging Face folder; `doctor` prints what libtorch sees
//! as JSON.

use std::path::{Path, PathBuf};

use tunix_core::protocol::{
    Event, Failed, FailureClass, GenerateRequest, HfExportRequest, HfGenerateRequest,
    TrainerRequest, PROTOCOL_VERSION,
};

use crate::emit::Emitter;

/// Exit code after a refused request (bad config).
pub const EXIT_BAD_CONFIG: i32 = 2;
/// Exit code after a failure while training.
pub const EXIT_FAILED: i32 = 3;

/// Serve the trainer request in `path`; returns the process exit code.
pub fn train(path: &Path) -> i32 {
    serve(path, |request: &TrainerRequest, out| {
        crate::train::run::run(request, out)
    })
}

/// Serve the generate request in `path`; returns the process exit code.
pub fn generate(path: &Path) -> i32 {
    serve(path, |request: &GenerateRequest, out| {
        crate::train::decode::run(request, out)
    })
}

/// Serve the Hugging Face generate request in `path`; returns the process
/// exit code.
pub fn generate_hf(path: &Path) -> i32 {
    serve(path, |request: &HfGenerateRequest, out| {
        crate::train::decode_hf::run(request, out)
    })
}

/// Serve the Hugging Face export request in `path`; returns the process
/// exit code.
pub fn export_hf(path: &Path) -> i32 {
    serve(path, |request: &HfExportRequest, out| {
        crate::train::fine_tuned::export(request, out)
    })
}

/// Read the request in `path`, run `job` on it and end with `finished` or
/// `failed`; returns the process exit code.
fn serve<R: Request>(
    path: &Path,
    job: impl FnOnce(&R, &mut Emitter) -> Result<u32, crate::failure::Failure>,
) -> i32 {
    die_with_parent();
    let mut out = Emitter::stdout();
    let request = match read_request::<R>(path) {
        Ok(r) => r,
        Err(e) => {
            let _ = out.emit(&Event::Failed(Failed {
                class: FailureClass::Crash,
                message: e.to_string(),
            }));
            return EXIT_FAILED;
        }
    };
    match job(&request, &mut out) {
        Ok(step) => match out.emit(&Event::Finished { step }) {
            Ok(()) => 0,
            Err(_) => EXIT_FAILED,
        },
        Err(failure) => {
            let code = if failure.class == FailureClass::BadConfig {
                EXIT_BAD_CONFIG
            } else {
                EXIT_FAILED
            };
            let _ = out.emit(&Event::Failed(Failed {
                class: failure.class,
                message: failure.message,
            }));
            code
        }
    }
}

/// A request the worker serves.
trait Request: serde::de::DeserializeOwned {
    fn protocol(&self) -> u32;
}

impl Request for TrainerRequest {
    fn protocol(&self) -> u32 {
        self.protocol
    }
}

impl Request for GenerateRequest {
    fn protocol(&self) -> u32 {
        self.protocol
    }
}

impl Request for HfExportRequest {
    fn protocol(&self) -> u32 {
        self.protocol
    }
}

impl Request for HfGenerateRequest {
    fn protocol(&self) -> u32 {
        self.protocol
    }
}

/// Why the worker cannot serve a request file.
#[derive(Debug, thiserror::Error)]
enum RequestError {
    /// The file cannot be read.
    #[error("cannot read the worker request {}: {error}", .path.display())]
    CannotRead {
        /// The request file.
        path: PathBuf,
        /// Why it cannot be read.
        error: std::io::Error,
    },
    /// The file is not a request of the expected kind.
    #[error("the worker request {} is not valid: {error}", .path.display())]
    Invalid {
        /// The request file.
        path: PathBuf,
        /// Why it does not parse.
        error: serde_json::Error,
    },
    /// The request speaks another protocol version.
    #[error(
        "the worker request speaks protocol {found}, this worker speaks {ours}; use the tunix-rt-worker built with this tunix-rt",
        ours = PROTOCOL_VERSION
    )]
    Protocol {
        /// The request's protocol version.
        found: u32,
    },
}

/// Read and check the request in `path`.
fn read_request<R: Request>(path: &Path) -> Result<R, RequestError> {
    let bytes = std::fs::read(path).map_err(|error| RequestError::CannotRead {
        path: path.to_path_buf(),
        error,
    })?;
    let request: R = serde_json::from_slice(&bytes).map_err(|error| RequestError::Invalid {
        path: path.to_path_buf(),
        error,
    })?;
    if request.protocol() != PROTOCOL_VERSION {
        return Err(RequestError::Protocol {
            found: request.protocol(),
        });
    }
    Ok(request)
}

/// Die when the coordinator dies, even if it was not the coordinator that
/// asked for it when starting this process.
// Exits here: the parent is already gone (the death signal was set too
// late), so there is no caller to return to and nothing to report.
#[allow(clippy::exit)]
fn die_with_parent() {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
    }
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } == 1 {
        std::process::exit(EXIT_FAILED);
    }
}
