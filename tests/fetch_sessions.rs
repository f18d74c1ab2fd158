//! Incremental fetch sessions (KIP-227) from a client's side, with raw Fetch
//! requests to a real broker: a full fetch opens a session, incremental
//! fetches answer only partitions with news, forgotten partitions are no
//! longer answered, a wrong epoch or an unknown session id is refused with
//! Kafka's codes, epoch -1 closes a session, and a session opened with topic
//! ids (Fetch v13) cannot be continued by name.
//!
//! kafka-python (2.3) opens a session and reads a record that arrives
//! while it is in it; the broker counts the session. (librdkafka, behind the
//! rdkafka crate, kcat and confluent-kafka, sends sessionless fetches, epoch -1.)

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::*;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, MetadataRequest, MetadataResponse,
};
use uuid::Uuid;

const NONE: i16 = 0;
const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
const INVALID_FETCH_SESSION_EPOCH: i16 = 71;
const FETCH_SESSION_TOPIC_ID_ERROR: i16 = 106;
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
const TOPIC: &str = "sessions";

/// How a request names the topic.
#[derive(Clone, Copy)]
enum Naming {
    Name,
    Id(Uuid),
}

impl Naming {
    fn version(self) -> i16 {
        match self {
            Naming::Name => 12,
            Naming::Id(_) => 13,
        }
    }
}

/// A consumer Fetch in session `session_id` at `epoch`, naming `partitions`
/// as (partition, fetch offset) and forgetting `forgotten`; no wait.
fn session_fetch(
    naming: Naming,
    session_id: i32,
    epoch: i32,
    partitions: &[(i32, i64)],
    forgotten: &[i32],
) -> FetchRequest {
    let mut topic = FetchTopic::default().with_partitions(
        partitions
            .iter()
            .map(|&(partition, offset)| {
                FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_partition_max_bytes(1 << 20)
            })
            .collect(),
    );
    let mut forget = ForgottenTopic::default().with_partitions(forgotten.to_vec());
    match naming {
        Naming::Name => {
            topic.topic = topic_name(TOPIC);
            forget.topic = topic_name(TOPIC);
        }
        Naming::Id(id) => {
            topic.topic_id = id;
            forget.topic_id = id;
        }
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(1 << 20)
        .with_session_id(session_id)
        .with_session_epoch(epoch)
        .with_topics(if partitions.is_empty() {
            Vec::new()
        } else {
            vec![topic]
        })
        .with_forgotten_topics_data(if forgotten.is_empty() {
            Vec::new()
        } else {
            vec![forget]
        })
}

/// What a Fetch answer held: (error, session id, [(partition, high
/// watermark, record bytes)]).
type Answer = (i16, i32, Vec<(i32, i64, usize)>);

fn fetch(conn: &mut RawConn, naming: Naming, request: &FetchRequest) -> Answer {
    let response: FetchResponse = conn
        .send(ApiKey::Fetch, naming.version(), request)
        .expect("fetch");
    let mut partitions: Vec<(i32, i64, usize)> = response
        .responses
        .iter()
        .flat_map(|t| {
            if let Naming::Id(id) = naming {
                assert_eq!(t.topic_id, id, "v13 answers name the topic by id");
            }
            t.partitions.iter().map(|p| {
                assert_eq!(p.error_code, NONE, "partition {}", p.partition_index);
                let bytes = p.records.as_ref().map_or(0, |r| r.len());
                (p.partition_index, p.high_watermark, bytes)
            })
        })
        .collect();
    partitions.sort();
    (response.error_code, response.session_id, partitions)
}

/// Produces one record (acks=all) to partition 0 of [`TOPIC`].
fn produce_to_p0(broker: &Broker) {
    let request = produce_request(TOPIC, plain_batch(&[b"v"], now_ms()));
    let response = send_request(broker, 7, &request);
    assert_eq!(
        response.responses[0].partition_responses[0].error_code,
        NONE
    );
}

/// A broker with [`TOPIC`] of three partitions, one record in partition 0.
fn broker_with_topic(name: &str) -> Broker {
    broker_with_topic_and(name, &[])
}

fn broker_with_topic_and(name: &str, settings: &[(&str, String)]) -> Broker {
    let mut spec = BrokerSpec::new(1, zk_connect(&unique_chroot(name)))
        .set("auto.create.topics.enable", false);
    for (k, v) in settings {
        spec = spec.set(k, v);
    }
    let broker = Broker::start(spec);
    assert_eq!(create_topic_with_configs(&broker, TOPIC, 3, 1, &[]), NONE);
    wait_until("the topic to take produce", WAIT_TIMEOUT, || {
        let request = produce_request(TOPIC, plain_batch(&[b"first"], now_ms()));
        let response = send_request(&broker, 7, &request);
        (response.responses[0].partition_responses[0].error_code == NONE).then_some(())
    });
    broker
}

fn topic_id(broker: &Broker) -> Uuid {
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(topic_name(TOPIC))),
    ]));
    let response: MetadataResponse = send_request(broker, 10, &request);
    let id = response.topics[0].topic_id;
    assert_ne!(id, Uuid::nil());
    id
}

