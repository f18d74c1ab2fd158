//! DeleteTopics (key 20), versions 1-6 (by name, or by topic id from v6):
//! asks the controller to delete each topic (`AdminManager::request_deletion`
//! writes `/admin/delete_topics/<t>`) and waits
//! until the topic is gone from the metadata cache or the timeout passes.
//! Only the active controller takes deletions (Kafka's ZooKeeper mode): any
//! other broker answers NOT_CONTROLLER so the client retries at the controller.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, admin_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (1, 6);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: DeleteTopicsRequest,
) -> Option<DeleteTopicsResponse> {
    let snapshot = services.metadata.snapshot();
    // v6 names topics by (name or id); older versions by name only.
    let targets: Vec<(Option<String>, Uuid)> = if ctx.version >= 6 {
        request
            .topics
            .iter()
            .map(|t| match &t.name {
                Some(name) => (Some(name.0.to_string()), t.topic_id),
                None => (
                    snapshot.topic_name_by_id(t.topic_id).map(str::to_owned),
                    t.topic_id,
                ),
            })
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
    let deadline = tokio::time::Instant::now() + timeout;
    let is_controller = services.controller.is_active_once_started(timeout).await;
    let mut results = Vec::with_capacity(targets.len());
    let mut pending = Vec::new();
    for (name, id) in targets {
        let mut result = DeletableTopicResult::default()
            .with_name(name.clone().map(|n| TopicName(StrBytes::from_string(n))));
        if ctx.version >= 6 {
            result.topic_id = id;
        }
        let error = match &name {
            _ if !is_controller => Some(ResponseError::NotController.code()),
            None => Some(ResponseError::UnknownTopicId.code()),
            // Kafka answers INVALID_REQUEST to versions before 3, which
            // predate TOPIC_DELETION_DISABLED.
            Some(_) if !services.config.delete_topic_enable => Some(if ctx.version < 3 {
                ResponseError::InvalidRequest.code()
            } else {
                ResponseError::TopicDeletionDisabled.code()
            }),
            Some(n) if !snapshot.topics.contains_key(n) => {
                Some(ResponseError::UnknownTopicOrPartition.code())
            }
            Some(n) => match services.admin.request_deletion(n).await {
                Ok(()) => {
                    pending.push((results.len(), n.clone()));
                    None
                }
                Err(e) => {
                    result.error_message = Some(StrBytes::from_string(e.to_string()));
                    Some(admin_error_code(&e))
                }
            },
        };
        result.error_code = error.unwrap_or(NONE);
        results.push(result);
    }
    for (index, name) in pending {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !services.admin.wait_for_deletion(&name, left).await {
            results[index].error_code = ResponseError::RequestTimedOut.code();
        }
    }
    Some(DeleteTopicsResponse::default().with_responses(results))
}
