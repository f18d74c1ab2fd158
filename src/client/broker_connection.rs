//! One outbound connection to another broker (Kafka's NetworkClient in its
//! BlockingSend use): one TCP connection carrying one request at a time over
//! the Kafka protocol, connected lazily and dropped after any failure, so
//! the next request connects again. Its users differ only in
//! [`ConnectionOptions`]: the replica fetchers bound each round trip by
//! replica.socket.timeout.ms; the controller's channel bounds connecting by
//! controller.socket.timeout.ms and detects a dead peer at the TCP level
//! (it never gives up on a live broker that is slow to answer); controlled
//! shutdown bounds its whole attempt itself.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::liveness::set_liveness_timeouts;
use crate::protocol::{ProtocolError, decode_response, encode_request};

/// Larger responses are refused (a broken peer, not a real fetch).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o with {address}: {source}")]
    Io {
        address: String,
        source: std::io::Error,
    },
    #[error("{address} did not answer within {timeout:?}")]
    Timeout { address: String, timeout: Duration },
    #[error("could not connect to {address} within {timeout:?}")]
    ConnectTimeout { address: String, timeout: Duration },
    #[error("{address} sent a response frame of {size} bytes")]
    BadFrame { address: String, size: i32 },
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

/// How a [`BrokerConnection`] bounds its waits. The default bounds nothing
/// but the response size: the caller bounds the whole send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionOptions {
    /// Bound on one request's whole round trip, connecting included.
    pub request_timeout: Option<Duration>,
    /// Bound on connecting alone.
    pub connect_timeout: Option<Duration>,
    /// A peer that stops acknowledging at the TCP level (its host died, the
    /// network dropped) fails the connection after about this long: TCP
    /// keepalive probes while waiting for an answer, and a limit on how long
    /// sent data may stay unacknowledged (`TCP_USER_TIMEOUT`). A live peer
    /// that is merely busy keeps acknowledging, so its connection stays.
    pub liveness_timeout: Option<Duration>,
    /// Larger response frames fail the connection.
    pub max_response_bytes: usize,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptions {
            request_timeout: None,
            connect_timeout: None,
            liveness_timeout: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl ConnectionOptions {
    pub fn with_request_timeout(self, timeout: Duration) -> Self {
        ConnectionOptions {
            request_timeout: Some(timeout),
            ..self
        }
    }

    pub fn with_connect_timeout(self, timeout: Duration) -> Self {
        ConnectionOptions {
            connect_timeout: Some(timeout),
            ..self
        }
    }

    pub fn with_liveness_timeout(self, timeout: Duration) -> Self {
        ConnectionOptions {
            liveness_timeout: Some(timeout),
            ..self
        }
    }

    pub fn with_max_response_bytes(self, max_response_bytes: usize) -> Self {
        ConnectionOptions {
            max_response_bytes,
            ..self
        }
    }
}

pub struct BrokerConnection {
    /// `host:port`.
    address: String,
    client_id: String,
    options: ConnectionOptions,
    /// Present only between two whole round trips: taken while a request is
    /// out, so a failed, timed-out or abandoned send leaves no half-read
    /// connection behind.
    stream: Option<BufReader<TcpStream>>,
    correlation_id: i32,
}

impl BrokerConnection {
    /// A connection to `address` (`host:port`); nothing is connected until
    /// the first send.
    pub fn new(address: String, client_id: String, options: ConnectionOptions) -> Self {
        BrokerConnection {
            address,
            client_id,
            options,
            stream: None,
            correlation_id: 0,
        }
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether a connection is open (none before the first send and after a failure).
    pub fn is_connected(&self) -> bool {
        self.stream.is_some()
    }

    /// Closes the connection, if open; the next send connects again.
    pub fn disconnect(&mut self) {
        self.stream = None;
    }

    /// Sends one request and reads its response; on any failure the
    /// connection is dropped so the next call reconnects. Each call uses the
    /// next correlation id.
    pub async fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, ConnectionError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let correlation_id = self.correlation_id;
        let frame = encode_request(key, version, correlation_id, &self.client_id, request)?;
        let Some(timeout) = self.options.request_timeout else {
            return self.round_trip(key, version, correlation_id, &frame).await;
        };
        match tokio::time::timeout(
            timeout,
            self.round_trip(key, version, correlation_id, &frame),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(ConnectionError::Timeout {
                address: self.address.clone(),
                timeout,
            }),
        }
    }

    async fn round_trip<Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
        frame: &[u8],
    ) -> Result<Resp, ConnectionError> {
        let mut stream = match self.stream.take() {
            Some(stream) => stream,
            // Buffered reads: a response's size and its first bytes (all of
            // a small one) come in one read instead of two.
            None => BufReader::new(self.connect().await?),
        };
        let io = |source: std::io::Error| ConnectionError::Io {
            address: self.address.clone(),
            source,
        };
        stream.write_all(frame).await.map_err(io)?;
        let size = stream.read_i32().await.map_err(io)?;
        if size < 0 || size as usize > self.options.max_response_bytes {
            return Err(ConnectionError::BadFrame {
                address: self.address.clone(),
                size,
            });
        }
        let mut body = BytesMut::zeroed(size as usize);
        stream.read_exact(&mut body).await.map_err(io)?;
        let response = decode_response(key, version, correlation_id, body.freeze())?;
        self.stream = Some(stream);
        Ok(response)
    }

    async fn connect(&self) -> Result<TcpStream, ConnectionError> {
        let io = |source: std::io::Error| ConnectionError::Io {
            address: self.address.clone(),
            source,
        };
        let connecting = TcpStream::connect(&self.address);
        let stream = match self.options.connect_timeout {
            None => connecting.await,
            Some(timeout) => tokio::time::timeout(timeout, connecting)
                .await
                .map_err(|_| ConnectionError::ConnectTimeout {
                    address: self.address.clone(),
                    timeout,
                })?,
        }
        .map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        if let Some(timeout) = self.options.liveness_timeout {
            set_liveness_timeouts(&stream, timeout).map_err(io)?;
        }
        Ok(stream)
    }
}

#[cfg(test)]
#[path = "broker_connection_tests.rs"]
mod tests;
