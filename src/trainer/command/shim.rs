//! The shim between the trainer protocol and a command trainer: it runs
//! the user's program with its files and environment, and turns what the
//! program writes (output lines, metric lines, checkpoint folders,
//! predictions) into protocol events on its own stdout.
//!
//! Stopping: once the program reports a metric line at `until_step` (below
//! `max_steps`), it has `stop_grace` to exit by itself; then it gets
//! SIGTERM, and SIGKILL one grace later. A program that exits non-zero
//! before reaching its step crashed; one that exits zero has finished.
//! Its metric lines past the step are dropped, and predictions it wrote
//! after going past the step fail the run as `ignored_stop`
//! ([`super::overrun`]).
//!
//! Interrupts ([`tree`]): asked to stop (SIGTERM, SIGINT, SIGHUP: the
//! coordinator signals the shim's whole process group, the program
//! included), the shim gives the program `stop_grace` to exit, then kills
//! it and everything below it, and reports a failure. When the
//! coordinator dies, the shim kills everything below it at once. Whatever
//! the program leaves behind when it exits is killed too.

use std::collections::{BTreeSet, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::lines::{self, LineBuffer, StepOrder};
use super::overrun::Overrun;
use super::template;
use super::tree;
use super::*;
use crate::error::{Error, Result};
use crate::evalset::EvalSet;
use crate::fsutil::blake3_file;
use crate::runfolder::{Artifact, MetricRecord};
use crate::trainer::protocol::{
    checkpoints, CheckpointWritten, Event, Failed, FailureClass, Outputs, Started, TrainerRequest,
    CHECKPOINTS,
};
use crate::workspace::Workspace;

/// Environment variable: seconds a command trainer gets to stop by itself
/// after reaching its step (and again between SIGTERM and SIGKILL), and
/// after an interrupt; the default is [`DEFAULT_STOP_GRACE`].
pub use crate::interrupt::{DEFAULT_STOP_GRACE, STOP_GRACE_ENV};
/// Lines of the program's output quoted when it crashes.
const TAIL: usize = 12;
/// The scratch files in the run's control folder.
const METRICS_SCRATCH: &str = "trainer-metrics.jsonl";
const PREDICTIONS_SCRATCH: &str = "predictions.jsonl";

use super::pace::Settings;

/// Serve the request at `request_path`: run the spec's command and write
/// its events to `out`.
pub fn serve(
    req: &TrainerRequest,
    request_path: &Path,
    settings: &Settings,
    out: &mut dyn Write,
) -> Result<()> {
    let mut em = Emitter(out);
    let control = request_path.parent().unwrap_or(&req.run_dir).to_path_buf();
    match prepare(req, &control) {
        Ok(prepared) => supervise(req, &prepared, settings, &mut em),
        Err(f) => em.emit(&Event::Failed(f)),
    }
}

struct Emitter<'a>(&'a mut dyn Write);

impl Emitter<'_> {
    fn emit(&mut self, event: &Event) -> Result<()> {
        self.0
            .write_all(event.to_line().as_bytes())
            .and_then(|()| self.0.flush())
            .map_err(|e| Error::runtime("cannot write a protocol event").with_source(e))
    }

    fn log(&mut self, message: String) -> Result<()> {
        self.emit(&Event::Log { message })
    }
}

struct Prepared {
    argv: Vec<String>,
    program: PathBuf,
    env: Vec<(String, String)>,
    metrics_file: PathBuf,
    predictions_file: PathBuf,
    evalset: Option<EvalSet>,
    /// Metric lines a killed earlier attempt wrote and the run never
    /// recorded (see [`super::replay`]), reported before the program runs.
    replay: Vec<MetricRecord>,
}

fn bad_config(message: impl Into<String>) -> Failed {
    Failed {
        class: FailureClass::BadConfig,
        message: message.into(),
    }
}

