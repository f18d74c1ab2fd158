//! DescribeGroups (key 15), versions 0-5: state, protocol and members (with
//! their subscription metadata and assignment once the group is stable), and
//! the authorized operations when asked (kafka-python's admin client asks,
//! and fails on Kafka's "not requested" value).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse};

use super::group_support::sb;
use crate::server::context::BrokerServices;
use crate::server::errors::group_error_code;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 5);

/// The operations on a group (AclOperation codes READ 3, DELETE 6,
/// DESCRIBE 8) as a bit field: what Kafka reports for a group when asked
/// (v3+ `include_authorized_operations`) and no authorizer restricts it.
const ALL_GROUP_OPERATIONS: i32 = (1 << 3) | (1 << 6) | (1 << 8);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: DescribeGroupsRequest,
) -> Option<DescribeGroupsResponse> {
    let mut groups = Vec::with_capacity(request.groups.len());
    for group_id in request.groups {
        let mut described = DescribedGroup::default().with_group_id(group_id.clone());
        if request.include_authorized_operations {
            described.authorized_operations = ALL_GROUP_OPERATIONS;
        }
        groups.push(match services.groups.describe_group(&group_id.0).await {
            Err(e) => described
                .with_error_code(group_error_code(&e))
                .with_group_state(sb("Dead")),
            Ok(g) => described
                .with_group_state(sb(g.state.name()))
                .with_protocol_type(sb(g.protocol_type))
                .with_protocol_data(sb(g.protocol_name))
                .with_members(
                    g.members
                        .into_iter()
                        .map(|m| {
                            DescribedGroupMember::default()
                                .with_member_id(sb(m.member_id))
                                .with_group_instance_id(if ctx.version >= 4 {
                                    m.group_instance_id.map(sb)
                                } else {
                                    None
                                })
                                .with_client_id(sb(m.client_id))
                                .with_client_host(sb(m.client_host))
                                .with_member_metadata(m.metadata)
                                .with_member_assignment(m.assignment)
                        })
                        .collect(),
                ),
        });
    }
    Some(DescribeGroupsResponse::default().with_groups(groups))
}
