//! Work done in parallel, results used in order.
//!
//! `hunt` matches work units on worker threads while the calling thread prints their alerts
//! in input order. The printer does not wait for a whole batch to finish (which left a core
//! idle behind the slowest unit of every batch and while the batch was printed); it takes
//! each result as soon as every earlier one has been taken. Workers run at most `window`
//! items ahead of the printer, so memory holds at most `window` results whatever the input.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Condvar, Mutex};

/// How far the consumer has got, shared with the workers.
struct Gate {
    /// Items handed to the consumer so far.
    consumed: usize,
    /// The consumer failed: workers stop.
    stopped: bool,
}

/// Runs `work` over every item on `threads` threads (each with its own state from `init`)
/// and hands the results to `consume` in item order, on the calling thread. With one
/// thread, everything runs on the calling thread, one item after another.
///
/// Stops at the first error of `consume` and returns it; items not yet started are left.
/// A panic in `work` is passed on once the other workers have stopped.
pub fn for_each_ordered<T, R, S, E>(
    items: &[T],
    threads: usize,
    window: usize,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
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
    let window = window.max(1);
    let next = AtomicUsize::new(0);
    let gate = Mutex::new(Gate {
        consumed: 0,
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
        let (sender, receiver) = mpsc::channel::<(usize, R)>();
        for _ in 0..threads.min(items.len()) {
            let sender = sender.clone();
            let (next, gate, moved, init, work) = (&next, &gate, &moved, &init, &work);
            scope.spawn(move || {
                let mut state = init();
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else {
                        return;
                    };
                    // Wait until the item is within `window` of the consumer.
                    let Ok(mut open) = gate.lock() else { return };
                    while index >= open.consumed + window && !open.stopped {
                        open = match moved.wait(open) {
                            Ok(open) => open,
                            Err(_) => return,
                        };
                    }
                    if open.stopped {
                        return;
                    }
                    drop(open);
                    if sender.send((index, work(&mut state, item))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(sender);
        // Results that arrived before an earlier one.
        let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
        let mut consumed = 0;
        for (index, result) in receiver {
            waiting.insert(index, result);
            let before = consumed;
            while let Some(result) = waiting.remove(&consumed) {
                if let Err(error) = consume(result) {
                    stop();
                    return Err(error);
                }
                consumed += 1;
            }
            if consumed != before {
                if let Ok(mut gate) = gate.lock() {
                    gate.consumed = consumed;
                }
                moved.notify_all();
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn results_come_in_item_order_whatever_the_thread_count() {
        let items: Vec<u64> = (0..500).collect();
        for threads in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            let outcome: Result<(), ()> = for_each_ordered(
                &items,
                threads,
                4,
                || 0u64,
                |calls, &item| {
                    *calls += 1;
                    // Uneven work, so that later items often finish first.
                    if item % 7 == 0 {
                        std::thread::yield_now();
                    }
                    item * 3
                },
                |result| {
                    seen.push(result);
                    Ok(())
                },
            );
            assert_eq!(outcome, Ok(()));
            assert_eq!(seen, items.iter().map(|i| i * 3).collect::<Vec<_>>());
        }
    }

    #[test]
    fn workers_stay_within_the_window() {
        let items: Vec<usize> = (0..300).collect();
        let consumed = AtomicUsize::new(0);
        let ahead = AtomicUsize::new(0);
        let window = 5;
        let outcome: Result<(), ()> = for_each_ordered(
            &items,
            3,
            window,
            || (),
            |_, &item| {
                let distance = item - consumed.load(Ordering::SeqCst);
                ahead.fetch_max(distance, Ordering::SeqCst);
                item
            },
            |item| {
                consumed.store(item + 1, Ordering::SeqCst);
                Ok(())
            },
        );
        assert_eq!(outcome, Ok(()));
        assert!(ahead.load(Ordering::SeqCst) < window);
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
                4,
                || (),
                |_, &item| {
                    started.fetch_add(1, Ordering::SeqCst);
                    item
                },
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
    fn no_items_and_one_item() {
        for items in [vec![], vec![7u8]] {
            let mut seen = Vec::new();
            let outcome: Result<(), ()> = for_each_ordered(
                &items,
                2,
                4,
                || (),
                |_, &item| item,
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
