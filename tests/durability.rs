//! Durability: the log on disk and crash safety, against real `sluice broker`
//! processes and real clients (librdkafka through the rdkafka crate and kcat,
//! kafka-python and confluent-kafka through the test venv).
//!
//! Covered: Kafka's on-disk layout (partition dirs, 20-digit segment files
//! holding valid magic-2 batches, `meta.properties`, the three offset
//! checkpoints in Kafka's text format, the clean-shutdown marker) and a clean
//! restart; segment rolling by size and by time (Kafka's rule: the incoming
//! batch's timestamp minus the segment's first timestamp exceeds
//! `log.roll.ms`); retention by bytes and by time, with ListOffsets earliest
//! following it; SIGKILL in the middle of a produce stream (no acknowledged
//! record lost, no duplicates, offsets contiguous, produce continues at the
//! right offset); a torn or corrupt tail cut at restart;
//! `log.flush.interval.messages=1` (the recovery point follows every append);
//! ListOffsets earliest / latest / by timestamp; and refusing a log dir that
//! belongs to another broker.id or cluster.id.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseProducer, BaseRecord, FutureProducer, FutureRecord, ProducerContext};
use rdkafka::util::Timeout;

/// How long a condition on the broker's files (retention, checkpoints) may take.
const FILE_WAIT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/// Creates `topic` with `partitions` partitions (replication factor 1) through
/// CreateTopics, as an admin client would.
fn create_topic(bootstrap: &str, topic: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = producer_config(bootstrap)
        .create()
        .unwrap_or_else(|e| panic!("create admin client: {e}"));
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let options =
        AdminOptions::new().operation_timeout(Some(Timeout::After(Duration::from_secs(30))));
    let results = block_on(admin.create_topics([&new_topic], &options))
        .unwrap_or_else(|e| panic!("CreateTopics {topic}: {e}"));
    for result in results {
        if let Err((name, code)) = result {
            panic!("CreateTopics {name}: {code:?}");
        }
    }
}

/// Waits until the broker's metadata shows every partition of `topic` with a
/// leader: after a restart the broker listens before the controller has told
/// it about its partitions (Kafka too), and kcat gives up on an unknown topic.
fn wait_for_leaders(bootstrap: &str, topic: &str, partitions: usize) {
    let consumer = base_consumer(bootstrap, "durability-metadata");
    wait_until_ok(
        &format!("leaders for every partition of {topic}"),
        BROKER_START_TIMEOUT,
        || {
            let metadata = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            let t = metadata.topics().first().ok_or("no topic in metadata")?;
            if let Some(err) = t.error() {
                return Err(format!("topic error {err:?}"));
            }
            let ready = t.partitions().len() == partitions
                && t.partitions()
                    .iter()
                    .all(|p| p.leader() >= 0 && p.error().is_none());
            ready.then_some(()).ok_or_else(|| {
                format!(
                    "partitions {:?}",
                    t.partitions()
                        .iter()
                        .map(|p| (p.id(), p.leader(), p.error()))
                        .collect::<Vec<_>>()
                )
            })
        },
    );
}

/// Queues every `(value, timestamp)` to `topic`/`partition` at once (so the
/// producer batches them as it likes), waits for every ack, and returns the
/// offsets in order. `None` leaves the timestamp to the client (now).
fn produce(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    records: &[(String, Option<i64>)],
) -> Vec<i64> {
    let futures: Vec<_> = records
        .iter()
        .map(|(value, ts)| {
            let mut record = FutureRecord::<(), _>::to(topic)
                .partition(partition)
                .payload(value.as_str());
            if let Some(ts) = ts {
                record = record.timestamp(*ts);
            }
            producer
                .send_result(record)
                .unwrap_or_else(|(e, _)| panic!("queue a record for {topic}-{partition}: {e}"))
        })
        .collect();
    block_on(async {
        let mut offsets = Vec::with_capacity(futures.len());
        for future in futures {
            match future.await.expect("delivery future dropped") {
                Ok(delivery) => {
                    assert_eq!(delivery.partition, partition);
                    offsets.push(delivery.offset);
                }
                Err((e, _)) => panic!("produce to {topic}-{partition} failed: {e}"),
            }
        }
        offsets
    })
}

/// Produces each record alone (one request, one batch) and waits for its ack.
fn produce_one_by_one(
    producer: &FutureProducer,
    topic: &str,
    partition: i32,
    records: &[(String, Option<i64>)],
) -> Vec<i64> {
    records
        .iter()
        .map(|r| produce(producer, topic, partition, std::slice::from_ref(r))[0])
        .collect()
}

/// `(value, None)` for each value.
fn values(values: impl IntoIterator<Item = String>) -> Vec<(String, Option<i64>)> {
    values.into_iter().map(|v| (v, None)).collect()
}

/// One consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Consumed {
    offset: i64,
    timestamp: i64,
    value: String,
}

/// Everything in `topic`/`partition` from `from` (kcat's `-o`: `beginning`,
/// `end` or an offset) up to the high watermark, read with kcat.
fn consume(bootstrap: &str, topic: &str, partition: i32, from: &str) -> Vec<Consumed> {
    let out = kcat_read_partition(bootstrap, topic, partition, from, "%o %T %s\n");
    let text = assert_success(
        &out,
        &format!("kcat consume {topic}-{partition} from {from}"),
    );
    text.lines()
        .map(|line| {
            let mut parts = line.splitn(3, ' ');
            let mut next = || parts.next().unwrap_or_else(|| panic!("kcat line {line:?}"));
            Consumed {
                offset: next()
                    .parse()
                    .unwrap_or_else(|e| panic!("offset in {line:?}: {e}")),
                timestamp: next()
                    .parse()
                    .unwrap_or_else(|e| panic!("ts in {line:?}: {e}")),
                value: next().to_owned(),
            }
        })
        .collect()
}

