//! Unit tests of `LogSegment` on real files: append and indexing, reads,
//! timestamp search, truncation and recovery.

use super::*;
use crate::log::batch::{set_base_offset, validate_batches};
use crate::log::test_util::{batch, batch_with_timestamps, batch_with_values, set_codec};
use crate::model::{Offset, off};

/// Appends `batches` to `seg`, assigning offsets from `next`; returns the next offset.
fn append_all(seg: &LogSegment, mut next: Offset, batches: Vec<Vec<u8>>, interval: u32) -> Offset {
    for mut b in batches {
        set_base_offset(&mut b, next);
        let infos = validate_batches(&b, usize::MAX).unwrap();
        seg.append(&b, &infos, interval).unwrap();
        next = infos[0].last_offset().next();
    }
    next
}

#[test]
fn append_indexes_every_interval_and_reads_whole_batches() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(100), 4096, 0).unwrap();
    let batches: Vec<Vec<u8>> = (0..20)
        .map(|i| {
            batch_with_timestamps(0, &[i * 10, i * 10 + 1, i * 10 + 2, i * 10 + 3, i * 10 + 4])
        })
        .collect();
    let batch_len = batches[0].len();
    let next = append_all(&seg, off(100), batches, (batch_len * 2) as u32);
    assert_eq!(next, off(200));
    assert_eq!(seg.next_offset(), off(200));
    assert_eq!(seg.size_bytes(), 20 * batch_len as u64);
    // An entry after every third batch (the check is "more than the interval").
    let (oi, ti) = seg.index_entries();
    assert_eq!(oi, 6);
    assert_eq!(ti, 6);
    // Offset 137 lives in the batch 135..=139.
    let bytes = seg
        .read(off(137), 3 * batch_len, Offset::MAX, false)
        .unwrap()
        .unwrap();
    assert_eq!(bytes.len(), 3 * batch_len);
    assert_eq!(i64::from_be_bytes(bytes[..8].try_into().unwrap()), 135);
    // max_bytes cuts at whole batches.
    let bytes = seg
        .read(off(137), 3 * batch_len - 1, Offset::MAX, false)
        .unwrap()
        .unwrap();
    assert_eq!(bytes.len(), 2 * batch_len);
    // The high watermark excludes a batch that reaches it.
    let bytes = seg
        .read(off(100), 10 * batch_len, off(112), false)
        .unwrap()
        .unwrap();
    assert_eq!(bytes.len(), 2 * batch_len);
    assert!(
        seg.read(off(200), 100, Offset::MAX, true)
            .unwrap()
            .is_none()
    );
}

#[test]
fn timestamp_search_walks_uncompressed_records_and_stops_at_compressed_batches() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(0), 4096, 0).unwrap();
    let mut compressed = batch_with_values(0, &[500, 600], 4);
    set_codec(&mut compressed, 4);
    let batches = vec![
        batch_with_values(0, &[100, 300, 200], 4),
        batch_with_values(0, &[400, 450], 4),
        compressed,
    ];
    append_all(&seg, off(0), batches, 0);
    let find = |t| seg.find_offset_by_timestamp(t, off(0)).unwrap();
    assert_eq!(find(0), Some((off(0), 100)));
    assert_eq!(find(250), Some((off(1), 300)));
    assert_eq!(find(301), Some((off(3), 400)));
    assert_eq!(
        find(550),
        Some((off(5), 600)),
        "compressed: first offset, max timestamp"
    );
    assert_eq!(find(601), None);
    assert_eq!(
        seg.find_offset_by_timestamp(0, off(2)).unwrap(),
        Some((off(2), 200))
    );
    assert_eq!(seg.max_timestamp_and_offset(), (600, off(6)));
}

