//! The controller in a three-broker cluster of real processes on a real
//! ZooKeeper: failover to a new controller with a higher epoch, controlled
//! shutdown on SIGTERM, preferred replica election (the admin znode,
//! ElectLeaders, and the periodic imbalance check), and NOT_CONTROLLER for
//! admin requests sent to a broker that is not the controller.
//!
//! Each test reads the cluster's state from the znodes the controller writes.
//! Raw Kafka requests go through a small blocking client below.

mod common;

use std::time::Duration;

use common::*;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::*;
use serde_json::{Value, json};

const NONE: i16 = 0;
const NOT_CONTROLLER: i16 = 41;
/// Leader moves, controller failover after a SIGKILL (session timeout 6 s).
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);

/// CreateTopics v7 for one topic with an explicit assignment (partition -> replicas).
fn create_assigned(broker: &Broker, name: &str, assignment: &[&[i32]]) -> i16 {
    let topic = assigned_topic(name, assignment);
    create(broker, topic)
}

fn create(broker: &Broker, topic: CreatableTopic) -> i16 {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![topic])
        .with_timeout_ms(30_000);
    let response = send_request(broker, 7, &request);
    assert_eq!(response.topics.len(), 1, "{response:?}");
    response.topics[0].error_code
}

fn elect_preferred(broker: &Broker, topic: &str, partitions: Vec<i32>) -> ElectLeadersResponse {
    let request = ElectLeadersRequest::default()
        .with_election_type(0)
        .with_timeout_ms(30_000)
        .with_topic_partitions(Some(vec![
            TopicPartitions::default()
                .with_topic(topic_name(topic))
                .with_partitions(partitions),
        ]));
    send_request(broker, 2, &request)
}

// ------------------------------------------------------------- znodes

fn controller_id(cluster: &TestCluster) -> Option<i32> {
    let value = zk(&cluster.chroot).get_json("/controller")?;
    value["brokerid"].as_i64().map(|id| id as i32)
}

fn controller_epoch(cluster: &TestCluster) -> i32 {
    zk(&cluster.chroot)
        .get_string("/controller_epoch")
        .expect("/controller_epoch")
        .trim()
        .parse()
        .expect("a number in /controller_epoch")
}

fn state_path(topic: &str, partition: i32) -> String {
    format!("/brokers/topics/{topic}/partitions/{partition}/state")
}

/// The partition state znode as JSON, once it exists.
fn state(cluster: &TestCluster, topic: &str, partition: i32) -> Option<Value> {
    zk(&cluster.chroot).get_json(&state_path(topic, partition))
}

fn leader(state: &Value) -> i32 {
    state["leader"].as_i64().expect("leader") as i32
}

fn isr(state: &Value) -> Vec<i32> {
    state["isr"]
        .as_array()
        .expect("isr")
        .iter()
        .map(|b| b.as_i64().unwrap() as i32)
        .collect()
}

/// Waits until the current controller is known; returns its id.
fn wait_for_controller(cluster: &TestCluster) -> i32 {
    wait_until("a controller", CLUSTER_TIMEOUT, || controller_id(cluster))
}

/// Waits until every partition of `topic` (`partitions` of them) has a state
/// znode with a leader; returns the states.
fn wait_for_leaders(cluster: &TestCluster, topic: &str, partitions: i32) -> Vec<Value> {
    wait_until(
        &format!("leaders for every partition of {topic}"),
        CLUSTER_TIMEOUT,
        || {
            (0..partitions)
                .map(|p| state(cluster, topic, p).filter(|s| leader(s) >= 0))
                .collect::<Option<Vec<Value>>>()
        },
    )
}

fn three_brokers(name: &str, customize: impl Fn(BrokerSpec) -> BrokerSpec) -> TestCluster {
    TestCluster::start_with(name, 3, |spec| {
        customize(
            spec.set("controlled.shutdown.retry.backoff.ms", 500)
                .set("default.replication.factor", 3),
        )
    })
}

// ------------------------------------------------------------- tests

