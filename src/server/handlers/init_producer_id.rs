//! InitProducerId (key 22), versions 0-4, for idempotent (non-transactional)
//! producers, as Kafka's KafkaApis and TransactionCoordinator answer it:
//! - a producer id and epoch must be given both or neither (v3+; otherwise
//!   INVALID_REQUEST);
//! - without a transactional id every request gets a fresh producer id from
//!   the `ProducerIdManager` (blocks in `/latest_producer_id_block`) with
//!   epoch 0, even when it names its current id and epoch: Kafka bumps
//!   epochs only for transactional ids (idempotent clients bump their epoch
//!   themselves, KIP-360);
//! - an empty transactional id is INVALID_REQUEST; any other gets
//!   COORDINATOR_NOT_AVAILABLE (there is no transaction coordinator);
//! - no block available (ZooKeeper unreachable): COORDINATOR_LOAD_IN_PROGRESS,
//!   which clients retry.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::server::context::BrokerServices;
use crate::server::errors;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 4);

/// RecordBatch.NO_PRODUCER_ID / NO_PRODUCER_EPOCH.
const NO_PRODUCER_ID: i64 = -1;
const NO_PRODUCER_EPOCH: i16 = -1;

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: InitProducerIdRequest,
) -> Option<InitProducerIdResponse> {
    let failed = |code: i16| {
        Some(
            InitProducerIdResponse::default()
                .with_error_code(code)
                .with_producer_id(ProducerId(NO_PRODUCER_ID))
                .with_producer_epoch(NO_PRODUCER_EPOCH),
        )
    };
    let given_id = request.producer_id.0 != NO_PRODUCER_ID;
    let given_epoch = request.producer_epoch != NO_PRODUCER_EPOCH;
    if given_id != given_epoch {
        return failed(ResponseError::InvalidRequest.code());
    }
    match request.transactional_id.as_ref().map(|t| &*t.0) {
        None => {}
        Some("") => return failed(ResponseError::InvalidRequest.code()),
        // No transaction coordinator: Kafka's answer when none is available.
        Some(_) => return failed(ResponseError::CoordinatorNotAvailable.code()),
    }
    match services.producer_ids.generate_producer_id().await {
        Ok(id) => Some(
            InitProducerIdResponse::default()
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(0),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "InitProducerId: no producer id available");
            failed(errors::producer_id_error_code(&e))
        }
    }
}
