//! Raw Kafka requests, for what a client hides or cannot express: one
//! request on a fresh connection ([`send_request`], [`exchange`]), a
//! connection for several ([`RawConn`]), the record batches producers send
//! ([`plain_batch`], [`idempotent_batch`]) and the requests tests build most
//! often ([`produce_request`], [`fetch_from`], [`list_offset`]). Framing and
//! correlation-id checks are Sluice's own `sluice::protocol` codec.
//!
//! Tests that need byte-level control of frames (malformed input, versions
//! the kafka-protocol crate does not know) keep their own connection type.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, BrokerId, CreateTopicsRequest, DeleteRecordsRequest, FetchRequest, FetchResponse,
    LeaderAndIsrRequest, LeaderAndIsrResponse, ListOffsetsRequest, ListOffsetsResponse,
    ProduceRequest, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use sluice::protocol::{decode_response, encode_request};

use super::Broker;

/// How long a [`send_request`] may wait for its answer.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(60);
/// How long one [`exchange`] may take (a frozen broker never answers).
pub const RAW_IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Fetch v12: current leader epoch (v9+), topics by name (before v13).
const FETCH_VERSION: i16 = 12;
/// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER.
pub const FENCED_LEADER_EPOCH: i16 = 74;
pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
/// STALE_CONTROLLER_EPOCH.
pub const STALE_CONTROLLER_EPOCH: i16 = 11;

const CLIENT_ID: &str = "sluice-test";

pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

pub fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// Wall-clock milliseconds: records this recent are safe from time retention.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

// ------------------------------------------------------------- connections

/// One connection to a broker speaking the Kafka protocol; every request
/// gets the next correlation id, checked in its answer.
pub struct RawConn {
    stream: TcpStream,
    correlation_id: i32,
}

impl RawConn {
    /// Connects to 127.0.0.1:`port`; reads and writes give up after
    /// `io_timeout`.
    pub fn open(port: u16, io_timeout: Duration) -> Result<RawConn, String> {
        let stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), io_timeout)
            .map_err(|e| format!("connect to port {port}: {e}"))?;
        stream.set_read_timeout(Some(io_timeout)).ok();
        stream.set_write_timeout(Some(io_timeout)).ok();
        Ok(RawConn {
            stream,
            correlation_id: 0,
        })
    }

    /// Sends `request` as `version` of `key` and decodes the answer.
    pub fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, String> {
        let correlation_id = self.write_request(key, version, request)?;
        self.read_response(key, version, correlation_id)
    }

    /// Writes `request` without waiting for the answer; returns its
    /// correlation id, for [`RawConn::read_response`].
    pub fn write_request<Req: Encodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<i32, String> {
        self.correlation_id += 1;
        let frame = encode_request(key, version, self.correlation_id, CLIENT_ID, request)
            .map_err(|e| e.to_string())?;
        self.stream
            .write_all(&frame)
            .map_err(|e| format!("write {key:?} request: {e}"))?;
        Ok(self.correlation_id)
    }

    /// Reads the next response frame and decodes it as the answer to the
    /// `key` request `correlation_id`.
    pub fn read_response<Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
    ) -> Result<Resp, String> {
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .map_err(|e| format!("read {key:?} response size: {e}"))?;
        let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
        self.stream
            .read_exact(&mut body)
            .map_err(|e| format!("read {key:?} response: {e}"))?;
        decode_response(key, version, correlation_id, body.into()).map_err(|e| e.to_string())
    }

    /// The socket, to look at it (peek, addresses) without reading.
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}

/// Sends `request` as `version` of `key` to 127.0.0.1:`port` on a fresh
/// connection (giving up after [`RAW_IO_TIMEOUT`]) and decodes the answer.
pub fn exchange<Req: Encodable, Resp: Decodable>(
    port: u16,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, String> {
    RawConn::open(port, RAW_IO_TIMEOUT)?.send(key, version, request)
}

/// Sends one request to `broker` on a fresh connection and decodes the
/// answer; panics if there is none within [`RAW_TIMEOUT`].
pub fn send_request<R: Request>(broker: &Broker, version: i16, request: &R) -> R::Response {
    send_request_with_timeout(broker, version, request, RAW_TIMEOUT)
}

/// [`send_request`] giving up after `timeout`.
pub fn send_request_with_timeout<R: Request>(
    broker: &Broker,
    version: i16,
    request: &R,
    timeout: Duration,
) -> R::Response {
    let key = ApiKey::try_from(R::KEY).expect("a known api key");
    RawConn::open(broker.port(), timeout)
        .and_then(|mut conn| conn.send(key, version, request))
        .unwrap_or_else(|e| panic!("{key:?} v{version} to broker {}: {e}", broker.id()))
}

/// Names for `total` partitions spread over topics of at most `per_topic`
/// partitions each: `<prefix>-0`, `<prefix>-1`, ...
pub fn spread_topic_names(prefix: &str, total: i32, per_topic: i32) -> Vec<String> {
    (0..(total + per_topic - 1) / per_topic)
        .map(|i| format!("{prefix}-{i}"))
        .collect()
}

/// Creates `total` partitions at RF 3 as the topics `names` (from
/// [`spread_topic_names`] with the same `per_topic`) in one CreateTopics
/// request to `broker`, waiting up to `timeout`; panics on any error.
pub fn create_spread_topics(
    broker: &Broker,
    names: &[String],
    total: i32,
    per_topic: i32,
    timeout: Duration,
) {
    let request = CreateTopicsRequest::default()
        .with_topics(
            names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    CreatableTopic::default()
                        .with_name(topic_name(name))
                        .with_num_partitions(per_topic.min(total - i as i32 * per_topic))
                        .with_replication_factor(3)
                })
                .collect(),
        )
        .with_timeout_ms(600_000);
    let response = send_request_with_timeout(broker, 7, &request, timeout);
    for topic in &response.topics {
        assert_eq!(topic.error_code, 0, "CreateTopics {:?}", topic.name);
    }
}