#[test]
fn a_killed_controller_is_replaced_with_a_higher_epoch_and_the_cluster_keeps_working() {
    let mut cluster = three_brokers("controller-failover", |s| s);
    let old_controller = wait_for_controller(&cluster);
    let old_epoch = controller_epoch(&cluster);
    assert!(old_epoch >= 1, "epoch {old_epoch}");

    // A topic whose partitions the old controller leads in part.
    let others: Vec<i32> = (1..=3).filter(|&b| b != old_controller).collect();
    let assignment: Vec<Vec<i32>> = vec![
        vec![old_controller, others[0], others[1]],
        vec![others[0], old_controller, others[1]],
    ];
    let refs: Vec<&[i32]> = assignment.iter().map(Vec::as_slice).collect();
    let code = create_assigned(cluster.broker(old_controller), "before", &refs);
    assert_eq!(code, NONE);
    let before = wait_for_leaders(&cluster, "before", 2);
    assert_eq!(leader(&before[0]), old_controller);

    cluster.broker(old_controller).kill();

    let new_controller = wait_until("a new controller", CLUSTER_TIMEOUT, || {
        controller_id(&cluster).filter(|&id| id != old_controller)
    });
    assert!(others.contains(&new_controller));
    let new_epoch = controller_epoch(&cluster);
    assert!(new_epoch > old_epoch, "epoch {old_epoch} -> {new_epoch}");

    // The killed broker's leadership moved to a live ISR member, written by
    // the new controller with a higher leader epoch.
    let moved = wait_until("partition 0 to get a new leader", CLUSTER_TIMEOUT, || {
        state(&cluster, "before", 0).filter(|s| leader(s) != old_controller && leader(s) >= 0)
    });
    assert!(others.contains(&leader(&moved)), "{moved}");
    assert!(!isr(&moved).contains(&old_controller), "{moved}");
    assert!(moved["leader_epoch"].as_i64() > before[0]["leader_epoch"].as_i64());
    assert_eq!(moved["controller_epoch"].as_i64(), Some(new_epoch as i64));

    // Topic creation works through the new controller.
    let code = create(
        cluster.broker(new_controller),
        CreatableTopic::default()
            .with_name(topic_name("after"))
            .with_num_partitions(4)
            .with_replication_factor(2),
    );
    assert_eq!(code, NONE);
    for s in wait_for_leaders(&cluster, "after", 4) {
        assert!(others.contains(&leader(&s)), "{s}");
        assert_eq!(s["controller_epoch"].as_i64(), Some(new_epoch as i64));
    }
}

#[test]
fn a_controller_fenced_by_a_newer_epoch_resigns_and_the_next_one_writes() {
    let mut cluster = TestCluster::start("controller-fenced", 1);
    wait_for_controller(&cluster);
    let epoch = controller_epoch(&cluster);
    // As if another controller had won an election: /controller_epoch moves
    // on, so every write fenced on the old zkVersion fails.
    zk(&cluster.chroot).set("/controller_epoch", (epoch + 1).to_string().as_bytes());

    // The next write (a new topic's partition state) finds the controller
    // fenced: it resigns, and a new election (epoch + 2) writes the state.
    let code = create(
        cluster.broker(1),
        CreatableTopic::default()
            .with_name(topic_name("fenced"))
            .with_num_partitions(1)
            .with_replication_factor(1),
    );
    assert_eq!(code, NONE);
    let states = wait_for_leaders(&cluster, "fenced", 1);
    assert_eq!(
        states[0]["controller_epoch"].as_i64(),
        Some(epoch as i64 + 2),
        "{}",
        states[0]
    );
    assert_eq!(controller_epoch(&cluster), epoch + 2);
    assert!(
        cluster
            .broker(1)
            .log_text()
            .contains("fenced: another controller took over")
    );
}

