//! ControlledShutdown (key 7), versions 1-3: a broker about to stop asks the
//! controller to move its leaderships away. Only the active controller
//! answers with anything but NOT_CONTROLLER; the answer lists the partitions
//! the broker still leads (it retries while there are any). Version 0 is left
//! out: it has a header without a client id, which no client sends any more.

use kafka_protocol::messages::controlled_shutdown_response::RemainingPartition;
use kafka_protocol::messages::{ControlledShutdownRequest, ControlledShutdownResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::model;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, controller_api_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (1, 3);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: ControlledShutdownRequest,
) -> Option<ControlledShutdownResponse> {
    // The broker epoch arrived with version 2; older requests do not check it.
    let broker_epoch = if ctx.version >= 2 {
        request.broker_epoch
    } else {
        -1
    };
    let outcome = services
        .controller
        .controlled_shutdown(model::BrokerId(request.broker_id.0), broker_epoch)
        .await;
    let response = match outcome {
        Ok(remaining) => ControlledShutdownResponse::default()
            .with_error_code(NONE)
            .with_remaining_partitions(
                remaining
                    .into_iter()
                    .map(|tp| {
                        RemainingPartition::default()
                            .with_topic_name(TopicName(StrBytes::from_string(tp.topic)))
                            .with_partition_index(tp.partition)
                    })
                    .collect(),
            ),
        Err(e) => {
            tracing::info!(broker = request.broker_id.0, error = %e, "controlled shutdown refused");
            ControlledShutdownResponse::default().with_error_code(controller_api_error_code(&e))
        }
    };
    Some(response)
}
