//! The producer state following the log start offset (Kafka's
//! `UnifiedLog.maybeIncrementLogStartOffset` → `ProducerStateManager`
//! `truncateHead` / `deleteSnapshotsBefore`, and the producer snapshots that
//! go with deleted segments in `deleteSegmentFiles` / `replaceSegments`).
//!
//! When the log start moves (DeleteRecords on the leader, a follower adopting
//! the leader's log start, retention deleting old segments), the producers
//! whose last batch lies below it are forgotten and every snapshot below it
//! is deleted at once. When the cleaner swaps a group of segments for one,
//! the snapshots at the base offsets of the segments that vanished go too.
//!
//! The log room knows nothing of producer state: DeleteRecords calls this
//! from the replica room, the retention schedule asks the replica manager to
//! look for moved log starts after each pass, and the cleaner schedule hands
//! over the base offsets its swaps removed (`CleanStats`).

use std::sync::atomic::Ordering;

use super::manager::ReplicaManager;
use super::partition::Partition;
use super::producer_snapshot;
use crate::model::{Offset, TopicPartition};

impl Partition {
    /// Brings the producer state in step with the log start offset if it
    /// moved since the last time; returns whether it had moved.
    pub fn follow_log_start_offset(&self) -> bool {
        let (producer_state, followed) = self.producer_state_and_log_start();
        let mut producers = producer_state.lock();
        let log_start = self.log().log_start_offset();
        if followed.load(Ordering::Acquire) == log_start {
            return false;
        }
        followed.store(log_start, Ordering::Release);
        let forgotten = producers.truncate_head(log_start);
        let deleted = producer_snapshot::delete_snapshots_before(self.log().dir(), log_start);
        drop(producers);
        match deleted {
            Ok(snapshots) => tracing::debug!(
                partition = %self.tp, log_start_offset = %log_start, producers = forgotten,
                snapshots, "producer state followed the log start offset"
            ),
            Err(e) => tracing::warn!(
                partition = %self.tp, log_start_offset = %log_start, error = %e,
                "cannot delete producer snapshots below the log start offset"
            ),
        }
        true
    }

    /// After a cleaner swap: deletes the snapshots at `removed_bases`, the
    /// base offsets of segments the swap merged away (a base that is again
    /// a segment's keeps its snapshot).
    pub fn delete_snapshots_of_removed_segments(&self, removed_bases: &[Offset]) {
        if removed_bases.is_empty() {
            return;
        }
        let (producer_state, _) = self.producer_state_and_log_start();
        let _producers = producer_state.lock();
        let live = self.log().segment_base_offsets();
        for &base in removed_bases.iter().filter(|b| !live.contains(b)) {
            if let Err(e) = producer_snapshot::delete_snapshot(self.log().dir(), base) {
                tracing::warn!(partition = %self.tp, offset = %base, error = %e, "cannot delete producer snapshot");
            }
        }
    }
}

impl ReplicaManager {
    /// After a retention pass: every hosted partition whose log start moved
    /// follows it; returns how many did.
    pub fn follow_log_start_offsets(&self) -> usize {
        self.all_partitions()
            .iter()
            .filter(|p| p.follow_log_start_offset())
            .count()
    }

