//! Work done in parallel, results used in order.
//!
//! `hunt` matches work units on worker threads, the calling thread among them, which also
//! prints their alerts in input order between its own units. The printer does not wait for a
//! whole batch to finish (which left a core idle behind the slowest unit of every batch and
//! while the batch was printed); it takes
//! each result as soon as every earlier one has been taken. Workers start an item only while
//! it is within `window` items of the printer and the finished results not yet printed hold
//! at most `bytes` (the item the printer waits for always starts), so memory stays bounded
//! however many alerts the input raises.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex, PoisonError};

/// How far workers may run ahead of the consumer.
#[derive(Clone, Copy, Debug)]
pub struct Ahead {
    /// Items at most between the consumer's next item and the last one started.
    pub window: usize,
    /// Bytes of finished results not yet consumed past which no further item starts.
    pub bytes: usize,
}

/// How far the consumer has got, shared with the workers.
struct Gate {
    /// Items handed to the consumer so far.
    consumed: usize,
    /// Size of the results finished and not yet consumed.
    held: usize,
    /// The consumer failed: workers stop.
    stopped: bool,
}

/// Stops every worker when the one holding it panics: the item it was working on never
/// arrives, so the others would wait for the consumer forever instead of ending and letting
/// the panic pass on.
struct StopOnPanic<'a> {
    gate: &'a Mutex<Gate>,
    moved: &'a Condvar,
}

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut gate = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
            gate.stopped = true;
            drop(gate);
            self.moved.notify_all();
        }
    }
}

impl Gate {
    fn may_start(&self, index: usize, ahead: Ahead) -> bool {
        self.stopped
            || index == self.consumed
            || (index < self.consumed + ahead.window && self.held <= ahead.bytes)
    }
}

