//! Unit tests of `Log` on real directories: appends, reads across rolled
//! segments, limits, timestamps, truncation, flushing and crash recovery.

use crate::model::{Offset, off, offs};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::log::batch::{BatchError, validate_batches};
use crate::log::segment_files::{INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, segment_file_name};
use crate::log::test_util::{batch, batch_with_timestamps, batch_with_values, compress_batch};

fn tp() -> TopicPartition {
    TopicPartition::new("events", 3)
}

fn open(dir: &Path, config: LogConfig) -> Log {
    Log::open(dir, tp(), config, off(0), off(0), true).unwrap()
}

fn small(segment_bytes: u64) -> LogConfig {
    LogConfig {
        segment_bytes,
        index_interval_bytes: 64,
        ..LogConfig::default()
    }
}

/// Appends `n` batches of `records` records each as a leader.
fn produce(log: &Log, n: usize, records: usize) -> Vec<AppendInfo> {
    (0..n)
        .map(|_| log.append_as_leader(&mut batch(0, records), 0).unwrap())
        .collect()
}

/// Base offsets of the batches in a read result.
fn bases(bytes: &[u8]) -> Vec<Offset> {
    validate_batches(bytes, usize::MAX)
        .unwrap()
        .iter()
        .map(|i| i.base_offset)
        .collect()
}

#[test]
fn leader_appends_assign_offsets_and_round_trip_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let batch_len = batch(0, 4).len();
    let log = open(dir.path(), small(3 * batch_len as u64));
    let infos = produce(&log, 10, 4);
    assert_eq!(infos[0].first_offset, off(0));
    assert_eq!(infos[9].first_offset, off(36));
    assert_eq!(infos[9].last_offset, off(39));
    assert_eq!(infos[9].record_count, 4);
    assert_eq!(infos[9].bytes, batch_len);
    assert_eq!(infos[9].log_append_time_ms, -1);
    assert_eq!(log.log_end_offset(), off(40));
    assert_eq!(log.num_segments(), 4);
    assert_eq!(log.segment_base_offsets(), offs(&[0, 12, 24, 36]));
    assert_eq!(log.size_bytes(), 10 * batch_len as u64);
    // Every offset reads back from the batch that holds it; reads stop at a
    // segment's end.
    let mut fetch = off(0);
    let mut seen = Vec::new();
    while fetch < log.log_end_offset() {
        let r = log.read(fetch, 1 << 20, Offset::MAX, false).unwrap();
        assert!(!r.records.is_empty());
        let b = bases(&r.records);
        assert!(b.len() <= 3);
        fetch = *b.last().unwrap() + 4;
        seen.extend(b);
    }
    assert_eq!(seen, (0..10).map(|i| off(i * 4)).collect::<Vec<_>>());
    // A fetch inside a batch returns the whole batch.
    assert_eq!(
        bases(
            &log.read(off(14), 1 << 20, Offset::MAX, false)
                .unwrap()
                .records
        )[0],
        off(12)
    );
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    for suffix in [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX] {
        assert!(
            files.contains(&segment_file_name(off(24), suffix)),
            "{files:?}"
        );
    }
}

#[test]
fn read_limits_max_bytes_min_one_batch_and_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    produce(&log, 5, 2);
    let len = batch(0, 2).len();
    let read = |offset, max, hw, min_one| log.read(offset, max, hw, min_one).unwrap().records;
    assert_eq!(
        bases(&read(off(0), 2 * len, Offset::MAX, false)),
        offs(&[0, 2])
    );
    assert_eq!(
        bases(&read(off(0), 2 * len + len / 2, Offset::MAX, false)),
        offs(&[0, 2])
    );
    assert!(read(off(0), len - 1, Offset::MAX, false).is_empty());
    // KIP-74: the first batch comes whole even when larger than max_bytes.
    assert_eq!(bases(&read(off(3), 10, Offset::MAX, true)), offs(&[2]));
    // The high watermark excludes every batch that reaches it.
    assert_eq!(bases(&read(off(0), 1 << 20, off(5), false)), offs(&[0, 2]));
    assert_eq!(
        bases(&read(off(0), 1 << 20, off(6), false)),
        offs(&[0, 2, 4])
    );
    assert!(read(off(4), 1 << 20, off(5), true).is_empty());
    assert!(read(off(6), 1 << 20, off(6), true).is_empty());
    let r = log.read(off(10), 100, Offset::MAX, true).unwrap();
    assert!(r.records.is_empty(), "fetch at the log end is empty");
    assert_eq!((r.log_start_offset, r.log_end_offset), (off(0), off(10)));
}

