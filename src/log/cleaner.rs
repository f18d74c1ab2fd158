//! Cleaning one compacted log (Kafka's `Cleaner`): build a key -> latest
//! offset map from the dirty section (from the cleaner checkpoint up to the
//! first uncleanable offset: never the active segment, never at or past the
//! high watermark, never a segment younger than `min.compaction.lag.ms`),
//! then rewrite every segment below the map's end, in groups that fit
//! `segment.bytes`, keeping only records that are the latest for their key.
//!
//! Records keep their offsets; a changed batch keeps its base offset, last
//! offset delta and producer fields and is recompressed with its codec
//! (`cleaner_records`). A batch that empties is dropped, except the last
//! batch of an idempotent producer, which stays as an empty header as in
//! Kafka (`BatchRetention.RETAIN_EMPTY`), so the producer's last sequence
//! survives. Control and transactional batches are kept untouched, as are
//! batches whose codec cannot be decoded (with a warning). Keyless records
//! are dropped, as Kafka does.
//!
//! Tombstones (null values) are kept while the segment holding them is dirty
//! and for `delete.retention.ms` after it was cleaned. A cleaned segment's
//! modification time records when it was first cleaned (a group holding
//! already-clean segments keeps the newest of their times), so the window
//! survives restarts. Picking logs, checkpoints and the schedule live in
//! `cleaner_manager.rs`; the file swap in `cleaner_swap.rs`.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use thiserror::Error;

use super::batch::{BatchHeader, HEADER_SIZE, MIN_BATCH_LENGTH, validate_batches};
use super::batch_reader::{BatchHeaders, ChunkReader, HEADER_WALK_CHUNK_BYTES, SCAN_CHUNK_BYTES};
use super::cleaner_offset_map::OffsetMap;
use super::cleaner_records::{DecodedBatch, RawRecord, decode_batch, rebuild_batch};
use super::cleaner_swap::{SwapOutcome, fresh_work_dir};
use super::error::LogError;
use super::partition_log::Log;
use super::segment::LogSegment;
use crate::model::{Offset, TopicPartition};

/// Bytes buffered before the cleaned output is appended to the new segment.
const WRITE_CHUNK_BYTES: usize = 1024 * 1024;

#[derive(Debug, Error)]
pub enum CleanerError {
    #[error(transparent)]
    Log(#[from] LogError),
    #[error("segment {path}: corrupt batch at byte {position}")]
    Corrupt { path: PathBuf, position: u64 },
    #[error("offset map of {max_entries} entries cannot hold the {records} records of one batch")]
    MapTooSmall { max_entries: usize, records: usize },
}

fn io_err(what: &str, path: &std::path::Path) -> impl FnOnce(io::Error) -> CleanerError {
    let context = format!("{what} {}", path.display());
    move |e| CleanerError::Log(LogError::io(context, e))
}

/// What one cleaning pass over a log did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CleanStats {
    /// The new first dirty offset (the cleaner checkpoint).
    pub end_offset: Offset,
    pub segments_replaced: usize,
    pub bytes_read: u64,
    pub bytes_written: u64,
    pub records_read: u64,
    pub records_kept: u64,
    /// Segment swaps skipped because the log changed meanwhile.
    pub swaps_aborted: usize,
    /// When the earliest kept tombstone may go (`None`: none kept).
    pub tombstone_expiry_ms: Option<i64>,
    /// Base offsets of the old segments the swaps merged away (every one
    /// of a group but the first), whose producer snapshots must go.
    pub removed_segment_bases: Vec<Offset>,
}

/// The offsets bounding one pass: `[first_dirty, first_uncleanable)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanRange {
    pub first_dirty: Offset,
    pub first_uncleanable: Offset,
}

