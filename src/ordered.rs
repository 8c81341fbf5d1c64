//! Parallel work, results in order: `threads` threads (the caller's and `threads - 1`
//! workers) take items in input order, and the caller's thread receives each result once
//! it and all before it are done, between items of its own.
//!
//! The report is written file by file while later files are still being linted, so
//! memory holds only the results waiting for an earlier, slower file or for the caller.
//! Two bounds keep that small: workers never start an item more than
//! [`WINDOW_PER_THREAD`] items per thread ahead of the oldest one not yet handed over (a
//! huge file first in line cannot make every other result pile up behind it), and they
//! start no item but the oldest while the results not yet handed over weigh more than a
//! budget (a slow caller, such as the terminal renderer, cannot make thousands of findings
//! of big files pile up in front of it).
//! (rayon's `par_iter().collect()` keeps order only by keeping everything to the end.)

use std::collections::BTreeMap;
use std::sync::{Condvar, Mutex, PoisonError, mpsc};

/// How many items each worker may be ahead of the oldest one not yet handed over.
pub const WINDOW_PER_THREAD: usize = 32;

/// How results are held back: their weight (say, a file's findings) and the most weight
/// that may wait for the caller before workers stop starting new items.
pub struct Backlog<W> {
    pub weigh: W,
    pub budget: usize,
}

impl<R> Backlog<fn(&R) -> usize> {
    /// Results that weigh nothing: only the window bounds the work ahead.
    pub fn unweighed() -> Self {
        Backlog { weigh: |_| 0, budget: usize::MAX }
    }
}

/// Where the caller is: the index of the next result it waits for, and the weight of the
/// results finished but not yet handed over. Workers wait on it to move.
struct Progress {
    handed_over: usize,
    pending_weight: usize,
}

/// Runs `work` on every item on `threads` threads and calls `consume` with the results
/// in the order of `items`, on the calling thread. With one thread, no thread is started.
///
/// Items are taken from the iterator as workers become free, so a lazy source (a
/// directory walk) is never collected: memory holds only the items being worked on.
///
/// The calling thread is one of the `threads`: it works on items too, and hands finished
/// results over between its own items. A caller that only waited for results would make
/// `threads + 1` threads share `threads` cores and be woken once per item; on the
/// benchmark VM that cost two context switches per file and up to a fifth more CPU time
/// at two threads than at one (`docs/performance.md`).
pub fn for_each_in_order<T, R>(
    items: impl Iterator<Item = T> + Send,
    threads: usize,
    work: impl Fn(T) -> R + Sync,
    backlog: Backlog<impl Fn(&R) -> usize + Sync>,
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
    // The source and the index of the next item it gives; threads take turns at it.
    let source = Mutex::new((items, 0usize));
    let progress = Mutex::new(Progress { handed_over: 0, pending_weight: 0 });
    let moved = Condvar::new();
    let (sender, receiver) = mpsc::channel::<(usize, usize, R)>();
    // An item's result and its weight, the weight counted as waiting to be handed over.
    let run = |item: T| {
        let result = work(item);
        let weight = (backlog.weigh)(&result);
        progress.lock().unwrap_or_else(PoisonError::into_inner).pending_weight += weight;
        (weight, result)
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            let sender = sender.clone();
            let (run, backlog, source, progress, moved) = (&run, &backlog, &source, &progress, &moved);
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
                        let mut now = progress.lock().unwrap_or_else(PoisonError::into_inner);
                        // The oldest item always runs: what is held back waits for it.
                        while held_back(index, &now, window, backlog.budget) {
                            now = moved.wait(now).unwrap_or_else(PoisonError::into_inner);
                        }
                    }
                    let (weight, result) = run(item);
                    if sender.send((index, weight, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        let mut waiting: BTreeMap<usize, (usize, R)> = BTreeMap::new();
        let mut expected = 0;
        let mut hand_over = |waiting: &mut BTreeMap<usize, (usize, R)>| {
            let mut handed_weight = 0;
            while let Some((weight, result)) = waiting.remove(&expected) {
                consume(result);
                handed_weight += weight;
                expected += 1;
            }
            let mut now = progress.lock().unwrap_or_else(PoisonError::into_inner);
            if expected != now.handed_over {
                now.handed_over = expected;
                now.pending_weight -= handed_weight;
                moved.notify_all();
            }
        };
        loop {
            // What the workers finished meanwhile, without waiting for it.
            waiting.extend(receiver.try_iter().map(|(index, weight, result)| (index, (weight, result))));
            hand_over(&mut waiting);
            // An item of its own, unless it would be held back: it is this thread that
            // hands results over, so it must never wait for that to happen.
            let own = {
                let mut source = source.lock().unwrap_or_else(PoisonError::into_inner);
                let (items, next_index) = &mut *source;
                let now = progress.lock().unwrap_or_else(PoisonError::into_inner);
                if held_back(*next_index, &now, window, backlog.budget) {
                    None
                } else {
                    drop(now);
                    items.next().map(|item| {
                        *next_index += 1;
                        (*next_index - 1, item)
                    })
                }
            };
            if let Some((index, item)) = own {
                waiting.insert(index, run(item));
                continue;
            }
            // Held back or nothing left to start: the oldest item is a worker's, so wait
            // for a worker's result. None comes once every worker has stopped, when the
            // source is empty and everything started has been received.
            match receiver.recv() {
                Ok((index, weight, result)) => {
                    waiting.insert(index, (weight, result));
                }
                Err(_) => {
                    hand_over(&mut waiting);
                    break;
                }
            }
        }
    });
}

