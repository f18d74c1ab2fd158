//! ListGroups (key 16), versions 0-4: the groups this broker coordinates
//! (in memory, or known only by committed offsets in ZooKeeper), optionally
//! filtered by state (v4). Clients ask every broker and merge.

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse};

use super::group_support::sb;
use crate::group::GroupState;
use crate::server::context::BrokerServices;
use crate::server::errors::group_error_code;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: ListGroupsRequest,
) -> Option<ListGroupsResponse> {
    let filter: Vec<Option<GroupState>> = request
        .states_filter
        .iter()
        .map(|s| GroupState::parse(s))
        .collect();
    let response = ListGroupsResponse::default();
    Some(match services.groups.list_groups().await {
        Err(e) => response.with_error_code(group_error_code(&e)),
        Ok(groups) => response.with_groups(
            groups
                .into_iter()
                .filter(|g| filter.is_empty() || filter.contains(&Some(g.state)))
                .map(|g| {
                    let listed = ListedGroup::default()
                        .with_group_id(GroupId(sb(g.group_id)))
                        .with_protocol_type(sb(g.protocol_type));
                    if ctx.version >= 4 {
                        listed.with_group_state(sb(g.state.name()))
                    } else {
                        listed
                    }
                })
                .collect(),
        ),
    })
}