/// The segment file's modification time in ms (0 when unknown).
pub fn last_modified_ms(segment: &LogSegment) -> i64 {
    std::fs::metadata(segment.log_path())
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

/// Calls `f(bytes, header)` for every whole batch of `segment`'s committed
/// data, in order, until it returns `false`.
fn for_each_batch(
    segment: &LogSegment,
    mut f: impl FnMut(&[u8], &BatchHeader) -> Result<bool, CleanerError>,
) -> Result<(), CleanerError> {
    let path = segment.log_path();
    let file = File::open(path).map_err(io_err("open", path))?;
    let end = segment.size_bytes();
    let mut reader = ChunkReader::new(&file, end, SCAN_CHUNK_BYTES);
    let mut pos = 0u64;
    loop {
        let Some(head) = reader.get(pos, HEADER_SIZE).map_err(io_err("read", path))? else {
            return Ok(());
        };
        let header = BatchHeader::parse(head).expect("a full header");
        if header.batch_length < MIN_BATCH_LENGTH {
            return Err(CleanerError::Corrupt {
                path: path.to_path_buf(),
                position: pos,
            });
        }
        let size = header.size_bytes();
        let Some(bytes) = reader.get(pos, size).map_err(io_err("read", path))? else {
            return Ok(());
        };
        if !f(bytes, &header)? {
            return Ok(());
        }
        pos += size as u64;
    }
}

/// Whether the cleaner looks inside a batch at all.
fn is_compactable(header: &BatchHeader) -> bool {
    !header.is_control() && !header.is_transactional()
}

/// Decodes a batch, warning (once per batch) when it cannot be.
fn try_decode(tp: &TopicPartition, bytes: &[u8]) -> Option<DecodedBatch> {
    match decode_batch(bytes) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!(tp = %tp, error = %e, "cleaner keeps a batch it cannot decode");
            None
        }
    }
}

/// Fills `map` from the dirty segments, batch by batch, stopping before a
/// batch that would not fit. Returns the bytes read.
fn build_offset_map(
    tp: &TopicPartition,
    dirty: &[Arc<LogSegment>],
    first_dirty: Offset,
    map: &mut OffsetMap,
) -> Result<u64, CleanerError> {
    let mut bytes_read = 0;
    let mut full = false;
    for segment in dirty {
        for_each_batch(segment, |bytes, header| {
            if header.last_offset() < first_dirty {
                return Ok(true);
            }
            let records = header.record_count.max(0) as usize;
            if !map.has_room_for(records) {
                if map.is_empty() {
                    return Err(CleanerError::MapTooSmall {
                        max_entries: map.max_entries(),
                        records,
                    });
                }
                full = true;
                return Ok(false);
            }
            bytes_read += bytes.len() as u64;
            if is_compactable(header)
                && let Some(decoded) = try_decode(tp, bytes)
            {
                for r in &decoded.entries {
                    if r.offset >= first_dirty
                        && let Some(key) = decoded.key(r)
                    {
                        map.put(key, r.offset);
                    }
                }
            }
            map.update_latest_offset(header.last_offset());
            Ok(true)
        })?;
        if full {
            break;
        }
    }
    Ok(bytes_read)
}

/// The last offset of each producer's newest batch in the whole log (a
/// header-only walk).
fn last_batch_of_producers(
    segments: &[Arc<LogSegment>],
) -> Result<HashMap<i64, Offset>, CleanerError> {
    let mut last = HashMap::new();
    for segment in segments {
        let path = segment.log_path();
        let file = File::open(path).map_err(io_err("open", path))?;
        for b in BatchHeaders::new(&file, 0, segment.size_bytes(), HEADER_WALK_CHUNK_BYTES) {
            let b = b.map_err(io_err("read", path))?;
            if b.header.producer_id >= 0 {
                last.insert(b.header.producer_id, b.last_offset());
            }
        }
    }
    Ok(last)
}

