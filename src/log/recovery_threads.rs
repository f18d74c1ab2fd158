//! The per-log-dir thread pool of Kafka's `num.recovery.threads.per.data.dir`:
//! per-log work (opening and recovering logs at start-up, closing them at
//! shutdown) spread over a fixed number of scoped threads, each taking the
//! next log until none is left. Blocking; the threads live for one call.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use super::error::LogError;

/// Runs `work` on every item with `threads` threads (the caller's own when
/// 1, or for a single item) and returns the outputs, in no particular order.
/// After a failure no thread starts another item and the first error is
/// returned.
pub(super) fn run_per_log<T, R>(
    items: &[T],
    threads: usize,
    work: impl Fn(&T) -> Result<R, LogError> + Sync,
) -> Result<Vec<R>, LogError>
where
    T: Sync,
    R: Send,
{
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let take_items = || -> Result<Vec<R>, LogError> {
        let mut done = Vec::new();
        while !failed.load(Ordering::Acquire) {
            let Some(item) = items.get(next.fetch_add(1, Ordering::AcqRel)) else {
                break;
            };
            done.push(work(item).inspect_err(|_| failed.store(true, Ordering::Release))?);
        }
        Ok(done)
    };
    let threads = threads.clamp(1, items.len().max(1));
    if threads == 1 {
        return take_items();
    }
    let per_thread: Vec<Result<Vec<R>, LogError>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("log-recovery-{i}"))
                    .spawn_scoped(s, take_items)
                    .map_err(|e| LogError::io("start a log recovery thread", e))
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker?
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut outputs = Vec::with_capacity(items.len());
    for result in per_thread {
        outputs.extend(result?);
    }
    debug_assert!(outputs.len() == items.len());
    Ok(outputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_on_any_thread_count() {
        let items: Vec<u32> = (0..100).collect();
        for threads in [0, 1, 3, 8, 500] {
            let mut out = run_per_log(&items, threads, |&i| Ok(i * 2)).unwrap();
            out.sort_unstable();
            assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        }
        assert!(
            run_per_log(&[] as &[u32], 4, |&i| Ok(i))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_failure_stops_the_work_and_is_returned() {
        let items: Vec<u32> = (0..1000).collect();
        let fail_at_10 = |ran: &AtomicUsize, i: u32| {
            ran.fetch_add(1, Ordering::Relaxed);
            if i == 10 {
                Err(LogError::io("item 10", std::io::Error::other("boom")))
            } else {
                Ok(i)
            }
        };
        let ran = AtomicUsize::new(0);
        let err = run_per_log(&items, 1, |&i| fail_at_10(&ran, i)).unwrap_err();
        assert!(err.to_string().contains("item 10"), "{err}");
        assert_eq!(ran.load(Ordering::Relaxed), 11, "nothing after the failure");
        let ran = AtomicUsize::new(0);
        let err = run_per_log(&items, 4, |&i| fail_at_10(&ran, i)).unwrap_err();
        assert!(err.to_string().contains("item 10"), "{err}");
    }
}
