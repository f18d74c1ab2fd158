//! UpdateMetadata (key 6), versions 5-8: the controller's picture of live
//! brokers (every advertised endpoint of each) and partition leaders, applied
//! to the metadata cache. Requests from an older controller epoch get
//! STALE_CONTROLLER_EPOCH.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{UpdateMetadataRequest, UpdateMetadataResponse};

use crate::metadata::{BrokerEndpoint, ListenerEndpoint, MetadataUpdate, PartitionMetadata};
use crate::model::{BrokerId, LeaderEpoch};
use crate::server::context::BrokerServices;
use crate::server::handlers::controller_request::{self, is_for_an_older_registration};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (5, 8);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: UpdateMetadataRequest,
) -> Option<UpdateMetadataResponse> {
    let partitions = request
        .topic_states
        .iter()
        .map(|t| t.partition_states.len())
        .sum();
    controller_request::apply_then_release(partitions, apply(services, ctx, request)).await
}

async fn apply(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: UpdateMetadataRequest,
) -> Option<UpdateMetadataResponse> {
    if is_for_an_older_registration(services, "UpdateMetadata", request.broker_epoch) {
        return Some(
            UpdateMetadataResponse::default()
                .with_error_code(ResponseError::StaleBrokerEpoch.code()),
        );
    }
    let current = services.metadata.snapshot().controller_epoch;
    if request.controller_epoch < current {
        tracing::warn!(
            request_epoch = request.controller_epoch,
            current,
            "refused UpdateMetadata from an older controller"
        );
        return Some(
            UpdateMetadataResponse::default()
                .with_error_code(ResponseError::StaleControllerEpoch.code()),
        );
    }
    // Every endpoint of every live broker is kept; host/port are the one on
    // this broker's inter.broker.listener.name (else PLAINTEXT, else the first).
    let inter_broker = services.config.inter_broker_listener_name.as_str();
    let live_brokers = request
        .live_brokers
        .iter()
        .filter_map(|b| {
            let listeners: Vec<ListenerEndpoint> = b
                .endpoints
                .iter()
                .map(|e| ListenerEndpoint {
                    listener: e.listener.to_string(),
                    host: e.host.to_string(),
                    port: e.port.clamp(0, i32::from(u16::MAX)) as u16,
                })
                .collect();
            let endpoint = listeners
                .iter()
                .find(|e| e.listener == inter_broker)
                .or_else(|| listeners.iter().find(|e| e.listener == "PLAINTEXT"))
                .or_else(|| listeners.first())?
                .clone();
            Some(BrokerEndpoint {
                id: BrokerId(b.id.0),
                host: endpoint.host,
                port: endpoint.port,
                rack: b.rack.as_ref().map(|r| r.to_string()),
                listeners,
            })
        })
        .collect();
    let partitions = request
        .topic_states
        .iter()
        .flat_map(|t| {
            t.partition_states.iter().map(move |p| {
                (
                    t.topic_name.0.to_string(),
                    t.topic_id,
                    p.partition_index,
                    PartitionMetadata {
                        leader: BrokerId(p.leader.0),
                        leader_epoch: LeaderEpoch::new(p.leader_epoch),
                        isr: p.isr.iter().map(|b| BrokerId(b.0)).collect(),
                        replicas: p.replicas.iter().map(|b| BrokerId(b.0)).collect(),
                        offline_replicas: p
                            .offline_replicas
                            .iter()
                            .map(|b| BrokerId(b.0))
                            .collect(),
                        zk_version: p.zk_version,
                    },
                )
            })
        })
        .collect();
    services.metadata.apply(MetadataUpdate {
        controller_id: BrokerId(request.controller_id.0),
        controller_epoch: request.controller_epoch,
        live_brokers,
        partitions,
    });
    Some(UpdateMetadataResponse::default())
}
