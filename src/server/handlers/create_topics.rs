//! CreateTopics (key 19), versions 2-7: validates, writes the topic znodes,
//! then waits (up to the request timeout) until the controller has elected a
//! leader for every partition, so a client can produce right after.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::NONE;
use crate::server::topic_admin::{NewTopic, create_topic, wait_for_leaders};

pub const VERSIONS: (i16, i16) = (2, 7);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: CreateTopicsRequest,
) -> Option<CreateTopicsResponse> {
    let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
    let mut results = Vec::with_capacity(request.topics.len());
    let mut created = Vec::new();
    for topic in request.topics {
        let name = topic.name.0.to_string();
        let new_topic = NewTopic {
            name: name.clone(),
            partitions: if topic.num_partitions == -1 {
                services.config.num_partitions
            } else {
                topic.num_partitions
            },
            replication_factor: if topic.replication_factor == -1 {
                services.config.default_replication_factor as i16
            } else {
                topic.replication_factor
            },
            assignment: topic
                .assignments
                .iter()
                .map(|a| {
                    (
                        a.partition_index,
                        a.broker_ids.iter().map(|b| b.0).collect(),
                    )
                })
                .collect::<BTreeMap<i32, Vec<i32>>>(),
            configs: topic
                .configs
                .iter()
                .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                .collect(),
        };
        let mut result = CreatableTopicResult::default().with_name(topic.name.clone());
        match create_topic(services, &new_topic, request.validate_only).await {
            Ok(assignment) => {
                result.error_code = NONE;
                if ctx.version >= 5 {
                    result.num_partitions = assignment.len() as i32;
                    result.replication_factor =
                        assignment.values().next().map(Vec::len).unwrap_or(0) as i16;
                }
                if !request.validate_only {
                    created.push((results.len(), name, assignment.len()));
                }
            }
            Err(e) => {
                result.error_code = e.error.code();
                result.error_message = Some(StrBytes::from_string(e.message));
                if ctx.version >= 5 {
                    result.num_partitions = -1;
                    result.replication_factor = -1;
                }
            }
        }
        results.push(result);
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for (index, name, partitions) in created {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !wait_for_leaders(services, &name, partitions, left).await {
            // Kafka answers REQUEST_TIMED_OUT; the topic will still come up.
            results[index].error_code = ResponseError::RequestTimedOut.code();
        } else if ctx.version >= 7
            && let Some(t) = services.metadata.snapshot().topics.get(&name)
        {
            results[index].topic_id = t.topic_id;
        }
    }
    Some(CreateTopicsResponse::default().with_topics(results))
}
