//! A segment's `.timeindex` file in Kafka's format: 12-byte entries of
//! (timestamp i64 BE, offset relative to the segment's base offset u32 BE).
//! Each entry records the largest timestamp seen so far in the segment and the
//! offset of the batch holding it; entries are added alongside offset-index
//! entries, only when the timestamp grows, so timestamps strictly increase.

use std::io;
use std::path::Path;

use super::index_file::{IndexFile, is_zero_entry, largest_at_most};
use crate::model::Offset;

pub const TIME_INDEX_ENTRY_BYTES: usize = 12;

/// Kafka's `RecordBatch.NO_TIMESTAMP`.
pub const NO_TIMESTAMP: i64 = -1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimestampOffset {
    pub timestamp_ms: i64,
    pub offset: Offset,
}

#[derive(Debug)]
pub struct TimeIndex {
    file: IndexFile,
    base_offset: Offset,
}

impl TimeIndex {
    pub fn open(path: &Path, base_offset: Offset, max_index_size_bytes: u32) -> io::Result<Self> {
        let file = IndexFile::open(
            path,
            TIME_INDEX_ENTRY_BYTES,
            max_index_size_bytes,
            is_zero_entry,
        )?;
        Ok(TimeIndex { file, base_offset })
    }

    fn timestamp_at(&self, i: usize) -> i64 {
        let e = self.file.entry(i);
        let mut b = [0u8; 8];
        b.copy_from_slice(&e[..8]);
        i64::from_be_bytes(b)
    }

    fn relative_offset(&self, i: usize) -> u32 {
        let e = self.file.entry(i);
        u32::from_be_bytes([e[8], e[9], e[10], e[11]])
    }

    fn entry_at(&self, i: usize) -> TimestampOffset {
        TimestampOffset {
            timestamp_ms: self.timestamp_at(i),
            offset: self.base_offset + i64::from(self.relative_offset(i)),
        }
    }

    pub fn entries(&self) -> usize {
        self.file.entries()
    }

    pub fn is_full(&self) -> bool {
        self.file.is_full()
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    /// The last entry, or (NO_TIMESTAMP, base offset) when empty.
    pub fn last_entry(&self) -> TimestampOffset {
        match self.entries() {
            0 => TimestampOffset {
                timestamp_ms: NO_TIMESTAMP,
                offset: self.base_offset,
            },
            n => self.entry_at(n - 1),
        }
    }

    /// The entry with the largest timestamp `<= target_ms`, or (NO_TIMESTAMP,
    /// base offset): every record before that entry's offset is older than the
    /// target, so a search may start there.
    pub fn lookup(&self, target_ms: i64) -> TimestampOffset {
        match largest_at_most(self.entries(), target_ms, |i| self.timestamp_at(i)) {
            Some(i) => self.entry_at(i),
            None => TimestampOffset {
                timestamp_ms: NO_TIMESTAMP,
                offset: self.base_offset,
            },
        }
    }

    /// Appends (timestamp, offset) when the timestamp is larger than the last
    /// entry's. With `skip_full_check` a full index just ignores the entry (used
    /// for the final entry at roll/close); otherwise the caller rolled first.
    pub fn maybe_append(&mut self, timestamp_ms: i64, offset: Offset, skip_full_check: bool) {
        let last = self.last_entry();
        if timestamp_ms <= last.timestamp_ms {
            return;
        }
        let relative = offset - self.base_offset;
        assert!(
            (0..=i64::from(i32::MAX)).contains(&relative),
            "offset {offset} does not fit segment {}",
            self.base_offset
        );
        debug_assert!(
            self.entries() == 0 || offset >= last.offset,
            "time index offsets must not decrease"
        );
        if self.is_full() {
            debug_assert!(skip_full_check, "time index appended while full");
            return;
        }
        let mut entry = [0u8; TIME_INDEX_ENTRY_BYTES];
        entry[..8].copy_from_slice(&timestamp_ms.to_be_bytes());
        entry[8..].copy_from_slice(&(relative as u32).to_be_bytes());
        self.file.push(&entry);
    }

    /// Removes every entry whose offset is `>= offset` (offsets never decrease).
    pub fn truncate_to(&mut self, offset: Offset) {
        let keep = largest_at_most(self.entries(), offset - 1, |i| {
            self.base_offset + i64::from(self.relative_offset(i))
        })
        .map_or(0, |i| i + 1);
        self.file.truncate_entries(keep);
    }

    pub fn reset(&mut self) {
        self.file.truncate_entries(0);
    }

    /// Whole entries, timestamps strictly increasing, offsets non-decreasing.
    pub fn sanity_check(&self) -> Result<(), String> {
        if !self
            .file
            .file_len_bytes()
            .is_multiple_of(TIME_INDEX_ENTRY_BYTES)
        {
            return Err(format!(
                "size {} is not a multiple of {TIME_INDEX_ENTRY_BYTES}",
                self.file.file_len_bytes()
            ));
        }
        let mut prev: Option<(i64, u32)> = None;
        for i in 0..self.entries() {
            let (ts, rel) = (self.timestamp_at(i), self.relative_offset(i));
            if rel > i32::MAX as u32 {
                return Err(format!("entry {i} has relative offset {rel}"));
            }
            if let Some((prev_ts, prev_rel)) = prev
                && (ts <= prev_ts || rel < prev_rel)
            {
                return Err(format!("entry {i} ({ts}, {rel}) is out of order"));
            }
            prev = Some((ts, rel));
        }
        Ok(())
    }

    pub fn resize(&mut self, size_bytes: u64) -> io::Result<()> {
        self.file.resize(size_bytes)
    }

    pub fn trim(&mut self) -> io::Result<()> {
        self.file.trim()
    }

    pub fn flush(&self) -> io::Result<()> {
        self.file.flush()
    }

    pub fn delete(&mut self) -> io::Result<()> {
        self.file.delete()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::off;

    #[test]
    fn appends_only_growing_timestamps_and_floors_lookups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000050.timeindex");
        let mut idx = TimeIndex::open(&path, off(50), 1200).unwrap();
        assert_eq!(
            idx.lookup(5),
            TimestampOffset {
                timestamp_ms: -1,
                offset: off(50)
            }
        );
        idx.maybe_append(1000, off(55), false);
        idx.maybe_append(1000, off(57), false); // not larger: ignored
        idx.maybe_append(2000, off(60), false);
        idx.maybe_append(3000, off(70), false);
        assert_eq!(idx.entries(), 3);
        assert_eq!(idx.lookup(999).offset, off(50));
        assert_eq!(idx.lookup(1000).offset, off(55));
        assert_eq!(idx.lookup(2999).offset, off(60));
        assert_eq!(idx.lookup(i64::MAX).offset, off(70));
        idx.sanity_check().unwrap();
        idx.trim().unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 36);
        assert_eq!(&raw[..12], &[0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 5]);
        idx.truncate_to(off(60));
        assert_eq!(idx.last_entry().offset, off(55));
        drop(idx);
        let idx = TimeIndex::open(&path, off(50), 1200).unwrap();
        // Trimmed file reopened: the zeroed slots read as unused.
        assert_eq!(idx.entries(), 1);
    }

    #[test]
    fn disorder_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.timeindex");
        let mut raw = Vec::new();
        for (ts, rel) in [(500i64, 1u32), (400, 2)] {
            raw.extend_from_slice(&ts.to_be_bytes());
            raw.extend_from_slice(&rel.to_be_bytes());
        }
        std::fs::write(&path, &raw).unwrap();
        let idx = TimeIndex::open(&path, off(0), 1200).unwrap();
        assert!(idx.sanity_check().is_err());
    }
}
