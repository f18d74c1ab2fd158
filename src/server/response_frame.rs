//! A response on its way to the socket, without a second copy of its record
//! data. `ChunkedBuf` is the buffer responses are encoded into (it implements
//! kafka-protocol's `ByteBufMut`): small fields go into a growing buffer, and
//! a large slice that lies inside one of the record payloads the handler
//! registered (the `Bytes` its log reads returned) becomes a reference to
//! that payload (`Bytes::slice_ref`) instead of being copied. The frame is
//! the resulting chunks, written to the socket in order, plus whatever must
//! live until they are written (the Fetch memory reservation).

use std::ops::Range;

use bytes::buf::UninitSlice;
use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::protocol::buf::ByteBufMut;

use super::fetch_budget::FetchGrant;

/// Slices shorter than this are copied (a chunk of its own costs more).
const SHARE_MIN_BYTES: usize = 512;

/// An encoded response: chunks in order, and what they keep alive.
#[derive(Debug, Default)]
pub struct ResponseFrame {
    chunks: Vec<Bytes>,
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

    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// Keeps `grant` until the frame is dropped (after the write).
    pub fn hold(&mut self, grant: FetchGrant) {
        self._memory = Some(grant);
    }

    /// The bytes in one piece (tests and small answers).
    pub fn to_vec(&self) -> Vec<u8> {
        self.chunks.iter().flat_map(|c| c.iter().copied()).collect()
    }
}

impl From<BytesMut> for ResponseFrame {
    fn from(bytes: BytesMut) -> Self {
        let len = bytes.len();
        ResponseFrame {
            chunks: vec![bytes.freeze()],
            len,
            _memory: None,
        }
    }
}

/// The encoding buffer: chunks so far, the growing tail, and the payloads
/// large slices may point into (sorted by address).
#[derive(Debug)]
pub struct ChunkedBuf {
    chunks: Vec<Bytes>,
    /// Bytes in `chunks`.
    chunked_len: usize,
    current: BytesMut,
    payloads: Vec<Bytes>,
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
        }
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
            self.chunks.push(done);
        }
    }

    /// Moves every chunk from byte `offset` on back into `current` (a copy),
    /// so that range can be written again; never happens for the messages
    /// Sluice encodes (only record-batch encoders seek back).
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
        let tail: Vec<Bytes> = self.chunks.drain(split_at..).collect();
        let mut merged = BytesMut::with_capacity(
            tail.iter().map(Bytes::len).sum::<usize>() + self.current.len(),
        );
        for chunk in &tail {
            merged.extend_from_slice(chunk);
        }
        merged.extend_from_slice(&self.current);
        self.current = merged;
        self.chunked_len = kept_len;
    }

    /// The finished frame.
    pub fn finish(mut self) -> ResponseFrame {
        self.flush_current();
        ResponseFrame {
            len: self.chunked_len,
            chunks: self.chunks,
            _memory: None,
        }
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
        if src.len() >= SHARE_MIN_BYTES
            && let Some(payload) = self.payload_of(src)
        {
            let shared = payload.slice_ref(src);
            self.flush_current();
            self.chunked_len += shared.len();
            self.chunks.push(shared);
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
