//! Follower replication in a three-broker cluster (real ZooKeeper, real
//! `sluice broker` processes, librdkafka and kcat): followers fetch from the
//! leader and end up with byte-identical logs, acks=all waits for the ISR,
//! the ISR shrinks when a follower dies (replica.lag.time.max.ms) and grows
//! back when it returns and catches up, min.insync.replicas is enforced, and
//! each replica keeps Kafka's `leader-epoch-checkpoint` and
//! `replication-offset-checkpoint`; a retried idempotent batch is stored
//! once, on the leader that took it and on its successor.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;
use std::time::Duration;

use common::cluster::try_create_topic;
use common::*;
use kafka_protocol::messages::{ApiKey, MetadataRequest, MetadataResponse, ProduceResponse};
use rdkafka::error::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;

/// replica.lag.time.max.ms in these clusters.
const LAG_MS: u64 = 3000;
/// How long replicas may take to converge, a follower to rejoin, etc.
const REPLICATION_TIMEOUT: Duration = Duration::from_secs(40);

/// Three brokers with a short replica lag time and frequent HW checkpoints,
/// plus `extra` settings.
fn start_cluster(name: &str, extra: &[(&str, &str)]) -> TestCluster {
    TestCluster::start_with(name, 3, |mut spec| {
        for (k, v) in extra {
            spec = spec.set(k, v);
        }
        spec.set("replica.lag.time.max.ms", LAG_MS)
            .set("replica.fetch.wait.max.ms", 200)
            .set("replica.fetch.backoff.ms", 200)
            .set("replica.high.watermark.checkpoint.interval.ms", 200)
            .set("auto.leader.rebalance.enable", "false")
    })
}

/// Creates a one-partition topic with replication factor 3 and `configs`,
/// and waits until its state znode has a leader and all three in the ISR.
fn create_topic(cluster: &TestCluster, topic: &str, configs: &[(&str, &str)]) -> PartitionState {
    try_create_topic(&cluster.bootstrap(), topic, 1, 3, configs)
        .unwrap_or_else(|code| panic!("CreateTopics {topic}: {code:?}"));
    wait_for_isr(cluster, topic, &[1, 2, 3], "after creation")
}

/// The partition state znode of `topic`-0.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PartitionState {
    leader: i32,
    leader_epoch: i64,
    isr: BTreeSet<i32>,
}

fn partition_state(chroot: &str, topic: &str) -> Option<PartitionState> {
    let json = zk(chroot).get_json(&format!("/brokers/topics/{topic}/partitions/0/state"))?;
    Some(PartitionState {
        leader: json["leader"].as_i64()? as i32,
        leader_epoch: json["leader_epoch"].as_i64()?,
        isr: json["isr"]
            .as_array()?
            .iter()
            .filter_map(|b| b.as_i64().map(|b| b as i32))
            .collect(),
    })
}

/// Waits until the state znode shows a leader and exactly `isr`.
fn wait_for_isr(cluster: &TestCluster, topic: &str, isr: &[i32], step: &str) -> PartitionState {
    let want: BTreeSet<i32> = isr.iter().copied().collect();
    wait_until(
        &format!("ISR {want:?} of {topic}-0 in ZooKeeper {step}"),
        REPLICATION_TIMEOUT,
        || {
            partition_state(&cluster.chroot, topic)
                .filter(|s| s.leader >= 0 && s.isr == want && want.contains(&s.leader))
        },
    )
}

fn partition_dir(broker: &Broker, topic: &str) -> PathBuf {
    broker.log_dir().join(format!("{topic}-0"))
}

/// The bytes of the partition's first segment on `broker`.
fn segment_bytes(broker: &Broker, topic: &str) -> Vec<u8> {
    fs::read(partition_dir(broker, topic).join("00000000000000000000.log")).unwrap_or_default()
}

/// Record count of a segment: the sum of the batches' record counts.
fn record_count(segment: &[u8]) -> i64 {
    let mut position = 0;
    let mut count = 0;
    while position + 61 <= segment.len() {
        let length = i32::from_be_bytes(segment[position + 8..position + 12].try_into().unwrap());
        count +=
            i32::from_be_bytes(segment[position + 57..position + 61].try_into().unwrap()) as i64;
        position += 12 + length as usize;
    }
    count
}