#[test]
fn an_incremental_session_answers_only_changes_and_refuses_wrong_epochs() {
    let broker = broker_with_topic("fetch-sessions");
    let mut conn = RawConn::open(broker.port(), WAIT_TIMEOUT).expect("connect");
    let n = Naming::Name;
    let all = [(0, 0), (1, 0), (2, 0)];

    // Epoch 0: a full fetch opens a session and answers every partition.
    let (error, id, answered) = fetch(&mut conn, n, &session_fetch(n, 0, 0, &all, &[]));
    assert_eq!(error, NONE);
    assert!(id > 0, "a session id is given");
    assert_eq!(answered.len(), 3);
    assert!(answered[0].2 > 0 && answered[0].1 == 1, "{answered:?}");

    // Epoch 1 names nothing: nothing changed, nothing answered.
    let (error, same, answered) = fetch(&mut conn, n, &session_fetch(n, id, 1, &[], &[]));
    assert_eq!((error, same), (NONE, id));
    // Partition 0 still fetches from 0: its record is answered again.
    assert_eq!(answered.iter().map(|p| p.0).collect::<Vec<_>>(), vec![0]);

    // Moving partition 0's fetch offset past its record: quiet.
    let (error, _, answered) = fetch(&mut conn, n, &session_fetch(n, id, 2, &[(0, 1)], &[]));
    assert_eq!((error, answered), (NONE, vec![]));

    // A new record on partition 0: partition 0 alone is answered.
    produce_to_p0(&broker);
    let (error, _, answered) = fetch(&mut conn, n, &session_fetch(n, id, 3, &[], &[]));
    assert_eq!(error, NONE);
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!((answered[0].0, answered[0].1), (0, 2));
    assert!(answered[0].2 > 0, "with its record");

    // The same epoch again (a duplicate): refused.
    let (error, refused_id, answered) = fetch(&mut conn, n, &session_fetch(n, id, 3, &[], &[]));
    assert_eq!(error, INVALID_FETCH_SESSION_EPOCH);
    assert_eq!((refused_id, answered), (0, vec![]));
    // An id the broker never gave: refused.
    let unknown = if id == i32::MAX { 1 } else { id + 1 };
    let (error, _, _) = fetch(&mut conn, n, &session_fetch(n, unknown, 1, &[], &[]));
    assert_eq!(error, FETCH_SESSION_ID_NOT_FOUND);

    // The session survives both refusals. Forget partition 0 and move on:
    // a new record there is no longer answered.
    let (error, _, _) = fetch(&mut conn, n, &session_fetch(n, id, 4, &[(0, 2)], &[]));
    assert_eq!(error, NONE);
    let (error, _, answered) = fetch(&mut conn, n, &session_fetch(n, id, 5, &[], &[0]));
    assert_eq!((error, answered), (NONE, vec![]));
    produce_to_p0(&broker);
    let (error, _, answered) = fetch(&mut conn, n, &session_fetch(n, id, 6, &[], &[]));
    assert_eq!((error, answered), (NONE, vec![]));

    // Epoch -1 closes the session: answered in full, without a session.
    let (error, closed, answered) = fetch(&mut conn, n, &session_fetch(n, id, -1, &all, &[]));
    assert_eq!((error, closed, answered.len()), (NONE, 0, 3));
    let (error, _, _) = fetch(&mut conn, n, &session_fetch(n, id, 7, &[], &[]));
    assert_eq!(error, FETCH_SESSION_ID_NOT_FOUND, "closed");
}

