//! `LogManager`: every partition log in every log dir (Kafka's `LogManager`).
//! Start-up loading and recovery, placement of new logs, deletion, periodic
//! retention and flush, the per-dir checkpoints, `meta.properties`, and clean
//! shutdown (the `.kafka_cleanshutdown` marker that lets the next start skip
//! recovery), and the size of the file systems holding the dirs. Start-up
//! opens each dir's logs with `num.recovery.threads.per.data.dir` scoped
//! threads; otherwise it owns no threads: the broker calls `cleanup`,
//! `flush_due`, `flush_rolled_logs` and `checkpoint` on its schedule, on
//! blocking threads.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};

use super::checkpoint::{
    LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT, REPLICATION_OFFSET_CHECKPOINT,
    read_offsets, write_offsets,
};
use super::config::LogConfig;
use super::error::LogError;
use super::meta_properties;
use super::partition_log::{Log, sync_dir};
use super::recovery_threads::run_per_log;
use crate::model::{Offset, TopicPartition};

/// Present in a log dir after a clean shutdown; removed once the dir is loaded.
pub const CLEAN_SHUTDOWN_FILE: &str = ".kafka_cleanshutdown";
/// Held (flock) while the broker runs, so two brokers never share a dir.
pub const LOCK_FILE: &str = ".lock";
/// Suffix of a partition directory renamed for deletion.
const DELETE_DIR_SUFFIX: &str = "-delete";

#[derive(Debug)]
pub struct LogManager {
    log_dirs: Vec<PathBuf>,
    default_config: RwLock<LogConfig>,
    logs: RwLock<HashMap<TopicPartition, Arc<Log>>>,
    /// Serializes creation and deletion so a partition is never made twice.
    create_lock: Mutex<()>,
    /// `num.recovery.threads.per.data.dir`: threads per dir that load the
    /// logs at start-up and close them at shutdown.
    recovery_threads_per_data_dir: usize,
    /// Keeps each dir's `.lock` locked for the manager's lifetime.
    _dir_locks: Vec<File>,
}

fn lock_dir(dir: &Path) -> Result<File, LogError> {
    let path = dir.join(LOCK_FILE);
    let file =
        File::create(&path).map_err(|e| LogError::io(format!("create {}", path.display()), e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(fs::TryLockError::WouldBlock) => Err(LogError::DirLocked {
            path: dir.to_path_buf(),
        }),
        Err(fs::TryLockError::Error(e)) => Err(LogError::io(format!("lock {}", path.display()), e)),
    }
}

/// Reads an offset checkpoint, treating a bad file like Kafka does: warn and
/// start from nothing (a recovery point of 0 means full recovery, so this is safe).
fn read_offsets_or_empty(path: &Path) -> HashMap<TopicPartition, Offset> {
    read_offsets(path).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "ignoring unreadable checkpoint");
        HashMap::new()
    })
}

/// One partition directory found in a log dir, to be opened.
struct LogToLoad {
    path: PathBuf,
    tp: TopicPartition,
    recovery_point: Offset,
    log_start_offset: Offset,
}

/// What start-up found in one log dir: the partition logs to open, and
/// whether the last run shut down cleanly.
struct DirToLoad {
    dir: PathBuf,
    clean: bool,
    logs: Vec<LogToLoad>,
}

