//! Idempotent producers against a real cluster (real ZooKeeper, real
//! `sluice broker` processes, librdkafka):
//!
//! - producer ids come from blocks of 1000 claimed in ZooKeeper at
//!   `/latest_producer_id_block`, in Kafka's JSON; brokers (and ZooKeeper
//!   sessions) claiming at once never get overlapping blocks, and each
//!   broker hands its ids out in order;
//! - InitProducerId answers as Kafka does: a fresh id with epoch 0 for every
//!   non-transactional request (also one naming its current id and epoch),
//!   INVALID_REQUEST for half a producer id/epoch pair or an empty
//!   transactional id, COORDINATOR_NOT_AVAILABLE for a transactional id;
//! - librdkafka with enable.idempotence=true (acks=all, max.in.flight 5)
//!   producing 100k keyed messages while the leader of a partition is
//!   SIGKILLed, and while it is frozen with SIGSTOP until librdkafka times
//!   out requests to it: every message stored exactly once, in the order
//!   sent within each partition, at the offset its delivery report gave.
//!
//! The three-broker setup, topic creation and leader waits are shared with
//! `cluster_failover.rs` (`common::cluster`, `common::cluster_view`,
//! `common::ack_stream` and `common::raw`); the keyed stream and its check are in
//! `idempotent_producers/keyed_stream.rs`.

mod common;

#[path = "idempotent_producers/keyed_stream.rs"]
mod keyed_stream;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::thread;

use common::cluster::*;
use common::cluster_view::*;
use common::*;
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use keyed_stream::*;
use sluice::admin::producer_ids::ProducerIdManager;
use sluice::model::BrokerId;
use sluice::zk::{ZkClient, ZkConfig, ZkError};

/// Kafka error codes this file expects.
const NONE: i16 = 0;
const COORDINATOR_NOT_AVAILABLE: i16 = 15;
const INVALID_REQUEST: i16 = 42;

/// Messages per failover stream.
const STREAM_MESSAGES: u64 = 100_000;

fn init_producer_id(
    port: u16,
    version: i16,
    transactional_id: Option<&str>,
    producer_id: i64,
    producer_epoch: i16,
) -> InitProducerIdResponse {
    let request = InitProducerIdRequest::default()
        .with_transactional_id(
            transactional_id.map(|t| TransactionalId(StrBytes::from_string(t.to_owned()))),
        )
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(ProducerId(producer_id))
        .with_producer_epoch(producer_epoch);
    exchange(port, ApiKey::InitProducerId, version, &request)
        .unwrap_or_else(|e| panic!("InitProducerId v{version} to port {port}: {e}"))
}

