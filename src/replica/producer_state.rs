//! Per-partition idempotent-producer state (Kafka's ProducerStateManager and
//! ProducerAppendInfo, without transactions): for each producer id its
//! current epoch and the last five batches it appended (sequence range and
//! offsets).
//!
//! The leader checks every idempotent batch of a client append against it
//! ([`ProducerStateTable::check_append`]), as Kafka 3.x does: an exact repeat
//! of a cached batch is answered with its original offsets and not written
//! again; an epoch older than the producer's current one is
//! INVALID_PRODUCER_EPOCH; a new epoch must start at sequence 0 and a batch
//! in the current epoch must follow the last sequence (wrapping past
//! i32::MAX), else OUT_OF_ORDER_SEQUENCE_NUMBER. A producer with no state
//! here (new, or its batches deleted by retention) may start at any
//! sequence: since KIP-360 Kafka no longer answers UNKNOWN_PRODUCER_ID on
//! produce. Followers record what they replicate without checking, so a new
//! leader already knows the producers.
//!
//! The state survives restarts through `<offset>.snapshot` files
//! (`producer_snapshot.rs`, written by `partition.rs` on roll and clean
//! shutdown): [`ProducerStateTable::load`] takes the latest valid snapshot at
//! or below the log end and replays the log after it; with no snapshot it
//! reads a bounded tail of the log ([`ProducerStateTable::rebuild_from_log`]).
//! A snapshot keeps only each producer's last batch (Kafka's format), so
//! after a restart only a retry of that batch is recognised, as in Kafka.
//!
//! Producers idle longer than `producer.id.expiration.ms` are dropped by
//! [`ProducerStateTable::remove_expired`] (`producer_expiration.rs`).
//! Not here: transactions.

use std::collections::{HashMap, VecDeque};

use super::producer_snapshot::{self, SnapshotEntry, SnapshotError};
use crate::log::{BatchHeader, BatchInfo, Log, LogError, whole_batch_headers};
use crate::model::Offset;

/// Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN, which is
/// also the producer's max.in.flight.requests.per.connection with idempotence).
pub const BATCHES_PER_PRODUCER: usize = 5;
/// Kafka's RecordBatch.NO_PRODUCER_EPOCH: no state for the producer.
const NO_PRODUCER_EPOCH: i16 = -1;
/// Rebuilding starts at most this many offsets before the log end...
const TAIL_SCAN_OFFSETS: i64 = 100_000;
/// ...and reads at most about this many bytes of log.
const TAIL_SCAN_BYTES: usize = 8 * 1024 * 1024;
/// Bytes per log read while rebuilding.
const SCAN_CHUNK_BYTES: usize = 1024 * 1024;

/// One appended batch of an idempotent producer, as remembered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachedBatch {
    pub producer_epoch: i16,
    pub first_sequence: i32,
    pub last_sequence: i32,
    pub first_offset: Offset,
    pub last_offset: Offset,
    pub max_timestamp: i64,
}

/// Why the leader refused an idempotent batch (nothing of the append is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProducerStateError {
    /// INVALID_PRODUCER_EPOCH (Kafka answers this, not PRODUCER_FENCED, on produce since 2.7).
    #[error(
        "producer {producer_id} has epoch {epoch}, older than its current epoch {current_epoch}"
    )]
    InvalidProducerEpoch {
        producer_id: i64,
        epoch: i16,
        current_epoch: i16,
    },
    /// OUT_OF_ORDER_SEQUENCE_NUMBER.
    #[error(
        "out of order sequence for producer {producer_id} epoch {epoch}: batch starts at {first_sequence}, {expected}"
    )]
    OutOfOrderSequence {
        producer_id: i64,
        epoch: i16,
        first_sequence: i32,
        expected: String,
    },
}

/// What one producer id last appended, in its current epoch, oldest first.
#[derive(Debug, Clone)]
struct ProducerEntry {
    producer_epoch: i16,
    batches: VecDeque<CachedBatch>,
}

impl ProducerEntry {
    fn empty() -> Self {
        ProducerEntry {
            producer_epoch: NO_PRODUCER_EPOCH,
            batches: VecDeque::with_capacity(BATCHES_PER_PRODUCER),
        }
    }

