//! Builds the controller's requests to brokers from the controller context:
//! LeaderAndIsr for the replicas a broker hosts, UpdateMetadata with the
//! live brokers and partition states, StopReplica for deletions.

use std::collections::BTreeMap;

use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrLiveLeader, LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataBroker, UpdateMetadataEndpoint, UpdateMetadataPartitionState,
    UpdateMetadataTopicState,
};
use kafka_protocol::messages::{
    self, LeaderAndIsrRequest, StopReplicaRequest, TopicName, UpdateMetadataRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::context::{ControllerContext, LiveBroker};
use crate::metadata::LEADER_DURING_DELETE;
use crate::model::{BrokerId, TopicPartition};

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// A broker id as the wire carries it.
fn wire(id: BrokerId) -> messages::BrokerId {
    messages::BrokerId(id.0)
}

fn wire_ids(list: &[BrokerId]) -> Vec<messages::BrokerId> {
    list.iter().map(|&b| wire(b)).collect()
}

fn group_by_topic(partitions: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut grouped: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        grouped
            .entry(tp.topic.as_str())
            .or_default()
            .push(tp.partition);
    }
    grouped
}

/// Groups brokers by identical (non-empty) partition lists, in broker order
/// of each group's first broker; brokers with nothing get no group.
pub fn same_partitions(
    by_broker: BTreeMap<BrokerId, Vec<TopicPartition>>,
) -> Vec<(Vec<TopicPartition>, Vec<BrokerId>)> {
    let mut groups: Vec<(Vec<TopicPartition>, Vec<BrokerId>)> = Vec::new();
    for (broker, partitions) in by_broker {
        if partitions.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(p, _)| *p == partitions) {
            Some((_, brokers)) => brokers.push(broker),
            None => groups.push((partitions, vec![broker])),
        }
    }
    groups
}

/// LeaderAndIsr for `partitions` (those with a state znode), as one broker should see them.
pub fn leader_and_isr(
    ctx: &ControllerContext,
    controller_id: BrokerId,
    partitions: &[TopicPartition],
) -> LeaderAndIsrRequest {
    let mut leaders = std::collections::BTreeSet::new();
    let topic_states = group_by_topic(partitions)
        .into_iter()
        .map(|(topic, parts)| {
            let states = parts
                .into_iter()
                .filter_map(|p| {
                    let tp = TopicPartition::new(topic, p);
                    let (state, version) = ctx.partition_states.get(&tp)?;
                    leaders.insert(state.leader);
                    Some(
                        LeaderAndIsrPartitionState::default()
                            .with_topic_name(topic_name(topic))
                            .with_partition_index(p)
                            .with_controller_epoch(state.controller_epoch)
                            .with_leader(wire(state.leader))
                            .with_leader_epoch(state.leader_epoch.get())
                            .with_isr(wire_ids(&state.isr))
                            .with_partition_epoch(*version)
                            .with_replicas(wire_ids(ctx.replicas(&tp))),
                    )
                })
                .collect();
            LeaderAndIsrTopicState::default()
                .with_topic_name(topic_name(topic))
                .with_topic_id(ctx.topic_id(topic))
                .with_partition_states(states)
        })
        .collect();
    let live_leaders = leaders
        .into_iter()
        .filter_map(|id| ctx.live_brokers.get(&id))
        .map(|b| {
            let (host, port) = b.endpoint_for(&ctx.inter_broker_listener_name);
            LeaderAndIsrLiveLeader::default()
                .with_broker_id(wire(b.id))
                .with_host_name(StrBytes::from_string(host))
                .with_port(i32::from(port))
        })
        .collect();
    LeaderAndIsrRequest::default()
        .with_controller_id(wire(controller_id))
        .with_controller_epoch(ctx.epoch)
        // Each target broker's epoch is set when sent (`Controller::send`).
        .with_broker_epoch(-1)
        .with_topic_states(topic_states)
        .with_live_leaders(live_leaders)
}