fn prepare(req: &TrainerRequest, control: &Path) -> std::result::Result<Prepared, Failed> {
    let spec = &req.spec;
    let Some(command) = spec.command.as_ref().filter(|c| !c.is_empty()) else {
        return Err(bad_config("the Train spec has no `command` to run"));
    };
    let metrics_file = control.join(METRICS_SCRATCH);
    let predictions_file = control.join(PREDICTIONS_SCRATCH);
    let checkpoint_dir = req.run_dir.join(CHECKPOINTS);
    let replay = req.resume.as_ref().map_or_else(Vec::new, |r| {
        super::replay::unrecorded(&metrics_file, &req.run_dir, r.step)
    });
    for stale in [&metrics_file, &predictions_file] {
        match std::fs::remove_file(stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(bad_config(format!(
                    "cannot remove {}: {e}",
                    stale.display()
                )))
            }
            _ => {}
        }
    }
    std::fs::create_dir_all(&checkpoint_dir)
        .map_err(|e| bad_config(format!("cannot create {}: {e}", checkpoint_dir.display())))?;
    let path_text = |p: &Path| p.display().to_string();
    let trial_id = req.trial_id.clone().unwrap_or_default();
    let evalset = req
        .evalset
        .as_ref()
        .map(|p| path_text(p))
        .unwrap_or_default();
    let resume_dir = req.resume.as_ref().map(|r| path_text(&r.dir));
    let until = req.until_step.to_string();
    let run = [
        ("run_dir", path_text(&req.run_dir)),
        ("checkpoint_dir", path_text(&checkpoint_dir)),
        ("metrics_file", path_text(&metrics_file)),
        ("predictions_file", path_text(&predictions_file)),
        ("evalset", evalset.clone()),
        ("trial_id", trial_id.clone()),
        ("until_step", until.clone()),
        ("resume_dir", resume_dir.clone().unwrap_or_default()),
    ]
    .into_iter()
    .collect();
    let vars = template::context(&spec.training, &spec.params, &run);
    let argv = template::render(command, &vars).map_err(|problems| {
        let text: Vec<String> = problems
            .iter()
            .map(|p| format!("command[{}]: {}", p.index, p.message))
            .collect();
        bad_config(text.join("; "))
    })?;
    let program = find_program(&argv[0], &req.workspace).map_err(|e| bad_config(e.to_string()))?;
    let mut env: Vec<(String, String)> = spec
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.extend([
        (ENV_RUN_DIR.to_string(), path_text(&req.run_dir)),
        (ENV_METRICS_FILE.to_string(), path_text(&metrics_file)),
        (
            ENV_PREDICTIONS_FILE.to_string(),
            path_text(&predictions_file),
        ),
        (ENV_CHECKPOINT_DIR.to_string(), path_text(&checkpoint_dir)),
        (ENV_TRIAL_ID.to_string(), trial_id),
        (ENV_SEED.to_string(), spec.training.seed.to_string()),
        (ENV_UNTIL_STEP.to_string(), until),
        (
            ENV_MAX_STEPS.to_string(),
            spec.training.max_steps.to_string(),
        ),
        (
            ENV_RESUME_STEP.to_string(),
            req.resume.as_ref().map_or(0, |r| r.step).to_string(),
        ),
    ]);
    if let Some(dir) = resume_dir {
        env.push((ENV_RESUME_DIR.to_string(), dir));
    }
    let params = serde_json::to_string(&spec.params).unwrap_or_else(|_| "{}".into());
    env.push((ENV_PARAMS.to_string(), params));
    let evalset = match &req.evalset {
        Some(p) => {
            env.push((ENV_EVALSET.to_string(), evalset));
            let ws = Workspace::at(&req.workspace).map_err(|e| bad_config(e.to_string()))?;
            Some(crate::dataset::load_evalset(&ws, p).map_err(|e| bad_config(e.to_string()))?)
        }
        None => None,
    };
    Ok(Prepared {
        argv,
        program,
        env,
        metrics_file,
        predictions_file,
        evalset,
        replay,
    })
}

