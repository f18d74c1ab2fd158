//! Log compaction through real clients: a topic created by confluent-kafka's
//! AdminClient with `cleanup.policy=compact` and tiny segments gets keyed
//! records (repeated keys, then tombstones) from confluent-kafka's producer,
//! compressed; the broker's log cleaner shrinks the partition and records its
//! progress in `cleaner-offset-checkpoint`; a consumer reading from the
//! beginning then sees exactly the latest value of every key, no deleted key
//! (once `delete.retention.ms` has passed), strictly increasing offsets with
//! gaps, and an unchanged high watermark, also after a broker restart.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use common::*;
use serde_json::{Value, json};

/// How long the cleaner may take to compact (backoff 100 ms, tiny logs).
const CLEAN_TIMEOUT: Duration = Duration::from_secs(60);

/// Keys that get `ROUNDS` updates each; the first `DELETED` are then deleted.
const KEYS: usize = 20;
const ROUNDS: usize = 8;
const DELETED: usize = 5;
/// Unique-key records produced last, so every update and tombstone lies in
/// a non-active (cleanable) segment.
const FILLERS: usize = 30;

/// argv: bootstrap, topic, JSON spec. Creates the topic, produces
/// `rounds` values for each key, tombstones for the first `deleted` keys,
/// then the fillers; prints the high watermark.
const PRODUCE: &str = r#"
import json, os, sys
from confluent_kafka import Producer, Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap, topic, spec = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
common = {"bootstrap.servers": bootstrap, "broker.address.family": "v4"}
if spec.get("create"):
    admin = AdminClient(common)
    fs = admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=spec.get("rf", 1),
                                       config=spec["configs"])], operation_timeout=30)
    fs[topic].result()
errors = []
p = Producer(dict(common, **{"acks": "all", "linger.ms": 5, "message.timeout.ms": 30000,
                             "compression.type": spec["compression"]}))
def send(key, value):
    p.produce(topic, key=key.encode(), value=None if value is None else value.encode(),
              partition=0, on_delivery=lambda err, msg: errors.append(str(err)) if err else None)
for r in range(spec["rounds"]):
    for k in range(spec["keys"]):
        send("k%d" % k, "v%d-%d" % (k, r) + "x" * 40)
    p.flush(30)
for k in range(spec["deleted"]):
    send("k%d" % k, None)
p.flush(30)
# Incompressible fillers, one batch each, so the segment holding the
# tombstones rolls whatever the codec.
for f in range(spec["fillers"]):
    send("%s-f%d" % (spec["filler_prefix"], f), "filler" + os.urandom(80).hex())
    p.flush(30)
assert not errors, errors
c = Consumer(dict(common, **{"group.id": "probe"}))
low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=20)
c.close()
print(json.dumps({"low": low, "high": high}))
"#;

/// argv: bootstrap, topic. Reads partition 0 from the beginning to the high
/// watermark; prints the watermarks and every record as [offset, key, value].
const CONSUME: &str = r#"
import json, sys, time
from confluent_kafka import Consumer, TopicPartition

bootstrap, topic = sys.argv[1], sys.argv[2]
c = Consumer({"bootstrap.servers": bootstrap, "broker.address.family": "v4",
              "group.id": "reader", "enable.auto.commit": False,
              "auto.offset.reset": "earliest"})
low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=20)
c.assign([TopicPartition(topic, 0, 0)])
records, position = [], 0
deadline = time.time() + 30
while position < high and time.time() < deadline:
    m = c.poll(1.0)
    if m is None:
        continue
    if m.error():
        raise SystemExit(str(m.error()))
    value = m.value()
    records.append([m.offset(), m.key().decode(), None if value is None else value.decode()])
    # The last record is in the active segment, which is never cleaned.
    position = m.offset() + 1
c.close()
print(json.dumps({"low": low, "high": high, "records": records}))
"#;

