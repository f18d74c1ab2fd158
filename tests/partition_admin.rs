//! Partition administration on a three-broker cluster of real processes on a
//! real ZooKeeper, through real clients (confluent-kafka's AdminClient,
//! kafka-python's KafkaAdminClient, kcat, librdkafka) and raw requests where
//! a client has no call for it:
//!
//! - CreatePartitions: refused counts, unknown topics and bad assignments get
//!   Kafka's errors, validate_only writes nothing; a real addition keeps the
//!   existing assignment and topic id in the znode, assigns the new
//!   partitions as Kafka's AdminUtils does, and they get leaders and take
//!   writes;
//! - DescribeLogDirs lists each broker's replicas with their sizes, and
//!   DescribeCluster every broker and the controller;
//! - DeleteRecords: the low watermark moves, reads below it get
//!   OFFSET_OUT_OF_RANGE, a consumer from the beginning starts there, the
//!   followers' log start offsets and segments follow it on disk, it
//!   survives a leader change, and -1 means the high watermark.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use kafka_protocol::messages::*;
use rdkafka::Message;
use rdkafka::consumer::Consumer;
use rdkafka::producer::FutureRecord;
use serde_json::{Value, json};

const NONE: i16 = 0;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const NOT_LEADER_OR_FOLLOWER: i16 = 6;
const NOT_CONTROLLER: i16 = 41;
const INVALID_PARTITIONS: i16 = 37;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const POLICY_VIOLATION: i16 = 44;
/// Leader elections, replication and client round trips.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);

/// Fetch v12 of one partition from `offset`: (error code, record bytes).
fn fetch(broker: &Broker, topic: &str, offset: i64) -> (i16, usize) {
    let request = fetch_request(topic, 0, offset, -1, 1 << 20);
    let response = send_request(broker, 12, &request);
    let p = &response.responses[0].partitions[0];
    (p.error_code, p.records.as_ref().map_or(0, |r| r.len()))
}

/// ListOffsets v5 of partition 0 at `timestamp` (-2 earliest, -1 latest).
fn list_offset(broker: &Broker, topic: &str, timestamp: i64) -> (i16, i64) {
    list_offsets_answer(&send_request(
        broker,
        5,
        &list_offsets_request(topic, timestamp),
    ))
}

// ------------------------------------------------------------- znodes and disk

fn controller_id(cluster: &TestCluster) -> i32 {
    wait_until("a controller", CLUSTER_TIMEOUT, || {
        let value = zk(&cluster.chroot).get_json("/controller")?;
        value["brokerid"].as_i64().map(|id| id as i32)
    })
}

fn state(cluster: &TestCluster, topic: &str, partition: i32) -> Option<Value> {
    zk(&cluster.chroot).get_json(&format!(
        "/brokers/topics/{topic}/partitions/{partition}/state"
    ))
}

fn leader_of(state: &Value) -> i32 {
    state["leader"].as_i64().expect("leader") as i32
}

/// Waits until partitions `0..partitions` of `topic` have leaders; returns them.
fn wait_for_leaders(cluster: &TestCluster, topic: &str, partitions: i32) -> Vec<i32> {
    wait_until(
        &format!("leaders for {partitions} partitions of {topic}"),
        CLUSTER_TIMEOUT,
        || {
            (0..partitions)
                .map(|p| {
                    state(cluster, topic, p)
                        .map(|s| leader_of(&s))
                        .filter(|&l| l >= 0)
                })
                .collect::<Option<Vec<i32>>>()
        },
    )
}

/// Replicas per partition from the topic znode.
fn assignment(znode: &Value) -> Vec<(i32, Vec<i32>)> {
    let mut parts: Vec<(i32, Vec<i32>)> = znode["partitions"]
        .as_object()
        .expect("partitions")
        .iter()
        .map(|(p, r)| {
            let replicas = r.as_array().unwrap().iter();
            (
                p.parse().unwrap(),
                replicas.map(|b| b.as_i64().unwrap() as i32).collect(),
            )
        })
        .collect();
    parts.sort();
    parts
}

