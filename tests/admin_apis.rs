//! Topic administration and metadata APIs from the clients' side, each test
//! against real brokers in a chroot of its own: CreateTopics (explicit and
//! default partitions / replication factor, validate_only, the error codes,
//! explicit replica assignments, topic configs in the request), DeleteTopics
//! (removal, unknown topics, re-creation with a new topic id), Metadata
//! (every version 0-12, controller and cluster id, auto-creation on and off),
//! DescribeConfigs for topics (values derived from the broker config, every
//! version), FindCoordinator, InitProducerId, and ApiVersions: the advertised
//! ranges are exactly the expected ones and every advertised (api, version)
//! pair is answered.
//!
//! Clients: kafka-python's KafkaAdminClient, confluent-kafka's AdminClient,
//! kcat -L, librdkafka (rdkafka crate), and raw requests built with the
//! kafka-protocol crate where a client cannot express something (a given
//! version, a field combination); every raw response is checked for its
//! correlation id and decoded without leftover bytes.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use common::*;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::metadata_response::MetadataResponseTopic;
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use kafka_protocol::records::{Record, RecordBatchDecoder, TimestampType};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use serde_json::{Value, json};
use uuid::Uuid;

// Kafka's error codes (org.apache.kafka.common.protocol.Errors).
const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const LEADER_NOT_AVAILABLE: i16 = 5;
const STALE_CONTROLLER_EPOCH: i16 = 11;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const UNSUPPORTED_VERSION: i16 = 35;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICATION_FACTOR: i16 = 38;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_REQUEST: i16 = 42;
const UNKNOWN_TOPIC_ID: i16 = 100;

// DescribeConfigs resource types and config sources.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const SOURCE_TOPIC_CONFIG: i8 = 1;
const SOURCE_STATIC_BROKER_CONFIG: i8 = 4;
const SOURCE_DEFAULT_CONFIG: i8 = 5;

/// How long a raw request may wait for its answer.
const RAW_TIMEOUT: Duration = Duration::from_secs(60);
/// How long metadata may take to show a created or deleted topic.
const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

// ------------------------------------------------------------ raw requests

/// One connection to a broker speaking raw Kafka requests.
struct Conn {
    stream: TcpStream,
    next_correlation_id: i32,
}

impl Conn {
    fn open(broker: &Broker) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", broker.port()))
            .unwrap_or_else(|e| panic!("connect to broker {}: {e}", broker.id()));
        stream.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(RAW_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            // Not 0 or 1, and different on every request.
            next_correlation_id: 0x5EED_0000,
        }
    }

    /// Sends `request` as `version` and returns the decoded response; panics
    /// on anything else (closed connection, wrong correlation id, bytes left
    /// over after decoding).
    fn send<R: Request>(&mut self, version: i16, request: &R) -> R::Response {
        self.try_send(version, request)
            .unwrap_or_else(|e| panic!("{} v{version}: {e}", api_name(R::KEY)))
    }

    fn try_send<R: Request>(&mut self, version: i16, request: &R) -> Result<R::Response, String> {
        let (correlation_id, frame) = self.exchange(version, request)?;
        decode_response::<R::Response>(frame, version, correlation_id)
    }

    /// Writes the request frame and reads the response frame (after the
    /// size); returns the request's correlation id and the frame.
    fn exchange<R: Request>(&mut self, version: i16, request: &R) -> Result<(i32, Bytes), String> {
        let mut body = BytesMut::new();
        request
            .encode(&mut body, version)
            .map_err(|e| format!("encode request: {e}"))?;
        self.exchange_raw(R::KEY, version, R::header_version(version), &body)
    }

    /// Like [`Conn::exchange`] with an already encoded body, for versions the
    /// kafka-protocol crate does not know.
    fn exchange_raw(
        &mut self,
        key: i16,
        version: i16,
        header_version: i16,
        body: &[u8],
    ) -> Result<(i32, Bytes), String> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 7;
        let header = RequestHeader::default()
            .with_request_api_key(key)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("admin-apis-test")));
        let mut request = BytesMut::new();
        header
            .encode(&mut request, header_version)
            .map_err(|e| format!("encode header: {e}"))?;
        request.extend_from_slice(body);
        let mut frame = (request.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&request);
        self.stream
            .write_all(&frame)
            .map_err(|e| format!("write: {e}"))?;
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .map_err(|e| format!("read response size: {e}"))?;
        let mut response = vec![0u8; u32::from_be_bytes(size) as usize];
        self.stream
            .read_exact(&mut response)
            .map_err(|e| format!("read response: {e}"))?;
        Ok((correlation_id, Bytes::from(response)))
    }
}

fn decode_response<T: Decodable + HeaderVersion>(
    mut frame: Bytes,
    version: i16,
    correlation_id: i32,
) -> Result<T, String> {
    let header = ResponseHeader::decode(&mut frame, T::header_version(version))
        .map_err(|e| format!("decode response header: {e}"))?;
    if header.correlation_id != correlation_id {
        return Err(format!(
            "correlation id {} in the response, {correlation_id} in the request",
            header.correlation_id
        ));
    }
    let body = T::decode(&mut frame, version).map_err(|e| format!("decode response: {e}"))?;
    if frame.has_remaining() {
        return Err(format!(
            "{} bytes left after decoding the response",
            frame.remaining()
        ));
    }
    Ok(body)
}

fn api_name(key: i16) -> String {
    ApiKey::try_from(key)
        .map(|k| format!("{k:?}"))
        .unwrap_or_else(|_| format!("api {key}"))
}

// ----------------------------------------------------- request builders

fn creatable(name: &str, partitions: i32, replication_factor: i16) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(topic_name(name))
        .with_num_partitions(partitions)
        .with_replication_factor(replication_factor)
}

fn create_request(topics: Vec<CreatableTopic>) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000)
}

/// CreateTopics v7 for one topic; returns its result.
fn create_topic(conn: &mut Conn, topic: CreatableTopic) -> CreatableTopicResult {
    let name = topic.name.0.to_string();
    let response = conn.send(7, &create_request(vec![topic]));
    assert_eq!(response.topics.len(), 1, "{response:?}");
    let result = response.topics.into_iter().next().unwrap();
    assert_eq!(result.name.0.as_str(), name, "{result:?}");
    result
}

/// Creates `name` (v7) and asserts success.
fn create_ok(conn: &mut Conn, name: &str, partitions: i32, replication_factor: i16) -> Uuid {
    let result = create_topic(conn, creatable(name, partitions, replication_factor));
    assert_eq!(result.error_code, NONE, "create {name}: {result:?}");
    // v5+ answers with what was created.
    assert_eq!(
        (result.num_partitions, result.replication_factor),
        (partitions, replication_factor),
        "create {name}: {result:?}"
    );
    result.topic_id
}

/// A Metadata request for `topics` (`None`: all topics) valid in `version`.
fn metadata_request(version: i16, topics: Option<&[&str]>, allow_auto: bool) -> MetadataRequest {
    let topics = match topics {
        None if version == 0 => Some(Vec::new()),
        None => None,
        Some(names) => Some(
            names
                .iter()
                .map(|n| MetadataRequestTopic::default().with_name(Some(topic_name(n))))
                .collect(),
        ),
    };
    let mut request = MetadataRequest::default().with_topics(topics);
    if version >= 4 {
        request.allow_auto_topic_creation = allow_auto;
    }
    request
}

fn metadata(
    conn: &mut Conn,
    version: i16,
    topics: Option<&[&str]>,
    allow_auto: bool,
) -> MetadataResponse {
    conn.send(version, &metadata_request(version, topics, allow_auto))
}

fn find_topic<'a>(response: &'a MetadataResponse, name: &str) -> Option<&'a MetadataResponseTopic> {
    response
        .topics
        .iter()
        .find(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(name))
}

/// One topic's Metadata (v12, no auto-creation) once it has `partitions`
/// partitions, each with a leader and no error.
fn wait_for_topic(conn: &mut Conn, name: &str, partitions: usize) -> MetadataResponseTopic {
    wait_until(
        &format!("topic {name} with {partitions} led partitions in Metadata"),
        METADATA_TIMEOUT,
        || {
            let response = metadata(conn, 12, Some(&[name]), false);
            let topic = find_topic(&response, name)?.clone();
            (topic.error_code == NONE
                && topic.partitions.len() == partitions
                && topic
                    .partitions
                    .iter()
                    .all(|p| p.error_code == NONE && p.leader_id.0 >= 0))
            .then_some(topic)
        },
    )
}

