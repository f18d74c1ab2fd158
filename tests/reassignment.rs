//! Partition reassignment on real brokers and a real ZooKeeper: through the
//! `/admin/reassign_partitions` znode (as kafka-reassign-partitions.sh writes
//! it) a partition moves from brokers [1,2] to [2,3] under a live acks=all
//! idempotent librdkafka stream, every acknowledged message kept exactly
//! once at its acknowledged offset; through
//! AlterPartitionReassignments / ListPartitionReassignments (raw protocol: no
//! Python client has them) a reassignment towards a broker that never
//! fetches stays in flight, is listed, shows `adding_replicas` /
//! `removing_replicas` in the topic znode, and is cancelled back to the
//! original replicas after a controller failover resumed it from the topic
//! znode; a shrink to one replica completes through the API; invalid requests
//! get Kafka's error codes, and invalid znode entries are dropped.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::ack_stream;
use common::*;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::list_partition_reassignments_request::ListPartitionReassignmentsTopics;
use kafka_protocol::messages::*;
use serde_json::{Value, json};

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const NOT_CONTROLLER: i16 = 41;
const NO_REASSIGNMENT_IN_PROGRESS: i16 = 85;
/// Catching up, ISR changes and the controller's round trips on a busy machine.
const MOVE_TIMEOUT: Duration = Duration::from_secs(60);
const RAW_TIMEOUT: Duration = Duration::from_secs(30);

/// CreateTopics v7 with an explicit assignment (partition -> replicas).
fn create_assigned(broker: &Broker, name: &str, assignment: &[&[i32]]) {
    let topic = assigned_topic(name, assignment);
    let request = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(30_000);
    let response = send_request_with_timeout(broker, 7, &request, RAW_TIMEOUT);
    assert_eq!(response.topics[0].error_code, NONE, "{response:?}");
}

/// AlterPartitionReassignments v0 for partitions of one topic; `None` cancels.
fn alter(
    broker: &Broker,
    topic: &str,
    targets: &[(i32, Option<&[i32]>)],
) -> AlterPartitionReassignmentsResponse {
    let partitions = targets
        .iter()
        .map(|(p, replicas)| {
            ReassignablePartition::default()
                .with_partition_index(*p)
                .with_replicas(replicas.map(|r| r.iter().map(|&b| BrokerId(b)).collect()))
        })
        .collect();
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            ReassignableTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(partitions),
        ]);
    send_request_with_timeout(broker, 0, &request, RAW_TIMEOUT)
}

/// The error code of the only partition in an AlterPartitionReassignments answer.
fn alter_code(broker: &Broker, topic: &str, partition: i32, target: Option<&[i32]>) -> i16 {
    let response = alter(broker, topic, &[(partition, target)]);
    assert_eq!(response.error_code, NONE, "{response:?}");
    response.responses[0].partitions[0].error_code
}

/// ListPartitionReassignments v0 as (topic, partition) -> (replicas, adding, removing).
type Listed = BTreeMap<(String, i32), (Vec<i32>, Vec<i32>, Vec<i32>)>;

fn list(broker: &Broker, partitions: Option<(&str, &[i32])>) -> (i16, Listed) {
    let request = ListPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(partitions.map(|(topic, ps)| {
            vec![
                ListPartitionReassignmentsTopics::default()
                    .with_name(topic_name(topic))
                    .with_partition_indexes(ps.to_vec()),
            ]
        }));
    let response = send_request_with_timeout(broker, 0, &request, RAW_TIMEOUT);
    let ids = |l: &[BrokerId]| l.iter().map(|b| b.0).collect::<Vec<_>>();
    let mut listed = BTreeMap::new();
    for t in &response.topics {
        for p in &t.partitions {
            listed.insert(
                (t.name.0.to_string(), p.partition_index),
                (
                    ids(&p.replicas),
                    ids(&p.adding_replicas),
                    ids(&p.removing_replicas),
                ),
            );
        }
    }
    (response.error_code, listed)
}

// ------------------------------------------------------------- znodes

fn controller_id(chroot: &str) -> i32 {
    wait_until("a controller", MOVE_TIMEOUT, || {
        zk(chroot).get_json("/controller")?["brokerid"]
            .as_i64()
            .map(|id| id as i32)
    })
}

