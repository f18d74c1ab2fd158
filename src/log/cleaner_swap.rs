//! Replacing segments with their cleaned copy, crash-safely (Kafka's
//! `replaceSegments` and the swap handling of its log loader). A cleaned
//! segment is first written complete, with its indexes, in the partition's
//! `.cleaner/` work directory. Under the log's append lock its three files are
//! then renamed into the partition directory as `<base>.index.swap`,
//! `<base>.timeindex.swap` and last `<base>.log.swap` (the commit point), the
//! replaced segments are deleted, the `.swap` suffixes are dropped, and the
//! segment map is switched in one write. Readers holding an old segment keep
//! reading its unlinked file, so a fetch never sees a half-written state.
//!
//! After a crash, `complete_swaps` (run before a log is loaded) removes the
//! work directory and any index `.swap` without its `.log.swap` (the commit
//! never happened), and for every `<base>.log.swap` deletes the segments whose
//! base offsets fall in the swap's offset range and drops the suffixes.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::batch_reader::{BatchHeaders, HEADER_WALK_CHUNK_BYTES};
use super::error::LogError;
use super::partition_log::{Log, sync_dir};
use super::segment::LogSegment;
use super::segment_files::{
    INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, parse_segment_file_name, remove_if_exists,
    segment_file_name,
};
use crate::model::Offset;

/// The partition's work directory for segments being cleaned.
pub const CLEANER_WORK_DIR: &str = ".cleaner";
/// Kafka's suffix for a cleaned segment that is being swapped in.
pub const SWAP_SUFFIX: &str = ".swap";

const SUFFIXES: [&str; 3] = [INDEX_SUFFIX, TIME_INDEX_SUFFIX, LOG_SUFFIX];

fn io_err(what: &str, path: &Path) -> impl FnOnce(io::Error) -> LogError {
    let context = format!("{what} {}", path.display());
    move |e| LogError::io(context, e)
}

/// The work directory of partition directory `dir`, created empty.
pub fn fresh_work_dir(dir: &Path) -> Result<PathBuf, LogError> {
    let work = dir.join(CLEANER_WORK_DIR);
    if work.exists() {
        fs::remove_dir_all(&work).map_err(io_err("remove", &work))?;
    }
    fs::create_dir_all(&work).map_err(io_err("create", &work))?;
    Ok(work)
}

/// Why a swap did not happen; the log is unchanged in every case.
#[derive(Debug, PartialEq, Eq)]
pub enum SwapOutcome {
    Swapped,
    /// The log was closed, or the old segments changed (retention,
    /// truncation) while they were being cleaned.
    Aborted,
}

impl Log {
    /// Replaces `old` (consecutive non-active segments, oldest first, each
    /// expected at `old_sizes`) with `cleaned`, a finished segment in the work
    /// directory whose base offset is `old[0]`'s.
    pub(super) fn replace_segments(
        &self,
        cleaned: LogSegment,
        old: &[Arc<LogSegment>],
        old_sizes: &[u64],
    ) -> Result<SwapOutcome, LogError> {
        let base = cleaned.base_offset();
        let work_dir = cleaned
            .log_path()
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        debug_assert_eq!(Some(base), old.first().map(|s| s.base_offset()));
        let config = self.config();
        drop(cleaned);
        let _append = self.append_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(SwapOutcome::Aborted);
        }
        {
            let segments = self.segments.read();
            let active_base = segments.last_key_value().map(|(k, _)| *k);
            let unchanged = old.iter().zip(old_sizes).all(|(s, &size)| {
                segments
                    .get(&s.base_offset())
                    .is_some_and(|cur| Arc::ptr_eq(cur, s))
                    && Some(s.base_offset()) != active_base
                    && s.size_bytes() == size
            });
            if !unchanged {
                return Ok(SwapOutcome::Aborted);
            }
        }
        // Commit: the three files become .swap, the log last.
        for suffix in SUFFIXES {
            let from = work_dir.join(segment_file_name(base, suffix));
            let to = swap_path(&self.dir, base, suffix);
            fs::rename(&from, &to).map_err(io_err("rename", &from))?;
        }
        sync_dir(&self.dir)?;
        for segment in old {
            segment.delete()?;
        }
        for suffix in SUFFIXES {
            let from = swap_path(&self.dir, base, suffix);
            let to = self.dir.join(segment_file_name(base, suffix));
            fs::rename(&from, &to).map_err(io_err("rename", &from))?;
        }
        sync_dir(&self.dir)?;
        let (segment, needs_rebuild) =
            LogSegment::open(&self.dir, base, config.max_index_size_bytes)?;
        if needs_rebuild {
            segment.recover(config.index_interval_bytes)?;
        }
        segment.on_become_inactive()?;
        let mut segments = self.segments.write();
        for s in old {
            segments.remove(&s.base_offset());
        }
        segments.insert(base, Arc::new(segment));
        Ok(SwapOutcome::Swapped)
    }
}