/// Waits until a full Metadata listing (v12) no longer has `name`.
fn wait_for_topic_gone(conn: &mut Conn, name: &str) {
    wait_until(
        &format!("topic {name} to leave Metadata"),
        METADATA_TIMEOUT,
        || {
            let response = metadata(conn, 12, None, false);
            find_topic(&response, name).is_none().then_some(())
        },
    );
}

fn describe_configs_request(
    version: i16,
    resources: Vec<DescribeConfigsResource>,
) -> DescribeConfigsRequest {
    let mut request = DescribeConfigsRequest::default().with_resources(resources);
    if version >= 1 {
        request.include_synonyms = true;
    }
    request
}

fn topic_resource(name: &str) -> DescribeConfigsResource {
    DescribeConfigsResource::default()
        .with_resource_type(RESOURCE_TOPIC)
        .with_resource_name(str_bytes(name))
        .with_configuration_keys(None)
}

fn describe_topic_configs(conn: &mut Conn, version: i16, name: &str) -> DescribeConfigsResult {
    let response = conn.send(
        version,
        &describe_configs_request(version, vec![topic_resource(name)]),
    );
    assert_eq!(response.results.len(), 1, "{response:?}");
    response.results.into_iter().next().unwrap()
}

/// name -> value of a DescribeConfigs result.
fn config_values(result: &DescribeConfigsResult) -> BTreeMap<String, Option<String>> {
    result
        .configs
        .iter()
        .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
        .collect()
}

fn config_entry<'a>(
    result: &'a DescribeConfigsResult,
    name: &str,
) -> &'a describe_configs_response::DescribeConfigsResourceResult {
    result
        .configs
        .iter()
        .find(|c| c.name.as_str() == name)
        .unwrap_or_else(|| panic!("no {name} in {result:?}"))
}

/// One record batch (magic 2) with one record holding `value`.
fn record_batch(value: &str) -> Bytes {
    let record = Record {
        transactional: false,
        control: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(Bytes::from(value.to_owned())),
        headers: Default::default(),
    };
    encode_batch(&[record])
}

// ------------------------------------------------------------- ZooKeeper

/// The topic id in `/brokers/topics/<t>` (Kafka's url-safe base64 UUID).
fn znode_topic_id(chroot: &str, topic: &str) -> Uuid {
    let znode = zk(chroot)
        .get_json(&format!("/brokers/topics/{topic}"))
        .unwrap_or_else(|| panic!("no /brokers/topics/{topic}"));
    let encoded = znode["topic_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no topic_id in {znode}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(encoded)
        .unwrap_or_else(|e| panic!("topic_id {encoded:?} is not url-safe base64: {e}"));
    Uuid::from_slice(&raw).unwrap_or_else(|e| panic!("topic_id {encoded:?}: {e}"))
}

/// Asserts ZooKeeper and the log dir know nothing of `topic`.
fn assert_no_trace_of(chroot: &str, broker: &Broker, topic: &str) {
    let zk = zk(chroot);
    for path in [
        format!("/brokers/topics/{topic}"),
        format!("/config/topics/{topic}"),
        format!("/admin/delete_topics/{topic}"),
    ] {
        assert!(!zk.exists(&path), "{path} exists");
    }
    let dirs = partition_dirs(broker, topic);
    assert!(dirs.is_empty(), "{topic} has partition dirs: {dirs:?}");
}

/// The `<topic>-<n>` directories in the broker's log dir.
fn partition_dirs(broker: &Broker, topic: &str) -> Vec<String> {
    let prefix = format!("{topic}-");
    let mut dirs: Vec<String> = std::fs::read_dir(broker.log_dir())
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| {
                    n.strip_prefix(&prefix)
                        .is_some_and(|rest| rest.parse::<u32>().is_ok())
                })
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

fn python_json(script: &str, args: &[&str], what: &str) -> Value {
    let out = run_python(script, args);
    let text = assert_success(&out, what);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{text}"))
}

fn ids(brokers: &[BrokerId]) -> Vec<i32> {
    brokers.iter().map(|b| b.0).collect()
}

// ------------------------------------------------------------ CreateTopics

const KAFKA_PYTHON_CREATE: &str = r#"
import json, sys
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError

admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id="admin-apis", request_timeout_ms=40000)
cases = [
    ("explicit", NewTopic("explicit", num_partitions=2, replication_factor=1), False),
    ("default-partitions", NewTopic("default-partitions", num_partitions=-1, replication_factor=1), False),
    ("default-rf", NewTopic("default-rf", num_partitions=1, replication_factor=-1), False),
    ("validate-only", NewTopic("validate-only", num_partitions=4, replication_factor=1), True),
    ("explicit-again", NewTopic("explicit", num_partitions=2, replication_factor=1), False),
    ("zero-partitions", NewTopic("zero-partitions", num_partitions=0, replication_factor=1), False),
    ("negative-partitions", NewTopic("negative-partitions", num_partitions=-2, replication_factor=1), False),
    ("rf-above-brokers", NewTopic("rf-above-brokers", num_partitions=1, replication_factor=2), False),
    ("configured", NewTopic("configured", num_partitions=1, replication_factor=1,
        topic_configs={"retention.ms": "3600000", "cleanup.policy": "compact"}), False),
]
out = {}
for key, topic, validate_only in cases:
    try:
        admin.create_topics([topic], timeout_ms=30000, validate_only=validate_only)
        out[key] = 0
    except KafkaError as e:
        out[key] = e.errno
admin.close()
print(json.dumps(out, sort_keys=True))
"#;

#[test]
fn create_topics_through_kafka_python_follows_kafka_rules() {
    let chroot = unique_chroot("admin-create");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("num.partitions", 3)
            // More than the one live broker: a -1 replication factor must fail.
            .set("default.replication.factor", 2),
    );
    let results = python_json(
        KAFKA_PYTHON_CREATE,
        &[&broker.bootstrap()],
        "kafka-python create_topics",
    );
    assert_eq!(
        results,
        json!({
            "explicit": NONE,
            "default-partitions": NONE,
            "default-rf": INVALID_REPLICATION_FACTOR,
            "validate-only": NONE,
            "explicit-again": TOPIC_ALREADY_EXISTS,
            "zero-partitions": INVALID_PARTITIONS,
            "negative-partitions": INVALID_PARTITIONS,
            "rf-above-brokers": INVALID_REPLICATION_FACTOR,
            "configured": NONE,
        })
    );

    let mut conn = Conn::open(&broker);
    let explicit = wait_for_topic(&mut conn, "explicit", 2);
    let defaults = wait_for_topic(&mut conn, "default-partitions", 3);
    for topic in [&explicit, &defaults] {
        for p in &topic.partitions {
            assert_eq!(p.leader_id.0, 1, "{topic:?}");
            assert_eq!(ids(&p.replica_nodes), [1], "{topic:?}");
            assert_eq!(ids(&p.isr_nodes), [1], "{topic:?}");
        }
    }
    assert_eq!(
        partition_dirs(&broker, "explicit"),
        ["explicit-0", "explicit-1"]
    );
    let zk = zk(&chroot);
    let znode = zk.get_json("/brokers/topics/explicit").unwrap();
    assert_eq!(znode["partitions"], json!({"0": [1], "1": [1]}), "{znode}");
    // Kafka writes /config/topics/<t> for every topic it creates.
    assert_eq!(
        zk.get_json("/config/topics/explicit"),
        Some(json!({"version": 1, "config": {}}))
    );

    // validate_only and the refused topics left nothing behind.
    for name in [
        "validate-only",
        "default-rf",
        "zero-partitions",
        "negative-partitions",
        "rf-above-brokers",
    ] {
        let response = metadata(&mut conn, 12, Some(&[name]), false);
        let topic = find_topic(&response, name).expect("an answer for the topic");
        assert_eq!(topic.error_code, UNKNOWN_TOPIC_OR_PARTITION, "{topic:?}");
        assert_no_trace_of(&chroot, &broker, name);
    }

    // Topic configs in the request become /config/topics/<t>, as in Kafka,
    // and DescribeConfigs reports them as topic overrides.
    wait_for_topic(&mut conn, "configured", 1);
    assert_eq!(
        zk.get_json("/config/topics/configured"),
        Some(json!({
            "version": 1,
            "config": {"retention.ms": "3600000", "cleanup.policy": "compact"}
        }))
    );
    let configs = describe_topic_configs(&mut conn, 4, "configured");
    assert_eq!(configs.error_code, NONE, "{configs:?}");
    for (name, value) in [("retention.ms", "3600000"), ("cleanup.policy", "compact")] {
        let entry = config_entry(&configs, name);
        assert_eq!(entry.value.as_deref(), Some(value), "{entry:?}");
        assert_eq!(entry.config_source, SOURCE_TOPIC_CONFIG, "{entry:?}");
    }
    // An unset key of the same topic still comes from the broker.
    assert_eq!(
        config_entry(&configs, "segment.bytes").config_source,
        SOURCE_DEFAULT_CONFIG
    );
}