#[test]
fn offsets_outside_the_log_are_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    produce(&log, 2, 3);
    for bad in offs(&[-1, 7, 100]) {
        match log.read(bad, 100, Offset::MAX, true) {
            Err(LogError::OffsetOutOfRange {
                requested,
                log_start,
                log_end,
            }) if log_start == off(0) && log_end == off(6) => assert_eq!(requested, bad),
            other => panic!("{bad}: {other:?}"),
        }
    }
}

#[test]
fn invalid_appends_are_rejected_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        max_message_bytes: 200,
        segment_bytes: 1000,
        ..LogConfig::default()
    };
    let log = open(dir.path(), config);
    let mut big = batch_with_values(0, &[1], 300);
    assert!(matches!(
        log.append_as_leader(&mut big, 0),
        Err(LogError::Batch(BatchError::RecordTooLarge { .. }))
    ));
    let mut bad_crc = batch(0, 2);
    let last = bad_crc.len() - 1;
    bad_crc[last] ^= 1;
    assert!(matches!(
        log.append_as_leader(&mut bad_crc, 0),
        Err(LogError::Batch(BatchError::CorruptRecord { .. }))
    ));
    let mut many: Vec<u8> = (0..14).flat_map(|_| batch(0, 1)).collect();
    assert!(matches!(
        log.append_as_leader(&mut many, 0),
        Err(LogError::RecordListTooLarge { .. })
    ));
    assert_eq!(log.log_end_offset(), off(0));
    assert_eq!(log.size_bytes(), 0);
    let empty = log.append_as_leader(&mut [], 0).unwrap();
    assert_eq!((empty.first_offset, empty.last_offset), (off(-1), off(-1)));
}

#[test]
fn leader_epoch_is_stamped_outside_the_crc() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    log.append_as_leader_in_epoch(&mut batch(0, 2), Some(LeaderEpoch::new(9)), 0)
        .unwrap();
    let r = log.read(off(0), 1000, Offset::MAX, true).unwrap();
    let info = validate_batches(&r.records, usize::MAX).unwrap()[0];
    assert_eq!(info.partition_leader_epoch, LeaderEpoch::new(9));
}

#[test]
fn appends_report_their_batches_and_the_roll() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    let mut two = batch(0, 3);
    two.extend_from_slice(&batch(0, 2));
    let outcome = log
        .append_as_leader_in_epoch(&mut two, Some(LeaderEpoch::new(4)), 0)
        .unwrap();
    let written: Vec<_> = outcome
        .batches
        .iter()
        .map(|b| {
            (
                b.base_offset.value(),
                b.last_offset().value(),
                b.partition_leader_epoch,
            )
        })
        .collect();
    assert_eq!(
        written,
        [(0, 2, LeaderEpoch::new(4)), (3, 4, LeaderEpoch::new(4))],
        "offsets as assigned"
    );
    assert_eq!(outcome.rolled_at, None);
    // A jump past what the active segment can index rolls a segment there.
    let far = 5 + i64::from(i32::MAX) + 5;
    let outcome = log.append_as_follower(&batch(far, 1)).unwrap();
    assert_eq!(outcome.rolled_at, Some(off(far)));
    assert_eq!(outcome.batches.len(), 1);
    assert_eq!(log.segment_base_offsets(), offs(&[0, far]));
}

#[test]
fn follower_appends_keep_offsets_and_reject_going_backwards() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    let mut two = batch(0, 3);
    two.extend_from_slice(&batch(3, 2));
    let info = log.append_as_follower(&two).unwrap().info;
    assert_eq!(
        (info.first_offset, info.last_offset, info.record_count),
        (off(0), off(4), 5)
    );
    assert_eq!(log.log_end_offset(), off(5));
    assert!(matches!(
        log.append_as_follower(&batch(4, 1)),
        Err(LogError::NonMonotonicOffset {
            first_offset,
            log_end,
            ..
        }) if first_offset == off(4) && log_end == off(5)
    ));
    let mut overlapping = batch(5, 3);
    overlapping.extend_from_slice(&batch(6, 1));
    assert!(log.append_as_follower(&overlapping).is_err());
    // A gap (compacted leader) is fine.
    log.append_as_follower(&batch(10, 1)).unwrap();
    assert_eq!(log.log_end_offset(), off(11));
    assert_eq!(
        bases(&log.read(off(5), 1000, Offset::MAX, true).unwrap().records),
        offs(&[10])
    );
    // A jump past what the active segment can index rolls a segment there.
    let far = 11 + i64::from(i32::MAX) + 5;
    log.append_as_follower(&batch(far, 1)).unwrap();
    assert_eq!(log.segment_base_offsets(), offs(&[0, far]));
    let mut spread = batch(far + 1, 1);
    spread.extend_from_slice(&batch(far + 2 + i64::from(i32::MAX), 1));
    assert!(matches!(
        log.append_as_follower(&spread),
        Err(LogError::OffsetOverflow { .. })
    ));
}

