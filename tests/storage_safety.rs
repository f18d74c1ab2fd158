//! Storage safety under faults, seen from outside against real brokers:
//!
//! - Retention never deletes above the high watermark: with the follower
//!   frozen (SIGSTOP), old-timestamped records that breach `retention.ms`
//!   stay, the log start never passes the high watermark, and after SIGCONT
//!   the follower catches up and a consumer reads every record.
//! - Rolled segments are flushed (Kafka's flush on roll): the recovery point
//!   in `recovery-point-offset-checkpoint` follows the rolls, and a restart
//!   after SIGKILL re-validates only the active segment.
//! - `replication-offset-checkpoint` is not rewritten before the broker's
//!   first LeaderAndIsr: a restarted broker whose controller is frozen keeps
//!   every high watermark in the file, also across a SIGKILL.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use common::cluster_view::{controller, wait_for_state};
use common::raw::fetch_from;
use common::*;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::*;

const NONE: i16 = 0;
/// Topic creation, leadership, catching up, a retention pass on a busy machine.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

// ------------------------------------------------------------- requests

/// CreateTopics v7 at the controller: `name` with `assignment` and `configs`.
fn create_assigned(
    cluster: &TestCluster,
    name: &str,
    assignment: &[&[i32]],
    configs: &[(&str, &str)],
) {
    let controller_id = wait_until("a controller", WAIT_TIMEOUT, || controller(&cluster.chroot));
    let broker = cluster
        .brokers
        .iter()
        .find(|b| b.id() == controller_id)
        .unwrap();
    let error = create_assigned_topic_with_configs(broker, name, assignment, configs);
    assert_eq!(error, NONE, "CreateTopics {name}");
}

/// Produce (acks=1) of one batch to `topic`-0: the error code.
fn produce_acks_1(broker: &Broker, topic: &str, records: Bytes) -> i16 {
    let request = produce_request(topic, records).with_acks(1);
    let response = send_request(broker, 7, &request);
    response.responses[0].partition_responses[0].error_code
}

/// ListOffsets v4 of `topic`-0 at `timestamp` (-2 earliest, -1 latest = the
/// high watermark for a consumer).
fn offset_at(broker: &Broker, topic: &str, timestamp: i64) -> i64 {
    let response = send_request(broker, 4, &list_offsets_request(topic, timestamp));
    let (error, offset) = list_offsets_answer(&response);
    assert_eq!(error, NONE, "ListOffsets {topic} at {timestamp}");
    offset
}

/// IncrementalAlterConfigs v0: SET one config of `topic`.
fn set_topic_config(broker: &Broker, topic: &str, key: &str, value: &str) {
    let request = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(str_bytes(topic))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(str_bytes(key))
                    .with_config_operation(0)
                    .with_value(Some(str_bytes(value))),
            ]),
    ]);
    let response = send_request(broker, 0, &request);
    assert_eq!(response.responses[0].error_code, NONE, "{response:?}");
}

/// Every record value of `topic`-0 from offset 0, `count` of them (a fetch
/// stops at a segment's end, so this fetches until it has them all).
fn read_all(broker: &Broker, topic: &str, count: usize) -> Vec<String> {
    let mut values = Vec::new();
    let mut next = 0;
    while values.len() < count {
        let fetched = fetch_from(broker.port(), topic, 0, next, -1).expect("fetch");
        assert_eq!(fetched.error, NONE, "fetch {topic} at {next}");
        assert!(
            !fetched.records.is_empty(),
            "nothing at offset {next} of {topic}"
        );
        for (offset, value) in fetched.records {
            if offset >= next {
                values.push(value);
                next = offset + 1;
            }
        }
    }
    values
}

// ------------------------------------------------------------- files

