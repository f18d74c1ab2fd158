//! Produce and log-start fixes seen from outside, against a real broker:
//!
//! - Produce v3+ carries exactly one record batch per partition (Kafka's
//!   `ProduceRequest.validateRecords`): two batches are refused with
//!   INVALID_RECORD and nothing is written; an unknown partition still
//!   answers UNKNOWN_TOPIC_OR_PARTITION.
//! - Producer snapshots follow the log start offset: DeleteRecords and
//!   retention delete the `.snapshot` files below the new log start at once
//!   (not at the next roll or shutdown), and a cleaner swap deletes the
//!   snapshots of the segments it merged away.

mod common;

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use rdkafka::producer::{FutureProducer, FutureRecord};

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_RECORD: i16 = 87;
/// Topic creation, leadership and a retention pass on a busy machine.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------- requests

/// One plain magic-2 batch holding one record with `value`.
fn record_batch(value: &str) -> Bytes {
    plain_batch(&[value], now_ms())
}

/// Produce (acks=1) of `records` to partition 0 of `topic` as `version`:
/// (error code, base offset).
fn produce(broker: &Broker, version: i16, topic: &str, records: Bytes) -> (i16, i64) {
    let request = produce_request(topic, records).with_acks(1);
    let response = send_request(broker, version, &request);
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// IncrementalAlterConfigs v0: SET one config of `topic`; the error code.
fn set_topic_config(broker: &Broker, topic: &str, key: &str, value: &str) -> i16 {
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(StrBytes::from_string(topic.to_owned()))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(key.to_owned()))
                    .with_config_operation(0)
                    .with_value(Some(StrBytes::from_string(value.to_owned()))),
            ]),
    ]);
    send_request(broker, 0, &request).responses[0].error_code
}

// ------------------------------------------------------------- files

