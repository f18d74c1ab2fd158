//! Idempotent produce as the leader checks it (issue 6), over raw Kafka
//! requests so every batch's producer id, epoch and sequence is exact:
//! a retried batch is answered with its original offset and stored once;
//! a sequence gap is OUT_OF_ORDER_SEQUENCE_NUMBER and writes nothing; an
//! older producer epoch is INVALID_PRODUCER_EPOCH; a new epoch must start at
//! sequence 0. Producer state survives a clean restart and a SIGKILL (Kafka's
//! `<offset>.snapshot` files, written at each segment roll and at shutdown,
//! checked byte by byte) and a leader change in a three-broker cluster (the
//! follower recorded what it replicated).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::*;
use kafka_protocol::records::RecordBatchDecoder;

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const NOT_CONTROLLER: i16 = 41;
const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const INVALID_PRODUCER_EPOCH: i16 = 47;
/// How long a topic or a restarted broker may take to lead its partition.
const READY_TIMEOUT: Duration = Duration::from_secs(40);

// ---------------------------------------------------------------------------
// Raw protocol
// ---------------------------------------------------------------------------

/// How long a raw read or write may block.
const IO_TIMEOUT: Duration = Duration::from_secs(40);

/// A producer's batch: `values.len()` records from `producer_id` in
/// `epoch`, the first with sequence `first_sequence`.
fn batch(producer_id: i64, epoch: i16, first_sequence: i32, values: &[String]) -> Bytes {
    idempotent_batch(producer_id, epoch, first_sequence, values, now_ms())
}

/// The values of a batch with sequences `first..first+count`.
fn values(tag: &str, first: i32, count: i32) -> Vec<String> {
    (first..first + count)
        .map(|s| format!("{tag}-{s}"))
        .collect()
}

/// Produce v8, acks=all, of `records` to `topic`-0: (error code, base offset).
fn produce(conn: &mut RawConn, topic: &str, records: Bytes) -> Result<(i16, i64), String> {
    let request = produce_request(topic, records);
    let response: ProduceResponse = conn.send(ApiKey::Produce, 8, &request)?;
    let p = response
        .responses
        .first()
        .and_then(|t| t.partition_responses.first())
        .ok_or("empty Produce response")?;
    Ok((p.error_code, p.base_offset))
}

/// InitProducerId v4 without a transactional id: (producer id, epoch).
fn init_producer_id(conn: &mut RawConn) -> (i64, i16) {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let response: InitProducerIdResponse = conn
        .send(ApiKey::InitProducerId, 4, &request)
        .expect("InitProducerId");
    assert_eq!(response.error_code, NONE, "{response:?}");
    assert!(response.producer_id.0 >= 0, "{response:?}");
    (response.producer_id.0, response.producer_epoch)
}

/// A stored record: (offset, producer id, epoch, sequence, value).
type Stored = (i64, i64, i16, i32, String);

/// Every record of `topic`-0 up to the high watermark (Fetch v12, again
/// from the next offset until nothing comes: a read stops at a segment end).
fn fetch_all(conn: &mut RawConn, topic: &str) -> Result<Vec<Stored>, String> {
    let mut all: Vec<Stored> = Vec::new();
    loop {
        let from = all.last().map_or(0, |r| r.0 + 1);
        let more = fetch_from(conn, topic, from)?;
        if more.is_empty() {
            return Ok(all);
        }
        all.extend(more);
    }
}

fn fetch_from(conn: &mut RawConn, topic: &str, offset: i64) -> Result<Vec<Stored>, String> {
    let request = fetch_request(topic, 0, offset, -1, 16 << 20);
    let response: FetchResponse = conn.send(ApiKey::Fetch, 12, &request)?;
    let data = response
        .responses
        .into_iter()
        .flat_map(|t| t.partitions)
        .next()
        .ok_or("no partition in the Fetch response")?;
    if data.error_code != NONE {
        return Err(format!("Fetch error {}", data.error_code));
    }
    let mut bytes = data.records.unwrap_or_default();
    Ok(RecordBatchDecoder::decode_all(&mut bytes)
        .map_err(|e| format!("decode fetched batches: {e}"))?
        .into_iter()
        .flat_map(|set| set.records)
        .filter(|r| r.offset >= offset)
        .map(|r| {
            let value = r.value.map(|v| v.to_vec()).unwrap_or_default();
            (
                r.offset,
                r.producer_id,
                r.producer_epoch,
                r.sequence,
                String::from_utf8_lossy(&value).into_owned(),
            )
        })
        .collect())
}

