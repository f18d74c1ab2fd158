//! ApiVersions (key 18), versions 0-3: the API ranges this broker serves.
//! Optional tagged fields (features) stay empty: older librdkafka trips on some.

use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use crate::server::context::BrokerServices;
use crate::server::dispatch::{RequestContext, supported_api_versions};

pub const VERSIONS: (i16, i16) = (0, 3);

pub async fn handle(
    _services: &BrokerServices,
    _ctx: &RequestContext,
    _request: ApiVersionsRequest,
) -> Option<ApiVersionsResponse> {
    Some(ApiVersionsResponse::default().with_api_keys(supported_api_versions()))
}
