//! The worker's commands: `train --request FILE` serves one trainer
//! request; `doctor` prints what libtorch sees as JSON.

use std::path::Path;

use tunix_rt::trainer::protocol::{Event, Failed, FailureClass, TrainerRequest, PROTOCOL_VERSION};

use crate::emit::Emitter;

/// Exit code after a refused request (bad config).
pub const EXIT_BAD_CONFIG: i32 = 2;
/// Exit code after a failure while training.
pub const EXIT_FAILED: i32 = 3;

/// Serve the request in `path`; returns the process exit code.
pub fn train(path: &Path) -> i32 {
    die_with_parent();
    let mut out = Emitter::stdout();
    let request = match read_request(path) {
        Ok(r) => r,
        Err(message) => {
            let _ = out.emit(&Event::Failed(Failed {
                class: FailureClass::Crash,
                message,
            }));
            return EXIT_FAILED;
        }
    };
    match crate::train::run::run(&request, &mut out) {
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

fn read_request(path: &Path) -> Result<TrainerRequest, String> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read the trainer request {}: {e}", path.display()))?;
    let request: TrainerRequest = serde_json::from_slice(&bytes)
        .map_err(|e| format!("the trainer request {} is not valid: {e}", path.display()))?;
    if request.protocol != PROTOCOL_VERSION {
        return Err(format!(
            "the trainer request speaks protocol {}, this worker speaks {PROTOCOL_VERSION}; use the tunix-rt-worker built with this tunix-rt",
            request.protocol
        ));
    }
    Ok(request)
}

/// Die when the coordinator dies, even if it was not the coordinator that
/// asked for it when starting this process.
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