/// The log start offset `broker` checkpointed for `topic`-0, if any.
fn checkpointed_log_start(broker: &Broker, topic: &str) -> Option<i64> {
    let text =
        std::fs::read_to_string(broker.log_dir().join("log-start-offset-checkpoint")).ok()?;
    text.lines().skip(2).find_map(|line| {
        let mut fields = line.split_whitespace();
        (fields.next() == Some(topic) && fields.next() == Some("0"))
            .then(|| fields.next()?.parse().ok())
            .flatten()
    })
}

/// Base offsets of the segments of `topic`-0 on `broker`, sorted.
fn segment_bases(broker: &Broker, topic: &str) -> Vec<i64> {
    let dir = broker.log_dir().join(format!("{topic}-0"));
    let mut bases: Vec<i64> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| {
                    let name = e.ok()?.file_name().into_string().ok()?;
                    name.strip_suffix(".log")?.parse().ok()
                })
                .collect()
        })
        .unwrap_or_default();
    bases.sort();
    bases
}

/// Whether `broker`'s log of `topic`-0 starts at `start`: checkpointed, and
/// no segment left that ends at or below it.
fn log_starts_at(broker: &Broker, topic: &str, start: i64) -> bool {
    let bases = segment_bases(broker, topic);
    checkpointed_log_start(broker, topic) == Some(start)
        && bases.first().is_some_and(|&b| b <= start)
        && bases.get(1).is_none_or(|&b| b > start)
}

fn python_json(script: &str, args: &[&str]) -> Value {
    let out = run_python(script, args);
    let stdout = assert_success(&out, "python client");
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("python printed {stdout:?}: {e}"))
}

// ------------------------------------------------------------- tests

const CREATE_PARTITIONS_SCRIPT: &str = r#"
import sys, json
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions
admin = AdminClient({"bootstrap.servers": sys.argv[1], "broker.address.family": "v4"})
def run(new, **kw):
    futures = admin.create_partitions(new, request_timeout=30, operation_timeout=30, **kw)
    out = {}
    for topic, f in futures.items():
        try:
            f.result()
            out[topic] = 0
        except KafkaException as e:
            out[topic] = e.args[0].code()
    return out
res = {
    "fewer": run([NewPartitions("grow", 1)]),
    "same": run([NewPartitions("grow", 2)]),
    "unknown": run([NewPartitions("no-such-topic", 3)]),
    "unknown_broker": run([NewPartitions("grow", 3, [[1, 9]])]),
    "wrong_count": run([NewPartitions("grow", 4, [[1, 2]])]),
    "wrong_size": run([NewPartitions("grow", 3, [[1]])]),
    "validate_only": run([NewPartitions("grow", 5)], validate_only=True),
    "grow": run([NewPartitions("grow", 4)]),
}
c = admin.describe_cluster(request_timeout=30).result()
res["cluster"] = {
    "cluster_id": c.cluster_id,
    "controller": c.controller.id if c.controller else None,
    "nodes": sorted([n.id, n.host, n.port] for n in c.nodes),
}
print(json.dumps(res))
"#;

const DESCRIBE_LOG_DIRS_SCRIPT: &str = r#"
import sys, json
from kafka.admin import KafkaAdminClient
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], client_id="partition-admin", request_timeout_ms=30000)
response = admin.describe_log_dirs()
dirs = []
for (error_code, log_dir, topics) in response.log_dirs:
    dirs.append({"error": error_code, "dir": log_dir,
                 "topics": {t: {str(p[0]): p[1] for p in parts} for (t, parts) in topics}})
print(json.dumps(dirs))
"#;

