//! DescribeCluster (key 60), versions 0-1: the cluster id, the active
//! controller (-1 while unknown) and every live broker with its host and port
//! on the request's listener (brokers without it left out) and rack, from the
//! metadata cache. Authorized operations are
//! Int.MinValue unless asked for (no authorizer: every cluster operation).
//! v1's endpoint type must be 1 (brokers); controllers are not separately
//! addressable in ZooKeeper mode (UNSUPPORTED_ENDPOINT_TYPE otherwise).

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse};
use kafka_protocol::protocol::StrBytes;

use crate::server::context::BrokerServices;
use crate::server::errors::NONE;
use crate::server::listener_view;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 1);

/// Kafka's "not requested" value for authorized operations.
const AUTHORIZED_OPERATIONS_OMITTED: i32 = i32::MIN;

/// Every cluster operation, as Kafka reports them when no authorizer is
/// configured (AclOperation codes: CREATE 5, ALTER 7, DESCRIBE 8,
/// CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12).
const ALL_CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// Kafka's UNSUPPORTED_ENDPOINT_TYPE (not in the protocol crate's list).
const UNSUPPORTED_ENDPOINT_TYPE: i16 = 120;

/// DescribeClusterRequest.endpoint_type for brokers.
const ENDPOINT_TYPE_BROKERS: i8 = 1;

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: DescribeClusterRequest,
) -> Option<DescribeClusterResponse> {
    let mut response = DescribeClusterResponse::default()
        .with_endpoint_type(ENDPOINT_TYPE_BROKERS)
        .with_cluster_id(StrBytes::from_string(
            services.metadata.cluster_id().to_owned(),
        ))
        .with_controller_id(BrokerId(-1))
        .with_cluster_authorized_operations(AUTHORIZED_OPERATIONS_OMITTED);
    if ctx.version >= 1 && request.endpoint_type != ENDPOINT_TYPE_BROKERS {
        return Some(
            response
                .with_error_code(UNSUPPORTED_ENDPOINT_TYPE)
                .with_error_message(Some(StrBytes::from_static_str(
                    "Only brokers can be described in ZooKeeper mode.",
                ))),
        );
    }
    let snapshot = services.metadata.snapshot();
    // The brokers as seen through the request's listener (before the first
    // UpdateMetadata: ourselves, as Metadata answers).
    let brokers: Vec<DescribeClusterBroker> =
        listener_view::alive_brokers(services, &snapshot, &ctx.listener_name)
            .into_iter()
            .map(|b| {
                DescribeClusterBroker::default()
                    .with_broker_id(BrokerId(b.id))
                    .with_host(StrBytes::from_string(b.host))
                    .with_port(i32::from(b.port))
                    .with_rack(b.rack.map(StrBytes::from_string))
            })
            .collect();
    response.error_code = NONE;
    response.controller_id = BrokerId(snapshot.controller_id.map_or(-1, |c| c.0));
    response.brokers = brokers;
    if request.include_cluster_authorized_operations {
        response.cluster_authorized_operations = ALL_CLUSTER_OPERATIONS;
    }
    Some(response)
}