#[test]
fn admin_requests_at_a_broker_that_is_not_the_controller_get_not_controller() {
    let mut cluster = three_brokers("controller-not-controller", |s| s);
    let controller = wait_for_controller(&cluster);
    let other = (1..=3).find(|&b| b != controller).unwrap();

    for version in [2, 5, 7] {
        let request = CreateTopicsRequest::default()
            .with_topics(vec![
                CreatableTopic::default()
                    .with_name(topic_name("refused"))
                    .with_num_partitions(1)
                    .with_replication_factor(1),
            ])
            .with_timeout_ms(30_000);
        let response = send_request(cluster.broker(other), version, &request);
        let result = &response.topics[0];
        assert_eq!(
            result.error_code, NOT_CONTROLLER,
            "v{version}: {response:?}"
        );
        if version >= 5 {
            assert_eq!(result.num_partitions, -1);
            assert_eq!(result.replication_factor, -1);
        }
    }
    assert!(!zk(&cluster.chroot).exists("/brokers/topics/refused"));

    // The controller creates it; deletion is refused elsewhere too.
    let code = create(
        cluster.broker(controller),
        CreatableTopic::default()
            .with_name(topic_name("refused"))
            .with_num_partitions(1)
            .with_replication_factor(1),
    );
    assert_eq!(code, NONE);
    let request = DeleteTopicsRequest::default()
        .with_topic_names(vec![topic_name("refused")])
        .with_timeout_ms(30_000);
    let response = send_request(cluster.broker(other), 4, &request);
    assert_eq!(
        response.responses[0].error_code, NOT_CONTROLLER,
        "{response:?}"
    );
    assert!(!zk(&cluster.chroot).exists("/admin/delete_topics/refused"));

    // ElectLeaders is answered by the controller only.
    let response = elect_preferred(cluster.broker(other), "refused", vec![0]);
    assert_eq!(response.error_code, NOT_CONTROLLER, "{response:?}");
    let response = elect_preferred(cluster.broker(controller), "refused", vec![0]);
    assert_eq!(response.error_code, NONE, "{response:?}");
}

#[test]
fn sigterm_moves_leaderships_to_the_isr_before_the_broker_exits() {
    let mut cluster = three_brokers("controller-controlled-shutdown", |s| s);
    let controller = wait_for_controller(&cluster);
    // Stop a broker that is not the controller, leading two of six partitions.
    let stopping = (1..=3).find(|&b| b != controller).unwrap();
    let code = create(
        cluster.broker(controller),
        CreatableTopic::default()
            .with_name(topic_name("cs"))
            .with_num_partitions(6)
            .with_replication_factor(3),
    );
    assert_eq!(code, NONE);
    let before = wait_for_leaders(&cluster, "cs", 6);
    let led: Vec<usize> = (0..6).filter(|&p| leader(&before[p]) == stopping).collect();
    assert!(
        !led.is_empty(),
        "broker {stopping} leads nothing: {before:?}"
    );

    let status = cluster.broker(stopping).terminate();
    assert!(status.success(), "exit status {status:?}");

    // Every partition is led by another broker that was in its ISR, and the
    // stopped broker left every ISR.
    let zk = zk(&cluster.chroot);
    let ids = zk.stat("/brokers/ids").expect("/brokers/ids");
    for (p, before) in before.iter().enumerate() {
        let after = state(&cluster, "cs", p as i32).expect("state");
        assert_ne!(leader(&after), stopping, "partition {p}: {after}");
        assert!(
            isr(before).contains(&leader(&after)),
            "partition {p}: {after}"
        );
        assert!(!isr(&after).contains(&stopping), "partition {p}: {after}");
        if led.contains(&p) {
            assert!(after["leader_epoch"].as_i64() > before["leader_epoch"].as_i64());
            // Written before the broker's registration went away, so by
            // controlled shutdown rather than by the broker-death path.
            let written = zk.stat(&state_path("cs", p as i32)).expect("stat");
            assert!(
                written.mzxid < ids.pzxid,
                "partition {p} state written (zxid {}) after broker {stopping} left (zxid {})",
                written.mzxid,
                ids.pzxid
            );
        }
    }
    assert!(
        cluster
            .broker(stopping)
            .log_text()
            .contains("controlled shutdown succeeded")
    );
}

