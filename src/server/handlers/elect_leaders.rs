//! ElectLeaders (key 43), versions 0-2: preferred (type 0) or unclean (type 1,
//! from version 1) leader election for the named partitions, or all of them
//! when the list is null. Answered by the active controller; any other broker
//! answers NOT_CONTROLLER. As in Kafka, the answer waits (up to the request's
//! timeout) until the local metadata shows the new leaders, and an election
//! over all partitions lists only the partitions that needed one.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::elect_leaders_response::{PartitionResult, ReplicaElectionResult};
use kafka_protocol::messages::{ElectLeadersRequest, ElectLeadersResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::controller::{ElectionOutcome, ElectionType};
use crate::model::TopicPartition;
use crate::replica::wait_for;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, controller_api_error_code, election_outcome_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: ElectLeadersRequest,
) -> Option<ElectLeadersResponse> {
    let requested: Option<Vec<TopicPartition>> = request.topic_partitions.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|&p| TopicPartition::new(t.topic.0.to_string(), p))
            })
            .collect()
    });
    let election_type = match (ctx.version, request.election_type) {
        (0, _) | (_, 0) => ElectionType::Preferred,
        (_, 1) => ElectionType::Unclean,
        _ => {
            return Some(
                ElectLeadersResponse::default()
                    .with_error_code(ResponseError::InvalidRequest.code()),
            );
        }
    };
    let all = requested.is_none();
    match services
        .controller
        .elect_leaders(election_type, requested.clone())
        .await
    {
        Ok(outcome) => {
            let elected: Vec<&TopicPartition> = outcome
                .iter()
                .filter(|(_, o)| **o == ElectionOutcome::Elected)
                .map(|(tp, _)| tp)
                .collect();
            let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
            if !wait_for_new_leaders(services, &elected, election_type, timeout).await {
                tracing::debug!(
                    "ElectLeaders answered before the metadata cache showed every new leader"
                );
            }
            let results: Vec<(TopicPartition, i16)> = outcome
                .into_iter()
                .filter(|(_, o)| !(all && *o == ElectionOutcome::NotNeeded))
                .map(|(tp, o)| (tp, election_outcome_code(o)))
                .collect();
            Some(response(NONE, results))
        }
        Err(e) => {
            let code = controller_api_error_code(&e);
            let results = requested
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, code))
                .collect();
            Some(response(code, results))
        }
    }
}

/// Waits (at most `timeout`) until this broker's metadata cache shows the
/// elected leaders (as Kafka's delayed ElectLeaders does): the preferred
/// replica for a preferred election, any leader for an unclean one.
async fn wait_for_new_leaders(
    services: &BrokerServices,
    elected: &[&TopicPartition],
    election_type: ElectionType,
    timeout: Duration,
) -> bool {
    if elected.is_empty() {
        return true;
    }
    wait_for(services.metadata.subscribe(), timeout, || {
        let snapshot = services.metadata.snapshot();
        elected
            .iter()
            .all(|tp| {
                snapshot
                    .partition(&tp.topic, tp.partition)
                    .is_some_and(|p| match election_type {
                        ElectionType::Preferred => p.replicas.first() == Some(&p.leader),
                        ElectionType::Unclean => p.leader.is_valid(),
                    })
            })
            .then_some(())
    })
    .await
    .is_some()
}

fn response(error_code: i16, results: Vec<(TopicPartition, i16)>) -> ElectLeadersResponse {
    let mut by_topic: BTreeMap<String, Vec<PartitionResult>> = BTreeMap::new();
    for (tp, code) in results {
        let message = ResponseError::try_from_code(code)
            .filter(|_| code != NONE)
            .map(|e| StrBytes::from_string(e.to_string()));
        by_topic.entry(tp.topic).or_default().push(
            PartitionResult::default()
                .with_partition_id(tp.partition)
                .with_error_code(code)
                .with_error_message(message),
        );
    }
    ElectLeadersResponse::default()
        .with_error_code(error_code)
        .with_replica_election_results(
            by_topic
                .into_iter()
                .map(|(topic, partitions)| {
                    ReplicaElectionResult::default()
                        .with_topic(TopicName(StrBytes::from_string(topic)))
                        .with_partition_result(partitions)
                })
                .collect(),
        )
}
