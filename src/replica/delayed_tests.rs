//! Unit tests of the per-partition waits: who wakes, lost wake-ups,
//! registration clean-up, and the plain `watch` wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};

use super::*;

fn tp(topic: &str) -> TopicPartition {
    TopicPartition::new(topic, 0)
}

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

/// The thundering herd of the review (finding 17): appends to partition B
/// must not wake a waiter of partition A; only A's announcement does. One
/// thread: each `yield_now` lets a woken waiter run its check.
#[tokio::test(flavor = "current_thread")]
async fn a_waiter_wakes_only_for_its_own_partitions() {
    let watchers = Arc::new(PartitionWatchers::default());
    let checks = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let registered = Arc::new(Notify::new());
    let waiter = {
        let (watchers, checks, done, registered) = (
            watchers.clone(),
            checks.clone(),
            done.clone(),
            registered.clone(),
        );
        tokio::spawn(async move {
            let waiter = watchers.watch([tp("a")]);
            registered.notify_one();
            wait_for_partitions(waiter, Duration::from_secs(30), || {
                checks.fetch_add(1, Ordering::SeqCst);
                done.load(Ordering::SeqCst).then_some(())
            })
            .await
        })
    };
    registered.notified().await;
    for _ in 0..100 {
        watchers.announce(&tp("b"));
        tokio::task::yield_now().await;
    }
    done.store(true, Ordering::SeqCst);
    watchers.announce(&tp("a"));
    assert_eq!(waiter.await.unwrap(), Some(()));
    let checks = checks.load(Ordering::SeqCst);
    assert!(
        checks <= 2,
        "the waiter of A re-checked {checks} times while only B changed"
    );
    assert_eq!(watchers.watched_partitions(), 0, "unregistered when done");
}

/// An announcement between a waiter's check and its wait is kept, and every
/// waiter of a partition wakes (not just one); `announce_all` wakes all.
#[tokio::test]
async fn no_wake_up_is_lost_and_every_waiter_of_a_partition_wakes() {
    let watchers = PartitionWatchers::default();
    let first = watchers.watch([tp("a"), tp("a"), tp("b")]);
    let second = watchers.watch([tp("a")]);
    let third = watchers.watch([tp("c")]);
    assert_eq!(watchers.watched_partitions(), 3);
    watchers.announce(&tp("a"));
    let soon = Instant::now() + Duration::from_millis(50);
    assert!(first.changed(soon).await, "kept until the wait");
    assert!(second.changed(soon).await);
    assert!(!third.changed(soon).await, "c did not change");
    watchers.announce_all();
    assert!(third.changed(Instant::now() + Duration::from_secs(5)).await);
    drop((first, second, third));
    assert_eq!(watchers.watched_partitions(), 0);
    // Nobody waiting: announcing is a no-op.
    watchers.announce(&tp("a"));
    let late = watchers.watch([tp("a")]);
    assert!(
        !late
            .changed(Instant::now() + Duration::from_millis(20))
            .await
    );
}
