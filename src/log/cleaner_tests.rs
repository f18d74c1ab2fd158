//! Tests of the log cleaner on real segment files: the latest record per key
//! survives with its offset, tombstones go only after `delete.retention.ms`,
//! the active segment and anything at or past the high watermark stay
//! untouched, an idempotent producer's last batch stays as an empty header,
//! interrupted swaps complete on open, and the manager picks logs by dirty
//! ratio and writes Kafka's `cleaner-offset-checkpoint`.

use crate::model::{Offset, off};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::log::checkpoint::read_offsets;
use crate::log::cleaner_manager::{CLEANER_OFFSET_CHECKPOINT, LogCleaner};
use crate::log::cleaner_records::decode_batch;
use crate::log::test_util::{keyed_batch, keyed_batch_from};
use crate::log::{LogConfig, LogManager};

const NOW_MS: i64 = 1_000_000;

fn compact_config() -> LogConfig {
    LogConfig {
        // About one small batch per segment.
        segment_bytes: 100,
        cleanup_policy_compact: true,
        cleanup_policy_delete: false,
        min_cleanable_dirty_ratio: 0.01,
        delete_retention_ms: 1000,
        ..LogConfig::default()
    }
}

fn tp() -> TopicPartition {
    TopicPartition::new("c", 0)
}

fn open(dir: &Path) -> Log {
    Log::open(dir, tp(), compact_config(), off(0), off(0), true).unwrap()
}

/// Appends one batch per (key, value).
fn produce(log: &Log, records: &[(&str, Option<&str>)]) {
    for (k, v) in records {
        let mut b = keyed_batch(0, &[(Some(k), *v)]);
        log.append_as_leader(&mut b, NOW_MS).unwrap();
    }
}

/// Every record in the log: (offset, key, value).
fn read_all(log: &Log) -> Vec<(i64, String, Option<String>)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let r = log.read(offset, 1 << 20, Offset::MAX, true).unwrap();
        if r.records.is_empty() {
            break;
        }
        let mut pos = 0;
        while pos < r.records.len() {
            let d = decode_batch(&r.records[pos..]).unwrap();
            pos += d.header.size_bytes();
            offset = d.header.last_offset().next();
            for e in &d.entries {
                let key = String::from_utf8(d.key(e).unwrap().to_vec()).unwrap();
                let value = e.has_value.then(|| {
                    let rec = &d.records[e.range.clone()];
                    // The value is the record's tail before the header count (0).
                    let v = &rec[rec.len() - 1 - 1..rec.len() - 1];
                    String::from_utf8(v.to_vec()).unwrap()
                });
                out.push((e.offset.value(), key, value));
            }
        }
    }
    out
}

fn clean_all(log: &Log, checkpoint: Option<i64>, now_ms: i64) -> CleanStats {
    let checkpoint = checkpoint.map(Offset::new);
    let (range, _, _) = log.cleanable_range(checkpoint, Offset::MAX, now_ms);
    let mut map = OffsetMap::new(1 << 20);
    log.clean(range, &mut map, now_ms).unwrap()
}

#[test]
fn keeps_the_latest_record_per_key_with_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    produce(
        &log,
        &[
            ("a", Some("1")),
            ("b", Some("2")),
            ("a", Some("3")),
            ("c", Some("4")),
            ("b", Some("5")),
            ("a", Some("6")),
            ("d", Some("7")),
        ],
    );
    assert!(log.num_segments() >= 6, "one batch per segment");
    let active_before = log.segment_base_offsets().last().copied().unwrap();
    let size_before = log.size_bytes();
    let stats = clean_all(&log, None, NOW_MS);
    assert_eq!(
        stats.end_offset, active_before,
        "cleaned up to the active segment"
    );
    let got = read_all(&log);
    let want = vec![
        (3, "c".to_string(), Some("4".to_string())),
        (4, "b".to_string(), Some("5".to_string())),
        (5, "a".to_string(), Some("6".to_string())),
        (6, "d".to_string(), Some("7".to_string())),
    ];
    assert_eq!(got, want);
    assert!(log.size_bytes() < size_before);
    assert_eq!(
        log.segment_base_offsets().last().copied(),
        Some(active_before),
        "the active segment is untouched"
    );
    assert_eq!(log.log_end_offset(), off(7));
    // Appends still work after the swap, and a new pass is a no-op for old data.
    produce(&log, &[("c", Some("8"))]);
    assert_eq!(log.log_end_offset(), off(8));
    drop(log);
    // The cleaned layout reopens (after an unclean shutdown too) the same way.
    let reopened = Log::open(dir.path(), tp(), compact_config(), off(0), off(0), false).unwrap();
    let mut again = read_all(&reopened);
    assert_eq!(
        again.pop(),
        Some((7, "c".to_string(), Some("8".to_string())))
    );
    assert_eq!(again, want);
}

