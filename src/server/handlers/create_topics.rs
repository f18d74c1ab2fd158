//! CreateTopics (key 19), versions 2-7: validates, writes the topic znodes,
//! then waits (up to the request timeout) until the controller has elected a
//! leader for every partition, so a client can produce right after. Only the
//! active controller creates topics (Kafka's ZooKeeper mode): any other broker
//! answers NOT_CONTROLLER so the client retries at the controller.

use std::collections::BTreeMap;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::admin::AdminError;
use crate::admin::config_alter::null_value_names;
use crate::admin::config_describe::topic_entries;
use crate::admin::topics::NewTopic;
use crate::model;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, admin_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (2, 7);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: CreateTopicsRequest,
) -> Option<CreateTopicsResponse> {
    let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
    if !services.controller.is_active_once_started(timeout).await {
        return Some(not_controller(ctx, &request));
    }
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
                        a.broker_ids.iter().map(|b| model::BrokerId(b.0)).collect(),
                    )
                })
                .collect::<BTreeMap<i32, Vec<model::BrokerId>>>(),
            configs: topic
                .configs
                .iter()
                .filter_map(|c| Some((c.name.to_string(), c.value.as_ref()?.to_string())))
                .collect(),
        };
        let mut result = CreatableTopicResult::default().with_name(topic.name.clone());
        let outcome = match invalid_request(services, &topic) {
            Some(e) => Err(e),
            None => {
                services
                    .admin
                    .create_topic(&new_topic, request.validate_only)
                    .await
            }
        };
        match outcome {
            Ok(assignment) => {
                result.error_code = NONE;
                if ctx.version >= 5 {
                    result.num_partitions = assignment.len() as i32;
                    result.replication_factor =
                        assignment.values().next().map(Vec::len).unwrap_or(0) as i16;
                    let configs = &services.dynamic_configs;
                    result.configs = Some(
                        topic_entries(&configs.effective(), &configs.layers(), &new_topic.configs)
                            .into_iter()
                            .map(|c| {
                                CreatableTopicConfigs::default()
                                    .with_name(StrBytes::from_string(c.name))
                                    .with_value(c.value.map(StrBytes::from_string))
                                    .with_read_only(c.read_only)
                                    .with_is_sensitive(c.is_sensitive)
                                    .with_config_source(c.source)
                            })
                            .collect(),
                    );
                }
                if !request.validate_only {
                    created.push((results.len(), name, assignment.len()));
                }
            }
            Err(e) => {
                result.error_code = admin_error_code(&e);
                result.error_message = Some(StrBytes::from_string(e.to_string()));
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
        if !services
            .admin
            .wait_for_leaders(&name, partitions, left)
            .await
        {
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

/// Every topic NOT_CONTROLLER: this broker is not the active controller.
fn not_controller(ctx: &RequestContext, request: &CreateTopicsRequest) -> CreateTopicsResponse {
    let results = request
        .topics
        .iter()
        .map(|topic| {
            let mut result = CreatableTopicResult::default()
                .with_name(topic.name.clone())
                .with_error_code(ResponseError::NotController.code());
            if ctx.version >= 5 {
                result.num_partitions = -1;
                result.replication_factor = -1;
            }
            result
        })
        .collect();
    CreateTopicsResponse::default().with_topics(results)
}

/// Kafka's checks of the request itself (after "already exists", which
/// `create_topic` reports): null config values, and an explicit assignment
/// together with a partition count or replication factor, are INVALID_REQUEST.
fn invalid_request(services: &BrokerServices, topic: &CreatableTopic) -> Option<AdminError> {
    let invalid = |message: String| Some(AdminError::invalid_request(message));
    if services
        .metadata
        .snapshot()
        .topics
        .contains_key(topic.name.0.as_str())
    {
        return None;
    }
    let configs = topic.configs.iter();
    if let Some(nulls) = null_value_names(configs.map(|c| (c.name.as_str(), c.value.is_none()))) {
        return invalid(format!(
            "Null value not supported for topic configs : {nulls}"
        ));
    }
    if (topic.num_partitions != -1 || topic.replication_factor != -1)
        && !topic.assignments.is_empty()
    {
        return invalid(
            "Both numPartitions or replicationFactor and replicasAssignments were set. \
             Both cannot be used at the same time."
                .to_owned(),
        );
    }
    None
}
