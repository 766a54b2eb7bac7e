//! The local executor: threads on this machine, one per slot (each slot
//! with its GPU when the trials use GPUs, else a share of the CPU
//! threads), each taking the rung's trial jobs from one queue and running
//! them in trainer processes ([`super::train::execute`]), retrying a
//! failure while its class has retries left.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use super::executor::{Executor, RungEnd, RungWork};
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
}

impl Executor for LocalPool<'_> {
    fn run_rung(
        &self,
        work: RungWork,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<RungEnd> {
        let jobs = work.jobs;
        let gpus = match jobs.first() {
            Some(j) if j.spec.device.may_use_gpu() => slots::visible_gpus(),
            _ => Vec::new(),
        };
        let devices = slots::assign(&gpus, self.trials_per_gpu, self.limit.min(jobs.len()));
        self.run(jobs, devices, &work.retried, on_message)
            .map(|()| RungEnd::Done)
    }
}

impl LocalPool<'_> {
    /// Run `jobs` on the slots `devices`; `on_message` sees every message
    /// on this thread as it arrives. An error from `on_message` stops
    /// launching and is returned once the running jobs end.
    fn run(
        &self,
        jobs: Vec<TrainJob>,
        devices: Vec<Option<String>>,
        retried: &BTreeMap<String, Vec<Failure>>,
        on_message: &mut dyn FnMut(&str, Message) -> Result<()>,
    ) -> Result<()> {
        let queue = Mutex::new(jobs.into_iter().collect::<VecDeque<_>>());
        let halt = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<(String, Message)>();
        let slots = if devices.is_empty() {
            vec![None]
        } else {
            devices
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let on_cpu = slots.iter().all(Option::is_none);
        let threads = slots::cpu_threads(
            cores,
            slots.len(),
            std::env::var_os("OMP_NUM_THREADS").is_some(),
        )
        .filter(|_| on_cpu);
        std::thread::scope(|s| {
            for device in slots {
                let tx = tx.clone();
                let (queue, halt) = (&queue, &halt);
                let mut trainer = self.trainer.clone();
                if let Some(d) = device {
                    trainer.env.push(("CUDA_VISIBLE_DEVICES".into(), d.into()));
                }
                if let Some(n) = threads {
                    trainer
                        .env
                        .push(("OMP_NUM_THREADS".into(), n.to_string().into()));
                }
                s.spawn(move || loop {
                    if halt.load(Ordering::SeqCst) {
                        break;
                    }
                    let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                    let Some(job) = next else { break };
                    let result = self.attempts(&job, &trainer, &tx, retried);
                    let trial_id = job.trial_id.clone().unwrap_or_default();
                    if tx
                        .send((trial_id, Message::Done(Box::new(result))))
                        .is_err()
                    {
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
        let trial_id = job.trial_id.clone().unwrap_or_default();
        let mut retries = Retries::used_before(retried.get_key_value(&trial_id));
        loop {
            let mut progress = Progress {
                trial_id: &trial_id,
                tx,
            };
            let result = train::execute(self.ws, job, trainer, &mut progress);
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

/// Forwards a trial trainer's steps to the coordinator.
struct Progress<'a> {
    trial_id: &'a str,
    tx: &'a mpsc::Sender<(String, Message)>,
}

impl Observer for Progress<'_> {
    fn event(&mut self, event: &Event) {
        if let Event::Metrics(r) = event {
            let _ = self
                .tx
                .send((self.trial_id.to_string(), Message::Progress(r.step)));
        }
    }
}
