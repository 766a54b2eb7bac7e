//! The command-trainer shim's hold on everything its program starts.
//!
//! [`adopt`] (called once, by the `command-trainer` process itself) makes
//! the shim a child subreaper, so a process whose parent dies is
//! reparented to the shim rather than to init, even if it left the
//! program's process group or session (`setsid`); asks the kernel for
//! SIGTERM when the coordinator dies (`PR_SET_PDEATHSIG`, even by
//! SIGKILL); and catches SIGTERM, SIGINT and SIGHUP as a request to stop.
//! [`kill_descendants`] then finds every process below the shim through
//! `/proc` and kills it; [`reap`] collects the ones reparented here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long the shim keeps killing what is below it before giving up.
pub const KILL_WITHIN: Duration = Duration::from_secs(5);

/// The signal that asked the shim to stop (0: none).
static STOP: AtomicI32 = AtomicI32::new(0);
/// The shim's parent when [`adopt`] ran (0: not adopted).
static PARENT: AtomicI32 = AtomicI32::new(0);
/// [`adopt`] ran: this process is the shim, and its descendants are its
/// program's.
static ADOPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(sig: libc::c_int) {
    let _ = STOP.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
}

/// Set this process up as the shim: subreaper, SIGTERM when the parent
/// dies, SIGTERM/SIGINT/SIGHUP caught. When the parent died already, the
/// stop request is set at once.
pub fn adopt() {
    // SAFETY: getppid(2) has no preconditions.
    let parent = unsafe { libc::getppid() };
    let handler: extern "C" fn(libc::c_int) = on_signal;
    // SAFETY: prctl(2) with these options only sets flags on this
    // process; the handler only stores to an atomic (async-signal-safe);
    // `action` is fully initialised.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0);
    }
    PARENT.store(parent, Ordering::SeqCst);
    ADOPTED.store(true, Ordering::SeqCst);
    // The parent may have died before PR_SET_PDEATHSIG took effect.
    if orphaned() {
        let _ = STOP.compare_exchange(0, libc::SIGTERM, Ordering::SeqCst, Ordering::SeqCst);
    }
}

/// The signal that asked the shim to stop, if one did.
pub fn stop_requested() -> Option<libc::c_int> {
    match STOP.load(Ordering::SeqCst) {
        0 => None,
        sig => Some(sig),
    }
}

/// The signal's name, for messages.
pub fn signal_name(sig: libc::c_int) -> &'static str {
    match sig {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Whether the coordinator that started the shim is gone.
pub fn orphaned() -> bool {
    let parent = PARENT.load(Ordering::SeqCst);
    // SAFETY: getppid(2) has no preconditions.
    parent != 0 && unsafe { libc::getppid() } != parent
}

/// SIGKILL every process below this one (the program, what it started,
/// and whatever was reparented here) until none is left alive or `within`
/// has passed. Does nothing unless [`adopt`] ran: in any other process,
/// children are not the shim's program's. Reaps nothing (the program is
/// reaped through its `Child`; see [`reap`]).
pub fn kill_descendants(within: Duration) {
    if !ADOPTED.load(Ordering::SeqCst) {
        return;
    }
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    let deadline = Instant::now() + within;
    loop {
        let below = descendants(me, &processes());
        for &pid in &below {
            // SAFETY: kill(2) on a process listed below this one a moment
            // ago: its pid is not reused until its parent (this process,
            // or one below it that is being killed too) reaps it.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        if below.is_empty() || Instant::now() >= deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Kills (and reaps) what the program left behind when dropped: the
/// shim's last word on every path out, errors included.
pub struct KillOnDrop(pub Duration);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        kill_descendants(self.0);
        reap();
    }
}

/// Act on the stop request `sig`, first seen at `since` (none: now); the
/// time to keep as `since`. With the coordinator gone, kill everything at
/// once (an error: nobody reads the events any more). Else the signal
/// reached the program too (the coordinator signals the shim's process
/// group): give it `grace` to exit, then kill it and everything below it
/// (and wait `grace` again before the next try). `log` tells the run log.
pub fn on_stop(
    sig: libc::c_int,
    since: Option<Instant>,
    grace: Duration,
    log: &mut dyn FnMut(String) -> Result<()>,
) -> Result<Instant> {
    let name = signal_name(sig);
    if orphaned() {
        kill_descendants(KILL_WITHIN);
        return Err(Error::runtime(format!(
            "the coordinator died ({name}); killed the command and everything it started"
        )));
    }
    let Some(at) = since else {
        log(format!(
            "{name}: stopping; the command gets {grace:.0?} to exit"
        ))?;
        return Ok(Instant::now());
    };
    if at.elapsed() < grace {
        return Ok(at);
    }
    log(format!(
        "the command did not exit within {grace:.0?} of {name}; killed it and everything it started"
    ))?;
    kill_descendants(KILL_WITHIN);
    Ok(Instant::now())
}

/// Reap every child of this process that has ended (once the program is
/// reaped: processes reparented here). Does nothing unless [`adopt`] ran.
pub fn reap() {
    if !ADOPTED.load(Ordering::SeqCst) {
        return;
    }
    let mut status = 0;
    // SAFETY: waitpid(2) with WNOHANG on any child; `status` is ours.
    while unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) } > 0 {}
}