/// Asserts `records` are offsets `first..first + len` with `value(offset)`.
fn assert_contiguous(records: &[Consumed], first: i64, value: impl Fn(i64) -> String, what: &str) {
    for (i, r) in records.iter().enumerate() {
        let expected_offset = first + i as i64;
        assert_eq!(
            (r.offset, r.value.as_str()),
            (expected_offset, value(expected_offset).as_str()),
            "{what}: record #{i} of {}",
            records.len()
        );
    }
}

/// ListOffsets through both Python clients for one partition: kafka-python's
/// `beginning_offsets` / `end_offsets` / `offsets_for_times` and
/// confluent-kafka's `get_watermark_offsets` / `offsets_for_times`.
const LIST_OFFSETS_PY: &str = r#"
import json, sys
from kafka import KafkaConsumer, TopicPartition
from confluent_kafka import Consumer, TopicPartition as CTopicPartition

bootstrap, topic, partition, targets = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
out = {}

kp = KafkaConsumer(bootstrap_servers=bootstrap, request_timeout_ms=30000)
tp = TopicPartition(topic, partition)
out["kp_earliest"] = kp.beginning_offsets([tp])[tp]
out["kp_latest"] = kp.end_offsets([tp])[tp]
kp_times = []
for t in targets:
    found = kp.offsets_for_times({tp: t})[tp]
    kp_times.append(None if found is None else [found.offset, found.timestamp])
out["kp_times"] = kp_times
kp.close()

ck = Consumer({"bootstrap.servers": bootstrap, "group.id": "durability-list-offsets",
               "broker.address.family": "v4"})
low, high = ck.get_watermark_offsets(CTopicPartition(topic, partition), timeout=30, cached=False)
out["ck_earliest"], out["ck_latest"] = low, high
ck_times = []
for t in targets:
    [found] = ck.offsets_for_times([CTopicPartition(topic, partition, t)], timeout=30)
    if found.error is not None:
        raise SystemExit("offsets_for_times(%d): %s" % (t, found.error))
    ck_times.append(found.offset)
out["ck_times"] = ck_times
ck.close()
print(json.dumps(out))
"#;

/// What both Python clients say about one partition's offsets.
#[derive(Debug)]
struct ListedOffsets {
    earliest: i64,
    latest: i64,
    /// Per target timestamp: kafka-python's `(offset, timestamp)`, `None`
    /// when no record qualifies.
    by_time: Vec<Option<(i64, i64)>>,
}

/// Queries ListOffsets with both Python clients and asserts they agree.
fn list_offsets(bootstrap: &str, topic: &str, partition: i32, targets: &[i64]) -> ListedOffsets {
    let targets_json = serde_json::to_string(targets).expect("json");
    let partition_arg = partition.to_string();
    let out = run_python(
        LIST_OFFSETS_PY,
        &[bootstrap, topic, &partition_arg, &targets_json],
    );
    let text = assert_success(&out, "python ListOffsets");
    let json: serde_json::Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("ListOffsets script printed {text:?}: {e}"));
    let int = |key: &str| {
        json[key]
            .as_i64()
            .unwrap_or_else(|| panic!("{key} in {json}"))
    };
    let listed = ListedOffsets {
        earliest: int("kp_earliest"),
        latest: int("kp_latest"),
        by_time: json["kp_times"]
            .as_array()
            .expect("kp_times")
            .iter()
            .map(|v| {
                v.as_array()
                    .map(|pair| (pair[0].as_i64().unwrap(), pair[1].as_i64().unwrap()))
            })
            .collect(),
    };
    assert_eq!(
        (int("ck_earliest"), int("ck_latest")),
        (listed.earliest, listed.latest),
        "confluent-kafka's watermarks differ from kafka-python's: {json}"
    );
    let ck_times: Vec<i64> = json["ck_times"]
        .as_array()
        .expect("ck_times")
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let kp_offsets: Vec<i64> = listed
        .by_time
        .iter()
        .map(|found| found.map_or(-1, |(offset, _)| offset))
        .collect();
    assert_eq!(
        ck_times, kp_offsets,
        "confluent-kafka's offsets_for_times differ from kafka-python's (targets {targets:?})"
    );
    listed
}

// ---------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------

/// `<log dir>/<topic>-<partition>`.
fn partition_dir(broker: &Broker, topic: &str, partition: i32) -> PathBuf {
    broker.log_dir().join(format!("{topic}-{partition}"))
}

/// `<dir>/<base as 20 digits>.<ext>`.
fn segment_file(dir: &Path, base: i64, ext: &str) -> PathBuf {
    dir.join(format!("{base:020}.{ext}"))
}

/// Base offsets of the `.log` files in a partition dir, ascending; every name
/// must be 20 digits + `.log`.
fn segment_bases(dir: &Path) -> Vec<i64> {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("list {}: {e}", dir.display()));
    let mut bases: Vec<i64> = entries
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter_map(|name| {
            let stem = name.strip_suffix(".log")?;
            assert!(
                stem.len() == 20 && stem.bytes().all(|b| b.is_ascii_digit()),
                "segment file {name:?} in {} is not named by a 20-digit offset",
                dir.display()
            );
            Some(stem.parse().expect("digits"))
        })
        .collect();
    bases.sort_unstable();
    bases
}

