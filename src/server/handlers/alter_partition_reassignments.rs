//! AlterPartitionReassignments (key 45), version 0: starts, replaces or (with
//! `replicas` null) cancels partition reassignments. Answered by the active
//! controller (`controller/reassignment.rs`), which answers at once and moves
//! the replicas in the background; any other broker answers NOT_CONTROLLER.

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_partition_reassignments_response::{
    ReassignablePartitionResponse, ReassignableTopicResponse,
};
use kafka_protocol::messages::{
    AlterPartitionReassignmentsRequest, AlterPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::model::{self, TopicPartition};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, controller_api_error_code, reassignment_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 0);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: AlterPartitionReassignmentsRequest,
) -> Option<AlterPartitionReassignmentsResponse> {
    let reassignments: Vec<(TopicPartition, Option<Vec<model::BrokerId>>)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| {
                (
                    TopicPartition::new(t.name.0.to_string(), p.partition_index),
                    p.replicas
                        .as_ref()
                        .map(|r| r.iter().map(|b| model::BrokerId(b.0)).collect()),
                )
            })
        })
        .collect();
    let results = match services
        .controller
        .alter_partition_reassignments(reassignments)
        .await
    {
        Ok(results) => results,
        Err(e) => {
            return Some(
                AlterPartitionReassignmentsResponse::default()
                    .with_error_code(controller_api_error_code(&e))
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            );
        }
    };
    let mut by_topic: BTreeMap<String, Vec<ReassignablePartitionResponse>> = BTreeMap::new();
    for (tp, result) in results {
        let (code, message) = match &result {
            Ok(()) => (NONE, None),
            Err(e) => (
                reassignment_error_code(e),
                Some(StrBytes::from_string(e.to_string())),
            ),
        };
        by_topic.entry(tp.topic).or_default().push(
            ReassignablePartitionResponse::default()
                .with_partition_index(tp.partition)
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    Some(
        AlterPartitionReassignmentsResponse::default().with_responses(
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    ReassignableTopicResponse::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(partitions)
                })
                .collect(),
        ),
    )
}
