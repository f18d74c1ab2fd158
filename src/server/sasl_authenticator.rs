//! The SASL side of one connection on a SASL_PLAINTEXT listener, Kafka's
//! `SaslServerAuthenticator`: until the client has authenticated, only
//! ApiVersions (once, first), SaslHandshake and then the mechanism's tokens
//! are served; any other request closes the connection with one log line.
//!
//! SaslHandshake v1 (KIP-152) is followed by SaslAuthenticate requests
//! carrying the tokens; v0 by the tokens alone, each a bare size-prefixed
//! frame without a request header, answered the same way (librdkafka and
//! kafka-python without SaslAuthenticate). A mechanism the listener does not
//! enable gets UNSUPPORTED_SASL_MECHANISM with the enabled list, and the
//! connection closes. A failed PLAIN exchange gets SASL_AUTHENTICATION_FAILED
//! with Kafka's message (framed) or nothing (v0), and the connection closes;
//! the one log line names the user and the peer, never the password.
//!
//! Frames before authentication are capped at `sasl.server.max.receive.size`
//! ([`MAX_RECEIVE_SIZE`]). After authentication the connection's principal
//! is kept here and every request goes to dispatch as on any listener.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    ApiKey, RequestHeader, SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest,
    SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};

use super::context::BrokerServices;
use super::dispatch::{self, DispatchError, RequestHead};
use super::request_context::ResponseExtras;
use super::response_frame::ResponseFrame;
use crate::config::{BrokerConfig, SaslListenerConfig};
use crate::security::{KafkaPrincipal, PLAIN, PlainError, PlainServer};

/// Kafka's `sasl.server.max.receive.size` default: the largest frame a
/// client may send before it has authenticated.
pub const MAX_RECEIVE_SIZE: usize = 524_288;

