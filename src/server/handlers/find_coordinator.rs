//! FindCoordinator (key 10), versions 0-4 (v4 batches keys). The group
//! coordinator is a deterministic function of the group id and the live
//! brokers (`group::coordinator_choice`: rendezvous hashing), so any broker
//! with current metadata answers the same; the broker named still serves the
//! group only once it holds its owner znode (`group::ownership`). The coordinator's endpoint is the one on the
//! request's listener; a coordinator without that listener, like transaction
//! coordinators (not offered), is COORDINATOR_NOT_AVAILABLE.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use crate::server::context::BrokerServices;
use crate::server::listener_view;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

const GROUP: i8 = 0;

/// How long a broker that has just started waits for its first
/// UpdateMetadata (which tells it the live brokers) before answering
/// COORDINATOR_NOT_AVAILABLE, so the first client after start-up is not
/// sent away to retry.
const FIRST_METADATA_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits (bounded) until the metadata cache knows at least one live broker.
async fn wait_for_live_brokers(services: &BrokerServices) {
    let mut updates = services.metadata.subscribe();
    let known = || !services.metadata.snapshot().brokers.is_empty();
    if known() {
        return;
    }
    let _ = tokio::time::timeout(FIRST_METADATA_WAIT, async {
        while !known() {
            if updates.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
}

/// (error code, node id, host, port) for one key, as reached through
/// `listener`: a coordinator without that listener is not available.
fn locate(
    services: &BrokerServices,
    listener: &str,
    key_type: i8,
    key: &str,
) -> (i16, i32, String, i32) {
    let unavailable = (
        ResponseError::CoordinatorNotAvailable.code(),
        -1,
        String::new(),
        -1,
    );
    if key_type != GROUP {
        return unavailable;
    }
    let Some(node) = services.groups.coordinator_of(key) else {
        return unavailable;
    };
    let snapshot = services.metadata.snapshot();
    match listener_view::endpoint(&snapshot, node, listener) {
        Some(endpoint) => (0, node.0, endpoint.host.clone(), i32::from(endpoint.port)),
        None => unavailable,
    }
}

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: FindCoordinatorRequest,
) -> Option<FindCoordinatorResponse> {
    wait_for_live_brokers(services).await;
    let response = FindCoordinatorResponse::default();
    if ctx.version >= 4 {
        let coordinators = request
            .coordinator_keys
            .iter()
            .map(|key| {
                let (code, node, host, port) =
                    locate(services, &ctx.listener_name, request.key_type, key);
                Coordinator::default()
                    .with_key(key.clone())
                    .with_node_id(BrokerId(node))
                    .with_host(StrBytes::from_string(host))
                    .with_port(port)
                    .with_error_code(code)
            })
            .collect();
        return Some(response.with_coordinators(coordinators));
    }
    let (code, node, host, port) =
        locate(services, &ctx.listener_name, request.key_type, &request.key);
    Some(
        response
            .with_error_code(code)
            .with_node_id(BrokerId(node))
            .with_host(StrBytes::from_string(host))
            .with_port(port),
    )
}
