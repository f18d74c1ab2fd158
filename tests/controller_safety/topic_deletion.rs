//! Finding 8: deleting a topic while one of its replicas' brokers is down.
//! Kafka's TopicDeletionManager keeps the deletion pending (the topic
//! znodes and `/admin/delete_topics/<t>` stay) until every replica has
//! deleted its log, resuming when the broker returns; only then can the
//! name be used again. And a partition directory left with another topic
//! id (a stray log) must not keep a recreated partition from coming up.

use std::fs;
use std::path::Path;

use kafka_protocol::messages::{CreateTopicsRequest, DeleteTopicsRequest};

use crate::common::cluster::*;
use crate::common::cluster_view::*;
use crate::common::*;

/// DeleteTopics v4 of `topic` at `broker`: the topic's error code.
fn delete_topic(broker: &Broker, topic: &str) -> i16 {
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![topic_name(topic)])
        .with_timeout_ms(30_000);
    send_request(broker, 4, &request).responses[0].error_code
}

/// CreateTopics v7 of `topic` with partition 0 on `replicas`: its error code.
fn create_assigned(broker: &Broker, topic: &str, replicas: &[i32]) -> i16 {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![assigned_topic(topic, &[replicas])])
        .with_timeout_ms(30_000);
    send_request(broker, 7, &request).topics[0].error_code
}

fn partition_dir(broker: &Broker, topic: &str) -> std::path::PathBuf {
    broker.log_dir().join(format!("{topic}-0"))
}

/// The topic id recorded in a partition directory (`partition.metadata`).
fn recorded_topic_id(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("partition.metadata")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("topic_id:"))
        .map(|id| id.trim().to_owned())
}

fn topic_id(chroot: &str, topic: &str) -> String {
    zk(chroot)
        .get_json(&format!("/brokers/topics/{topic}"))
        .expect("topic znode")["topic_id"]
        .as_str()
        .expect("topic_id")
        .to_owned()
}

/// Produce (acks=1) of one record to `topic`-0 through librdkafka succeeds.
fn wait_produce_succeeds(cluster: &TestCluster, topic: &str, what: &str) {
    let producer = future_producer_with(&cluster.bootstrap(), &[("acks", "1")]);
    wait_until_ok(what, FAILOVER_TIMEOUT, || {
        let record = rdkafka::producer::FutureRecord::<(), str>::to(topic)
            .partition(0)
            .payload("after");
        block_on(producer.send(record, std::time::Duration::from_secs(5)))
            .map(|_| ())
            .map_err(|(e, _)| e.to_string())
    });
}

#[test]
fn deleting_a_topic_waits_for_a_stopped_replica_and_the_name_can_be_reused() {
    let topic = "reused";
    let mut cluster = start_cluster("delete-offline-replica", &[]);
    let controller_id = wait_until("a controller", FAILOVER_TIMEOUT, || {
        controller(&cluster.chroot)
    });
    let away = *others(&[controller_id]).last().unwrap();
    let rest = others(&[away]);
    create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[]);
    let old_id = topic_id(&cluster.chroot, topic);

    // The review's reproduction: stop a replica's broker, delete the topic.
    assert!(cluster.broker(away).terminate().success());
    assert_eq!(delete_topic(cluster.broker(controller_id), topic), 0);
    for &id in &rest {
        let dir = partition_dir(cluster.broker(id), topic);
        wait_until(
            &format!("broker {id} to delete {}", dir.display()),
            FAILOVER_TIMEOUT,
            || (!dir.exists()).then_some(()),
        );
    }
    // The deletion waits for the stopped replica: the znodes stay, so the
    // name cannot be reused yet.
    let zk = zk(&cluster.chroot);
    assert!(
        zk.exists(&format!("/admin/delete_topics/{topic}")),
        "deletion request gone"
    );
    assert!(
        zk.exists(&format!("/brokers/topics/{topic}")),
        "topic znode gone"
    );
    assert_ne!(
        create_assigned(
            cluster.broker(controller_id),
            topic,
            &[away, rest[0], rest[1]]
        ),
        0,
        "the topic was recreated while its deletion was pending"
    );
    assert!(
        partition_dir(cluster.broker(away), topic).exists(),
        "the stopped broker's log is still there"
    );

    // The broker returns: its replica is deleted, then the topic.
    cluster.broker(away).restart();
    let dir = partition_dir(cluster.broker(away), topic);
    wait_until(
        "the returning broker to delete its replica",
        FAILOVER_TIMEOUT,
        || (!dir.exists()).then_some(()),
    );
    wait_until("the deletion to complete", FAILOVER_TIMEOUT, || {
        (!zk.exists(&format!("/brokers/topics/{topic}"))
            && !zk.exists(&format!("/admin/delete_topics/{topic}")))
        .then_some(())
    });

    // Recreated with the returning broker first: it leads and takes writes.
    assert_eq!(
        create_assigned(
            cluster.broker(controller_id),
            topic,
            &[away, rest[0], rest[1]]
        ),
        0
    );
    let new_id = topic_id(&cluster.chroot, topic);
    assert_ne!(new_id, old_id);
    wait_produce_succeeds(&cluster, topic, "produce to the recreated topic");
    wait_fully_replicated(&cluster, topic, "after recreation");
    assert_eq!(
        recorded_topic_id(&partition_dir(cluster.broker(away), topic)),
        Some(new_id)
    );
}

#[test]
fn a_stray_log_with_another_topic_id_does_not_keep_the_partition_down() {
    let topic = "stray";
    let mut cluster = start_cluster("stray-log", &[]);
    let controller_id = wait_until("a controller", FAILOVER_TIMEOUT, || {
        controller(&cluster.chroot)
    });
    let away = *others(&[controller_id]).last().unwrap();
    create_replicated_topic(&cluster, &ALL, topic, 1, 3, &[]);
    let real_id = topic_id(&cluster.chroot, topic);

    // While the broker is down, its directory comes to belong to another
    // topic of the same name (as a log left behind by a deleted topic).
    assert!(cluster.broker(away).terminate().success());
    let dir = partition_dir(cluster.broker(away), topic);
    let stray_id = "AAAAAAAAAAAAAAAAAAAAAA";
    fs::write(
        dir.join("partition.metadata"),
        format!("version: 0\ntopic_id: {stray_id}\n"),
    )
    .unwrap();
    cluster.broker(away).restart();

    wait_all_in_isr(&cluster, topic, 0, "the returning broker back in the ISR");
    assert_eq!(recorded_topic_id(&dir), Some(real_id));
}