/// The entries of an offset checkpoint file (`topic partition offset`).
fn checkpoint_entries(path: &Path) -> BTreeMap<(String, i32), i64> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .skip(2)
        .filter_map(|line| {
            let mut parts = line.split_whitespace();
            let topic = parts.next()?.to_owned();
            let partition = parts.next()?.parse().ok()?;
            let offset = parts.next()?.parse().ok()?;
            Some(((topic, partition), offset))
        })
        .collect()
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Base offsets of the `.log` segments of `topic`-`partition`, sorted.
fn segment_bases(broker: &Broker, topic: &str, partition: i32) -> Vec<i64> {
    let dir = broker.log_dir().join(format!("{topic}-{partition}"));
    let mut bases: Vec<i64> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter_map(|n| n.strip_suffix(".log")?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    bases.sort();
    bases
}

/// The broker's log since its last (re)start by the harness.
fn log_since_last_start(broker: &Broker) -> String {
    let text = broker.log_text();
    let start = text.rfind("=== harness:").unwrap_or(0);
    text[start..].to_owned()
}

// ------------------------------------------------------------- retention

/// The review's reproduction of finding 4: a frozen in-ISR follower, records
/// whose CreateTime is a day old (MirrorMaker, backfills), `retention.ms` of
/// a minute. Retention passes run on the leader while the records are above
/// its high watermark; they must not be deleted.
#[test]
fn retention_never_deletes_above_the_high_watermark() {
    let mut cluster = TestCluster::start_with("retention-hw", 2, |spec| {
        spec.set("log.retention.check.interval.ms", 200)
            // The follower stays in the ISR (and registered) while frozen.
            .set("replica.lag.time.max.ms", 120_000)
            .set("zookeeper.session.timeout.ms", 60_000)
            .set("replica.fetch.wait.max.ms", 100)
    });
    let retention = [("retention.ms", "60000"), ("segment.bytes", "1024")];
    create_assigned(&cluster, "held", &[&[1, 2]], &retention);
    // A one-replica topic on the leader: its deletions show retention passes.
    create_assigned(&cluster, "tick", &[&[1]], &retention);
    wait_for_state(
        &cluster.chroot,
        "held",
        0,
        "leader 1, ISR [1,2]",
        WAIT_TIMEOUT,
        |s| s.leader == 1 && s.isr_set() == [1, 2].into(),
    );
    wait_for_state(&cluster.chroot, "tick", 0, "leader 1", WAIT_TIMEOUT, |s| {
        s.leader == 1
    });

    cluster.broker(2).pause();
    let old = now_ms() - DAY_MS;
    // One record per batch (the helper's batches), two batches per segment.
    let values: Vec<String> = (0..20)
        .map(|i| format!("held-{i:03}-{}", "x".repeat(400)))
        .collect();
    for value in &values {
        assert_eq!(
            produce_acks_1(cluster.broker(1), "held", plain_batch(&[value], old)),
            NONE
        );
    }
    let frozen_high_watermark = offset_at(cluster.broker(1), "held", -1);
    // Two passes that both began after the appends: the tick records of
    // each round are deleted by a pass that started after the previous
    // round's deletion, so the second round's pass saw "held" complete.
    for round in 0..2 {
        let tick = format!("tick-{round}");
        assert_eq!(
            produce_acks_1(cluster.broker(1), "tick", plain_batch(&[&tick], old)),
            NONE
        );
        let end = round + 1;
        wait_until(&format!("retention to delete {tick}"), WAIT_TIMEOUT, || {
            (offset_at(cluster.broker(1), "tick", -2) == end).then_some(())
        });
    }
    let earliest = offset_at(cluster.broker(1), "held", -2);
    let high_watermark = offset_at(cluster.broker(1), "held", -1);
    assert_eq!(
        frozen_high_watermark, 0,
        "nothing is replicated while the follower is frozen"
    );
    assert!(
        earliest <= high_watermark,
        "retention moved the log start to {earliest}, past the high watermark {high_watermark}"
    );

    // Retention off for "held", so only a lost record can fail the read below.
    set_topic_config(cluster.broker(1), "held", "retention.ms", "-1");
    cluster
        .broker(1)
        .wait_for_log("config changed: topic held: retention.ms=-1", WAIT_TIMEOUT);
    cluster.broker(2).resume();
    wait_until("the follower to catch up", WAIT_TIMEOUT, || {
        (offset_at(cluster.broker(1), "held", -1) == values.len() as i64).then_some(())
    });
    let got = read_all(cluster.broker(1), "held", values.len());
    assert_eq!(got, values, "every record is still there after SIGCONT");
    let follower_log = cluster.broker(2).log_text();
    assert!(
        !follower_log.contains("restarting the log at the leader's log start"),
        "the follower had to skip records the leader deleted"
    );
}

// ------------------------------------------------------------- flush on roll

/// Finding 12: every roll flushes the segment it closes and moves the
/// recovery point to the new segment's base, so after a SIGKILL recovery
/// re-validates only the active segment instead of the whole log.
#[test]
fn rolls_flush_and_recovery_validates_only_the_tail() {
    let chroot = unique_chroot("flush-on-roll");
    let mut broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&chroot)).set("log.flush.offset.checkpoint.interval.ms", 200),
    );
    let topic = "rolled";
    assert_eq!(
        create_topic_with_configs(&broker, topic, 1, 1, &[("segment.bytes", "1024")]),
        NONE
    );
    let values: Vec<String> = (0..20)
        .map(|i| format!("rolled-{i:03}-{}", "y".repeat(400)))
        .collect();
    wait_until("the topic to take produce", WAIT_TIMEOUT, || {
        (produce_acks_1(&broker, topic, plain_batch(&values[..1], now_ms())) == NONE).then_some(())
    });
    for value in &values[1..] {
        assert_eq!(
            produce_acks_1(&broker, topic, plain_batch(&[value], now_ms())),
            NONE
        );
    }
    let bases = segment_bases(&broker, topic, 0);
    assert!(bases.len() >= 5, "segments: {bases:?}");
    let active = *bases.last().unwrap();
    let checkpoint = broker.log_dir().join("recovery-point-offset-checkpoint");
    let key = (topic.to_owned(), 0);
    wait_until_ok(
        "the recovery point to reach the active segment",
        WAIT_TIMEOUT,
        || {
            let entries = checkpoint_entries(&checkpoint);
            match entries.get(&key) {
                Some(&point) if point >= active => Ok(()),
                other => Err(format!(
                    "recovery point {other:?}, active segment at {active}"
                )),
            }
        },
    );

    broker.kill();
    broker.restart();
    let log = log_since_last_start(&broker);
    let recovered: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("recovering unflushed segment") && l.contains("rolled-0"))
        .collect();
    assert_eq!(
        recovered.len(),
        1,
        "only the active segment is re-validated after the crash:\n{}",
        recovered.join("\n")
    );
    assert!(
        recovered[0].contains(&format!("base_offset={active}")),
        "the re-validated segment is the active one ({active}): {}",
        recovered[0]
    );
    wait_until("the partition to be led again", WAIT_TIMEOUT, || {
        let fetched = fetch_from(broker.port(), topic, 0, 0, -1).ok()?;
        (fetched.error == NONE).then_some(())
    });
    assert_eq!(read_all(&broker, topic, values.len()), values);
}

