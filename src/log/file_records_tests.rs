//! Unit tests of file-region reads: `Log::read_records` in `ReadMode::File`
//! chooses exactly the batches a read into memory chooses, for every fetch
//! offset, byte limit, offset limit and KIP-74 setting, across segments;
//! regions outlive a deleted segment and notice a truncated one.

use crate::model::{Offset, off};
use std::path::Path;

use super::*;
use crate::log::batch::validate_batches;
use crate::log::segment_files::{LOG_SUFFIX, segment_file_name};
use crate::log::test_util::batch_with_values;
use crate::log::{Log, LogConfig};
use crate::model::TopicPartition;

fn open(dir: &Path, segment_bytes: u64) -> Log {
    let config = LogConfig {
        segment_bytes,
        index_interval_bytes: 128,
        ..LogConfig::default()
    };
    Log::open(
        dir,
        TopicPartition::new("t", 0),
        config,
        off(0),
        off(0),
        true,
    )
    .unwrap()
}

/// Batches of 1 to 5 records with values of 10 to 400 bytes, so batch
/// sizes vary and byte limits fall inside and between them.
fn fill(log: &Log, batches: usize) {
    for i in 0..batches {
        let count = i % 5 + 1;
        let timestamps: Vec<i64> = (0..count as i64).map(|t| 1000 + t).collect();
        let mut b = batch_with_values(0, &timestamps, 10 + (i * 37) % 400);
        log.append_as_leader(&mut b, 0).unwrap();
    }
}

#[test]
fn file_regions_hold_exactly_the_batches_a_memory_read_returns() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    fill(&log, 60);
    assert!(log.num_segments() > 3, "several segments");
    let end = log.log_end_offset();
    let mut regions = 0;
    for fetch_offset in (0..=end.value()).map(off) {
        for max_bytes in [0, 1, 100, 700, 1500, 5000, 1 << 20] {
            for limit in [fetch_offset, fetch_offset + 3, end - 7, end, Offset::MAX] {
                for min_one_batch in [false, true] {
                    let args = (fetch_offset, max_bytes, limit, min_one_batch);
                    let memory = log
                        .read(fetch_offset, max_bytes, limit, min_one_batch)
                        .unwrap();
                    let file = log
                        .read_records(
                            fetch_offset,
                            max_bytes,
                            limit,
                            min_one_batch,
                            ReadMode::File,
                        )
                        .unwrap();
                    assert_eq!(
                        (file.log_start_offset, file.log_end_offset),
                        (memory.log_start_offset, memory.log_end_offset)
                    );
                    assert_eq!(
                        file.records.to_bytes().unwrap(),
                        memory.records,
                        "{args:?}: same bytes"
                    );
                    match &file.records {
                        Records::File(region) => {
                            regions += 1;
                            assert!(!region.is_empty(), "{args:?}: empty is Memory");
                            assert_eq!(
                                region.record_count(),
                                record_count(&memory.records),
                                "{args:?}: records counted from the headers"
                            );
                        }
                        Records::Memory(bytes) => assert!(bytes.is_empty(), "{args:?}"),
                    }
                }
            }
        }
    }
    assert!(regions > 1000, "most reads found data ({regions})");
}

#[test]
fn a_region_outlives_its_deleted_segment_and_notices_a_truncated_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 4096);
    fill(&log, 40);
    let read = |offset| match log
        .read_records(offset, 1 << 20, Offset::MAX, true, ReadMode::File)
        .unwrap()
        .records
    {
        Records::File(region) => region,
        Records::Memory(_) => panic!("data at {offset}"),
    };
    let region = read(off(0));
    let expected = region.read_to_bytes().unwrap();
    // Retention deletes the first segment (files unlinked): the region reads on.
    let segments = log.segment_base_offsets();
    log.maybe_increment_log_start_offset(segments[1]).unwrap();
    assert_eq!(log.delete_segments_below_log_start().unwrap(), 1);
    let first_file = dir.path().join(segment_file_name(off(0), LOG_SUFFIX));
    assert!(!first_file.exists(), "the first segment's file is deleted");
    assert_eq!(region.read_to_bytes().unwrap(), expected);
    // A truncation inside the region leaves fewer bytes than it promised.
    let last_base = *segments.last().unwrap();
    assert!(last_base + 1 < log.log_end_offset());
    let tail = read(last_base);
    log.truncate_to(last_base + 1).unwrap();
    let err = tail.read_to_bytes().unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
}

/// Records in whole batches, from their headers.
fn record_count(bytes: &[u8]) -> u64 {
    validate_batches(bytes, usize::MAX)
        .unwrap()
        .iter()
        .map(|b| b.record_count as u64)
        .sum()
}

#[test]
fn slices_cover_part_of_a_region() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path(), 1 << 20);
    fill(&log, 10);
    let Records::File(region) = log
        .read_records(off(0), 1 << 20, Offset::MAX, true, ReadMode::File)
        .unwrap()
        .records
    else {
        panic!("a region")
    };
    let whole = region.read_to_bytes().unwrap();
    let part = region.slice(100, 300);
    assert_eq!(part.read_to_bytes().unwrap(), whole.slice(100..400));
    assert_eq!(part.record_count(), 0, "a part counts no records");
    assert_eq!(
        region.slice(0, region.len()).record_count(),
        region.record_count()
    );
}
