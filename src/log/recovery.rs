//! Opening a partition's log from its directory (Kafka's `LogLoader`): remove
//! leftovers, open every segment, rebuild missing or corrupt indexes, and
//! after an unclean shutdown recover every segment from the recovery point on
//! (validate each batch, cut a torn or corrupt tail, drop later segments).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64};

use parking_lot::{Mutex, RwLock};

use super::atomic_offset::AtomicOffset;
use super::config::LogConfig;
use super::error::LogError;
use super::partition_log::Log;
use super::segment::{LogSegment, system_now_ms};
use super::segment_files::{
    INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, parse_segment_file_name, remove_if_exists,
};
use crate::model::{Offset, TopicPartition};

/// Suffixes of files Kafka leaves behind mid-operation; none are needed after a restart.
const LEFTOVER_SUFFIXES: [&str; 3] = [".deleted", ".cleaned", ".tmp"];
/// A compaction swap file. `cleaner_swap::complete_swaps` has finished every
/// swap before the scan, so one seen here is not a segment file: left alone.
const SWAP_SUFFIX: &str = ".swap";

/// Segment base offsets with a `.log` file; removes leftovers and orphan indexes.
fn scan_dir(dir: &Path) -> Result<Vec<Offset>, LogError> {
    let ctx = |what: &str| format!("{what} {}", dir.display());
    let mut logs = BTreeSet::new();
    let mut indexes = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| LogError::io(ctx("list"), e))? {
        let entry = entry.map_err(|e| LogError::io(ctx("list"), e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if LEFTOVER_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            tracing::warn!(file = %path.display(), "removing leftover file");
            remove_if_exists(&path).map_err(|e| LogError::io(ctx("remove leftover in"), e))?;
            continue;
        }
        if name.ends_with(SWAP_SUFFIX) {
            tracing::warn!(file = %path.display(), "ignoring compaction swap file");
            continue;
        }
        match parse_segment_file_name(name) {
            Some((base, LOG_SUFFIX)) => {
                logs.insert(base);
            }
            Some((base, INDEX_SUFFIX | TIME_INDEX_SUFFIX)) => indexes.push((base, path)),
            _ => {}
        }
    }
    for (base, path) in indexes {
        if !logs.contains(&base) {
            tracing::warn!(file = %path.display(), "removing index without a log segment");
            remove_if_exists(&path).map_err(|e| LogError::io(ctx("remove orphan in"), e))?;
        }
    }
    Ok(logs.into_iter().collect())
}

impl Log {
    /// Opens the log in partition directory `dir`, creating it if needed.
    /// `recovery_point` and `log_start_offset` come from the log dir's
    /// checkpoints (0 when absent). Without a clean shutdown, every segment
    /// from the one holding the recovery point on is validated batch by batch
    /// and a bad tail is cut; with one, files are trusted but missing or
    /// corrupt indexes are still rebuilt.
    pub fn open(
        dir: &Path,
        tp: TopicPartition,
        config: LogConfig,
        recovery_point: Offset,
        log_start_offset: Offset,
        had_clean_shutdown: bool,
    ) -> Result<Log, LogError> {
        config.validate()?;
        fs::create_dir_all(dir)
            .map_err(|e| LogError::io(format!("create log dir {}", dir.display()), e))?;
        super::cleaner_swap::complete_swaps(dir)?;
        let bases = scan_dir(dir)?;
        let mut segments: Vec<Arc<LogSegment>> = Vec::with_capacity(bases.len());
        // Per segment: truncated bytes when its indexes had to be rebuilt.
        let mut rebuilt: Vec<Option<u64>> = Vec::with_capacity(bases.len());
        for base in bases {
            let (segment, needs_rebuild) =
                LogSegment::open(dir, base, config.max_index_size_bytes)?;
            rebuilt.push(if needs_rebuild {
                tracing::info!(tp = %tp, base_offset = %base, "rebuilding segment indexes");
                Some(segment.recover(config.index_interval_bytes)?)
            } else {
                None
            });
            segments.push(Arc::new(segment));
        }
        if segments.is_empty() {
            let base = log_start_offset.max(Offset::ZERO);
            segments.push(Arc::new(LogSegment::create(
                dir,
                base,
                config.max_index_size_bytes,
                system_now_ms(),
            )?));
            rebuilt.push(None);
        }
        if !had_clean_shutdown {
            recover_from(&tp, &mut segments, &rebuilt, recovery_point, &config)?;
        }
        let (active, older) = segments.split_last().expect("at least one segment");
        for segment in older {
            segment.on_become_inactive()?;
        }
        active.resize_indexes(config.max_index_size_bytes)?;
        let log_end = active.next_offset();
        let first_base = segments[0].base_offset();
        let log_start = log_start_offset.max(first_base).min(log_end);
        let recovery_point = if had_clean_shutdown {
            log_end
        } else {
            recovery_point.min(log_end)
        };
        tracing::info!(
            tp = %tp, %log_start, %log_end, segments = segments.len(), had_clean_shutdown,
            "loaded log"
        );
        let map: BTreeMap<Offset, Arc<LogSegment>> =
            segments.into_iter().map(|s| (s.base_offset(), s)).collect();
        Ok(Log {
            dir: dir.to_path_buf(),
            tp,
            config: RwLock::new(config),
            segments: RwLock::new(map),
            append_lock: Mutex::new(()),
            flush_lock: Mutex::new(()),
            log_end_offset: AtomicOffset::new(log_end),
            log_start_offset: AtomicOffset::new(log_start),
            recovery_point: AtomicOffset::new(recovery_point),
            roll_flush_offset: AtomicOffset::new(recovery_point),
            last_flush_ms: AtomicI64::new(system_now_ms()),
            closed: AtomicBool::new(false),
        })
    }
}

/// Validates the segments that may hold unflushed data — the one containing
/// `recovery_point` and all later ones — cutting at the first bad batch and
/// deleting every segment after a cut (their offsets would leave a hole).
fn recover_from(
    tp: &TopicPartition,
    segments: &mut Vec<Arc<LogSegment>>,
    rebuilt: &[Option<u64>],
    recovery_point: Offset,
    config: &LogConfig,
) -> Result<(), LogError> {
    let first = segments
        .iter()
        .rposition(|s| s.base_offset() <= recovery_point)
        .unwrap_or(0);
    for i in first..segments.len() {
        tracing::info!(
            tp = %tp, base_offset = %segments[i].base_offset(), %recovery_point,
            "recovering unflushed segment"
        );
        let truncated = match rebuilt[i] {
            Some(bytes) => bytes,
            None => segments[i].recover(config.index_interval_bytes)?,
        };
        if truncated > 0 && i + 1 < segments.len() {
            for later in segments.drain(i + 1..) {
                tracing::warn!(
                    tp = %tp, base_offset = %later.base_offset(),
                    "deleting segment after a corrupt one"
                );
                later.delete()?;
            }
            break;
        }
    }
    Ok(())
}
