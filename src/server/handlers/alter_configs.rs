//! AlterConfigs (key 33), versions 0-2: replaces each topic's or broker's
//! whole dynamic config (Kafka's legacy, non-incremental semantics); the
//! validation and ZooKeeper writes are in `admin::config_alter`.

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::admin::AdminError;
use crate::server::context::BrokerServices;
use crate::server::errors::admin_result_fields;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: AlterConfigsRequest,
) -> Option<AlterConfigsResponse> {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in &request.resources {
        let outcome = alter(services, resource, request.validate_only).await;
        let (error_code, error_message) =
            answer_fields("AlterConfigs", &resource.resource_name, outcome);
        responses.push(
            AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                .with_error_code(error_code)
                .with_error_message(error_message),
        );
    }
    Some(AlterConfigsResponse::default().with_responses(responses))
}

/// A resource's (error code, error message) in an AlterConfigs or
/// IncrementalAlterConfigs answer: NONE, or the refusal, logged under `api`.
pub fn answer_fields(
    api: &str,
    resource_name: &str,
    outcome: Result<(), AdminError>,
) -> (i16, Option<StrBytes>) {
    if let Err(e) = &outcome {
        tracing::info!(resource = %resource_name, error = %e, "{api} refused");
    }
    let (code, message) = admin_result_fields(&outcome);
    (code, message.map(StrBytes::from_string))
}

async fn alter(
    services: &BrokerServices,
    resource: &kafka_protocol::messages::alter_configs_request::AlterConfigsResource,
    validate_only: bool,
) -> Result<(), AdminError> {
    let configs: Vec<(String, Option<String>)> = resource
        .configs
        .iter()
        .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
        .collect();
    services
        .admin
        .alter_configs(
            resource.resource_type,
            &resource.resource_name,
            &configs,
            validate_only,
        )
        .await
}
