//! The controller's channel to each live broker (Kafka's
//! ControllerChannelManager): one bounded queue and one sender task per
//! broker, sending LeaderAndIsr, UpdateMetadata and StopReplica over the Kafka
//! protocol in order, retrying each request until it is answered or the broker
//! is removed.

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{
    ApiKey, LeaderAndIsrRequest, LeaderAndIsrResponse, StopReplicaRequest, StopReplicaResponse,
    UpdateMetadataRequest, UpdateMetadataResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::{ProtocolError, decode_response, encode_request};

/// Versions this controller sends (topic ids in LeaderAndIsr v5, UpdateMetadata v7).
pub const LEADER_AND_ISR_VERSION: i16 = 5;
pub const UPDATE_METADATA_VERSION: i16 = 7;
pub const STOP_REPLICA_VERSION: i16 = 3;

const QUEUE_CAPACITY: usize = 1024;
const MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

#[derive(Debug, Clone)]
pub enum ControllerRequest {
    LeaderAndIsr(LeaderAndIsrRequest),
    UpdateMetadata(UpdateMetadataRequest),
    StopReplica(StopReplicaRequest),
}

impl ControllerRequest {
    fn encode(&self, correlation_id: i32, client_id: &str) -> Result<BytesMut, ProtocolError> {
        match self {
            ControllerRequest::LeaderAndIsr(r) => encode_request(
                ApiKey::LeaderAndIsr,
                LEADER_AND_ISR_VERSION,
                correlation_id,
                client_id,
                r,
            ),
            ControllerRequest::UpdateMetadata(r) => encode_request(
                ApiKey::UpdateMetadata,
                UPDATE_METADATA_VERSION,
                correlation_id,
                client_id,
                r,
            ),
            ControllerRequest::StopReplica(r) => encode_request(
                ApiKey::StopReplica,
                STOP_REPLICA_VERSION,
                correlation_id,
                client_id,
                r,
            ),
        }
    }

    /// Decodes the response and returns its top-level error code.
    fn response_error(
        &self,
        correlation_id: i32,
        frame: bytes::Bytes,
    ) -> Result<i16, ProtocolError> {
        Ok(match self {
            ControllerRequest::LeaderAndIsr(_) => {
                decode_response::<LeaderAndIsrResponse>(
                    ApiKey::LeaderAndIsr,
                    LEADER_AND_ISR_VERSION,
                    correlation_id,
                    frame,
                )?
                .error_code
            }
            ControllerRequest::UpdateMetadata(_) => {
                decode_response::<UpdateMetadataResponse>(
                    ApiKey::UpdateMetadata,
                    UPDATE_METADATA_VERSION,
                    correlation_id,
                    frame,
                )?
                .error_code
            }
            ControllerRequest::StopReplica(_) => {
                decode_response::<StopReplicaResponse>(
                    ApiKey::StopReplica,
                    STOP_REPLICA_VERSION,
                    correlation_id,
                    frame,
                )?
                .error_code
            }
        })
    }

    fn name(&self) -> &'static str {
        match self {
            ControllerRequest::LeaderAndIsr(_) => "LeaderAndIsr",
            ControllerRequest::UpdateMetadata(_) => "UpdateMetadata",
            ControllerRequest::StopReplica(_) => "StopReplica",
        }
    }
}

struct BrokerQueue {
    sender: mpsc::Sender<ControllerRequest>,
    stop: CancellationToken,
}

pub struct ControllerChannelManager {
    controller_id: i32,
    socket_timeout: Duration,
    brokers: HashMap<i32, BrokerQueue>,
}

impl ControllerChannelManager {
    pub fn new(controller_id: i32, socket_timeout: Duration) -> ControllerChannelManager {
        ControllerChannelManager {
            controller_id,
            socket_timeout,
            brokers: HashMap::new(),
        }
    }

    pub fn add_broker(&mut self, id: i32, host: String, port: u16) {
        self.remove_broker(id);
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let stop = CancellationToken::new();
        let sender_task = BrokerSender {
            broker_id: id,
            address: format!("{host}:{port}"),
            client_id: format!("sluice-controller-{}", self.controller_id),
            socket_timeout: self.socket_timeout,
            stop: stop.clone(),
        };
        tokio::spawn(sender_task.run(receiver));
        self.brokers.insert(id, BrokerQueue { sender, stop });
    }

    pub fn remove_broker(&mut self, id: i32) {
        if let Some(queue) = self.brokers.remove(&id) {
            queue.stop.cancel();
        }
    }

    /// Queues a request for a broker; waits when its queue is full.
    pub async fn send(&self, broker: i32, request: ControllerRequest) {
        match self.brokers.get(&broker) {
            Some(queue) => {
                if queue.sender.send(request).await.is_err() {
                    tracing::warn!(broker, "controller channel to broker is closed");
                }
            }
            None => tracing::debug!(
                broker,
                request = request.name(),
                "no channel to broker; dropped"
            ),
        }
    }

    pub fn shutdown(&mut self) {
        for (_, queue) in self.brokers.drain() {
            queue.stop.cancel();
        }
    }
}

impl Drop for ControllerChannelManager {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct BrokerSender {
    broker_id: i32,
    address: String,
    client_id: String,
    socket_timeout: Duration,
    stop: CancellationToken,
}

impl BrokerSender {
    async fn run(self, mut receiver: mpsc::Receiver<ControllerRequest>) {
        let mut connection: Option<TcpStream> = None;
        let mut correlation_id: i32 = 0;
        loop {
            let request = tokio::select! {
                _ = self.stop.cancelled() => return,
                r = receiver.recv() => match r { Some(r) => r, None => return },
            };
            let mut backoff = Duration::from_millis(50);
            loop {
                correlation_id = correlation_id.wrapping_add(1);
                let attempt = tokio::select! {
                    _ = self.stop.cancelled() => return,
                    r = tokio::time::timeout(self.socket_timeout, self.send_once(&mut connection, &request, correlation_id)) => r,
                };
                match attempt {
                    Ok(Ok(0)) => break,
                    Ok(Ok(code)) => {
                        tracing::warn!(
                            broker = self.broker_id,
                            request = request.name(),
                            error_code = code,
                            "broker answered controller request with an error"
                        );
                        break;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(broker = self.broker_id, request = request.name(), error = %e, "controller request failed; retrying");
                    }
                    Err(_) => tracing::debug!(
                        broker = self.broker_id,
                        request = request.name(),
                        "controller request timed out; retrying"
                    ),
                }
                connection = None;
                tokio::select! {
                    _ = self.stop.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }

    async fn send_once(
        &self,
        connection: &mut Option<TcpStream>,
        request: &ControllerRequest,
        correlation_id: i32,
    ) -> Result<i16, ChannelError> {
        if connection.is_none() {
            let stream = TcpStream::connect(&self.address).await?;
            stream.set_nodelay(true)?;
            *connection = Some(stream);
        }
        let stream = connection.as_mut().expect("connected above");
        let frame = request.encode(correlation_id, &self.client_id)?;
        stream.write_all(&frame).await?;
        let size = stream.read_i32().await?;
        if size < 0 || size as usize > MAX_RESPONSE_BYTES {
            return Err(ChannelError::BadFrame(size));
        }
        let mut buf = BytesMut::zeroed(size as usize);
        stream.read_exact(&mut buf).await?;
        Ok(request.response_error(correlation_id, buf.freeze())?)
    }
}

#[derive(Debug, thiserror::Error)]
enum ChannelError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    #[error("bad response frame size {0}")]
    BadFrame(i32),
}
