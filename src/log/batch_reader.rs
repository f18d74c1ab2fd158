//! Reading stored batches out of a segment's `.log` file by positional reads
//! (`pread`), never mapping or copying the whole file: a chunked reader that
//! serves byte ranges from a small refillable buffer, and a walker over batch
//! headers that skips record bodies.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use super::batch::{BatchHeader, HEADER_SIZE, LOG_OVERHEAD, MIN_BATCH_LENGTH};
use crate::model::Offset;

/// Chunk size for header walks (read and lookup paths): about one index interval.
pub const HEADER_WALK_CHUNK_BYTES: usize = 8 * 1024;
/// Chunk size for sequential scans that need whole batches (recovery).
pub const SCAN_CHUNK_BYTES: usize = 1024 * 1024;

/// Reads into `buf` at `position` until it is full or the file ends; returns
/// the number of bytes read (short only at end of file).
pub fn read_full_at(file: &File, buf: &mut [u8], position: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], position + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Reads up to `len` bytes at `position` into a new buffer; its length is
/// what was read, short only at end of file. (Reading into an unzeroed
/// buffer would save the zeroing pass, about 7 % of a consume's broker CPU
/// by `perf`, but takes unsafe code for a saving the bench cannot resolve.)
pub fn read_up_to_at(file: &File, len: usize, position: u64) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let read = read_full_at(file, &mut buf, position)?;
    buf.truncate(read);
    Ok(buf)
}

/// Serves `[pos, pos+len)` slices of a file region `[.., end)` from a buffer
/// refilled by one positional read of at least `chunk_bytes` when a request
/// falls outside it.
pub struct ChunkReader<'a> {
    file: &'a File,
    end: u64,
    chunk_bytes: usize,
    buf: Vec<u8>,
    buf_start: u64,
    buf_len: usize,
}

impl<'a> ChunkReader<'a> {
    pub fn new(file: &'a File, end: u64, chunk_bytes: usize) -> Self {
        ChunkReader {
            file,
            end,
            chunk_bytes,
            buf: Vec::new(),
            buf_start: 0,
            buf_len: 0,
        }
    }

    /// The `len` bytes at `pos`, or `None` when the range passes `end` or the
    /// file is shorter than expected (a concurrent truncation).
    pub fn get(&mut self, pos: u64, len: usize) -> io::Result<Option<&[u8]>> {
        let Some(want_end) = pos.checked_add(len as u64) else {
            return Ok(None);
        };
        if want_end > self.end {
            return Ok(None);
        }
        let cached = pos >= self.buf_start && want_end <= self.buf_start + self.buf_len as u64;
        if !cached {
            let fill = (self.end - pos).min(len.max(self.chunk_bytes) as u64) as usize;
            if self.buf.len() < fill {
                self.buf.resize(fill, 0);
            }
            self.buf_start = pos;
            self.buf_len = read_full_at(self.file, &mut self.buf[..fill], pos)?;
            if self.buf_len < len {
                return Ok(None);
            }
        }
        let from = (pos - self.buf_start) as usize;
        Ok(Some(&self.buf[from..from + len]))
    }
}

/// A batch header and where it sits in its segment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredBatch {
    pub position: u64,
    pub header: BatchHeader,
}

impl StoredBatch {
    pub fn size_bytes(&self) -> usize {
        self.header.size_bytes()
    }

    pub fn last_offset(&self) -> Offset {
        self.header.last_offset()
    }

    pub fn end_position(&self) -> u64 {
        self.position + self.size_bytes() as u64
    }
}

/// Iterates the batches of a file region by header alone. Stops at the first
/// incomplete batch (end of committed data); a header with an impossible length
/// is reported as `InvalidData` since committed data was validated on the way in.
pub struct BatchHeaders<'a> {
    reader: ChunkReader<'a>,
    pos: u64,
    end: u64,
    done: bool,
}

impl<'a> BatchHeaders<'a> {
    pub fn new(file: &'a File, start: u64, end: u64, chunk_bytes: usize) -> Self {
        BatchHeaders {
            reader: ChunkReader::new(file, end, chunk_bytes),
            pos: start,
            end,
            done: false,
        }
    }

    fn next_batch(&mut self) -> io::Result<Option<StoredBatch>> {
        let Some(bytes) = self.reader.get(self.pos, HEADER_SIZE)? else {
            return Ok(None);
        };
        let header = BatchHeader::parse(bytes).expect("slice holds a full header");
        if header.batch_length < MIN_BATCH_LENGTH {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "batch at byte {} has length {}, below the minimum",
                    self.pos, header.batch_length
                ),
            ));
        }
        let size = header.batch_length as u64 + LOG_OVERHEAD as u64;
        if self.pos + size > self.end {
            return Ok(None);
        }
        let batch = StoredBatch {
            position: self.pos,
            header,
        };
        self.pos += size;
        Ok(Some(batch))
    }
}

impl Iterator for BatchHeaders<'_> {
    type Item = io::Result<StoredBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let item = self.next_batch().transpose();
        if !matches!(item, Some(Ok(_))) {
            self.done = true;
        }
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::batch;
    use crate::model::off;
    use std::io::Write;

    #[test]
    fn walks_headers_and_stops_at_partial_tail() {
        let mut f = tempfile::tempfile().unwrap();
        let mut sizes = Vec::new();
        for i in 0..50 {
            let b = batch(i * 3, 3);
            sizes.push(b.len());
            f.write_all(&b).unwrap();
        }
        let full: u64 = sizes.iter().map(|&s| s as u64).sum();
        f.write_all(&batch(150, 2)[..30]).unwrap();
        let end = full + 30;
        let got: Vec<StoredBatch> = BatchHeaders::new(&f, 0, end, 256)
            .collect::<io::Result<_>>()
            .unwrap();
        assert_eq!(got.len(), 50);
        assert_eq!(got[49].last_offset(), off(149));
        assert_eq!(got[49].end_position(), full);
        // A tiny chunk size still works: every header needs its own read.
        let small: Vec<_> = BatchHeaders::new(&f, got[10].position, full, 1)
            .collect::<io::Result<Vec<_>>>()
            .unwrap();
        assert_eq!(small.len(), 40);
    }

    #[test]
    fn chunk_reader_refuses_ranges_past_end() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[1, 2, 3, 4, 5]).unwrap();
        let mut r = ChunkReader::new(&f, 5, 2);
        assert_eq!(r.get(1, 3).unwrap(), Some(&[2u8, 3, 4][..]));
        assert_eq!(r.get(3, 2).unwrap(), Some(&[4u8, 5][..]));
        assert_eq!(r.get(4, 2).unwrap(), None);
        let mut past = ChunkReader::new(&f, 10, 2);
        assert_eq!(past.get(4, 3).unwrap(), None);
    }

    #[test]
    fn read_up_to_at_reads_the_range_and_stops_at_end_of_file() {
        let mut f = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        f.write_all(&data).unwrap();
        assert_eq!(read_up_to_at(&f, 300, 1000).unwrap(), &data[1000..1300]);
        assert_eq!(read_up_to_at(&f, 500, 9_800).unwrap(), &data[9_800..]);
        assert!(read_up_to_at(&f, 10, 20_000).unwrap().is_empty());
        assert!(read_up_to_at(&f, 0, 0).unwrap().is_empty());
    }
}