/// Offsets of the files named `<20 digits>.<suffix>` in `dir`, ascending.
fn offsets_of(dir: &Path, suffix: &str) -> Vec<i64> {
    let mut offsets: Vec<i64> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let (stem, ext) = name.split_once('.')?;
            (ext == suffix && stem.len() == 20)
                .then(|| stem.parse().ok())
                .flatten()
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

/// Sends `count` ~80-byte records to `topic`-0 through an idempotent
/// librdkafka producer in batches smaller than a 1 KiB segment (so every
/// roll leaves a producer snapshot), with record `i` keyed `key(i)`; waits
/// for every delivery.
fn produce_idempotently(
    broker: &Broker,
    topic: &str,
    count: usize,
    key: impl Fn(usize) -> String,
) -> FutureProducer {
    let producer: FutureProducer = producer_config(&broker.bootstrap())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        // Batches smaller than a segment (else MESSAGE_BATCH_TOO_LARGE).
        .set("batch.size", "600")
        .create()
        .expect("idempotent producer");
    let records: Vec<(String, String)> = (0..count)
        .map(|i| (key(i), format!("value-{i:04}-{}", "x".repeat(60))))
        .collect();
    let futures: Vec<_> = records
        .iter()
        .map(|(k, v)| {
            let record = FutureRecord::to(topic).partition(0).key(k).payload(v);
            producer
                .send_result(record)
                .unwrap_or_else(|(e, _)| panic!("send: {e}"))
        })
        .collect();
    block_on(async {
        for f in futures {
            f.await
                .expect("delivery report")
                .unwrap_or_else(|(e, _)| panic!("{e}"));
        }
    });
    producer
}

fn start_broker(name: &str, settings: &[(&str, &str)]) -> Broker {
    let chroot = unique_chroot(name);
    let mut spec = BrokerSpec::new(1, zk_connect(&chroot)).set("auto.create.topics.enable", false);
    for (k, v) in settings {
        spec = spec.set(k, v);
    }
    Broker::start(spec)
}

// ------------------------------------------------------------- tests

/// Two batches in one partition's records: INVALID_RECORD for v3 and v9,
/// nothing written; one batch is appended; an unknown topic is still
/// UNKNOWN_TOPIC_OR_PARTITION.
#[test]
fn produce_with_two_batches_in_a_partition_is_refused() {
    let broker = start_broker("one-batch", &[]);
    let topic = "one-batch";
    assert_eq!(create_topic_with_configs(&broker, topic, 1, 1, &[]), NONE);
    let first = wait_until("the topic to take produce", WAIT_TIMEOUT, || {
        let (code, offset) = produce(&broker, 9, topic, record_batch("first"));
        (code == NONE).then_some(offset)
    });
    assert_eq!(first, 0);

    let two = [record_batch("a"), record_batch("b")].concat();
    for version in [3, 7, 9] {
        assert_eq!(
            produce(&broker, version, topic, Bytes::from(two.clone())).0,
            INVALID_RECORD,
            "v{version}"
        );
    }
    assert_eq!(
        produce(&broker, 9, topic, record_batch("second")),
        (NONE, 1),
        "the refused batches were not written"
    );
    assert_eq!(
        produce(&broker, 9, topic, Bytes::new()).0,
        INVALID_RECORD,
        "no batch at all"
    );
    assert_eq!(
        produce(&broker, 9, "no-such-topic", Bytes::from(two)).0,
        UNKNOWN_TOPIC_OR_PARTITION
    );
}

/// An idempotent producer fills small segments, so every roll leaves a
/// `.snapshot`. DeleteRecords deletes those below the new log start at
/// once; then retention deletes every segment and the remaining snapshots
/// below the new log start go with them, with no roll or restart.
#[test]
fn snapshots_below_the_log_start_are_deleted_when_it_moves() {
    let broker = start_broker("snapshots", &[("log.retention.check.interval.ms", "200")]);
    let topic = "snaps";
    assert_eq!(
        create_topic_with_configs(&broker, topic, 1, 1, &[("segment.bytes", "1024")]),
        NONE
    );
    let producer = produce_idempotently(&broker, topic, 300, |i| format!("key-{i}"));
    let dir = broker.log_dir().join(format!("{topic}-0"));
    let snapshots = offsets_of(&dir, "snapshot");
    assert!(
        snapshots.len() >= 4,
        "snapshots after the rolls: {snapshots:?}"
    );

    // DeleteRecords to the third snapshot's offset (a segment base).
    let target = snapshots[2];
    assert_eq!(delete_records(&broker, topic, target), (NONE, target));
    let after_delete = offsets_of(&dir, "snapshot");
    assert_eq!(
        after_delete,
        snapshots[2..].to_vec(),
        "snapshots below log start {target} are gone at once"
    );
    assert_eq!(offsets_of(&dir, "log")[0], target);

    // Retention takes every segment; the log starts at its end.
    assert_eq!(set_topic_config(&broker, topic, "retention.ms", "1"), NONE);
    // (Before the fix the snapshots below stayed until the next roll.)
    wait_until(
        "retention to delete the segments and the snapshots below",
        WAIT_TIMEOUT,
        || {
            let logs = offsets_of(&dir, "log");
            let left = offsets_of(&dir, "snapshot");
            (logs == [300] && left.iter().all(|&s| s >= 300)).then_some(())
        },
    );
    drop(producer);
}

/// The cleaner merges compacted segments into one: the snapshots at the
/// base offsets of the segments it merged away are deleted with them.
#[test]
fn a_cleaner_swap_deletes_the_snapshots_of_merged_segments() {
    let broker = start_broker("cleaner-snapshots", &[("log.cleaner.backoff.ms", "100")]);
    let topic = "compacted";
    let configs = [
        ("cleanup.policy", "compact"),
        ("segment.bytes", "1024"),
        // Nothing is cleanable (a dirty ratio is never above 1) until the
        // segments are counted: a pass during production would merge them
        // before the count and could leave nothing to merge after it.
        ("min.cleanable.dirty.ratio", "1.0"),
    ];
    assert_eq!(
        create_topic_with_configs(&broker, topic, 1, 1, &configs),
        NONE
    );
    // Five keys: compaction leaves a few records of the many segments.
    let producer = produce_idempotently(&broker, topic, 300, |i| format!("key-{}", i % 5));
    let dir = broker.log_dir().join(format!("{topic}-0"));
    let segments_before = offsets_of(&dir, "log").len();
    assert!(segments_before >= 4, "segments: {segments_before}");
    // A cleaner group holds old segments up to segment.bytes in all: raised,
    // one pass merges the full 1 KiB segments (else each is cleaned alone).
    assert_eq!(
        set_topic_config(&broker, topic, "segment.bytes", "1048576"),
        NONE
    );
    assert_eq!(
        set_topic_config(&broker, topic, "min.cleanable.dirty.ratio", "0.01"),
        NONE
    );
    // Snapshots are at segment bases, or at or past the active segment's.
    wait_until(
        "the cleaner to merge segments and their snapshots to go",
        WAIT_TIMEOUT,
        || {
            let logs = offsets_of(&dir, "log");
            let active = *logs.last()?;
            let stray: Vec<i64> = offsets_of(&dir, "snapshot")
                .into_iter()
                .filter(|s| *s < active && !logs.contains(s))
                .collect();
            (logs.len() < segments_before && stray.is_empty()).then_some(())
        },
    );
    drop(producer);
}
