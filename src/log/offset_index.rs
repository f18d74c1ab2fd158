//! A segment's `.index` file in Kafka's format: 8-byte entries of (offset
//! relative to the segment's base offset, u32 BE; byte position of a batch in
//! the `.log`, u32 BE). An entry is added every `log.index.interval.bytes`,
//! keyed by the batch's last offset; lookups return the largest entry whose
//! offset is `<=` the target, from which a short header walk finds the batch.

use std::io;
use std::path::Path;

use super::index_file::{IndexFile, is_zero_entry, largest_at_most};
use crate::model::Offset;

pub const OFFSET_INDEX_ENTRY_BYTES: usize = 8;

/// An absolute offset and the byte position in the `.log` to start scanning from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPosition {
    pub offset: Offset,
    pub position: u64,
}

#[derive(Debug)]
pub struct OffsetIndex {
    file: IndexFile,
    base_offset: Offset,
}

impl OffsetIndex {
    pub fn open(path: &Path, base_offset: Offset, max_index_size_bytes: u32) -> io::Result<Self> {
        let file = IndexFile::open(
            path,
            OFFSET_INDEX_ENTRY_BYTES,
            max_index_size_bytes,
            is_zero_entry,
        )?;
        Ok(OffsetIndex { file, base_offset })
    }

    fn relative_offset(&self, i: usize) -> u32 {
        let e = self.file.entry(i);
        u32::from_be_bytes([e[0], e[1], e[2], e[3]])
    }

    fn physical_position(&self, i: usize) -> u32 {
        let e = self.file.entry(i);
        u32::from_be_bytes([e[4], e[5], e[6], e[7]])
    }

    fn offset_at(&self, i: usize) -> Offset {
        self.base_offset + i64::from(self.relative_offset(i))
    }

