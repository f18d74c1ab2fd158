//! Unit tests of `LogManager` on real log dirs: start-up loading, placement,
//! checkpoints, clean and unclean restarts, deletion and the dir lock.

use super::*;
use crate::log::checkpoint::{LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT};
use crate::log::segment_files::{LOG_SUFFIX, segment_file_name};
use crate::log::test_util::batch;
use crate::model::off;

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("orders-v2", p)
}

fn dirs(root: &Path, n: usize) -> Vec<PathBuf> {
    (0..n).map(|i| root.join(format!("data{i}"))).collect()
}

#[test]
fn new_logs_go_to_the_least_loaded_dir() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 2);
    let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
    for p in 0..4 {
        mgr.get_or_create_log(&tp(p), LogConfig::default()).unwrap();
    }
    for d in &log_dirs {
        let parts = fs::read_dir(d)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
            .count();
        assert_eq!(parts, 2, "{}", d.display());
    }
    let again = mgr.get_or_create_log(&tp(0), LogConfig::default()).unwrap();
    assert!(Arc::ptr_eq(&again, &mgr.get_log(&tp(0)).unwrap()));
    assert_eq!(mgr.all_logs().len(), 4);
    assert!(mgr.get_log(&tp(9)).is_none());
    assert!(matches!(
        mgr.get_or_create_log(&TopicPartition::new("../x", 0), LogConfig::default()),
        Err(LogError::InvalidTopicName { .. })
    ));
}

#[test]
fn clean_shutdown_and_restart_keep_data_and_checkpoints() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 1);
    {
        let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
        let log = mgr.get_or_create_log(&tp(0), LogConfig::default()).unwrap();
        for _ in 0..3 {
            log.append_as_leader(&mut batch(0, 2), 0).unwrap();
        }
        assert!(log.maybe_increment_log_start_offset(off(2)).unwrap());
        assert!(matches!(
            LogManager::startup(&log_dirs, LogConfig::default()),
            Err(LogError::DirLocked { .. })
        ));
        mgr.shutdown().unwrap();
        assert!(log_dirs[0].join(CLEAN_SHUTDOWN_FILE).exists());
        let rp = fs::read_to_string(log_dirs[0].join(RECOVERY_POINT_CHECKPOINT)).unwrap();
        assert_eq!(rp, "0\n1\norders-v2 0 6\n");
        let ls = fs::read_to_string(log_dirs[0].join(LOG_START_OFFSET_CHECKPOINT)).unwrap();
        assert_eq!(ls, "0\n1\norders-v2 0 2\n");
    }
    // Leftovers a crashed deletion or another tool may leave.
    fs::create_dir_all(log_dirs[0].join("orders-v2-7.0123abcd-delete")).unwrap();
    fs::create_dir_all(log_dirs[0].join("lost+found")).unwrap();
    let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
    assert!(!log_dirs[0].join(CLEAN_SHUTDOWN_FILE).exists());
    assert!(!log_dirs[0].join("orders-v2-7.0123abcd-delete").exists());
    let log = mgr.get_log(&tp(0)).unwrap();
    assert_eq!(log.log_end_offset(), off(6));
    assert_eq!(log.log_start_offset(), off(2));
    assert_eq!(log.recovery_point(), off(6));
    assert_eq!(mgr.all_logs().len(), 1);
}

#[test]
fn unclean_restart_recovers_from_the_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 1);
    let part_dir = log_dirs[0].join(tp(1).to_string());
    {
        let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
        let log = mgr.get_or_create_log(&tp(1), LogConfig::default()).unwrap();
        log.append_as_leader(&mut batch(0, 4), 0).unwrap();
        log.flush().unwrap();
        mgr.checkpoint().unwrap();
        log.append_as_leader(&mut batch(0, 4), 0).unwrap();
        // "Crash": no shutdown, and a torn write at the end of the segment.
    }
    let seg = part_dir.join(segment_file_name(off(0), LOG_SUFFIX));
    let mut data = fs::read(&seg).unwrap();
    data.extend_from_slice(&batch(8, 4)[..30]);
    fs::write(&seg, &data).unwrap();
    let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
    let log = mgr.get_log(&tp(1)).unwrap();
    assert_eq!(log.log_end_offset(), off(8));
    assert_eq!(log.recovery_point(), off(4));
    assert_eq!(
        fs::metadata(&seg).unwrap().len(),
        2 * batch(0, 4).len() as u64
    );
}