/// Groups consecutive segments so each group's data fits `max_bytes` and its
/// offsets fit one segment (Kafka's `groupSegmentsBySize`); `next_bases[i]`
/// bounds segment `i`'s offsets.
pub fn group_segments_by_size(
    segments: &[Arc<LogSegment>],
    next_bases: &[Offset],
    max_bytes: u64,
) -> Vec<std::ops::Range<usize>> {
    let mut groups = Vec::new();
    let mut start = 0;
    while start < segments.len() {
        let base = segments[start].base_offset();
        let mut size = segments[start].size_bytes();
        let mut end = start + 1;
        while end < segments.len()
            && size + segments[end].size_bytes() <= max_bytes
            && next_bases[end] - 1 - base <= i64::from(i32::MAX)
        {
            size += segments[end].size_bytes();
            end += 1;
        }
        groups.push(start..end);
        start = end;
    }
    groups
}

/// Per-pass inputs shared by every group.
struct Pass<'a> {
    tp: &'a TopicPartition,
    map: &'a OffsetMap,
    end_offset: Offset,
    first_dirty: Offset,
    delete_retention_ms: i64,
    producers_last: &'a HashMap<i64, Offset>,
    now_ms: i64,
}

impl Pass<'_> {
    fn keep_record(&self, decoded: &DecodedBatch, r: &RawRecord, retain_deletes: bool) -> bool {
        if r.offset >= self.end_offset {
            return true;
        }
        let Some(key) = decoded.key(r) else {
            return false;
        };
        let redundant = self.map.get(key).is_some_and(|latest| r.offset < latest);
        !redundant && (r.has_value || retain_deletes)
    }

    /// The bytes to write for one stored batch, or `None` to drop it.
    fn filter_batch<'b>(
        &self,
        bytes: &'b [u8],
        header: &BatchHeader,
        retain_deletes: bool,
        stats: &mut CleanStats,
        kept_tombstone: &mut bool,
    ) -> Option<std::borrow::Cow<'b, [u8]>> {
        use std::borrow::Cow;
        stats.records_read += header.record_count.max(0) as u64;
        if !is_compactable(header) {
            stats.records_kept += header.record_count.max(0) as u64;
            return Some(Cow::Borrowed(bytes));
        }
        let Some(decoded) = try_decode(self.tp, bytes) else {
            stats.records_kept += header.record_count.max(0) as u64;
            return Some(Cow::Borrowed(bytes));
        };
        let last_of_producer = header.producer_id >= 0
            && self.producers_last.get(&header.producer_id) == Some(&header.last_offset());
        if decoded.entries.is_empty() {
            // An empty batch left by an earlier pass goes once its producer
            // has written a later one.
            return last_of_producer.then_some(Cow::Borrowed(bytes));
        }
        let kept: Vec<&RawRecord> = decoded
            .entries
            .iter()
            .filter(|r| self.keep_record(&decoded, r, retain_deletes))
            .collect();
        stats.records_kept += kept.len() as u64;
        *kept_tombstone |= kept.iter().any(|r| !r.has_value);
        if kept.len() == decoded.entries.len() {
            return Some(Cow::Borrowed(bytes));
        }
        if kept.is_empty() && !last_of_producer {
            return None;
        }
        match rebuild_batch(bytes, &decoded, &kept) {
            Ok(out) => Some(Cow::Owned(out)),
            Err(e) => {
                tracing::warn!(tp = %self.tp, error = %e, "cleaner keeps a batch it cannot re-encode");
                Some(Cow::Borrowed(bytes))
            }
        }
    }
}

/// Appends buffered batches to the cleaned segment.
fn flush_into(
    segment: &LogSegment,
    buf: &mut Vec<u8>,
    index_interval_bytes: u32,
) -> Result<(), CleanerError> {
    if buf.is_empty() {
        return Ok(());
    }
    let infos = validate_batches(buf, usize::MAX).map_err(LogError::from)?;
    segment.append(buf, &infos, index_interval_bytes)?;
    buf.clear();
    Ok(())
}