/// Creates `topic` (one partition) through CreateTopics v5 at whichever of
/// `ports` is the controller (the others answer NOT_CONTROLLER).
fn create_topic(ports: &[u16], topic: &str, replication_factor: i16) {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(1)
                .with_replication_factor(replication_factor),
        ]);
    let code = wait_until("the controller to create the topic", READY_TIMEOUT, || {
        ports.iter().find_map(|&port| {
            let response: CreateTopicsResponse = RawConn::open(port, IO_TIMEOUT)
                .ok()?
                .send(ApiKey::CreateTopics, 5, &request)
                .ok()?;
            let code = response.topics.first()?.error_code;
            (code != NOT_CONTROLLER).then_some(code)
        })
    });
    assert_eq!(code, NONE, "CreateTopics {topic}");
}

/// The partition's leader according to broker `port`'s metadata.
fn leader_of(port: u16, topic: &str) -> Option<i32> {
    let request = MetadataRequest::default().with_topics(Some(vec![
        metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(topic))),
    ]));
    let response: MetadataResponse = RawConn::open(port, IO_TIMEOUT)
        .ok()?
        .send(ApiKey::Metadata, 9, &request)
        .ok()?;
    let leader = response.topics.first()?.partitions.first()?.leader_id.0;
    (leader >= 0).then_some(leader)
}

/// Sends `records` until the partition has a leader at `port` that answers
/// something else than NOT_LEADER / UNKNOWN_TOPIC (a broker that just
/// started waits for the controller): that answer.
fn produce_when_led(port: u16, topic: &str, records: &Bytes) -> (i16, i64) {
    wait_until(
        &format!("a leader of {topic}-0 at port {port} to answer"),
        READY_TIMEOUT,
        || {
            let mut conn = RawConn::open(port, IO_TIMEOUT).ok()?;
            let answer = produce(&mut conn, topic, records.clone()).ok()?;
            (!matches!(
                answer.0,
                NOT_LEADER_OR_FOLLOWER | UNKNOWN_TOPIC_OR_PARTITION
            ))
            .then_some(answer)
        },
    )
}

fn start_broker(name: &str, settings: &[(&str, &str)]) -> Broker {
    let chroot = unique_chroot(name);
    let mut spec = BrokerSpec::new(1, zk_connect(&chroot));
    for (k, v) in settings {
        spec = spec.set(k, v);
    }
    Broker::start(spec)
}

// ---------------------------------------------------------------------------
// Snapshot files
// ---------------------------------------------------------------------------

/// Offsets of the `.snapshot` and `.log` files in a partition dir.
fn file_offsets(dir: &Path, suffix: &str) -> BTreeSet<i64> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let stem = name.strip_suffix(suffix)?;
            (stem.len() == 20).then(|| stem.parse().ok())?
        })
        .collect()
}

/// One entry of a Kafka producer snapshot:
/// (producer id, epoch, last sequence, last offset, offset delta).
type SnapshotLine = (i64, i16, i32, i64, i32);

