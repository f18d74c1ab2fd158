//! Retention (Kafka's `deleteOldSegments`): deletes whole non-active segments,
//! oldest first, while they breach `retention.ms` (largest timestamp older
//! than now minus retention), `retention.bytes` (the log is over the limit by
//! at least the segment's size), or lie wholly below the log start offset.
//! The log start offset then moves to the first remaining segment. A
//! non-empty active segment that breaches retention is rolled first, so a
//! quiet topic's data still expires; an empty active segment always stays.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::error::LogError;
use super::partition_log::Log;
use super::segment::LogSegment;
use crate::model::Offset;

/// How many leading segments of `older` may go.
/// Each rule deletes a prefix; deleting the longest prefix is the same as
/// applying them one after another, as Kafka does. No segment whose next
/// base offset is above `high_watermark` goes.
#[allow(clippy::too_many_arguments)]
fn deletable_prefix(
    older: &[Arc<LogSegment>],
    next_bases: &[Offset],
    high_watermark: Offset,
    total_bytes: u64,
    retention_ms: i64,
    retention_bytes: i64,
    log_start_offset: Offset,
    now_ms: i64,
) -> usize {
    let by_time = if retention_ms < 0 {
        0
    } else {
        older
            .iter()
            .take_while(|s| {
                now_ms.saturating_sub(s.largest_timestamp_for_retention()) > retention_ms
            })
            .count()
    };
    let by_size = if retention_bytes < 0 || total_bytes < retention_bytes as u64 {
        0
    } else {
        let mut excess = total_bytes - retention_bytes as u64;
        older
            .iter()
            .take_while(|s| {
                let size = s.size_bytes();
                let fits = excess >= size;
                if fits {
                    excess -= size;
                }
                fits
            })
            .count()
    };
    let by_start = next_bases
        .iter()
        .take_while(|&&next| next <= log_start_offset)
        .count();
    let below_high_watermark = next_bases
        .iter()
        .take_while(|&&next| next <= high_watermark)
        .count();
    by_time.max(by_size).max(by_start).min(below_high_watermark)
}