/// argv: bootstrap, topic. Produces one record without a key; prints the
/// delivery error code (0: delivered).
const KEYLESS: &str = r#"
import json, sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "broker.address.family": "v4",
              "retries": 0, "message.timeout.ms": 20000})
codes = []
p.produce(sys.argv[2], value=b"no key", partition=0,
          on_delivery=lambda err, msg: codes.append(err.code() if err else 0))
p.flush(30)
print(json.dumps(codes))
"#;

/// Kafka's INVALID_RECORD.
const INVALID_RECORD: i64 = 87;

fn run_json(script: &str, args: &[&str], what: &str) -> Value {
    let out = run_python(script, args);
    let text = assert_success(&out, what);
    let last = text.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("{what} printed no JSON ({e}):\n{text}"))
}

fn produce(bootstrap: &str, topic: &str, spec: Value) -> (i64, i64) {
    let v = run_json(
        PRODUCE,
        &[bootstrap, topic, &spec.to_string()],
        "confluent-kafka producer",
    );
    (v["low"].as_i64().unwrap(), v["high"].as_i64().unwrap())
}

/// What a consumer reads: (low, high, [(offset, key, value)]).
type Read = (i64, i64, Vec<(i64, String, Option<String>)>);

fn consume(bootstrap: &str, topic: &str) -> Read {
    let v = run_json(CONSUME, &[bootstrap, topic], "confluent-kafka consumer");
    parse_read(&v)
}

/// `consume`, or `None` while the consumer fails (e.g. during a leader change).
fn try_consume(bootstrap: &str, topic: &str) -> Option<Read> {
    let out = run_python(CONSUME, &[bootstrap, topic]);
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last()?)
        .ok()
        .map(|v| parse_read(&v))
}

fn parse_read(v: &Value) -> Read {
    let records = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_i64().unwrap(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_str().map(str::to_string),
            )
        })
        .collect();
    (
        v["low"].as_i64().unwrap(),
        v["high"].as_i64().unwrap(),
        records,
    )
}

/// Bytes of the partition's segment files.
fn partition_bytes(log_dir: &Path, topic: &str) -> u64 {
    std::fs::read_dir(log_dir.join(format!("{topic}-0")))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// The topic's partition-0 offset in `cleaner-offset-checkpoint`, if any.
fn cleaner_checkpoint(log_dir: &Path, topic: &str) -> Option<i64> {
    let text = std::fs::read_to_string(log_dir.join("cleaner-offset-checkpoint")).ok()?;
    text.lines().skip(2).find_map(|line| {
        let parts: Vec<&str> = line.split_whitespace().collect();
        (parts.len() == 3 && parts[0] == topic && parts[1] == "0")
            .then(|| parts[2].parse().ok())
            .flatten()
    })
}

/// The latest value of every key the producer script wrote, without the
/// deleted keys: what a fully compacted topic holds (fillers have random
/// values: `None`, any value).
fn expected(filler_prefix: &str) -> BTreeMap<String, Option<String>> {
    let mut want = BTreeMap::new();
    for k in DELETED..KEYS {
        want.insert(
            format!("k{k}"),
            Some(format!("v{k}-{}{}", ROUNDS - 1, "x".repeat(40))),
        );
    }
    for f in 0..FILLERS {
        want.insert(format!("{filler_prefix}-f{f}"), None);
    }
    want
}

/// Checks a read of a fully compacted topic; `None` (with the reason) while
/// it is not compacted yet.
fn check_compacted(
    read: &Read,
    high: i64,
    want: &BTreeMap<String, Option<String>>,
) -> Result<(), String> {
    let (low, read_high, records) = read;
    if (*low, *read_high) != (0, high) {
        return Err(format!(
            "watermarks ({low}, {read_high}), expected (0, {high})"
        ));
    }
    let offsets: Vec<i64> = records.iter().map(|r| r.0).collect();
    if !offsets.windows(2).all(|w| w[0] < w[1]) {
        return Err(format!("offsets not strictly increasing: {offsets:?}"));
    }
    let mut got = BTreeMap::new();
    for (offset, key, value) in records {
        let Some(value) = value else {
            return Err(format!("tombstone for {key} at {offset} still there"));
        };
        if got.insert(key.clone(), value.clone()).is_some() {
            return Err(format!("key {key} appears twice"));
        }
    }
    let matches = |(key, value): (&String, &String)| {
        want.get(key)
            .is_some_and(|w| w.as_ref().is_none_or(|w| w == value))
    };
    if got.len() != want.len() || !got.iter().all(matches) {
        let wrong: Vec<&String> = got.keys().filter(|k| !want.contains_key(*k)).collect();
        return Err(format!(
            "content differs: got {} keys, want {}; unexpected {wrong:?}",
            got.len(),
            want.len()
        ));
    }
    Ok(())
}

fn compact_broker(name: &str) -> Broker {
    let chroot = unique_chroot(name);
    Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot))
            .set("log.cleaner.backoff.ms", 100)
            .set("auto.create.topics.enable", "false"),
    )
}

