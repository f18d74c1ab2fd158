//! A blocking Kafka-protocol connection for the command-line tools: one
//! request at a time, frames built by `crate::protocol`, each wait bounded.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::protocol::{ProtocolError, decode_response, encode_request};

const CLIENT_ID: &str = "sluice-consumer-groups";
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Larger answers mean the other side is not a Kafka broker.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Why a tool's request failed; the text is what the tools print.
#[derive(Debug, thiserror::Error)]
pub enum BlockingError {
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: String,
        source: std::io::Error,
    },
    #[error("{key:?} v{version} to {address}: no response ({source})")]
    NoResponse {
        key: ApiKey,
        version: i16,
        address: String,
        source: std::io::Error,
    },
    #[error(
        "{key:?} v{version} to {address}: a {size}-byte answer is not a Kafka response; is this a broker's PLAINTEXT port?"
    )]
    NotKafka {
        key: ApiKey,
        version: i16,
        address: String,
        size: usize,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

pub struct BlockingConnection {
    address: String,
    stream: TcpStream,
    next_correlation_id: i32,
}

impl BlockingConnection {
    pub fn connect(address: &str) -> Result<BlockingConnection, BlockingError> {
        let stream = connect_any(address).map_err(|source| BlockingError::Connect {
            address: address.to_string(),
            source,
        })?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        Ok(BlockingConnection {
            address: address.to_string(),
            stream,
            next_correlation_id: 1,
        })
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp, BlockingError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let frame = encode_request(key, version, correlation_id, CLIENT_ID, request)?;
        self.stream.write_all(&frame)?;
        let mut size = [0u8; 4];
        self.stream
            .read_exact(&mut size)
            .map_err(|source| BlockingError::NoResponse {
                key,
                version,
                address: self.address.clone(),
                source,
            })?;
        let size = u32::from_be_bytes(size) as usize;
        if size > MAX_RESPONSE_BYTES {
            return Err(BlockingError::NotKafka {
                key,
                version,
                address: self.address.clone(),
                size,
            });
        }
        let mut body = vec![0u8; size];
        self.stream.read_exact(&mut body)?;
        Ok(decode_response(
            key,
            version,
            correlation_id,
            Bytes::from(body),
        )?)
    }
}

/// Connects to the first resolved address of `address` that answers within
/// the timeout, so an unreachable host fails in seconds, not minutes.
fn connect_any(address: &str) -> std::io::Result<TcpStream> {
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address found");
    for resolved in address.to_socket_addrs()? {
        match TcpStream::connect_timeout(&resolved, CONNECT_TIMEOUT) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
