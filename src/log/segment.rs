//! One log segment: `<20-digit base offset>.log` holding batches back to back,
//! plus its `.index` and `.timeindex` (opened on first use: an empty
//! segment's are not touched at load). Appends write already-offset-assigned
//! batch bytes at the committed end and then publish the new size, so readers
//! (positional reads up to the published size) never see a partial batch.
//! Also: reads of whole batches, timestamp search, truncation, fsync, roll
//! decisions, and recovery (validate every batch, cut a torn tail, rebuild the
//! indexes). Mutations are serialized by the owning `Log`'s append lock.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use parking_lot::{MappedRwLockReadGuard, MappedRwLockWriteGuard, Mutex};

use super::batch::{self, BatchInfo, LOG_OVERHEAD, MIN_BATCH_LENGTH};
use super::batch_reader::{
    BatchHeaders, ChunkReader, HEADER_WALK_CHUNK_BYTES, SCAN_CHUNK_BYTES, StoredBatch,
    read_full_at, read_up_to_at,
};
use super::config::LogConfig;
use super::error::LogError;
use super::file_records::{FileRecords, Records};
use super::lazy_index::LazyIndex;
use super::offset_index::OffsetIndex;
use super::records::first_record_at_or_after;
use super::segment_files::{
    INDEX_SUFFIX, LOG_SUFFIX, TIME_INDEX_SUFFIX, remove_if_exists, segment_file_name,
};
use super::time_index::{NO_TIMESTAMP, TimeIndex};
use crate::model::Offset;

/// Milliseconds since the epoch by the system clock.
pub fn system_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Appender-side bookkeeping, changed only under the log's append lock.
#[derive(Debug, Clone, Copy)]
struct SegmentState {
    next_offset: Offset,
    bytes_since_last_index_entry: u64,
    max_timestamp_ms: i64,
    offset_of_max_timestamp: Offset,
    /// Max timestamp of the segment's first batch (Kafka's rollingBasedTimestamp).
    first_batch_timestamp_ms: Option<i64>,
    created_ms: i64,
}

impl SegmentState {
    fn empty(base_offset: Offset, created_ms: i64) -> Self {
        SegmentState {
            next_offset: base_offset,
            bytes_since_last_index_entry: 0,
            max_timestamp_ms: NO_TIMESTAMP,
            offset_of_max_timestamp: base_offset,
            first_batch_timestamp_ms: None,
            created_ms,
        }
    }

    /// Accounts for one batch at `position`, adding index entries every
    /// `index_interval_bytes` (Kafka's per-batch rule in `LogSegment.append`).
    fn track_batch(
        &mut self,
        oi: &mut OffsetIndex,
        ti: &mut TimeIndex,
        position: u64,
        batch: &BatchInfo,
        index_interval_bytes: u32,
    ) {
        let (last_offset, max_timestamp_ms) = (batch.last_offset(), batch.max_timestamp);
        if max_timestamp_ms > self.max_timestamp_ms {
            self.max_timestamp_ms = max_timestamp_ms;
            self.offset_of_max_timestamp = last_offset;
        }
        if self.first_batch_timestamp_ms.is_none() {
            self.first_batch_timestamp_ms = Some(max_timestamp_ms);
        }
        if self.bytes_since_last_index_entry > u64::from(index_interval_bytes) {
            oi.append(last_offset, position);
            ti.maybe_append(self.max_timestamp_ms, self.offset_of_max_timestamp, false);
            self.bytes_since_last_index_entry = 0;
        }
        self.bytes_since_last_index_entry += batch.size as u64;
        self.next_offset = last_offset + 1;
    }
}

#[derive(Debug)]
pub struct LogSegment {
    base_offset: Offset,
    log_path: PathBuf,
    /// Shared with the `FileRecords` regions handed to Fetch responses.
    file: Arc<File>,
    /// Bytes of complete batches; published (Release) after each write.
    size_bytes: AtomicU64,
    /// Opened on first use: an empty segment's are not touched at load.
    offset_index: LazyIndex<OffsetIndex>,
    time_index: LazyIndex<TimeIndex>,
    state: Mutex<SegmentState>,
}

