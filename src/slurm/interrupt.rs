//! Ctrl-C (SIGINT) and SIGTERM while a coordinator waits on Slurm: the
//! signal is caught ([`crate::interrupt`]); the coordinator sees it at its
//! next poll, cancels its jobs, records the unfinished ones and ends as
//! interrupted (exit 130 or 143, as a local run).

use crate::interrupt::Signal;

/// Catch SIGINT and SIGTERM from now on (for the rest of the process).
pub fn catch() {
    crate::interrupt::catch();
}

/// The SIGINT or SIGTERM that arrived since [`catch`], if one did.
pub fn interrupted() -> Option<Signal> {
    crate::interrupt::received()
}