/// Like [`read_batches`]; `None` when the file is gone (retention).
fn try_read_batches(path: &Path) -> Option<Vec<StoredBatch>> {
    match fs::read(path) {
        Ok(bytes) => Some(parse_batches(&bytes, path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("read {}: {e}", path.display()),
    }
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .len()
}

/// The header of one magic-2 record batch as stored in a `.log` file.
#[derive(Debug, Clone, Copy)]
struct StoredBatch {
    position: usize,
    size: usize,
    base_offset: i64,
    last_offset: i64,
    record_count: i32,
    max_timestamp: i64,
}

/// Reads every batch of a `.log` file, asserting Kafka's format: each is a
/// whole magic-2 batch with a correct CRC32C, and the file holds nothing else.
fn read_batches(path: &Path) -> Vec<StoredBatch> {
    try_read_batches(path).unwrap_or_else(|| panic!("{} does not exist", path.display()))
}

fn parse_batches(bytes: &[u8], path: &Path) -> Vec<StoredBatch> {
    let be64 = |at: usize| i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
    let be32 = |at: usize| i32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut batches = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let what = format!("{} at byte {pos}", path.display());
        assert!(pos + 61 <= bytes.len(), "{what}: torn batch header");
        let size = 12 + usize::try_from(be32(pos + 8)).expect("batch length");
        assert!(
            pos + size <= bytes.len(),
            "{what}: torn batch of {size} bytes"
        );
        assert_eq!(bytes[pos + 16], 2, "{what}: magic");
        let crc = u32::from_be_bytes(bytes[pos + 17..pos + 21].try_into().unwrap());
        assert_eq!(
            crc32c::crc32c(&bytes[pos + 21..pos + size]),
            crc,
            "{what}: CRC32C"
        );
        let base_offset = be64(pos);
        batches.push(StoredBatch {
            position: pos,
            size,
            base_offset,
            last_offset: base_offset + i64::from(be32(pos + 23)),
            record_count: be32(pos + 57),
            max_timestamp: be64(pos + 35),
        });
        pos += size;
    }
    batches
}

/// Reads one of Kafka's offset checkpoint files, asserting its format: `0`,
/// the entry count, then exactly that many `topic partition offset` lines.
fn read_checkpoint(path: &Path) -> BTreeMap<(String, i32), i64> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(text.ends_with('\n'), "{}: {text:?}", path.display());
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines.len() >= 2, "{}: {text:?}", path.display());
    assert_eq!(lines[0], "0", "{}: version line", path.display());
    let count: usize = lines[1]
        .parse()
        .unwrap_or_else(|e| panic!("{}: count line {:?}: {e}", path.display(), lines[1]));
    assert_eq!(lines.len() - 2, count, "{}: {text:?}", path.display());
    let entries: BTreeMap<(String, i32), i64> = lines[2..]
        .iter()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 3, "{}: line {line:?}", path.display());
            (
                (fields[0].to_owned(), fields[1].parse().expect("partition")),
                fields[2].parse().expect("offset"),
            )
        })
        .collect();
    assert_eq!(
        entries.len(),
        count,
        "{}: duplicate entries",
        path.display()
    );
    entries
}

/// The entries of a checkpoint for `topic`, by partition.
fn checkpoint_for(path: &Path, topic: &str) -> BTreeMap<i32, i64> {
    read_checkpoint(path)
        .into_iter()
        .filter(|((t, _), _)| t == topic)
        .map(|((_, p), offset)| (p, offset))
        .collect()
}

/// `key=value` lines of a Java properties file (comments skipped).
fn read_properties(path: &Path) -> BTreeMap<String, String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap_or_else(|| panic!("line {l:?}"));
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect()
}

/// The value `<prefix>-<i>-` padded with `x` to `len` bytes.
fn padded(prefix: &str, i: i64, len: usize) -> String {
    let mut v = format!("{prefix}-{i}-");
    while v.len() < len {
        v.push('x');
    }
    v
}

// ---------------------------------------------------------------------------
// Layout and clean restart
// ---------------------------------------------------------------------------