fn io_ctx(what: &str, path: &Path) -> impl FnOnce(std::io::Error) -> LogError {
    let context = format!("{what} {}", path.display());
    move |e| LogError::io(context, e)
}

/// The error of an index that could not be opened on first use.
fn open_index_error(path: &Path, source: std::io::Error) -> LogError {
    LogError::io(format!("open index {}", path.display()), source)
}

/// The `.index` and `.timeindex` paths of the segment at `base_offset`.
fn index_paths(dir: &Path, base_offset: Offset) -> (PathBuf, PathBuf) {
    (
        dir.join(segment_file_name(base_offset, INDEX_SUFFIX)),
        dir.join(segment_file_name(base_offset, TIME_INDEX_SUFFIX)),
    )
}

impl LogSegment {
    /// Creates an empty segment at `base_offset` in `dir` (replacing any stale
    /// files of that name). Its index files are created empty and
    /// preallocated to `max_index_size_bytes` on first use (the first append).
    pub fn create(
        dir: &Path,
        base_offset: Offset,
        max_index_size_bytes: u32,
        now_ms: i64,
    ) -> Result<LogSegment, LogError> {
        let log_path = dir.join(segment_file_name(base_offset, LOG_SUFFIX));
        let create = |path: &Path| {
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(path)
                .map_err(io_ctx("create", path))
        };
        let (oi_path, ti_path) = index_paths(dir, base_offset);
        create(&oi_path)?;
        create(&ti_path)?;
        let file = create(&log_path)?;
        let segment = Self::with_indexes(
            base_offset,
            log_path,
            file,
            0,
            LazyIndex::empty(&oi_path, base_offset, 0),
            LazyIndex::empty(&ti_path, base_offset, 0),
            now_ms,
        );
        segment.resize_indexes(max_index_size_bytes)?;
        Ok(segment)
    }

    fn with_indexes(
        base_offset: Offset,
        log_path: PathBuf,
        file: File,
        size_bytes: u64,
        offset_index: LazyIndex<OffsetIndex>,
        time_index: LazyIndex<TimeIndex>,
        created_ms: i64,
    ) -> LogSegment {
        LogSegment {
            base_offset,
            log_path,
            file: Arc::new(file),
            size_bytes: AtomicU64::new(size_bytes),
            offset_index,
            time_index,
            state: Mutex::new(SegmentState::empty(base_offset, created_ms)),
        }
    }