/// Waits until the partition's segment is byte-identical on every broker in
/// `ids` and holds `records` records.
fn wait_identical_logs(cluster: &TestCluster, ids: &[i32], topic: &str, records: i64) {
    let brokers: Vec<&Broker> = cluster
        .brokers
        .iter()
        .filter(|b| ids.contains(&b.id()))
        .collect();
    wait_until_ok(
        &format!("identical {topic}-0 logs with {records} records on brokers {ids:?}"),
        REPLICATION_TIMEOUT,
        || {
            let segments: Vec<Vec<u8>> = brokers.iter().map(|b| segment_bytes(b, topic)).collect();
            let counts: Vec<i64> = segments.iter().map(|s| record_count(s)).collect();
            let identical = segments.windows(2).all(|w| w[0] == w[1]);
            (identical && counts[0] == records)
                .then_some(())
                .ok_or(format!("record counts {counts:?}, identical {identical}"))
        },
    );
}

/// Sends `values` to partition 0 at once and returns each delivery result.
fn produce(
    producer: &FutureProducer,
    topic: &str,
    values: &[String],
) -> Vec<Result<i64, KafkaError>> {
    let futures: Vec<_> = values
        .iter()
        .map(|v| {
            producer
                .send_result(FutureRecord::<(), _>::to(topic).partition(0).payload(v))
                .unwrap_or_else(|(e, _)| panic!("queue a record: {e}"))
        })
        .collect();
    block_on(async {
        let mut results = Vec::new();
        for future in futures {
            let result = future.await.expect("delivery future dropped");
            results.push(result.map(|d| d.offset).map_err(|(e, _)| e));
        }
        results
    })
}

/// Produces `values` and asserts each was acknowledged, at `first..`.
fn produce_ok(producer: &FutureProducer, topic: &str, values: &[String], first: i64) {
    let offsets: Vec<i64> = produce(producer, topic, values)
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("produce to {topic}: {e}")))
        .collect();
    let expected: Vec<i64> = (first..first + values.len() as i64).collect();
    assert_eq!(offsets, expected, "offsets of acknowledged records");
}

fn values(prefix: &str, range: std::ops::Range<i64>) -> Vec<String> {
    range.map(|i| format!("{prefix}-{i}")).collect()
}

/// Everything in `topic`-0 up to the high watermark, read with kcat.
fn consume(bootstrap: &str, topic: &str) -> Vec<(i64, String)> {
    let out = kcat_read_partition(bootstrap, topic, 0, "beginning", "%o %s\n");
    let text = assert_success(&out, &format!("kcat consume {topic}-0"));
    text.lines()
        .map(|line| {
            let (offset, value) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("kcat line {line:?}"));
            (offset.parse().expect("offset"), value.to_owned())
        })
        .collect()
}

/// The `topic`-0 line of a broker's replication-offset-checkpoint.
fn checkpointed_high_watermark(broker: &Broker, topic: &str) -> Option<i64> {
    let text = fs::read_to_string(broker.log_dir().join("replication-offset-checkpoint")).ok()?;
    text.lines().skip(2).find_map(|line| {
        let mut parts = line.split_whitespace();
        (parts.next()? == topic && parts.next()? == "0").then(|| parts.next()?.parse().ok())?
    })
}

fn follower_of(state: &PartitionState) -> i32 {
    *state
        .isr
        .iter()
        .find(|&&b| b != state.leader)
        .expect("a follower in the ISR")
}

