//! What a fetch asks and gets (Kafka's FetchParams and FetchPartitionData):
//! the partitions and limits of one Fetch, each partition's result, and the
//! memory trait its reads reserve from (the server's budget implements it).
//! Plain types: `fetch.rs` reads with them, `fetch_context.rs` keeps
//! sessions of them.

use std::future::Future;
use std::time::Duration;

use super::ReplicaError;
use crate::log::{ReadMode, Records};
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
    /// Records in memory, or as segment file regions for a connection that
    /// writes them with sendfile(2).
    pub read_mode: ReadMode,
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
    pub records: Records,
}

/// The results of a fetch, in request order, and the memory reserved for
/// their records, to be held until the response is written.
pub struct FetchOutcome<G> {
    pub partitions: Vec<PartitionFetchResult>,
    pub memory: G,
}
