//! Running a trainer process: start it with a request file, read its
//! events line by line, keep the tail of its stderr, and make sure it never
//! outlives the process that started it.
//!
//! A trainer runs in a process group of its own, registered with
//! [`crate::interrupt`]: SIGINT or SIGTERM of this process sends the group
//! SIGTERM, and SIGKILL after [`interrupt::grace`]; the trainer's
//! [`TrainerExit::interrupted`] then says so. Once interrupted, no new
//! trainer starts. A trainer past its timeout is stopped the same way.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use super::protocol::{Event, REQUEST_ENV};
use crate::error::{Error, Result};
use crate::interrupt::{self, Group, Signal};

/// Lines of a trainer's stderr kept for the log and error messages.
const STDERR_TAIL: usize = 200;

/// A trainer program and its fixed arguments (the request file's path is
/// appended as `--request FILE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrainerCommand {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    /// Extra environment (e.g. a sweep slot's `CUDA_VISIBLE_DEVICES`).
    pub env: Vec<(OsString, OsString)>,
    /// Stop the trainer's whole process group after this long: SIGTERM,
    /// then SIGKILL after [`interrupt::grace`].
    pub timeout: Option<Duration>,
}

impl TrainerCommand {
    /// `program` with `args`, no extra environment and no timeout.
    pub fn new(program: impl Into<PathBuf>, args: &[&str]) -> Self {
        TrainerCommand {
            program: program.into(),
            args: args.iter().map(OsString::from).collect(),
            env: Vec::new(),
            timeout: None,
        }
    }
}

/// How a trainer process ended.
#[derive(Debug)]
pub struct TrainerExit {
    pub status: ExitStatus,
    /// The last lines it wrote on stderr.
    pub stderr_tail: Vec<String>,
    /// It ran past its timeout and its process group was stopped
    /// (SIGTERM, then SIGKILL after [`interrupt::grace`]).
    pub timed_out: bool,
    /// This process received the signal, and the trainer was stopped
    /// because of it.
    pub interrupted: Option<Signal>,
}

/// How often the watchdog looks at the clock and for a signal.
const WATCH_POLL: Duration = Duration::from_millis(50);

/// Start `cmd` on `request` and hand every event to `on_event`, in order.
/// Lines that are not protocol events (a user trainer's own prints) come
/// through as `Event::Log`. If `on_event` fails, the trainer is killed and
/// the error returned. After SIGINT or SIGTERM ([`crate::interrupt`]) no
/// trainer starts: an interrupted error.
pub fn run(
    cmd: &TrainerCommand,
    request: &Path,
    mut on_event: impl FnMut(Event) -> Result<()>,
) -> Result<TrainerExit> {
    interrupt::catch();
    if let Some(signal) = interrupt::received() {
        return Err(Error::interrupted(
            signal,
            format!("interrupted by {signal}; the trainer was not started"),
        ));
    }
    let mut command = Command::new(&cmd.program);
    command
        .args(&cmd.args)
        .arg("--request")
        .arg(request)
        .env(REQUEST_ENV, request)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    die_with_parent(&mut command);
    tracing::debug!("starting trainer {}", cmd.program.display());
    let mut child = command.spawn().map_err(|e| {
        Error::runtime(format!(
            "cannot start the trainer {}",
            cmd.program.display()
        ))
        .with_source(e)
    })?;
    let group = interrupt::register(child.id());
    let tail = Arc::new(Mutex::new(Vec::new()));
    let stderr_thread = child.stderr.take().map(|stderr| {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr)
                .lines()
                .map_while(std::io::Result::ok)
            {
                if let Ok(mut t) = tail.lock() {
                    if t.len() == STDERR_TAIL {
                        t.remove(0);
                    }
                    t.push(line);
                }
            }
        })
    });
    let pid = child.id();
    let (result, watched) = std::thread::scope(|scope| {
        let (done, until_done) = mpsc::channel::<()>();
        let group = &group;
        let watchdog = scope.spawn(move || watch(group, cmd.timeout, &until_done));
        let result = read_events(&mut child, &mut on_event);
        if result.is_err() {
            group.kill();
        }
        // Until it is reaped, the trainer's pid (and so its group id)
        // cannot be reused: stop the watchdog and kill whatever the
        // trainer started and left behind before reaping it.
        wait_unreaped(pid);
        drop(done);
        let watched = watchdog.join().unwrap_or_default();
        (result, watched)
    });
    group.kill();
    let interrupted = group.terminated().then(interrupt::received).flatten();
    drop(group);
    let status = child
        .wait()
        .map_err(|e| Error::runtime("cannot wait for the trainer").with_source(e));
    if let Some(t) = stderr_thread {
        let _ = t.join();
    }
    result?;
    let stderr_tail = tail.lock().map(|t| t.clone()).unwrap_or_default();
    Ok(TrainerExit {
        status: status?,
        stderr_tail,
        timed_out: watched.timed_out,
        interrupted,
    })
}