#[test]
fn followers_replicate_byte_identical_logs_and_keep_the_isr_full() {
    let cluster = start_cluster("replication-identical", &[]);
    let topic = "replicated";
    let state = create_topic(&cluster, topic, &[]);

    let producer = future_producer_with(&cluster.bootstrap(), &[]);
    produce_ok(&producer, topic, &values("a", 0..300), 0);
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 300);

    let consumed = consume(&cluster.bootstrap(), topic);
    let expected: Vec<(i64, String)> = (0..300).map(|i| (i, format!("a-{i}"))).collect();
    assert_eq!(
        consumed, expected,
        "consumers see every acknowledged record"
    );

    // Nobody lagged: the ISR is still everyone, in the same leader epoch.
    let now = partition_state(&cluster.chroot, topic).expect("state znode");
    assert_eq!(now.isr, BTreeSet::from([1, 2, 3]));
    assert_eq!(
        (now.leader, now.leader_epoch),
        (state.leader, state.leader_epoch)
    );

    // Every replica recorded the leader's epoch from offset 0, and knows the
    // high watermark (followers learn it from their fetches).
    for broker in &cluster.brokers {
        let epochs =
            fs::read_to_string(partition_dir(broker, topic).join("leader-epoch-checkpoint"))
                .unwrap_or_else(|e| panic!("broker {}: leader-epoch-checkpoint: {e}", broker.id()));
        assert_eq!(
            epochs,
            format!("0\n1\n{} 0\n", state.leader_epoch),
            "broker {}",
            broker.id()
        );
        wait_until(
            &format!("broker {} to checkpoint high watermark 300", broker.id()),
            REPLICATION_TIMEOUT,
            || (checkpointed_high_watermark(broker, topic) == Some(300)).then_some(()),
        );
    }
}

#[test]
fn a_dead_follower_leaves_the_isr_and_rejoins_after_catching_up() {
    // ZooKeeper sessions outlive the lag time by far, so it is the leader,
    // not the controller (which acts when the session expires), that drops
    // the dead follower: the leader epoch stays.
    let mut cluster = start_cluster(
        "replication-isr",
        &[("zookeeper.session.timeout.ms", "12000")],
    );
    let topic = "isr-churn";
    let state = create_topic(&cluster, topic, &[("min.insync.replicas", "2")]);
    let follower = follower_of(&state);
    let live: Vec<i32> = [1, 2, 3].into_iter().filter(|&b| b != follower).collect();

    let bootstrap = cluster.bootstrap();
    let producer = future_producer_with(&bootstrap, &[]);
    produce_ok(&producer, topic, &values("before", 0..50), 0);
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 50);

    // The follower dies; acks=all keeps working with two in sync once the
    // leader (or the controller) drops it from the ISR.
    cluster.broker(follower).kill();
    produce_ok(&producer, topic, &values("during", 50..150), 50);
    let shrunk = wait_for_isr(&cluster, topic, &live, "after the follower died");
    assert_eq!(
        (shrunk.leader, shrunk.leader_epoch),
        (state.leader, state.leader_epoch),
        "the leader shrank the ISR itself, without a new leader epoch"
    );

    // Back: it catches up from where it stopped and rejoins the ISR.
    cluster.broker(follower).restart();
    wait_for_isr(&cluster, topic, &[1, 2, 3], "after the follower returned");
    produce_ok(&producer, topic, &values("after", 150..200), 150);
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 200);

    let consumed = consume(&cluster.bootstrap(), topic);
    assert_eq!(consumed.len(), 200);
    assert!(
        consumed
            .iter()
            .enumerate()
            .all(|(i, (o, _))| *o == i as i64)
    );
}

#[test]
fn acks_all_needs_min_insync_replicas_in_the_isr() {
    let mut cluster = start_cluster("replication-min-isr", &[]);
    let topic = "strict";
    let state = create_topic(&cluster, topic, &[("min.insync.replicas", "3")]);
    let follower = follower_of(&state);
    let live: Vec<i32> = [1, 2, 3].into_iter().filter(|&b| b != follower).collect();

    let bootstrap = cluster.bootstrap();
    let all = future_producer_with(&bootstrap, &[("message.send.max.retries", "0")]);
    produce_ok(&all, topic, &values("full", 0..10), 0);

    // With a follower dead the ISR shrinks to two (acks=1 writes make it lag).
    cluster.broker(follower).kill();
    let one = future_producer_with(&bootstrap, &[("acks", "1")]);
    produce_ok(&one, topic, &values("one", 10..20), 10);
    wait_for_isr(&cluster, topic, &live, "after the follower died");

    // Now acks=all is refused before anything is written.
    let results = produce(&all, topic, &values("refused", 0..3));
    for result in results {
        match result {
            Err(KafkaError::MessageProduction(RDKafkaErrorCode::NotEnoughReplicas)) => {}
            other => panic!("expected NOT_ENOUGH_REPLICAS, got {other:?}"),
        }
    }
    // acks=1 still works, and continues right after the refused records.
    produce_ok(&one, topic, &values("one", 20..25), 20);
    let consumed = consume(&bootstrap, topic);
    assert_eq!(consumed.len(), 25, "{consumed:?}");
    assert!(consumed.iter().all(|(_, v)| !v.starts_with("refused")));
}

