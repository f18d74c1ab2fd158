//! The broker's side of controlled shutdown (Kafka's
//! `KafkaServer.controlledShutdown`): before stopping, ask the current
//! controller (found through `/controller`) to move this broker's leaderships
//! away, with ControlledShutdown over the Kafka protocol, so clients switch to
//! the new leaders before this broker closes. Up to
//! controlled.shutdown.max.retries attempts, controlled.shutdown.retry.backoff.ms
//! apart; an attempt succeeds when the controller answers with no error and
//! no partition still led here. If none succeeds the broker shuts down anyway.
//!
//! Without a connected ZooKeeper session there is no known controller to ask
//! (and the controller could not act on the answer): controlled shutdown is
//! then skipped, or abandoned as soon as the session drops mid-way, so a
//! broker cut off from ZooKeeper still stops within seconds.

use std::time::Duration;

use crate::client::{BrokerConnection, ConnectionError, ConnectionOptions};
use crate::model;
use crate::zk::{ZkClient, ZkError};
use kafka_protocol::messages::{
    ApiKey, BrokerId, ControlledShutdownRequest, ControlledShutdownResponse,
};

/// The version sent: the newest, with the broker epoch.
const CONTROLLED_SHUTDOWN_VERSION: i16 = 3;

/// controlled.shutdown.* and controller.socket.timeout.ms.
#[derive(Debug, Clone)]
pub struct ControlledShutdownSettings {
    pub max_retries: u32,
    pub retry_backoff: Duration,
    /// Bound on one attempt (finding the controller, the round trip).
    pub attempt_timeout: Duration,
    /// This broker's inter.broker.listener.name: the controller's endpoint used.
    pub inter_broker_listener_name: String,
}

#[derive(Debug, thiserror::Error)]
enum AttemptError {
    #[error("no controller registered in ZooKeeper")]
    NoController,
    #[error("controller {0} has no usable registration")]
    NoControllerEndpoint(model::BrokerId),
    #[error("this broker's registration is gone")]
    NotRegistered,
    #[error("ZooKeeper: {0}")]
    Zk(#[from] ZkError),
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("timed out")]
    TimedOut,
}

/// How often an attempt or a backoff checks that ZooKeeper is still connected.
const ZK_CHECK_INTERVAL: Duration = Duration::from_millis(100);

/// Returns once the ZooKeeper session is not connected.
async fn zookeeper_lost(zk: &ZkClient) {
    while zk.is_connected() {
        tokio::time::sleep(ZK_CHECK_INTERVAL).await;
    }
}

fn log_skipped(broker_id: model::BrokerId, attempt: u32) {
    tracing::warn!(
        %broker_id,
        attempt,
        "skipping controlled shutdown: the ZooKeeper session is not connected, so there is \
         no known controller to move leaderships away; shutting down without it"
    );
}

/// Runs controlled shutdown; true if the controller moved every leadership away.
pub async fn controlled_shutdown(
    zk: &ZkClient,
    broker_id: model::BrokerId,
    settings: &ControlledShutdownSettings,
) -> bool {
    for attempt in 1..=settings.max_retries {
        if !zk.is_connected() {
            log_skipped(broker_id, attempt);
            return false;
        }
        let bounded = tokio::time::timeout(
            settings.attempt_timeout,
            attempt_once(zk, broker_id, &settings.inter_broker_listener_name),
        );
        let outcome = tokio::select! {
            outcome = bounded => outcome.unwrap_or(Err(AttemptError::TimedOut)),
            () = zookeeper_lost(zk) => {
                log_skipped(broker_id, attempt);
                return false;
            }
        };
        match outcome {
            Ok(response)
                if response.error_code == 0 && response.remaining_partitions.is_empty() =>
            {
                tracing::info!(%broker_id, attempt, "controlled shutdown succeeded");
                return true;
            }
            Ok(response) => tracing::warn!(
                %broker_id,
                attempt,
                error_code = response.error_code,
                remaining = response.remaining_partitions.len(),
                "controlled shutdown incomplete; retrying"
            ),
            Err(e) => {
                tracing::warn!(%broker_id, attempt, error = %e, "controlled shutdown attempt failed")
            }
        }
        if attempt < settings.max_retries {
            tokio::select! {
                () = tokio::time::sleep(settings.retry_backoff) => {}
                () = zookeeper_lost(zk) => {
                    log_skipped(broker_id, attempt + 1);
                    return false;
                }
            }
        }
    }
    tracing::warn!(
        %broker_id,
        "controlled shutdown did not complete; shutting down anyway"
    );
    false
}

async fn attempt_once(
    zk: &ZkClient,
    broker_id: model::BrokerId,
    inter_broker_listener_name: &str,
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
        .endpoint(inter_broker_listener_name)
        .or_else(|| registration.inter_broker_endpoint())
        .ok_or(AttemptError::NoControllerEndpoint(controller))?;
    let broker_epoch = zk
        .get_broker_and_epoch(broker_id)
        .await?
        .ok_or(AttemptError::NotRegistered)?
        .epoch;
    tracing::info!(
        %broker_id,
        %controller,
        "asking the controller for a controlled shutdown"
    );
    let request = ControlledShutdownRequest::default()
        .with_broker_id(BrokerId(broker_id.0))
        .with_broker_epoch(broker_epoch);
    // The attempt is bounded by the caller's timeout.
    let mut connection = BrokerConnection::new(
        format!("{host}:{port}"),
        format!("sluice-broker-{broker_id}"),
        ConnectionOptions::default(),
    );
    Ok(connection
        .send(
            ApiKey::ControlledShutdown,
            CONTROLLED_SHUTDOWN_VERSION,
            &request,
        )
        .await?)
}