/// What the watchdog did.
#[derive(Debug, Default)]
struct Watched {
    timed_out: bool,
}

/// Until `until_done` is dropped: when `group` runs past `timeout`, or on
/// a signal, send it SIGTERM, and SIGKILL after [`interrupt::grace`]. The
/// grace lets the command-trainer shim kill what its program started,
/// `setsid` grandchildren included, which SIGKILL of the group would
/// leave behind.
fn watch(group: &Group, timeout: Option<Duration>, until_done: &mpsc::Receiver<()>) -> Watched {
    let started = Instant::now();
    let grace = interrupt::grace();
    let mut watched = Watched::default();
    let mut stopping: Option<Instant> = None;
    let mut killed = false;
    while let Err(mpsc::RecvTimeoutError::Timeout) = until_done.recv_timeout(WATCH_POLL) {
        if killed {
            continue;
        }
        if let Some(since) = stopping {
            if since.elapsed() >= grace {
                group.kill();
                killed = true;
            }
        } else if timeout.is_some_and(|limit| started.elapsed() >= limit) {
            group.terminate();
            watched.timed_out = true;
            stopping = Some(Instant::now());
        } else if interrupt::received().is_some() {
            group.terminate();
            stopping = Some(Instant::now());
        }
    }
    watched
}

fn read_events(child: &mut Child, on_event: &mut impl FnMut(Event) -> Result<()>) -> Result<()> {
    let Some(stdout) = child.stdout.take() else {
        return Ok(());
    };
    for line in BufReader::new(stdout).lines() {
        let line =
            line.map_err(|e| Error::runtime("cannot read the trainer's output").with_source(e))?;
        if line.trim().is_empty() {
            continue;
        }
        on_event(parse_line(&line))?;
    }
    Ok(())
}

/// A protocol event, or the line as a log message.
fn parse_line(line: &str) -> Event {
    if !line.trim_start().starts_with('{') {
        return Event::Log {
            message: format!("trainer: {line}"),
        };
    }
    Event::parse(line).unwrap_or_else(|e| Event::Log {
        message: format!("trainer wrote a line that is not a protocol event ({e}): {line}"),
    })
}

/// Put the child in a process group of its own (so it and everything it
/// starts can be killed together) and ask the kernel to kill it when this
/// process dies (even by SIGKILL), so a trainer never keeps writing into a
/// run folder whose lock its coordinator no longer holds.
fn die_with_parent(command: &mut Command) {
    command.process_group(0);
    kill_with_parent(command);
}