#[test]
fn clean_shutdown_leaves_kafka_layout_and_restart_keeps_everything() {
    let chroot = unique_chroot("durability-layout");
    let mut broker = Broker::start(BrokerSpec::new(3, zk_connect(&chroot)));
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "t", 3);
    let counts = [5i64, 7, 11];
    let producer = future_producer_with(&bootstrap, &[]);
    for (p, &n) in counts.iter().enumerate() {
        let offsets = produce(
            &producer,
            "t",
            p as i32,
            &values((0..n).map(|i| format!("p{p}-{i}"))),
        );
        assert_eq!(offsets, (0..n).collect::<Vec<_>>(), "offsets of t-{p}");
    }
    drop(producer);

    // meta.properties names this broker and the cluster in ZooKeeper.
    let meta = read_properties(&broker.log_dir().join("meta.properties"));
    let cluster_id = zk(&chroot).get_json("/cluster/id").expect("/cluster/id")["id"]
        .as_str()
        .expect("cluster id string")
        .to_owned();
    assert_eq!(
        meta.get("version").map(String::as_str),
        Some("0"),
        "{meta:?}"
    );
    assert_eq!(
        meta.get("broker.id").map(String::as_str),
        Some("3"),
        "{meta:?}"
    );
    assert_eq!(meta.get("cluster.id"), Some(&cluster_id), "{meta:?}");

    let status = broker.terminate();
    assert!(
        status.success(),
        "SIGTERM exit: {}",
        describe_status(status)
    );
    let log_dir = broker.log_dir().to_path_buf();
    assert!(
        log_dir.join(".kafka_cleanshutdown").exists(),
        "no clean-shutdown marker in {}",
        log_dir.display()
    );

    for (p, &n) in counts.iter().enumerate() {
        let dir = partition_dir(&broker, "t", p as i32);
        assert_eq!(
            segment_bases(&dir),
            vec![0],
            "segments of {}",
            dir.display()
        );
        let batches = read_batches(&segment_file(&dir, 0, "log"));
        let records: i64 = batches.iter().map(|b| i64::from(b.record_count)).sum();
        assert_eq!(records, n, "records stored in t-{p}");
        let mut next = 0;
        for b in &batches {
            assert_eq!(b.base_offset, next, "batches of t-{p}: {batches:?}");
            assert_eq!(b.last_offset - b.base_offset + 1, i64::from(b.record_count));
            next = b.last_offset + 1;
        }
        // Indexes exist and, closed, are trimmed to whole entries (at most one
        // per batch, plus the time index's closing entry).
        let index = file_len(&segment_file(&dir, 0, "index"));
        let time_index = file_len(&segment_file(&dir, 0, "timeindex"));
        assert!(
            index.is_multiple_of(8) && index <= 8 * batches.len() as u64,
            "{}: .index is {index} bytes for {} batches",
            dir.display(),
            batches.len()
        );
        assert!(
            time_index.is_multiple_of(12) && time_index <= 12 * (batches.len() as u64 + 1),
            "{}: .timeindex is {time_index} bytes for {} batches",
            dir.display(),
            batches.len()
        );
    }

    let expected: BTreeMap<i32, i64> = counts
        .iter()
        .enumerate()
        .map(|(p, &n)| (p as i32, n))
        .collect();
    assert_eq!(
        checkpoint_for(&log_dir.join("recovery-point-offset-checkpoint"), "t"),
        expected,
        "recovery points after a clean shutdown are the log ends"
    );
    assert_eq!(
        checkpoint_for(&log_dir.join("replication-offset-checkpoint"), "t"),
        expected,
        "high watermarks"
    );
    // Kafka lists only logs whose start moved past their first segment; a
    // listed one must still say 0 here.
    let starts = checkpoint_for(&log_dir.join("log-start-offset-checkpoint"), "t");
    assert!(
        starts.values().all(|&s| s == 0),
        "log start offsets: {starts:?}"
    );

    // A clean restart keeps every record and offset, and appends continue.
    broker.restart();
    let bootstrap = broker.bootstrap();
    wait_for_leaders(&bootstrap, "t", 3);
    assert!(
        !log_dir.join(".kafka_cleanshutdown").exists(),
        "the marker is consumed at start-up"
    );
    for (p, &n) in counts.iter().enumerate() {
        let records = consume(&bootstrap, "t", p as i32, "beginning");
        assert_eq!(records.len() as i64, n, "t-{p} after restart: {records:?}");
        assert_contiguous(&records, 0, |o| format!("p{p}-{o}"), "t after restart");
    }
    let producer = future_producer_with(&bootstrap, &[]);
    let offsets = produce(
        &producer,
        "t",
        1,
        &values((7..10).map(|i| format!("p1-{i}"))),
    );
    assert_eq!(
        offsets,
        vec![7, 8, 9],
        "appends continue at the old log end"
    );
    let records = consume(&bootstrap, "t", 1, "beginning");
    assert_eq!(records.len(), 10);
    assert_contiguous(&records, 0, |o| format!("p1-{o}"), "t-1 after new appends");
}

// ---------------------------------------------------------------------------
// Rolling
// ---------------------------------------------------------------------------

#[test]
fn segments_roll_by_size_and_are_named_by_their_base_offset() {
    const SEGMENT_BYTES: u64 = 2048;
    let chroot = unique_chroot("durability-roll-size");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("log.segment.bytes", SEGMENT_BYTES),
    );
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "rolled", 1);
    let n = 300;
    // Batches well under a segment, several per segment.
    let producer = future_producer_with(&bootstrap, &[("linger.ms", "5"), ("batch.size", "700")]);
    let offsets = produce(
        &producer,
        "rolled",
        0,
        &values((0..n).map(|i| padded("r", i, 60))),
    );
    assert_eq!(offsets, (0..n).collect::<Vec<_>>());

    let dir = partition_dir(&broker, "rolled", 0);
    let bases = segment_bases(&dir);
    let mut total = 0;
    let mut next = 0;
    for &base in &bases {
        let log = segment_file(&dir, base, "log");
        let size = file_len(&log);
        total += size;
        assert!(size <= SEGMENT_BYTES, "{} is {size} bytes", log.display());
        for ext in ["index", "timeindex"] {
            assert!(
                segment_file(&dir, base, ext).exists(),
                "no .{ext} for {base}"
            );
        }
        let batches = read_batches(&log);
        assert!(!batches.is_empty(), "empty segment {}", log.display());
        assert_eq!(
            base, next,
            "segment {base} does not start where the last ended"
        );
        assert_eq!(
            batches[0].base_offset,
            base,
            "first batch of {}",
            log.display()
        );
        for b in &batches {
            assert_eq!(
                b.base_offset,
                next,
                "batches of {}: {batches:?}",
                log.display()
            );
            next = b.last_offset + 1;
        }
    }
    assert_eq!(next, n, "the segments hold offsets 0..{n}");
    assert!(
        bases.len() as u64 >= total.div_ceil(SEGMENT_BYTES) && bases.len() >= 5,
        "{} segments for {total} bytes: {bases:?}",
        bases.len()
    );

    let all = consume(&bootstrap, "rolled", 0, "beginning");
    assert_eq!(all.len() as i64, n);
    assert_contiguous(&all, 0, |o| padded("r", o, 60), "consumed from 0");
    // From the middle of a later segment: the index lookup crosses segments.
    let from = bases[bases.len() / 2] + 1;
    let tail = consume(&bootstrap, "rolled", 0, &from.to_string());
    assert_eq!(tail.len() as i64, n - from);
    assert_contiguous(
        &tail,
        from,
        |o| padded("r", o, 60),
        "consumed from the middle",
    );
}