    fn entry_at(&self, i: usize) -> OffsetPosition {
        OffsetPosition {
            offset: self.offset_at(i),
            position: u64::from(self.physical_position(i)),
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

    /// The largest entry with offset `<= target`, or (base offset, position 0).
    pub fn lookup(&self, target_offset: Offset) -> OffsetPosition {
        match largest_at_most(self.entries(), target_offset, |i| self.offset_at(i)) {
            Some(i) => self.entry_at(i),
            None => OffsetPosition {
                offset: self.base_offset,
                position: 0,
            },
        }
    }

    /// The last entry, or (base offset, position 0) when empty.
    pub fn last_entry(&self) -> OffsetPosition {
        match self.entries() {
            0 => OffsetPosition {
                offset: self.base_offset,
                position: 0,
            },
            n => self.entry_at(n - 1),
        }
    }

    /// Adds an entry for the batch at `position` whose last offset is `offset`.
    /// Entries must increase; a full index silently skips the entry (lookups
    /// stay correct, just coarser) — the log rolls before that happens.
    pub fn append(&mut self, offset: Offset, position: u64) {
        let relative = offset - self.base_offset;
        assert!(
            (0..=i64::from(i32::MAX)).contains(&relative),
            "offset {offset} does not fit segment {}",
            self.base_offset
        );
        assert!(
            position <= u64::from(u32::MAX),
            "position {position} overflows the index"
        );
        if self.entries() > 0 {
            let last = self.last_entry();
            assert!(
                offset > last.offset && position > last.position,
                "index entries must increase: ({offset}, {position}) after {last:?}"
            );
        }
        if self.is_full() {
            return;
        }
        let mut entry = [0u8; OFFSET_INDEX_ENTRY_BYTES];
        entry[..4].copy_from_slice(&(relative as u32).to_be_bytes());
        entry[4..].copy_from_slice(&(position as u32).to_be_bytes());
        self.file.push(&entry);
    }

    /// Removes every entry whose offset is `>= offset`.
    pub fn truncate_to(&mut self, offset: Offset) {
        let keep =
            largest_at_most(self.entries(), offset - 1, |i| self.offset_at(i)).map_or(0, |i| i + 1);
        self.file.truncate_entries(keep);
    }

    pub fn reset(&mut self) {
        self.file.truncate_entries(0);
    }

    /// Checks the file is well formed for a `.log` of `log_size_bytes`: whole
    /// entries, offsets and positions strictly increasing, positions inside the
    /// log. Returns the reason when it is not.
    pub fn sanity_check(&self, log_size_bytes: u64) -> Result<(), String> {
        if !self
            .file
            .file_len_bytes()
            .is_multiple_of(OFFSET_INDEX_ENTRY_BYTES)
        {
            return Err(format!(
                "size {} is not a multiple of {OFFSET_INDEX_ENTRY_BYTES}",
                self.file.file_len_bytes()
            ));
        }
        let mut prev: Option<(u32, u32)> = None;
        for i in 0..self.entries() {
            let (rel, pos) = (self.relative_offset(i), self.physical_position(i));
            if rel > i32::MAX as u32 {
                return Err(format!("entry {i} has relative offset {rel}"));
            }
            if u64::from(pos) >= log_size_bytes {
                return Err(format!(
                    "entry {i} points at byte {pos} past the log's {log_size_bytes} bytes"
                ));
            }
            if let Some((prev_rel, prev_pos)) = prev
                && (rel <= prev_rel || pos <= prev_pos)
            {
                return Err(format!("entry {i} ({rel}, {pos}) is out of order"));
            }
            prev = Some((rel, pos));
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
    fn entries_are_kafka_format_and_lookups_floor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000000000000100.index");
        let mut idx = OffsetIndex::open(&path, off(100), 1024).unwrap();
        assert_eq!(
            idx.lookup(off(150)),
            OffsetPosition {
                offset: off(100),
                position: 0
            }
        );
        for i in 1..=10u64 {
            idx.append(off(100 + i as i64 * 10), i * 1000);
        }
        assert_eq!(idx.lookup(off(99)).position, 0);
        assert_eq!(idx.lookup(off(109)).position, 0);
        assert_eq!(idx.lookup(off(110)).position, 1000);
        assert_eq!(idx.lookup(off(155)).position, 5000);
        assert_eq!(idx.lookup(off(1_000_000)).offset, off(200));
        idx.trim().unwrap();
        let raw = std::fs::read(&path).unwrap();
        assert_eq!(raw.len(), 80);
        assert_eq!(&raw[..8], &[0, 0, 0, 10, 0, 0, 0x03, 0xe8]);
        idx.sanity_check(10_001).unwrap();
        assert!(idx.sanity_check(10_000).is_err());
    }

    #[test]
    fn truncate_and_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut idx = OffsetIndex::open(&path, off(0), 8 * 4).unwrap();
        idx.append(off(5), 100);
        idx.append(off(9), 200);
        idx.append(off(12), 300);
        idx.truncate_to(off(9));
        assert_eq!(idx.entries(), 1);
        assert_eq!(idx.last_entry().offset, off(5));
        idx.append(off(7), 150);
        idx.append(off(8), 160);
        idx.append(off(9), 170);
        assert!(idx.is_full());
        idx.append(off(10), 180); // skipped, not a panic
        assert_eq!(idx.entries(), 4);
        drop(idx);
        let idx = OffsetIndex::open(&path, off(0), 8 * 4).unwrap();
        assert_eq!(idx.entries(), 4);
        assert_eq!(idx.lookup(off(8)).position, 160);
    }

    #[test]
    fn sanity_check_catches_disorder_and_partial_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.index");
        let mut raw = Vec::new();
        for (rel, pos) in [(5u32, 100u32), (3, 200)] {
            raw.extend_from_slice(&rel.to_be_bytes());
            raw.extend_from_slice(&pos.to_be_bytes());
        }
        std::fs::write(&path, &raw).unwrap();
        let idx = OffsetIndex::open(&path, off(0), 1024).unwrap();
        assert!(idx.sanity_check(1000).unwrap_err().contains("out of order"));
        raw.truncate(12);
        std::fs::write(&path, &raw).unwrap();
        let idx = OffsetIndex::open(&path, off(0), 1024).unwrap();
        assert!(idx.sanity_check(1000).unwrap_err().contains("multiple"));
    }
}