/// Ask the kernel to SIGKILL the child when this process dies.
pub(crate) fn kill_with_parent(command: &mut Command) {
    // SAFETY: the closure runs in the child between fork and exec and only
    // calls prctl(2), which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Wait until the child `pid` has exited, leaving it to be reaped.
fn wait_unreaped(pid: u32) {
    // SAFETY: waitid(2) with WNOWAIT on our own child only reads its state
    // into `info`, which lives on this stack.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        while libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT) != 0
            && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
        {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trainer::protocol::Failed;

    fn shell(script: &str) -> TrainerCommand {
        TrainerCommand::new("/bin/sh", &["-c", script, "sh"])
    }

    /// Whether process `pid` is gone (or a zombie nobody reaped yet).
    fn gone(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| r.trim_start().starts_with('Z'))
        })
    }

    #[test]
    fn a_timeout_kills_the_whole_process_group() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let pid_file = tmp.path().join("pid");
        let script = format!("sleep 60 & echo $! > {}; sleep 60", pid_file.display());
        let mut cmd = shell(&script);
        cmd.timeout = Some(Duration::from_millis(500));
        let started = std::time::Instant::now();
        let exit = run(&cmd, Path::new("r"), |_| Ok(())).expect("runs");
        assert!(exit.timed_out);
        assert!(!exit.status.success());
        assert!(started.elapsed() < Duration::from_secs(30));
        let pid = std::fs::read_to_string(&pid_file).expect("pid");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !gone(pid.trim()) && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(gone(pid.trim()), "the background child {pid} survived");
    }

    #[test]
    fn a_timeout_sends_sigterm_first_so_the_trainer_can_clean_up() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let cleaned = tmp.path().join("cleaned");
        let script = format!(
            "trap 'echo cleaned > {}; exit 1' TERM; while :; do sleep 0.05; done",
            cleaned.display()
        );
        let mut cmd = shell(&script);
        cmd.timeout = Some(Duration::from_millis(300));
        let exit = run(&cmd, Path::new("r"), |_| Ok(())).expect("runs");
        assert!(exit.timed_out);
        assert!(exit.interrupted.is_none());
        assert!(cleaned.exists(), "the trainer never saw SIGTERM");
    }

    #[test]
    fn a_quick_trainer_is_not_timed_out() {
        let mut cmd = shell("exit 0");
        cmd.timeout = Some(Duration::from_secs(30));
        let exit = run(&cmd, Path::new("r"), |_| Ok(())).expect("runs");
        assert!(!exit.timed_out && exit.status.success());
    }

    #[test]
    fn events_arrive_in_order_and_prints_become_log_lines() {
        let script = r#"echo '{"event":"log","message":"a"}'; echo plain; echo oops >&2; echo '{"event":"finished","step":4}'; test "$1" = --request && test -n "$TUNIX_REQUEST""#;
        let mut seen = Vec::new();
        let exit = run(&shell(script), Path::new("/tmp/req.json"), |e| {
            seen.push(e);
            Ok(())
        })
        .expect("runs");
        assert!(exit.status.success());
        assert_eq!(exit.stderr_tail, vec!["oops".to_string()]);
        assert_eq!(
            seen,
            vec![
                Event::Log {
                    message: "a".into()
                },
                Event::Log {
                    message: "trainer: plain".into()
                },
                Event::Finished { step: 4 },
            ]
        );
    }

    #[test]
    fn a_failing_handler_kills_the_trainer() {
        let script = r#"echo '{"event":"finished","step":1}'; sleep 30"#;
        let started = std::time::Instant::now();
        let err = run(&shell(script), Path::new("r"), |_| {
            Err(Error::runtime("disk full"))
        })
        .expect_err("handler error");
        assert!(err.to_string().contains("disk full"));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn malformed_events_are_kept_as_log_lines() {
        match parse_line(r#"{"event":"failed","class":"bogus","message":"x"}"#) {
            Event::Log { message } => assert!(message.contains("not a protocol event")),
            other => panic!("{other:?}"),
        }
        let good = Event::Failed(Failed {
            class: crate::trainer::protocol::FailureClass::Crash,
            message: "x".into(),
        });
        assert_eq!(parse_line(good.to_line().trim()), good);
    }

    #[test]
    fn a_missing_program_is_a_runtime_error() {
        let cmd = TrainerCommand::new("/nonexistent/trainer", &[]);
        let err = run(&cmd, Path::new("r"), |_| Ok(())).expect_err("missing");
        assert_eq!(err.exit_code(), 3);
    }
}
