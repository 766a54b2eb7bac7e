//! An ordered parallel map: worker threads compute `f(item)` while the
//! calling thread consumes the results strictly in input order (the ingest
//! parses run folders on the workers and writes them to DuckDB, which has
//! one writer, on the calling thread). At most `window` results are
//! computed ahead of the consumer, which bounds the memory held.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Results waiting for the consumer, and whether to stop.
struct Shared<R> {
    ready: BTreeMap<usize, R>,
    /// Index of the next result the consumer takes.
    next: usize,
    /// Set when the consumer gave up or a worker panicked.
    stop: bool,
}

struct Queue<R> {
    state: Mutex<Shared<R>>,
    changed: Condvar,
}

impl<R> Queue<R> {
    fn lock(&self) -> MutexGuard<'_, Shared<R>> {
        // A worker that panicked holds no invariant the others rely on: its
        // panic reaches the caller when the scope joins it.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }
}

/// Stops the queue if its worker unwinds, so the consumer does not wait
/// for a result that will never come.
struct StopOnPanic<'a, R>(&'a Queue<R>);

impl<R> Drop for StopOnPanic<'_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop();
        }
    }
}

/// Call `consume(i, f(&items[i]))` for every `i` in order, computing `f` on
/// up to `threads` worker threads at most `window` items ahead. Stops at
/// the first error of `consume` and returns it.
pub fn for_each_ordered<T, R, E>(
    items: &[T],
    threads: usize,
    window: usize,
    f: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    let threads = threads.clamp(1, items.len().max(1));
    let window = window.max(1);
    let queue = Queue {
        state: Mutex::new(Shared {
            ready: BTreeMap::new(),
            next: 0,
            stop: false,
        }),
        changed: Condvar::new(),
    };
    let claimed = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let _guard = StopOnPanic(&queue);
                loop {
                    let i = claimed.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { return };
                    {
                        let mut state = queue.lock();
                        while !state.stop && i >= state.next + window {
                            state = queue
                                .changed
                                .wait(state)
                                .unwrap_or_else(std::sync::PoisonError::into_inner);
                        }
                        if state.stop {
                            return;
                        }
                    }
                    let result = f(item);
                    queue.lock().ready.insert(i, result);
                    queue.changed.notify_all();
                }
            });
        }
        let outcome = consume_in_order(&queue, items.len(), &mut consume);
        queue.stop();
        outcome
    })
}

/// The consumer's side: take results 0, 1, ... as they arrive. Returns
/// early (the scope then re-raises the worker's panic) when a worker died.
fn consume_in_order<R, E>(
    queue: &Queue<R>,
    count: usize,
    consume: &mut impl FnMut(usize, R) -> Result<(), E>,
) -> Result<(), E> {
    for i in 0..count {
        let result = {
            let mut state = queue.lock();
            loop {
                if let Some(r) = state.ready.remove(&i) {
                    state.next = i + 1;
                    break r;
                }
                if state.stop {
                    return Ok(());
                }
                state = queue
                    .changed
                    .wait(state)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        };
        queue.changed.notify_all();
        consume(i, result)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_input_order_whatever_the_speed() {
        let items: Vec<u64> = (0..200).collect();
        let mut seen = Vec::new();
        for_each_ordered(
            &items,
            4,
            3,
            |x| {
                // Early items are the slowest, so later ones finish first.
                std::thread::sleep(std::time::Duration::from_micros(200 - x));
                x * 2
            },
            |i, r| {
                seen.push((i, r));
                Ok::<(), ()>(())
            },
        )
        .expect("no error");
        assert_eq!(
            seen,
            (0..200).map(|i| (i as usize, i * 2)).collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_first_error_stops_everything() {
        let items: Vec<u32> = (0..1000).collect();
        let computed = AtomicUsize::new(0);
        let err = for_each_ordered(
            &items,
            2,
            4,
            |x| {
                computed.fetch_add(1, Ordering::Relaxed);
                *x
            },
            |i, _| if i == 5 { Err("stop") } else { Ok(()) },
        );
        assert_eq!(err, Err("stop"));
        assert!(
            computed.load(Ordering::Relaxed) < 20,
            "workers stopped within the window"
        );
    }

    #[test]
    fn nothing_to_do_is_fine() {
        let none: [u8; 0] = [];
        for_each_ordered(&none, 2, 2, |x| *x, |_, _| Err::<(), ()>(())).expect("no items");
    }

    #[test]
    #[should_panic(expected = "a scoped thread panicked")]
    fn a_worker_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..10).collect();
        let _ = for_each_ordered(
            &items,
            2,
            2,
            |x| {
                assert!(*x != 3, "boom");
                *x
            },
            |_, _| Ok::<(), ()>(()),
        );
    }
}
