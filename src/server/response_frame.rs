//! A response on its way to the socket, without a second copy of its record
//! data. `ChunkedBuf` is the buffer responses are encoded into (it implements
//! kafka-protocol's `ByteBufMut`): small fields go into a growing buffer, and
//! a large slice that lies inside one of the record payloads the handler
//! registered (the `Bytes` its log reads returned) becomes a reference to
//! that payload (`Bytes::slice_ref`) instead of being copied. The frame is
//! the resulting chunks, written to the socket in order, plus whatever must
//! live until they are written (the Fetch memory reservation).
//!
//! Records a log read left in their segment file (`FileRecords`) enter the
//! body as stand-ins (`FileSlots`): slices of one zero-filled block that is
//! only ever address space, of the region's length, so the encoder writes
//! the right length prefix; the buffer recognises a stand-in by its address
//! and puts the file region in the frame in its place. The connection
//! writes file regions with sendfile(2) (`sendfile.rs`).

use std::ops::Range;
use std::sync::OnceLock;

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;

use super::fetch_budget::FetchGrant;
use crate::log::FileRecords;

/// Slices shorter than this are copied (a chunk of its own costs more).
const SHARE_MIN_BYTES: usize = 512;

/// The stand-in block's size: file records of one response beyond it go
/// into the body as bytes. At `huge_alloc::HUGE_BLOCK_BYTES` it is mapped
/// lazily (`MAP_NORESERVE`) and, never written, costs no memory.
const STAND_IN_BLOCK_BYTES: usize = 1 << 30;

/// The zero-filled block stand-ins are sliced from (allocated once).
fn stand_in_block() -> &'static [u8] {
    static BLOCK: OnceLock<&'static [u8]> = OnceLock::new();
    BLOCK.get_or_init(|| Box::leak(vec![0u8; STAND_IN_BLOCK_BYTES].into_boxed_slice()))
}

/// The file regions of one response and the stand-ins that take their
/// place in its body (see the module doc).
#[derive(Debug, Default)]
pub struct FileSlots {
    /// Bytes of the stand-in block given out, in order.
    used: usize,
    slots: Vec<(Bytes, FileRecords)>,
}

