//! The partitions this broker hosts: leader appends, reads bounded by the high
//! watermark, leadership changes from LeaderAndIsr, and the waits (acks=all,
//! long-poll fetch) that depend on the high watermark moving. Kafka's
//! ReplicaManager and Partition.
//!
//! Depends on `log`, `model` and `metadata`; never on the network layer, so
//! errors are this room's own enum and `server/errors.rs` maps them to codes.

mod delayed;
mod manager;
mod partition;

pub use delayed::wait_for;
pub use manager::{LeaderAndIsrOutcome, PartitionRead, PartitionStateUpdate, ReplicaManager};
pub use partition::{FetchIsolation, Partition};

use crate::log::LogError;

/// What can go wrong serving a partition; each maps to one Kafka error code.
#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("this broker does not host {0}")]
    UnknownTopicOrPartition(String),
    #[error("this broker is not the leader of {0}")]
    NotLeaderOrFollower(String),
    #[error("request carries leader epoch {request} but {partition} is at {current}")]
    FencedLeaderEpoch {
        partition: String,
        request: i32,
        current: i32,
    },
    #[error("request carries leader epoch {request} newer than {current} for {partition}")]
    UnknownLeaderEpoch {
        partition: String,
        request: i32,
        current: i32,
    },
    #[error("controller epoch {request} is older than {current}")]
    StaleControllerEpoch { request: i32, current: i32 },
    #[error("ISR of {partition} has {isr} members, fewer than min.insync.replicas {min_isr}")]
    NotEnoughReplicas {
        partition: String,
        isr: usize,
        min_isr: usize,
    },
    #[error("log error: {0}")]
    Log(#[from] LogError),
}