/// Lists one log dir: removes partition dirs left for deletion, skips what is
/// not a partition, and pairs each partition with its checkpointed recovery
/// point and log start offset. Opens nothing.
fn scan_log_dir(dir: &Path) -> Result<DirToLoad, LogError> {
    let clean = dir.join(CLEAN_SHUTDOWN_FILE).exists();
    let recovery_points = read_offsets_or_empty(&dir.join(RECOVERY_POINT_CHECKPOINT));
    let start_offsets = read_offsets_or_empty(&dir.join(LOG_START_OFFSET_CHECKPOINT));
    let list_err = |e| LogError::io(format!("list log dir {}", dir.display()), e);
    let mut logs = Vec::new();
    for entry in fs::read_dir(dir).map_err(list_err)? {
        let entry = entry.map_err(list_err)?;
        if !entry.file_type().map_err(list_err)?.is_dir() {
            continue;
        }
        let path = entry.path();
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if name.ends_with(DELETE_DIR_SUFFIX) {
            tracing::info!(dir = %path.display(), "removing partition dir left for deletion");
            fs::remove_dir_all(&path)
                .map_err(|e| LogError::io(format!("remove {}", path.display()), e))?;
            continue;
        }
        if name.ends_with(".tmp") || name.ends_with("-future") || name.ends_with("-stray") {
            tracing::warn!(dir = %path.display(), "ignoring partition dir");
            continue;
        }
        let Some(tp) = TopicPartition::parse_dir_name(&name) else {
            tracing::warn!(dir = %path.display(), "ignoring directory that is not topic-partition");
            continue;
        };
        logs.push(LogToLoad {
            recovery_point: recovery_points.get(&tp).copied().unwrap_or(Offset::ZERO),
            log_start_offset: start_offsets.get(&tp).copied().unwrap_or(Offset::ZERO),
            path,
            tp,
        });
    }
    Ok(DirToLoad {
        dir: dir.to_path_buf(),
        clean,
        logs,
    })
}

/// Opens (and after an unclean shutdown recovers) every log of `to_load`
/// with `threads` threads (Kafka's `num.recovery.threads.per.data.dir`).
fn open_logs(
    to_load: &DirToLoad,
    config: LogConfig,
    threads: usize,
) -> Result<Vec<(TopicPartition, Log)>, LogError> {
    run_per_log(&to_load.logs, threads, |job| {
        let log = Log::open(
            &job.path,
            job.tp.clone(),
            config,
            job.recovery_point,
            job.log_start_offset,
            to_load.clean,
        )?;
        Ok((job.tp.clone(), log))
    })
}

/// Loads every partition directory of one log dir into `logs` with
/// `threads` threads, then removes the dir's clean-shutdown marker.
fn load_dir(
    dir: &Path,
    config: LogConfig,
    threads: usize,
    logs: &mut HashMap<TopicPartition, Arc<Log>>,
) -> Result<(), LogError> {
    let to_load = scan_log_dir(dir)?;
    for (tp, log) in open_logs(&to_load, config, threads)? {
        if let Some(existing) = logs.get(&tp) {
            return Err(LogError::DuplicateLog {
                tp,
                first: existing.dir().to_path_buf(),
                second: log.dir().to_path_buf(),
            });
        }
        logs.insert(tp, Arc::new(log));
    }
    if to_load.clean {
        let marker = to_load.dir.join(CLEAN_SHUTDOWN_FILE);
        fs::remove_file(&marker)
            .map_err(|e| LogError::io(format!("remove {}", marker.display()), e))?;
        sync_dir(dir)?;
    }
    Ok(())
}

fn check_topic_name(topic: &str) -> Result<(), LogError> {
    let bad =
        topic.is_empty() || topic == "." || topic == ".." || topic.contains(['/', '\\', '\0']);
    if bad {
        return Err(LogError::InvalidTopicName {
            topic: topic.to_string(),
        });
    }
    Ok(())
}

impl LogManager {
    /// Creates and locks the log dirs and loads every partition log in them,
    /// recovering logs of dirs without a clean-shutdown marker, one log at a
    /// time (`startup_with_threads` with 1 thread).
    pub fn startup(
        log_dirs: &[PathBuf],
        default_config: LogConfig,
    ) -> Result<LogManager, LogError> {
        Self::startup_with_threads(log_dirs, default_config, 1)
    }