// ------------------------------------------------------------- HW checkpoint

/// Finding 16: the high-watermark checkpoint thread starts only after the
/// first LeaderAndIsr. A broker restarted while its controller is frozen gets
/// no LeaderAndIsr; its periodic checkpoints run, yet the file keeps every
/// high watermark, and a SIGKILL right then loses none.
#[test]
fn high_watermarks_survive_a_restart_before_leader_and_isr() {
    let mut cluster = TestCluster::start_with("hw-checkpoint", 2, |spec| {
        spec.set("replica.high.watermark.checkpoint.interval.ms", 100)
            .set("log.flush.offset.checkpoint.interval.ms", 100)
            // The frozen controller stays controller.
            .set("zookeeper.session.timeout.ms", 60_000)
    });
    let controller_id = wait_until("a controller", WAIT_TIMEOUT, || controller(&cluster.chroot));
    let host = if controller_id == 1 { 2 } else { 1 };
    create_assigned(&cluster, "kept", &[&[host], &[host]], &[]);
    for p in 0..2 {
        wait_for_state(&cluster.chroot, "kept", p, "a leader", WAIT_TIMEOUT, |s| {
            s.leader == host
        });
    }
    for p in 0..2 {
        for value in ["a", "b", "c"] {
            let mut request = produce_request("kept", plain_batch(&[value], now_ms())).with_acks(1);
            request.topic_data[0].partition_data[0].index = p;
            wait_until("the partition to take produce", WAIT_TIMEOUT, || {
                let response = send_request(cluster.broker(host), 7, &request);
                (response.responses[0].partition_responses[0].error_code == NONE).then_some(())
            });
        }
    }
    let checkpoint = cluster
        .broker(host)
        .log_dir()
        .join("replication-offset-checkpoint");
    let expected: BTreeMap<(String, i32), i64> =
        [(("kept".to_owned(), 0), 3), (("kept".to_owned(), 1), 3)].into();
    wait_until_ok(
        "the high watermarks in the checkpoint",
        WAIT_TIMEOUT,
        || {
            let entries = checkpoint_entries(&checkpoint);
            if expected.iter().all(|(k, v)| entries.get(k) == Some(v)) {
                Ok(())
            } else {
                Err(entries)
            }
        },
    );

    // A clean restart while the controller is frozen: no LeaderAndIsr comes.
    assert!(cluster.broker(host).terminate().success());
    cluster.broker(controller_id).pause();
    cluster.broker(host).restart();
    // Two rewrites of the recovery-point checkpoint after the restart: the
    // maintenance loop has run its (immediate, then 100 ms) checkpoint ticks.
    let recovery = cluster
        .broker(host)
        .log_dir()
        .join("recovery-point-offset-checkpoint");
    for round in 0..2 {
        let before = modified(&recovery);
        wait_until(
            &format!("recovery checkpoint rewrite {round}"),
            WAIT_TIMEOUT,
            || (modified(&recovery) != before).then_some(()),
        );
    }
    let entries = checkpoint_entries(&checkpoint);
    for (k, v) in &expected {
        assert_eq!(
            entries.get(k),
            Some(v),
            "before any LeaderAndIsr the file keeps {k:?}: {entries:?}"
        );
    }

    cluster.broker(host).kill();
    let entries = checkpoint_entries(&checkpoint);
    for (k, v) in &expected {
        assert_eq!(
            entries.get(k),
            Some(v),
            "after SIGKILL the file still has {k:?}: {entries:?}"
        );
    }
    cluster.broker(controller_id).resume();
}

