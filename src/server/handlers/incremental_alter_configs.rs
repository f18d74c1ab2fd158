//! IncrementalAlterConfigs (key 44), versions 0-1: SET, DELETE, APPEND and
//! SUBTRACT (list keys only) on a topic's or broker's dynamic config; the
//! operations, validation and ZooKeeper writes are in `admin::config_alter`.

use kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource;
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse};

use crate::admin::AdminError;
use crate::admin::config_alter::IncrementalOp;
use crate::server::context::BrokerServices;
use crate::server::handlers::alter_configs::answer_fields;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 1);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: IncrementalAlterConfigsRequest,
) -> Option<IncrementalAlterConfigsResponse> {
    let mut responses = Vec::with_capacity(request.resources.len());
    for resource in &request.resources {
        let outcome = alter(services, resource, request.validate_only).await;
        let (error_code, error_message) =
            answer_fields("IncrementalAlterConfigs", &resource.resource_name, outcome);
        responses.push(
            AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone())
                .with_error_code(error_code)
                .with_error_message(error_message),
        );
    }
    Some(IncrementalAlterConfigsResponse::default().with_responses(responses))
}

async fn alter(
    services: &BrokerServices,
    resource: &AlterConfigsResource,
    validate_only: bool,
) -> Result<(), AdminError> {
    let ops: Vec<IncrementalOp> = resource
        .configs
        .iter()
        .map(|c| IncrementalOp {
            name: c.name.to_string(),
            op: c.config_operation,
            value: c.value.as_ref().map(|v| v.to_string()),
        })
        .collect();
    services
        .admin
        .incremental_alter_configs(
            resource.resource_type,
            &resource.resource_name,
            &ops,
            validate_only,
        )
        .await
}
