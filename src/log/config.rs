//! `LogConfig`: the per-log settings (Kafka's topic-level `segment.bytes`,
//! `retention.ms`, ... and their broker-level `log.*` defaults) with Kafka's
//! default values. Parsing from properties belongs to the config room.

use super::error::LogError;
use super::offset_index::OFFSET_INDEX_ENTRY_BYTES;
use super::time_index::TIME_INDEX_ENTRY_BYTES;

/// Settings of one partition's log. `Copy` so the hot path reads a snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogConfig {
    /// `segment.bytes` / `log.segment.bytes`: roll before an append would pass it.
    pub segment_bytes: u64,
    /// `segment.ms` / `log.roll.ms`: roll once the active segment is this old.
    pub segment_ms: i64,
    /// `retention.ms` / `log.retention.ms`; -1 keeps segments forever.
    pub retention_ms: i64,
    /// `retention.bytes` / `log.retention.bytes`; -1 means no size limit.
    pub retention_bytes: i64,
    /// `index.interval.bytes` / `log.index.interval.bytes`.
    pub index_interval_bytes: u32,
    /// `segment.index.bytes` / `log.index.size.max.bytes`.
    pub max_index_size_bytes: u32,
    /// `flush.messages` / `log.flush.interval.messages`.
    pub flush_interval_messages: u64,
    /// `flush.ms` / `log.flush.interval.ms`.
    pub flush_interval_ms: i64,
    /// `max.message.bytes` / `message.max.bytes`: the largest batch accepted.
    pub max_message_bytes: usize,
    /// `cleanup.policy` / `log.cleanup.policy` contains `delete`: retention
    /// by time and size applies.
    pub cleanup_policy_delete: bool,
    /// `cleanup.policy` / `log.cleanup.policy` contains `compact` (the log cleaner's business).
    pub cleanup_policy_compact: bool,
    /// `message.timestamp.type` / `log.message.timestamp.type` is
    /// `LogAppendTime`: the leader stamps each batch with its own clock.
    pub message_timestamp_log_append_time: bool,
    /// `min.cleanable.dirty.ratio` / `log.cleaner.min.cleanable.ratio`.
    pub min_cleanable_dirty_ratio: f64,
    /// `delete.retention.ms` / `log.cleaner.delete.retention.ms`: how long
    /// tombstones stay in a compacted log.
    pub delete_retention_ms: i64,
    /// `min.compaction.lag.ms` / `log.cleaner.min.compaction.lag.ms`.
    pub min_compaction_lag_ms: i64,
    /// `max.compaction.lag.ms` / `log.cleaner.max.compaction.lag.ms`: a log
    /// whose oldest dirty record is older is cleaned whatever its dirty ratio.
    pub max_compaction_lag_ms: i64,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            segment_bytes: 1024 * 1024 * 1024,
            segment_ms: 7 * 24 * 60 * 60 * 1000,
            retention_ms: 7 * 24 * 60 * 60 * 1000,
            retention_bytes: -1,
            index_interval_bytes: 4096,
            max_index_size_bytes: 10 * 1024 * 1024,
            flush_interval_messages: i64::MAX as u64,
            flush_interval_ms: i64::MAX,
            max_message_bytes: 1_048_588,
            cleanup_policy_delete: true,
            cleanup_policy_compact: false,
            message_timestamp_log_append_time: false,
            min_cleanable_dirty_ratio: 0.5,
            delete_retention_ms: 24 * 60 * 60 * 1000,
            min_compaction_lag_ms: 0,
            max_compaction_lag_ms: i64::MAX,
        }
    }
}

/// Smallest `segment.bytes` Kafka accepts (a legacy v0 record's overhead).
const MIN_SEGMENT_BYTES: u64 = 14;

impl LogConfig {
    /// Rejects values Kafka would reject, naming the setting.
    pub fn validate(&self) -> Result<(), LogError> {
        let bad = |key: &'static str, reason: String| Err(LogError::InvalidConfig { key, reason });
        if !(MIN_SEGMENT_BYTES..=i32::MAX as u64).contains(&self.segment_bytes) {
            return bad(
                "segment.bytes",
                format!(
                    "{} is outside [{MIN_SEGMENT_BYTES}, {}]",
                    self.segment_bytes,
                    i32::MAX
                ),
            );
        }
        if self.segment_ms < 1 {
            return bad(
                "segment.ms",
                format!("{} must be at least 1", self.segment_ms),
            );
        }
        if self.retention_ms < -1 {
            return bad(
                "retention.ms",
                format!("{} must be -1 or more", self.retention_ms),
            );
        }
        let min_index = OFFSET_INDEX_ENTRY_BYTES.max(TIME_INDEX_ENTRY_BYTES) as u32;
        if self.max_index_size_bytes < min_index {
            return bad(
                "segment.index.bytes",
                format!("{} must be at least {min_index}", self.max_index_size_bytes),
            );
        }
        if self.flush_interval_messages < 1 {
            return bad("flush.messages", "must be at least 1".to_string());
        }
        if self.flush_interval_ms < 0 {
            return bad(
                "flush.ms",
                format!("{} must not be negative", self.flush_interval_ms),
            );
        }
        if self.max_message_bytes == 0 {
            return bad("max.message.bytes", "must be positive".to_string());
        }
        if !(0.0..=1.0).contains(&self.min_cleanable_dirty_ratio) {
            return bad(
                "min.cleanable.dirty.ratio",
                format!("{} is outside [0, 1]", self.min_cleanable_dirty_ratio),
            );
        }
        if self.delete_retention_ms < 0 || self.min_compaction_lag_ms < 0 {
            return bad(
                "delete.retention.ms",
                "delete.retention.ms and min.compaction.lag.ms must not be negative".to_string(),
            );
        }
        if self.max_compaction_lag_ms < 1 || self.min_compaction_lag_ms > self.max_compaction_lag_ms
        {
            return bad(
                "max.compaction.lag.ms",
                format!(
                    "{} must be at least 1 and at least min.compaction.lag.ms ({})",
                    self.max_compaction_lag_ms, self.min_compaction_lag_ms
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_kafkas_and_valid() {
        let c = LogConfig::default();
        assert_eq!(c.segment_bytes, 1 << 30);
        assert_eq!(c.max_message_bytes, 1048588);
        c.validate().unwrap();
        let bad = LogConfig {
            segment_bytes: 1 << 40,
            ..c
        };
        assert!(matches!(
            bad.validate(),
            Err(LogError::InvalidConfig {
                key: "segment.bytes",
                ..
            })
        ));
    }
}