// ------------------------------------------------------------- auto-creation

/// Metadata v4 for `topic` (auto-creation allowed or not), on a fresh connection.
fn metadata_for(port: u16, topic: &str, auto_create: bool) -> Result<MetadataResponse, String> {
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            kafka_protocol::messages::metadata_request::MetadataRequestTopic::default()
                .with_name(Some(topic_name(topic))),
        ]))
        .with_allow_auto_topic_creation(auto_create);
    exchange(port, ApiKey::Metadata, 4, &request)
}

/// Finding 17 (unbounded task spawning): while an auto-creation of a topic
/// is in flight (here slowed by a 1.5 s delay on the broker's ZooKeeper
/// link), more Metadata requests for it start no more creations.
#[test]
fn one_auto_creation_in_flight_per_topic() {
    let proxy = TcpProxy::start(zookeeper().port());
    let chroot = unique_chroot("auto-create");
    let broker = Broker::start(
        BrokerSpec::new(1, format!("127.0.0.1:{}{chroot}", proxy.port()))
            .set("auto.create.topics.enable", true)
            .set("zookeeper.session.timeout.ms", 30_000),
    );
    // The broker is its own controller before the link slows down.
    wait_until("a controller", WAIT_TIMEOUT, || controller(&chroot));
    wait_until("a first auto-created topic", WAIT_TIMEOUT, || {
        let response = metadata_for(broker.port(), "warm-up", true).ok()?;
        (response.topics[0].error_code == NONE).then_some(())
    });
    proxy.set_delay(Direction::ToTarget, Duration::from_millis(1500));
    let requests: Vec<_> = (0..30)
        .map(|_| {
            let port = broker.port();
            std::thread::spawn(move || metadata_for(port, "auto-x", true))
        })
        .collect();
    for request in requests {
        let response = request.join().unwrap().expect("Metadata answered");
        assert_ne!(response.topics[0].error_code, NONE, "not created yet");
    }
    proxy.set_delay(Direction::ToTarget, Duration::ZERO);
    wait_until("auto-x to exist", WAIT_TIMEOUT, || {
        let response = metadata_for(broker.port(), "auto-x", false).ok()?;
        (response.topics[0].error_code == NONE).then_some(())
    });
    let attempts = broker
        .log_text()
        .lines()
        .filter(|l| l.contains("auto-creating topic") && l.contains("auto-x"))
        .count();
    assert_eq!(attempts, 1, "creations started for one topic");
}