#[test]
fn two_brokers_allocating_blocks_never_overlap() {
    const THREADS_PER_BROKER: usize = 3;
    const IDS_PER_THREAD: usize = 700;
    let cluster = TestCluster::start("idem-blocks", 2);
    let ports: Vec<(i32, u16)> = cluster.brokers.iter().map(|b| (b.id(), b.port())).collect();
    // Every thread asks one broker for ids, one request after another, all
    // threads at once.
    let handles: Vec<_> = ports
        .iter()
        .flat_map(|&(id, port)| (0..THREADS_PER_BROKER).map(move |t| (id, port, t)))
        .map(|(id, port, t)| {
            thread::spawn(move || {
                let ids: Vec<i64> = (0..IDS_PER_THREAD)
                    .map(|i| {
                        let r = init_producer_id(port, (t + i) as i16 % 5, None, -1, -1);
                        assert_eq!(
                            (r.error_code, r.producer_epoch),
                            (NONE, 0),
                            "broker {id}: {r:?}"
                        );
                        r.producer_id.0
                    })
                    .collect();
                (id, ids)
            })
        })
        .collect();
    let per_thread: Vec<(i32, Vec<i64>)> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let mut owner_of_block: BTreeMap<i64, i32> = BTreeMap::new();
    let mut all = BTreeSet::new();
    for (broker, ids) in &per_thread {
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "broker {broker} handed ids out of order to one client: {ids:?}"
        );
        for &id in ids {
            assert!(id >= 0, "broker {broker}: negative producer id {id}");
            assert!(all.insert(id), "producer id {id} handed out twice");
            let block = id / 1000;
            let owner = *owner_of_block.entry(block).or_insert(*broker);
            assert_eq!(
                owner,
                *broker,
                "block {block} (ids {}..={}) used by brokers {owner} and {broker}",
                block * 1000,
                block * 1000 + 999
            );
        }
    }
    let total = ports.len() * THREADS_PER_BROKER * IDS_PER_THREAD;
    assert_eq!(all.len(), total);
    assert!(
        owner_of_block.len() >= total.div_ceil(1000),
        "{total} ids from only {} blocks",
        owner_of_block.len()
    );
    for (broker, _) in ports {
        assert!(
            owner_of_block.values().any(|b| *b == broker),
            "broker {broker} claimed no block: {owner_of_block:?}"
        );
    }

    // The znode: Kafka's JSON for the last block claimed, which covers the
    // highest id handed out.
    let raw = zk(&cluster.chroot)
        .get_string("/latest_producer_id_block")
        .expect("/latest_producer_id_block");
    let json: serde_json::Value = serde_json::from_str(&raw).expect("JSON");
    let start: i64 = json["block_start"]
        .as_str()
        .expect("block_start")
        .parse()
        .unwrap();
    let end: i64 = json["block_end"]
        .as_str()
        .expect("block_end")
        .parse()
        .unwrap();
    let broker = json["broker"].as_i64().expect("broker");
    assert_eq!(
        raw,
        format!(r#"{{"version":1,"broker":{broker},"block_start":"{start}","block_end":"{end}"}}"#)
    );
    assert_eq!((start % 1000, end - start), (0, 999), "{raw}");
    let highest_block = *owner_of_block.keys().last().unwrap();
    assert_eq!(
        start,
        highest_block * 1000,
        "{raw} vs blocks {owner_of_block:?}"
    );
    assert_eq!(
        owner_of_block[&highest_block] as i64, broker,
        "{raw} vs blocks {owner_of_block:?}"
    );
}