    /// `startup` with `recovery_threads_per_data_dir` threads opening each
    /// dir's logs (Kafka's `num.recovery.threads.per.data.dir`; at least 1).
    /// Blocking disk work: call it off the async workers.
    pub fn startup_with_threads(
        log_dirs: &[PathBuf],
        default_config: LogConfig,
        recovery_threads_per_data_dir: usize,
    ) -> Result<LogManager, LogError> {
        default_config.validate()?;
        let started = std::time::Instant::now();
        let mut locks = Vec::with_capacity(log_dirs.len());
        let mut logs = HashMap::new();
        for dir in log_dirs {
            fs::create_dir_all(dir)
                .map_err(|e| LogError::io(format!("create log dir {}", dir.display()), e))?;
            locks.push(lock_dir(dir)?);
            load_dir(
                dir,
                default_config,
                recovery_threads_per_data_dir,
                &mut logs,
            )?;
        }
        tracing::info!(
            logs = logs.len(),
            dirs = log_dirs.len(),
            threads_per_dir = recovery_threads_per_data_dir.max(1),
            took_ms = started.elapsed().as_millis() as u64,
            "log manager started"
        );
        Ok(LogManager {
            log_dirs: log_dirs.to_vec(),
            default_config: RwLock::new(default_config),
            logs: RwLock::new(logs),
            create_lock: Mutex::new(()),
            recovery_threads_per_data_dir: recovery_threads_per_data_dir.max(1),
            _dir_locks: locks,
        })
    }

    pub fn log_dirs(&self) -> &[PathBuf] {
        &self.log_dirs
    }

    pub fn default_config(&self) -> LogConfig {
        *self.default_config.read()
    }

    pub fn set_default_config(&self, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        *self.default_config.write() = config;
        Ok(())
    }

    pub fn get_log(&self, tp: &TopicPartition) -> Option<Arc<Log>> {
        self.logs.read().get(tp).cloned()
    }

    /// The existing log, or a new empty one in the log dir holding the fewest
    /// partitions (ties: the first listed).
    pub fn get_or_create_log(
        &self,
        tp: &TopicPartition,
        config: LogConfig,
    ) -> Result<Arc<Log>, LogError> {
        if let Some(log) = self.get_log(tp) {
            return Ok(log);
        }
        check_topic_name(&tp.topic)?;
        let _create = self.create_lock.lock();
        if let Some(log) = self.get_log(tp) {
            return Ok(log);
        }
        let dir = {
            let logs = self.logs.read();
            let count = |d: &Path| {
                logs.values()
                    .filter(|l| l.dir().parent() == Some(d))
                    .count()
            };
            self.log_dirs
                .iter()
                .min_by_key(|d| count(d))
                .expect("at least one log dir")
                .clone()
        };
        let log = Arc::new(Log::open(
            &dir.join(tp.to_string()),
            tp.clone(),
            config,
            Offset::ZERO,
            Offset::ZERO,
            true,
        )?);
        sync_dir(&dir)?;
        self.logs.write().insert(tp.clone(), Arc::clone(&log));
        tracing::info!(tp = %tp, dir = %dir.display(), "created log");
        Ok(log)
    }

    /// Removes a partition's log: it stops taking writes, its directory is
    /// renamed to `<topic>-<partition>.<id>-delete` and then removed. A missing
    /// log is not an error.
    pub fn delete_log(&self, tp: &TopicPartition) -> Result<(), LogError> {
        let _create = self.create_lock.lock();
        let Some(log) = self.logs.write().remove(tp) else {
            return Ok(());
        };
        log.mark_deleted();
        let dir = log.dir();
        let parent = dir.parent().unwrap_or(Path::new("."));
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let doomed = parent.join(format!("{tp}.{unique:x}{DELETE_DIR_SUFFIX}"));
        fs::rename(dir, &doomed)
            .map_err(|e| LogError::io(format!("rename {} for deletion", dir.display()), e))?;
        sync_dir(parent)?;
        fs::remove_dir_all(&doomed)
            .map_err(|e| LogError::io(format!("remove {}", doomed.display()), e))?;
        tracing::info!(tp = %tp, "deleted log");
        Ok(())
    }

    pub fn all_logs(&self) -> Vec<(TopicPartition, Arc<Log>)> {
        self.logs
            .read()
            .iter()
            .map(|(tp, log)| (tp.clone(), Arc::clone(log)))
            .collect()
    }