#[test]
fn segments_roll_when_a_batch_is_log_roll_ms_newer_than_the_first() {
    const ROLL_MS: i64 = 300;
    let chroot = unique_chroot("durability-roll-time");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)).set("log.roll.ms", ROLL_MS));
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "explicit", 1);
    create_topic(&bootstrap, "wallclock", 1);
    let producer = future_producer_with(&bootstrap, &[]);

    // Explicit timestamps a day old: Kafka rolls when the incoming batch's
    // timestamp minus the segment's first timestamp is more than log.roll.ms.
    let t0 = now_ms() - 86_400_000;
    let stamps = [
        0,
        150,
        ROLL_MS,
        ROLL_MS + 1,
        ROLL_MS + 200,
        2 * ROLL_MS + 2,
        2 * ROLL_MS + 2,
    ];
    let records: Vec<(String, Option<i64>)> = stamps
        .iter()
        .enumerate()
        .map(|(i, d)| (format!("e-{i}"), Some(t0 + d)))
        .collect();
    let offsets = produce_one_by_one(&producer, "explicit", 0, &records);
    assert_eq!(offsets, (0..stamps.len() as i64).collect::<Vec<_>>());
    // 300 after the first is not more than 300; 301 is (roll at 3); then 602
    // is 301 after the new segment's first (roll at 5).
    let dir = partition_dir(&broker, "explicit", 0);
    assert_eq!(
        segment_bases(&dir),
        vec![0, 3, 5],
        "segments of {}",
        dir.display()
    );
    let consumed = consume(&bootstrap, "explicit", 0, "beginning");
    assert_contiguous(&consumed, 0, |o| format!("e-{o}"), "explicit");
    let consumed_stamps: Vec<i64> = consumed.iter().map(|r| r.timestamp - t0).collect();
    assert_eq!(consumed_stamps, stamps);

    // With the client's clock: keep appending until a segment rolls; it rolls
    // on the append that arrives more than log.roll.ms after the first.
    let dir = partition_dir(&broker, "wallclock", 0);
    let mut last_offset = -1;
    wait_until("a time-based roll of wallclock-0", FILE_WAIT, || {
        last_offset = produce(
            &producer,
            "wallclock",
            0,
            &values([format!("w-{}", last_offset + 1)]),
        )[0];
        (segment_bases(&dir).len() > 1).then_some(())
    });
    assert_eq!(
        segment_bases(&dir),
        vec![0, last_offset],
        "the roll happened at the append that triggered it"
    );
    let consumed = consume(&bootstrap, "wallclock", 0, "beginning");
    assert_eq!(consumed.len() as i64, last_offset + 1);
    assert_contiguous(&consumed, 0, |o| format!("w-{o}"), "wallclock");
    let first = consumed[0].timestamp;
    for r in &consumed[..consumed.len() - 1] {
        assert!(
            r.timestamp - first <= ROLL_MS,
            "{r:?} stayed in the first segment"
        );
    }
    assert!(consumed[consumed.len() - 1].timestamp - first > ROLL_MS);
}

// ---------------------------------------------------------------------------
// Retention
// ---------------------------------------------------------------------------

#[test]
fn retention_by_bytes_deletes_oldest_segments_and_moves_earliest() {
    const SEGMENT_BYTES: u64 = 1024;
    const RETENTION_BYTES: u64 = 4096;
    let chroot = unique_chroot("durability-retention-bytes");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("log.segment.bytes", SEGMENT_BYTES)
            .set("log.retention.bytes", RETENTION_BYTES)
            .set("log.retention.check.interval.ms", 200),
    );
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "sized", 1);
    let n = 250;
    let producer = future_producer_with(&bootstrap, &[("linger.ms", "5"), ("batch.size", "400")]);
    let offsets = produce(
        &producer,
        "sized",
        0,
        &values((0..n).map(|i| padded("s", i, 50))),
    );
    assert_eq!(offsets, (0..n).collect::<Vec<_>>());

    let dir = partition_dir(&broker, "sized", 0);
    // `None` if a segment vanished while we looked.
    let size_of = |bases: &[i64]| -> Option<u64> {
        bases
            .iter()
            .map(|&b| {
                fs::metadata(segment_file(&dir, b, "log"))
                    .ok()
                    .map(|m| m.len())
            })
            .sum()
    };
    // Kafka deletes the oldest segment while the log stays at or above
    // retention.bytes without it: it ends below retention + the first segment.
    let bases = wait_until(
        "retention to bring sized-0 under its limit",
        FILE_WAIT,
        || {
            let bases = segment_bases(&dir);
            let total = size_of(&bases)?;
            let first = size_of(&bases[..1])?;
            (bases[0] > 0 && total < RETENTION_BYTES + first).then_some(bases)
        },
    );
    let total = size_of(&bases).expect("segments stay");
    assert!(
        total >= RETENTION_BYTES,
        "retention deleted too much: {total} bytes left in {bases:?}"
    );
    // The active segment (holding the log end) is still there.
    let last = read_batches(&segment_file(&dir, *bases.last().unwrap(), "log"));
    assert_eq!(last.last().map(|b| b.last_offset), Some(n - 1));
    for base in 0..bases[0] {
        assert!(!segment_file(&dir, base, "log").exists());
    }

    let listed = list_offsets(&bootstrap, "sized", 0, &[]);
    assert_eq!(
        (listed.earliest, listed.latest),
        (bases[0], n),
        "ListOffsets earliest is the first remaining segment's base"
    );
    let consumed = consume(&bootstrap, "sized", 0, "beginning");
    assert_eq!(consumed.len() as i64, n - bases[0]);
    assert_contiguous(&consumed, bases[0], |o| padded("s", o, 50), "from earliest");
}