/// Parses a snapshot file as Kafka's ProducerStateManager reads it
/// (version 1, CRC32C of everything after the crc field, 46-byte entries
/// whose coordinator epoch and transaction start are -1 here).
fn read_snapshot(path: &Path) -> Vec<SnapshotLine> {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let be = |at: usize, n: usize| -> i64 {
        let mut v: i64 = 0;
        for &byte in &b[at..at + n] {
            v = (v << 8) | i64::from(byte);
        }
        v
    };
    assert_eq!(be(0, 2), 1, "snapshot version");
    assert_eq!(
        be(2, 4) as u32,
        crc32c::crc32c(&b[6..]),
        "snapshot crc of {}",
        path.display()
    );
    let count = be(6, 4) as usize;
    assert_eq!(b.len(), 10 + count * 46, "snapshot size");
    (0..count)
        .map(|i| {
            let at = 10 + i * 46;
            assert_eq!(be(at + 34, 4) as i32, -1, "coordinator epoch");
            assert_eq!(be(at + 38, 8), -1, "current transaction first offset");
            (
                be(at, 8),
                be(at + 8, 2) as i16,
                be(at + 10, 4) as i32,
                be(at + 14, 8),
                be(at + 22, 4) as i32,
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[test]
fn a_retried_batch_is_answered_with_its_original_offset_and_stored_once() {
    let broker = start_broker("idem-retry", &[]);
    let topic = "idem-retry";
    create_topic(&[broker.port()], topic, 1);
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    let (pid, epoch) = init_producer_id(&mut conn);
    let first = batch(pid, epoch, 0, &values("a", 0, 3));
    assert_eq!(produce_when_led(broker.port(), topic, &first), (NONE, 0));
    let second = batch(pid, epoch, 3, &values("a", 3, 2));
    assert_eq!(
        produce(&mut conn, topic, second.clone()).unwrap(),
        (NONE, 3)
    );
    // Retries of either of the last batches: the original offsets, no write.
    assert_eq!(produce(&mut conn, topic, first.clone()).unwrap(), (NONE, 0));
    assert_eq!(
        produce(&mut conn, topic, second.clone()).unwrap(),
        (NONE, 3)
    );
    assert_eq!(produce(&mut conn, topic, second).unwrap(), (NONE, 3));
    // A different producer's batch with the same sequence is no duplicate.
    let (other, other_epoch) = init_producer_id(&mut conn);
    assert_ne!(other, pid);
    let third = batch(other, other_epoch, 0, &values("b", 0, 1));
    assert_eq!(produce(&mut conn, topic, third).unwrap(), (NONE, 5));
    let stored = fetch_all(&mut conn, topic).unwrap();
    let summary: Vec<(i64, i64, i32, String)> = stored
        .iter()
        .map(|(o, p, _, s, v)| (*o, *p, *s, v.clone()))
        .collect();
    let mut expected: Vec<(i64, i64, i32, String)> = (0..5)
        .map(|s| (i64::from(s), pid, s, format!("a-{s}")))
        .collect();
    expected.push((5, other, 0, "b-0".to_string()));
    assert_eq!(summary, expected, "every record once, in order");
}

#[test]
fn a_sequence_gap_is_out_of_order_and_writes_nothing() {
    let broker = start_broker("idem-gap", &[]);
    let topic = "idem-gap";
    create_topic(&[broker.port()], topic, 1);
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    let (pid, epoch) = init_producer_id(&mut conn);
    let first = batch(pid, epoch, 0, &values("g", 0, 2));
    assert_eq!(produce_when_led(broker.port(), topic, &first), (NONE, 0));
    for gap in [3, 5, 1, 0x7fff_0000] {
        let answer = produce(
            &mut conn,
            topic,
            batch(pid, epoch, gap, &values("x", gap, 2)),
        );
        assert_eq!(
            answer.unwrap(),
            (OUT_OF_ORDER_SEQUENCE_NUMBER, -1),
            "sequence {gap} after 1"
        );
    }
    assert_eq!(
        fetch_all(&mut conn, topic).unwrap().len(),
        2,
        "nothing written"
    );
    // The next sequence still goes on at the log end.
    let next = batch(pid, epoch, 2, &values("g", 2, 1));
    assert_eq!(produce(&mut conn, topic, next).unwrap(), (NONE, 2));
    let sequences: Vec<i32> = fetch_all(&mut conn, topic)
        .unwrap()
        .iter()
        .map(|r| r.3)
        .collect();
    assert_eq!(sequences, vec![0, 1, 2]);
}

#[test]
fn older_epochs_are_fenced_and_new_epochs_start_at_sequence_zero() {
    let broker = start_broker("idem-epoch", &[]);
    let topic = "idem-epoch";
    create_topic(&[broker.port()], topic, 1);
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    let (pid, _) = init_producer_id(&mut conn);
    let epoch0 = batch(pid, 0, 0, &values("e0", 0, 2));
    assert_eq!(produce_when_led(broker.port(), topic, &epoch0), (NONE, 0));
    // A bumped epoch (KIP-360: idempotent producers bump their own) must start at 0.
    let bumped_late = batch(pid, 1, 2, &values("e1", 2, 1));
    assert_eq!(
        produce(&mut conn, topic, bumped_late).unwrap(),
        (OUT_OF_ORDER_SEQUENCE_NUMBER, -1)
    );
    let bumped = batch(pid, 1, 0, &values("e1", 0, 1));
    assert_eq!(
        produce(&mut conn, topic, bumped.clone()).unwrap(),
        (NONE, 2)
    );
    // The old epoch is fenced now, in sequence or as a retry.
    let old_next = batch(pid, 0, 2, &values("e0", 2, 1));
    assert_eq!(
        produce(&mut conn, topic, old_next).unwrap(),
        (INVALID_PRODUCER_EPOCH, -1)
    );
    assert_eq!(
        produce(&mut conn, topic, epoch0).unwrap(),
        (INVALID_PRODUCER_EPOCH, -1)
    );
    // The new epoch's retry is still a duplicate.
    assert_eq!(produce(&mut conn, topic, bumped).unwrap(), (NONE, 2));
    let stored: Vec<(i16, i32)> = fetch_all(&mut conn, topic)
        .unwrap()
        .iter()
        .map(|r| (r.2, r.3))
        .collect();
    assert_eq!(stored, vec![(0, 0), (0, 1), (1, 0)]);
}

#[test]
fn producer_state_survives_clean_and_unclean_restarts_through_snapshots() {
    // Small segments: every few batches roll and leave a snapshot.
    let mut broker = start_broker("idem-restart", &[("log.segment.bytes", "300")]);
    let topic = "idem-restart";
    create_topic(&[broker.port()], topic, 1);
    let dir = broker.log_dir().join(format!("{topic}-0"));
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    let (pid, epoch) = init_producer_id(&mut conn);
    let mut next_sequence = 0;
    let mut send_next = |port: u16, expected_offset: i64| -> Bytes {
        let b = batch(pid, epoch, next_sequence, &values("r", next_sequence, 2));
        let answer = produce_when_led(port, topic, &b);
        assert_eq!(answer, (NONE, expected_offset), "sequence {next_sequence}");
        next_sequence += 2;
        b
    };
    let mut last = Bytes::new();
    for i in 0..12 {
        last = send_next(broker.port(), i * 2);
    }
    // A snapshot at every rolled segment's base offset, none elsewhere.
    let segments = file_offsets(&dir, ".log");
    assert!(segments.len() >= 3, "segments rolled: {segments:?}");
    let rolled: BTreeSet<i64> = segments.iter().copied().filter(|&o| o > 0).collect();
    assert_eq!(file_offsets(&dir, ".snapshot"), rolled);
    let newest = *rolled.last().unwrap();
    let lines = read_snapshot(&dir.join(format!("{newest:020}.snapshot")));
    // The state below `newest`: the batch ending just before it.
    assert_eq!(
        lines,
        vec![(pid, epoch, (newest - 1) as i32, newest - 1, 1)],
        "snapshot at {newest}"
    );

    // Clean shutdown: a snapshot at the log end (24) with the last batch.
    assert!(broker.terminate().success());
    assert_eq!(
        read_snapshot(&dir.join(format!("{:020}.snapshot", 24))),
        vec![(pid, epoch, 23, 23, 1)]
    );
    broker.restart();
    assert_eq!(
        produce_when_led(broker.port(), topic, &last),
        (NONE, 22),
        "retry after restart"
    );
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    let gap = batch(pid, epoch, 40, &values("r", 40, 1));
    assert_eq!(
        produce(&mut conn, topic, gap.clone()).unwrap(),
        (OUT_OF_ORDER_SEQUENCE_NUMBER, -1),
        "the restarted leader knows the last sequence"
    );
    let mut last = Bytes::new();
    for i in 12..15 {
        last = send_next(broker.port(), i * 2);
    }

    // SIGKILL: no shutdown snapshot; the log after the last one is replayed.
    broker.kill();
    broker.restart();
    assert_eq!(
        produce_when_led(broker.port(), topic, &last),
        (NONE, 28),
        "retry after SIGKILL"
    );
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    assert_eq!(
        produce(&mut conn, topic, gap).unwrap(),
        (OUT_OF_ORDER_SEQUENCE_NUMBER, -1)
    );
    send_next(broker.port(), 30);
    let sequences: Vec<i32> = fetch_all(&mut conn, topic)
        .unwrap()
        .iter()
        .map(|r| r.3)
        .collect();
    assert_eq!(sequences, (0..32).collect::<Vec<i32>>(), "stored once each");
}

#[test]
fn a_new_leader_recognises_retries_of_batches_it_replicated() {
    let mut cluster = TestCluster::start_with("idem-failover", 3, |spec| {
        spec.set("zookeeper.session.timeout.ms", "6000")
            .set("replica.fetch.wait.max.ms", "200")
            .set("controlled.shutdown.retry.backoff.ms", "500")
            .set("auto.leader.rebalance.enable", "false")
    });
    let topic = "idem-failover";
    let ports: Vec<(i32, u16)> = cluster.brokers.iter().map(|b| (b.id(), b.port())).collect();
    let all_ports: Vec<u16> = ports.iter().map(|p| p.1).collect();
    create_topic(&all_ports, topic, 3);
    let port_of = |id: i32| ports.iter().find(|(b, _)| *b == id).unwrap().1;
    let leader = wait_until("a leader", READY_TIMEOUT, || leader_of(ports[0].1, topic));
    let mut conn = RawConn::open(port_of(leader), IO_TIMEOUT).unwrap();
    let (pid, epoch) = init_producer_id(&mut conn);
    let mut last = Bytes::new();
    for i in 0..4 {
        last = batch(pid, epoch, i * 3, &values("f", i * 3, 3));
        let answer = produce_when_led(port_of(leader), topic, &last);
        assert_eq!(answer, (NONE, i64::from(i) * 3));
    }
    // Clean shutdown of the leader: the controller moves leadership first.
    assert!(cluster.broker(leader).terminate().success());
    let other = ports.iter().find(|(b, _)| *b != leader).unwrap().1;
    let new_leader = wait_until("a new leader", READY_TIMEOUT, || {
        leader_of(other, topic).filter(|&l| l != leader)
    });
    let port = port_of(new_leader);
    assert_eq!(
        produce_when_led(port, topic, &last),
        (NONE, 9),
        "retry at the new leader"
    );
    let mut conn = RawConn::open(port, IO_TIMEOUT).unwrap();
    let gap = batch(pid, epoch, 20, &values("f", 20, 1));
    assert_eq!(
        produce(&mut conn, topic, gap).unwrap(),
        (OUT_OF_ORDER_SEQUENCE_NUMBER, -1)
    );
    let next = batch(pid, epoch, 12, &values("f", 12, 1));
    assert_eq!(produce(&mut conn, topic, next).unwrap(), (NONE, 12));
    let sequences: Vec<i32> = fetch_all(&mut conn, topic)
        .unwrap()
        .iter()
        .map(|r| r.3)
        .collect();
    assert_eq!(sequences, (0..13).collect::<Vec<i32>>());
}

#[test]
fn idle_producers_expire_after_producer_id_expiration_ms() {
    let broker = start_broker(
        "idem-expire",
        &[
            ("producer.id.expiration.ms", "1000"),
            ("producer.id.expiration.check.interval.ms", "100"),
        ],
    );
    let topic = "idem-expire";
    create_topic(&[broker.port()], topic, 1);
    let mut conn = RawConn::open(broker.port(), IO_TIMEOUT).unwrap();
    let (pid, epoch) = init_producer_id(&mut conn);
    let first = batch(pid, epoch, 0, &values("x", 0, 2));
    assert_eq!(produce_when_led(broker.port(), topic, &first), (NONE, 0));
    let gap = batch(pid, epoch, 10, &values("x", 10, 1));
    assert_eq!(
        produce(&mut conn, topic, gap.clone()).unwrap(),
        (OUT_OF_ORDER_SEQUENCE_NUMBER, -1),
        "known right after its batch"
    );
    // Once forgotten, the producer is unknown and any sequence is accepted.
    let answer = wait_until("the idle producer to expire", READY_TIMEOUT, || {
        let answer = produce(&mut conn, topic, gap.clone()).ok()?;
        (answer.0 != OUT_OF_ORDER_SEQUENCE_NUMBER).then_some(answer)
    });
    assert_eq!(answer, (NONE, 2));
}