// ------------------------------------------------------------- records

/// `batch` with its CRC recomputed after an edit.
fn with_crc(mut batch: Vec<u8>) -> Bytes {
    let crc = crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(batch)
}

/// Finding 17 (inner records not validated): CRC-valid batches whose records
/// are malformed are refused with Kafka's error and nothing is written.
#[test]
fn malformed_records_are_refused_and_nothing_is_written() {
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&unique_chroot("records")))
            .set("auto.create.topics.enable", false),
    );
    let topic = "checked";
    assert_eq!(create_topic_with_configs(&broker, topic, 1, 1, &[]), NONE);
    let good = plain_batch(&["good"], now_ms());
    wait_until("the topic to take produce", WAIT_TIMEOUT, || {
        (produce_acks_1(&broker, topic, good.clone()) == NONE).then_some(())
    });
    const CORRUPT_MESSAGE: i16 = 2;
    const INVALID_RECORD: i16 = 87;
    // One record more declared than present (count and last offset delta agree).
    let mut lying = good.to_vec();
    lying[23..27].copy_from_slice(&1i32.to_be_bytes());
    lying[57..61].copy_from_slice(&2i32.to_be_bytes());
    assert_eq!(
        produce_acks_1(&broker, topic, with_crc(lying)),
        INVALID_RECORD
    );
    // A record whose value length runs past the record.
    let mut long_value = good.to_vec();
    let value_len_at = long_value.len() - 6; // varint of len("good") = 4, then "good", then 0 headers
    assert_eq!(
        long_value[value_len_at], 8,
        "zigzag 4 where the value length is"
    );
    long_value[value_len_at] = 40;
    assert_eq!(
        produce_acks_1(&broker, topic, with_crc(long_value)),
        INVALID_RECORD
    );
    // gzip flag on records that are not gzip.
    let mut not_gzip = good.to_vec();
    not_gzip[22] |= 1;
    assert_eq!(
        produce_acks_1(&broker, topic, with_crc(not_gzip)),
        CORRUPT_MESSAGE
    );
    // Only the first good batch is in the log.
    assert_eq!(offset_at(&broker, topic, -1), 1);
    assert_eq!(read_all(&broker, topic, 1), vec!["good".to_owned()]);
}

// ------------------------------------------------------------- flush.messages

/// With `flush.messages=1` every append is fsynced (on the blocking pool):
/// the appends succeed and the recovery point follows the log end.
#[test]
fn flush_messages_appends_fsync_and_move_the_recovery_point() {
    let broker = Broker::start(
        BrokerSpec::new(1, zk_connect(&unique_chroot("flush-messages")))
            .set("log.flush.offset.checkpoint.interval.ms", 100),
    );
    let topic = "synced";
    assert_eq!(
        create_topic_with_configs(&broker, topic, 1, 1, &[("flush.messages", "1")]),
        NONE
    );
    wait_until("the topic to take produce", WAIT_TIMEOUT, || {
        (produce_acks_1(&broker, topic, plain_batch(&["first"], now_ms())) == NONE).then_some(())
    });
    for value in ["second", "third"] {
        assert_eq!(
            produce_acks_1(&broker, topic, plain_batch(&[value], now_ms())),
            NONE
        );
    }
    let checkpoint = broker.log_dir().join("recovery-point-offset-checkpoint");
    wait_until_ok(
        "the recovery point at the log end",
        WAIT_TIMEOUT,
        || match checkpoint_entries(&checkpoint).get(&(topic.to_owned(), 0)) {
            Some(3) => Ok(()),
            other => Err(other.copied()),
        },
    );
}
