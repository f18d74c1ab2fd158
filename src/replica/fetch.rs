//! Fetch's domain half, Kafka's `ReplicaManager.fetchMessages` and
//! `DelayedFetch`. A follower's fetch first records where that follower is
//! (its fetch offset is its log end, which may move the high watermark, and
//! its log start). Then each partition is read from its leader: up to the
//! high watermark for consumers, to the log end for followers, with
//! positional reads of whole stored batches. A fetch that got fewer than
//! `min_bytes` waits for a change of one of its own partitions (`delayed.rs`)
//! or `max_wait`, then reads again.
//!
//! Memory: every read pass first reserves its bytes from the caller's
//! [`FetchMemory`] (the server's `fetch.inflight.max.bytes` budget) and reads
//! at most what it got, except that the first batch always goes whole
//! (KIP-74). The reservation comes back with the results, to be held until
//! the response is written; the records are the read buffers themselves,
//! never copied here.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::ReplicaError;
use super::manager::ReplicaManager;
use super::partition::FetchIsolation;
use crate::model::{LeaderEpoch, Offset, TopicPartition};

/// The memory a fetch's reads are reserved from.
pub trait FetchMemory {
    /// One fetch's reservation; dropping it gives the bytes back.
    type Grant: FetchReservation;

    /// Waits while no memory is free, then reserves `want` bytes, or what
    /// is free when that is less.
    fn reserve(&self, want: usize) -> impl Future<Output = Self::Grant> + Send;
}

/// One fetch's reserved memory.
pub trait FetchReservation {
    /// The bytes this fetch may read (its first batch may go past them).
    fn bytes(&self) -> usize;

    /// After the read: the reservation becomes exactly `used` bytes.
    fn settle(&mut self, used: usize);
}

/// One partition of a Fetch request.
#[derive(Debug, Clone)]
pub struct FetchPartition {
    pub tp: TopicPartition,
    pub fetch_offset: Offset,
    pub partition_max_bytes: usize,
    /// The leader epoch the fetcher believes current; -1 when it does not say.
    pub current_leader_epoch: LeaderEpoch,
    /// A follower's log start offset (-1 from consumers).
    pub log_start_offset: Offset,
}

/// A Fetch request, resolved to partition names (Kafka's `FetchParams`).
#[derive(Debug, Clone)]
pub struct FetchParams {
    /// The fetching follower's broker id; negative for a consumer.
    pub replica_id: i32,
    pub max_wait: Duration,
    pub min_bytes: usize,
    /// Record bytes at most in the answer (the first batch goes whole).
    pub max_bytes: usize,
    pub partitions: Vec<FetchPartition>,
}

impl FetchParams {
    pub fn is_from_follower(&self) -> bool {
        self.replica_id >= 0
    }
}

/// One partition's answer (Kafka's `FetchPartitionData`).
#[derive(Debug)]
pub struct PartitionFetchResult {
    pub error: Option<ReplicaError>,
    /// -1 when this broker does not host the partition.
    pub high_watermark: Offset,
    /// Equal to the high watermark: there are no transactions.
    pub last_stable_offset: Offset,
    pub log_start_offset: Offset,
    /// Whole stored batches, as read (empty on error).
    pub records: Bytes,
}

/// The results of a fetch, in request order, and the memory reserved for
/// their records, to be held until the response is written.
pub struct FetchOutcome<G> {
    pub partitions: Vec<PartitionFetchResult>,
    pub memory: G,
}

/// One read of all the wanted partitions.
struct FetchPass {
    partitions: Vec<PartitionFetchResult>,
    bytes: usize,
    any_error: bool,
}

impl FetchPass {
    fn ready(&self, min_bytes: usize) -> bool {
        self.any_error || self.bytes >= min_bytes.max(1)
    }
}

