//! A blocking Kafka-protocol connection for the command-line tools: one
//! request at a time, frames built by `crate::protocol`.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::protocol::{decode_response, encode_request};

const CLIENT_ID: &str = "sluice-consumer-groups";
const TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Larger answers mean the other side is not a Kafka broker.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

pub struct KafkaConnection {
    address: String,
    stream: TcpStream,
    next_correlation_id: i32,
}

impl KafkaConnection {
    pub fn connect(address: &str) -> anyhow::Result<KafkaConnection> {
        let stream = connect_any(address)
            .map_err(|e| anyhow::anyhow!("cannot connect to {address}: {e}"))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        stream.set_write_timeout(Some(TIMEOUT))?;
        Ok(KafkaConnection {
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
    ) -> anyhow::Result<Resp> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let frame = encode_request(key, version, correlation_id, CLIENT_ID, request)?;
        self.stream.write_all(&frame)?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size).map_err(|e| {
            anyhow::anyhow!("{key:?} v{version} to {}: no response ({e})", self.address)
        })?;
        let size = u32::from_be_bytes(size) as usize;
        if size > MAX_RESPONSE_BYTES {
            anyhow::bail!(
                "{key:?} v{version} to {}: a {size}-byte answer is not a Kafka response; is this a broker's PLAINTEXT port?",
                self.address
            );
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
