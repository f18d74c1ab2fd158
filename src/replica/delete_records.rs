//! DeleteRecords on the replica side (Kafka's Partition.deleteRecordsOnLeader,
//! lowWatermarkIfLeader and the follower's maybeIncrementLogStartOffset): the
//! leader moves its log start offset (at most to the high watermark, -1
//! meaning the high watermark), deletes the segments wholly below it and
//! checkpoints it; followers adopt the leader's log start offset from fetch
//! responses; the low watermark a client is answered with is the smallest log
//! start offset among the leader and its live replicas, which followers
//! report in their fetch requests.

use super::ReplicaError;
use super::manager::ReplicaManager;
use super::partition::Partition;
use crate::log::LogError;
use crate::model::{BrokerId, Offset, TopicPartition};

/// DeleteRecords' "up to the high watermark" offset.
pub const DELETE_TO_HIGH_WATERMARK: Offset = Offset::UNKNOWN;

impl Partition {
    /// Moves the leader's log start offset to `offset` (or the high
    /// watermark); returns the offset it was asked to reach.
    fn delete_records_on_leader(&self, offset: Offset) -> Result<Offset, ReplicaError> {
        if !self.is_leader() {
            return Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string()));
        }
        if !self.log().config().cleanup_policy_delete {
            return Err(ReplicaError::DeleteRecordsPolicyViolation(
                self.tp.to_string(),
            ));
        }
        let high_watermark = self.high_watermark();
        let target = if offset == DELETE_TO_HIGH_WATERMARK {
            high_watermark
        } else {
            offset
        };
        if target < Offset::ZERO || target > high_watermark {
            return Err(ReplicaError::Log(LogError::OffsetOutOfRange {
                requested: target,
                log_start: self.log().log_start_offset(),
                log_end: high_watermark,
            }));
        }
        self.advance_log_start(target)?;
        Ok(target)
    }

    /// Raises the log start offset to `offset` if it is higher and deletes
    /// the segments wholly below it. Returns whether it moved.
    fn advance_log_start(&self, offset: Offset) -> Result<bool, ReplicaError> {
        let log = self.log();
        if !log.maybe_increment_log_start_offset(offset)? {
            return Ok(false);
        }
        log.delete_segments_below_log_start()?;
        self.truncate_epochs_from_start(log.log_start_offset())?;
        self.follow_log_start_offset();
        tracing::info!(partition = %self.tp, log_start_offset = %log.log_start_offset(), "log start offset moved");
        Ok(true)
    }
}

impl ReplicaManager {
    /// DeleteRecords at the leader: moves the log start offset and
    /// checkpoints it; returns the offset the low watermark must reach.
    pub fn delete_records(
        &self,
        tp: &TopicPartition,
        offset: Offset,
    ) -> Result<Offset, ReplicaError> {
        let partition = self.leader_partition(tp)?;
        let target = partition.delete_records_on_leader(offset)?;
        self.checkpoint_log_start_offsets();
        // Waiting fetches wake up and carry the new log start to followers.
        self.announce_partition_change(tp);
        Ok(target)
    }

    /// The smallest log start offset among the leader and its live replicas
    /// (`is_live` says which brokers are).
    pub fn low_watermark(
        &self,
        tp: &TopicPartition,
        is_live: impl Fn(BrokerId) -> bool,
    ) -> Result<Offset, ReplicaError> {
        self.leader_partition(tp)?.low_watermark_if_leader(is_live)
    }

    /// A follower's fetch request carried its log start offset.
    pub fn record_follower_log_start(
        &self,
        tp: &TopicPartition,
        follower: BrokerId,
        log_start: Offset,
    ) {
        let Some(partition) = self.get_partition(tp) else {
            return;
        };
        if partition.update_follower_log_start_offset(follower, log_start) {
            self.announce_partition_change(tp);
        }
    }

    /// A follower learnt its leader's log start offset from a fetch response:
    /// it adopts it, up to its own high watermark (Kafka's follower behaviour).
    pub(super) fn follow_leader_log_start(&self, partition: &Partition, leader_log_start: Offset) {
        let target = leader_log_start.min(partition.high_watermark());
        if target <= partition.log().log_start_offset() {
            return;
        }
        match partition.advance_log_start(target) {
            Ok(true) => self.checkpoint_log_start_offsets(),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(partition = %partition.tp, error = %e, "cannot follow the leader's log start offset")
            }
        }
    }

    fn checkpoint_log_start_offsets(&self) {
        if let Err(e) = self.log_manager().checkpoint() {
            tracing::warn!(error = %e, "cannot checkpoint log start offsets");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::batch;
    use crate::log::{LogConfig, LogManager};
    use crate::model::off;
    use crate::model::{BrokerId, LeaderEpoch};
    use crate::replica::partition::tests::leading_partition;

    /// Broker 1 leading t-0 (replicas 1, 2, 3) with 10 records all replicated.
    fn leader(dir: &std::path::Path) -> (LogManager, Partition) {
        let (manager, partition) = leading_partition(dir, LogConfig::default(), &[1, 2, 3]);
        partition
            .append_as_leader(&mut batch(0, 10), 1000, -1)
            .unwrap();
        partition.update_follower_fetch(BrokerId(2), off(10), LeaderEpoch::new(0), 1100);
        partition.update_follower_fetch(BrokerId(3), off(10), LeaderEpoch::new(0), 1100);
        assert_eq!(partition.high_watermark(), off(10));
        (manager, partition)
    }

    #[test]
    fn the_leader_moves_its_log_start_up_to_the_high_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let (_manager, p) = leader(dir.path());
        assert!(matches!(
            p.delete_records_on_leader(off(11)),
            Err(ReplicaError::Log(LogError::OffsetOutOfRange { .. }))
        ));
        assert_eq!(p.delete_records_on_leader(off(4)).unwrap(), off(4));
        assert_eq!(p.log().log_start_offset(), off(4));
        assert_eq!(
            p.delete_records_on_leader(off(2)).unwrap(),
            off(2),
            "never moves back"
        );
        assert_eq!(p.log().log_start_offset(), off(4));
        assert_eq!(
            p.delete_records_on_leader(DELETE_TO_HIGH_WATERMARK)
                .unwrap(),
            off(10)
        );
        assert_eq!(p.log().log_start_offset(), off(10));
    }

    #[test]
    fn the_low_watermark_is_the_smallest_live_log_start() {
        let dir = tempfile::tempdir().unwrap();
        let (_manager, p) = leader(dir.path());
        p.delete_records_on_leader(off(6)).unwrap();
        assert_eq!(
            p.low_watermark_if_leader(|_| true).unwrap(),
            off(-1),
            "followers unknown"
        );
        assert!(p.update_follower_log_start_offset(BrokerId(2), off(6)));
        assert!(
            !p.update_follower_log_start_offset(BrokerId(2), off(6)),
            "unchanged"
        );
        assert!(p.update_follower_log_start_offset(BrokerId(3), off(3)));
        assert_eq!(p.low_watermark_if_leader(|_| true).unwrap(), off(3));
        assert_eq!(
            p.low_watermark_if_leader(|b| b != BrokerId(3)).unwrap(),
            off(6)
        );
    }
}