/// What the program has done so far.
struct Watch {
    metrics: LineBuffer,
    /// Refuses metric steps that go backwards.
    order: StepOrder,
    /// Metrics reported non-finite (logged once each).
    non_finite: BTreeSet<String>,
    offset: u64,
    last_step: Option<u64>,
    reported: BTreeSet<u32>,
    tail: VecDeque<String>,
    /// Metric lines past `until_step` (dropped), and what that means for
    /// the predictions.
    overrun: Overrun,
}

fn supervise(
    req: &TrainerRequest,
    p: &Prepared,
    settings: &Settings,
    em: &mut Emitter,
) -> Result<()> {
    let start_step = req.resume.as_ref().map_or(0, |r| r.step);
    let model_id = super::trainer_name(&p.argv);
    em.emit(&Event::Started(Started {
        device: "external".into(),
        framework_version: "command".into(),
        model_id,
        parameters: 0,
        dataset: None,
        start_step,
        notes: Vec::new(),
    }))?;
    em.log(format!("command: {}", p.argv.join(" ")))?;
    if !p.replay.is_empty() {
        em.log(format!(
            "reporting {} metric line(s) up to step {start_step} that the previous attempt wrote but the run had not recorded",
            p.replay.len()
        ))?;
        for record in &p.replay {
            em.emit(&Event::Metrics(record.clone()))?;
        }
    }
    if let Some(sig) = tree::stop_requested() {
        return em.emit(&Event::Failed(stopped(sig, None)));
    }
    let mut command = Command::new(&p.program);
    command
        .args(&p.argv[1..])
        .current_dir(&req.workspace)
        .envs(p.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    crate::trainer::process::kill_with_parent(&mut command);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return em.emit(&Event::Failed(bad_config(format!(
                "cannot start `{}`: {e}",
                p.program.display()
            ))))
        }
    };
    let _leftovers = tree::KillOnDrop(tree::KILL_WITHIN);
    let (tx, rx) = mpsc::channel::<String>();
    forward(child.stdout.take(), tx.clone());
    forward(child.stderr.take(), tx);
    let mut watch = Watch {
        metrics: LineBuffer::default(),
        order: StepOrder::default(),
        non_finite: BTreeSet::new(),
        offset: 0,
        last_step: None,
        reported: checkpoints(&req.run_dir).iter().map(|c| c.step).collect(),
        tail: VecDeque::new(),
        overrun: Overrun::default(),
    };
    let until = u64::from(req.until_step);
    let stops_early = req.until_step < req.spec.training.max_steps;
    let mut reached_at: Option<Instant> = None;
    let mut signalled = 0u8;
    let mut closed_at: Option<Instant> = None;
    let mut stopping: Option<Instant> = None;
    let status = loop {
        if let Some(sig) = tree::stop_requested() {
            let log = &mut |m: String| em.log(m);
            stopping = Some(tree::on_stop(sig, stopping, settings.stop_grace, log)?);
        }
        match closed_at {
            None => match rx.recv_timeout(settings.poll) {
                Ok(line) => {
                    watch.output(line, em)?;
                    continue;
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => closed_at = Some(Instant::now()),
            },
            Some(at) => std::thread::sleep(settings.pause_after_close(at.elapsed())),
        }
        if let Err(f) = watch.poll(req, p, until, stops_early, em) {
            kill(&mut child, libc::SIGKILL);
            let _ = child.wait();
            return em.emit(&Event::Failed(f));
        }
        if stops_early && reached_at.is_none() && watch.last_step.is_some_and(|s| s >= until) {
            reached_at = Some(Instant::now());
        }
        if let Some(t) = reached_at {
            let waited = t.elapsed();
            if signalled == 0 && waited >= settings.stop_grace {
                em.log(format!(
                    "the command did not exit within {:.0?} of reaching step {until}; sent SIGTERM",
                    settings.stop_grace
                ))?;
                kill(&mut child, libc::SIGTERM);
                signalled = 1;
            } else if signalled == 1 && waited >= settings.stop_grace * 2 {
                em.log("the command ignored SIGTERM; sent SIGKILL".into())?;
                kill(&mut child, libc::SIGKILL);
                signalled = 2;
            }
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => return Err(Error::runtime("cannot wait for the command").with_source(e)),
        }
    };
    tree::kill_descendants(tree::KILL_WITHIN);
    let drain_until = Instant::now() + Duration::from_secs(1);
    while let Ok(line) = rx.recv_timeout(drain_until.saturating_duration_since(Instant::now())) {
        watch.output(line, em)?;
    }
    if let Err(f) = watch.poll(req, p, until, stops_early, em) {
        return em.emit(&Event::Failed(f));
    }
    if let Some(sig) = tree::stop_requested() {
        return em.emit(&Event::Failed(stopped(sig, watch.last_step)));
    }
    let reached = watch.last_step.is_some_and(|s| s >= until);
    if status.success() || (reached && (signalled > 0 || stops_early)) {
        finish(req, p, &watch, em)
    } else {
        em.emit(&Event::Failed(crashed(&p.argv[0], status, &watch.tail)))
    }
}