impl Log {
    /// The index of the first segment a pass may not clean: the active one,
    /// or an earlier one reaching `max_offset` (the high watermark) or
    /// younger than `min.compaction.lag.ms`.
    fn first_uncleanable_index(
        segments: &[Arc<LogSegment>],
        max_offset: Offset,
        min_compaction_lag_ms: i64,
        now_ms: i64,
    ) -> usize {
        let active = segments.len() - 1;
        let mut limit = active;
        for (i, s) in segments[..active].iter().enumerate() {
            let next_base = segments[i + 1].base_offset();
            let too_young = min_compaction_lag_ms > 0
                && s.largest_timestamp_for_retention()
                    > now_ms.saturating_sub(min_compaction_lag_ms);
            if next_base > max_offset || too_young {
                limit = i;
                break;
            }
        }
        limit
    }

    /// `[first_dirty, first_uncleanable)` and the dirty bytes and total
    /// bytes up to first_uncleanable (Kafka's `LogToClean`), given the
    /// checkpointed `first_dirty` and the high watermark `max_offset`.
    pub fn cleanable_range(
        &self,
        checkpoint: Option<Offset>,
        max_offset: Offset,
        now_ms: i64,
    ) -> (CleanRange, u64, u64) {
        let config = self.config();
        let segments = self.segments_snapshot();
        let log_start = self.log_start_offset();
        let log_end = self.log_end_offset();
        let first_dirty = match checkpoint {
            Some(o) if (log_start..=log_end).contains(&o) => o,
            _ => log_start,
        };
        let limit = Self::first_uncleanable_index(
            &segments,
            max_offset,
            config.min_compaction_lag_ms,
            now_ms,
        );
        let first_uncleanable = segments[limit].base_offset();
        let mut dirty_bytes = 0;
        let mut total_bytes = 0;
        for (i, s) in segments[..limit].iter().enumerate() {
            let next = segments[i + 1].base_offset();
            total_bytes += s.size_bytes();
            if next > first_dirty {
                dirty_bytes += s.size_bytes();
            }
        }
        let range = CleanRange {
            first_dirty,
            first_uncleanable,
        };
        (range, dirty_bytes, total_bytes)
    }

    /// The oldest first-batch timestamp of the dirty segments in `range`
    /// (Kafka's earliest dirty segment timestamp, for `max.compaction.lag.ms`);
    /// `None` when no dirty segment has a timestamp.
    pub fn earliest_dirty_timestamp_ms(&self, range: CleanRange) -> Option<i64> {
        let segments = self.segments_snapshot();
        let mut earliest: Option<i64> = None;
        for pair in segments.windows(2) {
            let (segment, next_base) = (&pair[0], pair[1].base_offset());
            if segment.base_offset() >= range.first_uncleanable || next_base <= range.first_dirty {
                continue;
            }
            if let Ok(Some(first)) = segment.find_batch(segment.base_offset())
                && first.header.max_timestamp >= 0
            {
                let ts = first.header.max_timestamp;
                earliest = Some(earliest.map_or(ts, |e| e.min(ts)));
            }
        }
        earliest
    }

    /// One cleaning pass (see the module doc). `map` is cleared first.
    pub fn clean(
        &self,
        range: CleanRange,
        map: &mut OffsetMap,
        now_ms: i64,
    ) -> Result<CleanStats, CleanerError> {
        map.clear();
        let config = self.config();
        let segments = self.segments_snapshot();
        let mut stats = CleanStats::default();
        let first_dirty = range.first_dirty;
        // Never the active segment, even if the log changed since `range`.
        let cleanable: Vec<Arc<LogSegment>> = segments[..segments.len() - 1]
            .iter()
            .filter(|s| s.base_offset() < range.first_uncleanable)
            .cloned()
            .collect();
        let next_bases: Vec<Offset> = segments[1..=cleanable.len()]
            .iter()
            .map(|s| s.base_offset())
            .collect();
        let dirty: Vec<Arc<LogSegment>> = cleanable
            .iter()
            .zip(&next_bases)
            .filter(|(_, next)| **next > first_dirty)
            .map(|(s, _)| Arc::clone(s))
            .collect();
        stats.bytes_read += build_offset_map(&self.tp, &dirty, first_dirty, map)?;
        let end_offset = first_dirty
            .max(map.latest_offset() + 1)
            .min(range.first_uncleanable);
        stats.end_offset = end_offset;
        let producers_last = last_batch_of_producers(&segments)?;
        let pass = Pass {
            tp: &self.tp,
            map,
            end_offset,
            first_dirty,
            delete_retention_ms: config.delete_retention_ms,
            producers_last: &producers_last,
            now_ms,
        };
        let to_clean: Vec<Arc<LogSegment>> = cleanable
            .iter()
            .filter(|s| s.base_offset() < end_offset)
            .cloned()
            .collect();
        let groups = group_segments_by_size(&to_clean, &next_bases, config.segment_bytes);
        for group in groups {
            let group_next = &next_bases[group.clone()];
            self.clean_group(&pass, &to_clean[group.clone()], group_next, &mut stats)?;
        }
        Ok(stats)
    }

