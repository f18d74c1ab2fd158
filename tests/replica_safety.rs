//! Replication safety under controller resends, lost replies, forged
//! follower fetches and controlled shutdown, on real brokers and a real
//! ZooKeeper (the replica-room findings of the safety review):
//!
//! - `blocking_leader_and_isr.rs`: while a LeaderAndIsr does file work,
//!   other requests are still answered (one worker thread);
//! - `stale_leader_and_isr.rs`: a LeaderAndIsr that repeats an older state
//!   in the same leader epoch (a new controller's failover copy, a resent
//!   request) is ignored with STALE_CONTROLLER_EPOCH and does not roll back
//!   the leader's ISR;
//! - `isr_notification_retry.rs`: an ISR change whose notification failed
//!   is announced once ZooKeeper takes it;
//! - `lost_isr_reply.rs`: the leader's ISR write lands but its reply is lost
//!   (ZooKeeper proxy): the leader adopts its own write and announces it;
//! - `forged_follower_fetch.rs`: a Fetch claiming to be a replica, without a
//!   leader epoch or past the log end, moves neither the high watermark nor
//!   the ISR;
//! - `stop_replica_keeps_hw.rs`: a controlled shutdown's StopReplica
//!   (delete=false) keeps the followed partitions' high watermarks;
//!
//! Helpers shared by the submodules are below: topics with an explicit
//! assignment, the state znode with its zkVersion, raw LeaderAndIsr.

mod common;

#[path = "replica_safety/blocking_leader_and_isr.rs"]
mod blocking_leader_and_isr;
#[path = "replica_safety/forged_follower_fetch.rs"]
mod forged_follower_fetch;
#[path = "replica_safety/isr_notification_retry.rs"]
mod isr_notification_retry;
#[path = "replica_safety/lost_isr_reply.rs"]
mod lost_isr_reply;
#[path = "replica_safety/stale_leader_and_isr.rs"]
mod stale_leader_and_isr;
#[path = "replica_safety/stop_replica_keeps_hw.rs"]
mod stop_replica_keeps_hw;

use std::time::Duration;

use common::cluster_view::{
    PartitionState, controller, controller_epoch, fetch_metadata, partition_state,
};
use common::*;
use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, LeaderAndIsrRequest, LeaderAndIsrResponse, ListOffsetsResponse,
};

/// How long leaders, ISR changes and controller moves may take.
pub const CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);
/// LeaderAndIsr v5: topic ids, per-topic partition errors.
const LEADER_AND_ISR_VERSION: i16 = 5;

/// The broker with `id`.
pub fn broker(cluster: &TestCluster, id: i32) -> &Broker {
    cluster
        .brokers
        .iter()
        .find(|b| b.id() == id)
        .unwrap_or_else(|| panic!("no broker {id}"))
}

/// Waits until broker `id`'s Metadata shows `isr` for `topic`-0.
pub fn wait_for_metadata_isr(
    cluster: &TestCluster,
    id: i32,
    topic: &str,
    isr: &[i32],
    timeout: Duration,
) {
    wait_until_ok(
        &format!("broker {id}'s metadata to show ISR {isr:?} for {topic}-0"),
        timeout,
        || {
            let meta = fetch_metadata(broker(cluster, id).port(), &[topic])?;
            let shown = meta
                .partitions
                .get(&(topic.to_owned(), 0))
                .map(|p| p.isr.clone());
            if shown.as_deref() == Some(isr) {
                Ok(())
            } else {
                Err(format!("ISR {shown:?}"))
            }
        },
    );
}

/// Creates `name` with an explicit assignment (partition -> replicas, the
/// first leads) and `configs`, through the controller; waits until every
/// partition has its preferred leader and its whole assignment in the ISR,
/// and partition 0's leader serves it.
pub fn create_assigned(
    cluster: &TestCluster,
    name: &str,
    assignment: &[&[i32]],
    configs: &[(&str, &str)],
) {
    let controller = wait_until("a controller", CLUSTER_TIMEOUT, || {
        controller(&cluster.chroot)
    });
    let error =
        create_assigned_topic_with_configs(broker(cluster, controller), name, assignment, configs);
    assert_eq!(error, 0, "CreateTopics {name}");
    for (p, replicas) in assignment.iter().enumerate() {
        wait_for_state(cluster, name, p as i32, "a full ISR", |s| {
            s.leader == replicas[0] && s.isr.len() == replicas.len()
        });
    }
    // The znodes come first; the leader leads once it applied LeaderAndIsr.
    let leader = broker(cluster, assignment[0][0]);
    wait_until_ok(
        &format!("broker {} to lead {name}-0", leader.id()),
        CLUSTER_TIMEOUT,
        || {
            let request = raw::list_offsets_request(name, -1);
            let response: ListOffsetsResponse =
                exchange(leader.port(), ApiKey::ListOffsets, 5, &request)?;
            match raw::list_offsets_answer(&response) {
                (0, _) => Ok(()),
                (error, _) => Err(format!("ListOffsets error {error}")),
            }
        },
    );
}

