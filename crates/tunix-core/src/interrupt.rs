//! SIGINT (Ctrl-C) and SIGTERM in a coordinating process: stop the
//! trainers it started, whole process groups, and end as interrupted
//! instead of dying on the spot with its run folders left `running`.
//!
//! [`catch`] installs the handler for the rest of the process. The handler
//! does only what is async-signal-safe: it records the first signal and
//! sends SIGTERM to the process group of every live trainer (the registry
//! of [`Group`]s); a second signal sends them SIGKILL and exits at once
//! (128 + the signal). Whoever waits on a trainer sees [`received`],
//! escalates to SIGKILL after [`grace`], and records the run as
//! interrupted.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::Once;
use std::time::Duration;

use crate::exit_code::{EXIT_INTERRUPTED, EXIT_TERMINATED};

/// Environment variable: seconds a trainer gets to stop by itself (a
/// command trainer after reaching its step or on an interrupt; between
/// SIGTERM and SIGKILL).
pub const STOP_GRACE_ENV: &str = "TUNIX_RT_STOP_GRACE_S";
/// The default of [`STOP_GRACE_ENV`].
pub const DEFAULT_STOP_GRACE: Duration = Duration::from_secs(10);

/// A signal that ends a coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C.
    Interrupt,
    /// SIGTERM: `kill`, a batch system, a shutdown.
    Terminate,
}

impl Signal {
    fn from_raw(n: i32) -> Option<Signal> {
        match n {
            libc::SIGINT => Some(Signal::Interrupt),
            libc::SIGTERM => Some(Signal::Terminate),
            _ => None,
        }
    }

    /// `SIGINT` or `SIGTERM`.
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The exit code a shell reports for it: 130 or 143.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Interrupt => EXIT_INTERRUPTED,
            Signal::Terminate => EXIT_TERMINATED,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// Live trainer process groups: `pgid` while running, `-pgid` once sent
/// SIGTERM, 0 for a free slot.
const SLOTS: usize = 256;
static GROUPS: [AtomicI32; SLOTS] = [const { AtomicI32::new(0) }; SLOTS];

extern "C" fn on_signal(sig: libc::c_int) {
    let first = RECEIVED
        .compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok();
    for slot in &GROUPS {
        let pgid = slot.load(Ordering::SeqCst);
        if first {
            if pgid > 0
                && slot
                    .compare_exchange(pgid, -pgid, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                signal_group(pgid, libc::SIGTERM);
            }
        } else if pgid != 0 {
            signal_group(pgid.abs(), libc::SIGKILL);
        }
    }
    if !first {
        // SAFETY: _exit(2) is async-signal-safe; the trainers are killed.
        unsafe { libc::_exit(128 + sig) }
    }
}

fn signal_group(pgid: i32, signal: libc::c_int) {
    // SAFETY: kill(2) is async-signal-safe; a negative pid signals the
    // process group `pgid`, a trainer's own (its leader is not reaped
    // while it is registered, so the id is not reused).
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Catch SIGINT and SIGTERM from now on (for the rest of the process).
pub fn catch() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let handler: extern "C" fn(libc::c_int) = on_signal;
        // SAFETY: the handler only touches atomics and calls kill(2) and
        // _exit(2), all async-signal-safe; `action` is fully initialised.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
            libc::sigaction(libc::SIGTERM, &action, std::ptr::null_mut());
        }
    });
}

/// The first SIGINT or SIGTERM since [`catch`], if any.
pub fn received() -> Option<Signal> {
    Signal::from_raw(RECEIVED.load(Ordering::SeqCst))
}

/// How long a trainer gets between SIGTERM and SIGKILL: a command
/// trainer's stop grace ([`stop_grace`]) and five seconds for the shim to
/// kill what its program left behind.
pub fn grace() -> Duration {
    stop_grace() + Duration::from_secs(5)
}

/// [`STOP_GRACE_ENV`] when set to a number of seconds, else
/// [`DEFAULT_STOP_GRACE`].
pub fn stop_grace() -> Duration {
    std::env::var(STOP_GRACE_ENV)
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(DEFAULT_STOP_GRACE, Duration::from_secs_f64)
}