#[test]
fn a_follower_promoted_to_leader_serves_and_replicates() {
    let mut cluster = start_cluster("replication-new-leader", &[]);
    let topic = "promoted";
    let state = create_topic(&cluster, topic, &[("min.insync.replicas", "2")]);
    let bootstrap = cluster.bootstrap();
    let producer = future_producer_with(&bootstrap, &[]);
    produce_ok(&producer, topic, &values("first", 0..100), 0);
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 100);

    // The leader goes away: a follower takes over in a newer epoch and the
    // stream continues on it with the remaining follower in sync.
    let old_leader = state.leader;
    cluster.broker(old_leader).kill();
    let new_state = wait_until("a new leader in ZooKeeper", REPLICATION_TIMEOUT, || {
        partition_state(&cluster.chroot, topic).filter(|s| s.leader >= 0 && s.leader != old_leader)
    });
    assert!(new_state.leader_epoch > state.leader_epoch);
    let live: Vec<i32> = [1, 2, 3].into_iter().filter(|&b| b != old_leader).collect();
    produce_ok(&producer, topic, &values("second", 100..200), 100);
    wait_identical_logs(&cluster, &live, topic, 200);

    // The old leader comes back as a follower, catches up, rejoins the ISR.
    cluster.broker(old_leader).restart();
    wait_for_isr(&cluster, topic, &[1, 2, 3], "after the old leader returned");
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 200);
    let consumed = consume(&cluster.bootstrap(), topic);
    let expected: Vec<(i64, String)> = (0..200)
        .map(|i| {
            (
                i,
                if i < 100 {
                    format!("first-{i}")
                } else {
                    format!("second-{i}")
                },
            )
        })
        .collect();
    assert_eq!(consumed, expected);
}

#[test]
fn a_returning_old_leader_truncates_its_unreplicated_tail() {
    let mut cluster = start_cluster("replication-truncation", &[]);
    let topic = "diverged";
    let state = create_topic(&cluster, topic, &[("min.insync.replicas", "2")]);
    let old_leader = state.leader;
    let followers: Vec<i32> = [1, 2, 3].into_iter().filter(|&b| b != old_leader).collect();
    let bootstrap = cluster.bootstrap();
    let all = future_producer_with(&bootstrap, &[]);
    produce_ok(&all, topic, &values("kept", 0..50), 0);
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 50);

    // Both followers die; the leader takes acks=1 writes nobody else has,
    // and dies too before it could drop the followers from the ISR.
    for &f in &followers {
        cluster.broker(f).kill();
    }
    let one = future_producer_with(&cluster.broker(old_leader).bootstrap(), &[("acks", "1")]);
    produce_ok(&one, topic, &values("tail", 50..55), 50);
    cluster.broker(old_leader).kill();
    assert_eq!(
        record_count(&segment_bytes(cluster.broker(old_leader), topic)),
        55
    );

    // The followers return; one of them leads in a newer epoch and takes new
    // writes at the offsets the tail had.
    for &f in &followers {
        cluster.broker(f).restart();
    }
    let new_state = wait_until("a follower to lead", REPLICATION_TIMEOUT, || {
        partition_state(&cluster.chroot, topic)
            .filter(|s| followers.contains(&s.leader) && s.isr.len() >= 2)
    });
    assert!(new_state.leader_epoch > state.leader_epoch);
    produce_ok(&all, topic, &values("new", 50..100), 50);

    // The old leader comes back as a follower: it asks the new leader where
    // its epoch ended (OffsetsForLeaderEpoch), cuts the tail there, and then
    // replicates the new records, ending byte-identical to the others.
    cluster.broker(old_leader).restart();
    wait_for_isr(&cluster, topic, &[1, 2, 3], "after the old leader returned");
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 100);
    let log = cluster.broker(old_leader).log_text();
    assert!(
        log.contains("truncating to the leader's epoch boundary"),
        "the old leader truncated"
    );
    let consumed = consume(&cluster.bootstrap(), topic);
    let expected: Vec<(i64, String)> = (0..100)
        .map(|i| {
            (
                i,
                if i < 50 {
                    format!("kept-{i}")
                } else {
                    format!("new-{i}")
                },
            )
        })
        .collect();
    assert_eq!(consumed, expected, "the tail is gone everywhere");
    let epochs = |b: &Broker| {
        fs::read_to_string(partition_dir(b, topic).join("leader-epoch-checkpoint")).unwrap()
    };
    // The leader's current epoch starts at 50 (a later epoch bump of the
    // same leader starts there too and replaces the entry, as in Kafka).
    let last = partition_state(&cluster.chroot, topic).expect("state znode");
    assert_eq!(last.leader, new_state.leader);
    let leader_epochs = epochs(cluster.broker(new_state.leader));
    assert_eq!(epochs(cluster.broker(old_leader)), leader_epochs);
    assert_eq!(
        leader_epochs,
        format!("0\n2\n{} 0\n{} 50\n", state.leader_epoch, last.leader_epoch)
    );
}