const CONFLUENT_CREATE: &str = r#"
import json, sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

admin = AdminClient({"bootstrap.servers": sys.argv[1], "broker.address.family": "v4"})
topics = [
    NewTopic("assigned", num_partitions=3, replica_assignment=[[2, 1], [1, 2], [2, 1]]),
    NewTopic("defaults"),
    NewTopic("rf-above-brokers", num_partitions=1, replication_factor=3),
]
out = {}
for name, future in admin.create_topics(topics, operation_timeout=30, request_timeout=40).items():
    try:
        future.result()
        out[name] = 0
    except KafkaException as e:
        out[name] = e.args[0].code()
print(json.dumps(out, sort_keys=True))
"#;

#[test]
fn create_topics_honours_explicit_replica_assignments() {
    let cluster = TestCluster::start_with("admin-assign", 2, |spec| {
        spec.set("num.partitions", 2)
            .set("default.replication.factor", 2)
    });
    let results = python_json(
        CONFLUENT_CREATE,
        &[&cluster.bootstrap()],
        "confluent-kafka create_topics",
    );
    assert_eq!(
        results,
        json!({"assigned": NONE, "defaults": NONE, "rf-above-brokers": INVALID_REPLICATION_FACTOR})
    );

    let zk = zk(&cluster.chroot);
    let znode = zk.get_json("/brokers/topics/assigned").unwrap();
    assert_eq!(
        znode["partitions"],
        json!({"0": [2, 1], "1": [1, 2], "2": [2, 1]}),
        "{znode}"
    );
    let mut conn = Conn::open(&cluster.brokers[0]);
    // The preferred (first) replica leads, and both replicas join the ISR.
    let assigned = wait_until("assigned to have full ISRs", METADATA_TIMEOUT, || {
        let topic = wait_for_topic(&mut conn, "assigned", 3);
        topic
            .partitions
            .iter()
            .all(|p| p.isr_nodes.len() == 2)
            .then_some(topic)
    });
    let mut led: Vec<(i32, i32, Vec<i32>)> = assigned
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.leader_id.0, ids(&p.replica_nodes)))
        .collect();
    led.sort();
    assert_eq!(
        led,
        [(0, 2, vec![2, 1]), (1, 1, vec![1, 2]), (2, 2, vec![2, 1])]
    );
    // -1/-1 took num.partitions and default.replication.factor.
    let defaults = wait_for_topic(&mut conn, "defaults", 2);
    for p in &defaults.partitions {
        let mut replicas = ids(&p.replica_nodes);
        replicas.sort();
        assert_eq!(replicas, [1, 2], "{defaults:?}");
    }

    // What the admin clients never send, through raw requests to the
    // controller (Kafka answers NOT_CONTROLLER elsewhere).
    let controller = metadata(&mut conn, 12, Some(&[]), false).controller_id.0;
    let mut conn = Conn::open(
        cluster
            .brokers
            .iter()
            .find(|b| b.id() == controller)
            .unwrap_or_else(|| panic!("controller {controller} is not in the cluster")),
    );
    let assignment = |partition: i32, brokers: &[i32]| {
        CreatableReplicaAssignment::default()
            .with_partition_index(partition)
            .with_broker_ids(brokers.iter().map(|&b| BrokerId(b)).collect())
    };
    // Kafka: "Both numPartitions or replicationFactor and replicasAssignments
    // were set. Both cannot be used at the same time." -> INVALID_REQUEST.
    let both = create_topic(
        &mut conn,
        creatable("both-set", 2, -1)
            .with_assignments(vec![assignment(0, &[1]), assignment(1, &[2])]),
    );
    assert_eq!(both.error_code, INVALID_REQUEST, "{both:?}");
    let uneven = create_topic(
        &mut conn,
        creatable("uneven", -1, -1)
            .with_assignments(vec![assignment(0, &[1, 2]), assignment(1, &[2])]),
    );
    assert_eq!(uneven.error_code, INVALID_REPLICA_ASSIGNMENT, "{uneven:?}");
    let repeated = create_topic(
        &mut conn,
        creatable("repeated", -1, -1).with_assignments(vec![assignment(0, &[1, 1])]),
    );
    assert_eq!(
        repeated.error_code, INVALID_REPLICA_ASSIGNMENT,
        "{repeated:?}"
    );
    // Kafka: "Null value not supported for topic configs" -> INVALID_REQUEST.
    let null_config = create_topic(
        &mut conn,
        creatable("null-config", 1, 1).with_configs(vec![
            CreatableTopicConfig::default()
                .with_name(str_bytes("retention.ms"))
                .with_value(None),
        ]),
    );
    assert_eq!(null_config.error_code, INVALID_REQUEST, "{null_config:?}");
    for name in [
        "both-set",
        "uneven",
        "repeated",
        "null-config",
        "rf-above-brokers",
    ] {
        assert!(
            !zk.exists(&format!("/brokers/topics/{name}")),
            "{name} was created"
        );
    }
}

// ------------------------------------------------------------ DeleteTopics

const CONFLUENT_DELETE: &str = r#"
import json, sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

admin = AdminClient({"bootstrap.servers": sys.argv[1], "broker.address.family": "v4"})
out = {}
for name, future in admin.delete_topics(["doomed", "never-was"], operation_timeout=30, request_timeout=40).items():
    try:
        future.result()
        out[name] = 0
    except KafkaException as e:
        out[name] = e.args[0].code()
print(json.dumps(out, sort_keys=True))
"#;

/// A topic of more partitions than one znode can hold (here a billion, as a
/// fuzzed request asked) is refused with INVALID_PARTITIONS before any
/// assignment is built, validate_only or not; the broker serves on.
#[test]
fn create_topics_refuses_more_partitions_than_a_topic_znode_holds() {
    let chroot = unique_chroot("admin-too-many-partitions");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);
    for validate_only in [true, false] {
        let request =
            create_request(vec![creatable("huge", 1 << 30, 1)]).with_validate_only(validate_only);
        let response: CreateTopicsResponse = conn.send(7, &request);
        assert_eq!(
            response.topics[0].error_code, INVALID_PARTITIONS,
            "validate_only {validate_only}: {response:?}"
        );
    }
    create_ok(&mut conn, "after-huge", 1, 1);
}

