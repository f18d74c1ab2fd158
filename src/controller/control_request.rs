//! The controller's requests to brokers (Kafka's control requests:
//! LeaderAndIsr, UpdateMetadata, StopReplica), the versions sent, and what
//! the channel keeps of each answer.

use kafka_protocol::messages::{
    ApiKey, LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse,
    UpdateMetadataRequest, UpdateMetadataResponse,
};

use crate::client::{BrokerConnection, ConnectionError};
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
    /// Sends the request on `connection` and decodes the answer: its
    /// top-level error code (and StopReplica's per-partition ones).
    pub(super) async fn send_on(
        &self,
        connection: &mut BrokerConnection,
    ) -> Result<Answer, ConnectionError> {
        Ok(match self {
            ControllerRequest::LeaderAndIsr(r) => Answer {
                error_code: connection
                    .send::<_, LeaderAndIsrResponse>(
                        ApiKey::LeaderAndIsr,
                        LEADER_AND_ISR_VERSION,
                        r,
                    )
                    .await?
                    .error_code,
                ..Default::default()
            },
            ControllerRequest::UpdateMetadata(r) => Answer {
                error_code: connection
                    .send::<_, UpdateMetadataResponse>(
                        ApiKey::UpdateMetadata,
                        UPDATE_METADATA_VERSION,
                        r,
                    )
                    .await?
                    .error_code,
                ..Default::default()
            },
            ControllerRequest::StopReplica(r) => {
                let response: StopReplicaResponse = connection
                    .send(ApiKey::StopReplica, STOP_REPLICA_VERSION, r)
                    .await?;
                Answer {
                    error_code: response.error_code,
                    partition_errors: response
                        .partition_errors
                        .iter()
                        .map(|p| {
                            (
                                TopicPartition::new(p.topic_name.0.to_string(), p.partition_index),
                                p.error_code,
                            )
                        })
                        .collect(),
                }
            }
        })
    }

    /// The request addressed to a broker registered with `epoch` (-1: unknown).
    pub fn with_broker_epoch(self, epoch: i64) -> ControllerRequest {
        match self {
            ControllerRequest::LeaderAndIsr(r) => {
                ControllerRequest::LeaderAndIsr(r.with_broker_epoch(epoch))
            }
            ControllerRequest::UpdateMetadata(r) => {
                ControllerRequest::UpdateMetadata(r.with_broker_epoch(epoch))
            }
            ControllerRequest::StopReplica(r) => {
                ControllerRequest::StopReplica(r.with_broker_epoch(epoch))
            }
        }
    }

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
    /// Every partition of `request` with its error code: the top-level one
    /// if set, else the partition's (a partition missing from the answer
    /// counts as failed).
    pub(super) fn stop_replica_errors(
        self,
        request: &StopReplicaRequest,
    ) -> Vec<(TopicPartition, i16)> {
        const UNKNOWN_SERVER_ERROR: i16 = -1;
        request
            .topic_states
            .iter()
            .flat_map(|t| {
                t.partition_states
                    .iter()
                    .map(|p| TopicPartition::new(t.topic_name.0.to_string(), p.partition_index))
            })
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
