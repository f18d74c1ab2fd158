//! Topic deletion while a partition of the topic is being reassigned
//! (Kafka's TopicDeletionManager.markTopicIneligibleForDeletion /
//! resumeDeletionForTopics): the deletion request waits, its
//! `/admin/delete_topics/<t>` znode and the topic stay, new reassignments
//! of the topic are refused with UNKNOWN_TOPIC_OR_PARTITION, and once the
//! reassignment completes the topic is deleted. Three real brokers; the
//! reassignment's target broker is SIGSTOPped so it cannot finish until
//! resumed.

mod common;

use std::time::Duration;

use common::*;
use kafka_protocol::messages::alter_partition_reassignments_request::{
    ReassignablePartition, ReassignableTopic,
};
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::*;
use serde_json::{Value, json};

const NONE: i16 = 0;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
/// Catching up, ISR changes and the controller's round trips on a busy machine.
const MOVE_TIMEOUT: Duration = Duration::from_secs(60);

fn controller_id(chroot: &str) -> i32 {
    wait_until("a controller", MOVE_TIMEOUT, || {
        zk(chroot).get_json("/controller")?["brokerid"]
            .as_i64()
            .map(|id| id as i32)
    })
}

fn partition_state(chroot: &str, topic: &str) -> Option<Value> {
    zk(chroot).get_json(&format!("/brokers/topics/{topic}/partitions/0/state"))
}

fn topic_znode(chroot: &str, topic: &str) -> Option<Value> {
    zk(chroot).get_json(&format!("/brokers/topics/{topic}"))
}

/// AlterPartitionReassignments v0 of partition 0 to `replicas`: the error code.
fn reassign(broker: &Broker, topic: &str, replicas: &[i32]) -> i16 {
    let request = AlterPartitionReassignmentsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            ReassignableTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(vec![
                    ReassignablePartition::default()
                        .with_partition_index(0)
                        .with_replicas(Some(replicas.iter().map(|&b| BrokerId(b)).collect())),
                ]),
        ]);
    let response = send_request(broker, 0, &request);
    assert_eq!(response.error_code, NONE, "{response:?}");
    response.responses[0].partitions[0].error_code
}

#[test]
fn deletion_waits_for_the_reassignment_and_then_deletes_the_topic() {
    // Long sessions: the paused target must stay registered meanwhile.
    let mut cluster = TestCluster::start_with("delete-while-moving", 3, |s| {
        s.set("zookeeper.session.timeout.ms", 30_000)
    });
    let chroot = cluster.chroot.clone();
    let topic = "doomed";
    let controller = controller_id(&chroot);
    let others: Vec<i32> = (1..=3).filter(|&b| b != controller).collect();
    let (kept, target) = (others[0], others[1]);

    let create = CreateTopicsRequest::default()
        .with_timeout_ms(30_000)
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(-1)
                .with_replication_factor(-1)
                .with_assignments(vec![
                    CreatableReplicaAssignment::default()
                        .with_partition_index(0)
                        .with_broker_ids(vec![BrokerId(controller), BrokerId(kept)]),
                ]),
        ]);
    let created = send_request(cluster.broker(controller), 7, &create);
    assert_eq!(created.topics[0].error_code, NONE, "{created:?}");
    wait_until("both replicas in the ISR", MOVE_TIMEOUT, || {
        let state = partition_state(&chroot, topic)?;
        (state["isr"].as_array()?.len() == 2).then_some(())
    });

    // The target cannot catch up while stopped: the move stays in flight.
    cluster.broker(target).pause();
    let target_replicas = [controller, target];
    assert_eq!(
        reassign(cluster.broker(controller), topic, &target_replicas),
        NONE
    );
    wait_until("the reassignment in the topic znode", MOVE_TIMEOUT, || {
        let znode = topic_znode(&chroot, topic)?;
        (znode["adding_replicas"]["0"] == json!([target])).then_some(())
    });

    // Deletion requested (what kafka-topics.sh --delete writes): it waits.
    let delete_path = format!("/admin/delete_topics/{topic}");
    zk(&chroot).create(&delete_path, b"");
    cluster.broker(controller).wait_for_log(
        "topic ineligible for deletion: a reassignment of its partitions is in progress",
        MOVE_TIMEOUT,
    );
    assert!(zk(&chroot).exists(&delete_path), "the request stays");
    let znode = topic_znode(&chroot, topic).expect("the topic stays");
    assert_eq!(znode["adding_replicas"]["0"], json!([target]), "{znode}");
    assert_eq!(
        reassign(cluster.broker(controller), topic, &[controller, kept]),
        UNKNOWN_TOPIC_OR_PARTITION,
        "a topic queued for deletion takes no new reassignment"
    );

    // The target catches up, the move completes, the deletion goes on.
    cluster.broker(target).resume();
    wait_until("the topic to be deleted", MOVE_TIMEOUT, || {
        let gone = topic_znode(&chroot, topic).is_none() && !zk(&chroot).exists(&delete_path);
        gone.then_some(())
    });
    let log = cluster.broker(controller).log_text();
    assert!(
        log.contains("reassignment done: resuming topic deletion"),
        "the reassignment completed before the deletion"
    );
}