/// Why an authenticating connection is closed (the one log line).
#[derive(Debug, thiserror::Error)]
pub enum SaslError {
    #[error("unexpected Kafka request of type {0:?} during SASL handshake")]
    UnexpectedRequest(ApiKey),
    #[error("unexpected request with api key {0} during SASL handshake")]
    UnknownRequest(i16),
    #[error("unexpected {0:?} request during SASL authentication")]
    UnexpectedDuringAuthenticate(ApiKey),
    #[error("unsupported SASL mechanism {0:?}")]
    UnsupportedMechanism(String),
    #[error("SASL/{PLAIN} authentication failed for user {user:?}: {reason}")]
    AuthenticationFailed { user: String, reason: PlainError },
    #[error("{0}")]
    Request(#[from] DispatchError),
}

/// A refusal: the response to send first (if any), then the close.
pub struct SaslFailure {
    pub response: Option<ResponseFrame>,
    pub error: SaslError,
}

impl From<DispatchError> for SaslFailure {
    fn from(e: DispatchError) -> Self {
        SaslFailure {
            response: None,
            error: e.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// ApiVersions or SaslHandshake may come.
    HandshakeOrVersions,
    /// ApiVersions was answered: only SaslHandshake may come.
    Handshake,
    /// PLAIN chosen; `framed`: tokens in SaslAuthenticate (handshake v1+).
    Authenticate {
        framed: bool,
    },
    Complete(KafkaPrincipal),
}

/// The authentication state of one connection on a SASL listener.
pub struct SaslAuthenticator {
    config: Arc<BrokerConfig>,
    listener_name: Arc<str>,
    state: State,
}

impl SaslAuthenticator {
    /// The authenticator of a connection on `listener_name`; `None` when the
    /// listener does not use SASL.
    pub fn for_listener(config: &Arc<BrokerConfig>, listener_name: &Arc<str>) -> Option<Self> {
        config.sasl_listeners.get(&**listener_name)?;
        Some(Self {
            config: config.clone(),
            listener_name: listener_name.clone(),
            state: State::HandshakeOrVersions,
        })
    }

    /// Whether the client has authenticated (then requests go to dispatch).
    pub fn is_complete(&self) -> bool {
        matches!(self.state, State::Complete(_))
    }

    /// The principal the connection authenticated as.
    pub fn principal(&self) -> Option<&KafkaPrincipal> {
        match &self.state {
            State::Complete(principal) => Some(principal),
            _ => None,
        }
    }

    fn listener(&self) -> &SaslListenerConfig {
        self.config
            .sasl_listeners
            .get(&*self.listener_name)
            .expect("checked when built")
    }

    /// Handles one frame received before authentication completed: the
    /// response to write, or the refusal that closes the connection.
    pub async fn handle(
        &mut self,
        services: &Arc<BrokerServices>,
        frame: Bytes,
        peer: Option<SocketAddr>,
    ) -> Result<Option<ResponseFrame>, SaslFailure> {
        assert!(
            !self.is_complete(),
            "authenticated connections use dispatch"
        );
        if let State::Authenticate { framed: false } = self.state {
            // Handshake v0: the frame is the bare token, and so is the answer.
            self.authenticate(&frame, peer)
                .map_err(|error| SaslFailure {
                    response: None,
                    error,
                })?;
            return Ok(Some(BytesMut::new().into()));
        }
        if frame.len() < 2 {
            return Err(DispatchError::Truncated(frame.len()).into());
        }
        let raw_key = i16::from_be_bytes([frame[0], frame[1]]);
        let key = ApiKey::try_from(raw_key).map_err(|_| SaslFailure {
            response: None,
            error: SaslError::UnknownRequest(raw_key),
        })?;
        let refuse = |error| {
            Err(SaslFailure {
                response: None,
                error,
            })
        };
        match (&self.state, key) {
            (State::HandshakeOrVersions, ApiKey::ApiVersions) => {
                // A version too new is answered in v0 with UNSUPPORTED_VERSION
                // and may be retried, as in Kafka; a served one ends this state.
                let version = frame.get(2..4).map(|v| i16::from_be_bytes([v[0], v[1]]));
                let served = dispatch::supported_range(ApiKey::ApiVersions)
                    .zip(version)
                    .is_some_and(|((min, max), v)| (min..=max).contains(&v));
                let response =
                    dispatch::handle_request(services, frame, peer, &self.listener_name).await?;
                if served {
                    self.state = State::Handshake;
                }
                Ok(response)
            }
            (State::HandshakeOrVersions | State::Handshake, ApiKey::SaslHandshake) => {
                self.handshake(frame)
            }
            (State::Authenticate { framed: true }, ApiKey::SaslAuthenticate) => {
                self.framed_authenticate(frame, peer)
            }
            (State::Authenticate { .. }, key) => {
                refuse(SaslError::UnexpectedDuringAuthenticate(key))
            }
            (_, key) => refuse(SaslError::UnexpectedRequest(key)),
        }
    }

    fn handshake(&mut self, mut frame: Bytes) -> Result<Option<ResponseFrame>, SaslFailure> {
        let (key, version, header) = sasl_request_head(&mut frame)?;
        let request = decode::<SaslHandshakeRequest>(key, version, &mut frame)?;
        let enabled = &self.listener().enabled_mechanisms;
        let mechanisms = enabled
            .iter()
            .map(|m| StrBytes::from_string(m.clone()))
            .collect();
        let chosen = request.mechanism.to_string();
        let supported = enabled.contains(&chosen);
        let code = if supported {
            0
        } else {
            ResponseError::UnsupportedSaslMechanism.code()
        };
        let response = SaslHandshakeResponse::default()
            .with_error_code(code)
            .with_mechanisms(mechanisms);
        let response = encode(key, version, header.correlation_id, &response)?;
        if !supported {
            return Err(SaslFailure {
                response: Some(response),
                error: SaslError::UnsupportedMechanism(chosen),
            });
        }
        tracing::debug!(listener = %self.listener_name, mechanism = %chosen, version, "SASL handshake");
        self.state = State::Authenticate {
            framed: version >= 1,
        };
        Ok(Some(response))
    }

    fn framed_authenticate(
        &mut self,
        mut frame: Bytes,
        peer: Option<SocketAddr>,
    ) -> Result<Option<ResponseFrame>, SaslFailure> {
        let (key, version, header) = sasl_request_head(&mut frame)?;
        let request = decode::<SaslAuthenticateRequest>(key, version, &mut frame)?;
        let correlation_id = header.correlation_id;
        match self.authenticate(&request.auth_bytes, peer) {
            Ok(()) => {
                let response = SaslAuthenticateResponse::default();
                Ok(Some(encode(key, version, correlation_id, &response)?))
            }
            Err(error) => {
                let message = match &error {
                    SaslError::AuthenticationFailed { reason, .. } => reason.client_message(),
                    other => other.to_string(),
                };
                let response = SaslAuthenticateResponse::default()
                    .with_error_code(ResponseError::SaslAuthenticationFailed.code())
                    .with_error_message(Some(StrBytes::from_string(message)));
                Err(SaslFailure {
                    response: Some(encode(key, version, correlation_id, &response)?),
                    error,
                })
            }
        }
    }

    /// Runs PLAIN on the client's token; on success the connection is authenticated.
    fn authenticate(&mut self, token: &[u8], peer: Option<SocketAddr>) -> Result<(), SaslError> {
        let server = PlainServer::new(&self.listener().plain);
        match server.evaluate(token) {
            Ok(principal) => {
                tracing::debug!(?peer, listener = %self.listener_name, %principal, "authenticated with SASL/PLAIN");
                self.state = State::Complete(principal);
                Ok(())
            }
            Err((reason, user)) => Err(SaslError::AuthenticationFailed {
                user: user.unwrap_or_default(),
                reason,
            }),
        }
    }
}

fn decode<R: Decodable>(key: ApiKey, version: i16, body: &mut Bytes) -> Result<R, DispatchError> {
    R::decode(body, version).map_err(|e| DispatchError::Malformed {
        key,
        version,
        detail: e.to_string(),
    })
}

fn encode<R: kafka_protocol::protocol::Encodable>(
    key: ApiKey,
    version: i16,
    correlation_id: i32,
    body: &R,
) -> Result<ResponseFrame, DispatchError> {
    dispatch::encode_frame(
        key,
        version,
        correlation_id,
        body,
        ResponseExtras::default(),
    )
}

/// The head of a SaslHandshake or SaslAuthenticate frame (the caller has
/// peeked its key): a too-new version of these is an error, only ApiVersions
/// can come back as `ApiVersionsTooNew`.
fn sasl_request_head(frame: &mut Bytes) -> Result<(ApiKey, i16, RequestHeader), DispatchError> {
    match dispatch::read_request_head(frame)? {
        RequestHead::Supported {
            key,
            version,
            header,
        } => Ok((key, version, header)),
        RequestHead::ApiVersionsTooNew { .. } => {
            unreachable!("only ApiVersions can be too new, and this is a SASL request")
        }
    }
}