fn controller_epoch(chroot: &str) -> i32 {
    zk(chroot)
        .get_string("/controller_epoch")
        .expect("/controller_epoch")
        .trim()
        .parse()
        .expect("a number in /controller_epoch")
}

fn state(chroot: &str, topic: &str, partition: i32) -> Option<Value> {
    zk(chroot).get_json(&format!(
        "/brokers/topics/{topic}/partitions/{partition}/state"
    ))
}

fn sorted_isr(state: &Value) -> Vec<i32> {
    let mut isr: Vec<i32> = state["isr"]
        .as_array()
        .expect("isr")
        .iter()
        .map(|v| v.as_i64().expect("broker id") as i32)
        .collect();
    isr.sort_unstable();
    isr
}

fn topic_znode(chroot: &str, topic: &str) -> Value {
    zk(chroot)
        .get_json(&format!("/brokers/topics/{topic}"))
        .expect("topic znode")
}

/// Waits until partition `partition` is online with exactly `isr` (any order).
fn wait_for_isr(chroot: &str, topic: &str, partition: i32, isr: &[i32]) -> Value {
    wait_until(
        &format!("{topic}-{partition} with ISR {isr:?}"),
        MOVE_TIMEOUT,
        || state(chroot, topic, partition).filter(|s| sorted_isr(s) == isr),
    )
}

fn has_partition_dir(broker: &Broker, topic: &str, partition: i32) -> bool {
    broker
        .log_dir()
        .join(format!("{topic}-{partition}"))
        .exists()
}

// ------------------------------------------------------------- tests

/// kafka-reassign-partitions.sh's way: the znode moves partition 0 from
/// [1,2] to [2,3] (leadership must leave broker 1) while a librdkafka
/// acks=all stream keeps producing; every acknowledged message survives.
#[test]
fn zk_reassignment_moves_a_partition_under_a_live_stream() {
    let cluster = TestCluster::start("reassign-zk", 3);
    let chroot = cluster.chroot.clone();
    let topic = "moving";
    let controller = controller_id(&chroot);
    create_assigned(
        &cluster.brokers[(controller - 1) as usize],
        topic,
        &[&[1, 2]],
    );
    let before = wait_for_isr(&chroot, topic, 0, &[1, 2]);
    assert_eq!(before["leader"], 1, "{before}");

    let stream = ack_stream::AckStream::start(
        &cluster.bootstrap(),
        topic,
        1,
        "move",
        &[("enable.idempotence", "true")],
    );
    stream.wait_for_progress(200, MOVE_TIMEOUT, "before the move");

    let request = json!({"version": 1, "partitions": [
        {"topic": topic, "partition": 0, "replicas": [2, 3]}
    ]});
    zk(&chroot).create("/admin/reassign_partitions", request.to_string().as_bytes());
    // Done: the request is gone and the topic znode holds only the target.
    let mut saw_in_flight = false;
    let done = wait_until("the reassignment to finish", MOVE_TIMEOUT, || {
        let znode = topic_znode(&chroot, topic);
        if znode["adding_replicas"]["0"] == json!([3]) {
            saw_in_flight = true;
        }
        let finished = !zk(&chroot).exists("/admin/reassign_partitions")
            && znode["partitions"]["0"] == json!([2, 3])
            && znode["adding_replicas"] == json!({})
            && znode["removing_replicas"] == json!({});
        finished.then_some(znode)
    });
    eprintln!(
        "in-flight state seen in the topic znode while polling: {saw_in_flight}; final {done}"
    );
    let after = wait_for_isr(&chroot, topic, 0, &[2, 3]);
    let leader = after["leader"].as_i64().unwrap() as i32;
    assert!([2, 3].contains(&leader), "leader {leader}: {after}");
    assert!(
        after["leader_epoch"].as_i64() > before["leader_epoch"].as_i64(),
        "leader epoch did not move: {before} -> {after}"
    );

    // The stream carries on against the new replicas.
    stream.wait_for_progress(200, MOVE_TIMEOUT, "after the move");
    let outcome = stream.finish();
    eprintln!(
        "stream: {} sent, {} acked, {} delivery errors",
        outcome.sent,
        outcome.acked.len(),
        outcome.errors.len()
    );

    // Broker 1 dropped its replica; 2 and 3 hold it.
    wait_until("broker 1 to delete moving-0", MOVE_TIMEOUT, || {
        (!has_partition_dir(&cluster.brokers[0], topic, 0)).then_some(())
    });
    assert!(has_partition_dir(&cluster.brokers[1], topic, 0));
    assert!(has_partition_dir(&cluster.brokers[2], topic, 0));

    let acked: BTreeMap<String, i64> = outcome
        .acked
        .iter()
        .map(|(seq, (_, offset))| (ack_stream::stream_value("move", *seq), *offset))
        .collect();
    let log = ack_stream::read_partition(&cluster.bootstrap(), topic, 0);
    ack_stream::assert_acknowledged_present("moving-0 after the move", &log, &acked, true);
}