impl Log {
    /// Applies retention at `now_ms`, deleting nothing at or above
    /// `high_watermark`; returns how many segments were deleted.
    pub fn delete_old_segments(
        &self,
        now_ms: i64,
        high_watermark: Offset,
    ) -> Result<usize, LogError> {
        let _append = self.append_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(0);
        }
        let log_end = self.log_end_offset();
        let config = self.config();
        let mut segments = self.segments_snapshot();
        let Some(active) = segments.last() else {
            return Ok(0);
        };
        // The active segment counts too unless it is empty, as in Kafka: when
        // even it breaches retention, a new empty segment is rolled first and
        // everything before it goes.
        let candidates = if active.size_bytes() == 0 {
            &segments[..segments.len() - 1]
        } else {
            &segments[..]
        };
        let next_bases: Vec<Offset> = segments[1..]
            .iter()
            .map(|s| s.base_offset())
            .chain(std::iter::once(log_end))
            .collect();
        let total_bytes = segments.iter().map(|s| s.size_bytes()).sum();
        let count = deletable_prefix(
            candidates,
            &next_bases[..candidates.len()],
            high_watermark,
            total_bytes,
            // Kafka applies time and size retention only under cleanup.policy=delete.
            if config.cleanup_policy_delete {
                config.retention_ms
            } else {
                -1
            },
            if config.cleanup_policy_delete {
                config.retention_bytes
            } else {
                -1
            },
            self.log_start_offset(),
            now_ms,
        );
        if count == 0 {
            return Ok(0);
        }
        if count == segments.len() {
            // Only reached when the high watermark is the log end offset.
            debug_assert!(high_watermark >= log_end);
            self.roll(log_end, &config, now_ms)?;
            segments = self.segments_snapshot();
        }
        let new_start = segments[count].base_offset();
        {
            let mut map = self.segments.write();
            for segment in &segments[..count] {
                map.remove(&segment.base_offset());
            }
        }
        assert!(
            new_start <= high_watermark,
            "retention would move the log start of {} to {new_start}, past the high watermark {high_watermark}",
            self.tp
        );
        self.log_start_offset.fetch_max(new_start, Ordering::AcqRel);
        for segment in &segments[..count] {
            tracing::info!(
                tp = %self.tp, base_offset = %segment.base_offset(),
                size_bytes = segment.size_bytes(), "deleting segment for retention"
            );
            segment.delete()?;
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use crate::log::test_util::batch_with_values;
    use crate::log::{Log, LogConfig};
    use crate::model::TopicPartition;
    use crate::model::{Offset, off, offs};

    fn log_with_segments(dir: &std::path::Path, config: LogConfig, ts: &[i64]) -> Log {
        let log = Log::open(
            dir,
            TopicPartition::new("t", 0),
            config,
            off(0),
            off(0),
            true,
        )
        .unwrap();
        for &t in ts {
            let mut b = batch_with_values(0, &[t], 200);
            log.append_as_leader(&mut b, t).unwrap();
        }
        log
    }

    /// Bytes of one test batch: a single 200-byte record.
    fn batch_bytes() -> u64 {
        batch_with_values(0, &[0], 200).len() as u64
    }

    fn small_segments() -> LogConfig {
        LogConfig {
            segment_bytes: 300, // one 270-byte batch per segment
            ..LogConfig::default()
        }
    }

    #[test]
    fn retention_by_time_deletes_old_prefix_only() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: 1000,
            ..small_segments()
        };
        // Segment timestamps: 100, 5000, 200 (out of order), 6000, 7000 (active).
        let log = log_with_segments(dir.path(), config, &[100, 5000, 200, 6000, 7000]);
        assert_eq!(log.num_segments(), 5);
        // At 5500 only the first segment is older than 1000 ms; the third is
        // too, but retention stops at the first segment it keeps.
        assert_eq!(
            log.delete_old_segments(5500, log.log_end_offset()).unwrap(),
            1
        );
        assert_eq!(log.log_start_offset(), off(1));
        // At 6500 the active segment (7000) is still young: it stays.
        assert_eq!(
            log.delete_old_segments(6500, log.log_end_offset()).unwrap(),
            2
        );
        assert_eq!(log.segment_base_offsets(), offs(&[3, 4]));
        // Once even the active segment is old, a new empty one is rolled at
        // the log end and everything before it goes, as in Kafka.
        assert_eq!(
            log.delete_old_segments(1_000_000, log.log_end_offset())
                .unwrap(),
            2
        );
        assert_eq!(log.segment_base_offsets(), offs(&[5]));
        assert_eq!(log.log_start_offset(), off(5));
        assert_eq!(log.log_end_offset(), off(5));
        assert!(log.read(off(4), 1000, Offset::MAX, true).is_err());
        assert!(
            log.read(off(5), 1000, Offset::MAX, true)
                .unwrap()
                .records
                .is_empty()
        );
        assert_eq!(
            log.delete_old_segments(2_000_000, log.log_end_offset())
                .unwrap(),
            0,
            "an empty active segment stays"
        );
        let mut b = batch_with_values(0, &[8000], 200);
        assert_eq!(
            log.append_as_leader(&mut b, 8000).unwrap().first_offset,
            off(5)
        );
        let disabled = LogConfig {
            retention_ms: -1,
            ..config
        };
        log.set_config(disabled).unwrap();
        assert_eq!(
            log.delete_old_segments(i64::MAX, log.log_end_offset())
                .unwrap(),
            0
        );
    }

    #[test]
    fn retention_by_bytes_keeps_the_log_under_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: -1,
            retention_bytes: 3 * batch_bytes() as i64,
            ..small_segments()
        };
        let log = log_with_segments(dir.path(), config, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(log.size_bytes(), 6 * batch_bytes());
        assert_eq!(
            log.delete_old_segments(10, log.log_end_offset()).unwrap(),
            3
        );
        assert_eq!(log.size_bytes(), 3 * batch_bytes());
        assert_eq!(log.log_start_offset(), off(3));
        assert_eq!(
            log.delete_old_segments(10, log.log_end_offset()).unwrap(),
            0
        );
        let files = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(files, 9, "three segments of three files each");
    }

    #[test]
    fn segments_below_log_start_offset_go() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: -1,
            ..small_segments()
        };
        let log = log_with_segments(dir.path(), config, &[1, 2, 3, 4]);
        assert!(log.maybe_increment_log_start_offset(off(2)).unwrap());
        assert!(!log.maybe_increment_log_start_offset(off(1)).unwrap());
        assert_eq!(
            log.delete_old_segments(10, log.log_end_offset()).unwrap(),
            2
        );
        assert_eq!(log.segment_base_offsets(), offs(&[2, 3]));
        assert!(log.maybe_increment_log_start_offset(off(99)).is_err());
    }

    /// Kafka's `deletableSegments`: nothing at or above the high watermark
    /// goes, whichever rule asks, and the active segment is rolled for
    /// retention only when everything in it is below the high watermark.
    #[test]
    fn retention_never_passes_the_high_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            retention_ms: 1000,
            ..small_segments()
        };
        // Five old segments (offsets 0..5); the last is active.
        let log = log_with_segments(dir.path(), config, &[1, 2, 3, 4, 5]);
        // HW 2: only the segments ending at or below offset 2 may go.
        assert_eq!(log.delete_old_segments(1_000_000, off(2)).unwrap(), 2);
        assert_eq!(log.log_start_offset(), off(2));
        assert_eq!(log.segment_base_offsets(), offs(&[2, 3, 4]));
        // HW inside the active segment's range: no roll, the active stays.
        assert_eq!(log.delete_old_segments(1_000_000, off(4)).unwrap(), 2);
        assert_eq!(log.segment_base_offsets(), offs(&[4]));
        assert_eq!(log.log_start_offset(), off(4));
        assert!(log.log_start_offset() <= off(4), "log start passed the HW");
        // The same for the size and log-start rules.
        let bytes = LogConfig {
            retention_ms: -1,
            retention_bytes: 0,
            ..small_segments()
        };
        log.set_config(bytes).unwrap();
        let mut b = batch_with_values(0, &[6], 200);
        log.append_as_leader(&mut b, 6).unwrap();
        assert_eq!(log.delete_old_segments(1_000_000, off(4)).unwrap(), 0);
        assert_eq!(log.log_start_offset(), off(4));
        // HW == LEO: everything may go, the active segment rolled first.
        assert_eq!(log.delete_old_segments(1_000_000, off(6)).unwrap(), 2);
        assert_eq!(log.log_start_offset(), off(6));
        assert_eq!(log.log_end_offset(), off(6));
    }
}