/// The timestamp of the raw batches below.
const BATCH_TIMESTAMP_MS: i64 = 1_700_000_000_000;

/// A raw Produce v7 (acks=all) of `records` to `topic`-0 on the broker at
/// `port`: (error code, base offset), or why the exchange failed.
fn raw_produce(port: u16, topic: &str, records: bytes::Bytes) -> Result<(i16, i64), String> {
    let response: ProduceResponse = RawConn::open(port, Duration::from_secs(40))?.send(
        ApiKey::Produce,
        7,
        &produce_request(topic, records),
    )?;
    let partition = &response.responses[0].partition_responses[0];
    Ok((partition.error_code, partition.base_offset))
}

/// Produces `records` to the broker at `port` until it answers without an
/// error (a new leader may not have heard of its leadership yet).
fn raw_produce_ok(port: u16, topic: &str, records: &bytes::Bytes, what: &str) -> i64 {
    wait_until(what, REPLICATION_TIMEOUT, || {
        match raw_produce(port, topic, records.clone()) {
            Ok((0, base_offset)) => Some(base_offset),
            Ok((code, _)) => {
                eprintln!("{what}: error code {code}, retrying");
                None
            }
            Err(e) => {
                eprintln!("{what}: {e}, retrying");
                None
            }
        }
    })
}

#[test]
fn a_retried_idempotent_batch_is_stored_once_before_and_after_a_failover() {
    let mut cluster = start_cluster("replication-idempotent-retry", &[]);
    let topic = "retried";
    let state = create_topic(&cluster, topic, &[("min.insync.replicas", "2")]);
    let leader_port = cluster.broker(state.leader).port();
    let first = idempotent_batch(4242, 0, 0, &["a", "b", "c"], BATCH_TIMESTAMP_MS);
    let second = idempotent_batch(4242, 0, 3, &["d", "e"], BATCH_TIMESTAMP_MS);
    assert_eq!(raw_produce(leader_port, topic, first.clone()), Ok((0, 0)));
    assert_eq!(raw_produce(leader_port, topic, second.clone()), Ok((0, 3)));
    // Retries (the acknowledgement was lost) get the original offsets.
    assert_eq!(raw_produce(leader_port, topic, first.clone()), Ok((0, 0)));
    assert_eq!(raw_produce(leader_port, topic, second.clone()), Ok((0, 3)));
    wait_identical_logs(&cluster, &[1, 2, 3], topic, 5);

    // The leader dies; its successor replicated both batches and must know
    // them as this producer's, not store a retry again.
    let old_leader = state.leader;
    cluster.broker(old_leader).kill();
    let new_state = wait_until("a new leader in ZooKeeper", REPLICATION_TIMEOUT, || {
        partition_state(&cluster.chroot, topic).filter(|s| s.leader >= 0 && s.leader != old_leader)
    });
    let new_port = cluster.broker(new_state.leader).port();
    let live: Vec<i32> = [1, 2, 3].into_iter().filter(|&b| b != old_leader).collect();
    assert_eq!(
        raw_produce_ok(new_port, topic, &second, "the retry to the new leader"),
        3
    );
    assert_eq!(raw_produce(new_port, topic, first), Ok((0, 0)));
    let third = idempotent_batch(4242, 0, 5, &["f"], BATCH_TIMESTAMP_MS);
    assert_eq!(raw_produce(new_port, topic, third), Ok((0, 5)));
    wait_identical_logs(&cluster, &live, topic, 6);
    let consumed: Vec<String> = consume(&cluster.broker(new_state.leader).bootstrap(), topic)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    assert_eq!(consumed, ["a", "b", "c", "d", "e", "f"]);
}