#[test]
fn offset_for_timestamp_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let one = batch_with_timestamps(0, &[100, 300, 200]).len() as u64;
    let log = open(dir.path(), small(2 * one));
    for ts in [
        [100, 300, 200],
        [400, 350, 500],
        [600, 700, 650],
        [800, 900, 850],
    ] {
        log.append_as_leader(&mut batch_with_timestamps(0, &ts), 0)
            .unwrap();
    }
    let mut compressed = compress_batch(&batch_with_timestamps(0, &[1000, 1100, 1050]), 1);
    log.append_as_leader(&mut compressed, 0).unwrap();
    assert_eq!(log.num_segments(), 3);
    let find = |t| log.offset_for_timestamp(t).unwrap();
    assert_eq!(find(0), Some((off(0), 100)));
    assert_eq!(find(250), Some((off(1), 300)));
    assert_eq!(find(360), Some((off(3), 400)));
    assert_eq!(find(450), Some((off(5), 500)));
    assert_eq!(find(501), Some((off(6), 600)));
    assert_eq!(find(860), Some((off(10), 900)));
    assert_eq!(
        find(1001),
        Some((off(12), 1100)),
        "compressed: batch start, max ts"
    );
    assert_eq!(find(1101), None);
    assert_eq!(log.max_timestamp_and_offset(), (1100, off(14)));
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        open(empty.path(), LogConfig::default()).max_timestamp_and_offset(),
        (-1, off(-1))
    );
}

#[test]
fn truncate_to_drops_the_tail_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch(0, 2).len() as u64;
    let log = open(dir.path(), small(2 * len));
    produce(&log, 7, 2);
    assert_eq!(log.segment_base_offsets(), offs(&[0, 4, 8, 12]));
    log.truncate_to(off(20)).unwrap();
    assert_eq!(
        log.log_end_offset(),
        off(14),
        "truncating past the end is a no-op"
    );
    log.truncate_to(off(6)).unwrap();
    assert_eq!(log.log_end_offset(), off(6));
    assert_eq!(log.segment_base_offsets(), offs(&[0, 4]));
    assert_eq!(log.size_bytes(), 3 * len);
    // Mid-batch: the whole batch 4..=5 goes.
    log.truncate_to(off(5)).unwrap();
    assert_eq!(log.log_end_offset(), off(4));
    let info = produce(&log, 1, 2)[0];
    assert_eq!(info.first_offset, off(4));
    assert_eq!(
        bases(&log.read(off(4), 1000, Offset::MAX, true).unwrap().records),
        offs(&[4])
    );
    log.flush().unwrap();
    assert_eq!(log.recovery_point(), off(6));
    log.truncate_to(off(2)).unwrap();
    assert_eq!(log.recovery_point(), off(2));
    assert_eq!(log.segment_base_offsets(), offs(&[0]));
    log.truncate_fully_and_start_at(off(50)).unwrap();
    assert_eq!(
        (
            log.log_start_offset(),
            log.log_end_offset(),
            log.num_segments()
        ),
        (off(50), off(50), 1)
    );
    assert_eq!(produce(&log, 1, 1)[0].first_offset, off(50));
    assert!(
        !dir.path()
            .join(segment_file_name(off(0), LOG_SUFFIX))
            .exists()
    );
}