/// Whether item `index` must wait before it starts: it is a window or more past the oldest
/// item not yet handed over, or it is not the oldest and the results waiting to be handed
/// over weigh more than the budget.
fn held_back(index: usize, now: &Progress, window: usize, budget: usize) -> bool {
    index >= now.handed_over + window || (index > now.handed_over && now.pending_weight > budget)
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
                Backlog::unweighed(),
                |r| seen.push(r),
            );
            assert_eq!(seen, items.iter().map(|n| n * 2).collect::<Vec<_>>(), "threads = {threads}");
        }
    }

    #[test]
    fn the_calling_thread_works_on_items_too() {
        let caller = std::thread::current().id();
        let items: Vec<u64> = (0..200).collect();
        let mut on_caller = 0;
        let mut seen = Vec::new();
        for_each_in_order(
            items.iter().copied(),
            2,
            |n| {
                std::thread::sleep(std::time::Duration::from_micros(200));
                (n, std::thread::current().id())
            },
            Backlog::unweighed(),
            |(n, thread)| {
                on_caller += usize::from(thread == caller);
                seen.push(n);
            },
        );
        assert_eq!(seen, items);
        // The caller took its share rather than only waiting for the worker's results.
        assert!(on_caller > 0, "no item of {} ran on the calling thread", items.len());
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
            Backlog::unweighed(),
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

    #[test]
    fn workers_stop_starting_items_while_finished_results_weigh_over_the_budget() {
        // Every result weighs 10 against a budget of 25, and the caller is slow: at most
        // three finished results (30) plus one per worker in progress may ever wait.
        let items: Vec<usize> = (0..60).collect();
        let finished = AtomicUsize::new(0);
        let mut handed = 0;
        let mut most_waiting = 0;
        for_each_in_order(
            items.iter().copied(),
            2,
            |n| {
                finished.fetch_add(1, Ordering::SeqCst);
                n
            },
            Backlog { weigh: |_: &usize| 10, budget: 25 },
            |n| {
                assert_eq!(n, handed);
                handed += 1;
                most_waiting = most_waiting.max(finished.load(Ordering::SeqCst) - handed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            },
        );
        assert_eq!(handed, items.len());
        assert!(most_waiting <= 3 + 2, "{most_waiting} finished results waited for the caller");
    }
}