#[test]
fn never_cleans_at_or_past_the_high_watermark() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    produce(
        &log,
        &[
            ("a", Some("1")),
            ("a", Some("2")),
            ("a", Some("3")),
            ("a", Some("4")),
        ],
    );
    // High watermark 2: only segments wholly below offset 2 are cleanable.
    let (range, dirty, total) = log.cleanable_range(None, off(2), NOW_MS);
    assert_eq!(range.first_uncleanable, off(2));
    assert_eq!(dirty, total);
    let mut map = OffsetMap::new(1 << 20);
    let stats = log.clean(range, &mut map, NOW_MS).unwrap();
    assert_eq!(stats.end_offset, off(2));
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.0).collect();
    assert_eq!(
        offsets,
        vec![1, 2, 3],
        "offset 0 is superseded by 1; 2 and 3 untouched"
    );
}

#[test]
fn tombstones_stay_for_delete_retention_ms_after_cleaning() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    produce(
        &log,
        &[
            ("a", Some("1")),
            ("b", Some("2")),
            ("a", None),
            ("c", Some("3")),
        ],
    );
    let stats = clean_all(&log, None, NOW_MS);
    let keys: Vec<(i64, String, Option<String>)> = read_all(&log);
    assert_eq!(
        keys,
        vec![
            (1, "b".to_string(), Some("2".to_string())),
            (2, "a".to_string(), None),
            (3, "c".to_string(), Some("3".to_string())),
        ],
        "a fresh tombstone is kept, the value it deletes goes"
    );
    assert_eq!(stats.tombstone_expiry_ms, Some(NOW_MS + 1000));
    // Just before delete.retention.ms has passed the tombstone stays.
    let checkpoint = Some(stats.end_offset.value());
    let early = clean_all(&log, checkpoint, NOW_MS + 999);
    assert!(read_all(&log).iter().any(|r| r.1 == "a"));
    assert_eq!(early.tombstone_expiry_ms, Some(NOW_MS + 1000));
    // Afterwards it goes, and the offsets of the others do not move.
    let late = clean_all(&log, checkpoint, NOW_MS + 1000);
    assert_eq!(late.tombstone_expiry_ms, None);
    let offsets: Vec<(i64, String)> = read_all(&log).into_iter().map(|r| (r.0, r.1)).collect();
    assert_eq!(offsets, vec![(1, "b".to_string()), (3, "c".to_string())]);
}

/// Every stored batch: (base offset, producer id, record count).
fn batches(log: &Log) -> Vec<(i64, i64, usize)> {
    let mut out = Vec::new();
    let mut offset = log.log_start_offset();
    while offset < log.log_end_offset() {
        let bytes = log
            .read(offset, 1 << 20, Offset::MAX, true)
            .unwrap()
            .records;
        if bytes.is_empty() {
            break;
        }
        let mut pos = 0;
        while pos < bytes.len() {
            let d = decode_batch(&bytes[pos..]).unwrap();
            pos += d.header.size_bytes();
            offset = d.header.last_offset().next();
            out.push((
                d.header.base_offset.value(),
                d.header.producer_id,
                d.entries.len(),
            ));
        }
    }
    out
}

