//! The Kafka code of every `ReplicaError` variant (and the `LogError`s it
//! wraps): the table a client sees for produce, fetch and replica requests.

use crate::model::off;
use kafka_protocol::ResponseError as E;

use super::*;
use crate::model::LeaderEpoch;
use crate::model::TopicPartition;

fn p() -> String {
    "t-0".to_owned()
}

#[test]
fn every_replica_error_has_its_kafka_code() {
    let producer = |source| ReplicaError::ProducerState {
        partition: p(),
        source,
    };
    let records = |source| ReplicaError::InvalidProduceRecords {
        partition: p(),
        source,
    };
    let table = [
        (
            ReplicaError::UnknownTopicOrPartition(p()),
            E::UnknownTopicOrPartition,
        ),
        (ReplicaError::UnknownTopicId(p()), E::UnknownTopicId),
        (
            ReplicaError::NotLeaderOrFollower(p()),
            E::NotLeaderOrFollower,
        ),
        (
            ReplicaError::FencedLeaderEpoch {
                partition: p(),
                request: LeaderEpoch::new(1),
                current: LeaderEpoch::new(2),
            },
            E::FencedLeaderEpoch,
        ),
        (
            ReplicaError::UnknownLeaderEpoch {
                partition: p(),
                request: LeaderEpoch::new(3),
                current: LeaderEpoch::new(2),
            },
            E::UnknownLeaderEpoch,
        ),
        (ReplicaError::InvalidRequiredAcks(2), E::InvalidRequiredAcks),
        (records(ProduceRecordsError::NoBatch(9)), E::InvalidRecord),
        (
            records(ProduceRecordsError::NotMagicV2(9)),
            E::InvalidRecord,
        ),
        (
            records(ProduceRecordsError::NotOneBatch(9)),
            E::InvalidRecord,
        ),
        (
            records(ProduceRecordsError::ZstdBeforeV7(6)),
            E::UnsupportedCompressionType,
        ),
        (
            ReplicaError::StaleControllerEpoch {
                request: 1,
                current: 2,
            },
            E::StaleControllerEpoch,
        ),
        (
            ReplicaError::StaleLeaderAndIsr {
                partition: p(),
                request_epoch: LeaderEpoch::new(1),
                request_zk_version: 1,
                current_epoch: LeaderEpoch::new(1),
                current_zk_version: 1,
            },
            E::StaleControllerEpoch,
        ),
        (
            ReplicaError::OffsetNotAvailable {
                partition: p(),
                high_watermark: off(0),
                epoch_start: off(1),
            },
            E::OffsetNotAvailable,
        ),
        (
            ReplicaError::NotEnoughReplicas {
                partition: p(),
                isr: 1,
                min_isr: 2,
            },
            E::NotEnoughReplicas,
        ),
        (
            ReplicaError::NotEnoughReplicasAfterAppend {
                partition: p(),
                isr: 1,
                min_isr: 2,
            },
            E::NotEnoughReplicasAfterAppend,
        ),
        (ReplicaError::RequestTimedOut(p()), E::RequestTimedOut),
        (
            ReplicaError::DeleteRecordsPolicyViolation(p()),
            E::PolicyViolation,
        ),
        (
            producer(ProducerStateError::InvalidProducerEpoch {
                producer_id: 1,
                epoch: 0,
                current_epoch: 1,
            }),
            E::InvalidProducerEpoch,
        ),
        (
            producer(ProducerStateError::OutOfOrderSequence {
                producer_id: 1,
                epoch: 0,
                first_sequence: 5,
                expected: "expected 0".to_owned(),
            }),
            E::OutOfOrderSequenceNumber,
        ),
        (
            LogError::OffsetOutOfRange {
                requested: off(9),
                log_start: off(0),
                log_end: off(1),
            }
            .into(),
            E::OffsetOutOfRange,
        ),
        (
            LogError::RecordListTooLarge {
                tp: TopicPartition::new("t", 0),
                size_bytes: 2,
                segment_bytes: 1,
            }
            .into(),
            E::RecordListTooLarge,
        ),
        (
            LogError::from(BatchError::RecordTooLarge {
                position: 0,
                size_bytes: 2,
                max_bytes: 1,
            })
            .into(),
            E::MessageTooLarge,
        ),
        (
            LogError::from(BatchError::UnsupportedMagic {
                position: 0,
                magic: 1,
            })
            .into(),
            E::UnsupportedForMessageFormat,
        ),
        (
            LogError::from(BatchError::InvalidRecord {
                position: 0,
                reason: "x".into(),
            })
            .into(),
            E::InvalidRecord,
        ),
        (
            LogError::from(BatchError::CorruptRecord {
                position: 0,
                reason: "x".into(),
            })
            .into(),
            E::CorruptMessage,
        ),
        (
            LogError::Io {
                context: "write".to_owned(),
                source: std::io::Error::other("disk"),
            }
            .into(),
            E::KafkaStorageError,
        ),
    ];
    for (error, expected) in table {
        assert_eq!(replica_error_code(&error), expected.code(), "{error}");
    }
}

#[test]
fn every_fetch_session_error_has_its_kafka_code() {
    use crate::replica::FetchSessionError as F;
    let table = [
        (F::SessionIdNotFound(7), E::FetchSessionIdNotFound),
        (
            F::InvalidEpoch {
                session_id: 7,
                expected: 3,
                got: 2,
            },
            E::InvalidFetchSessionEpoch,
        ),
        (F::TopicIdUsage(7), E::FetchSessionTopicIdError),
    ];
    for (error, expected) in table {
        assert_eq!(fetch_session_error_code(&error), expected.code(), "{error}");
    }
}