#[test]
fn create_partitions_adds_led_partitions_and_leaves_existing_ones_alone() {
    let mut cluster = TestCluster::start("partition-admin-grow", 3);
    let controller = controller_id(&cluster);
    assert_eq!(
        create_topic_with_configs(cluster.broker(controller), "grow", 2, 2, &[]),
        NONE
    );
    wait_for_leaders(&cluster, "grow", 2);
    let before = zk(&cluster.chroot)
        .get_json("/brokers/topics/grow")
        .expect("topic znode");

    // Only the controller adds partitions (Kafka's ZooKeeper mode).
    let other = [1, 2, 3].into_iter().find(|&b| b != controller).unwrap();
    let request = CreatePartitionsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            create_partitions_request::CreatePartitionsTopic::default()
                .with_name(topic_name("grow"))
                .with_count(3),
        ]);
    let refused = send_request(cluster.broker(other), 3, &request);
    assert_eq!(refused.results[0].error_code, NOT_CONTROLLER, "{refused:?}");

    let result = python_json(CREATE_PARTITIONS_SCRIPT, &[&cluster.bootstrap()]);
    assert_eq!(
        result["fewer"],
        json!({"grow": INVALID_PARTITIONS}),
        "{result}"
    );
    assert_eq!(
        result["same"],
        json!({"grow": INVALID_PARTITIONS}),
        "{result}"
    );
    assert_eq!(
        result["unknown"],
        json!({"no-such-topic": UNKNOWN_TOPIC_OR_PARTITION}),
        "{result}"
    );
    for case in ["unknown_broker", "wrong_count", "wrong_size"] {
        assert_eq!(
            result[case],
            json!({"grow": INVALID_REPLICA_ASSIGNMENT}),
            "{case}: {result}"
        );
    }
    assert_eq!(result["validate_only"], json!({"grow": NONE}), "{result}");
    assert_eq!(result["grow"], json!({"grow": NONE}), "{result}");

    // The znode: the old partitions and topic id as they were, 4 partitions
    // (validate_only's 5 wrote nothing), the new ones laid out as Kafka's
    // AdminUtils does: leaders round-robin from partition 0's leader,
    // numbered after the existing partitions.
    let after = zk(&cluster.chroot)
        .get_json("/brokers/topics/grow")
        .expect("topic znode");
    assert_eq!(after["topic_id"], before["topic_id"]);
    let (old, new) = (assignment(&before), assignment(&after));
    assert_eq!(new.len(), 4, "{after}");
    assert_eq!(
        &new[..2],
        &old[..],
        "existing partitions untouched: {after}"
    );
    let brokers = [1, 2, 3];
    let start = brokers.iter().position(|&b| b >= old[0].1[0]).unwrap();
    for (partition, replicas) in &new[2..] {
        assert_eq!(replicas.len(), 2, "{after}");
        assert_ne!(replicas[0], replicas[1], "{after}");
        assert_eq!(
            replicas[0],
            brokers[(*partition as usize + start) % 3],
            "leader of new partition {partition}: {after}"
        );
    }
    let leaders = wait_for_leaders(&cluster, "grow", 4);
    for (partition, replicas) in &new {
        assert!(replicas.contains(&leaders[*partition as usize]));
    }

    // The new partitions take writes and serve them back.
    for partition in ["2", "3"] {
        let value = format!("into-{partition}");
        wait_until_ok(
            &format!("produce to grow-{partition}"),
            CLUSTER_TIMEOUT,
            || {
                let out = kcat(
                    &[
                        "-b",
                        &cluster.bootstrap(),
                        "-t",
                        "grow",
                        "-p",
                        partition,
                        "-P",
                    ],
                    Some(format!("{value}\n").as_bytes()),
                );
                out.status.success().then_some(()).ok_or(out)
            },
        );
        let out = kcat(
            &[
                "-b",
                &cluster.bootstrap(),
                "-t",
                "grow",
                "-p",
                partition,
                "-C",
                "-o",
                "beginning",
                "-c",
                "1",
                "-e",
            ],
            None,
        );
        assert_eq!(assert_success(&out, "kcat consume").trim(), value);
    }

    // DescribeCluster: every broker and the controller.
    let cluster_info = &result["cluster"];
    let ports: Vec<Value> = cluster
        .brokers
        .iter()
        .map(|b| json!([b.id(), "127.0.0.1", b.port()]))
        .collect();
    assert_eq!(cluster_info["nodes"], json!(ports), "{cluster_info}");
    assert_eq!(
        cluster_info["controller"],
        json!(controller),
        "{cluster_info}"
    );
    let cluster_id = zk(&cluster.chroot)
        .get_json("/cluster/id")
        .expect("/cluster/id");
    assert_eq!(
        cluster_info["cluster_id"], cluster_id["id"],
        "{cluster_info}"
    );

    // DescribeLogDirs at each broker: exactly the replicas the znode puts
    // there, the written ones non-empty once replicated.
    for broker in &cluster.brokers {
        let hosted: Vec<i32> = new
            .iter()
            .filter(|(_, r)| r.contains(&broker.id()))
            .map(|(p, _)| *p)
            .collect();
        wait_until(
            &format!("broker {} to describe its log dir", broker.id()),
            CLUSTER_TIMEOUT,
            || {
                let response = send_request(
                    broker,
                    4,
                    &DescribeLogDirsRequest::default().with_topics(None),
                );
                assert_eq!(response.results.len(), 1, "{response:?}");
                let dir = &response.results[0];
                assert_eq!(dir.error_code, NONE);
                assert_eq!(Path::new(dir.log_dir.as_str()), broker.log_dir());
                assert!(dir.total_bytes >= dir.usable_bytes && dir.usable_bytes > 0);
                let topic = dir.topics.iter().find(|t| t.name.0.as_str() == "grow")?;
                let listed: Vec<i32> = topic.partitions.iter().map(|p| p.partition_index).collect();
                assert_eq!(listed, hosted, "broker {}: {response:?}", broker.id());
                let written_non_empty = topic
                    .partitions
                    .iter()
                    .all(|p| p.partition_index < 2 || p.partition_size > 0);
                (written_non_empty && topic.partitions.iter().all(|p| p.offset_lag == 0))
                    .then_some(())
            },
        );
    }
    // A topics filter lists only the partitions asked for that are held here.
    let broker = &cluster.brokers[0];
    let filter = describe_log_dirs_request::DescribableLogDirTopic::default()
        .with_topic(topic_name("grow"))
        .with_partitions(vec![0, 1, 2, 3, 99]);
    let response = send_request(
        broker,
        1,
        &DescribeLogDirsRequest::default().with_topics(Some(vec![filter])),
    );
    let listed: Vec<i32> = response.results[0]
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.partition_index))
        .collect();
    let hosted: Vec<i32> = new
        .iter()
        .filter(|(_, r)| r.contains(&broker.id()))
        .map(|(p, _)| *p)
        .collect();
    assert_eq!(listed, hosted, "{response:?}");
    let dirs = python_json(DESCRIBE_LOG_DIRS_SCRIPT, &[&cluster.bootstrap()]);
    let dirs = dirs.as_array().expect("log dirs");
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    assert_eq!(dirs[0]["error"], json!(0));
    assert!(dirs[0]["topics"]["grow"].is_object(), "{dirs:?}");
}

