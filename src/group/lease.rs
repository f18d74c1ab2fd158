//! The coordinator's lease on its ZooKeeper session: a group may be served
//! only while this broker is sure its session (the one that claimed the
//! group) is alive, so a frozen (SIGSTOP) or partitioned coordinator that
//! comes back never answers for a group another broker took meanwhile.
//!
//! ZooKeeper expires a session no earlier than `timeout` after it last heard
//! from it, and another broker may claim the group only after the expiry
//! (when `/brokers/ids/<id>` is gone). Every `refresh` this task reads our
//! registration; if the answer names our session, the session was alive when
//! the read was sent, so it cannot expire before `sent + timeout`. The lease
//! runs to `sent + 2/3 timeout` on the monotonic clock, which keeps running
//! while the process is stopped: after SIGCONT the lease has lapsed until a
//! new read succeeds, which it cannot on an expired session. The read also
//! gives the broker epoch (the registration's czxid) that owner records name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::model::BrokerId;
use crate::zk::{ZkClient, paths};

/// The lease while valid: the session it is on and this broker's epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    pub session_id: i64,
    pub broker_epoch: i64,
    pub valid_until: Instant,
}

/// The current lease, shared by the refresher task and the coordinator.
#[derive(Default)]
pub struct SessionLease {
    current: Mutex<Option<Lease>>,
}

/// Bounds of the refresh period.
const REFRESH_MIN: Duration = Duration::from_millis(100);
const REFRESH_MAX: Duration = Duration::from_millis(2_000);

impl SessionLease {
    /// The lease if it is valid now.
    pub fn valid(&self, now: Instant) -> Option<Lease> {
        self.current.lock().filter(|l| l.valid_until > now)
    }

    fn set(&self, lease: Option<Lease>) {
        *self.current.lock() = lease;
    }

    /// Renews the lease until shutdown.
    pub async fn run_refresher(
        self: Arc<Self>,
        zk: ZkClient,
        broker_id: BrokerId,
        shutdown: CancellationToken,
    ) {
        let path = paths::broker_id(broker_id);
        loop {
            let timeout = Duration::from_millis(match zk.negotiated_session_timeout_ms() {
                0 => zk.config().session_timeout_ms,
                t => t,
            });
            let sent = Instant::now();
            let session_before = zk.session_id();
            let renewed = tokio::select! {
                _ = shutdown.cancelled() => return,
                stat = zk.stat(&path) => stat,
            };
            let lease = match renewed {
                Ok(Some(stat))
                    if stat.ephemeral_owner == session_before
                        && zk.session_id() == session_before
                        && zk.is_connected() =>
                {
                    Some(Lease {
                        session_id: session_before,
                        broker_epoch: stat.czxid,
                        valid_until: sent + timeout * 2 / 3,
                    })
                }
                Ok(_) => None,
                Err(e) => {
                    tracing::debug!(error = %e, "group coordinator lease not renewed");
                    self.valid(Instant::now())
                }
            };
            let valid = lease.is_some_and(|l| l.valid_until > Instant::now());
            self.set(lease);
            // Without a lease (start-up, a new session) try again soon.
            let every = if valid {
                (timeout / 6).clamp(REFRESH_MIN, REFRESH_MAX)
            } else {
                REFRESH_MIN
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
