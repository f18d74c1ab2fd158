//! FindCoordinator (key 10), versions 0-3. Until the group coordinator issue,
//! this broker coordinates every group it is asked about; transaction
//! coordinators are not offered (COORDINATOR_NOT_AVAILABLE).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 3);

const GROUP: i8 = 0;

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: FindCoordinatorRequest,
) -> Option<FindCoordinatorResponse> {
    let response = FindCoordinatorResponse::default();
    if request.key_type != GROUP {
        return Some(
            response
                .with_error_code(ResponseError::CoordinatorNotAvailable.code())
                .with_node_id(BrokerId(-1))
                .with_port(-1),
        );
    }
    Some(
        response
            .with_node_id(BrokerId(services.broker_id))
            .with_host(StrBytes::from_string(services.advertised_host.clone()))
            .with_port(services.advertised_port as i32),
    )
}
