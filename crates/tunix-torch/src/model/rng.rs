//! libtorch's CPU generator is global to the process. Code that seeds it
//! and then draws from it — a model's initialisation, a training step's
//! dropout masks — holds [`lock`] throughout, so no other thread's seeding
//! or drawing lands in between and the draws stay a function of the seed.
//! The worker runs one thread, so the lock never waits there; tests run
//! many in one process.

use std::sync::{Mutex, MutexGuard, PoisonError};

static LOCK: Mutex<()> = Mutex::new(());

/// Hold libtorch's global generator until the guard drops.
pub fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(PoisonError::into_inner)
}
