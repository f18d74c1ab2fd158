//! Per-partition idempotent-producer state: for each producer id, the last
//! few batches it appended (epoch, sequence range, offsets), so that a batch
//! a producer retries, because its acknowledgement was lost, is recognised
//! and answered with its original offsets instead of being stored twice.
//! Kafka's ProducerStateManager, reduced to duplicate detection.
//!
//! The state follows the log: the leader records what it appends, a
//! follower records the batches it replicates (so a new leader already knows
//! them), and a replica that opens or truncates its log rebuilds the state
//! from a bounded tail of the log ([`ProducerStateTable::rebuild_from_log`]).
//! There are no snapshot files: a producer whose batches are older than the
//! scanned tail is simply unknown, and its retry would be appended again.
//!
//! Deliberately not here (issue 6): sequence-gap checks
//! (OUT_OF_ORDER_SEQUENCE_NUMBER), producer-epoch fencing
//! (INVALID_PRODUCER_EPOCH), UNKNOWN_PRODUCER_ID, producer-id expiration and
//! transactions. Only a batch matching a cached one exactly (same producer
//! epoch, same first and last sequence) is treated specially.

use std::collections::{HashMap, VecDeque};

use crate::log::{BatchHeader, Log, LogError};
use crate::model::Offset;

/// Batches remembered per producer (Kafka's NUM_BATCHES_TO_RETAIN, which is
/// also the producer's max.in.flight.requests.per.connection with idempotence).
pub const BATCHES_PER_PRODUCER: usize = 5;
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

/// What one producer id last appended, in its current epoch, oldest first.
#[derive(Debug, Clone, Default)]
struct ProducerEntry {
    producer_epoch: i16,
    batches: VecDeque<CachedBatch>,
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

/// The batch's last sequence; sequences wrap from i32::MAX to 0 (Kafka's
/// `DefaultRecordBatch.incrementSequence`).
pub fn last_sequence(header: &BatchHeader) -> i32 {
    let base = header.base_sequence;
    let delta = header.last_offset_delta.max(0);
    if base > i32::MAX - delta {
        delta - (i32::MAX - base) - 1
    } else {
        base + delta
    }
}

/// The whole batches at the start of `records` (a trailing partial batch or
/// garbage ends the walk; validation is the log's job).
pub fn whole_batch_headers(records: &[u8]) -> Vec<BatchHeader> {
    let mut headers = Vec::new();
    let mut position = 0;
    while let Some(header) = BatchHeader::parse(&records[position..]) {
        if header.batch_length < 0 || position + header.size_bytes() > records.len() {
            break;
        }
        position += header.size_bytes();
        headers.push(header);
    }
    headers
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
    pub fn find_duplicate(&self, header: &BatchHeader) -> Option<CachedBatch> {
        if !is_idempotent(header) {
            return None;
        }
        let entry = self.producers.get(&header.producer_id)?;
        if entry.producer_epoch != header.producer_epoch {
            return None;
        }
        let last = last_sequence(header);
        entry
            .batches
            .iter()
            .find(|b| b.first_sequence == header.base_sequence && b.last_sequence == last)
            .copied()
    }

    /// Remembers an appended batch (its offsets assigned). A new producer
    /// epoch forgets the batches of the old one, as Kafka does.
    pub fn record(&mut self, header: &BatchHeader) {
        if !is_idempotent(header) {
            return;
        }
        let entry = self
            .producers
            .entry(header.producer_id)
            .or_insert_with(|| ProducerEntry {
                producer_epoch: header.producer_epoch,
                batches: VecDeque::with_capacity(BATCHES_PER_PRODUCER),
            });
        if entry.producer_epoch != header.producer_epoch {
            entry.producer_epoch = header.producer_epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_PER_PRODUCER {
            entry.batches.pop_front();
        }
        entry.batches.push_back(CachedBatch {
            producer_epoch: header.producer_epoch,
            first_sequence: header.base_sequence,
            last_sequence: last_sequence(header),
            first_offset: header.base_offset,
            last_offset: header.last_offset(),
            max_timestamp: header.max_timestamp,
        });
    }

    /// Remembers every whole batch in `records` (offsets assigned).
    pub fn record_all(&mut self, records: &[u8]) {
        for header in whole_batch_headers(records) {
            self.record(&header);
        }
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
            let next = last.last_offset() + 1;
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
        set_base_offset(&mut b, offset);
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
}