#[test]
fn retention_by_time_deletes_segments_whose_records_are_all_old() {
    let chroot = unique_chroot("durability-retention-time");
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("log.segment.bytes", 1024)
            .set("log.retention.ms", 60_000)
            .set("log.retention.check.interval.ms", 200),
    );
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "aged", 1);
    let producer = future_producer_with(&bootstrap, &[("linger.ms", "5"), ("batch.size", "400")]);
    // 100 records ten minutes old, then 20 fresh ones.
    let old_ts = now_ms() - 600_000;
    let old: Vec<(String, Option<i64>)> = (0..100)
        .map(|i| (padded("a", i, 50), Some(old_ts + i)))
        .collect();
    assert_eq!(
        produce(&producer, "aged", 0, &old),
        (0..100).collect::<Vec<_>>()
    );
    let fresh: Vec<(String, Option<i64>)> =
        (100..120).map(|i| (padded("a", i, 50), None)).collect();
    assert_eq!(
        produce(&producer, "aged", 0, &fresh),
        (100..120).collect::<Vec<_>>()
    );

    // Every segment whose newest record is old goes; the first one holding a
    // fresh record (offset 100) and everything after stay.
    let dir = partition_dir(&broker, "aged", 0);
    let bases = wait_until("time retention on aged-0", FILE_WAIT, || {
        let bases = segment_bases(&dir);
        let first = try_read_batches(&segment_file(&dir, bases[0], "log"))?;
        first.iter().any(|b| b.last_offset >= 100).then_some(bases)
    });
    assert!(bases[0] > 0, "nothing was deleted: {bases:?}");
    for &base in &bases {
        let batches = read_batches(&segment_file(&dir, base, "log"));
        let max_ts = batches.iter().map(|b| b.max_timestamp).max().unwrap();
        assert!(
            max_ts > old_ts + 99,
            "segment {base} only holds old records but was kept"
        );
    }

    let listed = list_offsets(&bootstrap, "aged", 0, &[]);
    assert_eq!((listed.earliest, listed.latest), (bases[0], 120));
    let consumed = consume(&bootstrap, "aged", 0, "beginning");
    assert_eq!(consumed.len() as i64, 120 - bases[0]);
    assert_contiguous(&consumed, bases[0], |o| padded("a", o, 50), "from earliest");
}

// ---------------------------------------------------------------------------
// Crashes
// ---------------------------------------------------------------------------

/// Records which sends were acknowledged, and at which offset.
#[derive(Default)]
struct AckTracker {
    acked: Mutex<Vec<(i64, i64)>>,
    settled: AtomicU64,
}

struct AckContext(Arc<AckTracker>);

impl ClientContext for AckContext {}

impl ProducerContext for AckContext {
    type DeliveryOpaque = Box<i64>;

    fn delivery(&self, result: &DeliveryResult<'_>, index: Box<i64>) {
        if let Ok(message) = result {
            self.0
                .acked
                .lock()
                .unwrap()
                .push((*index, message.offset()));
        }
        self.0.settled.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
#[allow(unsafe_code)] // kill(2) with SIGKILL mid-produce
fn sigkill_mid_produce_loses_no_acknowledged_record() {
    let chroot = unique_chroot("durability-sigkill");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("zookeeper.session.timeout.ms", 4000),
    );
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "stream", 1);

