//! The broker's registration `/brokers/ids/<id>` (ephemeral) and its broker
//! epoch (the registration's czxid, which controller requests must match,
//! kept in the `ControllerHandle`).
//!
//! At start-up the id may still be registered by the session of a crashed
//! predecessor (ZooKeeper removes it when that session expires, within its
//! session timeout). Kafka exits there, and operators get restart loops;
//! this broker waits for that registration to go instead, saying what it
//! waits for, bounded by its own `zookeeper.session.timeout.ms` plus
//! `EXPIRY_MARGIN`. A second live broker with the same id keeps its session
//! alive, so the wait ends with `BrokerError::BrokerIdTaken`.
//!
//! After a session expiry the registration is gone with the old session:
//! it is written again on the new session, and the new epoch recorded.

use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::BrokerError;
use crate::controller::ControllerHandle;
use crate::model::BrokerId;
use crate::zk::{BrokerRegistration, SessionEvent, ZkClient, ZkError, paths};

/// Beyond the session timeout: ZooKeeper checks for expired sessions once
/// per tick (`tickTime`, 2 s by default), and the old process may have
/// negotiated a slightly longer session.
pub const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// How often the wait re-checks the registration besides its watch.
const RECHECK: Duration = Duration::from_millis(500);

/// Registers `broker_id`, first waiting (at most `session_timeout` +
/// `EXPIRY_MARGIN`) for a registration held by another session to expire.
/// Records the broker epoch in `controller`.
pub async fn register(
    zk: &ZkClient,
    broker_id: BrokerId,
    registration: &BrokerRegistration,
    session_timeout: Duration,
    controller: &ControllerHandle,
) -> Result<i64, BrokerError> {
    let deadline = Instant::now() + session_timeout + EXPIRY_MARGIN;
    let path = paths::broker_id(broker_id);
    let mut logged = false;
    loop {
        match zk.register_broker(broker_id, registration).await {
            Ok(epoch) => {
                controller.set_broker_epoch(epoch);
                return Ok(epoch);
            }
            Err(ZkError::NodeExists { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let (stat, watch) = zk.exists_and_watch(&path).await?;
        let Some(stat) = stat else {
            continue; // gone meanwhile: register now
        };
        if Instant::now() >= deadline {
            tracing::error!(
                %broker_id,
                owner = %format!("{:#x}", stat.ephemeral_owner),
                waited_ms = (session_timeout + EXPIRY_MARGIN).as_millis() as u64,
                "{path} is still registered by another live session"
            );
            return Err(BrokerError::BrokerIdTaken(broker_id));
        }
        if !logged {
            tracing::warn!(
                %broker_id,
                owner = %format!("{:#x}", stat.ephemeral_owner),
                max_wait_ms = deadline.saturating_duration_since(Instant::now()).as_millis() as u64,
                "{path} is registered by another ZooKeeper session (a crashed predecessor \
                 of this broker, or another live broker with this id): waiting for it to expire"
            );
            logged = true;
        }
        let recheck = RECHECK.min(deadline.saturating_duration_since(Instant::now()));
        tokio::select! {
            _ = watch => {}
            _ = tokio::time::sleep(recheck) => {}
        }
    }
}

/// After a session expiry our ephemeral registration is gone: write it again
/// (retrying while the old session's node lingers) and record the new epoch.
pub async fn reregister_on_new_session(
    zk: ZkClient,
    broker_id: BrokerId,
    registration: BrokerRegistration,
    controller: ControllerHandle,
    shutdown: CancellationToken,
) {
    let mut events = zk.subscribe_session_events();
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            e = events.recv() => e,
        };
        match event {
            Ok(SessionEvent::NewSession { .. }) => loop {
                match zk.register_broker(broker_id, &registration).await {
                    Ok(epoch) => {
                        controller.set_broker_epoch(epoch);
                        tracing::info!(
                            %broker_id,
                            broker_epoch = epoch,
                            "re-registered after a new ZooKeeper session"
                        );
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(%broker_id, error = %e, "re-registration failed; retrying");
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        }
                    }
                }
            },
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}