// ------------------------------------------------------------- batches

/// Encodes `records` as one magic-2 batch without compression.
pub fn encode_batch(records: &[Record]) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode a record batch");
    buf.freeze()
}

fn records_of<V: AsRef<[u8]>>(
    values: &[V],
    producer: (i64, i16, Option<i32>),
    timestamp_ms: i64,
) -> Vec<Record> {
    let (producer_id, producer_epoch, first_sequence) = producer;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| Record {
            transactional: false,
            control: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // kafka-protocol's encoder starts a new batch whenever
            // `offset - sequence` changes; a non-idempotent batch carries
            // base sequence -1 (the first record's), so keep the difference
            // constant to get one batch of all the values.
            sequence: first_sequence.map_or(i as i32 - 1, |s| s + i as i32),
            timestamp: timestamp_ms,
            key: None,
            value: Some(Bytes::copy_from_slice(v.as_ref())),
            headers: Default::default(),
        })
        .collect()
}

/// One batch as a non-idempotent producer sends it: no producer id, one
/// record per value, all stamped `timestamp_ms`.
pub fn plain_batch<V: AsRef<[u8]>>(values: &[V], timestamp_ms: i64) -> Bytes {
    encode_batch(&records_of(values, (-1, -1, None), timestamp_ms))
}

/// A batch from idempotent producer `producer_id` in `epoch` whose first
/// record has sequence `first_sequence`, all stamped `timestamp_ms`.
pub fn idempotent_batch<V: AsRef<[u8]>>(
    producer_id: i64,
    epoch: i16,
    first_sequence: i32,
    values: &[V],
    timestamp_ms: i64,
) -> Bytes {
    encode_batch(&records_of(
        values,
        (producer_id, epoch, Some(first_sequence)),
        timestamp_ms,
    ))
}

// ------------------------------------------------------------- requests

/// Produce (acks=all, 30 s timeout) of `records` to `topic`-0.
pub fn produce_request(topic: &str, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(30_000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(topic_name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(0)
                        .with_records(Some(records)),
                ]),
        ])
}

/// A CreateTopics entry for `name` with an explicit assignment (partition
/// index -> replica broker ids); partition count and replication factor -1.
pub fn assigned_topic(name: &str, assignment: &[&[i32]]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(-1)
        .with_replication_factor(-1)
        .with_assignments(
            assignment
                .iter()
                .enumerate()
                .map(|(p, replicas)| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(p as i32)
                        .with_broker_ids(replicas.iter().map(|&b| BrokerId(b)).collect())
                })
                .collect(),
        )
}

/// ListOffsets of `topic`-0 at `timestamp` (-2 earliest, -1 latest).
pub fn list_offsets_request(topic: &str, timestamp: i64) -> ListOffsetsRequest {
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![
                    ListOffsetsPartition::default()
                        .with_partition_index(0)
                        .with_current_leader_epoch(-1)
                        .with_timestamp(timestamp),
                ]),
        ])
}

/// (error code, offset) of the only partition of a ListOffsets answer.
pub fn list_offsets_answer(response: &ListOffsetsResponse) -> (i16, i64) {
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.offset)
}

/// CreateTopics v7 of `name` with `configs` at `broker` (the controller, or
/// any broker of a one-broker cluster): the topic's error code.
pub fn create_topic_with_configs(
    broker: &Broker,
    name: &str,
    partitions: i32,
    replication_factor: i16,
    configs: &[(&str, &str)],
) -> i16 {
    let topic = CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(partitions)
        .with_replication_factor(replication_factor)
        .with_configs(topic_configs(configs));
    create_topic(broker, topic)
}