#[test]
fn truncate_drops_batches_and_index_entries() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(0), 4096, 0).unwrap();
    let batches: Vec<Vec<u8>> = (0..10).map(|_| batch(0, 2)).collect();
    let len = batches[0].len() as u64;
    append_all(&seg, off(0), batches, 0);
    assert_eq!(seg.index_entries().0, 9);
    // Offset 7 is inside batch 6..=7, which goes whole.
    assert_eq!(seg.truncate_to(off(7)).unwrap(), 7 * len);
    assert_eq!(seg.size_bytes(), 3 * len);
    assert_eq!(seg.next_offset(), off(6));
    assert_eq!(seg.index_entries().0, 2);
    assert_eq!(std::fs::metadata(seg.log_path()).unwrap().len(), 3 * len);
    assert_eq!(seg.truncate_to(off(100)).unwrap(), 0);
    append_all(&seg, off(6), vec![batch(0, 1)], 0);
    assert_eq!(seg.next_offset(), off(7));
}

#[test]
fn recover_cuts_a_torn_tail_and_rebuilds_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(0), 4096, 0).unwrap();
    let batches: Vec<Vec<u8>> = (0..6).map(|_| batch(0, 3)).collect();
    let len = batches[0].len() as u64;
    append_all(&seg, off(0), batches, 0);
    let entries = seg.index_entries();
    // A half-written batch after the last good one.
    use std::os::unix::fs::FileExt;
    seg.file.write_all_at(&batch(18, 3)[..40], 6 * len).unwrap();
    assert_eq!(seg.recover(0).unwrap(), 40);
    assert_eq!(seg.size_bytes(), 6 * len);
    assert_eq!(seg.next_offset(), off(18));
    assert_eq!(seg.index_entries(), entries);
    // A flipped bit in batch 4 cuts there.
    let mut bad = [0u8; 1];
    seg.file.read_exact_at(&mut bad, 4 * len + 70).unwrap();
    seg.file.write_all_at(&[bad[0] ^ 1], 4 * len + 70).unwrap();
    assert_eq!(seg.recover(0).unwrap(), 2 * len);
    assert_eq!(seg.next_offset(), off(12));
}

#[test]
fn open_rebuilds_missing_and_corrupt_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(5), 4096, 0).unwrap();
    append_all(&seg, off(5), (0..8).map(|_| batch(0, 2)).collect(), 0);
    seg.on_become_inactive().unwrap();
    let entries = seg.index_entries();
    drop(seg);
    let (seg, rebuild) = LogSegment::open(dir.path(), off(5), 4096).unwrap();
    assert!(!rebuild);
    assert_eq!(seg.next_offset(), off(21));
    assert_eq!(seg.index_entries(), entries);
    drop(seg);
    std::fs::remove_file(dir.path().join(segment_file_name(off(5), INDEX_SUFFIX))).unwrap();
    let (seg, rebuild) = LogSegment::open(dir.path(), off(5), 4096).unwrap();
    assert!(rebuild);
    assert_eq!(seg.recover(0).unwrap(), 0);
    assert_eq!(seg.index_entries().0, entries.0);
    drop(seg);
    // A time index with a partial entry is corrupt.
    let ti = dir
        .path()
        .join(segment_file_name(off(5), TIME_INDEX_SUFFIX));
    std::fs::write(&ti, [0, 0, 0, 0, 0, 0, 3, 0xe8, 0, 0]).unwrap();
    let (_seg, rebuild) = LogSegment::open(dir.path(), off(5), 4096).unwrap();
    assert!(rebuild);
}

