//! The fuzz test's seeds: valid request frames (header and body, without the
//! size prefix) of every API key and version the broker advertises
//! (`sluice::server::dispatch::SUPPORTED_APIS`), built with kafka-protocol's
//! encoders. Each key has its default (empty) request; the APIs with lists,
//! records and ids also get a populated one, and Produce gets record batches
//! in every codec, so mutations reach the deep parts of the decoders and the
//! batch validation.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use sluice::server::dispatch::SUPPORTED_APIS;

/// The topic and group the populated templates name.
pub const TOPIC: &str = "fuzz";
pub const GROUP: &str = "fuzz-group";

/// One seed: its key and version and the whole frame.
#[derive(Clone)]
pub struct Template {
    pub key: ApiKey,
    pub version: i16,
    pub frame: Bytes,
}

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

/// A request header of `key` v`version` followed by `body`, or `None` when
/// the body does not encode in that version (a field it lacks).
pub fn frame<R: Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Option<Bytes> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(s("sluice-fuzz")));
    let mut buf = BytesMut::new();
    header
        .encode(&mut buf, key.request_header_version(version))
        .ok()?;
    body.encode(&mut buf, version).ok()?;
    Some(buf.freeze())
}

/// One magic-2 batch of `count` records in `compression`, from producer
/// `producer_id` (-1: none), with keys and a header on every record.
pub fn record_batch(compression: Compression, count: usize, producer_id: i64) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: if producer_id < 0 { -1 } else { 0 },
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: if producer_id < 0 {
                i as i32 - 1
            } else {
                i as i32
            },
            timestamp: 1_700_000_000_000 + i as i64,
            key: Some(Bytes::from(format!("key-{i}"))),
            value: Some(Bytes::from(format!("value {i} ").repeat(3))),
            headers: [(s("h"), Some(Bytes::from_static(b"v")))]
                .into_iter()
                .collect(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode a record batch");
    buf.freeze()
}

/// Every codec's batch, as Produce templates carry them.
pub fn sample_batches() -> Vec<Bytes> {
    vec![
        record_batch(Compression::None, 3, -1),
        record_batch(Compression::None, 1, 1000),
        record_batch(Compression::Gzip, 4, -1),
        record_batch(Compression::Snappy, 4, -1),
        record_batch(Compression::Lz4, 4, -1),
        record_batch(Compression::Zstd, 4, -1),
    ]
}

pub fn produce(records: Bytes, acks: i16) -> ProduceRequest {
    use produce_request::{PartitionProduceData, TopicProduceData};
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(10)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(TopicName(s(TOPIC)))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records)),
                ]),
        ])
}