    /// After the cleaner swapped segments of `tp`: see
    /// [`Partition::delete_snapshots_of_removed_segments`].
    pub fn on_segments_cleaned(&self, tp: &TopicPartition, removed_bases: &[Offset]) {
        if let Some(partition) = self.get_partition(tp) {
            partition.delete_snapshots_of_removed_segments(removed_bases);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::batch;
    use crate::log::{LogConfig, LogManager};
    use crate::model::off;
    use crate::replica::partition::tests::leading_partition;

    /// Broker 1 leading t-0 alone, with 300-byte segments.
    fn leader(dir: &std::path::Path) -> (LogManager, Partition) {
        let config = LogConfig {
            segment_bytes: 300,
            ..LogConfig::default()
        };
        leading_partition(dir, config, &[1])
    }

    /// `count` records from idempotent producer `pid` (epoch 0), first sequence `seq`.
    fn idempotent_batch(pid: i64, seq: i32, count: usize) -> Vec<u8> {
        let mut b = batch(0, count);
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        b[51..53].copy_from_slice(&0i16.to_be_bytes());
        b[53..57].copy_from_slice(&seq.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn snapshots(p: &Partition) -> Vec<Offset> {
        producer_snapshot::list_snapshots(p.log().dir()).unwrap()
    }

    #[test]
    fn moving_the_log_start_drops_producers_and_snapshots_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_manager, p) = leader(dir.path());
        let first = p
            .append_as_leader(&mut idempotent_batch(7, 0, 2), 0, 1)
            .unwrap();
        assert_eq!(first.first_offset, off(0));
        for i in 0..10 {
            p.append_as_leader(&mut idempotent_batch(9, i * 2, 2), 0, 1)
                .unwrap();
        }
        let rolled = p.log().segment_base_offsets()[1..].to_vec();
        assert!(rolled.len() >= 3, "segments: {rolled:?}");
        assert_eq!(snapshots(&p), rolled);
        assert!(!p.follow_log_start_offset(), "nothing moved yet");

        // What DeleteRecords or retention does in the log room.
        let log_start = rolled[1];
        assert!(p.log().maybe_increment_log_start_offset(log_start).unwrap());
        p.log().delete_segments_below_log_start().unwrap();
        assert_eq!(snapshots(&p), rolled, "the log room leaves them");
        assert!(p.follow_log_start_offset());
        assert!(!p.follow_log_start_offset(), "followed once");
        assert_eq!(snapshots(&p), rolled[1..].to_vec());

        // Producer 7's only batch is gone: a retry is a new append now.
        let retry = p
            .append_as_leader(&mut idempotent_batch(7, 0, 2), 0, 1)
            .unwrap();
        assert_eq!(retry.first_offset, off(22), "appended, not a duplicate");
        // Producer 9's last batch is above the log start: still a duplicate.
        let dup = p
            .append_as_leader(&mut idempotent_batch(9, 18, 2), 0, 1)
            .unwrap();
        assert_eq!((dup.first_offset, dup.last_offset), (off(20), off(21)));
    }

    #[test]
    fn truncate_head_keeps_only_producers_reaching_the_log_start() {
        use crate::replica::producer_state::ProducerStateTable;
        let at = |pid, seq, count, offset| {
            let mut b = idempotent_batch(pid, seq, count);
            crate::log::set_base_offset(&mut b, offset);
            b
        };
        let mut table = ProducerStateTable::new();
        table.record_all(&at(1, 0, 3, off(0))); // offsets 0..=2
        table.record_all(&at(2, 0, 2, off(3))); // offsets 3..=4
        table.record_all(&at(1, 3, 1, off(5))); // producer 1 again at 5
        assert_eq!(table.truncate_head(off(5)), 1, "producer 2 ends at 4");
        assert_eq!(table.producer_count(), 1);
        assert_eq!(table.truncate_head(off(5)), 0);
        assert_eq!(table.truncate_head(off(6)), 1, "producer 1 ends at 5");
    }

    #[test]
    fn a_cleaner_swap_deletes_the_snapshots_of_merged_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (_manager, p) = leader(dir.path());
        for i in 0..10 {
            p.append_as_leader(&mut idempotent_batch(9, i * 2, 2), 0, 1)
                .unwrap();
        }
        let rolled = p.log().segment_base_offsets()[1..].to_vec();
        assert!(rolled.len() >= 2, "segments: {rolled:?}");
        // A base that is still a segment's keeps its snapshot; 3 is no base.
        producer_snapshot::write_snapshot(p.log().dir(), off(3), &[], false).unwrap();
        p.delete_snapshots_of_removed_segments(&[off(3), rolled[0]]);
        assert_eq!(snapshots(&p), rolled);
    }
}
