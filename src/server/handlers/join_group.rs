//! JoinGroup (key 11), versions 0-9: the join phase of a rebalance. From v4 a
//! member without an id gets MEMBER_ID_REQUIRED with one to rejoin with; the
//! response waits until the coordinator ends the join phase.

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse};

use super::group_support::{client_host, sb};
use crate::group::JoinRequest;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, group_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 9);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: JoinGroupRequest,
) -> Option<JoinGroupResponse> {
    let version = ctx.version;
    let join = JoinRequest {
        group_id: request.group_id.0.to_string(),
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.map(|s| s.to_string()),
        client_id: ctx.client_id().to_string(),
        client_host: client_host(ctx),
        session_timeout_ms: request.session_timeout_ms,
        // v0 has no rebalance timeout: the session timeout serves as both.
        rebalance_timeout_ms: if version == 0 {
            request.session_timeout_ms
        } else {
            request.rebalance_timeout_ms
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .into_iter()
            .map(|p| (p.name.to_string(), p.metadata))
            .collect(),
        require_known_member_id: version >= 4,
    };
    let result = services.groups.join_group(join).await;
    let error_code = result.error.as_ref().map_or(NONE, group_error_code);
    let members = result
        .members
        .into_iter()
        .map(|(member_id, instance_id, metadata)| {
            JoinGroupResponseMember::default()
                .with_member_id(sb(member_id))
                .with_group_instance_id(if version >= 5 {
                    instance_id.map(sb)
                } else {
                    None
                })
                .with_metadata(metadata)
        })
        .collect();
    // Before v7 the protocol name is not nullable.
    let protocol_name = match result.protocol_name {
        Some(name) => Some(sb(name)),
        None if version < 7 => Some(sb("")),
        None => None,
    };
    Some(
        JoinGroupResponse::default()
            .with_error_code(error_code)
            .with_generation_id(result.generation_id)
            .with_protocol_type(result.protocol_type.map(sb))
            .with_protocol_name(protocol_name)
            .with_leader(sb(result.leader_id))
            .with_skip_assignment(version >= 9 && result.skip_assignment)
            .with_member_id(sb(result.member_id))
            .with_members(members),
    )
}