fn swap_path(dir: &Path, base: Offset, suffix: &str) -> PathBuf {
    dir.join(format!("{}{SWAP_SUFFIX}", segment_file_name(base, suffix)))
}

/// One past the last offset stored in the segment file at `path`, or `base`
/// when it holds no complete batch.
fn next_offset_of(path: &Path, base: Offset) -> Result<Offset, LogError> {
    let file = fs::File::open(path).map_err(io_err("open", path))?;
    let len = file.metadata().map_err(io_err("stat", path))?.len();
    let mut next = base;
    for batch in BatchHeaders::new(&file, 0, len, HEADER_WALK_CHUNK_BYTES) {
        match batch {
            Ok(b) => next = next.max(b.last_offset().next()),
            Err(_) => break,
        }
    }
    Ok(next)
}

/// Finishes or undoes cleaner work interrupted by a crash in partition
/// directory `dir` (see the module doc). Returns how many swaps completed.
pub fn complete_swaps(dir: &Path) -> Result<usize, LogError> {
    let work = dir.join(CLEANER_WORK_DIR);
    if work.exists() {
        tracing::warn!(dir = %work.display(), "removing unfinished cleaner work");
        fs::remove_dir_all(&work).map_err(io_err("remove", &work))?;
    }
    let mut log_swaps = Vec::new();
    let mut index_swaps = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let entry = entry.map_err(io_err("list", dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(stem) = name.strip_suffix(SWAP_SUFFIX) else {
            continue;
        };
        match parse_segment_file_name(stem) {
            Some((base, LOG_SUFFIX)) => log_swaps.push(base),
            Some((base, suffix)) => index_swaps.push((base, suffix.to_string())),
            None => {}
        }
    }
    for (base, suffix) in &index_swaps {
        if !log_swaps.contains(base) {
            let path = swap_path(dir, *base, suffix);
            tracing::warn!(file = %path.display(), "removing uncommitted swap file");
            remove_if_exists(&path).map_err(io_err("remove", &path))?;
        }
    }
    log_swaps.sort_unstable();
    for &base in &log_swaps {
        let swap = swap_path(dir, base, LOG_SUFFIX);
        let end = next_offset_of(&swap, base)?.max(base.next());
        // Delete every segment the swap replaces, including the old one at `base`.
        for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
            let entry = entry.map_err(io_err("list", dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if let Some((b, suffix)) = parse_segment_file_name(name)
                && (base..end).contains(&b)
                && SUFFIXES.contains(&suffix)
            {
                let path = entry.path();
                remove_if_exists(&path).map_err(io_err("remove", &path))?;
            }
        }
        for suffix in SUFFIXES {
            let from = swap_path(dir, base, suffix);
            if from.exists() {
                let to = dir.join(segment_file_name(base, suffix));
                fs::rename(&from, &to).map_err(io_err("rename", &from))?;
            }
        }
        tracing::warn!(dir = %dir.display(), base_offset = %base, "completed interrupted segment swap");
    }
    if !log_swaps.is_empty() || !index_swaps.is_empty() {
        sync_dir(dir)?;
    }
    Ok(log_swaps.len())
}
