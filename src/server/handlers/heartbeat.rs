//! Heartbeat (key 12), versions 0-4: keeps a member's session alive and tells
//! it when the group is rebalancing.

use kafka_protocol::messages::{HeartbeatRequest, HeartbeatResponse};

use crate::server::context::BrokerServices;
use crate::server::errors::group_result_code;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: HeartbeatRequest,
) -> Option<HeartbeatResponse> {
    let result = services
        .groups
        .heartbeat(
            &request.group_id.0,
            request.generation_id,
            &request.member_id,
            request.group_instance_id.as_deref(),
        )
        .await;
    Some(HeartbeatResponse::default().with_error_code(group_result_code(&result)))
}
