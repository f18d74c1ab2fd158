//! Waiting without blocking: acks=all produce and long-poll fetch park here
//! until the high watermark moves or their deadline passes. Every partition's
//! high-watermark advance bumps one `watch` counter; a waiter re-checks its own
//! condition on each bump. That wakes every waiter on every advance, which is
//! cheap at the waiter counts a broker sees and never misses a wake-up, since
//! the receiver is taken before the first check.

use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

/// Polls `ready` now and after every change on `changes`, until it returns
/// `Some` or `timeout` passes; returns the last answer (`None` on timeout).
pub async fn wait_for<T>(
    mut changes: watch::Receiver<u64>,
    timeout: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    changes.mark_unchanged();
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => continue,
            // Sender gone (shutdown) or deadline passed: one last look.
            Ok(Err(_)) | Err(_) => return ready(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[tokio::test]
    async fn wakes_on_change_and_times_out_otherwise() {
        let (tx, rx) = watch::channel(0u64);
        let hw = Arc::new(AtomicI64::new(0));
        let waiter = {
            let hw = hw.clone();
            tokio::spawn(async move {
                wait_for(rx, Duration::from_secs(10), || {
                    (hw.load(Ordering::SeqCst) >= 5).then_some(())
                })
                .await
            })
        };
        hw.store(5, Ordering::SeqCst);
        tx.send_modify(|v| *v += 1);
        assert_eq!(waiter.await.unwrap(), Some(()));

        let none: Option<()> = wait_for(tx.subscribe(), Duration::from_millis(1), || None).await;
        assert_eq!(none, None);
    }
}