#[test]
fn last_batch_of_an_idempotent_producer_stays_as_an_empty_header() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    let append = |pid: i64, key: &str| {
        let mut b = keyed_batch_from(0, pid, &[(Some(key), Some("v"))]);
        log.append_as_leader(&mut b, NOW_MS).unwrap();
    };
    for (pid, key) in [(7, "a"), (7, "a"), (8, "a"), (9, "z")] {
        append(pid, key);
    }
    let stats = clean_all(&log, None, NOW_MS);
    // Offset 0 (producer 7, not its last batch) goes; offset 1 is producer
    // 7's last batch: emptied but kept; 2 and 3 are the latest of their keys.
    assert_eq!(batches(&log), vec![(1, 7, 0), (2, 8, 1), (3, 9, 1)]);
    // Once producer 7 writes again, its empty batch goes.
    append(7, "b");
    append(9, "z");
    append(10, "w"); // the active segment
    clean_all(&log, Some(stats.end_offset.value()), NOW_MS);
    assert_eq!(
        batches(&log),
        vec![(2, 8, 1), (4, 7, 1), (5, 9, 1), (6, 10, 1)],
        "z at 3 is superseded by 5, and not producer 9's last batch any more"
    );
}

#[test]
fn an_interrupted_swap_completes_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    produce(
        &log,
        &[
            ("a", Some("1")),
            ("a", Some("2")),
            ("b", Some("3")),
            ("a", Some("4")),
        ],
    );
    let saved: BTreeMap<String, Vec<u8>> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            (name, std::fs::read(&p).unwrap())
        })
        .collect();
    clean_all(&log, None, NOW_MS);
    let cleaned = read_all(&log);
    let cleaned_first = log.segment_base_offsets()[0];
    drop(log);
    // Crash state: the cleaned segment committed as .swap, the old segments
    // all still there, a stale work dir and an uncommitted index swap.
    let seg = |base: Offset, suffix: &str| dir.path().join(format!("{base:020}.{suffix}"));
    std::fs::rename(seg(cleaned_first, "log"), seg(cleaned_first, "log.swap")).unwrap();
    for (name, bytes) in &saved {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    std::fs::create_dir_all(dir.path().join(".cleaner")).unwrap();
    std::fs::write(seg(off(99), "index.swap"), b"junk").unwrap();
    let reopened = Log::open(dir.path(), tp(), compact_config(), off(0), off(0), false).unwrap();
    assert_eq!(read_all(&reopened), cleaned);
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_str().unwrap().to_string())
        .filter(|n| n.ends_with(".swap") || n == ".cleaner")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_swap_is_skipped_when_the_log_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let log = open(dir.path());
    produce(
        &log,
        &[("a", Some("1")), ("a", Some("2")), ("a", Some("3"))],
    );
    let old = log.segments_snapshot()[..1].to_vec();
    let sizes = vec![old[0].size_bytes()];
    let work = crate::log::cleaner_swap::fresh_work_dir(dir.path()).unwrap();
    let cleaned = LogSegment::create(&work, off(0), 1 << 20, NOW_MS).unwrap();
    cleaned.flush().unwrap();
    // Truncation removes the segment the pass cleaned.
    log.truncate_to(off(0)).unwrap();
    let outcome = log.replace_segments(cleaned, &old, &sizes).unwrap();
    assert_eq!(outcome, crate::log::cleaner_swap::SwapOutcome::Aborted);
    assert_eq!(log.log_end_offset(), off(0));
    produce(&log, &[("b", Some("4"))]);
    assert_eq!(
        read_all(&log),
        vec![(0, "b".to_string(), Some("4".to_string()))]
    );
    // A pass over a log whose planned range has shrunk never touches the
    // (new) active segment.
    let stale = CleanRange {
        first_dirty: off(0),
        first_uncleanable: off(3),
    };
    let mut map = OffsetMap::new(1 << 20);
    let stats = log.clean(stale, &mut map, NOW_MS).unwrap();
    assert_eq!(stats.segments_replaced, 0);
    assert_eq!(read_all(&log).len(), 1);
}

