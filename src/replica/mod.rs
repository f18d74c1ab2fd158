//! The partitions this broker hosts: leader appends, reads bounded by the high
//! watermark, leadership changes from LeaderAndIsr, and the waits (acks=all,
//! long-poll fetch) that depend on the high watermark moving. Kafka's
//! ReplicaManager and Partition.
//!
//! Replication between brokers lives here too: followers' fetcher tasks
//! (`fetcher`, `fetcher_manager`, over `crate::client`), the leader's view of
//! its followers (`follower_state`), leader epochs (`leader_epoch_cache`) and
//! ISR changes (`isr`), and idempotent-producer state
//! (`producer_state`) so retried batches are not stored twice.
//!
//! Depends on `log`, `model` and `metadata`, on `client` and `protocol` for
//! the follower's requests to its leader, and on `zk` through `isr.rs` only; never on the
//! server layer, so errors are this room's own enum and `server/errors.rs`
//! maps them to codes.

mod append;
mod delayed;
mod delete_records;
mod fetch;
mod fetch_context;
mod fetch_params;
pub mod fetch_session;
mod fetch_session_handler;
mod fetcher;
mod fetcher_manager;
mod follower_state;
mod isr;
mod leader_epoch_cache;
mod manager;
mod offset_lookup;
mod partition;
mod producer_expiration;
mod producer_log_start;
mod producer_snapshot;
mod producer_state;
mod settings;
mod stray_log;
mod truncation;

pub use append::{AppendParams, AppendedRecords, PartitionAppendResult, ProduceEntry};
pub use delayed::{PartitionWaiter, PartitionWatchers, wait_for, wait_for_partitions};
pub use delete_records::DELETE_TO_HIGH_WATERMARK;
pub use fetch_context::{
    AnsweredPartition, FetchManager, FetchSessionError, FetchSessionStats, RequestedPartition,
    SessionFetchOutcome, SessionFetchRequest,
};
pub use fetch_params::{
    FetchMemory, FetchOutcome, FetchParams, FetchPartition, FetchReservation, PartitionFetchResult,
};
pub use fetcher_manager::FollowTarget;
pub use isr::run_isr_maintenance;
pub use leader_epoch_cache::{UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};
pub use manager::{LeaderAndIsrOutcome, PartitionStateUpdate, ReplicaManager};
pub use offset_lookup::{
    DEBUGGING_REPLICA_ID, EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, MAX_TIMESTAMP,
};
pub use partition::{FetchIsolation, Partition};
pub use producer_expiration::run_producer_expiration;
pub use producer_state::ProducerStateError;
pub use settings::ReplicationSettings;

use crate::log::LogError;
use crate::log::produce_records::ProduceRecordsError;
use crate::model::{LeaderEpoch, Offset};

/// What can go wrong serving a partition; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("this broker does not host {0}")]
    UnknownTopicOrPartition(String),
    /// A Fetch v13+ names a topic id this broker does not know.
    #[error("no topic has id {0}")]
    UnknownTopicId(String),
    #[error("this broker is not the leader of {0}")]
    NotLeaderOrFollower(String),
    #[error("request carries leader epoch {request} but {partition} is at {current}")]
    FencedLeaderEpoch {
        partition: String,
        request: LeaderEpoch,
        current: LeaderEpoch,
    },
    #[error("request carries leader epoch {request} newer than {current} for {partition}")]
    UnknownLeaderEpoch {
        partition: String,
        request: LeaderEpoch,
        current: LeaderEpoch,
    },
    /// Produce acks other than 0, 1 and -1.
    #[error("acks {0} is not one of 0, 1 and -1")]
    InvalidRequiredAcks(i16),
    /// Produce records refused before any append (Kafka's
    /// `ProduceRequest.validateRecords`).
    #[error("{partition}: {source}")]
    InvalidProduceRecords {
        partition: String,
        source: ProduceRecordsError,
    },
    #[error("controller epoch {request} is older than {current}")]
    StaleControllerEpoch { request: i32, current: i32 },
    /// A LeaderAndIsr partition state not newer than the applied one
    /// (answered STALE_CONTROLLER_EPOCH, as Kafka does).
    #[error(
        "LeaderAndIsr for {partition} at leader epoch {request_epoch} (zkVersion {request_zk_version}) is not newer than leader epoch {current_epoch} (zkVersion {current_zk_version})"
    )]
    StaleLeaderAndIsr {
        partition: String,
        request_epoch: LeaderEpoch,
        request_zk_version: i32,
        current_epoch: LeaderEpoch,
        current_zk_version: i32,
    },
    /// KIP-207: a new leader's high watermark is still below its epoch's
    /// start offset, so it has no latest offset to give yet.
    #[error(
        "{partition}: the high watermark {high_watermark} is below the leader epoch's start offset {epoch_start}"
    )]
    OffsetNotAvailable {
        partition: String,
        high_watermark: Offset,
        epoch_start: Offset,
    },
    #[error("ISR of {partition} has {isr} members, fewer than min.insync.replicas {min_isr}")]
    NotEnoughReplicas {
        partition: String,
        isr: usize,
        min_isr: usize,
    },
    #[error(
        "ISR of {partition} shrank to {isr} members, fewer than min.insync.replicas {min_isr}, after the append"
    )]
    NotEnoughReplicasAfterAppend {
        partition: String,
        isr: usize,
        min_isr: usize,
    },
    #[error("{0}: the ISR did not replicate the append within the request timeout")]
    RequestTimedOut(String),
    /// DeleteRecords on a partition whose cleanup.policy has no `delete`.
    #[error("records of {0} cannot be deleted: its cleanup.policy is compact only")]
    DeleteRecordsPolicyViolation(String),
    #[error("log error: {0}")]
    Log(#[from] LogError),
    /// An idempotent batch the leader refused (epoch or sequence).
    #[error("{partition}: {source}")]
    ProducerState {
        partition: String,
        source: ProducerStateError,
    },
}