/// Many ZooKeeper sessions (one per simulated broker) claiming blocks at the
/// same time through the library: contiguous, disjoint blocks; and managers
/// with tiny blocks handing out ids concurrently never repeat one. A
/// manager whose ZooKeeper is gone gives an error, not an id.
#[test]
fn concurrent_block_claims_in_one_chroot_are_disjoint() {
    let connect = zk_connect(&unique_chroot("idem-claims"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let config = || ZkConfig {
            connect: connect.clone(),
            session_timeout_ms: 6_000,
            connection_timeout_ms: 10_000,
        };
        let mut clients = Vec::new();
        for _ in 0..4 {
            clients.push(ZkClient::connect(config()).await.expect("connect"));
        }
        clients[0].ensure_persistent_paths().await.unwrap();

        // 4 sessions x 10 claims, all at once.
        let claims: Vec<_> = clients
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, zk)| {
                tokio::spawn(async move {
                    let mut blocks = Vec::new();
                    let mut lost = 0;
                    while blocks.len() < 10 {
                        match zk
                            .allocate_producer_id_block(BrokerId(i as i32 + 1), 1000)
                            .await
                        {
                            Ok(b) => blocks.push(b),
                            // Out-raced ten times in a row: ask again, as clients do.
                            Err(ZkError::BadVersion { .. }) if lost < 100 => lost += 1,
                            Err(e) => panic!("session {i}: {e}"),
                        }
                    }
                    blocks
                })
            })
            .collect();
        let mut blocks = Vec::new();
        for claim in claims {
            blocks.extend(claim.await.unwrap());
        }
        let mut starts: Vec<i64> = blocks.iter().map(|b| b.block_start).collect();
        starts.sort();
        assert_eq!(starts, (0..40).map(|i| i * 1000).collect::<Vec<_>>());
        assert!(blocks.iter().all(|b| b.block_end == b.block_start + 999));

        // Three managers with blocks of 10, 8 concurrent callers each.
        let managers: Vec<Arc<ProducerIdManager>> = clients[1..]
            .iter()
            .enumerate()
            .map(|(i, zk)| {
                Arc::new(ProducerIdManager::with_block_size(
                    BrokerId(i as i32 + 1),
                    zk.clone(),
                    10,
                ))
            })
            .collect();
        let mut tasks = Vec::new();
        for manager in &managers {
            for _ in 0..8 {
                let manager = manager.clone();
                tasks.push(tokio::spawn(async move {
                    let mut ids = Vec::new();
                    let mut failures = 0;
                    while ids.len() < 25 {
                        match manager.generate_producer_id().await {
                            Ok(id) => ids.push(id),
                            Err(e) if failures < 100 => {
                                failures += 1;
                                eprintln!("retrying: {e}");
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                    ids
                }));
            }
        }
        let mut ids = BTreeSet::new();
        for task in tasks {
            for id in task.await.unwrap() {
                assert!(id >= 40_000, "id {id} from a block claimed before");
                assert!(ids.insert(id), "producer id {id} handed out twice");
            }
        }
        assert_eq!(ids.len(), 3 * 8 * 25);

        // ZooKeeper gone for this manager's session: an error, no id.
        let closed = ZkClient::connect(config()).await.expect("connect");
        let manager = ProducerIdManager::new(BrokerId(9), closed.clone());
        closed.close().await;
        let result = manager.generate_producer_id().await;
        assert!(result.is_err(), "an id without ZooKeeper: {result:?}");
    });
}

#[test]
fn init_producer_id_answers_as_kafka_does() {
    let chroot = unique_chroot("idem-init");
    let broker = Broker::start(BrokerSpec::new(1, zk_connect(&chroot)));
    let port = broker.port();
    let first = init_producer_id(port, 4, None, -1, -1);
    assert_eq!(
        (first.error_code, first.producer_epoch),
        (NONE, 0),
        "{first:?}"
    );
    // Re-initialising with the current id and epoch: Kafka's coordinator
    // ignores them without a transactional id and hands out a new id.
    for version in [3, 4] {
        let again = init_producer_id(port, version, None, first.producer_id.0, 0);
        assert_eq!(again.error_code, NONE, "v{version}: {again:?}");
        assert_eq!(again.producer_epoch, 0, "v{version}: {again:?}");
        assert!(
            again.producer_id.0 > first.producer_id.0,
            "v{version}: {again:?} after {first:?}"
        );
    }
    // Half a pair is invalid.
    for (id, epoch) in [(first.producer_id.0, -1), (-1, 3)] {
        let r = init_producer_id(port, 4, None, id, epoch);
        assert_eq!(r.error_code, INVALID_REQUEST, "({id}, {epoch}): {r:?}");
        assert_eq!((r.producer_id.0, r.producer_epoch), (-1, -1), "{r:?}");
    }
    let empty = init_producer_id(port, 4, Some(""), -1, -1);
    assert_eq!(empty.error_code, INVALID_REQUEST, "{empty:?}");
    let txn = init_producer_id(port, 4, Some("txn-1"), -1, -1);
    assert_eq!(txn.error_code, COORDINATOR_NOT_AVAILABLE, "{txn:?}");
    // The block sits in ZooKeeper under this broker's id.
    let raw = zk(&chroot)
        .get_string("/latest_producer_id_block")
        .expect("znode");
    assert_eq!(
        raw,
        r#"{"version":1,"broker":1,"block_start":"0","block_end":"999"}"#
    );
}

/// Partitions of the failover topic; the leader of partition 0 is disturbed.
const PARTITIONS: i32 = 3;

/// Three brokers (the cluster named after `topic`) and `topic` fully
/// replicated: [`PARTITIONS`] partitions, three replicas, min.insync.replicas 2.
fn cluster_with_failover_topic(topic: &str) -> (TestCluster, BTreeMap<i32, PartitionState>) {
    let cluster = start_cluster(topic, &[]);
    let states = create_replicated_topic(
        &cluster,
        &ALL,
        topic,
        PARTITIONS,
        3,
        &[("min.insync.replicas", "2")],
    );
    (cluster, states)
}

#[test]
fn idempotent_stream_survives_a_sigkilled_leader_exactly_once_in_order() {
    let topic = "idem-kill";
    let (mut cluster, states) = cluster_with_failover_topic(topic);
    let old = states[&0].clone();
    let stream = KeyedStream::start(&cluster.bootstrap(), topic, STREAM_MESSAGES, &[]);
    stream.wait_acked(STREAM_MESSAGES as usize * 3 / 10, PROGRESS_TIMEOUT);

    cluster.broker(old.leader).kill();
    let acked_at_kill = stream.acked();
    wait_for_state(
        &cluster.chroot,
        topic,
        0,
        &format!("a new leader instead of the killed {}", old.leader),
        FAILOVER_TIMEOUT,
        |s| s.leader >= 0 && s.leader != old.leader && s.leader_epoch > old.leader_epoch,
    );
    let outcome = stream.finish();
    outcome.assert_all_delivered();
    assert!(
        (STREAM_MESSAGES as usize) - acked_at_kill > WINDOW,
        "the stream was nearly done ({acked_at_kill} acknowledged) when the leader died"
    );
    let live = others(&[old.leader]);
    outcome.assert_stored_exactly_once_in_order(&bootstrap_of(&cluster, &live), PARTITIONS);
}

#[test]
fn idempotent_stream_survives_a_frozen_leader_exactly_once_in_order() {
    let topic = "idem-frozen";
    let (mut cluster, states) = cluster_with_failover_topic(topic);
    let leader = states[&0].leader;
    let port = port_of(&cluster, leader);
    // Requests time out long before the frozen broker's ZooKeeper session
    // (6 s): librdkafka retries batches the broker will still append when
    // it wakes. (librdkafka caps a ProduceRequest's wait by
    // socket.timeout.ms, not request.timeout.ms.)
    let stream = KeyedStream::start(
        &cluster.bootstrap(),
        topic,
        STREAM_MESSAGES,
        &[("socket.timeout.ms", "2000")],
    );
    stream.wait_acked(STREAM_MESSAGES as usize * 3 / 10, PROGRESS_TIMEOUT);

    cluster.broker(leader).pause();
    let acked_at_freeze = stream.acked();
    let seen = stream.request_timeouts(port);
    wait_until(
        &format!("librdkafka to time out a request to the frozen broker {leader}"),
        FAILOVER_TIMEOUT,
        || (stream.request_timeouts(port) > seen).then_some(()),
    );
    cluster.broker(leader).resume();

    let outcome = stream.finish();
    outcome.assert_all_delivered();
    assert!(
        (STREAM_MESSAGES as usize) - acked_at_freeze > WINDOW,
        "the stream was nearly done ({acked_at_freeze} acknowledged) when the leader froze"
    );
    outcome.assert_stored_exactly_once_in_order(&cluster.bootstrap(), PARTITIONS);
}

/// The stream check itself catches what it claims: a duplicate, a gap,
/// reordering within a partition, and a report naming the wrong offset.
#[test]
fn the_stream_check_catches_duplicates_gaps_reordering_and_wrong_offsets() {
    let value = |seq: u64| format!("{seq:08}");
    let reports: Vec<Result<(i32, i64), String>> =
        vec![Ok((0, 0)), Ok((1, 0)), Ok((0, 1)), Ok((0, 2))];
    let good: BTreeMap<i32, Vec<(i64, String)>> = [
        (0, vec![(0, value(0)), (1, value(2)), (2, value(3))]),
        (1, vec![(0, value(1))]),
    ]
    .into();
    assert_eq!(stream_problems(&good, &reports), Vec::<String>::new());

    let mut duplicate = good.clone();
    duplicate.get_mut(&0).unwrap().push((3, value(3)));
    let mut gap = good.clone();
    gap.get_mut(&1).unwrap().clear();
    let mut reordered = good.clone();
    reordered.insert(0, vec![(0, value(0)), (1, value(3)), (2, value(2))]);
    let mut moved = good.clone();
    moved.insert(
        0,
        vec![(0, value(0)), (1, value(9)), (2, value(2)), (3, value(3))],
    );
    for (what, logs) in [
        ("duplicate", duplicate),
        ("gap", gap),
        ("reordered", reordered),
        ("wrong offset", moved),
    ] {
        let problems = stream_problems(&logs, &reports);
        assert!(!problems.is_empty(), "{what}: not caught in {logs:?}");
    }
}
