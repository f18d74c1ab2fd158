//! DeleteGroups (key 42), versions 0-2: empty groups lose their committed
//! offsets in ZooKeeper; groups with members answer NON_EMPTY_GROUP.

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse};

use crate::server::context::BrokerServices;
use crate::server::errors::group_result_code;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: DeleteGroupsRequest,
) -> Option<DeleteGroupsResponse> {
    let mut results = Vec::with_capacity(request.groups_names.len());
    for group_id in request.groups_names {
        let outcome = services.groups.delete_group(&group_id.0).await;
        results.push(
            DeletableGroupResult::default()
                .with_group_id(group_id)
                .with_error_code(group_result_code(&outcome)),
        );
    }
    Some(DeleteGroupsResponse::default().with_results(results))
}
