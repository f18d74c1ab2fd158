//! LeaderAndIsr (key 4), versions 2-7: the controller tells this broker which
//! partitions it hosts and who leads them. Requests from an older controller
//! epoch are refused with STALE_CONTROLLER_EPOCH (and so is a partition state
//! not newer than the applied one). The live leaders' addresses tell
//! followers where to fetch from; each topic's overrides are read from
//! `/config/topics/<t>` here (all topics at once) and applied to its logs
//! (min.insync.replicas, retention, segment and message settings). Applying
//! the states opens and creates logs and writes checkpoints: that runs on
//! tokio's blocking pool, never on the workers serving other requests.

use std::collections::HashMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::leader_and_isr_response::{
    LeaderAndIsrPartitionError, LeaderAndIsrTopicError,
};
use kafka_protocol::messages::{LeaderAndIsrRequest, LeaderAndIsrResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::metadata::BrokerEndpoint;
use crate::model::{BrokerId, LeaderAndIsr, LeaderEpoch, TopicPartition};
use crate::replica::PartitionStateUpdate;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::handlers::controller_request::{self, is_for_an_older_registration};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (2, 7);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: LeaderAndIsrRequest,
) -> Option<LeaderAndIsrResponse> {
    let partitions = request
        .topic_states
        .iter()
        .map(|t| t.partition_states.len())
        .sum();
    controller_request::apply_then_release(partitions, apply(services, ctx, request)).await
}

async fn apply(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: LeaderAndIsrRequest,
) -> Option<LeaderAndIsrResponse> {
    if is_for_an_older_registration(services, "LeaderAndIsr", request.broker_epoch) {
        return Some(
            LeaderAndIsrResponse::default().with_error_code(ResponseError::StaleBrokerEpoch.code()),
        );
    }
    let mut updates = Vec::new();
    let mut topic_ids = Vec::new();
    let mut topic_overrides = Vec::new();
    let names: Vec<String> = request
        .topic_states
        .iter()
        .map(|t| t.topic_name.0.to_string())
        .collect();
    let mut configs = services.admin.read_topic_configs(&names).await;
    for topic in &request.topic_states {
        topic_ids.push((topic.topic_name.0.to_string(), topic.topic_id));
        let overrides = configs
            .remove(topic.topic_name.0.as_str())
            .unwrap_or_default();
        let min_insync_replicas = Some(services.dynamic_configs.min_insync_replicas(&overrides));
        topic_overrides.push((topic.topic_name.0.to_string(), overrides));
        for p in &topic.partition_states {
            updates.push(PartitionStateUpdate {
                tp: TopicPartition::new(topic.topic_name.0.to_string(), p.partition_index),
                topic_id: topic.topic_id,
                leader_and_isr: LeaderAndIsr {
                    leader: BrokerId(p.leader.0),
                    leader_epoch: LeaderEpoch::new(p.leader_epoch),
                    isr: p.isr.iter().map(|b| BrokerId(b.0)).collect(),
                    zk_version: p.partition_epoch,
                },
                replicas: p.replicas.iter().map(|b| BrokerId(b.0)).collect(),
                min_insync_replicas,
            });
        }
    }
    // Followers fetch over this broker's inter.broker.listener.name: the
    // leader's endpoint for it from the metadata cache when known (Kafka's
    // makeFollowers), else the controller's live-leader address.
    let snapshot = services.metadata.snapshot();
    let inter_broker = services.config.inter_broker_listener_name.as_str();
    let leaders: HashMap<BrokerId, BrokerEndpoint> = request
        .live_leaders
        .iter()
        .map(|l| {
            let known = snapshot
                .brokers
                .get(&BrokerId(l.broker_id.0))
                .and_then(|b| b.on_listener(inter_broker));
            let (host, port) = match known {
                Some(e) => (e.host.clone(), e.port),
                None => (
                    l.host_name.to_string(),
                    l.port.clamp(0, u16::MAX as i32) as u16,
                ),
            };
            let endpoint = BrokerEndpoint {
                id: BrokerId(l.broker_id.0),
                host,
                port,
                rack: None,
                listeners: Vec::new(),
            };
            (endpoint.id, endpoint)
        })
        .collect();
    let replica_manager = services.replica_manager.clone();
    let controller_epoch = request.controller_epoch;
    let applied = tokio::task::spawn_blocking(move || {
        replica_manager.become_leader_or_follower(controller_epoch, updates, &leaders)
    })
    .await;
    let outcome = match applied {
        Ok(outcome) => outcome,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };
    // The topic's overrides on top of the broker's (dynamic) log settings.
    for (topic, overrides) in &topic_overrides {
        services.admin.apply_topic_overrides(topic, overrides);
    }
    let mut response = LeaderAndIsrResponse::default();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(error = %e, "refused LeaderAndIsr");
            response.error_code = replica_error_code(&e);
            return Some(response);
        }
    };
    let errors: Vec<(TopicPartition, i16)> = outcome
        .into_iter()
        .map(|(tp, r)| (tp, r.err().map(|e| replica_error_code(&e)).unwrap_or(NONE)))
        .collect();
    if ctx.version >= 5 {
        response.topics = topic_ids
            .into_iter()
            .map(|(name, id)| {
                LeaderAndIsrTopicError::default()
                    .with_topic_id(id)
                    .with_partition_errors(
                        errors
                            .iter()
                            .filter(|(tp, _)| tp.topic == name)
                            .map(|(tp, code)| partition_error(tp, *code))
                            .collect(),
                    )
            })
            .collect();
    } else {
        response.partition_errors = errors
            .iter()
            .map(|(tp, code)| partition_error(tp, *code))
            .collect();
    }
    Some(response)
}

fn partition_error(tp: &TopicPartition, code: i16) -> LeaderAndIsrPartitionError {
    LeaderAndIsrPartitionError::default()
        .with_topic_name(TopicName(StrBytes::from_string(tp.topic.clone())))
        .with_partition_index(tp.partition)
        .with_error_code(code)
}
