//! `LogCleaner` (Kafka's `LogCleaner` + `LogCleanerManager`): which compacted
//! log to clean next and how far each is clean. A pass picks the log with
//! `cleanup.policy` holding `compact` whose dirty ratio (bytes from the
//! cleaner checkpoint up to the first uncleanable segment, over all bytes up
//! to it) is the highest and above its `min.cleanable.dirty.ratio`, or whose
//! oldest dirty batch is older than `max.compaction.lag.ms`, or whose kept
//! tombstones are due to go; cleans it (`cleaner.rs`); and records the
//! new first dirty offset in `<log.dir>/cleaner-offset-checkpoint` (Kafka's
//! offset checkpoint format). The config is read from the log on every pass,
//! so topic config changes apply from the next one. It owns no thread: the
//! broker calls `clean_filthiest` on its schedule (`log.cleaner.backoff.ms`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use super::checkpoint::{read_offsets, write_offsets};
use super::cleaner::{CleanStats, CleanerError};
use super::cleaner_offset_map::OffsetMap;
use super::manager::LogManager;
use super::partition_log::Log;
use crate::model::{Offset, TopicPartition};

/// Kafka's per-log-dir file of first dirty offsets.
pub const CLEANER_OFFSET_CHECKPOINT: &str = "cleaner-offset-checkpoint";

#[derive(Debug)]
pub struct LogCleaner {
    log_manager: Arc<LogManager>,
    /// The key map, reused across passes (its size is bounded).
    map: Mutex<OffsetMap>,
    /// First dirty offset per log, as checkpointed.
    checkpoints: Mutex<HashMap<TopicPartition, Offset>>,
    /// When the earliest tombstone kept by the last pass may be removed.
    tombstone_expiry_ms: Mutex<HashMap<TopicPartition, i64>>,
    /// The log object last seen per partition: a different one means the
    /// topic was deleted and created again, so its checkpoint is stale.
    seen: Mutex<HashMap<TopicPartition, Weak<Log>>>,
}

/// A log chosen for cleaning.
struct Candidate {
    tp: TopicPartition,
    log: Arc<Log>,
    ratio: f64,
    range: super::cleaner::CleanRange,
}

