//! The log cleaner's schedule (Kafka's `CleanerThread`, one of them): clean
//! the dirtiest compacted log, again at once while there is work, and sleep
//! `log.cleaner.backoff.ms` when there is none. Each pass runs on a blocking
//! thread (it reads and writes whole segments), bounded by the partition's
//! high watermark. Started only when `log.cleaner.enable` is true and
//! `log.cleaner.threads` is positive. After each pass the replica room
//! deletes the producer snapshots of the segments the swaps merged away.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::log::LogCleaner;
use crate::model::TopicPartition;
use crate::replica::ReplicaManager;
use crate::util::now_ms;

pub async fn run_log_cleaner(
    cleaner: Arc<LogCleaner>,
    replica_manager: Arc<ReplicaManager>,
    backoff: Duration,
    shutdown: CancellationToken,
) {
    tracing::info!(
        backoff_ms = backoff.as_millis() as u64,
        "log cleaner started"
    );
    loop {
        let (c, rm) = (Arc::clone(&cleaner), Arc::clone(&replica_manager));
        let pass = tokio::task::spawn_blocking(move || {
            let high_watermark =
                |tp: &TopicPartition| rm.get_partition(tp).map(|p| p.high_watermark());
            let Some((tp, result)) = c.clean_filthiest(now_ms(), &high_watermark) else {
                return false;
            };
            result.is_ok_and(|stats| {
                rm.on_segments_cleaned(&tp, &stats.removed_segment_bases);
                stats.swaps_aborted == 0
            })
        });
        let more_work = pass.await.unwrap_or(false);
        if shutdown.is_cancelled() {
            return;
        }
        if more_work {
            continue;
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
    }
}
