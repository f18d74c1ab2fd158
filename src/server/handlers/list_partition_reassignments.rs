//! ListPartitionReassignments (key 46), version 0: the reassignments in
//! flight (of the named partitions, or all when `topics` is null) with their
//! full replica set and the replicas being added and removed, from the
//! active controller's state; any other broker answers NOT_CONTROLLER.
//! Partitions not being reassigned (or unknown) are left out, as in Kafka.

use std::collections::BTreeMap;

use kafka_protocol::messages::list_partition_reassignments_response::{
    OngoingPartitionReassignment, OngoingTopicReassignment,
};
use kafka_protocol::messages::{
    BrokerId, ListPartitionReassignmentsRequest, ListPartitionReassignmentsResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::model::{self, TopicPartition};
use crate::server::context::BrokerServices;
use crate::server::errors::controller_api_error_code;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 0);

fn ids(list: &[model::BrokerId]) -> Vec<BrokerId> {
    list.iter().map(|b| BrokerId(b.0)).collect()
}

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: ListPartitionReassignmentsRequest,
) -> Option<ListPartitionReassignmentsResponse> {
    let partitions: Option<Vec<TopicPartition>> = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partition_indexes
                    .iter()
                    .map(|&p| TopicPartition::new(t.name.0.to_string(), p))
            })
            .collect()
    });
    let listed = match services
        .controller
        .list_partition_reassignments(partitions)
        .await
    {
        Ok(listed) => listed,
        Err(e) => {
            return Some(
                ListPartitionReassignmentsResponse::default()
                    .with_error_code(controller_api_error_code(&e))
                    .with_error_message(Some(StrBytes::from_string(e.to_string()))),
            );
        }
    };
    let mut by_topic: BTreeMap<String, Vec<OngoingPartitionReassignment>> = BTreeMap::new();
    for (tp, assignment) in listed {
        by_topic.entry(tp.topic).or_default().push(
            OngoingPartitionReassignment::default()
                .with_partition_index(tp.partition)
                .with_replicas(ids(&assignment.replicas))
                .with_adding_replicas(ids(&assignment.adding))
                .with_removing_replicas(ids(&assignment.removing)),
        );
    }
    Some(
        ListPartitionReassignmentsResponse::default().with_topics(
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    OngoingTopicReassignment::default()
                        .with_name(TopicName(StrBytes::from_string(topic)))
                        .with_partitions(partitions)
                })
                .collect(),
        ),
    )
}