#[test]
fn delete_log_removes_the_directory() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 1);
    let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
    let log = mgr.get_or_create_log(&tp(2), LogConfig::default()).unwrap();
    log.append_as_leader(&mut batch(0, 1), 0).unwrap();
    mgr.delete_log(&tp(2)).unwrap();
    assert!(mgr.get_log(&tp(2)).is_none());
    assert!(log.append_as_leader(&mut batch(0, 1), 0).is_err());
    let left: Vec<_> = fs::read_dir(&log_dirs[0])
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_type().unwrap().is_dir())
        .collect();
    assert!(left.is_empty());
    mgr.delete_log(&tp(2)).unwrap();
    mgr.checkpoint().unwrap();
    let rp = fs::read_to_string(log_dirs[0].join(RECOVERY_POINT_CHECKPOINT)).unwrap();
    assert_eq!(rp, "0\n0\n");
}

#[test]
fn cleanup_and_flush_run_over_all_logs() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 1);
    let len = batch(0, 1).len() as u64;
    let config = LogConfig {
        segment_bytes: len,
        retention_bytes: len as i64,
        retention_ms: -1,
        flush_interval_ms: 0,
        ..LogConfig::default()
    };
    let mgr = LogManager::startup(&log_dirs, config).unwrap();
    for p in 0..2 {
        let log = mgr.get_or_create_log(&tp(p), config).unwrap();
        for _ in 0..3 {
            log.append_as_leader(&mut batch(0, 1), 0).unwrap();
        }
    }
    // No bound for a log: it is left alone.
    assert_eq!(mgr.cleanup(0, |_| None), 0);
    // Bounded by the high watermark: partition 0 at offset 1 keeps offsets 1
    // and 2; partition 1, fully replicated, keeps only its active segment.
    let hw = |t: &TopicPartition| Some(off(if t.partition == 0 { 1 } else { 3 }));
    assert_eq!(mgr.cleanup(0, hw), 3);
    assert_eq!(mgr.get_log(&tp(0)).unwrap().log_start_offset(), off(1));
    assert_eq!(mgr.cleanup(0, |_| Some(off(3))), 1);
    mgr.flush_due(i64::MAX);
    for (_, log) in mgr.all_logs() {
        assert_eq!(log.num_segments(), 1);
        assert_eq!(log.recovery_point(), off(3));
    }
}

#[test]
fn meta_properties_through_the_manager() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 2);
    let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
    mgr.read_or_write_meta_properties(1, "cluster-a").unwrap();
    mgr.read_or_write_meta_properties(1, "cluster-a").unwrap();
    assert!(mgr.read_or_write_meta_properties(2, "cluster-a").is_err());
}

#[test]
fn the_manager_flushes_rolled_logs_only() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 1);
    let config = LogConfig {
        segment_bytes: batch(0, 1).len() as u64,
        ..LogConfig::default()
    };
    let mgr = LogManager::startup(&log_dirs, config).unwrap();
    let rolled = mgr.get_or_create_log(&tp(0), config).unwrap();
    let quiet = mgr.get_or_create_log(&tp(1), config).unwrap();
    for _ in 0..3 {
        rolled.append_as_leader(&mut batch(0, 1), 0).unwrap();
    }
    quiet.append_as_leader(&mut batch(0, 1), 0).unwrap();
    assert!(mgr.has_rolled_logs());
    assert_eq!(mgr.flush_rolled_logs(), 1);
    assert_eq!(rolled.recovery_point(), off(2));
    assert_eq!(quiet.recovery_point(), off(0), "no roll, no flush");
    assert!(!mgr.has_rolled_logs());
    assert_eq!(mgr.flush_rolled_logs(), 0);
}

