//! The leader epoch cache of one partition (Kafka's LeaderEpochFileCache):
//! the `(epoch, start offset)` pairs of every leader epoch that wrote to the
//! log, persisted as the partition's `leader-epoch-checkpoint`. Leaders add an
//! entry when they take over; followers add one when a replicated batch
//! carries a newer epoch. OffsetsForLeaderEpoch answers from it, and followers
//! truncate to the epoch boundary it yields.

use std::path::Path;

use parking_lot::Mutex;

use crate::log::{BatchHeader, CheckpointFile, EpochEntry, LEADER_EPOCH_CHECKPOINT, Log, LogError};
use crate::model::{LeaderEpoch, Offset};

/// Kafka's UNDEFINED_EPOCH and UNDEFINED_EPOCH_OFFSET.
pub const UNDEFINED_EPOCH: LeaderEpoch = LeaderEpoch::UNDEFINED;
pub const UNDEFINED_EPOCH_OFFSET: Offset = Offset::UNKNOWN;
/// How much of the log one read of the recovery scan covers.
const RECOVERY_SCAN_BYTES: usize = 1 << 20;

#[derive(Debug)]
pub struct LeaderEpochCache {
    file: CheckpointFile,
    entries: Mutex<Vec<EpochEntry>>,
}

impl LeaderEpochCache {
    /// Loads `<partition dir>/leader-epoch-checkpoint` (missing: empty).
    pub fn load(partition_dir: &Path) -> Result<LeaderEpochCache, LogError> {
        let file = CheckpointFile::new(partition_dir.join(LEADER_EPOCH_CHECKPOINT));
        // Taken in file order as Kafka's cache does: an entry drops every
        // earlier one with an epoch or start offset not below its own, so a
        // damaged file still gives increasing epochs and start offsets.
        let mut entries: Vec<EpochEntry> = Vec::new();
        for entry in file.read::<EpochEntry>()? {
            entries.retain(|e| e.epoch < entry.epoch && e.start_offset < entry.start_offset);
            entries.push(entry);
        }
        Ok(LeaderEpochCache {
            file,
            entries: Mutex::new(entries),
        })
    }

    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.entries.lock().last().map(|e| e.epoch)
    }

    #[cfg(test)]
    pub fn entries(&self) -> Vec<EpochEntry> {
        self.entries.lock().clone()
    }

    /// Records that `epoch` starts at `start_offset`, if it is newer than the
    /// latest epoch. Entries starting at or after `start_offset` conflict with
    /// it and are dropped, as Kafka does.
    pub fn assign(&self, epoch: LeaderEpoch, start_offset: Offset) -> Result<(), LogError> {
        if !epoch.is_defined() {
            return Ok(());
        }
        let mut entries = self.entries.lock();
        if entries.last().is_some_and(|e| e.epoch >= epoch) {
            return Ok(());
        }
        entries.retain(|e| e.start_offset < start_offset);
        entries.push(EpochEntry {
            epoch,
            start_offset,
        });
        assert!(
            entries
                .windows(2)
                .all(|w| w[0].epoch < w[1].epoch && w[0].start_offset < w[1].start_offset),
            "leader epochs and their start offsets must increase: {entries:?}"
        );
        self.file.write(&entries)
    }

    /// `(epoch, end offset)` for a requested epoch: the end offset is the start
    /// of the first later epoch (the log end for the latest epoch), and the
    /// epoch is the largest known one not above the request. Undefined when
    /// the request is newer than every known epoch or the cache is empty.
    pub fn end_offset_for(
        &self,
        requested: LeaderEpoch,
        log_end_offset: Offset,
    ) -> (LeaderEpoch, Offset) {
        let entries = self.entries.lock();
        end_offset_for(&entries, requested, log_end_offset)
    }

    /// Drops entries starting at or after `end_offset` (the log was truncated there).
    pub fn truncate_from_end(&self, end_offset: Offset) -> Result<(), LogError> {
        let mut entries = self.entries.lock();
        let before = entries.len();
        entries.retain(|e| e.start_offset < end_offset);
        if entries.len() != before {
            self.file.write(&entries)?;
        }
        Ok(())
    }

    /// The log start offset moved to `start_offset`: entries starting at or
    /// before it go, except the last of them, which now starts there
    /// (Kafka's truncateFromStart).
    pub fn truncate_from_start(&self, start_offset: Offset) -> Result<(), LogError> {
        let mut entries = self.entries.lock();
        let below = entries
            .iter()
            .take_while(|e| e.start_offset <= start_offset)
            .count();
        if below == 0 {
            return Ok(());
        }
        let epoch = entries[below - 1].epoch;
        entries.drain(..below);
        entries.insert(
            0,
            EpochEntry {
                epoch,
                start_offset,
            },
        );
        self.file.write(&entries)
    }

    /// Adds the epochs of `log`'s batches from `from` to the log end that are
    /// newer than the latest known one (Kafka's LogSegment.recover assigns
    /// each recovered batch's epoch). Used after an unclean shutdown for the
    /// tail recovery re-read: a follower records a new epoch only after
    /// appending its batches, so a crash in between leaves it out.
    pub fn assign_from_batches(&self, log: &Log, from: Offset) -> Result<(), LogError> {
        let end = log.log_end_offset();
        let mut offset = from.max(log.log_start_offset());
        let mut latest = self.latest_epoch().unwrap_or(UNDEFINED_EPOCH);
        while offset < end {
            let records = log.read(offset, RECOVERY_SCAN_BYTES, end, true)?.records;
            let mut position = 0;
            let mut next = offset;
            while let Some(header) = BatchHeader::parse(&records[position..]) {
                if header.batch_length < 0 || position + header.size_bytes() > records.len() {
                    break;
                }
                if header.magic >= 2 && header.partition_leader_epoch > latest {
                    latest = header.partition_leader_epoch;
                    tracing::info!(tp = %log.topic_partition(), epoch = %latest, start_offset = %header.base_offset, "leader epoch found in a recovered batch");
                    self.assign(latest, header.base_offset)?;
                }
                next = header.last_offset().next();
                position += header.size_bytes();
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(())
    }

    /// Forgets everything (the log was emptied and restarted elsewhere).
    pub fn clear(&self) -> Result<(), LogError> {
        let mut entries = self.entries.lock();
        if !entries.is_empty() {
            entries.clear();
            self.file.write(&entries)?;
        }
        Ok(())
    }
}

/// Kafka's LeaderEpochFileCache.endOffsetFor over `entries` (sorted by epoch).
pub(super) fn end_offset_for(
    entries: &[EpochEntry],
    requested: LeaderEpoch,
    log_end_offset: Offset,
) -> (LeaderEpoch, Offset) {
    let undefined = (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
    let Some(latest) = entries.last() else {
        return undefined;
    };
    if requested == UNDEFINED_EPOCH {
        return undefined;
    }
    if requested == latest.epoch {
        return (latest.epoch, log_end_offset);
    }
    let Some(next) = entries.iter().find(|e| e.epoch > requested) else {
        return undefined;
    };
    match entries.iter().rev().find(|e| e.epoch <= requested) {
        Some(floor) => (floor.epoch, next.start_offset),
        None => (requested, next.start_offset),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    fn entry(epoch: i32, start_offset: i64) -> EpochEntry {
        EpochEntry {
            epoch: LeaderEpoch::new(epoch),
            start_offset: off(start_offset),
        }
    }

    #[test]
    fn end_offsets_follow_kafka_rules() {
        let entries = [entry(0, 0), entry(2, 10), entry(5, 30)];
        assert_eq!(
            end_offset_for(&entries, LeaderEpoch::new(5), off(42)),
            (LeaderEpoch::new(5), off(42))
        );
        assert_eq!(
            end_offset_for(&entries, LeaderEpoch::new(2), off(42)),
            (LeaderEpoch::new(2), off(30))
        );
        assert_eq!(
            end_offset_for(&entries, LeaderEpoch::new(3), off(42)),
            (LeaderEpoch::new(2), off(30))
        );
        assert_eq!(
            end_offset_for(&entries, LeaderEpoch::new(0), off(42)),
            (LeaderEpoch::new(0), off(10))
        );
        assert_eq!(
            end_offset_for(&entries, LeaderEpoch::new(6), off(42)),
            (LeaderEpoch::UNDEFINED, off(-1))
        );
        assert_eq!(
            end_offset_for(&entries, LeaderEpoch::UNDEFINED, off(42)),
            (LeaderEpoch::UNDEFINED, off(-1))
        );
        assert_eq!(
            end_offset_for(&[], LeaderEpoch::new(0), off(42)),
            (LeaderEpoch::UNDEFINED, off(-1))
        );
        let later = [entry(3, 7)];
        assert_eq!(
            end_offset_for(&later, LeaderEpoch::new(1), off(42)),
            (LeaderEpoch::new(1), off(7))
        );
    }

    #[test]
    fn assign_persists_and_truncation_drops_later_epochs() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LeaderEpochCache::load(dir.path()).unwrap();
        cache.assign(LeaderEpoch::new(0), off(0)).unwrap();
        cache.assign(LeaderEpoch::new(0), off(5)).unwrap();
        cache.assign(LeaderEpoch::new(1), off(5)).unwrap();
        cache.assign(LeaderEpoch::new(3), off(9)).unwrap();
        assert_eq!(cache.entries(), vec![entry(0, 0), entry(1, 5), entry(3, 9)]);
        cache.truncate_from_end(off(9)).unwrap();
        let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(reloaded.entries(), vec![entry(0, 0), entry(1, 5)]);
        assert_eq!(reloaded.latest_epoch(), Some(LeaderEpoch::new(1)));
        let text = std::fs::read_to_string(dir.path().join(LEADER_EPOCH_CHECKPOINT)).unwrap();
        assert_eq!(text, "0\n2\n0 0\n1 5\n");
        // A new epoch starting below existing entries replaces them.
        reloaded.assign(LeaderEpoch::new(4), off(3)).unwrap();
        assert_eq!(reloaded.entries(), vec![entry(0, 0), entry(4, 3)]);
    }

    #[test]
    fn truncation_from_the_start_keeps_the_epoch_holding_the_new_start() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LeaderEpochCache::load(dir.path()).unwrap();
        cache.assign(LeaderEpoch::new(0), off(0)).unwrap();
        cache.assign(LeaderEpoch::new(1), off(5)).unwrap();
        cache.assign(LeaderEpoch::new(3), off(9)).unwrap();
        cache.truncate_from_start(off(0)).unwrap();
        assert_eq!(cache.entries(), vec![entry(0, 0), entry(1, 5), entry(3, 9)]);
        cache.truncate_from_start(off(7)).unwrap();
        assert_eq!(cache.entries(), vec![entry(1, 7), entry(3, 9)]);
        cache.truncate_from_start(off(9)).unwrap();
        let reloaded = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(reloaded.entries(), vec![entry(3, 9)]);
    }

    #[test]
    fn a_damaged_checkpoint_loads_as_increasing_epochs_and_offsets() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LEADER_EPOCH_CHECKPOINT);
        std::fs::write(&path, "0\n4\n0 0\n2 10\n1 20\n3 5\n").unwrap();
        let cache = LeaderEpochCache::load(dir.path()).unwrap();
        assert_eq!(cache.entries(), vec![entry(0, 0), entry(3, 5)]);
        cache.assign(LeaderEpoch::new(4), off(6)).unwrap();
        assert_eq!(cache.entries(), vec![entry(0, 0), entry(3, 5), entry(4, 6)]);
    }
}