fn kcat_consume_all(broker: &Broker, topic: &str) -> Vec<String> {
    let out = kcat(
        &[
            "-b",
            &broker.bootstrap(),
            "-C",
            "-t",
            topic,
            "-o",
            "beginning",
            "-e",
            "-q",
        ],
        None,
    );
    assert_success(&out, "kcat consume")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn kcat_produce(broker: &Broker, topic: &str, lines: &str) {
    let out = kcat(
        &["-b", &broker.bootstrap(), "-P", "-t", topic, "-p", "0"],
        Some(lines.as_bytes()),
    );
    assert_success(&out, "kcat produce");
}

#[test]
fn delete_topics_removes_the_topic_and_a_new_one_gets_a_new_id() {
    let chroot = unique_chroot("admin-delete");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);
    let first_id = create_ok(&mut conn, "doomed", 2, 1);
    assert!(!first_id.is_nil());
    assert_eq!(znode_topic_id(&chroot, "doomed"), first_id);
    assert_eq!(wait_for_topic(&mut conn, "doomed", 2).topic_id, first_id);
    kcat_produce(&broker, "doomed", "old-1\nold-2\n");
    assert_eq!(kcat_consume_all(&broker, "doomed"), ["old-1", "old-2"]);

    let results = python_json(
        CONFLUENT_DELETE,
        &[&broker.bootstrap()],
        "confluent-kafka delete_topics",
    );
    assert_eq!(
        results,
        json!({"doomed": NONE, "never-was": UNKNOWN_TOPIC_OR_PARTITION})
    );
    wait_for_topic_gone(&mut conn, "doomed");
    wait_until(
        "doomed's znodes and partition dirs to go",
        METADATA_TIMEOUT,
        || {
            let zk = zk(&chroot);
            (!zk.exists("/brokers/topics/doomed")
                && !zk.exists("/admin/delete_topics/doomed")
                && partition_dirs(&broker, "doomed").is_empty())
            .then_some(())
        },
    );
    assert_no_trace_of(&chroot, &broker, "doomed");
    let response = metadata(&mut conn, 12, Some(&["doomed"]), false);
    assert_eq!(
        find_topic(&response, "doomed").unwrap().error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );

    // Deleting it again: unknown now (raw v6, by name).
    let again = conn.send(
        6,
        &DeleteTopicsRequest::default()
            .with_topics(vec![
                DeleteTopicState::default().with_name(Some(topic_name("doomed"))),
            ])
            .with_timeout_ms(10_000),
    );
    assert_eq!(again.responses.len(), 1, "{again:?}");
    assert_eq!(
        again.responses[0].error_code, UNKNOWN_TOPIC_OR_PARTITION,
        "{again:?}"
    );

    // By its old topic id: unknown id.
    let by_id = conn.send(
        6,
        &DeleteTopicsRequest::default()
            .with_topics(vec![DeleteTopicState::default().with_topic_id(first_id)])
            .with_timeout_ms(10_000),
    );
    assert_eq!(by_id.responses.len(), 1, "{by_id:?}");
    assert_eq!(by_id.responses[0].error_code, UNKNOWN_TOPIC_ID, "{by_id:?}");

    // The same name again: a new topic with a new id and none of the old data.
    let second_id = create_ok(&mut conn, "doomed", 1, 1);
    assert!(!second_id.is_nil());
    assert_ne!(second_id, first_id);
    assert_eq!(znode_topic_id(&chroot, "doomed"), second_id);
    assert_eq!(wait_for_topic(&mut conn, "doomed", 1).topic_id, second_id);
    assert_eq!(kcat_consume_all(&broker, "doomed"), Vec::<String>::new());
    kcat_produce(&broker, "doomed", "new-1\n");
    assert_eq!(kcat_consume_all(&broker, "doomed"), ["new-1"]);
}

// --------------------------------------------------------------- Metadata

#[test]
fn metadata_every_version_describes_the_cluster() {
    let chroot = unique_chroot("admin-metadata");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);
    let topic_id = create_ok(&mut conn, "meta", 2, 1);
    wait_for_topic(&mut conn, "meta", 2);
    let cluster_znode = zk(&chroot).get_json("/cluster/id").expect("/cluster/id");
    let cluster_id = cluster_znode["id"]
        .as_str()
        .expect("id in /cluster/id")
        .to_owned();
    assert_eq!(znode_topic_id(&chroot, "meta"), topic_id);

    for version in 0..=12 {
        let response = metadata(&mut conn, version, None, false);
        let context = format!("Metadata v{version}: {response:?}");
        assert_eq!(response.brokers.len(), 1, "{context}");
        let b = &response.brokers[0];
        assert_eq!(
            (b.node_id.0, b.host.as_str(), b.port),
            (1, "127.0.0.1", i32::from(broker.port())),
            "{context}"
        );
        if version >= 1 {
            assert_eq!(response.controller_id.0, 1, "{context}");
        }
        if version >= 2 {
            assert_eq!(
                response.cluster_id.as_deref(),
                Some(cluster_id.as_str()),
                "{context}"
            );
        }
        let names: Vec<&str> = response
            .topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.as_str()))
            .collect();
        assert_eq!(names, ["meta"], "{context}");
        let topic = &response.topics[0];
        assert_eq!(topic.error_code, NONE, "{context}");
        assert!(!topic.is_internal, "{context}");
        if version >= 10 {
            assert_eq!(topic.topic_id, topic_id, "{context}");
        }
        let mut partitions: Vec<i32> = topic.partitions.iter().map(|p| p.partition_index).collect();
        partitions.sort();
        assert_eq!(partitions, [0, 1], "{context}");
        for p in &topic.partitions {
            assert_eq!(p.error_code, NONE, "{context}");
            assert_eq!(p.leader_id.0, 1, "{context}");
            assert_eq!(ids(&p.replica_nodes), [1], "{context}");
            assert_eq!(ids(&p.isr_nodes), [1], "{context}");
            if version >= 5 {
                assert!(p.offline_replicas.is_empty(), "{context}");
            }
            if version >= 7 {
                assert!(p.leader_epoch >= 0, "{context}");
            }
        }
        // Asking for the topic by name gives the same topic.
        let named = metadata(&mut conn, version, Some(&["meta"]), false);
        assert_eq!(named.topics.len(), 1, "v{version}: {named:?}");
        assert_eq!(named.topics[0].partitions.len(), 2, "v{version}: {named:?}");
    }

    // Authorized-operations flags (v8+) are answered, not choked on.
    for version in 8..=12 {
        let mut request = metadata_request(version, Some(&["meta"]), false);
        request.include_topic_authorized_operations = true;
        if version <= 10 {
            request.include_cluster_authorized_operations = true;
        }
        let response = conn.send(version, &request);
        assert_eq!(response.topics.len(), 1, "v{version}: {response:?}");
        assert_eq!(
            response.topics[0].error_code, NONE,
            "v{version}: {response:?}"
        );
        assert_eq!(response.controller_id.0, 1, "v{version}: {response:?}");
    }

    // kcat -L (librdkafka) sees the same.
    let out = kcat(&["-b", &broker.bootstrap(), "-L", "-J"], None);
    let listing: Value = serde_json::from_str(assert_success(&out, "kcat -L -J").trim())
        .expect("kcat -L -J prints JSON");
    assert_eq!(listing["controllerid"], 1, "{listing}");
    assert_eq!(listing["brokers"][0]["id"], 1, "{listing}");
    let topics = listing["topics"].as_array().expect("topics");
    let meta = topics
        .iter()
        .find(|t| t["topic"] == "meta")
        .unwrap_or_else(|| panic!("no meta in {listing}"));
    let partitions = meta["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 2, "{listing}");
    for p in partitions {
        assert_eq!(p["leader"], 1, "{listing}");
        assert_eq!(p["replicas"], json!([{"id": 1}]), "{listing}");
        assert_eq!(p["isrs"], json!([{"id": 1}]), "{listing}");
    }
}

#[test]
fn metadata_auto_creates_unknown_topics_only_when_allowed() {
    let chroot = unique_chroot("admin-autocreate");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("auto.create.topics.enable", "true")
            .set("num.partitions", 2),
    );
    let mut conn = Conn::open(&broker);
    let zk = zk(&chroot);

    // The client does not allow it: unknown, and nothing is created.
    let response = metadata(&mut conn, 12, Some(&["not-asked"]), false);
    let topic = find_topic(&response, "not-asked").unwrap();
    assert_eq!(topic.error_code, UNKNOWN_TOPIC_OR_PARTITION, "{topic:?}");

    // v12 with allow_auto_topic_creation, and v1 (where it is implied).
    for (version, name) in [(12, "auto-new"), (1, "auto-old")] {
        let response = metadata(&mut conn, version, Some(&[name]), true);
        let topic = find_topic(&response, name).unwrap();
        assert!(
            [LEADER_NOT_AVAILABLE, NONE].contains(&topic.error_code),
            "v{version}: {topic:?}"
        );
        let created = wait_for_topic(&mut conn, name, 2);
        assert!(!created.topic_id.is_nil());
        assert_eq!(znode_topic_id(&chroot, name), created.topic_id);
    }
    // An illegal name is refused, not created.
    let response = metadata(&mut conn, 12, Some(&["bad name!"]), true);
    let topic = find_topic(&response, "bad name!").unwrap();
    assert_eq!(topic.error_code, INVALID_TOPIC_EXCEPTION, "{topic:?}");

    // By now any auto-creation of "not-asked" would have happened too.
    assert!(!zk.exists("/brokers/topics/not-asked"));
    let response = metadata(&mut conn, 12, Some(&["not-asked"]), false);
    assert_eq!(
        find_topic(&response, "not-asked").unwrap().error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[test]
fn metadata_does_not_create_topics_when_auto_creation_is_disabled() {
    let chroot = unique_chroot("admin-noautocreate");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("auto.create.topics.enable", "false"),
    );
    let mut conn = Conn::open(&broker);
    for version in [12, 4, 1] {
        let response = metadata(&mut conn, version, Some(&["auto-off"]), true);
        let topic = find_topic(&response, "auto-off").unwrap();
        assert_eq!(
            topic.error_code, UNKNOWN_TOPIC_OR_PARTITION,
            "v{version}: {topic:?}"
        );
    }
    // A topic created after the requests is up; the unknown one still is not.
    create_ok(&mut conn, "marker", 1, 1);
    wait_for_topic(&mut conn, "marker", 1);
    assert!(!zk(&chroot).exists("/brokers/topics/auto-off"));
    let response = metadata(&mut conn, 12, None, false);
    assert!(find_topic(&response, "auto-off").is_none(), "{response:?}");
}