    // A producer (acks=1) streaming rec-0, rec-1, ... in small requests with
    // up to 100 records in flight. Once 500 are acknowledged, it SIGKILLs the
    // broker itself, at a moment when it has records in flight, and keeps
    // sending until told to stop; then it is dropped, purging what is unsent.
    let tracker = Arc::new(AckTracker::default());
    let stop = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicU64::new(0));
    let broker_pid = broker.pid() as libc::pid_t;
    let producer_thread = {
        let (tracker, stop, killed) = (tracker.clone(), stop.clone(), killed.clone());
        let bootstrap = bootstrap.clone();
        thread::spawn(move || {
            let producer: BaseProducer<AckContext> = producer_config(&bootstrap)
                .set("acks", "1")
                .set("enable.idempotence", "false")
                .set("linger.ms", "0")
                .set("batch.num.messages", "10")
                .create_with_context(AckContext(tracker.clone()))
                .expect("create producer");
            let mut sent: i64 = 0;
            while !stop.load(Ordering::SeqCst) {
                let settled = tracker.settled.load(Ordering::SeqCst) as i64;
                if killed.load(Ordering::SeqCst) == 0 && settled >= 500 && sent - settled >= 30 {
                    // SAFETY: plain kill(2) of the broker, which the test
                    // thread has not reaped yet.
                    assert_eq!(unsafe { libc::kill(broker_pid, libc::SIGKILL) }, 0);
                    killed.store(sent as u64, Ordering::SeqCst);
                }
                if sent - settled >= 100 {
                    producer.poll(Duration::from_millis(1));
                    continue;
                }
                let payload = format!("rec-{sent}");
                let record =
                    BaseRecord::<(), str, Box<i64>>::with_opaque_to("stream", Box::new(sent))
                        .partition(0)
                        .payload(payload.as_str());
                if producer.send(record).is_ok() {
                    sent += 1;
                }
                producer.poll(Duration::ZERO);
            }
            drop(producer);
            sent
        })
    };
    let sent_at_kill = wait_until(
        "the producer to kill the broker",
        Duration::from_secs(60),
        || Some(killed.load(Ordering::SeqCst)).filter(|&n| n > 0),
    );
    broker.kill(); // reaps it
    stop.store(true, Ordering::SeqCst);
    let sent = producer_thread.join().expect("producer thread");
    let mut acked = tracker.acked.lock().unwrap().clone();
    acked.sort_unstable();
    let acked_count = acked.len() as i64;
    // A dead broker acknowledges nothing sent after its death.
    assert!(
        acked_count >= 500 && acked_count <= sent_at_kill as i64 && sent_at_kill as i64 <= sent,
        "{acked_count} acked, {sent_at_kill} sent at the kill, {sent} in all"
    );
    // Before the kill nothing failed, so the acks are a prefix, at offsets 0...
    for (i, &(index, offset)) in acked.iter().enumerate() {
        assert_eq!((index, offset), (i as i64, i as i64), "ack #{i}");
    }

    broker.restart();
    let bootstrap = broker.bootstrap();
    wait_for_leaders(&bootstrap, "stream", 1);
    let records = consume(&bootstrap, "stream", 0, "beginning");
    let log_end = records.len() as i64;
    assert!(
        log_end >= acked_count,
        "only {log_end} records after the restart, {acked_count} were acknowledged"
    );
    assert!(
        log_end <= sent,
        "{log_end} records but only {sent} were sent"
    );
    // Every acknowledged record, in order, once; anything after it is the
    // next records of the stream (written but not acknowledged), no gaps.
    assert_contiguous(&records, 0, |o| format!("rec-{o}"), "after SIGKILL");

    let producer = future_producer_with(&bootstrap, &[]);
    let offsets = produce(
        &producer,
        "stream",
        0,
        &values((0..5).map(|i| format!("rec-{}", log_end + i))),
    );
    assert_eq!(offsets, (log_end..log_end + 5).collect::<Vec<_>>());
    let tail = consume(&bootstrap, "stream", 0, &log_end.to_string());
    assert_eq!(tail.len(), 5);
    assert_contiguous(&tail, log_end, |o| format!("rec-{o}"), "new appends");
}

#[test]
fn torn_tail_is_cut_at_restart_and_flushed_records_survive_sigkill() {
    let chroot = unique_chroot("durability-torn");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("zookeeper.session.timeout.ms", 4000)
            .set("log.flush.interval.messages", 1)
            .set("log.flush.offset.checkpoint.interval.ms", 200),
    );
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "torn", 2);
    let producer = future_producer_with(&bootstrap, &[]);
    for p in 0..2 {
        let records = values((0..20).map(|i| format!("t{p}-{i}")));
        assert_eq!(
            produce_one_by_one(&producer, "torn", p, &records),
            (0..20).collect::<Vec<_>>()
        );
    }
    drop(producer);

    // With a flush after every message the recovery point follows the log
    // end (without it, it stays at 0 until a roll or a scheduled flush).
    let checkpoint = broker.log_dir().join("recovery-point-offset-checkpoint");
    wait_until("recovery points at the log ends", FILE_WAIT, || {
        let points = checkpoint
            .exists()
            .then(|| checkpoint_for(&checkpoint, "torn"))?;
        (points == BTreeMap::from([(0, 20), (1, 20)])).then_some(())
    });

    broker.kill();
    // t-0: the start of a copy of its last batch, as a write cut short.
    let log0 = segment_file(&partition_dir(&broker, "torn", 0), 0, "log");
    let valid0 = fs::read(&log0).unwrap();
    let last0 = *read_batches(&log0).last().unwrap();
    let mut torn = valid0.clone();
    torn.extend_from_slice(&valid0[last0.position..last0.position + last0.size - 7]);
    fs::write(&log0, &torn).unwrap();
    // t-1: a whole next batch (offset 20) with a flipped bit in its records,
    // so only the CRC tells, then garbage.
    let log1 = segment_file(&partition_dir(&broker, "torn", 1), 0, "log");
    let valid1 = fs::read(&log1).unwrap();
    let last1 = *read_batches(&log1).last().unwrap();
    let mut corrupt = valid1[last1.position..last1.position + last1.size].to_vec();
    corrupt[..8].copy_from_slice(&20i64.to_be_bytes());
    let flip = corrupt.len() - 2;
    corrupt[flip] ^= 0x10;
    let mut damaged = valid1.clone();
    damaged.extend_from_slice(&corrupt);
    damaged.extend_from_slice(&[0xAB; 100]);
    fs::write(&log1, &damaged).unwrap();

    broker.restart();
    assert_eq!(
        fs::read(&log0).unwrap(),
        valid0,
        "t-0's torn tail was cut exactly"
    );
    assert_eq!(
        fs::read(&log1).unwrap(),
        valid1,
        "t-1's corrupt tail was cut exactly"
    );
    let bootstrap = broker.bootstrap();
    wait_for_leaders(&bootstrap, "torn", 2);
    let producer = future_producer_with(&bootstrap, &[]);
    for p in 0..2 {
        let records = consume(&bootstrap, "torn", p, "beginning");
        assert_eq!(records.len(), 20, "torn-{p}: {records:?}");
        assert_contiguous(&records, 0, |o| format!("t{p}-{o}"), "after recovery");
        let offsets = produce(&producer, "torn", p, &values([format!("t{p}-20")]));
        assert_eq!(
            offsets,
            vec![20],
            "torn-{p} continues after the valid prefix"
        );
        let records = consume(&bootstrap, "torn", p, "beginning");
        assert_eq!(records.len(), 21);
        assert_contiguous(&records, 0, |o| format!("t{p}-{o}"), "after a new append");
    }
}

