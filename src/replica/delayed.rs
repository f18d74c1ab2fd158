//! Waiting without blocking. acks=all produce, long-poll fetch and
//! DeleteRecords park here until one of *their* partitions changes (an
//! append, a high-watermark or log-start move, a leadership change) or their
//! deadline passes: Kafka's DelayedOperationPurgatory, keyed by partition.
//!
//! A waiter registers a signal under each of its partitions before its first
//! check ([`PartitionWatchers::watch`]), so no change between the check and
//! the wait is missed (a `Notify` keeps one pending wake-up), and an
//! announcement for a partition wakes only the waiters registered under it.
//! Registration ends when the waiter is dropped. `wait_for` is the plain
//! variant over a `watch` counter, for waits on the metadata cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use crate::model::TopicPartition;

/// The registry of parked waiters by partition (one per broker, in the
/// replica manager).
#[derive(Default)]
pub struct PartitionWatchers {
    by_partition: Mutex<HashMap<TopicPartition, Vec<Arc<Notify>>>>,
    /// Registered waiters; announcing is a no-op while there are none.
    waiters: AtomicUsize,
}

impl PartitionWatchers {
    /// Registers a waiter for `partitions`; keep it across the checks.
    pub fn watch(
        &self,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> PartitionWaiter<'_> {
        let signal = Arc::new(Notify::new());
        let mut keys: Vec<TopicPartition> = partitions.into_iter().collect();
        keys.sort();
        keys.dedup();
        {
            let mut map = self.by_partition.lock();
            for tp in &keys {
                map.entry(tp.clone()).or_default().push(signal.clone());
            }
        }
        self.waiters.fetch_add(1, Ordering::AcqRel);
        PartitionWaiter {
            registry: self,
            keys,
            signal,
        }
    }

    /// Something about `tp` changed: wakes the waiters registered under it.
    pub fn announce(&self, tp: &TopicPartition) {
        if self.waiters.load(Ordering::Acquire) == 0 {
            return;
        }
        if let Some(signals) = self.by_partition.lock().get(tp) {
            for signal in signals {
                signal.notify_one();
            }
        }
    }

    /// Wakes every waiter (a change that may concern any partition).
    pub fn announce_all(&self) {
        if self.waiters.load(Ordering::Acquire) == 0 {
            return;
        }
        for signals in self.by_partition.lock().values() {
            for signal in signals {
                signal.notify_one();
            }
        }
    }

    /// Partitions with at least one waiter (for tests and metrics).
    pub fn watched_partitions(&self) -> usize {
        self.by_partition.lock().len()
    }
}

/// One parked operation's registration; dropping it unregisters.
pub struct PartitionWaiter<'a> {
    registry: &'a PartitionWatchers,
    keys: Vec<TopicPartition>,
    signal: Arc<Notify>,
}

impl PartitionWaiter<'_> {
    /// Waits for an announcement of one of this waiter's partitions (or one
    /// made since the last call); false when `deadline` passed first.
    pub async fn changed(&self, deadline: Instant) -> bool {
        tokio::time::timeout_at(deadline, self.signal.notified())
            .await
            .is_ok()
    }
}

impl Drop for PartitionWaiter<'_> {
    fn drop(&mut self) {
        let mut map = self.registry.by_partition.lock();
        for tp in &self.keys {
            if let Some(signals) = map.get_mut(tp) {
                signals.retain(|s| !Arc::ptr_eq(s, &self.signal));
                if signals.is_empty() {
                    map.remove(tp);
                }
            }
        }
        self.registry.waiters.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Polls `ready` now and after every announcement for `waiter`'s
/// partitions, until it returns `Some` or `timeout` passes; returns the last
/// answer (`None` on timeout).
pub async fn wait_for_partitions<T>(
    waiter: PartitionWaiter<'_>,
    timeout: Duration,
    mut ready: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = ready() {
            return Some(value);
        }
        if !waiter.changed(deadline).await {
            // Deadline passed: one last look.
            return ready();
        }
    }
}

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
#[path = "delayed_tests.rs"]
mod tests;
