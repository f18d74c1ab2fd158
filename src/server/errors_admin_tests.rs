//! Table tests of the domain-error to Kafka-code mapping: every
//! `AdminError` and `ProducerIdError` variant with the code a client sees.

use std::time::Duration;

use kafka_protocol::ResponseError;

use super::*;
use crate::admin::AdminError;
use crate::admin::producer_ids::ProducerIdError;
use crate::zk::ZkError;

fn topic() -> String {
    "t".to_owned()
}

fn reason() -> String {
    "why".to_owned()
}

/// One value of every `AdminError` variant, with the code Kafka answers.
fn admin_table() -> Vec<(AdminError, ResponseError)> {
    vec![
        (
            AdminError::InvalidTopicName {
                topic: topic(),
                reason: reason(),
            },
            ResponseError::InvalidTopicException,
        ),
        (
            AdminError::TopicCollision {
                topic: topic(),
                existing: "t_".to_owned(),
            },
            ResponseError::InvalidTopicException,
        ),
        (
            AdminError::TopicAlreadyExists { topic: topic() },
            ResponseError::TopicAlreadyExists,
        ),
        (
            AdminError::UnknownTopic { topic: topic() },
            ResponseError::UnknownTopicOrPartition,
        ),
        (
            AdminError::TopicQueuedForDeletion { topic: topic() },
            ResponseError::InvalidTopicException,
        ),
        (
            AdminError::ReassignmentInProgress { topic: topic() },
            ResponseError::ReassignmentInProgress,
        ),
        (
            AdminError::InvalidPartitions {
                topic: topic(),
                reason: reason(),
            },
            ResponseError::InvalidPartitions,
        ),
        (
            AdminError::InvalidReplicationFactor {
                topic: topic(),
                reason: reason(),
            },
            ResponseError::InvalidReplicationFactor,
        ),
        (
            AdminError::InvalidReplicaAssignment {
                topic: topic(),
                reason: reason(),
            },
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            AdminError::InvalidConfig {
                key: "k".to_owned(),
                reason: reason(),
            },
            ResponseError::InvalidConfig,
        ),
        (
            AdminError::InvalidConfigValue {
                resource: "r".to_owned(),
                reason: reason(),
            },
            ResponseError::InvalidRequest,
        ),
        (
            AdminError::invalid_request(reason()),
            ResponseError::InvalidRequest,
        ),
        (
            AdminError::MissingPartitionZero { topic: topic() },
            ResponseError::UnknownServerError,
        ),
        (
            AdminError::TopicKeptChanging { topic: topic() },
            ResponseError::UnknownServerError,
        ),
        (
            AdminError::Zk(ZkError::ConnectionLoss {
                path: "/brokers".to_owned(),
            }),
            ResponseError::UnknownServerError,
        ),
    ]
}

/// The position of each variant in [`admin_table`]; the exhaustive match
/// makes a new variant fail to compile here until the table has it.
fn variant_index(e: &AdminError) -> usize {
    match e {
        AdminError::InvalidTopicName { .. } => 0,
        AdminError::TopicCollision { .. } => 1,
        AdminError::TopicAlreadyExists { .. } => 2,
        AdminError::UnknownTopic { .. } => 3,
        AdminError::TopicQueuedForDeletion { .. } => 4,
        AdminError::ReassignmentInProgress { .. } => 5,
        AdminError::InvalidPartitions { .. } => 6,
        AdminError::InvalidReplicationFactor { .. } => 7,
        AdminError::InvalidReplicaAssignment { .. } => 8,
        AdminError::InvalidConfig { .. } => 9,
        AdminError::InvalidConfigValue { .. } => 10,
        AdminError::InvalidRequest { .. } => 11,
        AdminError::MissingPartitionZero { .. } => 12,
        AdminError::TopicKeptChanging { .. } => 13,
        AdminError::Zk(_) => 14,
    }
}

#[test]
fn every_admin_error_has_kafkas_code() {
    let table = admin_table();
    let indices: Vec<usize> = table.iter().map(|(e, _)| variant_index(e)).collect();
    assert_eq!(
        indices,
        (0..table.len()).collect::<Vec<_>>(),
        "the table lists every variant once, in order"
    );
    for (error, expected) in table {
        assert_eq!(
            admin_error_code(&error),
            expected.code(),
            "{error:?} should answer {expected:?}"
        );
        let text = error.to_string();
        let (code, message) = admin_result_fields::<()>(&Err(error));
        assert_eq!((code, message), (expected.code(), Some(text)));
    }
    assert_eq!(admin_result_fields(&Ok::<(), AdminError>(())), (NONE, None));
}

#[test]
fn admin_messages_are_kafkas() {
    let cases = [
        (
            AdminError::TopicAlreadyExists { topic: topic() },
            "Topic 't' already exists.",
        ),
        (
            AdminError::UnknownTopic { topic: topic() },
            "The topic 't' does not exist.",
        ),
        (
            AdminError::TopicQueuedForDeletion { topic: topic() },
            "The topic is queued for deletion.",
        ),
        (
            AdminError::InvalidConfigValue {
                resource: "ConfigResource(type=TOPIC, name='t')".to_owned(),
                reason: "Invalid value x for configuration retention.ms".to_owned(),
            },
            "Invalid config value for resource ConfigResource(type=TOPIC, name='t'): Invalid value x for configuration retention.ms",
        ),
        (
            AdminError::InvalidPartitions {
                topic: topic(),
                reason: "Topic already has 2 partitions.".to_owned(),
            },
            "Topic already has 2 partitions.",
        ),
    ];
    for (error, message) in cases {
        assert_eq!(error.to_string(), message);
    }
}

#[test]
fn producer_id_errors_are_retriable() {
    let retriable = ResponseError::CoordinatorLoadInProgress.code();
    let zk = ProducerIdError::Zk(ZkError::ConnectionLoss {
        path: "/latest_producer_id_block".to_owned(),
    });
    assert_eq!(producer_id_error_code(&zk), retriable);
    let timed_out = ProducerIdError::TimedOut(Duration::from_secs(5));
    assert_eq!(producer_id_error_code(&timed_out), retriable);
}