fn topic_configs(delete_retention_ms: u64) -> Value {
    json!({
        "cleanup.policy": "compact",
        "segment.bytes": "1024",
        "min.cleanable.dirty.ratio": "0.01",
        "delete.retention.ms": delete_retention_ms.to_string(),
    })
}

/// Produces the workload into a new compacted topic with `rf` replicas,
/// waits until the cleaner has compacted it fully (as read through
/// `bootstrap`) and until the cleaner checkpoint in each of `log_dirs` covers
/// the updates and tombstones; returns the high watermark.
fn produce_and_compact(
    bootstrap: &str,
    log_dirs: &[&Path],
    topic: &str,
    compression: &str,
    rf: usize,
) -> i64 {
    let spec = json!({
        "create": true, "configs": topic_configs(500), "compression": compression,
        "keys": KEYS, "rounds": ROUNDS, "deleted": DELETED, "fillers": FILLERS,
        "filler_prefix": "a", "rf": rf,
    });
    let (low, high) = produce(bootstrap, topic, spec);
    let produced = (KEYS * ROUNDS + DELETED + FILLERS) as i64;
    assert_eq!((low, high), (0, produced), "every record was acknowledged");
    let want = expected("a");
    let mut last = String::new();
    wait_until(
        &format!("{topic} to be compacted (last check: see below)"),
        CLEAN_TIMEOUT,
        || {
            let read = try_consume(bootstrap, topic)?;
            match check_compacted(&read, high, &want) {
                Ok(()) => Some(()),
                Err(why) => {
                    if why != last {
                        eprintln!("{topic}: not compacted yet: {why}");
                        last = why;
                    }
                    None
                }
            }
        },
    );
    for dir in log_dirs {
        // Past the updates and tombstones, before the active segment.
        let covered = |c: &i64| *c > (KEYS * ROUNDS + DELETED) as i64 && *c < high;
        wait_until(
            &format!(
                "the cleaner checkpoint in {} to cover the updates",
                dir.display()
            ),
            CLEAN_TIMEOUT,
            || cleaner_checkpoint(dir, topic).filter(covered),
        );
    }
    high
}