#[test]
fn flush_policy_by_messages_and_by_time() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        flush_interval_messages: 5,
        flush_interval_ms: 1000,
        ..LogConfig::default()
    };
    let log = open(dir.path(), config);
    produce(&log, 1, 3);
    assert_eq!(log.recovery_point(), off(0));
    produce(&log, 1, 3);
    assert_eq!(log.recovery_point(), off(6), "6 unflushed >= 5 flushes");
    produce(&log, 1, 1);
    let last_flush_ms = log.last_flush_ms.load(Ordering::Acquire);
    log.flush_if_due(last_flush_ms + 10).unwrap();
    assert_eq!(log.recovery_point(), off(6));
    log.flush_if_due(last_flush_ms + 1000).unwrap();
    assert_eq!(log.recovery_point(), off(7));
}

#[test]
fn segment_ms_rolls_by_first_batch_timestamp() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_ms: 1000,
        ..LogConfig::default()
    };
    let log = open(dir.path(), config);
    for ts in [10_000, 10_500, 11_000, 11_001, 12_500] {
        log.append_as_leader(&mut batch_with_timestamps(0, &[ts]), ts)
            .unwrap();
    }
    assert_eq!(log.segment_base_offsets(), offs(&[0, 3, 4]));
}

#[test]
fn unclean_restart_cuts_a_torn_tail_and_continues() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch(0, 3).len() as u64;
    let log = open(dir.path(), small(4 * len));
    produce(&log, 6, 3);
    assert_eq!(log.segment_base_offsets(), offs(&[0, 12]));
    log.flush().unwrap();
    drop(log);
    // Half a batch, then garbage, at the end of the active segment.
    let active = dir.path().join(segment_file_name(off(12), LOG_SUFFIX));
    let mut tail = batch(18, 3)[..50].to_vec();
    tail.extend_from_slice(&[0xAB; 100]);
    let mut data = std::fs::read(&active).unwrap();
    data.extend_from_slice(&tail);
    std::fs::write(&active, &data).unwrap();
    let log = Log::open(dir.path(), tp(), small(4 * len), off(12), off(0), false).unwrap();
    assert_eq!(log.log_end_offset(), off(18));
    assert_eq!(std::fs::metadata(&active).unwrap().len(), 2 * len);
    assert_eq!(log.recovery_point(), off(12));
    assert_eq!(produce(&log, 1, 3)[0].first_offset, off(18));
    assert_eq!(
        bases(
            &log.read(off(12), 1 << 20, Offset::MAX, true)
                .unwrap()
                .records
        ),
        offs(&[12, 15, 18])
    );
}

#[test]
fn unclean_restart_drops_segments_after_a_corrupt_one() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch(0, 1).len() as u64;
    let log = open(dir.path(), small(2 * len));
    produce(&log, 6, 1);
    assert_eq!(log.segment_base_offsets(), offs(&[0, 2, 4]));
    drop(log);
    let middle = dir.path().join(segment_file_name(off(2), LOG_SUFFIX));
    let mut data = std::fs::read(&middle).unwrap();
    let at = data.len() - 5;
    data[at] ^= 0x10;
    std::fs::write(&middle, &data).unwrap();
    let log = Log::open(dir.path(), tp(), small(2 * len), off(0), off(0), false).unwrap();
    assert_eq!(log.segment_base_offsets(), offs(&[0, 2]));
    assert_eq!(log.log_end_offset(), off(3));
    assert!(
        !dir.path()
            .join(segment_file_name(off(4), LOG_SUFFIX))
            .exists()
    );
}

#[test]
fn deleted_indexes_are_rebuilt_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch(0, 2).len() as u64;
    let config = small(20 * len);
    let log = open(dir.path(), config);
    produce(&log, 30, 2);
    log.close().unwrap();
    assert!(log.append_as_leader(&mut batch(0, 1), 0).is_err(), "closed");
    drop(log);
    let index = dir.path().join(segment_file_name(off(0), INDEX_SUFFIX));
    let time_index = dir
        .path()
        .join(segment_file_name(off(40), TIME_INDEX_SUFFIX));
    let index_bytes = std::fs::read(&index).unwrap();
    assert!(!index_bytes.is_empty());
    std::fs::remove_file(&index).unwrap();
    std::fs::remove_file(&time_index).unwrap();
    let log = Log::open(dir.path(), tp(), config, off(60), off(0), true).unwrap();
    assert_eq!(
        std::fs::read(&index).unwrap(),
        index_bytes,
        "same entries, trimmed"
    );
    assert!(time_index.exists());
    assert_eq!(log.log_end_offset(), off(60));
    assert_eq!(
        bases(&log.read(off(33), 1 << 20, off(45), true).unwrap().records),
        offs(&[32, 34, 36, 38])
    );
    assert_eq!(
        bases(&log.read(off(45), 1 << 20, off(49), true).unwrap().records),
        offs(&[44, 46])
    );
}

