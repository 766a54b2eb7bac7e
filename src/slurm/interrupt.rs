//! Ctrl-C (SIGINT) and SIGTERM while a coordinator waits on Slurm: the
//! signal only sets a flag; the coordinator sees it at its next poll,
//! cancels its jobs and records the unfinished ones.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Catch SIGINT and SIGTERM from now on (for the rest of the process).
pub fn catch() {
    // SAFETY: the handler only stores to an atomic, which is
    // async-signal-safe; `signal` replaces the default disposition.
    let handler: extern "C" fn(libc::c_int) = on_signal;
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
    }
}

/// Whether SIGINT or SIGTERM arrived since [`catch`].
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