/// Runs `work` over every item on `threads` threads, the calling thread one of them (each
/// with its own state from `init`), and hands the results to `consume` in item order, on the
/// calling thread, between its items; `size` tells how many bytes a result holds. With one
/// thread, everything runs on the calling thread, one item after another.
///
/// Stops at the first error of `consume` and returns it; items not yet started are left.
/// A panic in `work` is passed on once the other workers have stopped.
pub fn for_each_ordered<T, R, S, E>(
    items: &[T],
    threads: usize,
    ahead: Ahead,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
    size: impl Fn(&R) -> usize + Sync,
    mut consume: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    T: Sync,
    R: Send,
{
    if threads <= 1 || items.len() <= 1 {
        let mut state = init();
        for item in items {
            consume(work(&mut state, item))?;
        }
        return Ok(());
    }
    let ahead = Ahead {
        window: ahead.window.max(1),
        ..ahead
    };
    let next = AtomicUsize::new(0);
    let gate = Mutex::new(Gate {
        consumed: 0,
        held: 0,
        stopped: false,
    });
    let moved = Condvar::new();
    let stop = || {
        if let Ok(mut gate) = gate.lock() {
            gate.stopped = true;
        }
        moved.notify_all();
    };
    std::thread::scope(|scope| {
        let (sender, receiver) = mpsc::channel::<(usize, usize, R)>();
        // The calling thread works too and consumes between its items: a separate consumer
        // was a third thread on as many cores as workers, woken for every item (a context
        // switch per file; with two threads, a tenth of the time went to the scheduler).
        for _ in 1..threads.min(items.len()) {
            let sender = sender.clone();
            let (next, gate, moved, init, work, size) = (&next, &gate, &moved, &init, &work, &size);
            scope.spawn(move || {
                let _stop_on_panic = StopOnPanic { gate, moved };
                let mut state = init();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else {
                        return;
                    };
                    let Ok(mut open) = gate.lock() else { return };
                    while !open.may_start(index, ahead) {
                        open = match moved.wait(open) {
                            Ok(open) => open,
                            Err(_) => return,
                        };
                    }
                    if open.stopped {
                        return;
                    }
                    drop(open);
                    let result = work(&mut state, item);
                    let bytes = size(&result);
                    match gate.lock() {
                        Ok(mut gate) => gate.held += bytes,
                        Err(_) => return,
                    }
                    if sender.send((index, bytes, result)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        let _stop_on_panic = StopOnPanic {
            gate: &gate,
            moved: &moved,
        };
        let mut state = init();
        // Results that arrived before an earlier one.
        let mut waiting: BTreeMap<usize, (usize, R)> = BTreeMap::new();
        let mut consumed = 0;
        loop {
            // Every result the other workers finished, taken in without waiting, and every
            // result now in order consumed.
            while let Ok((index, bytes, result)) = receiver.try_recv() {
                waiting.insert(index, (bytes, result));
            }
            let before = consumed;
            let mut released = 0;
            while let Some((bytes, result)) = waiting.remove(&consumed) {
                if let Err(error) = consume(result) {
                    stop();
                    return Err(error);
                }
                consumed += 1;
                released += bytes;
            }
            let index = next.load(Ordering::Relaxed);
            let may_start = {
                let Ok(mut gate) = gate.lock() else {
                    return Ok(());
                };
                gate.consumed = consumed;
                gate.held -= released;
                if gate.stopped {
                    // A worker panicked: the scope passes the panic on once they have ended.
                    return Ok(());
                }
                index < items.len() && gate.may_start(index, ahead)
            };
            if consumed != before {
                moved.notify_all();
            }
            if consumed == items.len() {
                return Ok(());
            }
            // The next item, when this thread may start it and no other worker took it first;
            // else a finished result of another worker, waited for.
            let claimed = may_start
                && next
                    .compare_exchange(index, index + 1, Ordering::Relaxed, Ordering::Relaxed)
                    .is_ok();
            if claimed {
                let result = work(&mut state, &items[index]);
                let bytes = size(&result);
                if let Ok(mut gate) = gate.lock() {
                    gate.held += bytes;
                }
                waiting.insert(index, (bytes, result));
            } else if !may_start {
                // The result the consumer needs next is another worker's (this thread's own
                // are all taken in): it arrives, or every other worker has ended, and then
                // only this thread's items are left (or a panic ended them: see above).
                if let Ok((index, bytes, result)) = receiver.recv() {
                    waiting.insert(index, (bytes, result));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Only the window bounds how far workers run ahead.
    fn window(window: usize) -> Ahead {
        Ahead {
            window,
            bytes: usize::MAX,
        }
    }

    #[test]
    fn results_come_in_item_order_whatever_the_thread_count() {
        let items: Vec<u64> = (0..500).collect();
        for threads in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            let outcome: Result<(), ()> = for_each_ordered(
                &items,
                threads,
                window(4),
                || 0u64,
                |calls, &item| {
                    *calls += 1;
                    // Uneven work, so that later items often finish first.
                    if item % 7 == 0 {
                        std::thread::yield_now();
                    }
                    item * 3
                },
                |_| 8,
                |result| {
                    seen.push(result);
                    Ok(())
                },
            );
            assert_eq!(outcome, Ok(()));
            assert_eq!(seen, items.iter().map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    /// The calling thread works on items too (no thread is left only to consume), and
    /// consumes every result itself; no more threads work than asked for.
    #[test]
    fn the_calling_thread_works_and_consumes() {
        let caller = std::thread::current().id();
        let items: Vec<usize> = (0..50).collect();
        let workers = Mutex::new(std::collections::HashSet::new());
        let by_caller = AtomicUsize::new(0);
        let mut consumed = Vec::new();
        let outcome: Result<(), ()> = for_each_ordered(
            &items,
            2,
            window(4),
            || (),
            |_, &item| {
                let me = std::thread::current().id();
                workers.lock().expect("lock").insert(me);
                if me == caller {
                    by_caller.fetch_add(1, Ordering::SeqCst);
                } else {
                    // A slow other worker: the caller takes items meanwhile.
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                item
            },
            |_| 0,
            |item| {
                assert_eq!(std::thread::current().id(), caller);
                consumed.push(item);
                Ok(())
            },
        );
        assert_eq!(outcome, Ok(()));
        assert_eq!(consumed, items);
        assert!(by_caller.load(Ordering::SeqCst) > 0);
        assert!(workers.lock().expect("lock").len() <= 2);
    }

    /// Runs items `0..count`, each result holding `size` bytes and every tenth item slow when
    /// `slow` is set; returns how far past the next item to consume any item started.
    fn furthest_start(
        count: usize,
        threads: usize,
        ahead: Ahead,
        size: usize,
        slow: bool,
    ) -> usize {
        let items: Vec<usize> = (0..count).collect();
        let consumed = AtomicUsize::new(0);
        let furthest = AtomicUsize::new(0);
        let outcome: Result<(), ()> = for_each_ordered(
            &items,
            threads,
            ahead,
            || (),
            |_, &item| {
                let distance = item - consumed.load(Ordering::SeqCst);
                furthest.fetch_max(distance, Ordering::SeqCst);
                if slow && item % 10 == 0 {
                    // A slow item, which the others would run far past without a bound.
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                item
            },
            |_| size,
            |item| {
                consumed.store(item + 1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert_eq!(outcome, Ok(()));
        furthest.load(Ordering::SeqCst)
    }

    #[test]
    fn workers_stay_within_the_window() {
        assert!(furthest_start(300, 3, window(5), 0, false) < 5);
    }

    #[test]
    fn heavy_results_hold_the_workers_back() {
        // Every result holds 100 bytes, the budget is 150: once two results wait, only the
        // item the consumer needs next may start.
        let ahead = Ahead {
            window: 1000,
            bytes: 150,
        };
        let furthest = furthest_start(200, 4, ahead, 100, true);
        // Started while at most two results were held (the budget), plus one item per other
        // worker that passed the gate just before.
        assert!(furthest <= 2 + 4, "{furthest}");
    }

    #[test]
    fn a_consumer_error_stops_the_work_and_is_returned() {
        let items: Vec<usize> = (0..10_000).collect();
        let started = AtomicUsize::new(0);
        for threads in [1, 2] {
            started.store(0, Ordering::SeqCst);
            let mut taken = Vec::new();
            let outcome = for_each_ordered(
                &items,
                threads,
                window(4),
                || (),
                |_, &item| {
                    started.fetch_add(1, Ordering::SeqCst);
                    item
                },
                |_| 0,
                |item| {
                    if item == 20 {
                        return Err(format!("stopped at {item}"));
                    }
                    taken.push(item);
                    Ok(())
                },
            );
            assert_eq!(outcome, Err("stopped at 20".to_string()));
            assert_eq!(taken, (0..20).collect::<Vec<_>>());
            // Nothing beyond the window was started.
            assert!(started.load(Ordering::SeqCst) <= 21 + 4 + threads);
        }
    }

    #[test]
    fn a_panic_in_the_work_is_passed_on_not_waited_for() {
        let items: Vec<usize> = (0..1000).collect();
        for threads in [1, 2, 4] {
            let outcome = std::panic::catch_unwind(|| {
                let _: Result<(), ()> = for_each_ordered(
                    &items,
                    threads,
                    window(3),
                    || (),
                    |_, &item| {
                        assert!(item != 10, "item 10 is bad");
                        item
                    },
                    |_| 0,
                    |_| Ok(()),
                );
            });
            assert!(outcome.is_err(), "{threads} threads");
        }
    }

    #[test]
    fn no_items_and_one_item() {
        for items in [vec![], vec![7u8]] {
            let mut seen = Vec::new();
            let outcome: Result<(), ()> = for_each_ordered(
                &items,
                2,
                window(4),
                || (),
                |_, &item| item,
                |_| 1,
                |item| {
                    seen.push(item);
                    Ok(())
                },
            );
            assert_eq!(outcome, Ok(()));
            assert_eq!(seen, items);
        }
    }
}