    /// Writes `recovery-point-offset-checkpoint` and `log-start-offset-checkpoint`
    /// in every log dir for the logs it holds.
    pub fn checkpoint(&self) -> Result<(), LogError> {
        // One writer at a time: the periodic checkpoint and DeleteRecords
        // (replica/delete_records.rs) share the files' temporary copies.
        static WRITING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
        let _writing = WRITING.lock();
        let logs = self.all_logs();
        for dir in &self.log_dirs {
            let mut recovery_points = HashMap::new();
            let mut start_offsets = HashMap::new();
            for (tp, log) in logs.iter().filter(|(_, l)| l.dir().parent() == Some(dir)) {
                recovery_points.insert(tp.clone(), log.recovery_point());
                start_offsets.insert(tp.clone(), log.log_start_offset());
            }
            write_offsets(&dir.join(RECOVERY_POINT_CHECKPOINT), &recovery_points)?;
            write_offsets(&dir.join(LOG_START_OFFSET_CHECKPOINT), &start_offsets)?;
        }
        Ok(())
    }

    /// Runs retention over every log; returns the segments deleted. Failures
    /// are logged and the other logs still run. `high_watermark` gives each
    /// log's upper bound (Kafka's: the leader's high watermark, a follower's
    /// own); a log without one (not hosted yet) is left alone.
    pub fn cleanup(
        &self,
        now_ms: i64,
        high_watermark: impl Fn(&TopicPartition) -> Option<Offset>,
    ) -> usize {
        let mut deleted = 0;
        for (tp, log) in self.all_logs() {
            let Some(bound) = high_watermark(&tp) else {
                continue;
            };
            match log.delete_old_segments(now_ms, bound) {
                Ok(n) => deleted += n,
                Err(e) => tracing::warn!(tp = %tp, error = %e, "retention failed"),
            }
        }
        deleted
    }

    /// Whether any log rolled since its last flush on roll.
    pub fn has_rolled_logs(&self) -> bool {
        self.logs.read().values().any(|l| l.roll_flush_pending())
    }

