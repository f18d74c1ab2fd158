//! Producer-id expiration (Kafka's `producer.id.expiration.ms`): every
//! `producer.id.expiration.check.interval.ms` each hosted replica, leader or
//! follower, forgets the idempotent producers whose last batch's timestamp
//! is that old, so the per-partition producer state stays bounded however
//! many short-lived producers come and go. A forgotten producer that comes
//! back is unknown: its next batch is accepted at any sequence (KIP-360).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::ReplicaManager;

/// Runs until `shutdown`: the periodic expiration of idle producers.
pub async fn run_producer_expiration(
    replica_manager: Arc<ReplicaManager>,
    expiration_ms: i64,
    check_interval: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(check_interval.max(Duration::from_millis(1)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate; nothing can be old yet at start-up.
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now_ms = crate::util::now_ms();
        for partition in replica_manager.all_partitions() {
            let removed = partition.remove_expired_producers(now_ms, expiration_ms);
            if removed > 0 {
                tracing::debug!(partition = %partition.tp, removed, "expired idle producer ids");
            }
        }
    }
}
