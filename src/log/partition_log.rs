//! `Log`: one partition's directory `<dir>/<topic>-<partition>/`, a sorted set
//! of segments of which the last is active. Leader and follower appends,
//! fetch reads, timestamp lookups, truncation and flushing live here; opening
//! and recovery are in `recovery.rs`, retention in `retention.rs`.
//!
//! Concurrency: appends, rolls, truncation and retention are serialized by
//! `append_lock`, held only for the operation (there are no awaits in this
//! room). Readers take no lock beyond a brief read of the segment map: a
//! segment publishes its committed size after each write and the log publishes
//! its end offset after that, so a reader never sees a partial batch.
//! `flush_lock` serializes fsyncs with truncation so the recovery point never
//! passes the log end; lock order is always append_lock, then flush_lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use bytes::Bytes;
use parking_lot::{Mutex, RwLock};

use super::atomic_offset::AtomicOffset;
use super::batch::{
    self, BatchInfo, check_client_batch, set_base_offset, set_log_append_time,
    set_partition_leader_epoch, validate_batches,
};
use super::config::LogConfig;
use super::error::LogError;
use super::file_records::{ReadMode, Records};
use super::record_validation::validate_records;
use super::segment::{LogSegment, system_now_ms};
use super::time_index::NO_TIMESTAMP;
use crate::model::{LeaderEpoch, Offset, TopicPartition};

/// What an append wrote. `first_offset`/`last_offset` are -1 for an empty append.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppendInfo {
    pub first_offset: Offset,
    pub last_offset: Offset,
    /// Largest batch `maxTimestamp` (-1 when no batch has one).
    pub max_timestamp: i64,
    /// Last offset of the batch holding `max_timestamp` (Kafka's shallow offset).
    pub offset_of_max_timestamp: Offset,
    /// The broker's stamp under `message.timestamp.type=LogAppendTime`, else -1.
    pub log_append_time_ms: i64,
    pub record_count: u64,
    pub bytes: usize,
}

/// What one append did, for the replica layer (Kafka's `LogAppendInfo`, plus
/// the roll): the summary, each batch as validated and written (offsets
/// assigned), and the base offset of the new segment when the append rolled.
#[derive(Debug, Clone)]
pub struct AppendOutcome {
    pub info: AppendInfo,
    pub batches: Vec<BatchInfo>,
    pub rolled_at: Option<Offset>,
}

impl AppendOutcome {
    fn empty() -> Self {
        AppendOutcome {
            info: AppendInfo::empty(),
            batches: Vec::new(),
            rolled_at: None,
        }
    }
}

impl AppendInfo {
    fn empty() -> Self {
        AppendInfo {
            first_offset: Offset::UNKNOWN,
            last_offset: Offset::UNKNOWN,
            max_timestamp: NO_TIMESTAMP,
            offset_of_max_timestamp: Offset::UNKNOWN,
            log_append_time_ms: -1,
            record_count: 0,
            bytes: 0,
        }
    }
}

/// Whole batches for a fetch, plus the log bounds at the time of the read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogReadResult {
    pub records: Bytes,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
}

/// A [`Log::read_records`] answer: the records in memory or in a file.
#[derive(Debug, Clone)]
pub struct LogRecordsRead {
    pub records: Records,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
}

#[derive(Debug)]
pub struct Log {
    pub(super) dir: PathBuf,
    pub(super) tp: TopicPartition,
    pub(super) config: RwLock<LogConfig>,
    /// Segments by base offset; the last one is active.
    pub(super) segments: RwLock<BTreeMap<Offset, Arc<LogSegment>>>,
    pub(super) append_lock: Mutex<()>,
    pub(super) flush_lock: Mutex<()>,
    pub(super) log_end_offset: AtomicOffset,
    pub(super) log_start_offset: AtomicOffset,
    pub(super) recovery_point: AtomicOffset,
    /// Base offset of the newest segment a roll made: everything below it is
    /// complete and waits for the flush Kafka schedules on roll.
    pub(super) roll_flush_offset: AtomicOffset,
    pub(super) last_flush_ms: AtomicI64,
    pub(super) closed: AtomicBool,
}

impl Log {
    pub fn topic_partition(&self) -> &TopicPartition {
        &self.tp
    }

