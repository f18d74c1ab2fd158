//! Metadata (key 3), versions 0-12: brokers, controller, topics with leaders,
//! replicas, ISR and offline replicas, all from the metadata cache. Unknown
//! topics are auto-created when allowed (LEADER_NOT_AVAILABLE until the
//! controller has elected leaders); topic ids (v10+) are the ids in the
//! topic znodes. Brokers are shown with their endpoints on the listener the
//! request came in on; a partition whose leader lacks that listener has no
//! leader and LISTENER_NOT_FOUND (v6+; LEADER_NOT_AVAILABLE before), as in
//! Kafka's MetadataCache.

use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::admin::topics::validate_topic_name;
use crate::metadata::{ClusterSnapshot, TopicMetadata};
use crate::server::context::BrokerServices;
use crate::server::errors::NONE;
use crate::server::listener_view;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 12);

pub async fn handle(
    services: &Arc<BrokerServices>,
    ctx: &RequestContext,
    request: MetadataRequest,
) -> Option<MetadataResponse> {
    let snapshot = services.metadata.snapshot();
    // v0: an empty list means all topics; v1+: null means all topics.
    let requested = match request.topics {
        None => None,
        Some(list) if list.is_empty() && ctx.version == 0 => None,
        Some(list) => Some(list),
    };
    let allow_auto_create = ctx.version < 4 || request.allow_auto_topic_creation;

    let topics = match requested {
        None => {
            let mut names: Vec<&String> = snapshot.topics.keys().collect();
            names.sort();
            names
                .into_iter()
                .map(|name| describe_topic(&snapshot, ctx, name, &snapshot.topics[name]))
                .collect()
        }
        Some(list) => list
            .into_iter()
            .map(|t| {
                let name = match (t.name, ctx.version >= 10 && !t.topic_id.is_nil()) {
                    (_, true) => snapshot.topic_name_by_id(t.topic_id).map(str::to_owned),
                    (Some(name), false) => Some(name.0.to_string()),
                    (None, false) => None,
                };
                match name {
                    None => error_topic(None, t.topic_id, ResponseError::UnknownTopicId),
                    Some(name) => match snapshot.topics.get(&name) {
                        Some(topic) => describe_topic(&snapshot, ctx, &name, topic),
                        None => unknown_topic(services, &name, allow_auto_create),
                    },
                }
            })
            .collect(),
    };

    let brokers: Vec<MetadataResponseBroker> =
        listener_view::alive_brokers(services, &snapshot, &ctx.listener_name)
            .into_iter()
            .map(|b| {
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b.id))
                    .with_host(StrBytes::from_string(b.host))
                    .with_port(i32::from(b.port))
                    .with_rack(b.rack.map(StrBytes::from_string))
            })
            .collect();
    Some(
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(StrBytes::from_string(
                services.metadata.cluster_id().to_owned(),
            )))
            .with_controller_id(BrokerId(snapshot.controller_id.map_or(-1, |c| c.0)))
            .with_topics(topics),
    )
}

fn describe_topic(
    snapshot: &ClusterSnapshot,
    ctx: &RequestContext,
    name: &str,
    topic: &TopicMetadata,
) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .map(|(&index, p)| {
            let no_listener =
                listener_view::alive_without_listener(snapshot, p.leader, &ctx.listener_name);
            let (error, leader) = if !p.leader.is_valid() {
                (ResponseError::LeaderNotAvailable.code(), p.leader.0)
            } else if no_listener && ctx.version >= 6 {
                (ResponseError::ListenerNotFound.code(), -1)
            } else if no_listener {
                (ResponseError::LeaderNotAvailable.code(), -1)
            } else {
                (NONE, p.leader.0)
            };
            let offline: Vec<BrokerId> = p
                .replicas
                .iter()
                .filter(|r| !snapshot.brokers.contains_key(r) || p.offline_replicas.contains(r))
                .map(|&r| BrokerId(r.0))
                .collect();
            MetadataResponsePartition::default()
                .with_error_code(error)
                .with_partition_index(index)
                .with_leader_id(BrokerId(leader))
                .with_leader_epoch(p.leader_epoch.get())
                .with_replica_nodes(p.replicas.iter().map(|&r| BrokerId(r.0)).collect())
                .with_isr_nodes(p.isr.iter().map(|&r| BrokerId(r.0)).collect())
                .with_offline_replicas(offline)
        })
        .collect();
    MetadataResponseTopic::default()
        .with_error_code(NONE)
        .with_name(Some(TopicName(StrBytes::from_string(name.to_owned()))))
        .with_topic_id(topic.topic_id)
        .with_partitions(partitions)
}

fn unknown_topic(
    services: &Arc<BrokerServices>,
    name: &str,
    allow_auto_create: bool,
) -> MetadataResponseTopic {
    if validate_topic_name(name).is_err() {
        return error_topic(
            Some(name),
            Uuid::nil(),
            ResponseError::InvalidTopicException,
        );
    }
    if allow_auto_create && services.maybe_auto_create(name) {
        return error_topic(Some(name), Uuid::nil(), ResponseError::LeaderNotAvailable);
    }
    error_topic(
        Some(name),
        Uuid::nil(),
        ResponseError::UnknownTopicOrPartition,
    )
}

fn error_topic(name: Option<&str>, topic_id: Uuid, error: ResponseError) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        // Names are nullable only from v12; an empty name is safe everywhere.
        .with_name(Some(TopicName(StrBytes::from_string(
            name.unwrap_or("").to_owned(),
        ))))
        .with_topic_id(topic_id)
}
