//! Segments below the log start offset (Kafka's
//! deleteLogStartOffsetBreachedSegments): once DeleteRecords, or a follower
//! adopting its leader's log start, moved the log start offset, every
//! segment whose successor starts at or below it holds nothing readable and
//! is deleted right away. The active segment always stays. Time and size
//! retention are not applied here (`retention.rs` does that on schedule).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::error::LogError;
use super::partition_log::Log;
use super::segment::LogSegment;

impl Log {
    /// Deletes the segments wholly below the log start offset; returns how many.
    pub fn delete_segments_below_log_start(&self) -> Result<usize, LogError> {
        let _append = self.append_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(0);
        }
        let log_start = self.log_start_offset();
        let segments = self.segments_snapshot();
        let doomed: Vec<Arc<LogSegment>> = segments
            .windows(2)
            .take_while(|pair| pair[1].base_offset() <= log_start)
            .map(|pair| pair[0].clone())
            .collect();
        if doomed.is_empty() {
            return Ok(0);
        }
        {
            let mut map = self.segments.write();
            for segment in &doomed {
                map.remove(&segment.base_offset());
            }
        }
        for segment in &doomed {
            tracing::info!(
                tp = %self.topic_partition(), base_offset = %segment.base_offset(),
                log_start_offset = %log_start, "deleting segment below the log start offset"
            );
            segment.delete()?;
        }
        Ok(doomed.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::log::test_util::batch_with_values;
    use crate::log::{Log, LogConfig};
    use crate::model::{off, offs};

    #[test]
    fn only_segments_wholly_below_the_log_start_go() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig {
            segment_bytes: 300, // one 270-byte batch per segment
            ..LogConfig::default()
        };
        let log = Log::open(
            &dir.path().join("t-0"),
            crate::model::TopicPartition::new("t", 0),
            config,
            off(0),
            off(0),
            true,
        )
        .unwrap();
        for _ in 0..4 {
            log.append_as_leader(&mut batch_with_values(0, &[0], 200), 0)
                .unwrap();
        }
        assert_eq!(log.segment_base_offsets(), offs(&[0, 1, 2, 3]));
        assert_eq!(log.delete_segments_below_log_start().unwrap(), 0);
        log.maybe_increment_log_start_offset(off(2)).unwrap();
        assert_eq!(log.delete_segments_below_log_start().unwrap(), 2);
        assert_eq!(log.segment_base_offsets(), offs(&[2, 3]));
        log.maybe_increment_log_start_offset(off(4)).unwrap();
        assert_eq!(log.delete_segments_below_log_start().unwrap(), 1);
        assert_eq!(
            log.segment_base_offsets(),
            offs(&[3]),
            "the active segment stays"
        );
        assert!(
            log.read(off(3), 1000, off(4), true).is_err(),
            "below the log start"
        );
    }
}
