//! The controller's requests to brokers (Kafka's control requests:
//! LeaderAndIsr, UpdateMetadata, StopReplica), the versions sent, and what
//! the channel keeps of each answer. A request is encoded once when queued
//! (`encoded_request.rs`).

use kafka_protocol::messages::{LeaderAndIsrRequest, StopReplicaRequest, UpdateMetadataRequest};

use crate::model::TopicPartition;

/// Versions this controller sends (topic ids in LeaderAndIsr v5, UpdateMetadata v7).
pub const LEADER_AND_ISR_VERSION: i16 = 5;
pub const UPDATE_METADATA_VERSION: i16 = 7;
pub const STOP_REPLICA_VERSION: i16 = 3;

#[derive(Debug, Clone)]
pub enum ControllerRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
    StopReplica(StopReplicaRequest),
}

impl ControllerRequest {
    pub(super) fn name(&self) -> &'static str {
        match self {
            ControllerRequest::LeaderAndIsr(_) => "LeaderAndIsr",
            ControllerRequest::UpdateMetadata(_) => "UpdateMetadata",
            ControllerRequest::StopReplica(_) => "StopReplica",
        }
    }
}

/// A broker's answer to a controller request.
#[derive(Debug, Clone, Default)]
pub(super) struct Answer {
    pub error_code: i16,
    /// StopReplica: each partition's error code.
    pub partition_errors: Vec<(TopicPartition, i16)>,
}

impl Answer {
    /// Every partition asked (a StopReplica's, in request order) with its
    /// error code: the top-level one if set, else the partition's (a
    /// partition missing from the answer counts as failed).
    pub(super) fn stop_replica_errors(
        self,
        asked: &[TopicPartition],
    ) -> Vec<(TopicPartition, i16)> {
        const UNKNOWN_SERVER_ERROR: i16 = -1;
        asked
            .iter()
            .cloned()
            .map(|tp| {
                let code = if self.error_code != 0 {
                    self.error_code
                } else {
                    self.partition_errors
                        .iter()
                        .find(|(answered, _)| *answered == tp)
                        .map_or(UNKNOWN_SERVER_ERROR, |(_, code)| *code)
                };
                (tp, code)
            })
            .collect()
    }
}
