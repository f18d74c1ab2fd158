//! What a replica answers ListOffsets with (Kafka's
//! Partition.fetchOffsetForTimestamp): the last fetchable offset for
//! LATEST, the log start for EARLIEST, the batch with the largest timestamp
//! for MAX_TIMESTAMP, and the first offset at or after a timestamp below the
//! last fetchable offset. That offset is the high watermark for a client
//! (replica id -1) and the log end for anyone else (a broker, replica id >= 0,
//! or a debugging consumer, -2: Kafka gives them no isolation level).
//! KIP-207: while a new leader's high watermark is below its epoch's start
//! offset, a client gets OFFSET_NOT_AVAILABLE for LATEST (and for a timestamp
//! found at or past the high watermark) instead of an offset lower than one
//! the previous leader may have given out. Only a debugging consumer may ask
//! a follower (Kafka's `DEBUGGING_REPLICA_ID`; the handler picks the replica).

use super::{Partition, ReplicaError};
use crate::model::Offset;

/// ListOffsets timestamps with a meaning of their own.
pub const LATEST_TIMESTAMP: i64 = -1;
pub const EARLIEST_TIMESTAMP: i64 = -2;
pub const MAX_TIMESTAMP: i64 = -3;
/// ListOffsets' replica id of a debugging consumer (tools, the console).
pub const DEBUGGING_REPLICA_ID: i32 = -2;

impl Partition {
    /// `(offset, timestamp)` for a ListOffsets `target`; `(-1, -1)` when no
    /// record qualifies. `from_client`: the request's replica id is -1 (the
    /// high watermark bounds the answer and the KIP-207 check applies, as in
    /// Kafka); otherwise the log end bounds it.
    pub fn fetch_offset_for_timestamp(
        &self,
        target: i64,
        from_client: bool,
    ) -> Result<(Offset, i64), ReplicaError> {
        let log = self.log();
        let high_watermark = self.high_watermark();
        let last_fetchable = if from_client {
            high_watermark
        } else {
            log.log_end_offset()
        };
        let lagging = || match self.leader_epoch_start_offset() {
            Some(epoch_start) if from_client && epoch_start > high_watermark => {
                Err(ReplicaError::OffsetNotAvailable {
                    partition: self.tp.to_string(),
                    high_watermark,
                    epoch_start,
                })
            }
            _ => Ok((Offset::UNKNOWN, -1)),
        };
        Ok(match target {
            LATEST_TIMESTAMP => {
                lagging()?;
                (last_fetchable, -1)
            }
            EARLIEST_TIMESTAMP => (log.log_start_offset(), -1),
            MAX_TIMESTAMP => {
                let (timestamp, offset) = log.max_timestamp_and_offset();
                if !offset.is_known() {
                    (Offset::UNKNOWN, -1)
                } else {
                    (offset, timestamp)
                }
            }
            // Kafka treats other negative targets as a search that finds nothing.
            t if t < 0 => (Offset::UNKNOWN, -1),
            t => match log.offset_for_timestamp(t)? {
                // Only offsets below the high watermark are visible to consumers.
                Some((offset, ts)) if offset < last_fetchable => (offset, ts),
                _ => lagging()?,
            },
        })
    }
}
