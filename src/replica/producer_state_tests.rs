//! Unit tests of `ProducerStateTable`: duplicates, sequence checks, the
//! log-start and tail rebuilds, and snapshots.

use super::*;
use crate::log::test_util::batch;
use crate::log::{LogConfig, LogManager, set_base_offset};
use crate::model::TopicPartition;
use crate::model::{off, offs};

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
    set_base_offset(&mut b, off(offset));
    BatchHeader::parse(&b).unwrap()
}

#[test]
fn a_repeated_batch_is_found_with_its_original_offsets() {
    let mut table = ProducerStateTable::new();
    table.record(&header_at(7, 0, 0, 3, 10));
    table.record(&header_at(7, 0, 3, 2, 13));
    let retry = BatchHeader::parse(&idempotent_batch(7, 0, 0, 3)).unwrap();
    let found = table.find_duplicate(&retry).expect("duplicate");
    assert_eq!((found.first_offset, found.last_offset), (off(10), off(12)));
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
    assert_eq!(
        table.find_duplicate(&new_epoch).unwrap().first_offset,
        off(6)
    );
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
    let manager = LogManager::startup(&[dir.path().to_path_buf()], LogConfig::default()).unwrap();
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
    assert_eq!(
        rebuilt.find_duplicate(&retry).unwrap().first_offset,
        off(114)
    );
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

    log.truncate_to(off(112)).unwrap();
    let after = ProducerStateTable::rebuild_from_log(&log).unwrap();
    assert_eq!(after.find_duplicate(&retry), None, "truncated away");
    let kept = BatchHeader::parse(&idempotent_batch(3, 0, 72, 4)).unwrap();
    assert_eq!(after.find_duplicate(&kept).unwrap().first_offset, off(108));
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
        off(0)
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
    producer_snapshot::write_snapshot(log.dir(), off(4), &at_four.snapshot_entries(), false)
        .unwrap();
    // A stale snapshot past the log end is deleted.
    producer_snapshot::write_snapshot(log.dir(), off(50), &[], false).unwrap();
    let loaded = ProducerStateTable::load(&log).unwrap();
    assert_eq!(
        producer_snapshot::list_snapshots(log.dir()).unwrap(),
        offs(&[4])
    );
    let last = BatchHeader::parse(&idempotent_batch(5, 1, 6, 2)).unwrap();
    assert_eq!(loaded.find_duplicate(&last).unwrap().first_offset, off(6));
    let replayed = BatchHeader::parse(&idempotent_batch(5, 1, 4, 2)).unwrap();
    assert_eq!(
        loaded.find_duplicate(&replayed).unwrap().first_offset,
        off(4)
    );
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
    producer_snapshot::write_snapshot(log.dir(), off(3), &other.snapshot_entries(), false).unwrap();
    let path = producer_snapshot::snapshot_path(log.dir(), off(3));
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let loaded = ProducerStateTable::load(&log).unwrap();
    assert!(!path.exists(), "corrupt snapshot deleted");
    let retry = BatchHeader::parse(&idempotent_batch(6, 0, 0, 3)).unwrap();
    assert_eq!(loaded.find_duplicate(&retry).unwrap().first_offset, off(0));
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
        (1, off(4), 2)
    );
    let back = ProducerStateTable::from_snapshot_entries(&entries, off(0));
    let h = BatchHeader::parse(&idempotent_batch(1, 0, i32::MAX, 3)).unwrap();
    assert_eq!(back.find_duplicate(&h).unwrap().first_offset, off(2));
    // Producers whose last batch is below the log start are dropped.
    let trimmed = ProducerStateTable::from_snapshot_entries(&entries, off(5));
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
