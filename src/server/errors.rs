//! The ONLY mapping from Sluice's internal errors to Kafka error codes.
//! Handlers return domain errors; this file decides what a client sees.

use kafka_protocol::ResponseError;

use crate::controller::{ControllerApiError, ElectionOutcome};
use crate::log::produce_records::ProduceRecordsError;
use crate::log::{BatchError, LogError};
use crate::replica::{ProducerStateError, ReplicaError};

pub const NONE: i16 = 0;

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

pub fn replica_error_code(error: &ReplicaError) -> i16 {
    let e = match error {
        ReplicaError::UnknownTopicOrPartition(_) => ResponseError::UnknownTopicOrPartition,
        ReplicaError::UnknownTopicId(_) => ResponseError::UnknownTopicId,
        ReplicaError::NotLeaderOrFollower(_) => ResponseError::NotLeaderOrFollower,
        ReplicaError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
        ReplicaError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
        ReplicaError::InvalidRequiredAcks(_) => ResponseError::InvalidRequiredAcks,
        ReplicaError::InvalidProduceRecords { source, .. } => match source {
            ProduceRecordsError::ZstdBeforeV7(_) => ResponseError::UnsupportedCompressionType,
            _ => ResponseError::InvalidRecord,
        },
        ReplicaError::StaleControllerEpoch { .. } => ResponseError::StaleControllerEpoch,
        ReplicaError::StaleLeaderAndIsr { .. } => ResponseError::StaleControllerEpoch,
        ReplicaError::OffsetNotAvailable { .. } => ResponseError::OffsetNotAvailable,
        ReplicaError::NotEnoughReplicas { .. } => ResponseError::NotEnoughReplicas,
        ReplicaError::NotEnoughReplicasAfterAppend { .. } => {
            ResponseError::NotEnoughReplicasAfterAppend
        }
        ReplicaError::RequestTimedOut(_) => ResponseError::RequestTimedOut,
        ReplicaError::DeleteRecordsPolicyViolation(_) => ResponseError::PolicyViolation,
        ReplicaError::Log(log) => return log_error_code(log),
        ReplicaError::ProducerState { source, .. } => match source {
            ProducerStateError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
            ProducerStateError::OutOfOrderSequence { .. } => {
                ResponseError::OutOfOrderSequenceNumber
            }
        },
    };
    e.code()
}

/// A Fetch refused as a whole by the session cache (KIP-227).
pub fn fetch_session_error_code(error: &crate::replica::FetchSessionError) -> i16 {
    use crate::replica::FetchSessionError as F;
    let e = match error {
        F::SessionIdNotFound(_) => ResponseError::FetchSessionIdNotFound,
        F::InvalidEpoch { .. } => ResponseError::InvalidFetchSessionEpoch,
        F::TopicIdUsage(_) => ResponseError::FetchSessionTopicIdError,
    };
    e.code()
}

