//! `ReplicaManager::fetch_messages`: isolation by fetcher, follower state,
//! errors with the partition's offsets, the long-poll wake-up on the
//! fetch's own partition, and the memory reservation it hands back.

use crate::model::off;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::*;
use crate::model::LeaderEpoch;
use crate::model::Offset;
use crate::replica::append::tests::{leading_manager, produce, t0};

/// A memory pool that counts what is reserved (and never runs out).
#[derive(Default)]
struct CountingMemory {
    reserved: Arc<Mutex<usize>>,
}

struct Counted {
    reserved: Arc<Mutex<usize>>,
    bytes: usize,
}

impl FetchMemory for CountingMemory {
    type Grant = Counted;

    fn reserve(&self, want: usize) -> impl Future<Output = Counted> + Send {
        *self.reserved.lock() += want;
        let reserved = self.reserved.clone();
        async move {
            Counted {
                reserved,
                bytes: want,
            }
        }
    }
}

impl FetchReservation for Counted {
    fn bytes(&self) -> usize {
        self.bytes
    }

    fn settle(&mut self, used: usize) {
        let mut reserved = self.reserved.lock();
        *reserved = *reserved - self.bytes + used;
        self.bytes = used;
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        *self.reserved.lock() -= self.bytes;
    }
}

fn fetch(
    replica_id: i32,
    fetch_offset: Offset,
    min_bytes: usize,
    max_wait: Duration,
) -> FetchParams {
    FetchParams {
        replica_id,
        max_wait,
        min_bytes,
        max_bytes: 1 << 20,
        partitions: vec![FetchPartition {
            tp: t0(),
            fetch_offset,
            partition_max_bytes: 1 << 20,
            current_leader_epoch: LeaderEpoch::new(0),
            log_start_offset: off(0),
        }],
        read_mode: crate::log::ReadMode::Memory,
    }
}

#[tokio::test]
async fn consumers_read_to_the_high_watermark_and_followers_to_the_log_end() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1, 2]);
    let memory = CountingMemory::default();
    produce(&manager, 5).await;

    let consumer = manager
        .fetch_messages(&fetch(-1, off(0), 0, Duration::ZERO), &memory)
        .await;
    let read = &consumer.partitions[0];
    assert!(read.error.is_none());
    assert_eq!((read.high_watermark, read.records.len()), (off(0), 0));

    let follower = manager
        .fetch_messages(&fetch(2, off(0), 0, Duration::ZERO), &memory)
        .await;
    let read = &follower.partitions[0];
    assert!(read.error.is_none());
    assert!(!read.records.is_empty(), "followers read to the log end");
    assert_eq!(
        *memory.reserved.lock(),
        read.records.len(),
        "the reservation settles to what was read"
    );
    drop(follower);
    assert_eq!(*memory.reserved.lock(), 0, "dropped with the outcome");

    // Follower 2 fetching from 5 has the append: the high watermark moves.
    manager
        .fetch_messages(&fetch(2, off(5), 0, Duration::ZERO), &memory)
        .await;
    let consumer = manager
        .fetch_messages(&fetch(-1, off(0), 0, Duration::ZERO), &memory)
        .await;
    let read = &consumer.partitions[0];
    assert_eq!(read.high_watermark, off(5));
    assert_eq!(read.last_stable_offset, off(5));
    assert!(!read.records.is_empty());
}

#[tokio::test]
async fn errors_answer_at_once_with_a_hosted_partitions_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1]);
    let memory = CountingMemory::default();
    produce(&manager, 2).await;
    let mut params = fetch(-1, off(0), 1 << 20, Duration::from_secs(60));
    params.partitions[0].current_leader_epoch = LeaderEpoch::new(7);
    params.partitions.push(FetchPartition {
        tp: TopicPartition::new("other", 0),
        ..params.partitions[0].clone()
    });
    // An error ends the wait: min_bytes is never reached here.
    let outcome = manager.fetch_messages(&params, &memory).await;
    let [newer_epoch, unknown] = &outcome.partitions[..] else {
        panic!("two results");
    };
    assert!(matches!(
        newer_epoch.error,
        Some(ReplicaError::UnknownLeaderEpoch { .. })
    ));
    assert_eq!(
        (newer_epoch.high_watermark, newer_epoch.log_start_offset),
        (off(2), off(0))
    );
    assert!(matches!(
        unknown.error,
        Some(ReplicaError::UnknownTopicOrPartition(_))
    ));
    assert_eq!(
        (unknown.high_watermark, unknown.log_start_offset),
        (off(-1), off(-1))
    );
    assert!(newer_epoch.records.is_empty() && unknown.records.is_empty());
}

#[tokio::test]
async fn a_waiting_fetch_wakes_when_its_partition_gets_data() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1]);
    let fetching = {
        let manager = manager.clone();
        tokio::spawn(async move {
            let memory = CountingMemory::default();
            let outcome = manager
                .fetch_messages(&fetch(-1, off(0), 1, Duration::from_secs(60)), &memory)
                .await;
            outcome.partitions.into_iter().next().unwrap()
        })
    };
    // One thread: yielding lets the fetch run up to its wait.
    for _ in 0..1000 {
        if manager.watched_partitions() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(manager.watched_partitions(), 1, "the fetch waits on t-0");
    produce(&manager, 3).await;
    // Woken by the append, not by the (far) deadline.
    for _ in 0..1000 {
        if fetching.is_finished() {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(fetching.is_finished(), "the append woke the fetch");
    let read = fetching.await.unwrap();
    assert!(read.error.is_none());
    assert_eq!(read.high_watermark, off(3));
    assert!(!read.records.is_empty());
}