    /// Kafka's ProducerStateEntry.addBatch: a new epoch forgets the old batches.
    fn add_batch(&mut self, batch: CachedBatch) {
        if self.producer_epoch != batch.producer_epoch {
            self.producer_epoch = batch.producer_epoch;
            self.batches.clear();
        }
        if self.batches.len() == BATCHES_PER_PRODUCER {
            self.batches.pop_front();
        }
        self.batches.push_back(batch);
    }

    fn find_duplicate(&self, header: &BatchHeader) -> Option<CachedBatch> {
        if self.producer_epoch != header.producer_epoch {
            return None;
        }
        let last = last_sequence(header);
        self.batches
            .iter()
            .find(|b| b.first_sequence == header.base_sequence && b.last_sequence == last)
            .copied()
    }
}

/// The idempotent-producer state of one partition.
#[derive(Debug, Clone, Default)]
pub struct ProducerStateTable {
    producers: HashMap<i64, ProducerEntry>,
}

/// True when the batch comes from an idempotent producer (it carries a
/// producer id and a sequence number).
pub fn is_idempotent(header: &BatchHeader) -> bool {
    header.producer_id >= 0 && header.base_sequence >= 0
}

/// `sequence + delta` with Kafka's wrap from i32::MAX to 0
/// (`DefaultRecordBatch.incrementSequence`).
fn increment_sequence(sequence: i32, delta: i32) -> i32 {
    if sequence > i32::MAX - delta {
        delta - (i32::MAX - sequence) - 1
    } else {
        sequence + delta
    }
}

/// `sequence - delta`, the inverse (`DefaultRecordBatch.decrementSequence`).
fn decrement_sequence(sequence: i32, delta: i32) -> i32 {
    if sequence < delta {
        i32::MAX - (delta - sequence) + 1
    } else {
        sequence - delta
    }
}

/// The batch's last sequence; sequences wrap from i32::MAX to 0.
pub fn last_sequence(header: &BatchHeader) -> i32 {
    increment_sequence(header.base_sequence, header.last_offset_delta.max(0))
}

/// Kafka's ProducerAppendInfo.inSequence.
fn in_sequence(last: i32, next: i32) -> bool {
    i64::from(next) == i64::from(last) + 1 || (next == 0 && last == i32::MAX)
}

fn cached(header: &BatchHeader) -> CachedBatch {
    CachedBatch {
        producer_epoch: header.producer_epoch,
        first_sequence: header.base_sequence,
        last_sequence: last_sequence(header),
        first_offset: header.base_offset.value(),
        last_offset: header.last_offset().value(),
        max_timestamp: header.max_timestamp,
    }
}

impl ProducerStateTable {
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of producer ids with remembered batches.
    #[cfg(test)]
    pub fn producer_count(&self) -> usize {
        self.producers.len()
    }

    /// The cached batch `header` repeats: same producer id and epoch, same
    /// first and last sequence. `None` for non-idempotent batches.
    #[cfg(test)]
    pub fn find_duplicate(&self, header: &BatchHeader) -> Option<CachedBatch> {
        if !is_idempotent(header) {
            return None;
        }
        self.producers
            .get(&header.producer_id)?
            .find_duplicate(header)
    }