/// The failure of a program stopped by `sig` at `step`.
fn stopped(sig: libc::c_int, step: Option<u64>) -> Failed {
    Failed {
        class: FailureClass::Crash,
        message: format!(
            "the command trainer was stopped by {}{} before finishing",
            tree::signal_name(sig),
            step.map(|s| format!(" at step {s}")).unwrap_or_default()
        ),
    }
}

impl Watch {
    fn output(&mut self, line: String, em: &mut Emitter) -> Result<()> {
        if self.tail.len() == TAIL {
            self.tail.pop_front();
        }
        self.tail.push_back(line.clone());
        em.log(line)
    }

    /// Report new metric lines and checkpoints.
    fn poll(
        &mut self,
        req: &TrainerRequest,
        p: &Prepared,
        until: u64,
        stops_early: bool,
        em: &mut Emitter,
    ) -> std::result::Result<(), Failed> {
        let emit_failed = |e: Error| Failed {
            class: FailureClass::Crash,
            message: e.to_string(),
        };
        self.overrun.look(&p.predictions_file);
        let bytes = lines::read_from(&p.metrics_file, self.offset).map_err(|e| Failed {
            class: FailureClass::Crash,
            message: format!("cannot read {}: {e}", p.metrics_file.display()),
        })?;
        self.offset += bytes.len() as u64;
        let shown = "the command's metrics file ($TUNIX_METRICS_FILE)";
        for (n, text) in self.metrics.feed(&bytes) {
            let parsed = lines::metric(shown, n, &text)?;
            self.order.accept(shown, n, parsed.record.step)?;
            for key in parsed.non_finite {
                if !self.non_finite.contains(&key) {
                    em.log(format!(
                        "{shown} line {n}: `{key}` is not finite and is left out (noted once per metric)"
                    ))
                    .map_err(emit_failed)?;
                    self.non_finite.insert(key);
                }
            }
            let record: MetricRecord = parsed.record;
            if stops_early && record.step > until {
                if self.overrun.went_past() {
                    em.log(format!(
                        "ignored metric lines past step {until}, where this run was asked to stop"
                    ))
                    .map_err(emit_failed)?;
                }
                continue;
            }
            if record.step > u64::from(req.spec.training.max_steps) {
                return Err(Failed {
                    class: FailureClass::BadMetrics,
                    message: format!(
                        "{shown} line {n} reports step {}, past training.max_steps ({})",
                        record.step, req.spec.training.max_steps
                    ),
                });
            }
            self.last_step = Some(self.last_step.map_or(record.step, |s| s.max(record.step)));
            em.emit(&Event::Metrics(record)).map_err(emit_failed)?;
        }
        for c in checkpoints(&req.run_dir) {
            if self.reported.contains(&c.step) {
                continue;
            }
            let files = checkpoint_files(&req.run_dir, &c.dir).map_err(emit_failed)?;
            self.reported.insert(c.step);
            em.emit(&Event::Checkpoint(CheckpointWritten {
                step: c.step,
                files,
            }))
            .map_err(emit_failed)?;
        }
        Ok(())
    }
}

