//! InitProducerId (key 22), versions 0-4, for idempotent (non-transactional)
//! producers: a fresh producer id with epoch 0, or the same id with the next
//! epoch when a producer re-initialises (v3+). Sequence checks come with the
//! idempotence issue; until then idempotent batches are accepted as they are.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: InitProducerIdRequest,
) -> Option<InitProducerIdResponse> {
    let response = InitProducerIdResponse::default();
    if request.transactional_id.is_some() {
        // No transaction coordinator yet: Kafka's answer when none is available.
        return Some(
            response
                .with_error_code(ResponseError::CoordinatorNotAvailable.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        );
    }
    let (id, epoch) = if request.producer_id.0 >= 0 && request.producer_epoch >= 0 {
        let next = request
            .producer_epoch
            .checked_add(1)
            .filter(|e| *e < i16::MAX);
        match next {
            Some(epoch) => (request.producer_id.0, epoch),
            None => (services.producer_ids.next_id(), 0),
        }
    } else {
        (services.producer_ids.next_id(), 0)
    };
    Some(
        response
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
    )
}