    /// The leader's check of a client append, batch by batch in order
    /// (Kafka's UnifiedLog.analyzeAndValidateProducerState with
    /// ProducerAppendInfo): `Ok(Some(original))` when a batch repeats a cached
    /// one (the append is answered with it and nothing is written), `Ok(None)`
    /// when every idempotent batch may be appended, or the first violation.
    /// The table itself is not changed; `record_batches` follows the append.
    pub fn check_append(
        &self,
        headers: &[BatchHeader],
    ) -> Result<Option<CachedBatch>, ProducerStateError> {
        // Per producer of this append: (updated entry, had no state before).
        let mut updated: HashMap<i64, (ProducerEntry, bool)> = HashMap::new();
        for header in headers.iter().filter(|h| is_idempotent(h)) {
            let pid = header.producer_id;
            let current = self.producers.get(&pid);
            if let Some(original) = current.and_then(|e| e.find_duplicate(header)) {
                return Ok(Some(original));
            }
            let (entry, unknown) = updated.entry(pid).or_insert_with(|| match current {
                Some(e) => (e.clone(), e.producer_epoch == NO_PRODUCER_EPOCH),
                None => (ProducerEntry::empty(), true),
            });
            let epoch = header.producer_epoch;
            if epoch < entry.producer_epoch {
                return Err(ProducerStateError::InvalidProducerEpoch {
                    producer_id: pid,
                    epoch,
                    current_epoch: entry.producer_epoch,
                });
            }
            let first = header.base_sequence;
            if epoch != entry.producer_epoch {
                if first != 0 && entry.producer_epoch != NO_PRODUCER_EPOCH {
                    return Err(ProducerStateError::OutOfOrderSequence {
                        producer_id: pid,
                        epoch,
                        first_sequence: first,
                        expected: format!(
                            "a new epoch (current {}) must start at 0",
                            entry.producer_epoch
                        ),
                    });
                }
            } else {
                let last = entry.batches.back().map_or(-1, |b| b.last_sequence);
                if !(*unknown || in_sequence(last, first)) {
                    return Err(ProducerStateError::OutOfOrderSequence {
                        producer_id: pid,
                        epoch,
                        first_sequence: first,
                        expected: format!("the last appended sequence is {last}"),
                    });
                }
            }
            entry.add_batch(cached(header));
        }
        Ok(None)
    }

    /// Remembers an appended batch (its offsets assigned). A new producer
    /// epoch forgets the batches of the old one, as Kafka does.
    pub fn record(&mut self, header: &BatchHeader) {
        if !is_idempotent(header) {
            return;
        }
        self.producers
            .entry(header.producer_id)
            .or_insert_with(ProducerEntry::empty)
            .add_batch(cached(header));
    }