/// The populated request bodies of `key` (besides its default one),
/// encoded in `version` where they can be.
fn populated(key: ApiKey, version: i16) -> Vec<Option<Bytes>> {
    let topic = || TopicName(s(TOPIC));
    let group = || GroupId(s(GROUP));
    match key {
        ApiKey::Produce => sample_batches()
            .into_iter()
            .zip([1, 0, -1, 1, 1, 1])
            .map(|(batch, acks)| frame(key, version, 1, &produce(batch, acks)))
            .collect(),
        ApiKey::Fetch => {
            use fetch_request::{FetchPartition, FetchTopic};
            let request = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(5)
                .with_min_bytes(1)
                .with_max_bytes(1 << 20)
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(if version < 13 {
                            topic()
                        } else {
                            Default::default()
                        })
                        .with_topic_id(if version < 13 {
                            Default::default()
                        } else {
                            uuid_of(1)
                        })
                        .with_partitions(vec![
                            FetchPartition::default()
                                .with_partition(0)
                                .with_fetch_offset(0)
                                .with_partition_max_bytes(1 << 16),
                        ]),
                ]);
            vec![frame(key, version, 2, &request)]
        }
        ApiKey::ListOffsets => {
            use list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    ListOffsetsTopic::default()
                        .with_name(topic())
                        .with_partitions(vec![
                            ListOffsetsPartition::default().with_timestamp(-1),
                            ListOffsetsPartition::default()
                                .with_partition_index(1)
                                .with_timestamp(-2),
                        ]),
                ]);
            vec![frame(key, version, 3, &request)]
        }
        ApiKey::Metadata => {
            let request = MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(topic())),
            ]));
            vec![
                frame(key, version, 4, &request),
                frame(
                    key,
                    version,
                    4,
                    &MetadataRequest::default().with_topics(None),
                ),
            ]
        }
        ApiKey::CreateTopics => {
            use create_topics_request::{CreatableTopic, CreatableTopicConfig};
            let request = CreateTopicsRequest::default()
                .with_timeout_ms(1000)
                .with_topics(vec![
                    CreatableTopic::default()
                        .with_name(TopicName(s("fuzz-created")))
                        .with_num_partitions(1)
                        .with_replication_factor(1)
                        .with_configs(vec![
                            CreatableTopicConfig::default()
                                .with_name(s("retention.ms"))
                                .with_value(Some(s("60000"))),
                        ]),
                ]);
            vec![frame(key, version, 5, &request)]
        }
        ApiKey::DescribeConfigs => {
            use describe_configs_request::DescribeConfigsResource;
            let request = DescribeConfigsRequest::default().with_resources(vec![
                DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(s(TOPIC)),
                DescribeConfigsResource::default()
                    .with_resource_type(4)
                    .with_resource_name(s("0"))
                    .with_configuration_keys(Some(vec![s("log.retention.ms")])),
            ]);
            vec![frame(key, version, 6, &request)]
        }
        ApiKey::FindCoordinator => vec![
            frame(
                key,
                version,
                7,
                &FindCoordinatorRequest::default().with_key(s(GROUP)),
            ),
            frame(
                key,
                version,
                7,
                &FindCoordinatorRequest::default().with_coordinator_keys(vec![s(GROUP)]),
            ),
        ],
        ApiKey::OffsetCommit => {
            use offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
            let request = OffsetCommitRequest::default()
                .with_group_id(group())
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    OffsetCommitRequestTopic::default()
                        .with_name(topic())
                        .with_partitions(vec![
                            OffsetCommitRequestPartition::default()
                                .with_committed_offset(7)
                                .with_committed_metadata(Some(s("meta"))),
                        ]),
                ]);
            vec![frame(key, version, 8, &request)]
        }
        ApiKey::OffsetFetch => {
            let request = OffsetFetchRequest::default()
                .with_group_id(group())
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(topic())
                        .with_partition_indexes(vec![0, 1]),
                ]));
            vec![frame(key, version, 9, &request)]
        }
        ApiKey::JoinGroup => {
            let request = JoinGroupRequest::default()
                .with_group_id(group())
                .with_session_timeout_ms(6000)
                .with_rebalance_timeout_ms(100)
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![
                    join_group_request::JoinGroupRequestProtocol::default()
                        .with_name(s("range"))
                        .with_metadata(Bytes::from_static(&[
                            0, 1, 0, 0, 0, 1, 0, 4, b'f', b'u', b'z', b'z', 0, 0, 0, 0,
                        ])),
                ]);
            vec![frame(key, version, 10, &request)]
        }
        ApiKey::SyncGroup => {
            let request = SyncGroupRequest::default()
                .with_group_id(group())
                .with_generation_id(1)
                .with_member_id(s("member-1"))
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s("member-1"))
                        .with_assignment(Bytes::from_static(&[0, 1, 0, 0, 0, 0])),
                ]);
            vec![frame(key, version, 11, &request)]
        }
        ApiKey::Heartbeat => vec![frame(
            key,
            version,
            12,
            &HeartbeatRequest::default()
                .with_group_id(group())
                .with_generation_id(1)
                .with_member_id(s("member-1")),
        )],
        ApiKey::DeleteRecords => {
            use delete_records_request::{DeleteRecordsPartition, DeleteRecordsTopic};
            let request = DeleteRecordsRequest::default()
                .with_timeout_ms(10)
                .with_topics(vec![
                    DeleteRecordsTopic::default()
                        .with_name(topic())
                        .with_partitions(vec![DeleteRecordsPartition::default().with_offset(0)]),
                ]);
            vec![frame(key, version, 13, &request)]
        }
        ApiKey::OffsetForLeaderEpoch => {
            use offset_for_leader_epoch_request::{OffsetForLeaderPartition, OffsetForLeaderTopic};
            let request = OffsetForLeaderEpochRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(vec![
                    OffsetForLeaderTopic::default()
                        .with_topic(topic())
                        .with_partitions(vec![
                            OffsetForLeaderPartition::default().with_leader_epoch(0),
                        ]),
                ]);
            vec![frame(key, version, 14, &request)]
        }
        ApiKey::InitProducerId => vec![frame(
            key,
            version,
            15,
            &InitProducerIdRequest::default()
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )],
        ApiKey::SaslHandshake => vec![frame(
            key,
            version,
            16,
            &SaslHandshakeRequest::default().with_mechanism(s("PLAIN")),
        )],
        ApiKey::SaslAuthenticate => vec![frame(
            key,
            version,
            17,
            &SaslAuthenticateRequest::default()
                .with_auth_bytes(Bytes::from_static(b"\0alice\0alice-secret")),
        )],
        _ => Vec::new(),
    }
}