impl ReplicaManager {
    /// Serves a Fetch: records a follower's position, then reads, waiting up
    /// to `max_wait` for `min_bytes` (see the module doc). Reads reserve
    /// their bytes from `memory` first.
    pub async fn fetch_messages<M: FetchMemory>(
        &self,
        params: &FetchParams,
        memory: &M,
    ) -> FetchOutcome<M::Grant> {
        let isolation = if params.is_from_follower() {
            self.update_followers_fetch_state(params);
            FetchIsolation::LogEnd
        } else {
            FetchIsolation::HighWatermark
        };
        let min_bytes = params.min_bytes.min(params.max_bytes);
        let deadline = Instant::now() + params.max_wait;
        let mut waiter = None;
        loop {
            // Waits only while the fetch memory is used up.
            let mut grant = memory.reserve(params.max_bytes).await;
            let pass = self.read_partitions(&params.partitions, grant.bytes(), isolation);
            grant.settle(pass.bytes);
            if pass.ready(min_bytes) || Instant::now() >= deadline {
                return FetchOutcome {
                    partitions: pass.partitions,
                    memory: grant,
                };
            }
            drop((pass, grant));
            match &waiter {
                // Registered before the next read, so no change after that
                // read is missed; only our own partitions wake us.
                None => {
                    waiter =
                        Some(self.watch_partitions(params.partitions.iter().map(|p| p.tp.clone())))
                }
                // Deadline passed without a change: one last read.
                Some(w) => _ = w.changed(deadline).await,
            }
        }
    }

    /// A follower fetches from its log end: that is its log end offset now,
    /// believed only for a fetch the leader can serve (current leader epoch,
    /// required; an offset within the log), as Kafka records follower state
    /// only after a successful read.
    fn update_followers_fetch_state(&self, params: &FetchParams) {
        for p in &params.partitions {
            let recorded = self.record_follower_fetch(
                &p.tp,
                params.replica_id,
                p.fetch_offset,
                p.current_leader_epoch,
            );
            if recorded {
                self.record_follower_log_start(&p.tp, params.replica_id, p.log_start_offset);
            }
        }
    }

    fn read_partitions(
        &self,
        wanted: &[FetchPartition],
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> FetchPass {
        let mut pass = FetchPass {
            partitions: Vec::with_capacity(wanted.len()),
            bytes: 0,
            any_error: false,
        };
        for w in wanted {
            let budget = w
                .partition_max_bytes
                .min(max_bytes.saturating_sub(pass.bytes));
            // KIP-74: the first batch of the first non-empty partition is returned
            // whole even past the limits, so a large record never blocks a consumer.
            let min_one_batch = pass.bytes == 0;
            let read = self.leader_partition(&w.tp).and_then(|partition| {
                partition.check_leader_epoch(w.current_leader_epoch)?;
                partition.read(w.fetch_offset, budget, isolation, min_one_batch)
            });
            let result = match read {
                Ok(read) => {
                    pass.bytes += read.records.len();
                    PartitionFetchResult {
                        error: None,
                        high_watermark: read.high_watermark,
                        last_stable_offset: read.high_watermark,
                        log_start_offset: read.log_start_offset,
                        records: read.records,
                    }
                }
                Err(e) => {
                    pass.any_error = true;
                    self.fetch_error_partition(w, e)
                }
            };
            pass.partitions.push(result);
        }
        pass
    }

    /// A failed partition's answer: the error, with the offsets of the
    /// partition when this broker hosts it (-1 otherwise).
    fn fetch_error_partition(&self, w: &FetchPartition, e: ReplicaError) -> PartitionFetchResult {
        tracing::debug!(partition = %w.tp, error = %e, "fetch failed");
        let (high_watermark, log_start_offset) = match self.get_partition(&w.tp) {
            Some(p) => (p.high_watermark(), p.log().log_start_offset()),
            None => (-1, -1),
        };
        PartitionFetchResult {
            error: Some(e),
            high_watermark,
            last_stable_offset: high_watermark,
            log_start_offset,
            records: Bytes::new(),
        }
    }
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
