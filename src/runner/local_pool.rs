//! The local executor: threads on this machine, one per slot (for a
//! sweep's trials, each slot with its GPU when the trials use GPUs, else a
//! share of the CPU threads), each taking the rung's jobs from one queue
//! and running them in trainer processes ([`super::train::execute`]),
//! retrying a failure while its class has retries left. A Train job runs
//! on one slot that pins nothing ([`LocalPool::pin`] off): its trainer
//! sees every GPU and the environment's thread settings, as a command
//! trainer under `torchrun` needs.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use super::executor::{job_key, Executor, RungEnd, RungWork};
use super::retry::Retries;
use super::rung_message::{failure_of, Message};
use super::train::{self, TrainJob};
use super::{Observer, Outcome};
use crate::error::Result;
use crate::job::Placement;
use crate::manifest::sweep::MaxRetries;
use crate::runfolder::Failure;
use crate::sweep::slots;
use crate::trainer::{Event, TrainerCommand};
use crate::workspace::Workspace;

/// The pool's settings, from the Sweep manifest.
pub(super) struct LocalPool<'a> {
    pub ws: &'a Workspace,
    /// The trials' trainer (with the sweep's `trial_timeout_s`).
    pub trainer: TrainerCommand,
    /// `max_concurrent_trials`.
    pub limit: usize,
    pub trials_per_gpu: u32,
    pub retries: MaxRetries,
    /// Give each slot its own GPU (`CUDA_VISIBLE_DEVICES`) or share of
    /// the CPU threads (`OMP_NUM_THREADS`); off, the pool runs one slot
    /// with the environment as it is.
    pub pin: bool,
}