impl LogCleaner {
    /// A cleaner over `log_manager`'s logs whose key map may use about
    /// `dedupe_buffer_bytes` (`log.cleaner.dedupe.buffer.size`); reads the
    /// cleaner checkpoints of every log dir (an unreadable one is ignored:
    /// the logs are then cleaned from their start).
    pub fn new(log_manager: Arc<LogManager>, dedupe_buffer_bytes: u64) -> LogCleaner {
        let mut checkpoints = HashMap::new();
        for dir in log_manager.log_dirs() {
            match read_offsets(&dir.join(CLEANER_OFFSET_CHECKPOINT)) {
                Ok(offsets) => checkpoints.extend(offsets),
                Err(e) => tracing::warn!(error = %e, "ignoring unreadable cleaner checkpoint"),
            }
        }
        LogCleaner {
            log_manager,
            map: Mutex::new(OffsetMap::new(dedupe_buffer_bytes)),
            checkpoints: Mutex::new(checkpoints),
            tombstone_expiry_ms: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The checkpointed first dirty offset of `tp`.
    pub fn checkpoint_of(&self, tp: &TopicPartition) -> Option<Offset> {
        self.checkpoints.lock().get(tp).copied()
    }

    fn pick(
        &self,
        now_ms: i64,
        high_watermark: &dyn Fn(&TopicPartition) -> Option<Offset>,
    ) -> Option<Candidate> {
        self.forget_replaced_logs();
        let checkpoints = self.checkpoints.lock().clone();
        let expiries = self.tombstone_expiry_ms.lock().clone();
        let mut best: Option<Candidate> = None;
        for (tp, log) in self.log_manager.all_logs() {
            let config = log.config();
            if !config.cleanup_policy_compact || log.closed.load(Ordering::Acquire) {
                continue;
            }
            let Some(hw) = high_watermark(&tp) else {
                continue;
            };
            let (range, dirty, total) =
                log.cleanable_range(checkpoints.get(&tp).copied(), hw, now_ms);
            if total == 0 {
                continue;
            }
            let ratio = dirty as f64 / total as f64;
            let tombstones_due = expiries.get(&tp).is_some_and(|&t| t <= now_ms);
            let dirty_enough = dirty > 0 && ratio > config.min_cleanable_dirty_ratio;
            // max.compaction.lag.ms: a dirty record waited too long.
            let lag_due = dirty > 0
                && config.max_compaction_lag_ms < i64::MAX
                && log
                    .earliest_dirty_timestamp_ms(range)
                    .is_some_and(|ts| now_ms.saturating_sub(ts) > config.max_compaction_lag_ms);
            if !(dirty_enough || tombstones_due || lag_due) {
                continue;
            }
            if best.as_ref().is_none_or(|b| ratio > b.ratio) {
                best = Some(Candidate {
                    tp,
                    log,
                    ratio,
                    range,
                });
            }
        }
        best
    }

    /// Cleans the dirtiest compacted log, if one needs it. `high_watermark`
    /// bounds what may be cleaned (`None`: the partition is not hosted).
    pub fn clean_filthiest(
        &self,
        now_ms: i64,
        high_watermark: &dyn Fn(&TopicPartition) -> Option<Offset>,
    ) -> Option<(TopicPartition, Result<CleanStats, CleanerError>)> {
        let candidate = self.pick(now_ms, high_watermark)?;
        let tp = candidate.tp.clone();
        tracing::debug!(tp = %tp, ratio = candidate.ratio, range = ?candidate.range, "cleaning log");
        let result = {
            let mut map = self.map.lock();
            candidate.log.clean(candidate.range, &mut map, now_ms)
        };
        match &result {
            Ok(stats) => {
                let mut expiries = self.tombstone_expiry_ms.lock();
                match stats.tombstone_expiry_ms {
                    Some(t) => expiries.insert(tp.clone(), t),
                    None => expiries.remove(&tp),
                };
                drop(expiries);
                if stats.swaps_aborted == 0 {
                    self.checkpoints.lock().insert(tp.clone(), stats.end_offset);
                    if let Some(dir) = candidate.log.dir().parent()
                        && let Err(e) = self.write_checkpoint(dir)
                    {
                        tracing::warn!(error = %e, "cannot write the cleaner checkpoint");
                    }
                }
                tracing::info!(
                    tp = %tp, end_offset = %stats.end_offset,
                    segments = stats.segments_replaced, bytes_read = stats.bytes_read,
                    bytes_written = stats.bytes_written, records_read = stats.records_read,
                    records_kept = stats.records_kept, "cleaned log"
                );
            }
            Err(e) => tracing::warn!(tp = %tp, error = %e, "cleaning failed"),
        }
        Some((tp, result))
    }

    /// Drops the checkpoint and tombstone timer of partitions whose log was
    /// deleted or replaced (deleted, then created again) since the last pass.
    fn forget_replaced_logs(&self) {
        let mut seen = self.seen.lock();
        let logs = self.log_manager.all_logs();
        for (tp, log) in &logs {
            let current = Arc::downgrade(log);
            if let Some(previous) = seen.insert(tp.clone(), current.clone())
                && !previous.ptr_eq(&current)
            {
                tracing::info!(tp = %tp, "log was recreated; cleaning it from the start");
                self.checkpoints.lock().remove(tp);
                self.tombstone_expiry_ms.lock().remove(tp);
            }
        }
        // A deleted log's checkpoint goes with it.
        let gone: Vec<TopicPartition> = seen
            .keys()
            .filter(|tp| !logs.iter().any(|(t, _)| t == *tp))
            .cloned()
            .collect();
        for tp in gone {
            seen.remove(&tp);
            self.checkpoints.lock().remove(&tp);
            self.tombstone_expiry_ms.lock().remove(&tp);
        }
    }

    /// Writes `dir`'s `cleaner-offset-checkpoint` for the logs it holds.
    fn write_checkpoint(&self, dir: &Path) -> Result<(), super::error::LogError> {
        let logs = self.log_manager.all_logs();
        let checkpoints = self.checkpoints.lock();
        let offsets: HashMap<TopicPartition, Offset> = logs
            .iter()
            .filter(|(_, log)| log.dir().parent() == Some(dir))
            .filter_map(|(tp, _)| checkpoints.get(tp).map(|&o| (tp.clone(), o)))
            .collect();
        write_offsets(&dir.join(CLEANER_OFFSET_CHECKPOINT), &offsets)
    }
}
