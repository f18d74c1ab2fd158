//! What a leader answers ListOffsets with (Kafka's
//! Partition.fetchOffsetForTimestamp): the high watermark for LATEST, the log
//! start for EARLIEST, the batch with the largest timestamp for
//! MAX_TIMESTAMP, and the first offset at or after a timestamp below the
//! high watermark. KIP-207: while a new leader's high watermark is below its
//! epoch's start offset, a client gets OFFSET_NOT_AVAILABLE for LATEST (and
//! for a timestamp found at or past the high watermark) instead of an offset
//! lower than one the previous leader may have given out. A debugging
//! consumer (replica id -2) may ask any replica, and gets its log end for
//! LATEST (Kafka's `DEBUGGING_REPLICA_ID`).

use super::{Partition, ReplicaError};
use crate::model::Offset;

/// ListOffsets timestamps with a meaning of their own.
pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
/// ListOffsets' replica id of a debugging consumer (tools, the console).
pub const DEBUGGING_REPLICA_ID: i32 = -2;

impl Partition {
    /// A debugging consumer's ListOffsets answer, from any replica: this
    /// replica's log end for LATEST, otherwise as for another broker.
    pub fn fetch_offset_for_debugging(&self, target: i64) -> Result<(Offset, i64), ReplicaError> {
        match target {
            LATEST_TIMESTAMP => Ok((self.log().log_end_offset(), -1)),
            t => self.fetch_offset_for_timestamp(t, false),
        }
    }

    /// `(offset, timestamp)` for a ListOffsets `target`; `(-1, -1)` when no
    /// record qualifies. `from_client`: the request's replica id is -1 (the
    /// KIP-207 check applies to clients only, as in Kafka).
    pub fn fetch_offset_for_timestamp(
        &self,
        target: i64,
        from_client: bool,
    ) -> Result<(Offset, i64), ReplicaError> {
        let log = self.log();
        let high_watermark = self.high_watermark();
        let lagging = || match self.leader_epoch_start_offset() {
            Some(epoch_start) if from_client && epoch_start > high_watermark => {
                Err(ReplicaError::OffsetNotAvailable {
                    partition: self.tp.to_string(),
                    high_watermark,
                    epoch_start,
                })
            }
            _ => Ok((-1, -1)),
        };
        Ok(match target {
            LATEST_TIMESTAMP => {
                lagging()?;
                (high_watermark, -1)
            }
            EARLIEST_TIMESTAMP => (log.log_start_offset(), -1),
            MAX_TIMESTAMP => {
                let (timestamp, offset) = log.max_timestamp_and_offset();
                if offset < 0 {
                    (-1, -1)
                } else {
                    (offset, timestamp)
                }
            }
            // Kafka treats other negative targets as a search that finds nothing.
            t if t < 0 => (-1, -1),
            t => match log.offset_for_timestamp(t)? {
                // Only offsets below the high watermark are visible to consumers.
                Some((offset, ts)) if offset < high_watermark => (offset, ts),
                _ => lagging()?,
            },
        })
    }
}