/// Two partitions preferring `preferred` (first in their assignments), then
/// a restart of `preferred` (controlled shutdown moves its leaderships away).
/// With `wait_back_in_isr`, waits until it is back in both ISRs but leads
/// neither. Needs follower replication: the restarted broker rejoins the ISRs
/// by catching up with the leaders.
fn misplaced_leaders(cluster: &mut TestCluster, topic: &str, wait_back_in_isr: bool) -> (i32, i32) {
    let controller = wait_for_controller(cluster);
    let preferred = (1..=3).find(|&b| b != controller).unwrap();
    let rest: Vec<i32> = (1..=3).filter(|&b| b != preferred).collect();
    let code = create_assigned(
        cluster.broker(controller),
        topic,
        &[
            &[preferred, rest[0], rest[1]],
            &[preferred, rest[1], rest[0]],
        ],
    );
    assert_eq!(code, NONE);
    for s in wait_for_leaders(cluster, topic, 2) {
        assert_eq!(leader(&s), preferred, "{s}");
    }
    cluster.broker(preferred).restart();
    if !wait_back_in_isr {
        return (controller, preferred);
    }
    wait_until(
        &format!("broker {preferred} back in the ISRs of {topic}, leading neither"),
        CLUSTER_TIMEOUT,
        || {
            (0..2)
                .map(|p| state(cluster, topic, p))
                .collect::<Option<Vec<Value>>>()
                .filter(|states| {
                    states
                        .iter()
                        .all(|s| isr(s).contains(&preferred) && leader(s) != preferred)
                })
        },
    );
    (controller, preferred)
}

#[test]
fn preferred_replica_election_through_the_admin_znode_and_elect_leaders() {
    let mut cluster = three_brokers("controller-preferred", |s| {
        s.set("auto.leader.rebalance.enable", false)
    });
    let (controller, preferred) = misplaced_leaders(&mut cluster, "pref", true);
    let controller = controller_id(&cluster).unwrap_or(controller);

    // kafka-preferred-replica-election.sh's znode, for partition 0.
    let request = json!({"version": 1, "partitions": [{"topic": "pref", "partition": 0}]});
    zk(&cluster.chroot).create(
        "/admin/preferred_replica_election",
        request.to_string().as_bytes(),
    );
    let moved = wait_until(
        "partition 0 led by its preferred replica",
        CLUSTER_TIMEOUT,
        || state(&cluster, "pref", 0).filter(|s| leader(s) == preferred),
    );
    assert!(isr(&moved).contains(&preferred));
    wait_until(
        "the election request to be deleted",
        CLUSTER_TIMEOUT,
        || (!zk(&cluster.chroot).exists("/admin/preferred_replica_election")).then_some(()),
    );
    assert_ne!(leader(&state(&cluster, "pref", 1).unwrap()), preferred);

    // ElectLeaders for partition 1, at the controller.
    let response = elect_preferred(cluster.broker(controller), "pref", vec![1]);
    assert_eq!(response.error_code, NONE, "{response:?}");
    let result = &response.replica_election_results[0].partition_result[0];
    assert_eq!(
        (result.partition_id, result.error_code),
        (1, NONE),
        "{response:?}"
    );
    assert_eq!(leader(&state(&cluster, "pref", 1).unwrap()), preferred);
    // Again: nothing to do (ELECTION_NOT_NEEDED).
    let response = elect_preferred(cluster.broker(controller), "pref", vec![1]);
    assert_eq!(
        response.replica_election_results[0].partition_result[0].error_code, 84,
        "{response:?}"
    );
}

#[test]
fn auto_leader_rebalance_moves_leadership_back_to_the_preferred_replica() {
    let mut cluster = three_brokers("controller-auto-rebalance", |s| {
        s.set("auto.leader.rebalance.enable", true)
            .set("leader.imbalance.check.interval.seconds", 1)
    });
    let (_, preferred) = misplaced_leaders(&mut cluster, "rebalance", false);
    // Moved away by the controlled shutdown (leader epoch 1), back by the
    // imbalance check once the preferred replica is in the ISR again (2+).
    wait_until(
        "the preferred replica to lead again",
        CLUSTER_TIMEOUT,
        || {
            (0..2)
                .all(|p| {
                    state(&cluster, "rebalance", p).is_some_and(|s| {
                        leader(&s) == preferred && s["leader_epoch"].as_i64() >= Some(2)
                    })
                })
                .then_some(())
        },
    );
    let logged = cluster
        .brokers
        .iter()
        .any(|b| b.log_text().contains("leader imbalance: moved leadership"));
    assert!(logged, "no controller logged a rebalance");
}
