//! What a log read for a Fetch hands over (Kafka's `Records`): whole stored
//! batches either in memory (`Bytes`, as read) or as a region of a segment
//! file (Kafka's `FileRecords` slice), which a plaintext connection writes
//! to its socket with sendfile(2) so the records never pass through the
//! broker's memory. Which batches a region holds is decided by the same
//! header walk as a read into memory (`LogSegment::read_file_records`).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::Arc;

use bytes::Bytes;

/// How a log read returns its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Read into memory (`Records::Memory`).
    Memory,
    /// A region of the segment file (`Records::File`) when there is data.
    File,
}

/// `size` bytes of whole batches at `position` of a segment's `.log` file,
/// which stays open (even if deleted) while this lives.
#[derive(Debug, Clone)]
pub struct FileRecords {
    file: Arc<File>,
    position: u64,
    size: usize,
    record_count: u64,
}

impl FileRecords {
    pub fn new(file: Arc<File>, position: u64, size: usize, record_count: u64) -> FileRecords {
        FileRecords {
            file,
            position,
            size,
            record_count,
        }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Where the region starts in the file.
    pub fn position(&self) -> u64 {
        self.position
    }

    pub fn len(&self) -> usize {
        self.size
    }

    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Records in the region's batches (their headers' record counts).
    pub fn record_count(&self) -> u64 {
        self.record_count
    }

    /// `len` bytes at `offset` into this region (a whole region keeps its
    /// record count; a part counts none).
    pub fn slice(&self, offset: usize, len: usize) -> FileRecords {
        assert!(
            offset.checked_add(len).is_some_and(|end| end <= self.size),
            "slice {offset}+{len} of a {}-byte region",
            self.size
        );
        let whole = offset == 0 && len == self.size;
        FileRecords {
            file: Arc::clone(&self.file),
            position: self.position + offset as u64,
            size: len,
            record_count: if whole { self.record_count } else { 0 },
        }
    }

    /// The region's bytes, read now (tests, and paths that need bytes);
    /// `UnexpectedEof` when the file has become shorter than the region.
    pub fn read_to_bytes(&self) -> io::Result<Bytes> {
        let mut buf = vec![0u8; self.size];
        self.file.read_exact_at(&mut buf, self.position)?;
        Ok(Bytes::from(buf))
    }
}

/// Whole stored batches, in memory or in a segment file.
#[derive(Debug, Clone)]
pub enum Records {
    Memory(Bytes),
    File(FileRecords),
}

impl Default for Records {
    fn default() -> Self {
        Records::Memory(Bytes::new())
    }
}

impl From<Bytes> for Records {
    fn from(bytes: Bytes) -> Self {
        Records::Memory(bytes)
    }
}

impl Records {
    pub fn len(&self) -> usize {
        match self {
            Records::Memory(bytes) => bytes.len(),
            Records::File(file) => file.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records in memory, reading a file region now (tests and paths
    /// that need bytes).
    pub fn to_bytes(&self) -> io::Result<Bytes> {
        match self {
            Records::Memory(bytes) => Ok(bytes.clone()),
            Records::File(file) => file.read_to_bytes(),
        }
    }
}

#[cfg(test)]
#[path = "file_records_tests.rs"]
mod tests;