#[test]
fn a_session_by_topic_id_answers_by_id_and_refuses_names() {
    let broker = broker_with_topic("fetch-sessions-ids");
    let id_naming = Naming::Id(topic_id(&broker));
    let mut conn = RawConn::open(broker.port(), WAIT_TIMEOUT).expect("connect");
    let request = session_fetch(id_naming, 0, 0, &[(0, 1), (1, 0)], &[]);
    let (error, id, answered) = fetch(&mut conn, id_naming, &request);
    assert_eq!(error, NONE);
    assert!(id > 0);
    assert_eq!(answered.len(), 2);

    produce_to_p0(&broker);
    let (error, _, answered) = fetch(
        &mut conn,
        id_naming,
        &session_fetch(id_naming, id, 1, &[], &[]),
    );
    assert_eq!(error, NONE);
    assert_eq!(answered.len(), 1, "{answered:?}");
    assert_eq!((answered[0].0, answered[0].1), (0, 2));

    // Continuing a by-id session by name (Fetch v12) is refused.
    let by_name = session_fetch(Naming::Name, id, 2, &[], &[]);
    let (error, _, _) = fetch(&mut conn, Naming::Name, &by_name);
    assert_eq!(error, FETCH_SESSION_TOPIC_ID_ERROR);

    // An unknown topic id stays in the session and is answered with its
    // error every time (so a client learns of it without resending).
    let stranger = Naming::Id(Uuid::from_u128(7));
    let request = session_fetch(stranger, 0, 0, &[(0, 0)], &[]);
    let response: FetchResponse = conn.send(ApiKey::Fetch, 13, &request).expect("fetch");
    let session = response.session_id;
    assert_eq!(response.responses[0].partitions[0].error_code, 100);
    let again = session_fetch(stranger, session, 1, &[], &[]);
    let response: FetchResponse = conn.send(ApiKey::Fetch, 13, &again).expect("fetch");
    assert_eq!(response.error_code, NONE);
    assert_eq!(response.responses[0].partitions[0].error_code, 100);
}

/// The value of the unlabelled sample `name` on the metrics endpoint.
fn metric(port: u16, name: &str) -> f64 {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to metrics");
    stream
        .set_read_timeout(Some(WAIT_TIMEOUT))
        .expect("read timeout");
    write!(stream, "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").expect("request");
    let mut text = String::new();
    stream.read_to_string(&mut text).expect("read metrics");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

/// kafka-python reads the first record, produces a second and reads it
/// too: the second arrives in a fetch of the session its first fetch opened.
const KAFKA_PYTHON_READS_IN_A_SESSION: &str = r#"
import json, sys, time
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
B, T = sys.argv[1], sys.argv[2]
deadline = time.monotonic() + 45
c = KafkaConsumer(bootstrap_servers=B, group_id=None, enable_auto_commit=False,
                  auto_offset_reset='earliest', fetch_max_wait_ms=100)
tps = [TopicPartition(T, p) for p in range(3)]
c.assign(tps)
c.seek_to_beginning(*tps)
seen = []
def read_until(n):
    while len(seen) < n:
        if time.monotonic() > deadline:
            raise SystemExit('timed out reading %s' % seen)
        for tp, msgs in c.poll(timeout_ms=200).items():
            seen.extend([tp.partition, m.offset] for m in msgs)
read_until(1)
p = KafkaProducer(bootstrap_servers=B, acks='all')
p.send(T, value=b'second', partition=0).get(timeout=30)
p.close()
read_until(2)
c.close()
print(json.dumps(seen))
"#;

#[test]
fn kafka_python_consumes_in_a_fetch_session() {
    let metrics_port = free_port();
    let listener = format!("127.0.0.1:{metrics_port}");
    let broker = broker_with_topic_and(
        "fetch-sessions-kafka-python",
        &[("metrics.listener", listener)],
    );
    assert_eq!(
        metric(metrics_port, "sluice_incremental_fetch_sessions"),
        0.0
    );
    let out = run_python(
        KAFKA_PYTHON_READS_IN_A_SESSION,
        &[&broker.bootstrap(), TOPIC],
    );
    let stdout = assert_success(&out, "kafka-python consuming");
    assert_eq!(stdout.lines().last(), Some("[[0, 0], [0, 1]]"));
    // kafka-python does not close its session when it closes.
    assert!(metric(metrics_port, "sluice_incremental_fetch_sessions") >= 1.0);
    assert!(metric(metrics_port, "sluice_incremental_fetch_partitions_cached") >= 3.0);
}
