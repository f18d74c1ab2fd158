//! SaslHandshake (key 17), versions 0-1, outside authentication: on a
//! PLAINTEXT listener, or on a SASL connection that has authenticated, Kafka's
//! KafkaApis answers ILLEGAL_SASL_STATE. The handshake itself, on a SASL
//! listener before authentication, is `server/sasl_authenticator.rs`'s.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};

use crate::server::context::BrokerServices;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 1);

pub async fn handle(
    _services: &BrokerServices,
    _ctx: &RequestContext,
    _request: SaslHandshakeRequest,
) -> Option<SaslHandshakeResponse> {
    Some(SaslHandshakeResponse::default().with_error_code(ResponseError::IllegalSaslState.code()))
}