/// A live trainer's process group, registered so that a signal stops it.
/// Drop it before reaping the group's leader.
#[derive(Debug)]
pub struct Group {
    pgid: i32,
    slot: Option<&'static AtomicI32>,
    /// SIGTERM sent, when no slot was free.
    sent: AtomicBool,
}

/// Register the process group `pgid`; when a signal already arrived, it
/// is sent SIGTERM at once.
pub fn register(pgid: u32) -> Group {
    let pgid = i32::try_from(pgid).unwrap_or(0);
    let slot = (pgid > 0)
        .then(|| {
            GROUPS.iter().find(|s| {
                s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            })
        })
        .flatten();
    let group = Group {
        pgid,
        slot,
        sent: AtomicBool::new(false),
    };
    if received().is_some() {
        group.terminate();
    }
    group
}

impl Group {
    /// Send the group SIGTERM, unless it was sent already.
    pub fn terminate(&self) {
        if self.pgid <= 0 {
            return;
        }
        let first = match self.slot {
            Some(s) => s
                .compare_exchange(self.pgid, -self.pgid, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok(),
            None => !self.sent.swap(true, Ordering::SeqCst),
        };
        if first {
            signal_group(self.pgid, libc::SIGTERM);
        }
    }

    /// Send the group SIGKILL.
    pub fn kill(&self) {
        if self.pgid > 0 {
            signal_group(self.pgid, libc::SIGKILL);
        }
    }

    /// Whether the group was sent SIGTERM because of a signal.
    pub fn terminated(&self) -> bool {
        match self.slot {
            Some(s) => s.load(Ordering::SeqCst) < 0,
            None => self.sent.load(Ordering::SeqCst),
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(s) = self.slot {
            s.store(0, Ordering::SeqCst);
        }
    }
}

/// The command line `command` (this process's arguments) as the user
/// would type it again: the program's name, then its arguments, quoted
/// where the shell needs it.
pub fn rerun_command(command: &[String]) -> String {
    let Some((program, args)) = command.split_first() else {
        return "the same command again".to_string();
    };
    let name = Path::new(program)
        .file_name()
        .map_or_else(|| program.clone(), |n| n.to_string_lossy().into_owned());
    std::iter::once(&name)
        .chain(args)
        .map(|w| {
            let plain = !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c));
            if plain {
                w.clone()
            } else {
                crate::shell::quote(w)
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_map_to_the_shells_exit_codes() {
        assert_eq!(Signal::from_raw(libc::SIGINT), Some(Signal::Interrupt));
        assert_eq!(Signal::from_raw(libc::SIGTERM), Some(Signal::Terminate));
        assert_eq!(Signal::from_raw(0), None);
        assert_eq!(Signal::Interrupt.exit_code(), 130);
        assert_eq!(Signal::Terminate.exit_code(), 143);
        assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
    }

    #[test]
    fn a_group_takes_a_slot_and_frees_it() {
        // Above any pid_max: no process has it, whatever is signalled.
        let fake = 2_000_000_000;
        let group = register(fake);
        let taken = |v: i32| GROUPS.iter().any(|s| s.load(Ordering::SeqCst) == v);
        assert!(taken(2_000_000_000));
        assert!(!group.terminated());
        drop(group);
        assert!(!taken(2_000_000_000));
    }

    #[test]
    fn the_rerun_command_is_the_program_name_and_its_quoted_arguments() {
        let argv = |w: &[&str]| w.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            rerun_command(&argv(&[
                "/x/target/debug/tunix-rt",
                "run",
                "manifests/a.yaml",
                "--until-step",
                "7"
            ])),
            "tunix-rt run manifests/a.yaml --until-step 7"
        );
        assert_eq!(
            rerun_command(&argv(&["tunix-rt", "run", "my runs/a b.yaml"])),
            "tunix-rt run 'my runs/a b.yaml'"
        );
        assert_eq!(rerun_command(&[]), "the same command again");
    }
}