/// The program ended well: score its predictions and finish.
fn finish(req: &TrainerRequest, p: &Prepared, watch: &Watch, em: &mut Emitter) -> Result<()> {
    let step = req.until_step;
    if watch.last_step.is_none_or(|s| s < u64::from(step)) {
        em.log(format!(
            "the command exited 0 before reporting step {step}; taking it as finished at step {step}"
        ))?;
    }
    if let Some(set) = &p.evalset {
        if let Some(f) = watch.overrun.judge(&p.predictions_file, step) {
            return em.emit(&Event::Failed(f));
        }
        let shown = "the command's predictions ($TUNIX_PREDICTIONS_FILE)";
        let bytes = match std::fs::read(&p.predictions_file) {
            Ok(b) if !b.trim_ascii().is_empty() => b,
            _ => return em.emit(&Event::Failed(no_predictions(step, &p.predictions_file))),
        };
        let predictions = match crate::predictions::parse(shown, &bytes, &set.items) {
            Ok(p) => p,
            Err(diagnostics) => {
                let text: Vec<String> = diagnostics.iter().take(5).map(|d| d.to_string()).collect();
                return em.emit(&Event::Failed(Failed {
                    class: FailureClass::Crash,
                    message: format!(
                        "{} problem(s) in {shown}: {}",
                        diagnostics.len(),
                        text.join("; ")
                    ),
                }));
            }
        };
        em.emit(&Event::Outputs(Outputs {
            step,
            last: true,
            outputs: predictions.by_id,
            truncated_prompts: Vec::new(),
        }))?;
        em.emit(&Event::Metrics(MetricRecord::at(u64::from(step))))?;
    }
    em.emit(&Event::Finished { step })
}

/// The program finished but wrote no predictions although the manifest
/// has an `eval` section: what to write, or what to drop.
fn no_predictions(step: u32, file: &Path) -> Failed {
    Failed {
        class: FailureClass::NoPredictions,
        message: format!(
            "the command trained to step {step} but wrote no predictions to $TUNIX_PREDICTIONS_FILE ({}). \
             The manifest has an `eval:` section, so before exiting the program must write one JSON line \
             {{\"id\": ..., \"output\": ...}} per item of the eval set ($TUNIX_EVALSET) to $TUNIX_PREDICTIONS_FILE; \
             or drop `eval:` from the manifest to train without evaluating",
            file.display()
        ),
    }
}

/// A crash (or, by its output, an out-of-memory) with the output's tail.
fn crashed(program: &str, status: ExitStatus, tail: &VecDeque<String>) -> Failed {
    let oom = tail.iter().any(|l| {
        let l = l.to_ascii_lowercase();
        l.contains("out of memory") || l.contains("outofmemoryerror")
    });
    let tail: Vec<&str> = tail.iter().map(String::as_str).collect();
    Failed {
        class: if oom {
            FailureClass::OutOfMemory
        } else {
            FailureClass::Crash
        },
        message: format!(
            "`{program}` exited ({status}) before finishing{}",
            if tail.is_empty() {
                String::new()
            } else {
                format!("; its last output:\n{}", tail.join("\n"))
            }
        ),
    }
}

/// Send every line of `pipe` to `tx` from a thread of its own.
fn forward(pipe: Option<impl Read + Send + 'static>, tx: mpsc::Sender<String>) {
    if let Some(pipe) = pipe {
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(std::io::Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
}

/// Every file under the checkpoint folder `dir`, hashed, with paths
/// relative to the run folder.
fn checkpoint_files(run_dir: &Path, dir: &Path) -> Result<Vec<Artifact>> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io("list", &d, e))?;
        for entry in entries {
            let path = entry.map_err(|e| Error::io("list", &d, e))?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let (blake3, bytes) = blake3_file(&path)?;
                files.push(Artifact {
                    path: crate::runfolder::relative_path(run_dir, &path),
                    blake3,
                    bytes,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn kill(child: &mut Child, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) on our own child's pid; it is not yet reaped
        // (try_wait has not returned its status), so the pid is its own.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}
