//! Talking to the Slurm controller through its client commands: `sbatch`
//! submits, `scontrol show job` reports each task's state and exit code,
//! `scancel` cancels, `scontrol ping` checks the controller. Every command
//! runs without a shell and under a time limit; the output parsers are pure.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::state::SlurmState;
use crate::error::{Error, Result};

/// The client commands tunix-rt needs.
pub const TOOLS: &[&str] = &["sbatch", "scontrol", "scancel"];

/// How long one client command may take (the controller's own message
/// timeout is 10 s by default).
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// One job, or one array task, as `scontrol show job` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    /// The array index; none for a job that is not an array.
    pub index: Option<u32>,
    /// `PENDING`, `RUNNING`, `COMPLETED`, ...
    pub state: SlurmState,
    /// The script's exit code, or the signal that ended it.
    pub exit_code: Option<String>,
    /// How often it was requeued.
    pub restarts: u32,
    /// Why it waits or ended (`Reason`).
    pub reason: String,
}

/// Check that the client commands are on PATH and the controller answers;
/// nothing is written before this passes.
pub fn preflight() -> Result<()> {
    for tool in TOOLS {
        if crate::trainer::command::find_program(tool, Path::new("/")).is_err() {
            return Err(Error::bad_input(format!(
                "`{tool}` is not on PATH: `executor: slurm` needs Slurm's client commands ({}); run tunix-rt on the cluster's login node, or use `executor: local`",
                TOOLS.join(", ")
            )));
        }
    }
    let out = run("scontrol", &["ping"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    if out.status.success() && text.contains("is UP") {
        return Ok(());
    }
    Err(Error::runtime(format!(
        "the Slurm controller is not reachable (`scontrol ping`: {}); check SLURM_CONF and that slurmctld runs, then try again",
        first_line(&format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
    )))
}

/// Submit `script` with `options`; the job id.
pub fn submit(options: &[String], script: &Path) -> Result<String> {
    let mut args: Vec<&str> = options.iter().map(String::as_str).collect();
    let script_arg = script.display().to_string();
    args.push(&script_arg);
    let out = run("sbatch", &args)?;
    if !out.status.success() {
        return Err(Error::runtime(format!(
            "sbatch refused the job ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
        .with_path(script));
    }
    parse_job_id(&String::from_utf8_lossy(&out.stdout)).ok_or_else(|| {
        Error::runtime(format!(
            "sbatch printed no job id: {:?}",
            String::from_utf8_lossy(&out.stdout)
        ))
    })
}

/// Every task of job `job_id`; none when the controller no longer knows
/// the job (it ended longer ago than MinJobAge).
pub fn tasks(job_id: &str) -> Result<Option<Vec<Task>>> {
    let out = run("scontrol", &["-o", "show", "job", job_id])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        if stderr.contains("Invalid job id") {
            return Ok(None);
        }
        return Err(Error::runtime(format!(
            "`scontrol show job {job_id}` failed ({}): {}",
            out.status,
            stderr.trim()
        )));
    }
    Ok(Some(parse_tasks(&String::from_utf8_lossy(&out.stdout))))
}

/// Cancel job `job_id` (every task of an array).
pub fn cancel(job_id: &str) -> Result<()> {
    let out = run("scancel", &[job_id])?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::runtime(format!(
        "scancel {job_id} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// Run a client command to completion, killed after [`TOOL_TIMEOUT`].
fn run(program: &str, args: &[&str]) -> Result<Output> {
    let shown = format!("{program} {}", args.join(" "));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::runtime(format!("cannot run `{shown}`: {e}")))?;
    let deadline = Instant::now() + TOOL_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::runtime(format!(
                    "`{shown}` did not answer within {} s; is the Slurm controller up?",
                    TOOL_TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(Error::runtime(format!("waiting for `{shown}`: {e}"))),
        }
    }
    child
        .wait_with_output()
        .map_err(|e| Error::runtime(format!("reading `{shown}`'s output: {e}")))
}

/// The job id `sbatch --parsable` printed (`ID` or `ID;CLUSTER`).
pub fn parse_job_id(stdout: &str) -> Option<String> {
    let id = stdout.lines().last()?.split(';').next()?.trim();
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_digit())).then(|| id.to_string())
}

/// The tasks in `scontrol -o show job` output: one record per line; a
/// pending array range (`ArrayTaskId=2-5%2`, `1,3`) gives one task per
/// index.
pub fn parse_tasks(text: &str) -> Vec<Task> {
    let mut tasks = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some(state) = field(line, "JobState") else {
            continue;
        };
        let base = Task {
            index: None,
            state: SlurmState::parse(state),
            exit_code: field(line, "ExitCode").map(str::to_string),
            restarts: field(line, "Restarts")
                .and_then(|r| r.parse().ok())
                .unwrap_or(0),
            reason: field(line, "Reason").unwrap_or("").to_string(),
        };
        match field(line, "ArrayTaskId") {
            None => tasks.push(base),
            Some(ids) => tasks.extend(indices(ids).into_iter().map(|i| Task {
                index: Some(i),
                ..base.clone()
            })),
        }
    }
    tasks
}

/// The value of the first `key=` in a record (the fields tunix-rt reads
/// all come before the free-text ones such as `Command=` and `WorkDir=`).
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(' ')
        .find_map(|token| token.strip_prefix(key)?.strip_prefix('='))
}

/// The indices of an ArrayTaskId value: `3`, `0-7%2`, `1,3-4`.
fn indices(value: &str) -> Vec<u32> {
    let value = value.split('%').next().unwrap_or("");
    let mut out = Vec::new();
    for part in value.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) {
                    out.extend(a..=b);
                }
            }
            None => out.extend(part.parse::<u32>().ok()),
        }
    }
    out
}