// -------------------------------------------------------- DescribeConfigs

const CONFLUENT_DESCRIBE: &str = r#"
import json, sys
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType

admin = AdminClient({"bootstrap.servers": sys.argv[1], "broker.address.family": "v4"})
out = {}
for name in ["cfg", "no-such-topic"]:
    future = admin.describe_configs([ConfigResource(ResourceType.TOPIC, name)], request_timeout=40)
    for resource, f in future.items():
        try:
            entries = f.result()
            out[name] = {k: [e.value, e.source, e.is_default] for k, e in entries.items()}
        except KafkaException as e:
            out[name] = e.args[0].code()
print(json.dumps(out, sort_keys=True))
"#;

/// Kafka 2.8's topic-level config keys (3.x adds more).
const KAFKA_TOPIC_CONFIGS: &[&str] = &[
    "cleanup.policy",
    "compression.type",
    "delete.retention.ms",
    "file.delete.delay.ms",
    "flush.messages",
    "flush.ms",
    "follower.replication.throttled.replicas",
    "index.interval.bytes",
    "leader.replication.throttled.replicas",
    "max.compaction.lag.ms",
    "max.message.bytes",
    "message.downconversion.enable",
    "message.format.version",
    "message.timestamp.difference.max.ms",
    "message.timestamp.type",
    "min.cleanable.dirty.ratio",
    "min.compaction.lag.ms",
    "min.insync.replicas",
    "preallocate",
    "retention.bytes",
    "retention.ms",
    "segment.bytes",
    "segment.index.bytes",
    "segment.jitter.ms",
    "segment.ms",
    "unclean.leader.election.enable",
];

#[test]
fn describe_configs_reports_topic_configs_derived_from_the_broker() {
    let chroot = unique_chroot("admin-describe");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("log.retention.hours", 5)
            .set("log.segment.bytes", 123456),
    );
    let mut conn = Conn::open(&broker);
    create_ok(&mut conn, "cfg", 1, 1);
    wait_for_topic(&mut conn, "cfg", 1);

    // What a client sees (confluent-kafka asks with the newest version).
    let described = python_json(
        CONFLUENT_DESCRIBE,
        &[&broker.bootstrap()],
        "confluent-kafka describe_configs",
    );
    assert_eq!(
        described["no-such-topic"], UNKNOWN_TOPIC_OR_PARTITION,
        "{described}"
    );
    let cfg = described["cfg"]
        .as_object()
        .unwrap_or_else(|| panic!("{described}"));
    for key in KAFKA_TOPIC_CONFIGS {
        assert!(cfg.contains_key(*key), "no {key} in {described}");
    }
    assert_eq!(cfg["retention.ms"][0], "18000000", "{described}");
    assert_eq!(
        cfg["segment.bytes"],
        json!(["123456", SOURCE_STATIC_BROKER_CONFIG, false])
    );
    assert_eq!(
        cfg["cleanup.policy"],
        json!(["delete", SOURCE_DEFAULT_CONFIG, true])
    );
    assert_eq!(
        cfg["max.message.bytes"],
        json!(["1048588", SOURCE_DEFAULT_CONFIG, true])
    );
    assert_eq!(cfg["min.insync.replicas"][0], "1", "{described}");
    assert_eq!(cfg["compression.type"][0], "producer", "{described}");
    assert_eq!(cfg["retention.bytes"][0], "-1", "{described}");

    // Every version answers with the same values.
    let mut reference = None;
    for version in 0..=4 {
        let result = describe_topic_configs(&mut conn, version, "cfg");
        assert_eq!(result.error_code, NONE, "v{version}: {result:?}");
        assert_eq!(result.resource_name.as_str(), "cfg");
        assert_eq!(result.resource_type, RESOURCE_TOPIC);
        let values = config_values(&result);
        assert_eq!(
            values.get("retention.ms"),
            Some(&Some("18000000".to_owned())),
            "v{version}"
        );
        assert_eq!(
            values.get("segment.bytes"),
            Some(&Some("123456".to_owned())),
            "v{version}"
        );
        let segment = config_entry(&result, "segment.bytes");
        let cleanup = config_entry(&result, "cleanup.policy");
        if version == 0 {
            assert!(!segment.is_default, "v0: {segment:?}");
            assert!(cleanup.is_default, "v0: {cleanup:?}");
        } else {
            assert_eq!(
                segment.config_source, SOURCE_STATIC_BROKER_CONFIG,
                "v{version}"
            );
            assert_eq!(cleanup.config_source, SOURCE_DEFAULT_CONFIG, "v{version}");
            // include_synonyms: the broker key the value comes from.
            let first = segment
                .synonyms
                .first()
                .unwrap_or_else(|| panic!("v{version}: {segment:?}"));
            assert_eq!(
                (first.name.as_str(), first.value.as_deref(), first.source),
                (
                    "log.segment.bytes",
                    Some("123456"),
                    SOURCE_STATIC_BROKER_CONFIG
                ),
                "v{version}"
            );
        }
        match &reference {
            None => reference = Some(values),
            Some(reference) => assert_eq!(&values, reference, "v{version} differs from v0"),
        }
    }

    // configuration_keys picks keys.
    let request = describe_configs_request(
        4,
        vec![topic_resource("cfg").with_configuration_keys(Some(vec![str_bytes("segment.bytes")]))],
    );
    let response = conn.send(4, &request);
    let names: Vec<&str> = response.results[0]
        .configs
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(names, ["segment.bytes"], "{response:?}");

    // Unknown topic: an error, and the connection and the broker carry on.
    // This broker's resource describes its configs; another id is
    // INVALID_REQUEST, as in Kafka.
    for version in [0, 4] {
        let result = describe_topic_configs(&mut conn, version, "no-such-topic");
        assert_eq!(
            result.error_code, UNKNOWN_TOPIC_OR_PARTITION,
            "v{version}: {result:?}"
        );
        let broker_resource = |id: &str| {
            DescribeConfigsResource::default()
                .with_resource_type(RESOURCE_BROKER)
                .with_resource_name(str_bytes(id))
                .with_configuration_keys(None)
        };
        let response = conn.send(
            version,
            &describe_configs_request(version, vec![broker_resource("1")]),
        );
        assert_eq!(response.results.len(), 1, "{response:?}");
        assert_eq!(response.results[0].error_code, NONE, "{response:?}");
        let values = config_values(&response.results[0]);
        assert_eq!(
            values.get("log.segment.bytes"),
            Some(&Some("123456".to_owned())),
            "v{version}"
        );
        let other = conn.send(
            version,
            &describe_configs_request(version, vec![broker_resource("2")]),
        );
        assert_eq!(other.results[0].error_code, INVALID_REQUEST, "{other:?}");
    }
    assert_eq!(describe_topic_configs(&mut conn, 4, "cfg").error_code, NONE);
    assert!(broker.is_running());
}

// ------------------------------------ FindCoordinator and InitProducerId

#[test]
fn find_coordinator_and_init_producer_id_answer_every_version() {
    let chroot = unique_chroot("admin-coordinator");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);

    for version in 0..=3 {
        let response = conn.send(
            version,
            &FindCoordinatorRequest::default()
                .with_key(str_bytes("some-group"))
                .with_key_type(0),
        );
        assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
        assert_eq!(
            (response.node_id.0, response.host.as_str(), response.port),
            (1, "127.0.0.1", i32::from(broker.port())),
            "v{version}: {response:?}"
        );
    }

    let mut producer_ids = BTreeSet::new();
    for version in 0..=4 {
        for _ in 0..2 {
            let response = conn.send(
                version,
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_transaction_timeout_ms(60_000),
            );
            assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
            assert!(response.producer_id.0 >= 0, "v{version}: {response:?}");
            assert_eq!(response.producer_epoch, 0, "v{version}: {response:?}");
            assert!(
                producer_ids.insert(response.producer_id.0),
                "v{version}: producer id {} handed out twice",
                response.producer_id.0
            );
        }
    }

    // An idempotent librdkafka producer (InitProducerId first) delivers.
    let mut create = Conn::open(&broker);
    create_ok(&mut create, "idem", 1, 1);
    wait_for_topic(&mut create, "idem", 1);
    let producer: BaseProducer = producer_config(&broker.bootstrap())
        .set("enable.idempotence", "true")
        .create()
        .expect("idempotent producer");
    producer
        .send(BaseRecord::<(), str>::to("idem").payload("once"))
        .map_err(|(e, _)| e)
        .expect("enqueue");
    producer
        .flush(Duration::from_secs(30))
        .expect("idempotent delivery");
    assert_eq!(kcat_consume_all(&broker, "idem"), ["once"]);
}

