//! The console's Kafka-protocol calls about consumer groups, as
//! kafka-consumer-groups.sh makes them: ListGroups to every broker,
//! FindCoordinator, DescribeGroups and OffsetFetch to a group's coordinator.
//! Each on a fresh connection bounded like every console call
//! (`broker_calls::call`).

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, DescribeGroupsResponse, FindCoordinatorRequest,
    FindCoordinatorResponse, GroupId, ListGroupsRequest, ListGroupsResponse, OffsetFetchRequest,
    OffsetFetchResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::broker_calls::call;
use super::error::ConsoleError;
use crate::metadata::BrokerEndpoint;
use crate::model::TopicPartition;

/// A refusal (COORDINATOR_NOT_AVAILABLE and the like), with its code.
fn refused(broker: &BrokerEndpoint, what: &str, code: i16) -> ConsoleError {
    ConsoleError::BrokerUnavailable {
        broker: broker.id,
        reason: format!("{what}: error code {code}"),
    }
}

/// The groups `broker` coordinates: (group id, protocol type).
pub async fn list_groups(broker: &BrokerEndpoint) -> Result<Vec<(String, String)>, ConsoleError> {
    let response: ListGroupsResponse =
        call(broker, ApiKey::ListGroups, 3, &ListGroupsRequest::default()).await?;
    if response.error_code != 0 {
        return Err(refused(broker, "ListGroups", response.error_code));
    }
    Ok(response
        .groups
        .into_iter()
        .map(|g| (g.group_id.0.to_string(), g.protocol_type.to_string()))
        .collect())
}

/// The coordinator of `group`, asked of `any` broker.
pub async fn find_coordinator(
    any: &BrokerEndpoint,
    group: &str,
) -> Result<BrokerEndpoint, ConsoleError> {
    let response: FindCoordinatorResponse = call(
        any,
        ApiKey::FindCoordinator,
        1,
        &FindCoordinatorRequest::default().with_key(StrBytes::from_string(group.to_owned())),
    )
    .await?;
    if response.error_code != 0 {
        return Err(refused(any, "FindCoordinator", response.error_code));
    }
    Ok(BrokerEndpoint {
        id: crate::model::BrokerId(response.node_id.0),
        host: response.host.to_string(),
        port: u16::try_from(response.port).unwrap_or(0),
        rack: None,
        listeners: Vec::new(),
    })
}

/// DescribeGroups v1 of `groups` at their coordinator.
pub async fn describe_groups(
    coordinator: &BrokerEndpoint,
    groups: &[String],
) -> Result<Vec<DescribedGroup>, ConsoleError> {
    let request = DescribeGroupsRequest::default().with_groups(
        groups
            .iter()
            .map(|g| GroupId(StrBytes::from_string(g.clone())))
            .collect(),
    );
    let response: DescribeGroupsResponse =
        call(coordinator, ApiKey::DescribeGroups, 1, &request).await?;
    Ok(response.groups)
}

/// Every committed offset of `group` (OffsetFetch v2, all topics).
pub async fn committed_offsets(
    coordinator: &BrokerEndpoint,
    group: &str,
) -> Result<BTreeMap<TopicPartition, i64>, ConsoleError> {
    let request = OffsetFetchRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_topics(None);
    let response: OffsetFetchResponse = call(coordinator, ApiKey::OffsetFetch, 2, &request).await?;
    if response.error_code != 0 {
        return Err(refused(coordinator, "OffsetFetch", response.error_code));
    }
    let mut out = BTreeMap::new();
    for topic in response.topics {
        for p in topic.partitions {
            if p.error_code == 0 && p.committed_offset >= 0 {
                out.insert(
                    TopicPartition::new(topic.name.0.to_string(), p.partition_index),
                    p.committed_offset,
                );
            }
        }
    }
    Ok(out)
}
