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
        first_offset: header.base_offset,
        last_offset: header.last_offset(),
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
                first_offset: b.base_offset,
                last_offset: b.last_offset(),
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
                    current_txn_first_offset: Offset::UNKNOWN,
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
                        tp = %log.topic_partition(), snapshot_offset = %offset, %log_end,
                        producers = table.producers.len(), "loaded producer state"
                    );
                    return Ok(table);
                }
                Err(e) => {
                    tracing::warn!(
                        tp = %log.topic_partition(), snapshot_offset = %offset, error = %e,
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
            let next = last.last_offset().next();
            for header in headers.iter().filter(|h| h.last_offset() >= offset) {
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
            let next = last.last_offset().next();
            if next <= offset {
                break;
            }
            // After the first chunk, skip ahead if the rest would exceed the
            // byte budget at this chunk's bytes per offset.
            if !rescaled {
                rescaled = true;
                let span = (next - first.base_offset).max(1) as f64;
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
#[path = "producer_state_tests.rs"]
mod tests;