// ------------------------------------------------------------ ApiVersions

/// What the broker must advertise, exactly: (api key, min, max).
const EXPECTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 9),
    (ApiKey::Fetch, 4, 13),
    (ApiKey::ListOffsets, 1, 7),
    (ApiKey::Metadata, 0, 12),
    (ApiKey::LeaderAndIsr, 2, 7),
    (ApiKey::StopReplica, 3, 4),
    (ApiKey::UpdateMetadata, 5, 8),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::DescribeConfigs, 0, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::ControlledShutdown, 1, 3),
    (ApiKey::ElectLeaders, 0, 2),
    (ApiKey::OffsetCommit, 0, 8),
    (ApiKey::OffsetFetch, 0, 8),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::ListGroups, 0, 4),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::AlterPartitionReassignments, 0, 0),
    (ApiKey::ListPartitionReassignments, 0, 0),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeLogDirs, 0, 4),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// State shared by the per-version probes of one broker.
struct Probe<'a> {
    conn: Conn,
    broker: &'a Broker,
    topic: &'static str,
    topic_id: Uuid,
    /// Records produced to partition 0 so far.
    produced: i64,
}

impl Probe<'_> {
    /// Sends a minimal valid request of `key` version `version` and checks the
    /// answer makes sense.
    fn check(&mut self, key: ApiKey, version: i16) {
        let topic = self.topic;
        match key {
            ApiKey::ApiVersions => {
                let request = if version >= 3 {
                    api_versions_request()
                } else {
                    ApiVersionsRequest::default()
                };
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(advertised(&response), expected_apis(), "v{version}");
            }
            ApiKey::Metadata => {
                let response = metadata(&mut self.conn, version, None, false);
                let found = find_topic(&response, topic)
                    .unwrap_or_else(|| panic!("v{version}: {response:?}"));
                assert_eq!(found.error_code, NONE, "v{version}: {response:?}");
            }
            ApiKey::Produce => {
                let request = produce_request(topic, record_batch(&format!("produce-v{version}")));
                let response = self.conn.send(version, &request);
                let p = &response.responses[0].partition_responses[0];
                assert_eq!(p.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(p.base_offset, self.produced, "v{version}: {response:?}");
                self.produced += 1;
            }
            ApiKey::Fetch => {
                let mut fetch_topic = FetchTopic::default().with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(0)
                        .with_partition_max_bytes(1 << 20),
                ]);
                if version >= 13 {
                    fetch_topic.topic_id = self.topic_id;
                } else {
                    fetch_topic.topic = topic_name(topic);
                }
                let request = FetchRequest::default()
                    .with_max_wait_ms(100)
                    .with_min_bytes(1)
                    .with_max_bytes(1 << 20)
                    .with_topics(vec![fetch_topic]);
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                let p = &response.responses[0].partitions[0];
                assert_eq!(p.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(p.high_watermark, self.produced, "v{version}");
                let mut records = p.records.clone().unwrap_or_default();
                let sets =
                    RecordBatchDecoder::decode_all(&mut records).expect("decode fetched batches");
                let count: usize = sets.iter().map(|s| s.records.len()).sum();
                assert_eq!(count as i64, self.produced, "v{version}");
            }
            // The topic's only leader epoch is 0 and ends at the log end.
            ApiKey::OffsetForLeaderEpoch => {
                let request = OffsetForLeaderEpochRequest::default()
                    .with_replica_id(BrokerId(-1))
                    .with_topics(vec![
                        offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                            .with_topic(topic_name(topic))
                            .with_partitions(vec![
                                offset_for_leader_epoch_request::OffsetForLeaderPartition::default(
                                )
                                .with_partition(0)
                                .with_current_leader_epoch(-1)
                                .with_leader_epoch(0),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                let p = &response.topics[0].partitions[0];
                assert_eq!(p.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(p.end_offset, self.produced, "v{version}: {response:?}");
                if version >= 1 {
                    assert_eq!(p.leader_epoch, 0, "v{version}: {response:?}");
                }
            }
            ApiKey::ListOffsets => {
                let response = self.conn.send(version, &list_offsets_request(topic, -1));
                let p = &response.topics[0].partitions[0];
                assert_eq!(p.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(p.offset, self.produced, "v{version}: {response:?}");
            }
            ApiKey::CreateTopics => {
                let name = format!("probe-created-v{version}");
                let response = self
                    .conn
                    .send(version, &create_request(vec![creatable(&name, 1, 1)]));
                assert_eq!(response.topics.len(), 1, "v{version}: {response:?}");
                let topic = &response.topics[0];
                assert_eq!(topic.error_code, NONE, "v{version}: {response:?}");
                // v5+ describe the created topic: counts and its configs.
                if version >= 5 {
                    assert_eq!(
                        (topic.num_partitions, topic.replication_factor),
                        (1, 1),
                        "v{version}: {response:?}"
                    );
                    let configs = topic.configs.as_deref().unwrap_or_default();
                    let retention = configs
                        .iter()
                        .find(|c| c.name.as_str() == "retention.ms")
                        .unwrap_or_else(|| panic!("v{version}: no retention.ms: {response:?}"));
                    assert_eq!(retention.value.as_deref(), Some("604800000"), "v{version}");
                    assert!(configs.len() > 20, "v{version}: {} configs", configs.len());
                }
            }
            ApiKey::DeleteTopics => {
                let name = format!("probe-deleted-v{version}");
                create_ok(&mut self.conn, &name, 1, 1);
                let mut request = DeleteTopicsRequest::default().with_timeout_ms(30_000);
                if version >= 6 {
                    request.topics =
                        vec![DeleteTopicState::default().with_name(Some(topic_name(&name)))];
                } else {
                    request.topic_names = vec![topic_name(&name)];
                }
                let response = self.conn.send(version, &request);
                assert_eq!(response.responses.len(), 1, "v{version}: {response:?}");
                assert_eq!(
                    response.responses[0].error_code, NONE,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::DescribeConfigs => {
                let result = describe_topic_configs(&mut self.conn, version, topic);
                assert_eq!(result.error_code, NONE, "v{version}: {result:?}");
                assert!(!result.configs.is_empty(), "v{version}: {result:?}");
            }
            // validate_only: checked, answered, nothing written.
            ApiKey::AlterConfigs => {
                use kafka_protocol::messages::alter_configs_request::{
                    AlterConfigsResource, AlterableConfig,
                };
                let request = AlterConfigsRequest::default()
                    .with_validate_only(true)
                    .with_resources(vec![
                        AlterConfigsResource::default()
                            .with_resource_type(RESOURCE_TOPIC)
                            .with_resource_name(str_bytes(topic))
                            .with_configs(vec![
                                AlterableConfig::default()
                                    .with_name(str_bytes("retention.ms"))
                                    .with_value(Some(str_bytes("60000"))),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                assert_eq!(
                    response.responses[0].error_code, NONE,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::IncrementalAlterConfigs => {
                use kafka_protocol::messages::incremental_alter_configs_request::{
                    AlterConfigsResource, AlterableConfig,
                };
                let request = IncrementalAlterConfigsRequest::default()
                    .with_validate_only(true)
                    .with_resources(vec![
                        AlterConfigsResource::default()
                            .with_resource_type(RESOURCE_TOPIC)
                            .with_resource_name(str_bytes(topic))
                            .with_configs(vec![
                                AlterableConfig::default()
                                    .with_name(str_bytes("retention.ms"))
                                    .with_config_operation(0)
                                    .with_value(Some(str_bytes("60000"))),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                assert_eq!(
                    response.responses[0].error_code, NONE,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::InitProducerId => {
                let response = self.conn.send(
                    version,
                    &InitProducerIdRequest::default()
                        .with_transactional_id(None)
                        .with_transaction_timeout_ms(60_000),
                );
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert!(response.producer_id.0 >= 0, "v{version}: {response:?}");
            }
            ApiKey::FindCoordinator if version >= 4 => {
                let response = self.conn.send(
                    version,
                    &FindCoordinatorRequest::default()
                        .with_coordinator_keys(vec![str_bytes("probe-group"), str_bytes("g2")]),
                );
                assert_eq!(response.coordinators.len(), 2, "v{version}: {response:?}");
                for c in &response.coordinators {
                    assert_eq!(c.error_code, NONE, "v{version}: {response:?}");
                    assert_eq!(c.node_id.0, self.broker.id(), "v{version}: {response:?}");
                }
            }
            ApiKey::FindCoordinator => {
                let response = self.conn.send(
                    version,
                    &FindCoordinatorRequest::default().with_key(str_bytes("probe-group")),
                );
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(
                    response.node_id.0,
                    self.broker.id(),
                    "v{version}: {response:?}"
                );
            }
            // Controller-to-broker APIs: from an older controller epoch (0),
            // so they are answered and refused without changing anything.
            ApiKey::LeaderAndIsr => {
                let request = LeaderAndIsrRequest::default()
                    .with_controller_id(BrokerId(self.broker.id()))
                    .with_controller_epoch(0)
                    .with_broker_epoch(-1);
                let response = self.conn.send(version, &request);
                assert_eq!(
                    response.error_code, STALE_CONTROLLER_EPOCH,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::UpdateMetadata => {
                let request = UpdateMetadataRequest::default()
                    .with_controller_id(BrokerId(self.broker.id()))
                    .with_controller_epoch(0)
                    .with_broker_epoch(-1);
                let response = self.conn.send(version, &request);
                assert_eq!(
                    response.error_code, STALE_CONTROLLER_EPOCH,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::StopReplica => {
                let request = StopReplicaRequest::default()
                    .with_controller_id(BrokerId(self.broker.id()))
                    .with_controller_epoch(0)
                    .with_broker_epoch(-1)
                    .with_topic_states(vec![
                        StopReplicaTopicState::default()
                            .with_topic_name(topic_name(topic))
                            .with_partition_states(vec![
                                StopReplicaPartitionState::default()
                                    .with_partition_index(0)
                                    .with_delete_partition(true),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                assert_eq!(
                    response.error_code, STALE_CONTROLLER_EPOCH,
                    "v{version}: {response:?}"
                );
            }
            // From a broker id that is not registered: refused, nothing moves.
            ApiKey::ControlledShutdown => {
                let request = ControlledShutdownRequest::default()
                    .with_broker_id(BrokerId(99))
                    .with_broker_epoch(-1);
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, 8, "v{version}: {response:?}");
                assert!(response.remaining_partitions.is_empty());
            }
            // The only replica already leads: ELECTION_NOT_NEEDED.
            ApiKey::ElectLeaders => {
                let request = ElectLeadersRequest::default()
                    .with_election_type(0)
                    .with_timeout_ms(10_000)
                    .with_topic_partitions(Some(vec![
                        elect_leaders_request::TopicPartitions::default()
                            .with_topic(topic_name(topic))
                            .with_partitions(vec![0]),
                    ]));
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                let results = &response.replica_election_results;
                assert_eq!(results.len(), 1, "v{version}: {response:?}");
                assert_eq!(
                    results[0].partition_result[0].error_code, 84,
                    "v{version}: {response:?}"
                );
            }
            // A simple (memberless) commit of offset 10+version to partition 0.
            ApiKey::OffsetCommit => {
                let request = OffsetCommitRequest::default()
                    .with_group_id(GroupId(str_bytes("probe-group")))
                    .with_topics(vec![
                        offset_commit_request::OffsetCommitRequestTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(vec![
                                offset_commit_request::OffsetCommitRequestPartition::default()
                                    .with_partition_index(0)
                                    .with_committed_offset(10 + version as i64)
                                    .with_committed_metadata(Some(str_bytes(""))),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                let p = &response.topics[0].partitions[0];
                assert_eq!(p.error_code, NONE, "v{version}: {response:?}");
            }
            // The last commit (v8: offset 18) reads back, from every version.
            ApiKey::OffsetFetch if version >= 8 => {
                let request = OffsetFetchRequest::default().with_groups(vec![
                    offset_fetch_request::OffsetFetchRequestGroup::default()
                        .with_group_id(GroupId(str_bytes("probe-group")))
                        .with_topics(None),
                ]);
                let response = self.conn.send(version, &request);
                let group = &response.groups[0];
                assert_eq!(group.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(
                    group.topics[0].partitions[0].committed_offset, 18,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::OffsetFetch => {
                let request = OffsetFetchRequest::default()
                    .with_group_id(GroupId(str_bytes("probe-group")))
                    .with_topics(Some(vec![
                        offset_fetch_request::OffsetFetchRequestTopic::default()
                            .with_name(topic_name(topic))
                            .with_partition_indexes(vec![0]),
                    ]));
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                let p = &response.topics[0].partitions[0];
                assert_eq!(p.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(p.committed_offset, 18, "v{version}: {response:?}");
            }
            // From v4 a member without an id is told to come back with one.
            ApiKey::JoinGroup => {
                let request = JoinGroupRequest::default()
                    .with_group_id(GroupId(str_bytes(&format!("probe-join-v{version}"))))
                    .with_session_timeout_ms(10_000)
                    .with_rebalance_timeout_ms(10_000)
                    .with_protocol_type(str_bytes("consumer"))
                    .with_protocols(vec![
                        join_group_request::JoinGroupRequestProtocol::default()
                            .with_name(str_bytes("range"))
                            .with_metadata(Bytes::from_static(&[0, 0, 0, 0, 0, 0])),
                    ]);
                let response = self.conn.send(version, &request);
                assert!(!response.member_id.is_empty(), "v{version}: {response:?}");
                if version >= 4 {
                    assert_eq!(response.error_code, 79, "v{version}: {response:?}");
                } else {
                    assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                    assert_eq!(response.generation_id, 1, "v{version}: {response:?}");
                    assert_eq!(
                        response.leader, response.member_id,
                        "v{version}: {response:?}"
                    );
                }
            }
            // Unknown groups and members: UNKNOWN_MEMBER_ID (25).
            ApiKey::Heartbeat => {
                let request = HeartbeatRequest::default()
                    .with_group_id(GroupId(str_bytes("probe-nobody")))
                    .with_generation_id(1)
                    .with_member_id(str_bytes("nobody"));
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, 25, "v{version}: {response:?}");
            }
            ApiKey::SyncGroup => {
                let request = SyncGroupRequest::default()
                    .with_group_id(GroupId(str_bytes("probe-nobody")))
                    .with_generation_id(1)
                    .with_member_id(str_bytes("nobody"));
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, 25, "v{version}: {response:?}");
            }
            ApiKey::LeaveGroup => {
                let request = if version >= 3 {
                    LeaveGroupRequest::default()
                        .with_group_id(GroupId(str_bytes("probe-nobody")))
                        .with_members(vec![
                            leave_group_request::MemberIdentity::default()
                                .with_member_id(str_bytes("nobody")),
                        ])
                } else {
                    LeaveGroupRequest::default()
                        .with_group_id(GroupId(str_bytes("probe-nobody")))
                        .with_member_id(str_bytes("nobody"))
                };
                let response = self.conn.send(version, &request);
                if version >= 3 {
                    assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                    assert_eq!(
                        response.members[0].error_code, 25,
                        "v{version}: {response:?}"
                    );
                } else {
                    assert_eq!(response.error_code, 25, "v{version}: {response:?}");
                }
            }
            // The offsets-only group is Empty.
            ApiKey::DescribeGroups => {
                let request = DescribeGroupsRequest::default()
                    .with_groups(vec![GroupId(str_bytes("probe-group"))]);
                let response = self.conn.send(version, &request);
                let group = &response.groups[0];
                assert_eq!(group.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(
                    group.group_state.as_str(),
                    "Empty",
                    "v{version}: {response:?}"
                );
            }
            ApiKey::ListGroups => {
                let response = self.conn.send(version, &ListGroupsRequest::default());
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert!(
                    response
                        .groups
                        .iter()
                        .any(|g| g.group_id.0.as_str() == "probe-group"),
                    "v{version}: {response:?}"
                );
            }
            // GROUP_ID_NOT_FOUND (69).
            ApiKey::DeleteGroups => {
                let request = DeleteGroupsRequest::default()
                    .with_groups_names(vec![GroupId(str_bytes("probe-nobody"))]);
                let response = self.conn.send(version, &request);
                assert_eq!(
                    response.results[0].error_code, 69,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::OffsetDelete => {
                let request = OffsetDeleteRequest::default()
                    .with_group_id(GroupId(str_bytes("probe-nobody")));
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, 69, "v{version}: {response:?}");
            }
            ApiKey::CreatePartitions => {
                use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
                let request = CreatePartitionsRequest::default()
                    .with_timeout_ms(5_000)
                    .with_topics(vec![
                        CreatePartitionsTopic::default()
                            .with_name(TopicName(str_bytes("probe-no-such-topic")))
                            .with_count(2),
                    ]);
                let response = self.conn.send(version, &request);
                assert_eq!(response.results.len(), 1, "v{version}: {response:?}");
                assert_eq!(
                    response.results[0].error_code, 3,
                    "v{version}: {response:?}"
                );
            }
            ApiKey::DeleteRecords => {
                use kafka_protocol::messages::delete_records_request::{
                    DeleteRecordsPartition, DeleteRecordsTopic,
                };
                let request = DeleteRecordsRequest::default()
                    .with_timeout_ms(5_000)
                    .with_topics(vec![
                        DeleteRecordsTopic::default()
                            .with_name(TopicName(str_bytes("probe-no-such-topic")))
                            .with_partitions(vec![
                                DeleteRecordsPartition::default().with_offset(-1),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                let p = &response.topics[0].partitions[0];
                assert_eq!(p.error_code, 3, "v{version}: {response:?}");
            }
            ApiKey::DescribeLogDirs => {
                let response = self.conn.send(
                    version,
                    &DescribeLogDirsRequest::default().with_topics(None),
                );
                assert_eq!(response.results.len(), 1, "v{version}: {response:?}");
                let dir = &response.results[0];
                assert_eq!(dir.error_code, NONE, "v{version}: {response:?}");
                assert!(
                    dir.topics.iter().any(|t| t.name.0.as_str() == topic),
                    "v{version}: {response:?}"
                );
                if version >= 4 {
                    assert!(dir.total_bytes > 0, "v{version}: {response:?}");
                }
            }
            // On a PLAINTEXT listener: ILLEGAL_SASL_STATE, as Kafka's KafkaApis answers.
            ApiKey::SaslHandshake => {
                let request = kafka_protocol::messages::SaslHandshakeRequest::default()
                    .with_mechanism(kafka_protocol::protocol::StrBytes::from_static_str("PLAIN"));
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, 34, "v{version}: {response:?}");
            }
            ApiKey::SaslAuthenticate => {
                let request = kafka_protocol::messages::SaslAuthenticateRequest::default();
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, 34, "v{version}: {response:?}");
            }
            ApiKey::DescribeCluster => {
                let request = DescribeClusterRequest::default().with_endpoint_type(1);
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(response.brokers.len(), 1, "v{version}: {response:?}");
                assert_eq!(
                    response.brokers[0].port,
                    self.broker.port() as i32,
                    "v{version}"
                );
            }
            // Cancelling a reassignment that is not running: NO_REASSIGNMENT_IN_PROGRESS.
            ApiKey::AlterPartitionReassignments => {
                use kafka_protocol::messages::alter_partition_reassignments_request::{
                    ReassignablePartition, ReassignableTopic,
                };
                let request = AlterPartitionReassignmentsRequest::default()
                    .with_timeout_ms(5_000)
                    .with_topics(vec![
                        ReassignableTopic::default()
                            .with_name(topic_name(topic))
                            .with_partitions(vec![
                                ReassignablePartition::default()
                                    .with_partition_index(0)
                                    .with_replicas(None),
                            ]),
                    ]);
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert_eq!(
                    response.responses[0].partitions[0].error_code, 85,
                    "v{version}: {response:?}"
                );
            }
            // Nothing is being reassigned.
            ApiKey::ListPartitionReassignments => {
                let request = ListPartitionReassignmentsRequest::default()
                    .with_timeout_ms(5_000)
                    .with_topics(None);
                let response = self.conn.send(version, &request);
                assert_eq!(response.error_code, NONE, "v{version}: {response:?}");
                assert!(response.topics.is_empty(), "v{version}: {response:?}");
            }
            other => panic!("the broker advertises {other:?}, which this test has no probe for"),
        }
    }
}

fn api_versions_request() -> ApiVersionsRequest {
    ApiVersionsRequest::default()
        .with_client_software_name(str_bytes("sluice-admin-apis-test"))
        .with_client_software_version(str_bytes("1.0"))
}

fn advertised(response: &ApiVersionsResponse) -> BTreeMap<i16, (i16, i16)> {
    let mut map = BTreeMap::new();
    for api in &response.api_keys {
        assert!(
            map.insert(api.api_key, (api.min_version, api.max_version))
                .is_none(),
            "api {} advertised twice",
            api.api_key
        );
    }
    map
}

fn expected_apis() -> BTreeMap<i16, (i16, i16)> {
    EXPECTED_APIS
        .iter()
        .map(|&(key, min, max)| (key as i16, (min, max)))
        .collect()
}

#[test]
fn api_versions_advertises_exactly_what_is_answered() {
    let chroot = unique_chroot("admin-apiversions");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let mut conn = Conn::open(&broker);

    let response = conn.send(0, &ApiVersionsRequest::default());
    assert_eq!(response.error_code, NONE);
    let ranges = advertised(&response);
    assert_eq!(
        ranges,
        expected_apis(),
        "advertised {:?}",
        ranges
            .iter()
            .map(|(k, v)| (api_name(*k), *v))
            .collect::<Vec<_>>()
    );

    // A newer ApiVersions than we serve: UNSUPPORTED_VERSION in a v0 body
    // with our ranges, so the client can retry.
    let (correlation_id, frame) = conn
        .exchange(4, &api_versions_request())
        .expect("an answer to ApiVersions v4");
    let fallback: ApiVersionsResponse =
        decode_response(frame, 0, correlation_id).expect("a v0 ApiVersions body");
    assert_eq!(fallback.error_code, UNSUPPORTED_VERSION);
    assert_eq!(advertised(&fallback), expected_apis());

    let topic = "probe";
    let topic_id = create_ok(&mut conn, topic, 1, 1);
    wait_for_topic(&mut conn, topic, 1);
    // The controller has sent its LeaderAndIsr / UpdateMetadata by now, so
    // epoch 0 is older than the broker's.
    let epoch: i32 = zk(&chroot)
        .get_string("/controller_epoch")
        .expect("/controller_epoch")
        .trim()
        .parse()
        .expect("a number in /controller_epoch");
    assert!(epoch >= 1, "controller epoch {epoch}");

    let mut probe = Probe {
        conn,
        broker: &broker,
        topic,
        topic_id,
        produced: 0,
    };
    // Produce first so that Fetch and ListOffsets have something to find.
    let mut order: Vec<(ApiKey, i16, i16)> = EXPECTED_APIS.to_vec();
    order.sort_by_key(|(key, _, _)| *key != ApiKey::Produce);
    for (key, _, _) in order {
        let (min, max) = ranges[&(key as i16)];
        for version in min..=max {
            probe.check(key, version);
        }
    }
    assert_eq!(probe.produced, 7);

    // Versions outside the advertised ranges: Kafka closes the connection.
    let mut produce_v2 = BytesMut::new();
    ProduceRequest::default()
        .with_acks(1)
        .encode(&mut produce_v2, 2)
        .unwrap();
    let mut metadata_v12 = BytesMut::new();
    MetadataRequest::default()
        .with_topics(None)
        .encode(&mut metadata_v12, 12)
        .unwrap();
    for (key, version, header_version, body) in [
        (ApiKey::Produce, 2, 1, &produce_v2),
        (ApiKey::Metadata, 13, 2, &metadata_v12),
    ] {
        let mut conn = Conn::open(&broker);
        let answer = conn.exchange_raw(key as i16, version, header_version, body);
        assert!(
            answer.is_err(),
            "{key:?} v{version} was answered: {answer:?}"
        );
    }
    // And the broker still answers on a new connection.
    let mut conn = Conn::open(&broker);
    assert_eq!(conn.send(3, &api_versions_request()).error_code, NONE);
}