/// A fixed, non-nil topic id.
fn uuid_of(n: u128) -> uuid::Uuid {
    uuid::Uuid::from_u128(n)
}

macro_rules! default_bodies {
    ($( $key:ident => $request:ty, )*) => {
        /// The default (empty) request of `key`, encoded in `version`.
        fn default_body(key: ApiKey, version: i16) -> Option<Bytes> {
            match key {
                $( ApiKey::$key => frame(key, version, 0, &<$request>::default()), )*
                _ => None,
            }
        }
    };
}

default_bodies! {
    Produce => ProduceRequest,
    Fetch => FetchRequest,
    ListOffsets => ListOffsetsRequest,
    Metadata => MetadataRequest,
    LeaderAndIsr => LeaderAndIsrRequest,
    StopReplica => StopReplicaRequest,
    UpdateMetadata => UpdateMetadataRequest,
    ControlledShutdown => ControlledShutdownRequest,
    FindCoordinator => FindCoordinatorRequest,
    ApiVersions => ApiVersionsRequest,
    CreateTopics => CreateTopicsRequest,
    DeleteTopics => DeleteTopicsRequest,
    InitProducerId => InitProducerIdRequest,
    DescribeConfigs => DescribeConfigsRequest,
    AlterConfigs => AlterConfigsRequest,
    IncrementalAlterConfigs => IncrementalAlterConfigsRequest,
    OffsetForLeaderEpoch => OffsetForLeaderEpochRequest,
    ElectLeaders => ElectLeadersRequest,
    AlterPartitionReassignments => AlterPartitionReassignmentsRequest,
    ListPartitionReassignments => ListPartitionReassignmentsRequest,
    OffsetCommit => OffsetCommitRequest,
    OffsetFetch => OffsetFetchRequest,
    JoinGroup => JoinGroupRequest,
    Heartbeat => HeartbeatRequest,
    LeaveGroup => LeaveGroupRequest,
    SyncGroup => SyncGroupRequest,
    DescribeGroups => DescribeGroupsRequest,
    ListGroups => ListGroupsRequest,
    DeleteGroups => DeleteGroupsRequest,
    OffsetDelete => OffsetDeleteRequest,
    CreatePartitions => CreatePartitionsRequest,
    DeleteRecords => DeleteRecordsRequest,
    DescribeLogDirs => DescribeLogDirsRequest,
    DescribeCluster => DescribeClusterRequest,
    SaslHandshake => SaslHandshakeRequest,
    SaslAuthenticate => SaslAuthenticateRequest,
}

/// Every seed: for each advertised key and version, its default request and
/// the populated ones that encode in that version. Panics when an
/// advertised key has no template at all (a new API needs one here).
pub fn all() -> Vec<Template> {
    let mut out = Vec::new();
    for &(key, min, max) in SUPPORTED_APIS {
        for version in min..=max {
            let bodies = std::iter::once(default_body(key, version)).chain(populated(key, version));
            let before = out.len();
            out.extend(bodies.flatten().map(|frame| Template {
                key,
                version,
                frame,
            }));
            assert!(
                out.len() > before,
                "no template encodes {key:?} v{version}: add it to tests/fuzz/templates.rs"
            );
        }
    }
    out
}