/// An environment variable a slot's trainer gets.
type Var = (&'static str, String);

impl Executor for LocalPool<'_> {
    fn run_rung(
        &self,
        work: RungWork,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd> {
        let jobs = work.jobs;
        let gpus = match jobs.first() {
            Some(j) if self.pin && j.spec.device.may_use_gpu() => slots::visible_gpus(),
            _ => Vec::new(),
        };
        let wanted = self.limit.min(jobs.len());
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let user_threads = std::env::var_os("OMP_NUM_THREADS").is_some();
        let envs = slot_envs(
            self.pin,
            &gpus,
            self.trials_per_gpu,
            wanted,
            cores,
            user_threads,
        );
        self.run(jobs, envs, &work.retried, on_message)
            .map(|()| RungEnd::Done)
    }
}

/// What each slot's trainer gets on top of the pool's environment, one
/// entry per slot: pinned, its GPU (of `gpus`, `per_gpu` slots each, at
/// most `wanted` slots) or, on the CPU, a share of `cores` threads when
/// several slots share them and the user did not choose
/// (`user_threads`); not pinned, one slot that gets nothing.
fn slot_envs(
    pin: bool,
    gpus: &[String],
    per_gpu: u32,
    wanted: usize,
    cores: usize,
    user_threads: bool,
) -> Vec<Vec<Var>> {
    if !pin {
        return vec![Vec::new()];
    }
    let devices = match slots::assign(gpus, per_gpu, wanted) {
        d if d.is_empty() => vec![None],
        d => d,
    };
    let on_cpu = devices.iter().all(Option::is_none);
    let threads = slots::cpu_threads(cores, devices.len(), user_threads).filter(|_| on_cpu);
    devices
        .into_iter()
        .map(|device| {
            let gpu = device.map(|d| ("CUDA_VISIBLE_DEVICES", d));
            let omp = threads.map(|n| ("OMP_NUM_THREADS", n.to_string()));
            gpu.into_iter().chain(omp).collect()
        })
        .collect()
}

impl LocalPool<'_> {
    /// Run `jobs` on one slot per entry of `envs` (what each slot's
    /// trainer gets); `on_message` sees every message on this thread as
    /// it arrives. An error from `on_message` stops launching and is
    /// returned once the running jobs end.
    fn run(
        &self,
        jobs: Vec<TrainJob>,
        envs: Vec<Vec<Var>>,
        retried: &BTreeMap<String, Vec<Failure>>,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<()> {
        let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
        let halt = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<(String, Message)>();
        std::thread::scope(|s| {
            for env in envs {
                let tx = tx.clone();
                let (queue, halt) = (&queue, &halt);
                let mut trainer = self.trainer.clone();
                for (name, value) in env {
                    trainer.env.push((name.into(), value.into()));
                }
                s.spawn(move || loop {
                    if halt.load(Ordering::SeqCst) {
                        break;
                    }
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(job) = next else { break };
                    let result = self.attempts(&job, &trainer, &tx, retried);
                    let key = job_key(&job);
                    if tx.send((key, Message::Done(Box::new(result)))).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            let mut first_error = None;
            for (trial_id, message) in rx {
                if first_error.is_some() {
                    continue;
                }
                if let Err(e) = on_message(&trial_id, message) {
                    halt.store(true, Ordering::SeqCst);
                    first_error = Some(e);
                }
            }
            first_error.map_or(Ok(()), Err)
        })
    }

    /// Run `job` until it ends, retrying a failure while its class has
    /// retries left (counting those `retried` records for its trial).
    fn attempts(
        &self,
        job: &TrainJob,
        trainer: &TrainerCommand,
        tx: &mpsc::Sender<(String, Message)>,
        retried: &BTreeMap<String, Vec<Failure>>,
    ) -> Result<Outcome> {
        let trial_id = job_key(job);
        let mut retries = Retries::used_before(retried.get_key_value(&trial_id));
        loop {
            let mut forward = Forward { key: &trial_id, tx };
            let result = train::execute(self.ws, job, trainer, &mut forward);
            let Err(e) = &result else { return result };
            if e.interrupted_by().is_some() {
                return result;
            }
            let failure = match &job.placement {
                Placement::Fixed { dir, .. } => failure_of(dir, e),
                Placement::Numbered { .. } => return result,
            };
            let Some(attempt) = retries.next(&trial_id, &failure, self.retries) else {
                return result;
            };
            let message = Message::Retrying { failure, attempt };
            if tx.send((trial_id.clone(), message)).is_err() {
                return result;
            }
        }
    }
}

/// Forwards a trainer's events and notes to the caller's thread.
struct Forward<'a> {
    key: &'a str,
    tx: &'a mpsc::Sender<(String, Message)>,
}

impl Observer for Forward<'_> {
    fn event(&mut self, event: &Event) {
        let message = Message::Event(Box::new(event.clone()));
        let _ = self.tx.send((self.key.to_string(), message));
    }

    fn note(&mut self, message: &str) {
        let _ = self
            .tx
            .send((self.key.to_string(), Message::Note(message.to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gpus(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    fn var(name: &'static str, value: &str) -> Var {
        (name, value.to_string())
    }

    #[test]
    fn a_pinned_pool_gives_each_slot_its_gpu_or_a_share_of_the_cores() {
        let two = gpus(&["0", "1"]);
        assert_eq!(
            slot_envs(true, &two, 1, 3, 8, false),
            [
                vec![var("CUDA_VISIBLE_DEVICES", "0")],
                vec![var("CUDA_VISIBLE_DEVICES", "1")]
            ]
        );
        assert_eq!(
            slot_envs(true, &[], 1, 2, 8, false),
            [
                vec![var("OMP_NUM_THREADS", "4")],
                vec![var("OMP_NUM_THREADS", "4")]
            ]
        );
        assert_eq!(slot_envs(true, &[], 1, 2, 8, true), [vec![], vec![]]);
        assert_eq!(
            slot_envs(true, &two, 1, 1, 8, false),
            [vec![var("CUDA_VISIBLE_DEVICES", "0")]],
            "a sweep's one trial still gets one GPU"
        );
    }

    #[test]
    fn an_unpinned_pool_runs_one_slot_with_the_environment_as_it_is() {
        // A Train job: every GPU and the user's thread settings.
        let two = gpus(&["0", "1"]);
        assert_eq!(slot_envs(false, &two, 1, 1, 8, false), [Vec::<Var>::new()]);
        assert_eq!(slot_envs(false, &[], 4, 3, 8, false), [Vec::<Var>::new()]);
    }
}