#[test]
fn manager_picks_compacted_dirty_logs_and_writes_the_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let mgr =
        Arc::new(LogManager::startup(&[root.path().to_path_buf()], compact_config()).unwrap());
    let compacted = mgr.get_or_create_log(&tp(), compact_config()).unwrap();
    let plain_tp = TopicPartition::new("plain", 0);
    let plain_config = LogConfig {
        cleanup_policy_compact: false,
        cleanup_policy_delete: true,
        ..compact_config()
    };
    let plain = mgr.get_or_create_log(&plain_tp, plain_config).unwrap();
    produce(
        &compacted,
        &[("a", Some("1")), ("a", Some("2")), ("a", Some("3"))],
    );
    produce(
        &plain,
        &[("a", Some("1")), ("a", Some("2")), ("a", Some("3"))],
    );
    let cleaner = LogCleaner::new(Arc::clone(&mgr), 1 << 20);
    let hw = |_: &TopicPartition| Some(Offset::MAX);
    let (cleaned, result) = cleaner.clean_filthiest(NOW_MS, &hw).expect("a dirty log");
    assert_eq!(cleaned, tp());
    assert_eq!(result.unwrap().end_offset, off(2));
    assert_eq!(cleaner.checkpoint_of(&tp()), Some(off(2)));
    let file = read_offsets(&root.path().join(CLEANER_OFFSET_CHECKPOINT)).unwrap();
    assert_eq!(file.get(&tp()), Some(&off(2)));
    assert!(
        cleaner.clean_filthiest(NOW_MS, &hw).is_none(),
        "nothing dirty left"
    );
    assert_eq!(
        read_all(&plain).len(),
        3,
        "a delete-policy log is never compacted"
    );
    // A restarted cleaner reads its checkpoint back.
    let again = LogCleaner::new(Arc::clone(&mgr), 1 << 20);
    assert_eq!(again.checkpoint_of(&tp()), Some(off(2)));
    // A ratio of 1.0 can never be exceeded: the log is left alone.
    produce(&compacted, &[("a", Some("4")), ("a", Some("5"))]);
    compacted
        .set_config(LogConfig {
            min_cleanable_dirty_ratio: 1.0,
            ..compact_config()
        })
        .unwrap();
    assert!(again.clean_filthiest(NOW_MS, &hw).is_none());
    // ... unless a dirty record waited longer than max.compaction.lag.ms
    // (the batches carry timestamp 1000).
    let lagging = LogConfig {
        min_cleanable_dirty_ratio: 1.0,
        max_compaction_lag_ms: NOW_MS - 1000 - 1,
        ..compact_config()
    };
    compacted.set_config(lagging).unwrap();
    let (_, result) = again.clean_filthiest(NOW_MS, &hw).expect("lagging log");
    assert_eq!(result.unwrap().end_offset, off(4));
    assert!(
        compacted
            .set_config(LogConfig {
                min_compaction_lag_ms: 10,
                max_compaction_lag_ms: 5,
                ..compact_config()
            })
            .is_err()
    );
}

#[test]
fn a_recreated_log_is_cleaned_from_its_start() {
    let root = tempfile::tempdir().unwrap();
    let mgr =
        Arc::new(LogManager::startup(&[root.path().to_path_buf()], compact_config()).unwrap());
    let log = mgr.get_or_create_log(&tp(), compact_config()).unwrap();
    produce(
        &log,
        &[
            ("a", Some("1")),
            ("a", Some("2")),
            ("a", Some("3")),
            ("a", Some("4")),
        ],
    );
    let cleaner = LogCleaner::new(Arc::clone(&mgr), 1 << 20);
    let hw = |_: &TopicPartition| Some(Offset::MAX);
    let (_, first) = cleaner.clean_filthiest(NOW_MS, &hw).expect("a dirty log");
    first.unwrap();
    // With this checkpoint (3, also the new log's active segment) the new
    // log would look clean.
    assert_eq!(cleaner.checkpoint_of(&tp()), Some(off(3)));
    mgr.delete_log(&tp()).unwrap();
    let log = mgr.get_or_create_log(&tp(), compact_config()).unwrap();
    produce(
        &log,
        &[
            ("b", Some("1")),
            ("b", Some("2")),
            ("b", Some("3")),
            ("b", Some("4")),
        ],
    );
    let (_, result) = cleaner.clean_filthiest(NOW_MS, &hw).expect("the new log");
    assert_eq!(result.unwrap().end_offset, off(3));
    let offsets: Vec<i64> = read_all(&log).iter().map(|r| r.0).collect();
    assert_eq!(offsets, vec![2, 3], "the stale checkpoint was not reused");
}
