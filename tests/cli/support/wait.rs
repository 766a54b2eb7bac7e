//! Waiting for a condition: the one polling loop of these tests.
//!
//! ```ignore
//! wait_for("five steps", Duration::from_secs(60))
//!     .watching(&mut child)
//!     .until(|| lines(&metrics) >= 5);
//! ```

use std::io::Read;
use std::process::Child;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a condition is checked unless [`Wait::every`] says otherwise:
/// short next to what the tests wait for (training steps, a process
/// starting or ending), long enough that a waiting test leaves the CPU to
/// the processes it waits on.
pub const POLL: Duration = Duration::from_millis(20);

/// Check `ready` every [`POLL`] until it holds (true) or `within` has
/// passed (false). For a test that acts on either outcome (say, kills
/// the survivors before failing); [`wait_for`] fails by itself.
pub fn poll_until(within: Duration, ready: impl FnMut() -> bool) -> bool {
    poll(within, POLL, ready)
}

/// Check `ready` every `every` until it holds or `within` has passed;
/// `ready` is checked once more at the deadline, so a slow check cannot
/// lose the last chance.
fn poll(within: Duration, every: Duration, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if ready() {
            return true;
        }
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        std::thread::sleep(every.min(deadline - now));
    }
}

/// A wait for `what` (the condition, named for the failure message), at
/// most `within`: the deadline catches a hang, not a slow machine, so make
/// it generous. Run it with [`Wait::until`].
pub fn wait_for(what: impl Into<String>, within: Duration) -> Wait<'static> {
    Wait {
        what: what.into(),
        within,
        every: POLL,
        child: None,
    }
}

/// A condition to wait for; see [`wait_for`].
#[must_use = "nothing is waited for until `until` is called"]
pub struct Wait<'c> {
    what: String,
    within: Duration,
    every: Duration,
    child: Option<&'c mut Child>,
}

impl<'c> Wait<'c> {
    /// Check every `every` instead of every [`POLL`] (for a costly check,
    /// such as one that runs a command).
    pub fn every(self, every: Duration) -> Self {
        Wait { every, ..self }
    }

    /// Also watch `child`, the process expected to bring the condition
    /// about: fail as soon as it exits before the condition holds, with its
    /// exit status and its stderr (when piped and not taken); on timeout it
    /// is killed, and its stderr shown the same way.
    pub fn watching(self, child: &mut Child) -> Wait<'_> {
        Wait {
            what: self.what,
            within: self.within,
            every: self.every,
            child: Some(child),
        }
    }

    /// Wait until `ready` holds; panic naming the condition when it does
    /// not within the deadline, or when the watched child exits first.
    pub fn until(self, mut ready: impl FnMut() -> bool) {
        let Wait {
            what,
            within,
            every,
            mut child,
        } = self;
        let mut exited = None;
        let held = poll(within, every, || {
            if ready() {
                return true;
            }
            if let Some(child) = child.as_deref_mut() {
                exited = child.try_wait().expect("poll the child");
            }
            exited.is_some()
        });
        match exited {
            // It exited, but perhaps only once the condition held.
            Some(status) if !ready() => fail(
                child,
                format!("the process exited ({status}) before {what}"),
            ),
            _ if !held => fail(
                child,
                format!("timed out after {within:?} waiting for {what}"),
            ),
            _ => {}
        }
    }
}

/// Panic with `message`, after killing and reaping `child` (if any) and
/// adding its stderr when it was piped.
fn fail(child: Option<&mut Child>, message: String) -> ! {
    let Some(child) = child else {
        panic!("{message}")
    };
    let _ = child.kill();
    let _ = child.wait();
    match stderr_of(child) {
        Some(stderr) => panic!("{message}; stderr:\n{stderr}"),
        None => panic!("{message}"),
    }
}

/// How long [`stderr_of`] waits for the pipe to close: a process the child
/// started may still hold it.
const STDERR_GRACE: Duration = Duration::from_secs(5);

/// What the ended `child` wrote to its piped stderr, if piped: all of it,
/// or what came within [`STDERR_GRACE`] when the pipe stays open.
fn stderr_of(child: &mut Child) -> Option<String> {
    let mut pipe = child.stderr.take()?;
    let read = Arc::new(Mutex::new(Vec::new()));
    let (done, closed) = mpsc::channel();
    {
        let read = Arc::clone(&read);
        std::thread::spawn(move || {
            let mut chunk = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                read.lock().expect("stderr").extend_from_slice(&chunk[..n]);
            }
            let _ = done.send(());
        });
    }
    let open = closed.recv_timeout(STDERR_GRACE).is_err();
    let mut text = String::from_utf8_lossy(&read.lock().expect("stderr")).into_owned();
    if open {
        text.push_str(&format!(
            "\n(stderr still open after {STDERR_GRACE:?}: a process it started holds it)"
        ));
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};

    /// The panic message of `f`, which must panic.
    fn panic_of(f: impl FnOnce()) -> String {
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).expect_err("it must fail");
        payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default()
    }

    fn sh(script: &str) -> Child {
        Command::new("sh")
            .args(["-c", script])
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh")
    }

    #[test]
    fn a_condition_that_holds_ends_the_wait() {
        let mut n = 0;
        wait_for("three checks", Duration::from_secs(60)).until(|| {
            n += 1;
            n == 3
        });
        assert_eq!(n, 3);
        assert!(!poll_until(Duration::from_millis(50), || false));
    }

    #[test]
    fn a_condition_that_never_holds_fails_naming_it() {
        let message = panic_of(|| wait_for("nothing", Duration::from_millis(50)).until(|| false));
        assert!(message.contains("waiting for nothing"), "{message}");
    }

    #[test]
    fn a_watched_child_that_exits_first_fails_at_once_with_its_stderr() {
        let mut child = sh("echo boom >&2; exit 3");
        let message = panic_of(|| {
            wait_for("nothing", Duration::from_secs(60))
                .watching(&mut child)
                .until(|| false);
        });
        assert!(
            message.contains("exited (exit status: 3) before nothing") && message.contains("boom"),
            "{message}"
        );
    }

    #[test]
    fn a_pipe_held_open_by_a_grandchild_does_not_hang_the_failure() {
        let mut child = sh("echo boom >&2; sleep 7 & exit 3");
        let message = panic_of(|| {
            wait_for("nothing", Duration::from_secs(60))
                .watching(&mut child)
                .until(|| false);
        });
        assert!(
            message.contains("exit status: 3")
                && message.contains("boom")
                && message.contains("stderr still open"),
            "{message}"
        );
    }

    #[test]
    fn a_watched_child_is_killed_when_the_wait_times_out() {
        let mut child = sh("exec sleep 60");
        let message = panic_of(|| {
            wait_for("nothing", Duration::from_millis(50))
                .watching(&mut child)
                .until(|| false);
        });
        assert!(message.contains("timed out"), "{message}");
        assert!(child.try_wait().expect("poll").is_some(), "still running");
    }
}
