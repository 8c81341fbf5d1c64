//! Parallel work, results in order: `threads` workers take items in input order, and
//! the caller's thread receives each result as soon as it and all before it are done.
//!
//! The report is written file by file while later files are still being linted, so
//! memory holds only the results waiting for an earlier, slower file. Workers never run
//! more than [`WINDOW_PER_THREAD`] items per thread ahead of the oldest unfinished one:
//! a huge file first in line cannot make every other result pile up behind it.
//! (rayon's `par_iter().collect()` keeps order only by keeping everything to the end.)

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

/// How many items each worker may be ahead of the oldest one not yet handed over.
pub const WINDOW_PER_THREAD: usize = 32;

/// Runs `work` on every item on `threads` threads and calls `consume` with the results
/// in the order of `items`, on the calling thread. With one thread, no thread is started.
///
/// Items are taken from the iterator as workers become free, so a lazy source (a
/// directory walk) is never collected: memory holds only the items being worked on.
pub fn for_each_in_order<T, R>(
    items: impl Iterator<Item = T> + Send,
    threads: usize,
    work: impl Fn(T) -> R + Sync,
    mut consume: impl FnMut(R),
) where
    T: Send,
    R: Send,
{
    if threads <= 1 {
        items.for_each(|item| consume(work(item)));
        return;
    }
    let window = WINDOW_PER_THREAD * threads;
    // The source and the index of the next item it gives; workers take turns at it.
    let source = Mutex::new((items, 0usize));
    // The index of the next result `consume` waits for; workers wait on it to move.
    let handed_over = Mutex::new(0usize);
    let moved = Condvar::new();
    let (sender, receiver) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            let (work, source, handed_over, moved) = (&work, &source, &handed_over, &moved);
            scope.spawn(move || {
                loop {
                    let (index, item) = {
                        let mut source = source.lock().unwrap_or_else(PoisonError::into_inner);
                        let (items, next_index) = &mut *source;
                        let Some(item) = items.next() else { break };
                        *next_index += 1;
                        (*next_index - 1, item)
                    };
                    {
                        let mut oldest = handed_over.lock().unwrap_or_else(PoisonError::into_inner);
                        while index >= *oldest + window {
                            oldest = moved.wait(oldest).unwrap_or_else(PoisonError::into_inner);
                        }
                    }
                    if sender.send((index, work(item))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut waiting: BTreeMap<usize, R> = BTreeMap::new();
        let mut expected = 0;
        for (index, result) in receiver {
            waiting.insert(index, result);
            let before = expected;
            while let Some(result) = waiting.remove(&expected) {
                consume(result);
                expected += 1;
            }
            if expected != before {
                *handed_over.lock().unwrap_or_else(PoisonError::into_inner) = expected;
                moved.notify_all();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn results_arrive_in_input_order_whatever_the_threads() {
        let items: Vec<u64> = (0..500).collect();
        for threads in [1, 2, 3, 8] {
            let mut seen = Vec::new();
            // Early items are the slowest, so later ones finish first.
            for_each_in_order(
                items.iter().copied(),
                threads,
                |n| {
                    std::thread::sleep(std::time::Duration::from_micros(500u64.saturating_sub(n)));
                    n * 2
                },
                |r| seen.push(r),
            );
            assert_eq!(seen, items.iter().map(|n| n * 2).collect::<Vec<_>>(), "threads = {threads}");
        }
    }

    #[test]
    fn workers_stay_within_the_window_of_a_slow_item() {
        let items: Vec<usize> = (0..400).collect();
        let started = AtomicUsize::new(0);
        let mut most_ahead = 0;
        let mut consumed = 0;
        for_each_in_order(
            items.iter().copied(),
            2,
            |n| {
                started.fetch_add(1, Ordering::SeqCst);
                if n == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                n
            },
            |n| {
                if n == 0 {
                    // While item 0 was slow, the other worker could start at most `window` items.
                    most_ahead = started.load(Ordering::SeqCst);
                }
                consumed += 1;
            },
        );
        assert_eq!(consumed, items.len());
        assert!(most_ahead <= 2 * WINDOW_PER_THREAD + 1, "{most_ahead} items started while the first was pending");
        assert!(most_ahead > 2, "the other worker should have gone ahead: {most_ahead}");
    }
}