/// A broker other than `leader` and the controller, to freeze while the
/// controller must still act, and the assignment `[leader, other, frozen]`.
pub fn frozen_follower(cluster: &TestCluster, leader: i32) -> (i32, [i32; 3]) {
    let controller = wait_until("a controller", CLUSTER_TIMEOUT, || {
        controller(&cluster.chroot)
    });
    let frozen = [3, 2, 1]
        .into_iter()
        .find(|&b| b != leader && b != controller)
        .expect("three brokers");
    let other = [1, 2, 3]
        .into_iter()
        .find(|&b| b != leader && b != frozen)
        .expect("three brokers");
    (frozen, [leader, other, frozen])
}

/// Waits until the state znode of `topic`-`partition` satisfies `ok`;
/// returns it with its zkVersion.
pub fn wait_for_state(
    cluster: &TestCluster,
    topic: &str,
    partition: i32,
    what: &str,
    ok: impl Fn(&PartitionState) -> bool,
) -> (PartitionState, i32) {
    wait_until_ok(
        &format!("{topic}-{partition}: {what}"),
        CLUSTER_TIMEOUT,
        || match state_with_version(cluster, topic, partition) {
            Some((s, v)) if ok(&s) => Ok((s, v)),
            other => Err(format!("state znode: {other:?}")),
        },
    )
}

/// The state znode of `topic`-`partition` and its zkVersion.
pub fn state_with_version(
    cluster: &TestCluster,
    topic: &str,
    partition: i32,
) -> Option<(PartitionState, i32)> {
    let path = format!("/brokers/topics/{topic}/partitions/{partition}/state");
    let version = zk(&cluster.chroot).stat(&path)?.version;
    let state = partition_state(&cluster.chroot, topic, partition)?;
    // Read again: a write between the two reads would pair them wrongly.
    let again = zk(&cluster.chroot).stat(&path)?.version;
    (again == version).then_some((state, version))
}

/// The topic id `/brokers/topics/<t>` records.
pub fn topic_id(cluster: &TestCluster, topic: &str) -> uuid::Uuid {
    let json = zk(&cluster.chroot)
        .get_json(&format!("/brokers/topics/{topic}"))
        .expect("topic znode");
    let text = json["topic_id"].as_str().expect("topic_id");
    uuid::Uuid::from_bytes(sluice::model::decode_kafka_uuid(text).expect("a Kafka uuid"))
}

/// One partition's state in a raw LeaderAndIsr.
pub struct RawPartitionState<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub leader: i32,
    pub leader_epoch: i32,
    pub isr: &'a [i32],
    pub replicas: &'a [i32],
    pub zk_version: i32,
}

/// Sends `to` a LeaderAndIsr from the current controller (its id and epoch
/// from the znodes) carrying `state`; returns (top-level error, the
/// partition's error).
pub fn send_leader_and_isr(
    cluster: &TestCluster,
    to: i32,
    state: &RawPartitionState<'_>,
) -> (i16, i16) {
    let controller = controller(&cluster.chroot).expect("a controller");
    let ids = |list: &[i32]| list.iter().map(|&b| BrokerId(b)).collect::<Vec<_>>();
    let leader = broker(cluster, state.leader);
    let request = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(controller))
        .with_controller_epoch(controller_epoch(&cluster.chroot))
        .with_broker_epoch(-1)
        .with_topic_states(vec![
            LeaderAndIsrTopicState::default()
                .with_topic_name(topic_name(state.topic))
                .with_topic_id(topic_id(cluster, state.topic))
                .with_partition_states(vec![
                    LeaderAndIsrPartitionState::default()
                        .with_topic_name(topic_name(state.topic))
                        .with_partition_index(state.partition)
                        .with_controller_epoch(controller_epoch(&cluster.chroot))
                        .with_leader(BrokerId(state.leader))
                        .with_leader_epoch(state.leader_epoch)
                        .with_isr(ids(state.isr))
                        .with_partition_epoch(state.zk_version)
                        .with_replicas(ids(state.replicas)),
                ]),
        ])
        .with_live_leaders(vec![
            LeaderAndIsrLiveLeader::default()
                .with_broker_id(BrokerId(state.leader))
                .with_host_name(str_bytes("127.0.0.1"))
                .with_port(i32::from(leader.port())),
        ]);
    let response: LeaderAndIsrResponse = exchange(
        broker(cluster, to).port(),
        ApiKey::LeaderAndIsr,
        LEADER_AND_ISR_VERSION,
        &request,
    )
    .unwrap_or_else(|e| panic!("LeaderAndIsr to broker {to}: {e}"));
    let partition_error = response
        .topics
        .iter()
        .flat_map(|t| &t.partition_errors)
        .find(|p| p.partition_index == state.partition)
        .map_or(-1, |p| p.error_code);
    (response.error_code, partition_error)
}