pub fn log_error_code(error: &LogError) -> i16 {
    let e = match error {
        LogError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        LogError::RecordListTooLarge { .. } => ResponseError::RecordListTooLarge,
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

pub fn controller_api_error_code(error: &ControllerApiError) -> i16 {
    let e = match error {
        ControllerApiError::NotController => ResponseError::NotController,
        ControllerApiError::BrokerNotAvailable(_) => ResponseError::BrokerNotAvailable,
        ControllerApiError::StaleBrokerEpoch { .. } => ResponseError::StaleBrokerEpoch,
    };
    e.code()
}

/// The code of one partition's ElectLeaders result.
pub fn election_outcome_code(outcome: ElectionOutcome) -> i16 {
    let e = match outcome {
        ElectionOutcome::Elected => return NONE,
        ElectionOutcome::NotNeeded => ResponseError::ElectionNotNeeded,
        ElectionOutcome::PreferredLeaderNotAvailable => ResponseError::PreferredLeaderNotAvailable,
        ElectionOutcome::EligibleLeadersNotAvailable => ResponseError::EligibleLeadersNotAvailable,
        ElectionOutcome::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
        // Kafka's answer when the state znode changed under the election.
        ElectionOutcome::Conflict => ResponseError::EligibleLeadersNotAvailable,
    };
    e.code()
}

/// The code of a group coordinator error.
pub fn group_error_code(error: &crate::group::GroupError) -> i16 {
    use crate::group::GroupError;
    let e = match error {
        GroupError::NotCoordinator => ResponseError::NotCoordinator,
        GroupError::CoordinatorNotAvailable => ResponseError::CoordinatorNotAvailable,
        GroupError::CoordinatorLoadInProgress => ResponseError::CoordinatorLoadInProgress,
        GroupError::OffsetCommitTooLarge => ResponseError::InvalidCommitOffsetSize,
        GroupError::InvalidGroupId => ResponseError::InvalidGroupId,
        GroupError::UnknownMemberId => ResponseError::UnknownMemberId,
        GroupError::IllegalGeneration => ResponseError::IllegalGeneration,
        GroupError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        GroupError::InconsistentGroupProtocol => ResponseError::InconsistentGroupProtocol,
        GroupError::InvalidSessionTimeout => ResponseError::InvalidSessionTimeout,
        GroupError::MemberIdRequired => ResponseError::MemberIdRequired,
        GroupError::GroupMaxSizeReached => ResponseError::GroupMaxSizeReached,
        GroupError::FencedInstanceId => ResponseError::FencedInstanceId,
        GroupError::NonEmptyGroup => ResponseError::NonEmptyGroup,
        GroupError::GroupIdNotFound => ResponseError::GroupIdNotFound,
        GroupError::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
        GroupError::OffsetMetadataTooLarge => ResponseError::OffsetMetadataTooLarge,
        GroupError::GroupSubscribedToTopic => ResponseError::GroupSubscribedToTopic,
        // The store is unreachable for now: a retriable answer.
        GroupError::Store(_) => ResponseError::CoordinatorNotAvailable,
    };
    e.code()
}

/// The code of an optional group error (NONE when absent).
pub fn group_result_code<T>(result: &Result<T, crate::group::GroupError>) -> i16 {
    match result {
        Ok(_) => NONE,
        Err(e) => group_error_code(e),
    }
}

/// InitProducerId without a producer id block (ZooKeeper unreachable or
/// contended): retriable, as Kafka's RPC producer id manager answers.
pub fn producer_id_error_code(error: &crate::admin::producer_ids::ProducerIdError) -> i16 {
    use crate::admin::producer_ids::ProducerIdError;
    let e = match error {
        ProducerIdError::Zk(_) | ProducerIdError::TimedOut(_) => {
            ResponseError::CoordinatorLoadInProgress
        }
    };
    e.code()
}

/// The code of an admin refusal (CreateTopics, CreatePartitions,
/// DeleteTopics, AlterConfigs, IncrementalAlterConfigs, DescribeConfigs),
/// as Kafka's ZkAdminManager answers it.
pub fn admin_error_code(error: &crate::admin::AdminError) -> i16 {
    use crate::admin::AdminError;
    let e = match error {
        AdminError::InvalidTopicName { .. }
        | AdminError::TopicCollision { .. }
        | AdminError::TopicQueuedForDeletion { .. } => ResponseError::InvalidTopicException,
        AdminError::TopicAlreadyExists { .. } => ResponseError::TopicAlreadyExists,
        AdminError::UnknownTopic { .. } => ResponseError::UnknownTopicOrPartition,
        AdminError::ReassignmentInProgress { .. } => ResponseError::ReassignmentInProgress,
        AdminError::InvalidPartitions { .. } => ResponseError::InvalidPartitions,
        AdminError::InvalidReplicationFactor { .. } => ResponseError::InvalidReplicationFactor,
        AdminError::InvalidReplicaAssignment { .. } => ResponseError::InvalidReplicaAssignment,
        AdminError::InvalidConfig { .. } => ResponseError::InvalidConfig,
        // Kafka's ConfigException is answered INVALID_REQUEST.
        AdminError::InvalidConfigValue { .. } | AdminError::InvalidRequest { .. } => {
            ResponseError::InvalidRequest
        }
        AdminError::MissingPartitionZero { .. }
        | AdminError::TopicKeptChanging { .. }
        | AdminError::Zk(_) => ResponseError::UnknownServerError,
    };
    e.code()
}

/// An admin result's (error code, error message): NONE and no message, or
/// the refusal's code and its text.
pub fn admin_result_fields<T>(
    result: &Result<T, crate::admin::AdminError>,
) -> (i16, Option<String>) {
    match result {
        Ok(_) => (NONE, None),
        Err(e) => (admin_error_code(e), Some(e.to_string())),
    }
}

/// The code of one partition's AlterPartitionReassignments result.
pub fn reassignment_error_code(error: &crate::controller::ReassignmentError) -> i16 {
    use crate::controller::ReassignmentError as E;
    let e = match error {
        E::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
        E::NoReassignmentInProgress => ResponseError::NoReassignmentInProgress,
        E::UnknownTopicOrPartition => ResponseError::UnknownTopicOrPartition,
    };
    e.code()
}

#[cfg(test)]
#[path = "errors_admin_tests.rs"]
mod admin_tests;

#[cfg(test)]
#[path = "errors_replica_tests.rs"]
mod replica_tests;
