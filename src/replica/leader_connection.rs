//! A follower's connection to a leader broker (Kafka's BlockingSend): one
//! TCP connection carrying one request at a time over the Kafka protocol,
//! reconnected lazily after any failure. The broker's controlled shutdown
//! uses it too, to reach the controller.

use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::metadata::BrokerEndpoint;
use crate::protocol::{ProtocolError, decode_response, encode_request};

/// Larger responses are refused (a broken peer, not a real fetch).
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o with {address}: {source}")]
    Io {
        address: String,
        source: std::io::Error,
    },
    #[error("{address} did not answer within {timeout:?}")]
    Timeout { address: String, timeout: Duration },
    #[error("{address} sent a response frame of {size} bytes")]
    BadFrame { address: String, size: i32 },
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

pub struct LeaderConnection {
    address: String,
    client_id: String,
    timeout: Duration,
    stream: Option<TcpStream>,
    correlation_id: i32,
}

impl LeaderConnection {
    pub fn new(endpoint: &BrokerEndpoint, client_id: String, timeout: Duration) -> Self {
        LeaderConnection {
            address: endpoint.address(),
            client_id,
            timeout,
            stream: None,
            correlation_id: 0,
        }
    }

    /// Sends one request and reads its response; on any failure the
    /// connection is dropped so the next call reconnects.
    pub async fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, ConnectionError> {
        self.correlation_id = self.correlation_id.wrapping_add(1);
        let correlation_id = self.correlation_id;
        let timeout = self.timeout;
        let result = match tokio::time::timeout(
            timeout,
            self.round_trip(key, version, correlation_id, request),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(ConnectionError::Timeout {
                address: self.address.clone(),
                timeout,
            }),
        };
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn round_trip<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        correlation_id: i32,
        request: &Req,
    ) -> Result<Resp, ConnectionError> {
        let io = |address: &str| {
            let address = address.to_owned();
            move |source| ConnectionError::Io { address, source }
        };
        if self.stream.is_none() {
            let stream = TcpStream::connect(&self.address)
                .await
                .map_err(io(&self.address))?;
            stream.set_nodelay(true).map_err(io(&self.address))?;
            self.stream = Some(stream);
        }
        let frame = encode_request(key, version, correlation_id, &self.client_id, request)?;
        let stream = self.stream.as_mut().expect("connected above");
        stream.write_all(&frame).await.map_err(io(&self.address))?;
        let size = stream.read_i32().await.map_err(io(&self.address))?;
        if size < 0 || size as usize > MAX_RESPONSE_BYTES {
            return Err(ConnectionError::BadFrame {
                address: self.address.clone(),
                size,
            });
        }
        let mut body = vec![0u8; size as usize];
        stream
            .read_exact(&mut body)
            .await
            .map_err(io(&self.address))?;
        Ok(decode_response(
            key,
            version,
            correlation_id,
            bytes::Bytes::from(body),
        )?)
    }
}