    /// Forgets the producers whose last batch's timestamp is at least
    /// `expiration_ms` old (Kafka's isProducerExpired without transactions);
    /// returns how many.
    pub fn remove_expired(&mut self, now_ms: i64, expiration_ms: i64) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, entry| {
            entry
                .batches
                .back()
                .is_some_and(|b| now_ms.saturating_sub(b.max_timestamp) < expiration_ms)
        });
        before - self.producers.len()
    }

    /// Kafka's `ProducerStateManager.truncateHead`: forgets the producers
    /// whose last batch lies below `log_start_offset` (their data is gone,
    /// so they count as unknown, as after a reload); returns how many.
    pub fn truncate_head(&mut self, log_start_offset: Offset) -> usize {
        let before = self.producers.len();
        self.producers.retain(|_, entry| {
            entry
                .batches
                .back()
                .is_some_and(|b| b.last_offset >= log_start_offset)
        });
        before - self.producers.len()
    }

    /// Remembers the batches an append wrote, as the log reports them.
    pub fn record_batches(&mut self, batches: &[BatchInfo]) {
        let idempotent = |b: &&BatchInfo| b.producer_id >= 0 && b.base_sequence >= 0;
        for b in batches.iter().filter(idempotent) {
            let batch = CachedBatch {
                producer_epoch: b.producer_epoch,
                first_sequence: b.base_sequence,
                last_sequence: increment_sequence(b.base_sequence, b.last_offset_delta.max(0)),
                first_offset: b.base_offset.value(),
                last_offset: b.last_offset().value(),
                max_timestamp: b.max_timestamp,
            };
            let entry = self.producers.entry(b.producer_id);
            entry.or_insert_with(ProducerEntry::empty).add_batch(batch);
        }
    }

    #[cfg(test)]
    pub fn record_all(&mut self, records: &[u8]) {
        whole_batch_headers(records)
            .iter()
            .for_each(|h| self.record(h));
    }

    /// Each producer's last batch, as a snapshot holds it (ordered by producer id).
    pub fn snapshot_entries(&self) -> Vec<SnapshotEntry> {
        let mut entries: Vec<SnapshotEntry> = self
            .producers
            .iter()
            .filter_map(|(&producer_id, entry)| {
                let last = entry.batches.back()?;
                Some(SnapshotEntry {
                    producer_id,
                    producer_epoch: entry.producer_epoch,
                    last_sequence: last.last_sequence,
                    last_offset: last.last_offset,
                    offset_delta: (last.last_offset - last.first_offset) as i32,
                    timestamp: last.max_timestamp,
                    coordinator_epoch: -1,
                    current_txn_first_offset: -1,
                })
            })
            .collect();
        entries.sort_unstable_by_key(|e| e.producer_id);
        entries
    }

    /// The state a snapshot describes, without producers whose last batch
    /// is below `log_start_offset` (deleted: they count as unknown, as in Kafka).
    pub fn from_snapshot_entries(entries: &[SnapshotEntry], log_start_offset: Offset) -> Self {
        let mut table = ProducerStateTable::new();
        for e in entries.iter().filter(|e| e.last_offset >= log_start_offset) {
            let delta = e.offset_delta.max(0);
            table
                .producers
                .entry(e.producer_id)
                .or_insert_with(ProducerEntry::empty)
                .add_batch(CachedBatch {
                    producer_epoch: e.producer_epoch,
                    first_sequence: decrement_sequence(e.last_sequence, delta),
                    last_sequence: e.last_sequence,
                    first_offset: e.last_offset - i64::from(delta),
                    last_offset: e.last_offset,
                    max_timestamp: e.timestamp,
                });
        }
        table
    }

    /// The state of `log` when opened or truncated: snapshots above the log
    /// end are deleted (their offsets are gone); the latest readable one is
    /// loaded and the log after it replayed (however long: after a crash the
    /// snapshot may be a whole segment old). A corrupt snapshot is deleted
    /// with a warning and the next older one tried. No snapshot at all: the
    /// bounded tail of `rebuild_from_log`.
    pub fn load(log: &Log) -> Result<ProducerStateTable, LogError> {
        let dir = log.dir();
        let log_end = log.log_end_offset();
        let snapshots = producer_snapshot::delete_snapshots_above(dir, log_end)
            .and_then(|()| producer_snapshot::list_snapshots(dir));
        let snapshots = match snapshots {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(tp = %log.topic_partition(), error = %e, "cannot list producer snapshots");
                Vec::new()
            }
        };
        for &offset in snapshots.iter().rev() {
            match producer_snapshot::read_snapshot(dir, offset) {
                Ok(entries) => {
                    let mut table = Self::from_snapshot_entries(&entries, log.log_start_offset());
                    table.replay(log, offset)?;
                    tracing::debug!(
                        tp = %log.topic_partition(), snapshot_offset = offset, log_end,
                        producers = table.producers.len(), "loaded producer state"
                    );
                    return Ok(table);
                }
                Err(e) => {
                    tracing::warn!(
                        tp = %log.topic_partition(), snapshot_offset = offset, error = %e,
                        "ignoring unreadable producer snapshot; rebuilding from the log"
                    );
                    if matches!(e, SnapshotError::Corrupt(_))
                        && let Err(e) = producer_snapshot::delete_snapshot(dir, offset)
                    {
                        tracing::warn!(error = %e, "cannot delete corrupt producer snapshot");
                    }
                }
            }
        }
        Self::rebuild_from_log(log)
    }

    /// Records every batch from `from` to the log end.
    fn replay(&mut self, log: &Log, from: Offset) -> Result<(), LogError> {
        let log_end = log.log_end_offset();
        let mut offset = from.max(log.log_start_offset());
        while offset < log_end {
            let chunk = match log.read(offset, SCAN_CHUNK_BYTES, log_end, true) {
                Ok(read) => read.records,
                Err(LogError::OffsetOutOfRange { .. }) if log.log_start_offset() > offset => {
                    offset = log.log_start_offset();
                    continue;
                }
                Err(e) => return Err(e),
            };
            let headers = whole_batch_headers(&chunk);
            let Some(last) = headers.last() else { break };
            let next = last.last_offset().value() + 1;
            for header in headers.iter().filter(|h| h.last_offset().value() >= offset) {
                self.record(header);
            }
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(())
    }

    /// The state of a log whose tail is read afresh: the batches from at most
    /// `TAIL_SCAN_OFFSETS` offsets and about `TAIL_SCAN_BYTES` bytes before
    /// the log end, through the log's read API (whole batches, headers used).
    pub fn rebuild_from_log(log: &Log) -> Result<ProducerStateTable, LogError> {
        Self::rebuild_from_log_within(log, TAIL_SCAN_OFFSETS, TAIL_SCAN_BYTES)
    }

    fn rebuild_from_log_within(
        log: &Log,
        max_offsets: i64,
        max_bytes: usize,
    ) -> Result<ProducerStateTable, LogError> {
        let mut table = ProducerStateTable::new();
        let log_end = log.log_end_offset();
        let mut offset = log
            .log_start_offset()
            .max(log_end.saturating_sub(max_offsets));
        let mut scanned_bytes = 0usize;
        let mut rescaled = false;
        while offset < log_end {
            let chunk = match log.read(offset, SCAN_CHUNK_BYTES, log_end, true) {
                Ok(read) => read.records,
                // Retention moved the log start past us meanwhile: go on from there.
                Err(LogError::OffsetOutOfRange { .. }) if log.log_start_offset() > offset => {
                    offset = log.log_start_offset();
                    continue;
                }
                Err(e) => return Err(e),
            };
            let headers = whole_batch_headers(&chunk);
            let (Some(first), Some(last)) = (headers.first(), headers.last()) else {
                break;
            };
            for header in &headers {
                table.record(header);
            }
            scanned_bytes += chunk.len();
            let next = last.last_offset().value() + 1;
            if next <= offset {
                break;
            }
            // After the first chunk, skip ahead if the rest would exceed the
            // byte budget at this chunk's bytes per offset.
            if !rescaled {
                rescaled = true;
                let span = (next - first.base_offset.value()).max(1) as f64;
                let bytes_per_offset = chunk.len() as f64 / span;
                let budget_offsets = (max_bytes.saturating_sub(scanned_bytes) as f64
                    / bytes_per_offset.max(1.0)) as i64;
                offset = next.max(log_end - budget_offsets);
            } else {
                offset = next;
            }
            if scanned_bytes >= max_bytes.saturating_mul(2) {
                break;
            }
        }
        Ok(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::batch;
    use crate::log::{LogConfig, LogManager, set_base_offset};
    use crate::model::TopicPartition;

    /// A batch of `count` records from producer `pid`, epoch `epoch`,
    /// starting at sequence `seq`, base offset 0 (as a producer sends it).
    fn idempotent_batch(pid: i64, epoch: i16, seq: i32, count: usize) -> Vec<u8> {
        let mut b = batch(0, count);
        b[43..51].copy_from_slice(&pid.to_be_bytes());
        b[51..53].copy_from_slice(&epoch.to_be_bytes());
        b[53..57].copy_from_slice(&seq.to_be_bytes());
        let crc = crc32c::crc32c(&b[21..]);
        b[17..21].copy_from_slice(&crc.to_be_bytes());
        b
    }

    fn header_at(pid: i64, epoch: i16, seq: i32, count: usize, offset: i64) -> BatchHeader {
        let mut b = idempotent_batch(pid, epoch, seq, count);
        set_base_offset(&mut b, crate::model::LogOffset::new(offset));
        BatchHeader::parse(&b).unwrap()
    }

    #[test]
    fn a_repeated_batch_is_found_with_its_original_offsets() {
        let mut table = ProducerStateTable::new();
        table.record(&header_at(7, 0, 0, 3, 10));
        table.record(&header_at(7, 0, 3, 2, 13));
        let retry = BatchHeader::parse(&idempotent_batch(7, 0, 0, 3)).unwrap();
        let found = table.find_duplicate(&retry).expect("duplicate");
        assert_eq!((found.first_offset, found.last_offset), (10, 12));
        assert_eq!((found.first_sequence, found.last_sequence), (0, 2));
        // Same first sequence, other length; other epoch; other producer; next sequence.
        for other in [
            idempotent_batch(7, 0, 0, 2),
            idempotent_batch(7, 1, 0, 3),
            idempotent_batch(8, 0, 0, 3),
            idempotent_batch(7, 0, 5, 1),
        ] {
            assert_eq!(
                table.find_duplicate(&BatchHeader::parse(&other).unwrap()),
                None
            );
        }
    }

    #[test]
    fn non_idempotent_batches_are_never_duplicates() {
        let mut table = ProducerStateTable::new();
        let plain = BatchHeader::parse(&batch(0, 3)).unwrap();
        table.record(&plain);
        assert_eq!(table.producer_count(), 0);
        assert_eq!(table.find_duplicate(&plain), None);
    }

    #[test]
    fn only_the_last_five_batches_and_the_current_epoch_are_kept() {
        let mut table = ProducerStateTable::new();
        for i in 0..6 {
            table.record(&header_at(1, 0, i, 1, i64::from(i)));
        }
        let seq = |s| BatchHeader::parse(&idempotent_batch(1, 0, s, 1)).unwrap();
        assert_eq!(table.find_duplicate(&seq(0)), None, "evicted");
        for s in 1..6 {
            assert!(table.find_duplicate(&seq(s)).is_some(), "sequence {s}");
        }
        table.record(&header_at(1, 1, 0, 1, 6));
        assert_eq!(table.find_duplicate(&seq(5)), None, "old epoch forgotten");
        let new_epoch = BatchHeader::parse(&idempotent_batch(1, 1, 0, 1)).unwrap();
        assert_eq!(table.find_duplicate(&new_epoch).unwrap().first_offset, 6);
    }

    #[test]
    fn sequences_wrap_past_i32_max() {
        let h = BatchHeader::parse(&idempotent_batch(1, 0, i32::MAX - 1, 4)).unwrap();
        assert_eq!(last_sequence(&h), 1);
        let h = BatchHeader::parse(&idempotent_batch(1, 0, 5, 4)).unwrap();
        assert_eq!(last_sequence(&h), 8);
    }

    #[test]
    fn rebuilding_from_the_log_knows_the_tail_batches() {
        let dir = tempfile::tempdir().unwrap();
        let manager =
            LogManager::startup(&[dir.path().to_path_buf()], LogConfig::default()).unwrap();
        let log = manager
            .get_or_create_log(&TopicPartition::new("t", 0), LogConfig::default())
            .unwrap();
        let mut expected = ProducerStateTable::new();
        for i in 0..20 {
            let mut records = idempotent_batch(3, 0, i * 4, 4);
            records.extend_from_slice(&batch(0, 2));
            log.append_as_leader(&mut records, 0).unwrap();
            expected.record_all(&records);
        }
        let rebuilt = ProducerStateTable::rebuild_from_log(&log).unwrap();
        let retry = BatchHeader::parse(&idempotent_batch(3, 0, 76, 4)).unwrap();
        assert_eq!(
            rebuilt.find_duplicate(&retry),
            expected.find_duplicate(&retry)
        );
        assert_eq!(rebuilt.find_duplicate(&retry).unwrap().first_offset, 114);
        let evicted = BatchHeader::parse(&idempotent_batch(3, 0, 56, 4)).unwrap();
        assert_eq!(rebuilt.find_duplicate(&evicted), None);

        // A tail limited to the last 10 offsets still knows the last batch.
        let tail = ProducerStateTable::rebuild_from_log_within(&log, 10, 1 << 20).unwrap();
        assert!(tail.find_duplicate(&retry).is_some());
        let early = BatchHeader::parse(&idempotent_batch(3, 0, 64, 4)).unwrap();
        assert_eq!(
            tail.find_duplicate(&early),
            None,
            "outside the scanned tail"
        );

        log.truncate_to(112).unwrap();
        let after = ProducerStateTable::rebuild_from_log(&log).unwrap();
        assert_eq!(after.find_duplicate(&retry), None, "truncated away");
        let kept = BatchHeader::parse(&idempotent_batch(3, 0, 72, 4)).unwrap();
        assert_eq!(after.find_duplicate(&kept).unwrap().first_offset, 108);
    }

    fn check(
        table: &ProducerStateTable,
        batches: &[Vec<u8>],
    ) -> Result<Option<CachedBatch>, ProducerStateError> {
        let headers: Vec<BatchHeader> = batches
            .iter()
            .map(|b| BatchHeader::parse(b).unwrap())
            .collect();
        table.check_append(&headers)
    }

    #[test]
    fn the_leader_checks_epochs_and_sequences_like_kafka() {
        let mut table = ProducerStateTable::new();
        // Unknown producer: any first sequence is accepted (KIP-360).
        assert_eq!(check(&table, &[idempotent_batch(9, 2, 17, 3)]), Ok(None));
        table.record(&header_at(9, 2, 17, 3, 0));
        // In sequence, also two batches in one append.
        assert_eq!(
            check(
                &table,
                &[idempotent_batch(9, 2, 20, 1), idempotent_batch(9, 2, 21, 2)]
            ),
            Ok(None)
        );
        // Gap, in the first or second batch of an append.
        assert!(matches!(
            check(&table, &[idempotent_batch(9, 2, 21, 1)]),
            Err(ProducerStateError::OutOfOrderSequence {
                first_sequence: 21,
                ..
            })
        ));
        assert!(matches!(
            check(
                &table,
                &[idempotent_batch(9, 2, 20, 1), idempotent_batch(9, 2, 22, 1)]
            ),
            Err(ProducerStateError::OutOfOrderSequence { .. })
        ));
        // Exact repeat: the original.
        assert_eq!(
            check(&table, &[idempotent_batch(9, 2, 17, 3)])
                .unwrap()
                .unwrap()
                .first_offset,
            0
        );
        // Older epoch: fenced, even for a batch that would repeat one.
        assert_eq!(
            check(&table, &[idempotent_batch(9, 1, 17, 3)]),
            Err(ProducerStateError::InvalidProducerEpoch {
                producer_id: 9,
                epoch: 1,
                current_epoch: 2
            })
        );
        // New epoch: only from sequence 0.
        assert!(matches!(
            check(&table, &[idempotent_batch(9, 3, 20, 1)]),
            Err(ProducerStateError::OutOfOrderSequence { .. })
        ));
        assert_eq!(check(&table, &[idempotent_batch(9, 3, 0, 1)]), Ok(None));
        // Sequence wrap.
        let mut wrapped = ProducerStateTable::new();
        wrapped.record(&header_at(4, 0, i32::MAX - 1, 2, 0));
        assert_eq!(check(&wrapped, &[idempotent_batch(4, 0, 0, 1)]), Ok(None));
        assert!(check(&wrapped, &[idempotent_batch(4, 0, 1, 1)]).is_err());
        // Non-idempotent batches are not checked.
        assert_eq!(check(&table, &[batch(0, 2)]), Ok(None));
    }

    fn test_log(dir: &std::path::Path) -> (LogManager, std::sync::Arc<Log>) {
        let manager = LogManager::startup(&[dir.to_path_buf()], LogConfig::default()).unwrap();
        let log = manager
            .get_or_create_log(&TopicPartition::new("t", 0), LogConfig::default())
            .unwrap();
        (manager, log)
    }

    #[test]
    fn loading_takes_the_snapshot_and_replays_the_log_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let (_manager, log) = test_log(dir.path());
        let mut table = ProducerStateTable::new();
        for i in 0..4 {
            let mut records = idempotent_batch(5, 1, i * 2, 2);
            log.append_as_leader(&mut records, 0).unwrap();
            table.record_all(&records);
        }
        // Snapshot at offset 4 (two batches in), log runs on to 8.
        let mut at_four = ProducerStateTable::new();
        at_four.record(&header_at(5, 1, 0, 2, 0));
        at_four.record(&header_at(5, 1, 2, 2, 2));
        producer_snapshot::write_snapshot(log.dir(), 4, &at_four.snapshot_entries(), false)
            .unwrap();
        // A stale snapshot past the log end is deleted.
        producer_snapshot::write_snapshot(log.dir(), 50, &[], false).unwrap();
        let loaded = ProducerStateTable::load(&log).unwrap();
        assert_eq!(
            producer_snapshot::list_snapshots(log.dir()).unwrap(),
            vec![4]
        );
        let last = BatchHeader::parse(&idempotent_batch(5, 1, 6, 2)).unwrap();
        assert_eq!(loaded.find_duplicate(&last).unwrap().first_offset, 6);
        let replayed = BatchHeader::parse(&idempotent_batch(5, 1, 4, 2)).unwrap();
        assert_eq!(loaded.find_duplicate(&replayed).unwrap().first_offset, 4);
        // The snapshot keeps only the last batch before it.
        let before = BatchHeader::parse(&idempotent_batch(5, 1, 0, 2)).unwrap();
        assert_eq!(loaded.find_duplicate(&before), None);
        assert_eq!(check(&loaded, &[idempotent_batch(5, 1, 8, 1)]), Ok(None));
        assert!(check(&loaded, &[idempotent_batch(5, 1, 9, 1)]).is_err());
    }

    #[test]
    fn a_corrupt_snapshot_is_ignored_and_the_state_rebuilt_from_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (_manager, log) = test_log(dir.path());
        let mut records = idempotent_batch(6, 0, 0, 3);
        log.append_as_leader(&mut records, 0).unwrap();
        // A snapshot at the log end claiming another producer, then corrupted.
        let mut other = ProducerStateTable::new();
        other.record(&header_at(77, 0, 0, 3, 0));
        producer_snapshot::write_snapshot(log.dir(), 3, &other.snapshot_entries(), false).unwrap();
        let path = producer_snapshot::snapshot_path(log.dir(), 3);
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let loaded = ProducerStateTable::load(&log).unwrap();
        assert!(!path.exists(), "corrupt snapshot deleted");
        let retry = BatchHeader::parse(&idempotent_batch(6, 0, 0, 3)).unwrap();
        assert_eq!(loaded.find_duplicate(&retry).unwrap().first_offset, 0);
        let wrong = BatchHeader::parse(&idempotent_batch(77, 0, 0, 3)).unwrap();
        assert_eq!(loaded.find_duplicate(&wrong), None);
    }

    #[test]
    fn snapshot_entries_round_trip_the_last_batch() {
        let mut table = ProducerStateTable::new();
        table.record(&header_at(1, 0, 0, 2, 0));
        table.record(&header_at(1, 0, i32::MAX, 3, 2));
        table.record(&header_at(2, 4, 10, 1, 5));
        let entries = table.snapshot_entries();
        assert_eq!(entries.len(), 2);
        assert_eq!(
            (
                entries[0].last_sequence,
                entries[0].last_offset,
                entries[0].offset_delta
            ),
            (1, 4, 2)
        );
        let back = ProducerStateTable::from_snapshot_entries(&entries, 0);
        let h = BatchHeader::parse(&idempotent_batch(1, 0, i32::MAX, 3)).unwrap();
        assert_eq!(back.find_duplicate(&h).unwrap().first_offset, 2);
        // Producers whose last batch is below the log start are dropped.
        let trimmed = ProducerStateTable::from_snapshot_entries(&entries, 5);
        assert_eq!(trimmed.producer_count(), 1);
    }

    #[test]
    fn idle_producers_expire_by_their_last_batch_timestamp() {
        let mut table = ProducerStateTable::new();
        table.record(&header_at(1, 0, 0, 1, 0));
        table.record(&header_at(2, 0, 0, 1, 1));
        let now = header_at(1, 0, 0, 1, 0).max_timestamp;
        assert_eq!(table.remove_expired(now + 999, 1000), 0);
        table.record(&header_at(1, 0, 1, 1, 2));
        let mut late = header_at(2, 0, 1, 1, 3);
        late.max_timestamp = now + 5000;
        table.record(&late);
        assert_eq!(table.remove_expired(now + 1000, 1000), 1, "producer 1 idle");
        assert_eq!(table.producer_count(), 1);
        // An expired producer is unknown: any sequence goes.
        assert_eq!(check(&table, &[idempotent_batch(1, 0, 50, 1)]), Ok(None));
    }
}
