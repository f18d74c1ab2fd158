//! SaslAuthenticate (key 36), versions 0-2, outside authentication: on a
//! PLAINTEXT listener, or after a SASL connection authenticated, Kafka's
//! KafkaApis answers ILLEGAL_SASL_STATE with its message. Authentication
//! itself is `server/sasl_authenticator.rs`'s.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;

use crate::server::context::BrokerServices;
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 2);

pub async fn handle(
    _services: &BrokerServices,
    _ctx: &RequestContext,
    _request: SaslAuthenticateRequest,
) -> Option<SaslAuthenticateResponse> {
    Some(
        SaslAuthenticateResponse::default()
            .with_error_code(ResponseError::IllegalSaslState.code())
            .with_error_message(Some(StrBytes::from_static_str(
                "SaslAuthenticate request received after successful authentication",
            ))),
    )
}