/// Kafka refuses DeleteRecords on a topic whose cleanup.policy has no
/// `delete` (POLICY_VIOLATION), and deletes nothing.
#[test]
fn delete_records_on_a_compact_only_topic_is_a_policy_violation() {
    let mut cluster = TestCluster::start("partition-admin-compact-trim", 1);
    let topic = "compact-only";
    let configs = [("cleanup.policy", "compact")];
    assert_eq!(
        create_topic_with_configs(cluster.broker(1), topic, 1, 1, &configs),
        NONE
    );
    wait_for_leaders(&cluster, topic, 1);
    assert_eq!(
        delete_records(cluster.broker(1), topic, 0).0,
        POLICY_VIOLATION
    );
    assert_eq!(list_offset(cluster.broker(1), topic, -2), (NONE, 0));
}

#[test]
fn delete_records_moves_the_log_start_on_the_leader_and_its_followers() {
    let topic = "trim";
    let mut cluster = TestCluster::start("partition-admin-trim", 3);
    let controller = controller_id(&cluster);
    assert_eq!(
        create_topic_with_configs(
            cluster.broker(controller),
            topic,
            1,
            3,
            &[("segment.bytes", "1024")]
        ),
        NONE
    );
    let leader = wait_for_leaders(&cluster, topic, 1)[0];

    // 100 records, one batch each, acknowledged by all three replicas.
    let producer: rdkafka::producer::FutureProducer = producer_config(&cluster.bootstrap())
        .set("linger.ms", "0")
        .set("batch.num.messages", "1")
        .create()
        .expect("producer");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async {
        for i in 0..100 {
            let payload = format!("record-{i:03}-{}", "x".repeat(80));
            let delivery = producer
                .send(
                    FutureRecord::<(), _>::to(topic)
                        .partition(0)
                        .payload(&payload),
                    Duration::from_secs(30),
                )
                .await;
            let delivered = delivery.map(|d| (d.partition, d.offset)).expect("delivery");
            assert_eq!(delivered, (0, i));
        }
    });
    assert!(
        segment_bases(cluster.broker(leader), topic).len() > 3,
        "segment.bytes=1024 should have rolled segments"
    );

    // Through confluent-kafka: the low watermark moves to 40; past the high
    // watermark is OFFSET_OUT_OF_RANGE.
    let result = python_json(
        r#"
import sys, json
from confluent_kafka import KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient
admin = AdminClient({"bootstrap.servers": sys.argv[1], "broker.address.family": "v4"})
def delete(offset):
    f = admin.delete_records([TopicPartition("trim", 0, offset)], request_timeout=30, operation_timeout=30)
    try:
        return {"low_watermark": list(f.values())[0].result().low_watermark}
    except KafkaException as e:
        return {"error": e.args[0].code()}
print(json.dumps({"forty": delete(40), "too_far": delete(1000)}))
"#,
        &[&cluster.bootstrap()],
    );
    assert_eq!(result["forty"], json!({"low_watermark": 40}), "{result}");
    assert_eq!(
        result["too_far"],
        json!({"error": OFFSET_OUT_OF_RANGE}),
        "{result}"
    );

    // At the leader: reads below the start are out of range, ListOffsets
    // earliest is the new start; followers refuse DeleteRecords.
    let leader_broker = cluster.broker(leader);
    assert_eq!(fetch(leader_broker, topic, 10).0, OFFSET_OUT_OF_RANGE);
    let (error, bytes) = fetch(leader_broker, topic, 40);
    assert!(error == NONE && bytes > 0, "fetch at 40: {error} {bytes}");
    assert_eq!(list_offset(leader_broker, topic, -2), (NONE, 40));
    let follower = [1, 2, 3].into_iter().find(|&b| b != leader).unwrap();
    assert_eq!(
        delete_records(cluster.broker(follower), topic, 50).0,
        NOT_LEADER_OR_FOLLOWER
    );

    // A consumer from the beginning starts at the new log start.
    let consumer = base_consumer(&cluster.bootstrap(), "trim-reader");
    consumer.subscribe(&[topic]).expect("subscribe");
    let first = wait_until(
        "a record for the consumer",
        CLUSTER_TIMEOUT,
        || match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => Some(message.offset()),
            _ => None,
        },
    );
    assert_eq!(first, 40);
    drop(consumer);

    // Every replica's log starts at 40 on disk (checkpoint and segments).
    for broker in &cluster.brokers {
        wait_until(
            &format!("broker {}'s log of trim-0 to start at 40", broker.id()),
            CLUSTER_TIMEOUT,
            || log_starts_at(broker, topic, 40).then_some(()),
        );
    }

    // After the leader stops, the new leader's log starts at 40 too, and -1
    // deletes up to the high watermark.
    cluster.broker(leader).terminate();
    let new_leader = wait_until("a new leader", CLUSTER_TIMEOUT, || {
        state(&cluster, topic, 0)
            .map(|s| leader_of(&s))
            .filter(|&l| l >= 0 && l != leader)
    });
    let new_leader_broker = cluster.broker(new_leader);
    // The stopped broker must be gone from the new leader's view of live
    // brokers, or the low watermark would wait for it.
    wait_until("the new leader to see two brokers", CLUSTER_TIMEOUT, || {
        let response = send_request(
            new_leader_broker,
            9,
            &MetadataRequest::default().with_topics(Some(vec![])),
        );
        (response.brokers.len() == 2).then_some(())
    });
    wait_until_ok(
        "ListOffsets at the new leader",
        CLUSTER_TIMEOUT,
        || match list_offset(new_leader_broker, topic, -2) {
            (NONE, offset) => Ok(offset),
            other => Err(other),
        },
    );
    assert_eq!(list_offset(new_leader_broker, topic, -2), (NONE, 40));
    assert_eq!(fetch(new_leader_broker, topic, 39).0, OFFSET_OUT_OF_RANGE);
    assert_eq!(list_offset(new_leader_broker, topic, -1), (NONE, 100));
    assert_eq!(delete_records(new_leader_broker, topic, -1), (NONE, 100));
    assert_eq!(list_offset(new_leader_broker, topic, -2), (NONE, 100));
    let survivor = [1, 2, 3]
        .into_iter()
        .find(|&b| b != leader && b != new_leader)
        .unwrap();
    wait_until(
        "the remaining follower's log to start at 100",
        CLUSTER_TIMEOUT,
        || log_starts_at(cluster.broker(survivor), topic, 100).then_some(()),
    );
}