/// UpdateMetadata with every live broker, the states of `partitions`, and
/// `deleted` partitions (and those of `partitions` whose topic is queued for
/// deletion) marked with Kafka's deletion leader (-2).
pub fn update_metadata(
    ctx: &ControllerContext,
    controller_id: BrokerId,
    partitions: &[TopicPartition],
    deleted: &[(TopicPartition, uuid::Uuid)],
) -> UpdateMetadataRequest {
    let mut topics: BTreeMap<String, UpdateMetadataTopicState> = BTreeMap::new();
    let mut add = |tp: &TopicPartition, id: uuid::Uuid, state: UpdateMetadataPartitionState| {
        topics
            .entry(tp.topic.clone())
            .or_insert_with(|| {
                UpdateMetadataTopicState::default()
                    .with_topic_name(topic_name(&tp.topic))
                    .with_topic_id(id)
            })
            .partition_states
            .push(state);
    };
    let mut deleted = deleted.to_vec();
    for tp in partitions {
        if ctx.topics_being_deleted.contains(&tp.topic) {
            // Kafka's UpdateMetadata for a topic queued for deletion.
            deleted.push((tp.clone(), ctx.topic_id(&tp.topic)));
            continue;
        }
        let Some((state, version)) = ctx.partition_states.get(tp) else {
            continue;
        };
        let replicas = ctx.replicas(tp);
        let offline: Vec<BrokerId> = replicas
            .iter()
            .copied()
            .filter(|&r| !ctx.is_live(r))
            .collect();
        add(
            tp,
            ctx.topic_id(&tp.topic),
            UpdateMetadataPartitionState::default()
                .with_topic_name(topic_name(&tp.topic))
                .with_partition_index(tp.partition)
                .with_controller_epoch(state.controller_epoch)
                .with_leader(wire(state.leader))
                .with_leader_epoch(state.leader_epoch.get())
                .with_isr(wire_ids(&state.isr))
                .with_zk_version(*version)
                .with_replicas(wire_ids(replicas))
                .with_offline_replicas(wire_ids(&offline)),
        );
    }
    for (tp, id) in &deleted {
        add(
            tp,
            *id,
            UpdateMetadataPartitionState::default()
                .with_topic_name(topic_name(&tp.topic))
                .with_partition_index(tp.partition)
                .with_controller_epoch(ctx.epoch)
                .with_leader(wire(LEADER_DURING_DELETE)),
        );
    }
    let live_brokers = ctx
        .live_brokers
        .values()
        .map(|b| {
            UpdateMetadataBroker::default()
                .with_id(wire(b.id))
                .with_endpoints(update_metadata_endpoints(b))
                .with_rack(b.rack.clone().map(StrBytes::from_string))
        })
        .collect();
    UpdateMetadataRequest::default()
        .with_controller_id(wire(controller_id))
        .with_controller_epoch(ctx.epoch)
        // Each target broker's epoch is set when sent (`Controller::send`).
        .with_broker_epoch(-1)
        .with_topic_states(topics.into_values().collect())
        .with_live_brokers(live_brokers)
}

/// Every advertised endpoint of `broker`, as UpdateMetadata carries them
/// (the legacy host/port as PLAINTEXT when the registration had none).
fn update_metadata_endpoints(broker: &LiveBroker) -> Vec<UpdateMetadataEndpoint> {
    let endpoint = |listener: &str, protocol: &str, host: &str, port: u16| {
        UpdateMetadataEndpoint::default()
            .with_port(i32::from(port))
            .with_host(StrBytes::from_string(host.to_owned()))
            .with_listener(StrBytes::from_string(listener.to_owned()))
            .with_security_protocol(security_protocol_id(protocol))
    };
    if broker.endpoints.is_empty() {
        return vec![endpoint(
            "PLAINTEXT",
            "PLAINTEXT",
            &broker.host,
            broker.port,
        )];
    }
    broker
        .endpoints
        .iter()
        .map(|e| endpoint(&e.listener_name, &e.security_protocol, &e.host, e.port))
        .collect()
}

/// Kafka's `SecurityProtocol` ids.
fn security_protocol_id(protocol: &str) -> i16 {
    match protocol {
        "SSL" => 1,
        "SASL_PLAINTEXT" => 2,
        "SASL_SSL" => 3,
        _ => 0,
    }
}

/// StopReplica with log deletion for `partitions` (topic deletion).
pub fn stop_replica_delete(
    ctx: &ControllerContext,
    controller_id: BrokerId,
    partitions: &[TopicPartition],
) -> StopReplicaRequest {
    stop_replica(ctx, controller_id, partitions, true)
}

/// StopReplica for `partitions`, deleting their logs if `delete` (with
/// Kafka's deletion epoch -2; otherwise the current leader epoch).
pub fn stop_replica(
    ctx: &ControllerContext,
    controller_id: BrokerId,
    partitions: &[TopicPartition],
    delete: bool,
) -> StopReplicaRequest {
    let topic_states = group_by_topic(partitions)
        .into_iter()
        .map(|(topic, parts)| {
            StopReplicaTopicState::default()
                .with_topic_name(topic_name(topic))
                .with_partition_states(
                    parts
                        .into_iter()
                        .map(|p| {
                            let leader_epoch = if delete {
                                -2
                            } else {
                                ctx.partition_states
                                    .get(&TopicPartition::new(topic, p))
                                    .map(|(s, _)| s.leader_epoch.get())
                                    .unwrap_or(-1)
                            };
                            StopReplicaPartitionState::default()
                                .with_partition_index(p)
                                .with_leader_epoch(leader_epoch)
                                .with_delete_partition(delete)
                        })
                        .collect(),
                )
        })
        .collect();
    StopReplicaRequest::default()
        .with_controller_id(wire(controller_id))
        .with_controller_epoch(ctx.epoch)
        // Each target broker's epoch is set when sent (`Controller::send`).
        .with_broker_epoch(-1)
        .with_topic_states(topic_states)
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod tests;