/// acks=all Produce requests pipelined on one connection (a producer's
/// max.in.flight): while the first waits for a frozen follower, the ones
/// behind it are appended too, in order, instead of queueing unread; the
/// answers, and a Metadata request sent after them, still come back in
/// request order once the follower has the records.
#[test]
fn pipelined_acks_all_produces_are_appended_while_the_first_waits() {
    let mut cluster = TestCluster::start_with("replication-pipelined", 2, |spec| {
        // The frozen follower must stay in the ISR while the test looks.
        spec.set("replica.lag.time.max.ms", 60_000)
            .set("zookeeper.session.timeout.ms", 30_000)
            .set("replica.fetch.wait.max.ms", 200)
            .set("auto.leader.rebalance.enable", "false")
    });
    let topic = "pipelined";
    let controller = wait_until("a controller", REPLICATION_TIMEOUT, || {
        zk(&cluster.chroot).get_json("/controller")?["brokerid"].as_i64()
    });
    let created = create_assigned_topic_with_configs(
        cluster.broker(controller as i32),
        topic,
        &[&[1, 2]],
        &[],
    );
    assert_eq!(created, 0, "CreateTopics {topic}");
    wait_for_isr(&cluster, topic, &[1, 2], "after creation");
    let values = ["a", "b"];
    let mut conn = RawConn::open(cluster.broker(1).port(), REPLICATION_TIMEOUT).expect("connect");
    // A first write, replicated, so the follower is known to be fetching.
    let first: ProduceResponse = conn
        .send(
            ApiKey::Produce,
            8,
            &produce_request(topic, plain_batch(&values, now_ms())),
        )
        .expect("first produce");
    assert_eq!(first.responses[0].partition_responses[0].error_code, 0);

    cluster.broker(2).pause();
    let mut sent = Vec::new();
    for _ in 0..3 {
        let request = produce_request(topic, plain_batch(&values, now_ms()));
        sent.push(
            conn.write_request(ApiKey::Produce, 8, &request)
                .expect("write produce"),
        );
    }
    let metadata = conn
        .write_request(ApiKey::Metadata, 9, &MetadataRequest::default())
        .expect("write metadata");
    // All three are on the leader's disk while the first still waits.
    let leader = cluster.broker(1);
    wait_until(
        "the three pipelined batches appended",
        REPLICATION_TIMEOUT,
        || (record_count(&segment_bytes(leader, topic)) == 8).then_some(()),
    );
    cluster.broker(2).resume();
    for (i, correlation_id) in sent.into_iter().enumerate() {
        let answer: ProduceResponse = conn
            .read_response(ApiKey::Produce, 8, correlation_id)
            .expect("produce answer, in order");
        let partition = &answer.responses[0].partition_responses[0];
        assert_eq!(
            (partition.error_code, partition.base_offset),
            (0, 2 + 2 * i as i64),
            "{answer:?}"
        );
    }
    let _: MetadataResponse = conn
        .read_response(ApiKey::Metadata, 9, metadata)
        .expect("metadata answer after the produces");
}