/// `replication-offset-checkpoint` keeps the previous file's entries for
/// partitions whose log is still in the dir but that are not hosted (yet);
/// entries of deleted logs go; a dir with nothing to write is left alone.
#[test]
fn replication_checkpoints_merge_with_the_previous_file() {
    use crate::log::checkpoint::REPLICATION_OFFSET_CHECKPOINT;
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 2);
    let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
    // Both logs land in data0 or data1 by load; put them in one dir.
    let l0 = mgr.get_or_create_log(&tp(0), LogConfig::default()).unwrap();
    let dir = l0.dir().parent().unwrap().to_path_buf();
    let other = log_dirs.iter().find(|d| **d != dir).unwrap().clone();
    let l1 = mgr.get_or_create_log(&tp(1), LogConfig::default()).unwrap();
    let l2 = mgr.get_or_create_log(&tp(2), LogConfig::default()).unwrap();
    assert_eq!(
        l2.dir().parent().unwrap(),
        dir,
        "third log back in the first dir"
    );
    assert_eq!(l1.dir().parent().unwrap(), other);
    mgr.write_replication_checkpoints(&[(tp(0), off(5)), (tp(2), off(7))])
        .unwrap();
    // Only tp 0 hosted now (a restart before every LeaderAndIsr arrived).
    mgr.write_replication_checkpoints(&[(tp(0), off(9))])
        .unwrap();
    let read = |d: &Path| read_offsets(&d.join(REPLICATION_OFFSET_CHECKPOINT)).unwrap();
    assert_eq!(
        read(&dir),
        HashMap::from([(tp(0), off(9)), (tp(2), off(7))])
    );
    assert!(
        !other.join(REPLICATION_OFFSET_CHECKPOINT).exists(),
        "no file for a dir with nothing to write"
    );
    mgr.delete_log(&tp(2)).unwrap();
    mgr.write_replication_checkpoints(&[(tp(0), off(10))])
        .unwrap();
    assert_eq!(
        read(&dir),
        HashMap::from([(tp(0), off(10))]),
        "a deleted log's entry goes"
    );
}

#[test]
fn file_system_sizes_are_plausible() {
    let (total, usable) = file_system_bytes(Path::new("/")).expect("statvfs of /");
    assert!(
        total > 0 && usable >= 0 && usable <= total,
        "{total} {usable}"
    );
    assert!(file_system_bytes(Path::new("/no/such/dir/at/all")).is_none());
}

/// Several recovery threads load the same logs as one does, after an
/// unclean shutdown still validating every log past its recovery point
/// (a torn tail in one of them is cut); a log that cannot be opened fails
/// start-up with every thread stopping.
#[test]
fn recovery_threads_load_and_recover_every_log() {
    let root = tempfile::tempdir().unwrap();
    let log_dirs = dirs(root.path(), 1);
    let partitions = 40;
    {
        let mgr = LogManager::startup(&log_dirs, LogConfig::default()).unwrap();
        for p in 0..partitions {
            let log = mgr.get_or_create_log(&tp(p), LogConfig::default()).unwrap();
            for _ in 0..p % 4 {
                log.append_as_leader(&mut batch(0, 2), 0).unwrap();
            }
        }
        // "Crash": no shutdown, no checkpoint (recovery points 0).
    }
    let torn = log_dirs[0]
        .join(tp(7).to_string())
        .join(segment_file_name(off(0), LOG_SUFFIX));
    let mut data = fs::read(&torn).unwrap();
    data.extend_from_slice(&batch(6, 2)[..25]);
    fs::write(&torn, &data).unwrap();
    let mgr = LogManager::startup_with_threads(&log_dirs, LogConfig::default(), 4).unwrap();
    assert_eq!(mgr.all_logs().len(), partitions as usize);
    for p in 0..partitions {
        let log = mgr.get_log(&tp(p)).unwrap();
        assert_eq!(
            log.log_end_offset(),
            off(i64::from(p % 4) * 2),
            "partition {p}"
        );
    }
    assert_eq!(
        fs::metadata(&torn).unwrap().len(),
        3 * batch(0, 2).len() as u64,
        "the torn tail is cut"
    );
    mgr.shutdown().unwrap();
    drop(mgr);
    // A partition dir whose segment cannot be opened: start-up fails.
    let broken = log_dirs[0].join(tp(3).to_string());
    fs::remove_file(broken.join(segment_file_name(off(0), LOG_SUFFIX))).unwrap();
    fs::create_dir(broken.join(segment_file_name(off(0), LOG_SUFFIX))).unwrap();
    assert!(LogManager::startup_with_threads(&log_dirs, LogConfig::default(), 3).is_err());
}