/// AlterPartitionReassignments / ListPartitionReassignments: a move towards a
/// registered broker that never fetches stays in flight; it is listed and
/// visible in the topic znode, survives a controller failover, then is
/// cancelled back to [1,2]; a shrink of partition 1 to [2] completes.
#[test]
fn api_reassignment_is_listed_and_cancelled() {
    let cluster = TestCluster::start("reassign-api", 2);
    let chroot = cluster.chroot.clone();
    let topic = "stuck";
    let controller_id = controller_id(&chroot);
    let controller = &cluster.brokers[(controller_id - 1) as usize];
    let other = &cluster.brokers[(2 - controller_id) as usize];
    create_assigned(controller, topic, &[&[1, 2], &[2, 1]]);
    let before = wait_for_isr(&chroot, topic, 0, &[1, 2]);
    wait_for_isr(&chroot, topic, 1, &[1, 2]);

    // Refusals.
    assert_eq!(
        alter_code(controller, "no-such-topic", 0, Some(&[1])),
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        alter_code(controller, topic, 7, Some(&[1])),
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        alter_code(controller, topic, 0, Some(&[1, 1])),
        INVALID_REPLICA_ASSIGNMENT
    );
    assert_eq!(
        alter_code(controller, topic, 0, Some(&[1, 9])),
        INVALID_REPLICA_ASSIGNMENT
    );
    assert_eq!(
        alter_code(controller, topic, 0, Some(&[])),
        INVALID_REPLICA_ASSIGNMENT
    );
    assert_eq!(
        alter_code(controller, topic, 0, None),
        NO_REASSIGNMENT_IN_PROGRESS
    );
    assert_eq!(
        alter(other, topic, &[(0, Some(&[1]))]).error_code,
        NOT_CONTROLLER
    );
    assert_eq!(list(other, None).0, NOT_CONTROLLER);
    assert_eq!(list(controller, None), (NONE, BTreeMap::new()));
    assert_eq!(
        topic_znode(&chroot, topic)["partitions"]["0"],
        json!([1, 2])
    );

    // Broker 3: registered (its own ZooKeeper session) but nothing listens
    // at its address, so it can never catch up.
    let mut registration = zk(&chroot)
        .get_json("/brokers/ids/1")
        .expect("broker 1 registration");
    let port = free_port();
    registration["port"] = json!(port);
    registration["endpoints"] = json!([format!("PLAINTEXT://127.0.0.1:{port}")]);
    let fake = Zk::new_session(&chroot);
    fake.create_ephemeral("/brokers/ids/3", registration.to_string().as_bytes());
    // Accepted once the controller has seen broker 3 (a refusal changes nothing).
    wait_until(
        "the controller to accept broker 3 as a target",
        MOVE_TIMEOUT,
        || {
            let code = alter_code(controller, topic, 0, Some(&[1, 3]));
            assert!(
                [NONE, INVALID_REPLICA_ASSIGNMENT].contains(&code),
                "code {code}"
            );
            (code == NONE).then_some(())
        },
    );

    // In flight: RS = target then the original replicas.
    let in_flight = (vec![1, 3, 2], vec![3], vec![2]);
    let (code, listed) = list(controller, None);
    assert_eq!(code, NONE);
    assert_eq!(
        listed,
        BTreeMap::from([((topic.to_owned(), 0), in_flight.clone())])
    );
    let (_, named) = list(controller, Some((topic, &[0, 1, 5])));
    assert_eq!(
        named,
        BTreeMap::from([((topic.to_owned(), 0), in_flight.clone())])
    );
    let znode = topic_znode(&chroot, topic);
    assert_eq!(znode["partitions"]["0"], json!([1, 3, 2]), "{znode}");
    assert_eq!(znode["adding_replicas"], json!({"0": [3]}), "{znode}");
    assert_eq!(znode["removing_replicas"], json!({"0": [2]}), "{znode}");
    assert_eq!(znode["partitions"]["1"], json!([2, 1]), "{znode}");
    let during = state(&chroot, topic, 0).expect("state");
    assert_eq!(sorted_isr(&during), vec![1, 2], "{during}");
    assert!(
        during["leader_epoch"].as_i64() > before["leader_epoch"].as_i64(),
        "{before} -> {during}"
    );

    // A new controller resumes it from the topic znode.
    let epoch = controller_epoch(&chroot);
    zk(&chroot).delete_recursive("/controller");
    let new_id = wait_until("a new controller", MOVE_TIMEOUT, || {
        if controller_epoch(&chroot) <= epoch {
            return None;
        }
        zk(&chroot).get_json("/controller")?["brokerid"]
            .as_i64()
            .map(|id| id as i32)
    });
    let controller = &cluster.brokers[(new_id - 1) as usize];
    let resumed = wait_until("the new controller to answer", MOVE_TIMEOUT, || {
        let (code, listed) = list(controller, None);
        (code == NONE).then_some(listed)
    });
    assert_eq!(
        resumed,
        BTreeMap::from([((topic.to_owned(), 0), in_flight.clone())])
    );

    // Cancel: back to [1,2], nothing in flight.
    assert_eq!(alter_code(controller, topic, 0, None), NONE);
    assert_eq!(list(controller, None), (NONE, BTreeMap::new()));
    let znode = topic_znode(&chroot, topic);
    assert_eq!(znode["partitions"]["0"], json!([1, 2]), "{znode}");
    assert_eq!(znode["adding_replicas"], json!({}), "{znode}");
    assert_eq!(znode["removing_replicas"], json!({}), "{znode}");
    let cancelled = wait_for_isr(&chroot, topic, 0, &[1, 2]);
    assert_eq!(cancelled["leader"], 1, "{cancelled}");
    assert_eq!(
        alter_code(controller, topic, 0, None),
        NO_REASSIGNMENT_IN_PROGRESS
    );

    // Invalid entries of the znode are dropped (and the znode with them).
    let request = json!({"version": 1, "partitions": [
        {"topic": "no-such-topic", "partition": 0, "replicas": [1]},
        {"topic": topic, "partition": 0, "replicas": [2, 2]},
        {"topic": topic, "partition": 1, "replicas": [2, 9]},
    ]});
    zk(&chroot).create("/admin/reassign_partitions", request.to_string().as_bytes());
    wait_until("the invalid request to be dropped", MOVE_TIMEOUT, || {
        (!zk(&chroot).exists("/admin/reassign_partitions")).then_some(())
    });
    let znode = topic_znode(&chroot, topic);
    assert_eq!(znode["partitions"]["0"], json!([1, 2]), "{znode}");
    assert_eq!(znode["partitions"]["1"], json!([2, 1]), "{znode}");
    assert_eq!(list(controller, None), (NONE, BTreeMap::new()));

    // Through the API to completion: partition 1 drops its replica on broker 1.
    assert_eq!(alter_code(controller, topic, 1, Some(&[2])), NONE);
    wait_until("stuck-1 to end up on broker 2 alone", MOVE_TIMEOUT, || {
        let znode = topic_znode(&chroot, topic);
        (znode["partitions"]["1"] == json!([2]) && znode["removing_replicas"] == json!({}))
            .then_some(())
    });
    let shrunk = wait_for_isr(&chroot, topic, 1, &[2]);
    assert_eq!(shrunk["leader"], 2, "{shrunk}");
    wait_until("broker 1 to delete stuck-1", MOVE_TIMEOUT, || {
        (!has_partition_dir(&cluster.brokers[0], topic, 1)).then_some(())
    });
    assert!(has_partition_dir(&cluster.brokers[0], topic, 0));
    assert!(has_partition_dir(&cluster.brokers[1], topic, 1));
    drop(fake);
}