/// CreateTopics v7 of `name` with an explicit assignment (partition ->
/// replicas) and `configs`, sent to `broker` (the controller); the error code.
pub fn create_assigned_topic_with_configs(
    broker: &Broker,
    name: &str,
    assignment: &[&[i32]],
    configs: &[(&str, &str)],
) -> i16 {
    create_topic(
        broker,
        assigned_topic(name, assignment).with_configs(topic_configs(configs)),
    )
}

fn topic_configs(configs: &[(&str, &str)]) -> Vec<CreatableTopicConfig> {
    configs
        .iter()
        .map(|(k, v)| {
            CreatableTopicConfig::default()
                .with_name(StrBytes::from_string(k.to_string()))
                .with_value(Some(StrBytes::from_string(v.to_string())))
        })
        .collect()
}

fn create_topic(broker: &Broker, topic: CreatableTopic) -> i16 {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(30_000);
    let response = send_request(broker, 7, &request);
    response.topics[0].error_code
}

/// DeleteRecords v2 of `topic`-0 up to `offset` (-1: the high watermark),
/// sent to `broker`: (error code, low watermark).
pub fn delete_records(broker: &Broker, topic: &str, offset: i64) -> (i16, i64) {
    let request = DeleteRecordsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            DeleteRecordsTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![
                    DeleteRecordsPartition::default()
                        .with_partition_index(0)
                        .with_offset(offset),
                ]),
        ]);
    let response = send_request(broker, 2, &request);
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.low_watermark)
}

/// A consumer's Fetch (replica id -1, no wait, up to `max_bytes`) of
/// `topic`-`partition` from `offset`, claiming `current_leader_epoch`
/// (-1: none).
pub fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    current_leader_epoch: i32,
    max_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(max_bytes)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_current_leader_epoch(current_leader_epoch)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(max_bytes),
                ]),
        ])
}

/// The top-level error of an (empty) LeaderAndIsr v5 claiming to come from
/// controller `controller_id` in `controller_epoch`: what a deposed
/// controller would send; 0 if the broker accepted it.
pub fn leader_and_isr_error(
    port: u16,
    controller_id: i32,
    controller_epoch: i32,
) -> Result<i16, String> {
    let request = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(controller_id))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1);
    let response: LeaderAndIsrResponse = exchange(port, ApiKey::LeaderAndIsr, 5, &request)?;
    Ok(response.error_code)
}

/// What one partition's Fetch answer held.
#[derive(Debug)]
pub struct Fetched {
    pub error: i16,
    /// (offset, value) of every record returned.
    pub records: Vec<(i64, String)>,
}

/// A consumer's Fetch (replica id -1, no wait) of `topic`-`partition` from
/// `offset` on a fresh connection ([`exchange`]), claiming
/// `current_leader_epoch` (-1: none).
pub fn fetch_from(
    port: u16,
    topic: &str,
    partition: i32,
    offset: i64,
    current_leader_epoch: i32,
) -> Result<Fetched, String> {
    let request = fetch_request(topic, partition, offset, current_leader_epoch, 16 << 20);
    let response: FetchResponse = exchange(port, ApiKey::Fetch, FETCH_VERSION, &request)?;
    if response.error_code != 0 {
        return Err(format!("Fetch error {}", response.error_code));
    }
    let data = response
        .responses
        .into_iter()
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == partition)
        .ok_or("no such partition in the Fetch response")?;
    let mut bytes = data.records.clone().unwrap_or_default();
    let records = RecordBatchDecoder::decode_all(&mut bytes)
        .map_err(|e| format!("decode fetched batches: {e}"))?
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| {
            let value = r.value.map(|v| v.to_vec()).unwrap_or_default();
            (r.offset, String::from_utf8_lossy(&value).into_owned())
        })
        .collect();
    Ok(Fetched {
        error: data.error_code,
        records,
    })
}

/// A read from a broker that may be stale returned only records the
/// partition really holds at those offsets (`log`: the final, committed
/// log); an error answer must be one of `allowed_errors` (any, if empty).
pub fn assert_served_only_committed(
    what: &str,
    fetched: &Result<Fetched, String>,
    log: &[(i64, String)],
    allowed_errors: &[i16],
) {
    let Ok(fetched) = fetched else {
        return; // no answer is no stale data
    };
    if fetched.error != 0 {
        assert!(
            allowed_errors.is_empty() || allowed_errors.contains(&fetched.error),
            "{what}: error {} (expected one of {allowed_errors:?})",
            fetched.error
        );
        return;
    }
    let committed: BTreeMap<i64, &str> = log.iter().map(|(o, v)| (*o, v.as_str())).collect();
    for (offset, value) in &fetched.records {
        assert_eq!(
            committed.get(offset),
            Some(&value.as_str()),
            "{what}: the woken broker served {value:?} at offset {offset}, which the partition \
             does not hold there (stale or uncommitted data)"
        );
    }
}
