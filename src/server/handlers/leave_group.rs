//! LeaveGroup (key 13), versions 0-5: one member (v0-2) or a batch of members
//! identified by member id and/or group.instance.id (v3+) leave at once.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{LeaveGroupRequest, LeaveGroupResponse};

use super::group_support::sb;
use crate::server::context::BrokerServices;
use crate::server::errors::{group_error_code, group_result_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 5);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: LeaveGroupRequest,
) -> Option<LeaveGroupResponse> {
    let leaving: Vec<(String, Option<String>)> = if ctx.version < 3 {
        vec![(request.member_id.to_string(), None)]
    } else {
        request
            .members
            .iter()
            .map(|m| {
                (
                    m.member_id.to_string(),
                    m.group_instance_id.as_ref().map(|s| s.to_string()),
                )
            })
            .collect()
    };
    let response = LeaveGroupResponse::default();
    Some(
        match services
            .groups
            .leave_group(&request.group_id.0, &leaving)
            .await
        {
            Err(e) => response.with_error_code(group_error_code(&e)),
            Ok(results) if ctx.version < 3 => {
                response.with_error_code(results.first().map_or(0, group_result_code))
            }
            Ok(results) => response.with_members(
                leaving
                    .into_iter()
                    .zip(&results)
                    .map(|((member_id, instance_id), result)| {
                        MemberResponse::default()
                            .with_member_id(sb(member_id))
                            .with_group_instance_id(instance_id.map(sb))
                            .with_error_code(group_result_code(result))
                    })
                    .collect(),
            ),
        },
    )
}