    /// The offset index, opened on first use.
    fn oi(&self) -> Result<MappedRwLockReadGuard<'_, OffsetIndex>, LogError> {
        let index = &self.offset_index;
        index.get().map_err(|e| open_index_error(index.path(), e))
    }

    fn oi_mut(&self) -> Result<MappedRwLockWriteGuard<'_, OffsetIndex>, LogError> {
        let index = &self.offset_index;
        index
            .get_mut()
            .map_err(|e| open_index_error(index.path(), e))
    }

    /// The time index, opened on first use.
    fn ti(&self) -> Result<MappedRwLockReadGuard<'_, TimeIndex>, LogError> {
        let index = &self.time_index;
        index.get().map_err(|e| open_index_error(index.path(), e))
    }

    fn ti_mut(&self) -> Result<MappedRwLockWriteGuard<'_, TimeIndex>, LogError> {
        let index = &self.time_index;
        index
            .get_mut()
            .map_err(|e| open_index_error(index.path(), e))
    }

    /// Opens an existing segment. Missing or insane indexes are deleted and
    /// recreated empty, and the returned flag says the caller must `recover`
    /// the segment to rebuild them; otherwise the tail state (next offset, max
    /// timestamp) is loaded by walking batches after the last index entry.
    pub fn open(
        dir: &Path,
        base_offset: Offset,
        max_index_size_bytes: u32,
    ) -> Result<(LogSegment, bool), LogError> {
        let log_path = dir.join(segment_file_name(base_offset, LOG_SUFFIX));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&log_path)
            .map_err(io_ctx("open", &log_path))?;
        let size = file.metadata().map_err(io_ctx("stat", &log_path))?.len();
        let (oi_path, ti_path) = index_paths(dir, base_offset);
        let file_len = |p: &Path| fs::metadata(p).ok().map(|m| m.len());
        let (oi_len, ti_len) = (file_len(&oi_path), file_len(&ti_path));
        if let (0, Some(oi_len), Some(ti_len)) = (size, oi_len, ti_len) {
            // An empty segment has no index entries, whatever its index files
            // hold: they are left alone until used (Kafka's lazy indexes).
            let segment = Self::with_indexes(
                base_offset,
                log_path,
                file,
                0,
                LazyIndex::empty(&oi_path, base_offset, oi_len),
                LazyIndex::empty(&ti_path, base_offset, ti_len),
                system_now_ms(),
            );
            return Ok((segment, false));
        }
        let missing = oi_len.is_none() || ti_len.is_none();
        let oi = OffsetIndex::open(&oi_path, base_offset, max_index_size_bytes)
            .map_err(io_ctx("open index", &oi_path))?;
        let ti = TimeIndex::open(&ti_path, base_offset, max_index_size_bytes)
            .map_err(io_ctx("open time index", &ti_path))?;
        let problem = oi
            .sanity_check(size)
            .map_err(|r| (oi.path().to_path_buf(), r))
            .and_then(|()| ti.sanity_check().map_err(|r| (ti.path().to_path_buf(), r)));
        let insane = match problem {
            Err((path, reason)) => {
                tracing::warn!(index = %path.display(), %reason, "corrupt index; rebuilding");
                true
            }
            Ok(()) => false,
        };
        let segment = Self::with_indexes(
            base_offset,
            log_path,
            file,
            size,
            LazyIndex::loaded(&oi_path, base_offset, oi),
            LazyIndex::loaded(&ti_path, base_offset, ti),
            system_now_ms(),
        );
        if missing || insane {
            segment.offset_index.reset();
            segment.time_index.reset();
            return Ok((segment, true));
        }
        match segment.load_tail_state() {
            Ok(()) => {}
            // A tail that cannot be walked (garbage from a torn write) is not
            // an error here: the caller recovers the segment, cutting it.
            Err(LogError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::InvalidData =>
            {
                tracing::warn!(
                    segment = %segment.log_path.display(), error = %source,
                    "unreadable segment tail; recovering the segment"
                );
                segment.offset_index.reset();
                segment.time_index.reset();
                return Ok((segment, true));
            }
            Err(e) => return Err(e),
        }
        Ok((segment, false))
    }

    pub fn base_offset(&self) -> Offset {
        self.base_offset
    }

    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Committed bytes (complete batches only).
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes.load(Ordering::Acquire)
    }

    /// One past the last offset in the segment (the base offset when empty).
    pub fn next_offset(&self) -> Offset {
        self.state.lock().next_offset
    }

    /// (largest timestamp, offset of the batch holding it); -1 timestamp when empty.
    pub fn max_timestamp_and_offset(&self) -> (i64, Offset) {
        let st = self.state.lock();
        (st.max_timestamp_ms, st.offset_of_max_timestamp)
    }

    /// Kafka's `largestTimestamp` for retention: the max record timestamp, or
    /// the `.log` file's modification time when no record has one.
    pub fn largest_timestamp_for_retention(&self) -> i64 {
        let ts = self.state.lock().max_timestamp_ms;
        if ts >= 0 {
            return ts;
        }
        self.file
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as i64)
    }

    /// Recomputes the appender state from the indexes plus a walk of the
    /// batches after the last offset-index entry (at most about one interval).
    fn load_tail_state(&self) -> Result<(), LogError> {
        let end = self.size_bytes();
        let created_ms = self.state.lock().created_ms;
        let mut st = SegmentState::empty(self.base_offset, created_ms);
        if end == 0 {
            // Nothing stored, so nothing indexed: the indexes stay unopened.
            *self.state.lock() = st;
            return Ok(());
        }
        let start = {
            let ti = self.ti()?;
            if ti.entries() > 0 {
                let last = ti.last_entry();
                st.max_timestamp_ms = last.timestamp_ms;
                st.offset_of_max_timestamp = last.offset;
            }
            self.oi()?.last_entry().position
        };
        let mut first_seen = false;
        if end > 0 {
            let mut headers = BatchHeaders::new(&self.file, 0, end, 128);
            if let Some(first) = headers.next() {
                let first = first.map_err(io_ctx("read", &self.log_path))?;
                st.first_batch_timestamp_ms = Some(first.header.max_timestamp);
                first_seen = true;
            }
        }
        for b in BatchHeaders::new(&self.file, start, end, HEADER_WALK_CHUNK_BYTES) {
            let b = b.map_err(io_ctx("read", &self.log_path))?;
            let h = b.header;
            if h.max_timestamp > st.max_timestamp_ms {
                st.max_timestamp_ms = h.max_timestamp;
                st.offset_of_max_timestamp = h.last_offset();
            }
            st.bytes_since_last_index_entry += b.size_bytes() as u64;
            st.next_offset = h.last_offset() + 1;
        }
        if !first_seen {
            st.first_batch_timestamp_ms = None;
        }
        *self.state.lock() = st;
        Ok(())
    }

    /// Whether the next append (of `append_bytes`, newest timestamp
    /// `max_timestamp_ms`, last offset `last_offset`) must go to a new segment:
    /// size, age (`segment.ms` measured from the first batch's timestamp, or
    /// the creation time without one), a full index, or a relative offset that
    /// would not fit.
    pub fn should_roll(
        &self,
        config: &LogConfig,
        append_bytes: usize,
        max_timestamp_ms: i64,
        last_offset: Offset,
        now_ms: i64,
    ) -> bool {
        let size = self.size_bytes();
        let waited_ms = {
            let st = self.state.lock();
            match st.first_batch_timestamp_ms {
                Some(t) if t >= 0 => max_timestamp_ms.saturating_sub(t),
                _ => now_ms.saturating_sub(st.created_ms),
            }
        };
        (size > 0
            && (size + append_bytes as u64 > config.segment_bytes || waited_ms > config.segment_ms))
            || self.offset_index.is_full()
            || self.time_index.is_full()
            || last_offset - self.base_offset > i64::from(i32::MAX)
    }

    /// Appends `records` (whose batches are described by `infos`, offsets
    /// already assigned) at the end: one positional write, then publish the
    /// size, then index entries.
    pub fn append(
        &self,
        records: &[u8],
        infos: &[BatchInfo],
        index_interval_bytes: u32,
    ) -> Result<(), LogError> {
        let position = self.size_bytes.load(Ordering::Relaxed);
        let new_size = position + records.len() as u64;
        assert!(
            new_size <= u64::from(u32::MAX),
            "segment {} would pass 4 GiB",
            self.log_path.display()
        );
        // Open (and preallocate) the indexes before writing, so a failure
        // to do so leaves the segment as it was.
        drop((self.oi_mut()?, self.ti_mut()?));
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(records, position)
            .map_err(io_ctx("append to", &self.log_path))?;
        self.size_bytes.store(new_size, Ordering::Release);
        let mut st = self.state.lock();
        let mut oi = self.oi_mut()?;
        let mut ti = self.ti_mut()?;
        for info in infos {
            debug_assert!(info.base_offset >= st.next_offset, "offsets must increase");
            st.track_batch(
                &mut oi,
                &mut ti,
                position + info.position as u64,
                info,
                index_interval_bytes,
            );
        }
        Ok(())
    }

    /// The first batch whose last offset is `>= offset`, found from the index
    /// entry at or before `offset` by a header walk.
    pub fn find_batch(&self, offset: Offset) -> Result<Option<StoredBatch>, LogError> {
        let end = self.size_bytes();
        if end == 0 {
            return Ok(None);
        }
        let start = self.oi()?.lookup(offset).position.min(end);
        for b in BatchHeaders::new(&self.file, start, end, HEADER_WALK_CHUNK_BYTES) {
            let b = b.map_err(io_ctx("read", &self.log_path))?;
            if b.last_offset() >= offset {
                return Ok(Some(b));
            }
        }
        Ok(None)
    }

    /// Reads whole batches starting at the one containing `fetch_offset`: at
    /// most `max_bytes` (or the first batch whole if `min_one_batch`), none
    /// whose last offset reaches `max_offset_exclusive`. `None` when the
    /// segment has no batch at or after `fetch_offset`. One positional read.
    pub fn read(
        &self,
        fetch_offset: Offset,
        max_bytes: usize,
        max_offset_exclusive: Offset,
        min_one_batch: bool,
    ) -> Result<Option<Bytes>, LogError> {
        let Some(first) = self.find_batch(fetch_offset)? else {
            return Ok(None);
        };
        if first.last_offset() >= max_offset_exclusive {
            return Ok(Some(Bytes::new()));
        }
        let end = self.size_bytes();
        let first_size = first.size_bytes();
        let len = if first_size > max_bytes {
            if !min_one_batch {
                return Ok(Some(Bytes::new()));
            }
            first_size
        } else {
            max_bytes.min((end.saturating_sub(first.position)) as usize)
        };
        let mut buf = read_up_to_at(&self.file, len, first.position)
            .map_err(io_ctx("read", &self.log_path))?;
        let got = buf.len();
        // Keep whole batches below the limit; a short read (concurrent
        // truncation) or a batch cut by max_bytes ends the walk.
        let mut keep = 0;
        while let Some((size, last)) = batch::peek_size_and_last_offset(&buf[keep..got]) {
            if keep + size > got || last >= max_offset_exclusive {
                break;
            }
            keep += size;
        }
        buf.truncate(keep);
        Ok(Some(Bytes::from(buf)))
    }

    /// The batches `read` would return, as a region of this segment's file
    /// (no record bytes are read): the same limits, decided by a walk of
    /// the batch headers up to the same byte limit. An empty answer is
    /// empty `Records::Memory`.
    pub fn read_file_records(
        &self,
        fetch_offset: Offset,
        max_bytes: usize,
        max_offset_exclusive: Offset,
        min_one_batch: bool,
    ) -> Result<Option<Records>, LogError> {
        let Some(first) = self.find_batch(fetch_offset)? else {
            return Ok(None);
        };
        if first.last_offset() >= max_offset_exclusive {
            return Ok(Some(Records::default()));
        }
        let end = self.size_bytes();
        let first_size = first.size_bytes();
        let len = if first_size > max_bytes {
            if !min_one_batch {
                return Ok(Some(Records::default()));
            }
            first_size
        } else {
            max_bytes.min((end.saturating_sub(first.position)) as usize)
        };
        // Whole batches within `len` bytes, below the offset limit; the walk
        // stops at a batch cut by the limit (or by a concurrent truncation).
        let limit = first.position + len as u64;
        let (mut keep_end, mut record_count) = (first.position, 0u64);
        for b in BatchHeaders::new(&self.file, first.position, limit, HEADER_WALK_CHUNK_BYTES) {
            let b = b.map_err(io_ctx("read", &self.log_path))?;
            if b.last_offset() >= max_offset_exclusive {
                break;
            }
            keep_end = b.end_position();
            record_count += b.header.record_count.max(0) as u64;
        }
        let size = (keep_end - first.position) as usize;
        if size == 0 {
            return Ok(Some(Records::default()));
        }
        Ok(Some(Records::File(FileRecords::new(
            Arc::clone(&self.file),
            first.position,
            size,
            record_count,
        ))))
    }

    /// The first record with timestamp `>= target_ms` and offset `>= min_offset`
    /// as (offset, timestamp). Uncompressed batches are walked record by
    /// record; for a compressed batch the answer is its first offset (at least
    /// `min_offset`) with the batch's max timestamp, without decompressing.
    pub fn find_offset_by_timestamp(
        &self,
        target_ms: i64,
        min_offset: Offset,
    ) -> Result<Option<(Offset, i64)>, LogError> {
        let end = self.size_bytes();
        if end == 0 {
            return Ok(None);
        }
        let from_time_index = self.ti()?.lookup(target_ms).offset;
        let start = self
            .oi()?
            .lookup(from_time_index.max(min_offset))
            .position
            .min(end);
        for b in BatchHeaders::new(&self.file, start, end, HEADER_WALK_CHUNK_BYTES) {
            let b = b.map_err(io_ctx("read", &self.log_path))?;
            let h = b.header;
            if h.last_offset() < min_offset || h.max_timestamp < target_ms {
                continue;
            }
            if h.compression_codec() != 0 {
                return Ok(Some((h.base_offset.max(min_offset), h.max_timestamp)));
            }
            let mut bytes = vec![0u8; b.size_bytes()];
            let got = read_full_at(&self.file, &mut bytes, b.position)
                .map_err(io_ctx("read", &self.log_path))?;
            bytes.truncate(got);
            if let Some(r) = first_record_at_or_after(&bytes, target_ms, min_offset)? {
                return Ok(Some((r.offset, r.timestamp_ms)));
            }
        }
        Ok(None)
    }

    /// Validates every batch from the start (length, magic, CRC, increasing
    /// offsets that fit the segment), rebuilds both indexes, and truncates the
    /// file at the first invalid or incomplete batch. Returns the bytes cut.
    pub fn recover(&self, index_interval_bytes: u32) -> Result<u64, LogError> {
        let file_len = self
            .file
            .metadata()
            .map_err(io_ctx("stat", &self.log_path))?
            .len();
        let mut st = self.state.lock();
        let created_ms = st.created_ms;
        *st = SegmentState::empty(self.base_offset, created_ms);
        if file_len == 0 {
            // Nothing to validate or index: unopened indexes stay unopened.
            self.offset_index.reset();
            self.time_index.reset();
            self.size_bytes.store(0, Ordering::Release);
            return Ok(0);
        }
        let mut oi = self.oi_mut()?;
        let mut ti = self.ti_mut()?;
        oi.reset();
        ti.reset();
        let mut reader = ChunkReader::new(&self.file, file_len, SCAN_CHUNK_BYTES);
        let mut pos = 0u64;
        let stop_reason = loop {
            let read = |e| LogError::io(format!("recover {}", self.log_path.display()), e);
            let Some(head) = reader.get(pos, LOG_OVERHEAD).map_err(read)? else {
                break (pos < file_len).then_some("torn batch header".to_string());
            };
            let length = i32::from_be_bytes([head[8], head[9], head[10], head[11]]);
            if length < MIN_BATCH_LENGTH {
                break Some(format!("batch length {length}"));
            }
            let size = length as usize + LOG_OVERHEAD;
            let Some(bytes) = reader.get(pos, size).map_err(read)? else {
                break Some(format!("torn batch: {size} bytes needed"));
            };
            let info = match batch::validate_batch_at(bytes, 0, usize::MAX) {
                Ok(info) => info,
                Err(e) => break Some(e.to_string()),
            };
            if info.base_offset < st.next_offset
                || info.last_offset() - self.base_offset > i64::from(i32::MAX)
            {
                break Some(format!(
                    "batch offsets {}..={} do not follow {} in segment {}",
                    info.base_offset,
                    info.last_offset(),
                    st.next_offset,
                    self.base_offset
                ));
            }
            st.track_batch(&mut oi, &mut ti, pos, &info, index_interval_bytes);
            pos += size as u64;
        };
        let truncated = file_len - pos;
        if truncated > 0 {
            tracing::warn!(
                segment = %self.log_path.display(),
                valid_bytes = pos,
                truncated_bytes = truncated,
                reason = stop_reason.as_deref().unwrap_or("unknown"),
                "cutting invalid tail of segment"
            );
            self.file
                .set_len(pos)
                .map_err(io_ctx("truncate", &self.log_path))?;
        }
        self.size_bytes.store(pos, Ordering::Release);
        Ok(truncated)
    }

    /// Drops every batch whose last offset is `>= offset` (a batch straddling
    /// `offset` goes whole). Returns the bytes removed.
    pub fn truncate_to(&self, offset: Offset) -> Result<u64, LogError> {
        let Some(first) = self.find_batch(offset)? else {
            return Ok(0);
        };
        let old_size = self.size_bytes();
        let cut_from = first.header.base_offset;
        self.oi_mut()?.truncate_to(cut_from);
        self.ti_mut()?.truncate_to(cut_from);
        self.size_bytes.store(first.position, Ordering::Release);
        self.file
            .set_len(first.position)
            .map_err(io_ctx("truncate", &self.log_path))?;
        self.load_tail_state()?;
        Ok(old_size - first.position)
    }

    /// fsyncs the `.log` and writes back both index mappings.
    pub fn flush(&self) -> Result<(), LogError> {
        self.file
            .sync_data()
            .map_err(io_ctx("fsync", &self.log_path))?;
        let (oi, ti) = (&self.offset_index, &self.time_index);
        oi.flush().map_err(io_ctx("flush", oi.path()))?;
        ti.flush().map_err(io_ctx("flush", ti.path()))
    }

    /// Called when this segment stops being the active one (roll, close):
    /// records the final max timestamp in the time index and trims both
    /// indexes to their entries, as Kafka does.
    pub fn on_become_inactive(&self) -> Result<(), LogError> {
        let (max_ts, offset) = self.max_timestamp_and_offset();
        if max_ts >= 0 {
            self.ti_mut()?.maybe_append(max_ts, offset, true);
        }
        let (oi, ti) = (&self.offset_index, &self.time_index);
        ti.trim().map_err(io_ctx("trim", ti.path()))?;
        oi.trim().map_err(io_ctx("trim", oi.path()))
    }

    /// Sizes both indexes for appending (done when a segment becomes active).
    pub fn resize_indexes(&self, max_index_size_bytes: u32) -> Result<(), LogError> {
        let size = u64::from(max_index_size_bytes);
        let (oi, ti) = (&self.offset_index, &self.time_index);
        oi.resize(size).map_err(io_ctx("resize", oi.path()))?;
        ti.resize(size).map_err(io_ctx("resize", ti.path()))
    }

    /// Removes the segment's three files. Readers holding this segment keep
    /// reading the unlinked `.log` until they drop it.
    pub fn delete(&self) -> Result<(), LogError> {
        remove_if_exists(&self.log_path).map_err(io_ctx("delete", &self.log_path))?;
        let (oi, ti) = (&self.offset_index, &self.time_index);
        oi.delete().map_err(io_ctx("delete", oi.path()))?;
        ti.delete().map_err(io_ctx("delete", ti.path()))
    }

    /// Whether the indexes have been opened (an empty segment's are not).
    #[cfg(test)]
    pub(crate) fn indexes_loaded(&self) -> (bool, bool) {
        (self.offset_index.is_loaded(), self.time_index.is_loaded())
    }

    #[cfg(test)]
    pub(crate) fn index_entries(&self) -> (usize, usize) {
        (self.oi().unwrap().entries(), self.ti().unwrap().entries())
    }
}

#[cfg(test)]
#[path = "segment_tests.rs"]
mod tests;