/// The main case: latest value per key, tombstoned keys gone after
/// delete.retention.ms, offsets kept (with gaps), high watermark unchanged,
/// the partition smaller on disk; lz4-compressed batches are re-encoded.
#[test]
fn compacted_topic_reads_back_the_latest_value_per_key() {
    let broker = compact_broker("compact-read");
    let topic = "compacted";
    let high = produce_and_compact(&broker.bootstrap(), &[broker.log_dir()], topic, "lz4", 1);
    let bytes_after = partition_bytes(broker.log_dir(), topic);
    let (_, _, records) = consume(&broker.bootstrap(), topic);
    let kept = records.len() as i64;
    assert_eq!(kept, (KEYS - DELETED + FILLERS) as i64);
    assert!(
        kept < high,
        "offsets have gaps: {kept} records below {high}"
    );
    // A record keeps its original offset: k19's last update was the last of
    // the updates (offset KEYS * ROUNDS - 1).
    let k19 = records.iter().find(|r| r.1 == "k19").unwrap();
    assert_eq!(k19.0, (KEYS * ROUNDS) as i64 - 1);
    // The fillers (about 230 bytes a batch) dominate what is left.
    let ceiling = (FILLERS * 250 + (KEYS - DELETED) * 120) as u64;
    assert!(bytes_after < ceiling, "{bytes_after} bytes on disk");
    // New writes keep their offsets after the compacted ones.
    let spec = json!({
        "configs": {}, "compression": "none", "keys": 0, "rounds": 0,
        "deleted": 0, "fillers": 1, "filler_prefix": "b",
    });
    assert_eq!(produce(&broker.bootstrap(), topic, spec), (0, high + 1));
    // As in Kafka, a compacted topic refuses a record without a key.
    let codes = run_json(KEYLESS, &[&broker.bootstrap(), topic], "keyless producer");
    assert_eq!(codes, json!([INVALID_RECORD]));
}

/// After compaction (zstd batches) a clean restart serves the same data,
/// the cleaner resumes from its checkpoint, and later updates get compacted
/// on top of the cleaned segments.
#[test]
fn compacted_topic_survives_a_restart() {
    let mut broker = compact_broker("compact-restart");
    let topic = "restarted";
    let high = produce_and_compact(&broker.bootstrap(), &[broker.log_dir()], topic, "zstd", 1);
    let before = consume(&broker.bootstrap(), topic);
    let checkpoint = cleaner_checkpoint(broker.log_dir(), topic);
    broker.restart();
    let after = consume(&broker.bootstrap(), topic);
    assert_eq!(after, before, "the same records after a restart");
    assert!(cleaner_checkpoint(broker.log_dir(), topic) >= checkpoint);
    // A second round of updates to the same keys (gzip) is compacted too:
    // only the newest value of each key remains.
    let spec = json!({
        "configs": {}, "compression": "gzip", "keys": KEYS, "rounds": 2,
        "deleted": 0, "fillers": FILLERS, "filler_prefix": "c",
    });
    let (_, new_high) = produce(&broker.bootstrap(), topic, spec);
    assert_eq!(new_high, high + (KEYS * 2 + FILLERS) as i64);
    let bootstrap = broker.bootstrap();
    wait_until("the second round to be compacted", CLEAN_TIMEOUT, || {
        let (low, h, records) = consume(&bootstrap, topic);
        let k0: Vec<&(i64, String, Option<String>)> =
            records.iter().filter(|r| r.1 == "k0").collect();
        (low == 0
            && h == new_high
            && k0.len() == 1
            && k0[0].2.as_deref().is_some_and(|v| v.starts_with("v0-1")))
        .then_some(())
    });
}

/// With two replicas each broker compacts its own copy (bounded by its own
/// high watermark, snappy batches re-encoded): after the first broker stops,
/// the second alone serves exactly the compacted data.
#[test]
fn every_replica_compacts_its_own_copy() {
    let mut cluster = TestCluster::start_with("compact-rf2", 2, |s| {
        s.set("log.cleaner.backoff.ms", 100)
            .set("auto.create.topics.enable", "false")
    });
    let topic = "replicated";
    let dirs: Vec<&Path> = cluster.brokers.iter().map(|b| b.log_dir()).collect();
    let high = produce_and_compact(&cluster.bootstrap(), &dirs, topic, "snappy", 2);
    let status = cluster.broker(1).terminate();
    assert!(status.success(), "broker 1 stopped cleanly");
    let survivor = cluster.broker(2).bootstrap();
    let want = expected("a");
    wait_until(
        "broker 2 alone to serve the compacted topic",
        CLEAN_TIMEOUT,
        || try_consume(&survivor, topic).and_then(|read| check_compacted(&read, high, &want).ok()),
    );
}