fn first_line(text: &str) -> &str {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_ids_from_parsable_output() {
        assert_eq!(parse_job_id("42\n").as_deref(), Some("42"));
        assert_eq!(parse_job_id("42;cluster\n").as_deref(), Some("42"));
        assert_eq!(parse_job_id("Submitted batch job 42\n"), None);
        assert_eq!(parse_job_id(""), None);
    }

    #[test]
    fn tasks_from_scontrol_records() {
        let text = "\
JobId=12 ArrayJobId=10 ArrayTaskId=2-5%2 JobName=tunix-s-r4 UserId=root(0) JobState=PENDING Reason=JobArrayTaskLimit Dependency=(null) Requeue=1 Restarts=0 BatchFlag=1 Reboot=0 ExitCode=0:0 Command=/x y/JobState=COMPLETED
JobId=10 ArrayJobId=10 ArrayTaskId=0 JobName=tunix-s-r4 JobState=COMPLETED Reason=None Restarts=0 ExitCode=0:0
JobId=11 ArrayJobId=10 ArrayTaskId=1 JobName=tunix-s-r4 JobState=FAILED Reason=NonZeroExitCode Restarts=1 ExitCode=3:0
";
        let tasks = parse_tasks(text);
        let got: Vec<_> = tasks
            .iter()
            .map(|t| {
                (
                    t.index,
                    t.state.as_str(),
                    t.exit_code.as_deref(),
                    t.restarts,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (Some(2), "PENDING", Some("0:0"), 0),
                (Some(3), "PENDING", Some("0:0"), 0),
                (Some(4), "PENDING", Some("0:0"), 0),
                (Some(5), "PENDING", Some("0:0"), 0),
                (Some(0), "COMPLETED", Some("0:0"), 0),
                (Some(1), "FAILED", Some("3:0"), 1),
            ]
        );
        assert_eq!(tasks[0].reason, "JobArrayTaskLimit");
        let single = parse_tasks("JobId=7 JobName=t JobState=RUNNING Reason=None ExitCode=0:0\n");
        assert_eq!(single.len(), 1);
        assert_eq!(single[0].index, None);
        assert_eq!(indices("1,3-4"), [1, 3, 4]);
        assert_eq!(indices("7"), [7]);
    }
}
