//! StopReplica (key 5), versions 3-4: stop following partitions, and stop
//! hosting them and delete their logs when the controller asks (topic
//! deletion, a reassignment's removed replicas), on tokio's blocking pool.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{StopReplicaRequest, StopReplicaResponse};

use crate::model::TopicPartition;
use crate::replica::{ReplicaError, ReplicaManager};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::handlers::controller_request::is_for_an_older_registration;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (3, 4);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: StopReplicaRequest,
) -> Option<StopReplicaResponse> {
    if is_for_an_older_registration(services, "StopReplica", request.broker_epoch) {
        return Some(
            StopReplicaResponse::default().with_error_code(ResponseError::StaleBrokerEpoch.code()),
        );
    }
    // Deleting a log removes its files: on the blocking pool, not a worker.
    let replica_manager = services.replica_manager.clone();
    let stopped =
        tokio::task::spawn_blocking(move || stop_replicas(&replica_manager, &request)).await;
    match stopped {
        Ok(response) => Some(response),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

fn stop_replicas(
    replica_manager: &ReplicaManager,
    request: &StopReplicaRequest,
) -> StopReplicaResponse {
    let mut errors = Vec::new();
    for topic in &request.topic_states {
        for p in &topic.partition_states {
            let tp = TopicPartition::new(topic.topic_name.0.to_string(), p.partition_index);
            let result =
                replica_manager.stop_replica(request.controller_epoch, &tp, p.delete_partition);
            if let Err(stale @ ReplicaError::StaleControllerEpoch { .. }) = &result {
                return StopReplicaResponse::default().with_error_code(replica_error_code(stale));
            }
            errors.push(
                StopReplicaPartitionError::default()
                    .with_topic_name(topic.topic_name.clone())
                    .with_partition_index(p.partition_index)
                    .with_error_code(result.err().map(|e| replica_error_code(&e)).unwrap_or(NONE)),
            );
        }
    }
    StopReplicaResponse::default().with_partition_errors(errors)
}
