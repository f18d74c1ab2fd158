//! The ONLY mapping from Sluice's internal errors to Kafka error codes.
//! Handlers return domain errors; this file decides what a client sees.

use kafka_protocol::ResponseError;

use crate::log::{BatchError, LogError};
use crate::replica::ReplicaError;

pub const NONE: i16 = 0;

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

pub fn replica_error_code(error: &ReplicaError) -> i16 {
    let e = match error {
        ReplicaError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
        ReplicaError::NotLeaderOrFollower(_) => ResponseError::NotLeaderOrFollower,
        ReplicaError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
        ReplicaError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
        ReplicaError::StaleControllerEpoch { .. } => ResponseError::StaleControllerEpoch,
        ReplicaError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
        ReplicaError::Log(log) => return log_error_code(log),
    };
    e.code()
}

pub fn log_error_code(error: &LogError) -> i16 {
    let e = match error {
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::Batch(batch) => match batch {
            BatchError::RecordTooLarge { .. } => ResponseError::MessageTooLarge,
            BatchError::UnsupportedMagic { .. } => ResponseError::UnsupportedForMessageFormat,
            BatchError::InvalidRecord { .. } => ResponseError::InvalidRecord,
            _ => ResponseError::CorruptMessage,
        },
        _ => ResponseError::KafkaStorageError,
    };
    e.code()
}
