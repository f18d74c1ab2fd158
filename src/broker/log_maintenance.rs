//! Periodic log work (the `kafka-scheduler` tasks of Kafka's LogManager and
//! ReplicaManager): retention every `log.retention.check.interval.ms`,
//! bounded by each partition's high watermark; Kafka's flush on roll (the
//! segments a roll closed are fsynced and the recovery point moves to the new
//! segment); `flush.ms` flushes; the recovery-point and log-start checkpoints
//! every `log.flush.offset.checkpoint.interval.ms`; and the high-watermark
//! checkpoint every `replica.high.watermark.checkpoint.interval.ms`, which
//! starts only after the first LeaderAndIsr (Kafka's
//! `startHighWatermarkCheckPointThread`), so a restart never overwrites the
//! file with the partitions not hosted yet.
//!
//! Every task is disk work (unlinks, fsyncs, checkpoint files) and runs on
//! tokio's blocking pool, one at a time (the loop awaits each), so a slow
//! disk never stalls the async workers that serve requests and ZooKeeper.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::BrokerConfig;
use crate::log::LogManager;
use crate::replica::ReplicaManager;
use crate::util::now_ms;

/// How often the loop looks for logs that rolled since their last flush
/// (Kafka schedules the flush at once; a roll is rare, the check cheap).
const ROLL_FLUSH_CHECK: Duration = Duration::from_millis(100);
/// How often `flush.ms` deadlines are checked.
const FLUSH_CHECK: Duration = Duration::from_millis(1000);

/// Runs `work` on the blocking pool and waits for it; a panic in it is
/// logged (the loop goes on with the next task).
async fn blocking(what: &'static str, work: impl FnOnce() + Send + 'static) {
    if let Err(e) = tokio::task::spawn_blocking(work).await {
        tracing::error!(task = what, error = %e, "log maintenance task failed");
    }
}

/// Writes `replication-offset-checkpoint` from the hosted partitions' high
/// watermarks (merged with the file for partitions not hosted yet), unless
/// no LeaderAndIsr has been applied since start-up. Blocking.
pub(super) fn checkpoint_high_watermarks(
    log_manager: &LogManager,
    replica_manager: &ReplicaManager,
) {
    if !replica_manager.has_applied_leader_and_isr() {
        return;
    }
    if let Err(e) = log_manager.write_replication_checkpoints(&replica_manager.high_watermarks()) {
        tracing::warn!(error = %e, "high watermark checkpoint failed");
    }
}

pub(super) async fn run_log_maintenance(
    log_manager: Arc<LogManager>,
    replica_manager: Arc<ReplicaManager>,
    config: Arc<BrokerConfig>,
    shutdown: CancellationToken,
) {
    let every = |ms: i64| tokio::time::interval(Duration::from_millis(ms.max(1) as u64));
    let mut retention = every(config.log_retention_check_interval_ms);
    let mut checkpoint = every(config.log_flush_offset_checkpoint_interval_ms.into());
    let mut hw = every(config.replica_high_watermark_checkpoint_interval_ms);
    let mut flush = tokio::time::interval(FLUSH_CHECK);
    let mut roll_flush = tokio::time::interval(ROLL_FLUSH_CHECK);
    for interval in [
        &mut retention,
        &mut checkpoint,
        &mut hw,
        &mut flush,
        &mut roll_flush,
    ] {
        // A slow task delays the next tick instead of bunching them up.
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    }
    loop {
        let (lm, rm) = (log_manager.clone(), replica_manager.clone());
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = retention.tick() => blocking("retention", move || {
                // Retention never passes a partition's high watermark (the
                // leader's, or a follower's own); unhosted logs are skipped.
                let deleted = lm.cleanup(now_ms(), |tp| {
                    rm.get_partition(tp).map(|p| p.high_watermark())
                });
                if deleted > 0 {
                    tracing::info!(segments = deleted, "retention deleted old segments");
                    rm.follow_log_start_offsets();
                }
            }).await,
            _ = roll_flush.tick() => {
                if lm.has_rolled_logs() {
                    blocking("flush on roll", move || {
                        lm.flush_rolled_logs();
                    }).await;
                }
            }
            _ = flush.tick() => blocking("flush", move || lm.flush_due(now_ms())).await,
            _ = checkpoint.tick() => blocking("recovery checkpoint", move || {
                if let Err(e) = lm.checkpoint() {
                    tracing::warn!(error = %e, "recovery checkpoint failed");
                }
            }).await,
            _ = hw.tick() => blocking("high watermark checkpoint", move || {
                checkpoint_high_watermarks(&lm, &rm);
            }).await,
        }
    }
}