/// One process as `/proc/PID/stat` describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proc {
    pid: i32,
    ppid: i32,
    zombie: bool,
}

/// Every process this one can see.
fn processes() -> Vec<Proc> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_stat(&stat)
        })
        .collect()
}

/// The pid, parent and state of a `/proc/PID/stat` line (whose command
/// name, in parentheses, may hold spaces and parentheses).
fn parse_stat(stat: &str) -> Option<Proc> {
    let (head, rest) = stat.rsplit_once(')')?;
    let pid = head.split_whitespace().next()?.parse().ok()?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some(Proc {
        pid,
        ppid,
        zombie: state == "Z" || state == "X",
    })
}

/// The live processes below `root` in `all`, parents before children.
fn descendants(root: i32, all: &[Proc]) -> Vec<i32> {
    let mut children: BTreeMap<i32, Vec<&Proc>> = BTreeMap::new();
    for p in all {
        children.entry(p.ppid).or_default().push(p);
    }
    let mut out = Vec::new();
    let mut pending = vec![root];
    while let Some(pid) = pending.pop() {
        for c in children.get(&pid).into_iter().flatten() {
            if c.pid != root && !out.contains(&c.pid) {
                if !c.zombie {
                    out.push(c.pid);
                }
                pending.push(c.pid);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, ppid: i32, zombie: bool) -> Proc {
        Proc { pid, ppid, zombie }
    }

    #[test]
    fn stat_lines_with_odd_command_names_parse() {
        let line = "4242 (my (odd) prog) S 17 4242 4242 0 -1 4194560 0 0";
        assert_eq!(parse_stat(line), Some(p(4242, 17, false)));
        assert_eq!(parse_stat("9 (z) Z 3 9 9"), Some(p(9, 3, true)));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn descendants_are_the_whole_subtree_without_zombies() {
        let all = [
            p(1, 0, false),
            p(10, 1, false),
            p(11, 10, false),
            p(12, 11, true),
            p(13, 12, false),
            p(20, 1, false),
            p(21, 99, false),
        ];
        let mut below = descendants(10, &all);
        below.sort_unstable();
        assert_eq!(below, vec![11, 13]);
        assert!(descendants(21, &all).is_empty());
    }

    #[test]
    fn nothing_is_killed_outside_the_shim() {
        // This test process did not adopt: its children are not a
        // program's, and must survive.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        kill_descendants(Duration::from_millis(50));
        assert!(child.try_wait().expect("poll").is_none());
        let _ = child.kill();
        let _ = child.wait();
    }
}