impl FileSlots {
    /// A stand-in for `records`, to be put in the body where the records
    /// go; `None` when this response's stand-ins would pass the block.
    pub fn stand_in(&mut self, records: FileRecords) -> Option<Bytes> {
        let end = self.used.checked_add(records.len())?;
        if end > STAND_IN_BLOCK_BYTES {
            return None;
        }
        let stand_in = Bytes::from_static(&stand_in_block()[self.used..end]);
        self.used = end;
        self.slots.push((stand_in.clone(), records));
        Some(stand_in)
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes of all the regions.
    pub fn bytes(&self) -> usize {
        self.used
    }

    /// The region `src` stands in for (a part of one, for a part of its
    /// stand-in), if `src` lies in one of this response's stand-ins.
    fn region_of(&self, src: &[u8]) -> Option<FileRecords> {
        let wanted = address_range(src);
        let i = self
            .slots
            .partition_point(|(s, _)| s.as_ptr() as usize <= wanted.start);
        let (stand_in, records) = self.slots.get(i.checked_sub(1)?)?;
        let range = address_range(stand_in);
        (range.start <= wanted.start && wanted.end <= range.end)
            .then(|| records.slice(wanted.start - range.start, src.len()))
    }
}

/// One piece of a frame, in write order: bytes, or a region of a segment
/// file standing in the body where a stand-in was encoded.
#[derive(Debug, Clone)]
pub enum Chunk {
    Bytes(Bytes),
    File(FileRecords),
}

impl Chunk {
    pub fn len(&self) -> usize {
        match self {
            Chunk::Bytes(b) => b.len(),
            Chunk::File(f) => f.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of a byte chunk.
    pub fn as_bytes(&self) -> Option<&Bytes> {
        match self {
            Chunk::Bytes(b) => Some(b),
            Chunk::File(_) => None,
        }
    }

    /// Where a byte chunk's bytes are (null for a file region): tests see
    /// which chunks reference a payload.
    pub fn as_ptr(&self) -> *const u8 {
        self.as_bytes().map_or(std::ptr::null(), |b| b.as_ptr())
    }

    /// Appends the chunk's bytes to `out`, reading a file region now.
    fn append_to(&self, out: &mut BytesMut) -> std::io::Result<()> {
        match self {
            Chunk::Bytes(b) => out.extend_from_slice(b),
            Chunk::File(f) => out.extend_from_slice(&f.read_to_bytes()?),
        }
        Ok(())
    }
}

/// An encoded response: chunks in order, and what they keep alive.
#[derive(Debug, Default)]
pub struct ResponseFrame {
    chunks: Vec<Chunk>,
    len: usize,
    /// Released once the frame is written (dropped).
    _memory: Option<FetchGrant>,
}

impl ResponseFrame {
    /// Bytes of the whole response (the size prefix excluded).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// Bytes of the frame that are file regions.
    pub fn file_bytes(&self) -> usize {
        self.chunks
            .iter()
            .filter(|c| matches!(c, Chunk::File(_)))
            .map(Chunk::len)
            .sum()
    }

    /// Keeps `grant` until the frame is dropped (after the write).
    pub fn hold(&mut self, grant: FetchGrant) {
        self._memory = Some(grant);
    }

    /// The bytes in one piece (tests and small answers); file regions are
    /// read now (`UnexpectedEof` when one has become shorter).
    pub fn try_to_vec(&self) -> std::io::Result<Vec<u8>> {
        let mut out = BytesMut::with_capacity(self.len);
        for chunk in &self.chunks {
            chunk.append_to(&mut out)?;
        }
        Ok(out.to_vec())
    }

    /// The bytes in one piece (tests and small answers).
    pub fn to_vec(&self) -> Vec<u8> {
        self.try_to_vec()
            .expect("file regions of the frame readable")
    }
}

impl From<BytesMut> for ResponseFrame {
    fn from(bytes: BytesMut) -> Self {
        let len = bytes.len();
        ResponseFrame {
            chunks: vec![Chunk::Bytes(bytes.freeze())],
            len,
            _memory: None,
        }
    }
}

/// The encoding buffer: chunks so far, the growing tail, and the payloads
/// large slices may point into (sorted by address).
#[derive(Debug)]
pub struct ChunkedBuf {
    chunks: Vec<Chunk>,
    /// Bytes in `chunks`.
    chunked_len: usize,
    current: BytesMut,
    payloads: Vec<Bytes>,
    slots: FileSlots,
    /// Stand-in bytes replaced by file regions so far.
    replaced: usize,
    /// Set when a file region could not be read back for a seek (never
    /// happens for the messages Sluice encodes); the frame is refused.
    broken: Option<std::io::Error>,
}

fn address_range(bytes: &[u8]) -> Range<usize> {
    let start = bytes.as_ptr() as usize;
    start..start + bytes.len()
}

impl ChunkedBuf {
    /// A buffer that references (not copies) slices of `payloads`.
    pub fn new(capacity: usize, mut payloads: Vec<Bytes>) -> ChunkedBuf {
        payloads.retain(|p| p.len() >= SHARE_MIN_BYTES);
        payloads.sort_by_key(|p| p.as_ptr() as usize);
        ChunkedBuf {
            chunks: Vec::new(),
            chunked_len: 0,
            current: BytesMut::with_capacity(capacity),
            payloads,
            slots: FileSlots::default(),
            replaced: 0,
            broken: None,
        }
    }

    /// Puts the file regions of `slots` in place of their stand-ins.
    pub fn with_files(mut self, slots: FileSlots) -> ChunkedBuf {
        self.slots = slots;
        self
    }

    /// The payload `src` lies inside, if any.
    fn payload_of(&self, src: &[u8]) -> Option<&Bytes> {
        let wanted = address_range(src);
        let i = self
            .payloads
            .partition_point(|p| p.as_ptr() as usize <= wanted.start);
        let candidate = self.payloads.get(i.checked_sub(1)?)?;
        let range = address_range(candidate);
        (range.start <= wanted.start && wanted.end <= range.end).then_some(candidate)
    }

    fn flush_current(&mut self) {
        if !self.current.is_empty() {
            let done = self.current.split().freeze();
            self.chunked_len += done.len();
            self.chunks.push(Chunk::Bytes(done));
        }
    }

    /// Moves every chunk from byte `offset` on back into `current` (a copy;
    /// file regions are read), so that range can be written again; never
    /// happens for the messages Sluice encodes (only record-batch encoders
    /// seek back).
    fn unshare_from(&mut self, offset: usize) {
        if offset >= self.chunked_len {
            return;
        }
        let mut kept_len = 0;
        let mut split_at = self.chunks.len();
        for (i, chunk) in self.chunks.iter().enumerate() {
            if kept_len + chunk.len() > offset {
                split_at = i;
                break;
            }
            kept_len += chunk.len();
        }
        let tail: Vec<Chunk> = self.chunks.drain(split_at..).collect();
        let mut merged = BytesMut::with_capacity(
            tail.iter().map(Chunk::len).sum::<usize>() + self.current.len(),
        );
        for chunk in &tail {
            if let Err(e) = chunk.append_to(&mut merged) {
                // Zeros keep the offsets right; the frame is refused.
                merged.resize(merged.len() + chunk.len(), 0);
                self.broken.get_or_insert(e);
            }
        }
        merged.extend_from_slice(&self.current);
        self.current = merged;
        self.chunked_len = kept_len;
    }

    /// The finished frame; an error when a file region had to be read
    /// back (a seek over it) and could not be.
    pub fn try_finish(mut self) -> std::io::Result<ResponseFrame> {
        self.flush_current();
        if let Some(e) = self.broken {
            return Err(e);
        }
        // A stand-in the encoder copied instead of passing it whole would
        // put zeros on the wire: refuse the frame.
        if self.replaced != self.slots.bytes() {
            return Err(std::io::Error::other(format!(
                "{} of {} stand-in bytes replaced by file records",
                self.replaced,
                self.slots.bytes()
            )));
        }
        Ok(ResponseFrame {
            len: self.chunked_len,
            chunks: self.chunks,
            _memory: None,
        })
    }

    /// The finished frame (tests: no file region can fail to be read).
    pub fn finish(self) -> ResponseFrame {
        self.try_finish().expect("file regions readable")
    }
}

// SAFETY: every method delegates to `current` (a `BytesMut`), whose
// `chunk_mut`/`advance_mut` contract this type inherits unchanged.
#[allow(unsafe_code)] // BufMut is an unsafe trait; every method delegates to BytesMut
unsafe impl BufMut for ChunkedBuf {
    fn remaining_mut(&self) -> usize {
        self.current.remaining_mut()
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        // SAFETY: the caller initialised `cnt` bytes of `current.chunk_mut()`.
        unsafe { self.current.advance_mut(cnt) }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        self.current.chunk_mut()
    }

    fn put_slice(&mut self, src: &[u8]) {
        if !src.is_empty()
            && !self.slots.is_empty()
            && let Some(file) = self.slots.region_of(src)
        {
            self.flush_current();
            self.chunked_len += file.len();
            self.replaced += file.len();
            self.chunks.push(Chunk::File(file));
            return;
        }
        if src.len() >= SHARE_MIN_BYTES
            && let Some(payload) = self.payload_of(src)
        {
            let shared = payload.slice_ref(src);
            self.flush_current();
            self.chunked_len += shared.len();
            self.chunks.push(Chunk::Bytes(shared));
            return;
        }
        self.current.extend_from_slice(src);
    }
}

impl ByteBufMut for ChunkedBuf {
    fn offset(&self) -> usize {
        self.chunked_len + self.current.len()
    }

    fn seek(&mut self, offset: usize) {
        self.unshare_from(offset);
        self.current.resize(offset - self.chunked_len, 0);
    }

    fn range(&mut self, r: Range<usize>) -> &mut [u8] {
        self.unshare_from(r.start);
        let base = self.chunked_len;
        &mut self.current[r.start - base..r.end - base]
    }
}

#[cfg(test)]
#[path = "response_frame_tests.rs"]
mod tests;