#[test]
fn open_asks_for_recovery_when_the_tail_cannot_be_walked() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(0), 4096, 0).unwrap();
    append_all(&seg, off(0), (0..3).map(|_| batch(0, 2)).collect(), 0);
    let good = seg.size_bytes();
    drop(seg);
    // A whole batch (its header is fine) and then bytes whose length field
    // is negative: a torn write after a crash.
    let path = dir.path().join(segment_file_name(off(0), LOG_SUFFIX));
    let mut data = std::fs::read(&path).unwrap();
    data.extend_from_slice(&batch(6, 2));
    data.extend_from_slice(&[0xAB; 100]);
    std::fs::write(&path, &data).unwrap();
    let (seg, rebuild) = LogSegment::open(dir.path(), off(0), 4096).unwrap();
    assert!(rebuild);
    assert_eq!(seg.recover(0).unwrap(), 100);
    assert_eq!(seg.size_bytes(), good + batch(6, 2).len() as u64);
    assert_eq!(seg.next_offset(), off(8));
}

#[test]
fn roll_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let config = LogConfig {
        segment_bytes: 1000,
        segment_ms: 100,
        ..LogConfig::default()
    };
    let seg = LogSegment::create(dir.path(), off(0), 4096, 50).unwrap();
    // Empty segments never roll on size or time.
    assert!(!seg.should_roll(&config, 5000, 10_000, off(0), 10_000));
    append_all(&seg, off(0), vec![batch_with_values(0, &[1000], 10)], 0);
    assert!(!seg.should_roll(&config, 10, 1050, off(1), 0));
    assert!(seg.should_roll(&config, 1000, 1050, off(1), 0), "size");
    assert!(
        seg.should_roll(&config, 10, 1101, off(1), 0),
        "age by first batch timestamp"
    );
    assert!(
        seg.should_roll(&config, 10, 1050, off(i64::from(i32::MAX) + 1), 0),
        "offset overflow"
    );
}

/// An empty segment's indexes are not opened when it is loaded, after a
/// clean close (trimmed files) or a crash (preallocated files), nor when it
/// is recovered; the first append opens and preallocates them.
#[test]
fn an_empty_segment_leaves_its_indexes_alone_until_the_first_append() {
    let dir = tempfile::tempdir().unwrap();
    let seg = LogSegment::create(dir.path(), off(0), 4096, 0).unwrap();
    assert_eq!(seg.indexes_loaded(), (false, false));
    let index = dir.path().join(segment_file_name(off(0), INDEX_SUFFIX));
    let time_index = dir
        .path()
        .join(segment_file_name(off(0), TIME_INDEX_SUFFIX));
    let len = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert_eq!((len(&index), len(&time_index)), (0, 0), "created empty");
    seg.on_become_inactive().unwrap();
    drop(seg);
    // Reopened after a clean close: nothing opened, and a crash leaves an
    // untrimmed (preallocated) index with stale bytes: also left alone.
    std::fs::write(&index, [7u8; 64]).unwrap();
    let (seg, rebuild) = LogSegment::open(dir.path(), off(0), 4096).unwrap();
    assert!(!rebuild);
    assert_eq!(seg.recover(0).unwrap(), 0);
    seg.resize_indexes(4096).unwrap();
    seg.flush().unwrap();
    assert_eq!(seg.indexes_loaded(), (false, false));
    assert_eq!(seg.next_offset(), off(0));
    assert!(seg.find_batch(off(0)).unwrap().is_none());
    assert_eq!(seg.find_offset_by_timestamp(0, off(0)).unwrap(), None);
    assert_eq!(std::fs::read(&index).unwrap(), [7u8; 64]);
    // The first append opens both: the stale bytes go, the files grow.
    append_all(&seg, off(0), vec![batch(0, 2), batch(0, 2)], 0);
    assert_eq!(seg.indexes_loaded(), (true, true));
    assert_eq!(len(&index), 4096);
    assert_eq!(seg.index_entries(), (1, 1));
    seg.on_become_inactive().unwrap();
    assert_eq!(len(&index), 8);
    drop(seg);
    let (seg, rebuild) = LogSegment::open(dir.path(), off(0), 4096).unwrap();
    assert!(!rebuild);
    assert_eq!(seg.next_offset(), off(4));
    assert_eq!(seg.indexes_loaded(), (true, true), "a segment with data");
}