    /// Cleans one group of segments into one new segment and swaps it in.
    fn clean_group(
        &self,
        pass: &Pass<'_>,
        group: &[Arc<LogSegment>],
        next_bases: &[Offset],
        stats: &mut CleanStats,
    ) -> Result<(), CleanerError> {
        let config = self.config();
        let sizes: Vec<u64> = group.iter().map(|s| s.size_bytes()).collect();
        let work = fresh_work_dir(&self.dir)?;
        let base = group[0].base_offset();
        let cleaned = LogSegment::create(&work, base, config.max_index_size_bytes, pass.now_ms)?;
        let mut buf = Vec::new();
        let mut group_mtime = 0;
        let mut kept_tombstone = false;
        for (segment, &next) in group.iter().zip(next_bases) {
            let is_dirty = next > pass.first_dirty;
            let mtime = if is_dirty {
                pass.now_ms
            } else {
                last_modified_ms(segment)
            };
            group_mtime = group_mtime.max(mtime);
            let retain_deletes =
                is_dirty || pass.now_ms.saturating_sub(mtime) < pass.delete_retention_ms;
            for_each_batch(segment, |bytes, header| {
                stats.bytes_read += bytes.len() as u64;
                if let Some(out) =
                    pass.filter_batch(bytes, header, retain_deletes, stats, &mut kept_tombstone)
                {
                    buf.extend_from_slice(&out);
                }
                if buf.len() >= WRITE_CHUNK_BYTES {
                    flush_into(&cleaned, &mut buf, config.index_interval_bytes)?;
                }
                Ok(true)
            })?;
        }
        flush_into(&cleaned, &mut buf, config.index_interval_bytes)?;
        cleaned.on_become_inactive()?;
        cleaned.flush()?;
        let written = cleaned.size_bytes();
        let path = cleaned.log_path().to_path_buf();
        let mtime = UNIX_EPOCH + Duration::from_millis(group_mtime.max(0) as u64);
        OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_modified(mtime.max(SystemTime::UNIX_EPOCH)))
            .map_err(io_err("set modification time of", &path))?;
        let outcome = self.replace_segments(cleaned, group, &sizes)?;
        if let Err(e) = std::fs::remove_dir_all(&work) {
            tracing::debug!(dir = %work.display(), error = %e, "cannot remove cleaner work dir");
        }
        match outcome {
            SwapOutcome::Swapped => {
                stats.segments_replaced += group.len();
                stats
                    .removed_segment_bases
                    .extend(group[1..].iter().map(|s| s.base_offset()));
                stats.bytes_written += written;
                if kept_tombstone {
                    let expiry = group_mtime.saturating_add(pass.delete_retention_ms);
                    stats.tombstone_expiry_ms =
                        Some(stats.tombstone_expiry_ms.map_or(expiry, |e| e.min(expiry)));
                }
                tracing::debug!(
                    tp = %self.tp, base_offset = %base, segments = group.len(),
                    bytes_before = sizes.iter().sum::<u64>(), bytes_after = written,
                    "swapped in cleaned segment"
                );
            }
            SwapOutcome::Aborted => {
                stats.swaps_aborted += 1;
                tracing::info!(tp = %self.tp, base_offset = %base, "log changed while cleaning; swap skipped");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "cleaner_tests.rs"]
mod tests;