    /// The partition directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn config(&self) -> LogConfig {
        *self.config.read()
    }

    /// Replaces the config (per-topic overrides). Size and index settings apply
    /// from the next roll on.
    pub fn set_config(&self, config: LogConfig) -> Result<(), LogError> {
        config.validate()?;
        *self.config.write() = config;
        Ok(())
    }

    pub fn log_start_offset(&self) -> Offset {
        self.log_start_offset.load(Ordering::Acquire)
    }

    pub fn log_end_offset(&self) -> Offset {
        self.log_end_offset.load(Ordering::Acquire)
    }

    /// Everything below this offset is known to be on disk.
    pub fn recovery_point(&self) -> Offset {
        self.recovery_point.load(Ordering::Acquire)
    }

    pub fn size_bytes(&self) -> u64 {
        self.segments.read().values().map(|s| s.size_bytes()).sum()
    }

    pub fn num_segments(&self) -> usize {
        self.segments.read().len()
    }

    /// Base offsets of all segments, oldest first.
    pub fn segment_base_offsets(&self) -> Vec<Offset> {
        self.segments.read().keys().copied().collect()
    }

    /// Base offset of the active segment (it changes when the log rolls).
    pub fn active_segment_base_offset(&self) -> Offset {
        self.active_segment().base_offset()
    }

    pub(super) fn active_segment(&self) -> Arc<LogSegment> {
        let segments = self.segments.read();
        let (_, active) = segments
            .last_key_value()
            .expect("a log always has an active segment");
        Arc::clone(active)
    }

    pub(super) fn segments_snapshot(&self) -> Vec<Arc<LogSegment>> {
        self.segments.read().values().cloned().collect()
    }

    fn ensure_open(&self) -> Result<(), LogError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(LogError::Closed {
                tp: self.tp.clone(),
            });
        }
        Ok(())
    }

    /// Appends producer batches: validates them (size limit `max.message.bytes`),
    /// assigns offsets from the log end offset by rewriting each base offset in
    /// place, and writes the bytes otherwise unchanged.
    pub fn append_as_leader(
        &self,
        records: &mut [u8],
        now_ms: i64,
    ) -> Result<AppendInfo, LogError> {
        Ok(self.append_as_leader_in_epoch(records, None, now_ms)?.info)
    }

    /// `append_as_leader` that also stamps `leader_epoch` as each batch's
    /// partition leader epoch (outside the CRC), as a Kafka leader does, and
    /// reports the batches written and the roll, if any.
    pub fn append_as_leader_in_epoch(
        &self,
        records: &mut [u8],
        leader_epoch: Option<LeaderEpoch>,
        now_ms: i64,
    ) -> Result<AppendOutcome, LogError> {
        let config = self.config();
        let mut infos = validate_batches(records, config.max_message_bytes)?;
        if infos.is_empty() {
            return Ok(AppendOutcome::empty());
        }
        for info in &infos {
            check_client_batch(info)?;
            // Kafka's LogValidator: every record well formed (keyed on a
            // compacted topic); nothing is written when one is not.
            validate_records(records, info, config.cleanup_policy_compact, &self.tp)?;
        }
        self.check_fits_segment(records.len(), &config)?;
        let _append = self.append_lock.lock();
        self.ensure_open()?;
        let mut next_offset = self.log_end_offset();
        for info in &mut infos {
            let bytes = &mut records[info.position..info.position + info.size];
            set_base_offset(bytes, next_offset);
            info.base_offset = next_offset;
            if let Some(epoch) = leader_epoch {
                set_partition_leader_epoch(bytes, epoch);
                info.partition_leader_epoch = epoch;
            }
            if config.message_timestamp_log_append_time {
                set_log_append_time(bytes, now_ms);
                info.max_timestamp = now_ms;
                info.is_log_append_time = true;
            }
            next_offset = info.last_offset() + 1;
        }
        let mut append_info = summarize(&infos, records.len());
        if config.message_timestamp_log_append_time {
            append_info.log_append_time_ms = now_ms;
        }
        let rolled_at = self.append_locked(records, &infos, &append_info, &config, now_ms)?;
        Ok(AppendOutcome {
            info: append_info,
            batches: infos,
            rolled_at,
        })
    }

    /// Appends batches replicated from the leader, offsets already assigned.
    /// The first offset must be at least the log end offset and offsets must
    /// increase across batches. Reports the batches written and the roll.
    pub fn append_as_follower(&self, records: &[u8]) -> Result<AppendOutcome, LogError> {
        let config = self.config();
        let infos = validate_batches(records, usize::MAX)?;
        if infos.is_empty() {
            return Ok(AppendOutcome::empty());
        }
        self.check_fits_segment(records.len(), &config)?;
        let _append = self.append_lock.lock();
        self.ensure_open()?;
        let log_end = self.log_end_offset();
        let mut expected = log_end;
        for info in &infos {
            if info.base_offset < expected {
                return Err(LogError::NonMonotonicOffset {
                    tp: self.tp.clone(),
                    first_offset: info.base_offset,
                    log_end,
                });
            }
            expected = info.last_offset() + 1;
        }
        let append_info = summarize(&infos, records.len());
        let rolled_at =
            self.append_locked(records, &infos, &append_info, &config, system_now_ms())?;
        Ok(AppendOutcome {
            info: append_info,
            batches: infos,
            rolled_at,
        })
    }

    fn check_fits_segment(&self, size_bytes: usize, config: &LogConfig) -> Result<(), LogError> {
        if size_bytes as u64 > config.segment_bytes {
            return Err(LogError::RecordListTooLarge {
                tp: self.tp.clone(),
                size_bytes,
                segment_bytes: config.segment_bytes,
            });
        }
        Ok(())
    }

    /// The write itself, under the append lock: roll if needed, append,
    /// publish the new end offset, flush if `flush.messages` says so. Returns
    /// the new segment's base offset when it rolled.
    fn append_locked(
        &self,
        records: &[u8],
        infos: &[BatchInfo],
        info: &AppendInfo,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<Option<Offset>, LogError> {
        if info.last_offset - info.first_offset > i64::from(i32::MAX) {
            return Err(LogError::OffsetOverflow {
                tp: self.tp.clone(),
                first_offset: info.first_offset,
                last_offset: info.last_offset,
            });
        }
        let mut active = self.active_segment();
        let mut rolled_at = None;
        if active.should_roll(
            config,
            records.len(),
            info.max_timestamp,
            info.last_offset,
            now_ms,
        ) {
            let base_before = active.base_offset();
            active = self.roll(info.first_offset, config, now_ms)?;
            rolled_at = (active.base_offset() != base_before).then(|| active.base_offset());
        }
        active.append(records, infos, config.index_interval_bytes)?;
        self.log_end_offset
            .store(info.last_offset.next(), Ordering::Release);
        let unflushed = info.last_offset.next() - self.recovery_point();
        if unflushed > 0 && unflushed as u64 >= config.flush_interval_messages {
            let _flush = self.flush_lock.lock();
            self.flush_locked()?;
        }
        Ok(rolled_at)
    }

    /// Makes a new active segment at `max(next_offset, log end offset)`; the
    /// old one gets its final time-index entry and trimmed indexes. An empty
    /// active segment is replaced instead of kept. Caller holds the append lock.
    pub(super) fn roll(
        &self,
        next_offset: Offset,
        config: &LogConfig,
        now_ms: i64,
    ) -> Result<Arc<LogSegment>, LogError> {
        let new_base = next_offset.max(self.log_end_offset());
        let active = self.active_segment();
        if active.base_offset() == new_base {
            // Nothing can be appended past this point in a fresh segment anyway.
            return Ok(active);
        }
        let replace_empty = active.size_bytes() == 0;
        if !replace_empty {
            active.on_become_inactive()?;
        }
        let segment = Arc::new(LogSegment::create(
            &self.dir,
            new_base,
            config.max_index_size_bytes,
            now_ms,
        )?);
        {
            let mut segments = self.segments.write();
            if replace_empty {
                segments.remove(&active.base_offset());
            }
            segments.insert(new_base, Arc::clone(&segment));
        }
        if replace_empty {
            active.delete()?;
        }
        // Kafka's `roll` schedules `flush(newSegment.baseOffset)`; the broker
        // runs it off the request path (`flush_rolled_segments`).
        self.roll_flush_offset.fetch_max(new_base, Ordering::AcqRel);
        tracing::debug!(tp = %self.tp, base_offset = %new_base, "rolled new segment");
        Ok(segment)
    }

    /// Reads whole batches from the one containing `fetch_offset`, at most
    /// `max_bytes` (the first batch whole when `min_one_batch`, KIP-74), never
    /// a batch whose last offset is `>= max_offset_exclusive`. A read may stop
    /// at a segment's end. Fetching at the log end offset returns nothing.
    pub fn read(
        &self,
        fetch_offset: Offset,
        max_bytes: usize,
        max_offset_exclusive: Offset,
        min_one_batch: bool,
    ) -> Result<LogReadResult, LogError> {
        let read = self.read_records(
            fetch_offset,
            max_bytes,
            max_offset_exclusive,
            min_one_batch,
            ReadMode::Memory,
        )?;
        let Records::Memory(records) = read.records else {
            unreachable!("a memory read returns bytes");
        };
        Ok(LogReadResult {
            records,
            log_start_offset: read.log_start_offset,
            log_end_offset: read.log_end_offset,
        })
    }

    /// `read`, with the records in memory or (`ReadMode::File`) as a region
    /// of the segment file holding them, chosen by the same rules.
    pub fn read_records(
        &self,
        fetch_offset: Offset,
        max_bytes: usize,
        max_offset_exclusive: Offset,
        min_one_batch: bool,
        mode: ReadMode,
    ) -> Result<LogRecordsRead, LogError> {
        let log_end = self.log_end_offset();
        let log_start = self.log_start_offset();
        if fetch_offset < log_start || fetch_offset > log_end {
            return Err(LogError::OffsetOutOfRange {
                requested: fetch_offset,
                log_start,
                log_end,
            });
        }
        let result = |records| LogRecordsRead {
            records,
            log_start_offset: log_start,
            log_end_offset: log_end,
        };
        if fetch_offset == log_end || fetch_offset >= max_offset_exclusive {
            return Ok(result(Records::default()));
        }
        let mut segment = {
            let segments = self.segments.read();
            segments
                .range(..=fetch_offset)
                .next_back()
                .or_else(|| segments.iter().next())
                .map(|(_, s)| Arc::clone(s))
        };
        while let Some(seg) = segment {
            let read = match mode {
                ReadMode::Memory => seg
                    .read(fetch_offset, max_bytes, max_offset_exclusive, min_one_batch)?
                    .map(Records::Memory),
                ReadMode::File => seg.read_file_records(
                    fetch_offset,
                    max_bytes,
                    max_offset_exclusive,
                    min_one_batch,
                )?,
            };
            if let Some(records) = read {
                return Ok(result(records));
            }
            // The segment holding `fetch_offset` again: the cleaner may have
            // swapped `seg` for a segment that also covers later offsets.
            // Otherwise (or if it is `seg` itself) the next one.
            let segments = self.segments.read();
            segment = segments
                .range(..=fetch_offset)
                .next_back()
                .filter(|(_, s)| !Arc::ptr_eq(s, &seg) && s.base_offset() >= seg.base_offset())
                .or_else(|| segments.range(seg.base_offset() + 1..).next())
                .map(|(_, s)| Arc::clone(s));
        }
        Ok(result(Records::default()))
    }

    /// ListOffsets by timestamp: the first record with timestamp `>= target_ms`
    /// at or after the log start, as (offset, timestamp). Uncompressed batches
    /// give the exact record; a compressed batch answers with its first offset
    /// and its max timestamp (no decompression in storage). `None` when every
    /// record is older.
    pub fn offset_for_timestamp(&self, target_ms: i64) -> Result<Option<(Offset, i64)>, LogError> {
        let log_start = self.log_start_offset();
        for segment in self.segments_snapshot() {
            if segment.max_timestamp_and_offset().0 < target_ms
                || segment.next_offset() <= log_start
            {
                continue;
            }
            if let Some(found) = segment.find_offset_by_timestamp(target_ms, log_start)? {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// ListOffsets MAX_TIMESTAMP (-3): `(max timestamp, offset)` over the log,
    /// the offset being the last offset of the batch holding it (Kafka's
    /// shallow offset); `(-1, -1)` when no record has a timestamp.
    pub fn max_timestamp_and_offset(&self) -> (i64, Offset) {
        let mut best = (NO_TIMESTAMP, Offset::UNKNOWN);
        for segment in self.segments_snapshot() {
            let (ts, offset) = segment.max_timestamp_and_offset();
            if ts > best.0 {
                best = (ts, offset);
            }
        }
        best
    }

    /// Drops every offset `>= offset` (a batch straddling it goes whole, and the
    /// log end becomes that batch's base). No-op when `offset >= log end`.
    pub fn truncate_to(&self, offset: Offset) -> Result<(), LogError> {
        let _append = self.append_lock.lock();
        self.ensure_open()?;
        let _flush = self.flush_lock.lock();
        let log_end = self.log_end_offset();
        if offset >= log_end {
            return Ok(());
        }
        if !offset.is_known() {
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset(),
                log_end,
            });
        }
        let first_base = *self
            .segments
            .read()
            .first_key_value()
            .expect("a log always has a segment")
            .0;
        if offset < first_base {
            return self.truncate_fully_locked(offset);
        }
        // Lower the published end first so new readers stop short of the cut.
        self.log_end_offset.store(offset, Ordering::Release);
        let removed: Vec<Arc<LogSegment>> = {
            let mut segments = self.segments.write();
            let doomed: Vec<Offset> = segments.range(offset.next()..).map(|(k, _)| *k).collect();
            doomed.iter().filter_map(|k| segments.remove(k)).collect()
        };
        for segment in &removed {
            segment.delete()?;
        }
        let active = self.active_segment();
        active.truncate_to(offset)?;
        active.resize_indexes(self.config().max_index_size_bytes)?;
        let new_end = active.next_offset();
        debug_assert!(new_end <= offset);
        self.log_end_offset.store(new_end, Ordering::Release);
        self.recovery_point.fetch_min(new_end, Ordering::AcqRel);
        self.roll_flush_offset.fetch_min(new_end, Ordering::AcqRel);
        self.log_start_offset.fetch_min(new_end, Ordering::AcqRel);
        tracing::info!(tp = %self.tp, %offset, %new_end, "truncated log");
        Ok(())
    }

    /// Deletes every segment and starts an empty log at `offset` (log start,
    /// end and recovery point all become `offset`).
    pub fn truncate_fully_and_start_at(&self, offset: Offset) -> Result<(), LogError> {
        let _append = self.append_lock.lock();
        self.ensure_open()?;
        let _flush = self.flush_lock.lock();
        self.truncate_fully_locked(offset)
    }

    fn truncate_fully_locked(&self, offset: Offset) -> Result<(), LogError> {
        let config = self.config();
        let mut segments = self.segments.write();
        self.log_end_offset.store(offset, Ordering::Release);
        for (_, segment) in std::mem::take(&mut *segments) {
            segment.delete()?;
        }
        let segment = LogSegment::create(
            &self.dir,
            offset,
            config.max_index_size_bytes,
            system_now_ms(),
        )?;
        segments.insert(offset, Arc::new(segment));
        self.log_start_offset.store(offset, Ordering::Release);
        self.recovery_point.store(offset, Ordering::Release);
        self.roll_flush_offset.store(offset, Ordering::Release);
        tracing::info!(tp = %self.tp, %offset, "truncated log fully");
        Ok(())
    }

    /// Raises the log start offset (DeleteRecords); segments wholly below it
    /// go at the next retention run. Returns whether it moved.
    pub fn maybe_increment_log_start_offset(&self, offset: Offset) -> Result<bool, LogError> {
        let _append = self.append_lock.lock();
        let log_end = self.log_end_offset();
        if offset > log_end {
            return Err(LogError::OffsetOutOfRange {
                requested: offset,
                log_start: self.log_start_offset(),
                log_end,
            });
        }
        Ok(self.log_start_offset.fetch_max(offset, Ordering::AcqRel) < offset)
    }

    /// fsyncs every segment holding offsets between the recovery point and the
    /// log end offset, then advances the recovery point to that end.
    pub fn flush(&self) -> Result<(), LogError> {
        let _flush = self.flush_lock.lock();
        self.flush_locked()
    }

    /// Flushes when `flush.ms` has passed since the last flush.
    pub fn flush_if_due(&self, now_ms: i64) -> Result<(), LogError> {
        let interval_ms = self.config().flush_interval_ms;
        let since_ms = now_ms.saturating_sub(self.last_flush_ms.load(Ordering::Acquire));
        if since_ms >= interval_ms && self.log_end_offset() > self.recovery_point() {
            self.flush()?;
        }
        Ok(())
    }

    /// Whether a roll left segments to flush (`flush_rolled_segments`).
    pub fn roll_flush_pending(&self) -> bool {
        self.roll_flush_offset
            .load(Ordering::Acquire)
            .min(self.log_end_offset())
            > self.recovery_point()
    }

    /// Kafka's flush on roll: fsyncs the segments below the newest rolled
    /// segment's base offset and moves the recovery point there (never past
    /// the log end), so crash recovery re-validates only the active segment.
    /// Blocking disk work: run it off the async workers. Returns whether it
    /// flushed anything.
    pub fn flush_rolled_segments(&self) -> Result<bool, LogError> {
        let _flush = self.flush_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(false);
        }
        let target = self
            .roll_flush_offset
            .load(Ordering::Acquire)
            .min(self.log_end_offset());
        if target <= self.recovery_point() {
            return Ok(false);
        }
        self.flush_to_locked(target)?;
        Ok(true)
    }

    fn flush_locked(&self) -> Result<(), LogError> {
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        self.flush_to_locked(self.log_end_offset())?;
        self.last_flush_ms.store(system_now_ms(), Ordering::Release);
        Ok(())
    }

    /// fsyncs every segment holding offsets between the recovery point and
    /// `offset` (at most the log end), then moves the recovery point there.
    /// Caller holds the flush lock.
    fn flush_to_locked(&self, offset: Offset) -> Result<(), LogError> {
        let recovery_point = self.recovery_point();
        debug_assert!(offset <= self.log_end_offset());
        if offset <= recovery_point {
            return Ok(());
        }
        let to_flush: Vec<Arc<LogSegment>> = {
            let segments = self.segments.read();
            let from = segments
                .range(..=recovery_point)
                .next_back()
                .map_or(Offset::new(i64::MIN), |(k, _)| *k);
            segments
                .range(from..offset)
                .map(|(_, s)| Arc::clone(s))
                .collect()
        };
        for segment in &to_flush {
            segment.flush()?;
        }
        if to_flush.iter().any(|s| s.base_offset() >= recovery_point) {
            // A segment file was created since the last flush: make its
            // directory entry durable too.
            sync_dir(&self.dir)?;
        }
        self.recovery_point.fetch_max(offset, Ordering::AcqRel);
        Ok(())
    }

    /// Flushes everything and trims the active segment's indexes; the log
    /// accepts no more writes afterwards (reads still work).
    pub fn close(&self) -> Result<(), LogError> {
        let _append = self.append_lock.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        {
            let _flush = self.flush_lock.lock();
            self.flush_locked()?;
        }
        self.active_segment().on_become_inactive()?;
        self.closed.store(true, Ordering::Release);
        Ok(())
    }

    /// Stops all writes and flushes without touching the files, for a log whose
    /// directory is about to be removed.
    pub(super) fn mark_deleted(&self) {
        let _append = self.append_lock.lock();
        self.closed.store(true, Ordering::Release);
    }
}

/// The AppendInfo for batches whose offsets are assigned.
fn summarize(infos: &[BatchInfo], bytes: usize) -> AppendInfo {
    let first = infos.first().expect("non-empty append");
    let last = infos.last().expect("non-empty append");
    let mut info = AppendInfo {
        first_offset: first.base_offset,
        last_offset: last.last_offset(),
        bytes,
        ..AppendInfo::empty()
    };
    for b in infos {
        if b.max_timestamp > info.max_timestamp {
            info.max_timestamp = b.max_timestamp;
            info.offset_of_max_timestamp = b.last_offset();
        }
        info.record_count += b.record_count.max(0) as u64;
    }
    debug_assert!(batch::HEADER_SIZE * infos.len() <= bytes);
    info
}

/// fsyncs a directory so entries created or renamed in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), LogError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| LogError::io(format!("fsync directory {}", dir.display()), e))
}

#[cfg(test)]
#[path = "partition_log_tests.rs"]
mod tests;
