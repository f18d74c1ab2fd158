//! The broker's side of controlled shutdown (Kafka's
//! `KafkaServer.controlledShutdown`): before stopping, ask the current
//! controller (found through `/controller`) to move this broker's leaderships
//! away, with ControlledShutdown over the Kafka protocol, so clients switch to
//! the new leaders before this broker closes. Up to
//! controlled.shutdown.max.retries attempts, controlled.shutdown.retry.backoff.ms
//! apart; an attempt succeeds when the controller answers with no error and
//! no partition still led here. If none succeeds the broker shuts down anyway.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::{
    ApiKey, BrokerId, ControlledShutdownRequest, ControlledShutdownResponse,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::protocol::{ProtocolError, decode_response, encode_request};
use crate::zk::{ZkClient, ZkError};

/// The version sent: the newest, with the broker epoch.
const CONTROLLED_SHUTDOWN_VERSION: i16 = 3;
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// controlled.shutdown.* and controller.socket.timeout.ms.
#[derive(Debug, Clone)]
pub struct ControlledShutdownSettings {
    pub max_retries: u32,
    pub retry_backoff: Duration,
    /// Bound on one attempt (finding the controller, the round trip).
    pub attempt_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("no controller registered in ZooKeeper")]
    NoController,
    #[error("controller {0} has no usable registration")]
    NoControllerEndpoint(i32),
    #[error("this broker's registration is gone")]
    NotRegistered,
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Protocol(#[from] ProtocolError),
    #[error("bad response frame size {0}")]
    BadFrame(i32),
    #[error("timed out")]
    TimedOut,
}

/// Runs controlled shutdown; true if the controller moved every leadership away.
pub async fn controlled_shutdown(
    zk: &ZkClient,
    broker_id: i32,
    settings: &ControlledShutdownSettings,
) -> bool {
    for attempt in 1..=settings.max_retries {
        let outcome = tokio::time::timeout(settings.attempt_timeout, attempt_once(zk, broker_id))
            .await
            .unwrap_or(Err(AttemptError::TimedOut));
        match outcome {
            Ok(response)
                if response.error_code == 0 && response.remaining_partitions.is_empty() =>
            {
                tracing::info!(broker_id, attempt, "controlled shutdown succeeded");
                return true;
            }
            Ok(response) => tracing::warn!(
                broker_id,
                attempt,
                error_code = response.error_code,
                remaining = response.remaining_partitions.len(),
                "controlled shutdown incomplete; retrying"
            ),
            Err(e) => {
                tracing::warn!(broker_id, attempt, error = %e, "controlled shutdown attempt failed")
            }
        }
        if attempt < settings.max_retries {
            tokio::time::sleep(settings.retry_backoff).await;
        }
    }
    tracing::warn!(
        broker_id,
        "controlled shutdown did not complete; shutting down anyway"
    );
    false
}

async fn attempt_once(
    zk: &ZkClient,
    broker_id: i32,
) -> Result<ControlledShutdownResponse, AttemptError> {
    let controller = zk
        .get_controller_id()
        .await?
        .ok_or(AttemptError::NoController)?;
    let registration = zk
        .get_broker(controller)
        .await?
        .ok_or(AttemptError::NoControllerEndpoint(controller))?;
    let (host, port) = registration
        .endpoint("PLAINTEXT")
        .or_else(|| {
            registration
                .parsed_endpoints()
                .ok()?
                .into_iter()
                .next()
                .map(|e| (e.host, e.port))
        })
        .ok_or(AttemptError::NoControllerEndpoint(controller))?;
    let broker_epoch = zk
        .get_broker_and_epoch(broker_id)
        .await?
        .ok_or(AttemptError::NotRegistered)?
        .epoch;
    tracing::info!(
        broker_id,
        controller,
        "asking the controller for a controlled shutdown"
    );
    let request = ControlledShutdownRequest::default()
        .with_broker_id(BrokerId(broker_id))
        .with_broker_epoch(broker_epoch);
    let correlation_id = 1;
    let frame = encode_request(
        ApiKey::ControlledShutdown,
        CONTROLLED_SHUTDOWN_VERSION,
        correlation_id,
        &format!("sluice-broker-{broker_id}"),
        &request,
    )?;
    let mut stream = TcpStream::connect((host.as_str(), port)).await?;
    stream.set_nodelay(true)?;
    stream.write_all(&frame).await?;
    let size = stream.read_i32().await?;
    if size < 0 || size as usize > MAX_RESPONSE_BYTES {
        return Err(AttemptError::BadFrame(size));
    }
    let mut buf = BytesMut::zeroed(size as usize);
    stream.read_exact(&mut buf).await?;
    Ok(decode_response(
        ApiKey::ControlledShutdown,
        CONTROLLED_SHUTDOWN_VERSION,
        correlation_id,
        buf.freeze(),
    )?)
}