#[test]
fn clean_reopen_restores_state() {
    let dir = tempfile::tempdir().unwrap();
    let config = small(1 << 20);
    let log = open(dir.path(), config);
    for ts in [5, 9, 7] {
        log.append_as_leader(&mut batch_with_timestamps(0, &[ts, ts]), 0)
            .unwrap();
    }
    log.close().unwrap();
    drop(log);
    let log = Log::open(dir.path(), tp(), config, off(0), off(3), true).unwrap();
    assert_eq!(log.log_end_offset(), off(6));
    assert_eq!(log.log_start_offset(), off(3));
    assert_eq!(log.recovery_point(), off(6));
    assert_eq!(log.max_timestamp_and_offset(), (9, off(3)));
    assert_eq!(produce(&log, 1, 1)[0].first_offset, off(6));
}

#[test]
fn concurrent_reads_never_see_partial_batches() {
    let dir = tempfile::tempdir().unwrap();
    let len = batch(0, 5).len() as u64;
    let log = Arc::new(open(dir.path(), small(50 * len)));
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (log, done) = (Arc::clone(&log), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(Ordering::Acquire) {
                let end = log.log_end_offset();
                let from = (end - 7).max(off(0));
                let r = log.read(from, 4096, Offset::MAX, true).unwrap();
                // Whole, valid batches only.
                validate_batches(&r.records, usize::MAX).unwrap();
                reads += 1;
            }
            reads
        })
    };
    for _ in 0..400 {
        log.append_as_leader(&mut batch(0, 5), 0).unwrap();
    }
    done.store(true, Ordering::Release);
    assert!(reader.join().unwrap() > 0);
    assert_eq!(log.log_end_offset(), off(2000));
    assert_eq!(log.num_segments(), 8);
}

/// Kafka's flush on roll: a roll schedules a flush of the segments before
/// the new one, and running it moves the recovery point to the new
/// segment's base offset, never past the log end.
#[test]
fn a_roll_schedules_a_flush_up_to_the_new_segment() {
    let dir = tempfile::tempdir().unwrap();
    let one_batch = batch(0, 1).len() as u64;
    let log = open(dir.path(), small(one_batch));
    assert!(!log.flush_rolled_segments().unwrap(), "no roll, no flush");
    produce(&log, 3, 1);
    assert_eq!(log.segment_base_offsets(), offs(&[0, 1, 2]));
    assert_eq!(
        log.recovery_point(),
        off(0),
        "flush.messages is off: nothing flushed yet"
    );
    assert!(log.flush_rolled_segments().unwrap());
    assert_eq!(
        log.recovery_point(),
        off(2),
        "the recovery point is the active segment's base"
    );
    assert!(!log.flush_rolled_segments().unwrap(), "done once");
    // A truncation below the scheduled point: the flush never passes the log end.
    produce(&log, 2, 1);
    log.truncate_to(off(3)).unwrap();
    assert_eq!(log.log_end_offset(), off(3));
    assert!(log.flush_rolled_segments().unwrap());
    assert_eq!(
        log.recovery_point(),
        off(3),
        "up to the log end, not the gone segment 4"
    );
}

/// A CRC-valid produced batch whose records are malformed (here: it
/// declares one record more than it holds) is refused whole and nothing is
/// written, as Kafka's LogValidator does; the next good batch gets offset 0.
#[test]
fn malformed_records_inside_a_valid_batch_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), LogConfig::default());
    let mut lying = batch(0, 2);
    lying[23..27].copy_from_slice(&2i32.to_be_bytes()); // last offset delta
    lying[57..61].copy_from_slice(&3i32.to_be_bytes()); // record count
    let crc = crc32c::crc32c(&lying[21..]);
    lying[17..21].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        log.append_as_leader(&mut lying, 0),
        Err(LogError::Batch(BatchError::InvalidRecord { .. }))
    ));
    assert_eq!(log.log_end_offset(), off(0));
    assert_eq!(log.size_bytes(), 0, "nothing written");
    assert_eq!(
        log.append_as_leader(&mut batch(0, 2), 0)
            .unwrap()
            .first_offset,
        off(0)
    );
}