// ---------------------------------------------------------------------------
// ListOffsets
// ---------------------------------------------------------------------------

#[test]
fn list_offsets_earliest_latest_and_by_timestamp() {
    let chroot = unique_chroot("durability-list-offsets");
    let broker =
        Broker::start(BrokerSpec::new(1, zk_connect(&chroot)).set("log.segment.bytes", 1024));
    let bootstrap = broker.bootstrap();
    create_topic(&bootstrap, "timed", 1);
    // Timestamps base + 10 * offset, queued together so batches hold several
    // records (the lookup must find the record, not the batch), spread over
    // several segments.
    let base = now_ms() - 3_600_000;
    let n = 60;
    let producer = future_producer_with(&bootstrap, &[("linger.ms", "20"), ("batch.size", "400")]);
    let records: Vec<(String, Option<i64>)> = (0..n)
        .map(|i| (padded("m", i, 40), Some(base + 10 * i)))
        .collect();
    assert_eq!(
        produce(&producer, "timed", 0, &records),
        (0..n).collect::<Vec<_>>()
    );
    let dir = partition_dir(&broker, "timed", 0);
    let bases = segment_bases(&dir);
    assert!(bases.len() >= 3, "want several segments: {bases:?}");
    let batches: Vec<StoredBatch> = bases
        .iter()
        .flat_map(|&b| read_batches(&segment_file(&dir, b, "log")))
        .collect();
    assert!(
        batches.iter().any(|b| b.record_count > 2),
        "want multi-record batches: {batches:?}"
    );

    // (target, first offset with timestamp >= target)
    let in_third_segment = bases[2] + 1;
    let cases: Vec<(i64, Option<i64>)> = vec![
        (base - 1000, Some(0)),
        (base, Some(0)),
        (base + 1, Some(1)),
        (base + 70, Some(7)),
        (base + 73, Some(8)),
        (base + 10 * in_third_segment - 5, Some(in_third_segment)),
        (base + 10 * (n - 1), Some(n - 1)),
        (base + 10 * (n - 1) + 1, None),
        (now_ms() + 3_600_000, None),
    ];
    let targets: Vec<i64> = cases.iter().map(|c| c.0).collect();
    let listed = list_offsets(&bootstrap, "timed", 0, &targets);
    assert_eq!((listed.earliest, listed.latest), (0, n));
    for ((target, expected), found) in cases.iter().zip(&listed.by_time) {
        let expected = expected.map(|offset| (offset, base + 10 * offset));
        assert_eq!(
            *found,
            expected,
            "offsets_for_times({target}) = base + {}",
            target - base
        );
    }
}

// ---------------------------------------------------------------------------
// Identity of a log dir
// ---------------------------------------------------------------------------

#[test]
fn log_dir_of_another_broker_or_cluster_is_refused() {
    let chroot = unique_chroot("durability-meta");
    let mut first = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let status = first.terminate();
    assert!(status.success(), "{}", describe_status(status));
    let dir = first.log_dir().to_path_buf();
    let meta_path = dir.join("meta.properties");
    let original = fs::read_to_string(&meta_path).expect("meta.properties");
    assert_eq!(
        read_properties(&meta_path)
            .get("broker.id")
            .map(String::as_str),
        Some("1")
    );

    // Broker 2 on broker 1's log dir.
    let mut spec = BrokerSpec::new(2, zk_connect(&chroot));
    spec.log_dir = Some(dir.clone());
    let mut second = Broker::spawn(spec);
    let status = second.wait_exit(BROKER_START_TIMEOUT);
    assert!(!status.success(), "broker 2 started on broker 1's log dir");
    let log = second.log_text();
    assert!(
        log.contains("meta.properties")
            && log.contains("broker.id=1")
            && log.contains("broker.id=2"),
        "the refusal names the file and both ids:\n{}",
        tail_lines(&log, 20)
    );
    assert!(
        !zk(&chroot).exists("/brokers/ids/2"),
        "broker 2 registered anyway"
    );
    assert_eq!(
        fs::read_to_string(&meta_path).unwrap(),
        original,
        "meta.properties was changed"
    );

    // Broker 1 on its own dir, but the dir says another cluster.
    let foreign = original
        .lines()
        .map(|l| {
            if l.starts_with("cluster.id=") {
                "cluster.id=SomeOtherCluster0000000"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    fs::write(&meta_path, &foreign).unwrap();
    let mut spec = BrokerSpec::new(1, zk_connect(&chroot));
    spec.log_dir = Some(dir.clone());
    let mut third = Broker::spawn(spec);
    let status = third.wait_exit(BROKER_START_TIMEOUT);
    assert!(
        !status.success(),
        "broker 1 started on another cluster's log dir"
    );
    let log = third.log_text();
    assert!(
        log.contains("cluster.id=SomeOtherCluster0000000"),
        "the refusal names the stored cluster.id:\n{}",
        tail_lines(&log, 20)
    );

    // With its own identity back, broker 1 starts.
    fs::write(&meta_path, &original).unwrap();
    first.restart();
    assert!(first.is_running());
}
