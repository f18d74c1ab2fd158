//! CreatePartitions (key 37), versions 0-3: adds partitions to existing
//! topics as Kafka's ZooKeeper-mode admin manager does
//! (`admin::topics::create_partitions` validates and rewrites the topic
//! znode). Only the active controller serves it (NOT_CONTROLLER elsewhere,
//! so clients retry there); a topic named twice is INVALID_REQUEST. The
//! controller sees the change (`controller/partition_modifications.rs`) and
//! elects leaders; the answer waits for them up to `timeout_ms`.

use std::collections::BTreeSet;
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::admin::AdminError;
use crate::model::BrokerId;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, admin_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 3);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: CreatePartitionsRequest,
) -> Option<CreatePartitionsResponse> {
    let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
    let result = |name: &kafka_protocol::messages::TopicName, error: i16, message| {
        CreatePartitionsTopicResult::default()
            .with_name(name.clone())
            .with_error_code(error)
            .with_error_message(message)
    };
    if !services.controller.is_active_once_started(timeout).await {
        let results = request
            .topics
            .iter()
            .map(|t| result(&t.name, ResponseError::NotController.code(), None))
            .collect();
        return Some(CreatePartitionsResponse::default().with_results(results));
    }
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<String> = request
        .topics
        .iter()
        .map(|t| t.name.0.to_string())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    let mut results = Vec::with_capacity(request.topics.len());
    let mut added = Vec::new();
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        if duplicates.contains(&name) {
            if !results
                .iter()
                .any(|r: &CreatePartitionsTopicResult| r.name == topic.name)
            {
                results.push(result(
                    &topic.name,
                    ResponseError::InvalidRequest.code(),
                    Some(StrBytes::from_static_str("Duplicate topic in request.")),
                ));
            }
            continue;
        }
        match add_partitions(services, topic, request.validate_only).await {
            Ok(()) => {
                if !request.validate_only {
                    added.push((results.len(), name, topic.count.max(0) as usize));
                }
                results.push(result(&topic.name, NONE, None));
            }
            Err(e) => results.push(result(
                &topic.name,
                admin_error_code(&e),
                Some(StrBytes::from_string(e.to_string())),
            )),
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for (index, name, partitions) in added {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero()
            || !services
                .admin
                .wait_for_leaders(&name, partitions, left)
                .await
        {
            // Kafka answers REQUEST_TIMED_OUT; the partitions still come up.
            results[index].error_code = ResponseError::RequestTimedOut.code();
        }
    }
    Some(CreatePartitionsResponse::default().with_results(results))
}

/// One topic of the request, translated to the admin call.
async fn add_partitions(
    services: &BrokerServices,
    request: &CreatePartitionsTopic,
    validate_only: bool,
) -> Result<(), AdminError> {
    let assignments = request.assignments.as_ref().map(|list| {
        list.iter()
            .map(|a| a.broker_ids.iter().map(|b| BrokerId(b.0)).collect())
            .collect()
    });
    services
        .admin
        .create_partitions(
            request.name.0.as_str(),
            request.count,
            assignments,
            validate_only,
        )
        .await
}
