//! SyncGroup (key 14), versions 0-5: the leader hands in the assignment,
//! every member waits for its share.

use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};

use super::group_support::sb;
use crate::server::context::BrokerServices;
use crate::server::errors::group_error_code;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: SyncGroupRequest,
) -> Option<SyncGroupResponse> {
    let assignments = request
        .assignments
        .into_iter()
        .map(|a| (a.member_id.to_string(), a.assignment))
        .collect();
    let protocol_type = request.protocol_type.map(|s| s.to_string());
    let protocol_name = request.protocol_name.map(|s| s.to_string());
    let outcome = services
        .groups
        .sync_group(
            &request.group_id.0,
            request.generation_id,
            &request.member_id,
            request.group_instance_id.as_deref(),
            protocol_type.as_deref(),
            protocol_name.as_deref(),
            assignments,
        )
        .await;
    let response = SyncGroupResponse::default();
    Some(match outcome {
        Ok(result) => {
            let response = response.with_assignment(result.assignment);
            if ctx.version >= 5 {
                response
                    .with_protocol_type(result.protocol_type.map(sb))
                    .with_protocol_name(result.protocol_name.map(sb))
            } else {
                response
            }
        }
        Err(e) => response.with_error_code(group_error_code(&e)),
    })
}