    /// Kafka's flush on roll over every log that rolled: fsyncs the segments
    /// it closed and moves its recovery point to the new segment's base.
    /// Blocking; returns how many logs were flushed. Failures are logged.
    pub fn flush_rolled_logs(&self) -> usize {
        let rolled: Vec<Arc<Log>> = self
            .logs
            .read()
            .values()
            .filter(|l| l.roll_flush_pending())
            .cloned()
            .collect();
        let mut flushed = 0;
        for log in rolled {
            match log.flush_rolled_segments() {
                Ok(true) => flushed += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(tp = %log.topic_partition(), error = %e, "flush on roll failed")
                }
            }
        }
        flushed
    }

    /// Flushes every log whose `flush.ms` has passed.
    pub fn flush_due(&self, now_ms: i64) {
        for (tp, log) in self.all_logs() {
            if let Err(e) = log.flush_if_due(now_ms) {
                tracing::warn!(tp = %tp, error = %e, "scheduled flush failed");
            }
        }
    }

    /// Flushes and closes every log (`num.recovery.threads.per.data.dir`
    /// threads per dir, as Kafka), writes the checkpoints, and marks each
    /// dir cleanly shut down. Without a marker (any failure) the next start
    /// recovers from the checkpointed recovery points.
    pub fn shutdown(&self) -> Result<(), LogError> {
        let logs = self.all_logs();
        // Every log is closed even when one fails; the first failure is kept.
        let closed = run_per_log(
            &logs,
            self.recovery_threads_per_data_dir * self.log_dirs.len(),
            |(tp, log)| {
                Ok(log
                    .close()
                    .inspect_err(|e| tracing::error!(tp = %tp, error = %e, "closing log failed")))
            },
        )?;
        if let Some(e) = closed.into_iter().find_map(Result::err) {
            return Err(e);
        }
        self.checkpoint()?;
        for dir in &self.log_dirs {
            let marker = dir.join(CLEAN_SHUTDOWN_FILE);
            File::create(&marker)
                .and_then(|f| f.sync_all())
                .map_err(|e| LogError::io(format!("write {}", marker.display()), e))?;
            sync_dir(dir)?;
        }
        tracing::info!("log manager shut down cleanly");
        Ok(())
    }

    /// Reads `replication-offset-checkpoint` (the high watermarks) from every
    /// log dir; a dir without the file contributes nothing.
    pub fn read_replication_checkpoints(
        &self,
    ) -> Result<HashMap<TopicPartition, Offset>, LogError> {
        let mut high_watermarks = HashMap::new();
        for dir in &self.log_dirs {
            high_watermarks.extend(read_offsets(&dir.join(REPLICATION_OFFSET_CHECKPOINT))?);
        }
        Ok(high_watermarks)
    }

    /// Writes `replication-offset-checkpoint` in every log dir for the
    /// partitions whose log lives there: `high_watermarks` (the hosted
    /// partitions), merged with the previous file's entries for logs of the
    /// dir that are not hosted (yet), so a partition keeps its high watermark
    /// until its LeaderAndIsr arrives. Entries of logs no longer in the dir
    /// are dropped; a dir with nothing to write is not touched (Kafka writes
    /// nothing for a dir without online partitions).
    pub fn write_replication_checkpoints(
        &self,
        high_watermarks: &[(TopicPartition, Offset)],
    ) -> Result<(), LogError> {
        // One writer at a time: the periodic checkpoint and shutdown share
        // the file's temporary copy.
        static WRITING: parking_lot::Mutex<()> = parking_lot::Mutex::new(());
        let _writing = WRITING.lock();
        let in_dir_of = |dir: &Path| -> HashMap<TopicPartition, Offset> {
            let logs = self.logs.read();
            let here =
                |tp: &TopicPartition| logs.get(tp).is_some_and(|l| l.dir().parent() == Some(dir));
            let mut entries: HashMap<TopicPartition, Offset> =
                read_offsets_or_empty(&dir.join(REPLICATION_OFFSET_CHECKPOINT))
                    .into_iter()
                    .filter(|(tp, _)| here(tp))
                    .collect();
            entries.extend(high_watermarks.iter().filter(|(tp, _)| here(tp)).cloned());
            entries
        };
        for dir in &self.log_dirs {
            let entries = in_dir_of(dir);
            if entries.is_empty() {
                continue;
            }
            write_offsets(&dir.join(REPLICATION_OFFSET_CHECKPOINT), &entries)?;
        }
        Ok(())
    }

    /// (total, usable) bytes of the file system holding log dir `dir`, as
    /// Java's `FileStore.getTotalSpace` / `getUsableSpace` report them
    /// (DescribeLogDirs v4); `None` when statvfs fails.
    pub fn file_system_bytes(&self, dir: &Path) -> Option<(i64, i64)> {
        file_system_bytes(dir)
    }

    /// Checks (or writes) `meta.properties` in every log dir; fails when a dir
    /// belongs to another broker.id or cluster.id.
    pub fn read_or_write_meta_properties(
        &self,
        broker_id: i32,
        cluster_id: &str,
    ) -> Result<(), LogError> {
        meta_properties::check_or_write(&self.log_dirs, broker_id, cluster_id)
    }
}

/// statvfs of `dir`: (total, usable) bytes.
#[allow(unsafe_code)] // statvfs(2) through libc: the one call that reads a file system's size
fn file_system_bytes(dir: &Path) -> Option<(i64, i64)> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is a valid NUL-terminated string and `stat` points to
    // writable memory of the right type; statvfs fills it on success.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    let block = stat.f_frsize as i64;
    Some((
        (stat.f_blocks as i64).saturating_mul(block),
        (stat.f_bavail as i64).saturating_mul(block),
    ))
}

#[cfg(test)]
#[path = "manager_tests.rs"]
mod tests;
