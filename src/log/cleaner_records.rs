//! The cleaner's view inside one magic-2 batch (Kafka's `MemoryRecords.filterTo`
//! for a single batch): decompress the records section, walk each record's
//! key, value-nullness, offset and timestamp, and rebuild the batch from a
//! subset of its records. A rebuilt batch keeps what Kafka keeps: the base
//! offset, the last offset delta (so the producer's last sequence survives),
//! the base timestamp, producer id, epoch, base sequence, partition leader
//! epoch and attributes, and is recompressed with the same codec. Kept records
//! are copied byte for byte (their deltas stay valid because the base offset
//! and base timestamp do not change); the count, max timestamp, length and
//! CRC are recomputed.

use std::ops::Range;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Decompressor, Gzip, Lz4, Snappy, Zstd};
use thiserror::Error;

use super::batch::{BatchHeader, HEADER_SIZE, LOG_OVERHEAD};
use super::records::read_varlong;
use crate::model::Offset;

const RECORD_COUNT_OFFSET: usize = 57;
const MAX_TIMESTAMP_OFFSET: usize = 35;
const LENGTH_OFFSET: usize = 8;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;

/// Why the cleaner could not look inside (or rebuild) a batch. Such a batch
/// is kept as it is.
#[derive(Debug, Error)]
pub enum RecordsError {
    #[error("batch at offset {base_offset}: codec {codec}: {reason}")]
    Compression {
        base_offset: Offset,
        codec: u8,
        reason: String,
    },
    #[error("batch at offset {base_offset}: corrupt record: {reason}")]
    Corrupt { base_offset: Offset, reason: String },
}

/// One record of a batch, located in the batch's decompressed records section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    /// The record's bytes, length prefix included.
    pub range: Range<usize>,
    pub offset: Offset,
    pub timestamp_ms: i64,
    /// `None` for a null key.
    pub key: Option<Range<usize>>,
    /// False for a tombstone (null value).
    pub has_value: bool,
}

/// A batch's records section, decompressed, and its records.
#[derive(Debug)]
pub struct DecodedBatch {
    pub header: BatchHeader,
    pub records: Bytes,
    pub entries: Vec<RawRecord>,
    /// Snappy in the Java client's xerial framing (kept when re-encoding).
    pub xerial: bool,
}

impl DecodedBatch {
    pub fn key(&self, record: &RawRecord) -> Option<&[u8]> {
        record.key.clone().map(|r| &self.records[r])
    }
}

/// The xerial snappy stream header the Java client writes: magic, then
/// version 1 and compatible version 1, then `[length u32][raw snappy block]`s.
const XERIAL_HEADER: [u8; 16] = [
    0x82, b'S', b'N', b'A', b'P', b'P', b'Y', 0, 0, 0, 0, 1, 0, 0, 0, 1,
];
const XERIAL_MAGIC_BYTES: usize = 8;

fn is_xerial(codec: u8, body: &[u8]) -> bool {
    codec == 2 && body.starts_with(&XERIAL_HEADER[..XERIAL_MAGIC_BYTES])
}

/// Decodes a xerial-framed snappy stream block by block.
fn xerial_decompress(body: &[u8]) -> anyhow::Result<Bytes> {
    let mut out = BytesMut::new();
    let mut pos = XERIAL_HEADER.len();
    while pos < body.len() {
        let Some(len) = body.get(pos..pos + 4) else {
            anyhow::bail!("xerial block length cut");
        };
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        pos += 4;
        let Some(block) = body.get(pos..pos + len) else {
            anyhow::bail!("xerial block cut");
        };
        let mut input = Bytes::copy_from_slice(block);
        let raw = Snappy::decompress(&mut input, |b: &mut Bytes| {
            Ok(b.copy_to_bytes(b.remaining()))
        })?;
        out.put_slice(&raw);
        pos += len;
    }
    Ok(out.freeze())
}

/// Decompresses `body` with Kafka codec `codec` (0 none .. 4 zstd).
pub(super) fn decompress(codec: u8, body: &[u8]) -> anyhow::Result<Bytes> {
    if is_xerial(codec, body) {
        return xerial_decompress(body);
    }
    let mut input = Bytes::copy_from_slice(body);
    let take = |b: &mut Bytes| Ok(b.copy_to_bytes(b.remaining()));
    match codec {
        0 => Ok(input),
        1 => Gzip::decompress(&mut input, take),
        2 => Snappy::decompress(&mut input, take),
        3 => Lz4::decompress(&mut input, take),
        4 => Zstd::decompress(&mut input, take),
        other => anyhow::bail!("unknown codec {other}"),
    }
}

/// Compresses `raw` with Kafka codec `codec`.
pub(super) fn compress(codec: u8, raw: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = BytesMut::new();
    let put = |tmp: &mut BytesMut| {
        tmp.put_slice(raw);
        Ok(())
    };
    match codec {
        0 => return Ok(raw.to_vec()),
        1 => Gzip::compress(&mut out, put)?,
        2 => Snappy::compress(&mut out, put)?,
        3 => Lz4::compress(&mut out, put)?,
        4 => Zstd::compress(&mut out, put)?,
        other => anyhow::bail!("unknown codec {other}"),
    }
    Ok(out.to_vec())
}

/// Decodes the whole batch `batch` (header included, CRC already checked on
/// the way into the log): decompresses its records and locates each one.
pub fn decode_batch(batch: &[u8]) -> Result<DecodedBatch, RecordsError> {
    let header = BatchHeader::parse(batch).ok_or_else(|| RecordsError::Corrupt {
        base_offset: Offset::UNKNOWN,
        reason: "shorter than a batch header".to_string(),
    })?;
    let base_offset = header.base_offset;
    let end = header.size_bytes().min(batch.len());
    let codec = header.compression_codec();
    let xerial = is_xerial(codec, &batch[HEADER_SIZE..end]);
    let records =
        decompress(codec, &batch[HEADER_SIZE..end]).map_err(|e| RecordsError::Compression {
            base_offset,
            codec,
            reason: e.to_string(),
        })?;
    let corrupt = |reason: &str| RecordsError::Corrupt {
        base_offset,
        reason: reason.to_string(),
    };
    let count = usize::try_from(header.record_count).map_err(|_| corrupt("negative count"))?;
    let mut entries = Vec::with_capacity(count.min(records.len()));
    let buf = &records[..];
    let mut pos = 0;
    for _ in 0..count {
        let start = pos;
        let length = read_varlong(buf, &mut pos).ok_or_else(|| corrupt("bad length"))?;
        let body_end = usize::try_from(length)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| corrupt("record past the batch end"))?;
        let body = &buf[..body_end];
        pos += 1; // attributes
        let ts_delta = read_varlong(body, &mut pos).ok_or_else(|| corrupt("bad timestamp"))?;
        let offset_delta = read_varlong(body, &mut pos).ok_or_else(|| corrupt("bad offset"))?;
        let key_len = read_varlong(body, &mut pos).ok_or_else(|| corrupt("bad key length"))?;
        let key = if key_len < 0 {
            None
        } else {
            let key_end = pos + key_len as usize;
            if key_end > body_end {
                return Err(corrupt("key past the record end"));
            }
            let r = pos..key_end;
            pos = key_end;
            Some(r)
        };
        let value_len = read_varlong(body, &mut pos).ok_or_else(|| corrupt("bad value length"))?;
        let timestamp_ms = if header.is_log_append_time() {
            header.max_timestamp
        } else {
            header.base_timestamp.wrapping_add(ts_delta)
        };
        entries.push(RawRecord {
            range: start..body_end,
            offset: base_offset + offset_delta,
            timestamp_ms,
            key,
            has_value: value_len >= 0,
        });
        pos = body_end;
    }
    Ok(DecodedBatch {
        header,
        records,
        entries,
        xerial,
    })
}

/// Rebuilds `original` (the stored batch) with only the records `kept` of
/// `decoded`, in order. With no records left the result is Kafka's empty
/// batch header (count 0, offsets and producer fields unchanged).
pub fn rebuild_batch(
    original: &[u8],
    decoded: &DecodedBatch,
    kept: &[&RawRecord],
) -> Result<Vec<u8>, RecordsError> {
    let header = &decoded.header;
    let mut raw = Vec::with_capacity(kept.iter().map(|r| r.range.len()).sum());
    for r in kept {
        raw.extend_from_slice(&decoded.records[r.range.clone()]);
    }
    let codec = header.compression_codec();
    let (body, attributes) = if kept.is_empty() {
        // Kafka writes an empty batch uncompressed.
        (Vec::new(), header.attributes & !0x07)
    } else {
        let compressed = if decoded.xerial {
            compress(codec, &raw).map(|block| {
                let mut framed = XERIAL_HEADER.to_vec();
                framed.extend_from_slice(&(block.len() as u32).to_be_bytes());
                framed.extend_from_slice(&block);
                framed
            })
        } else {
            compress(codec, &raw)
        };
        let body = compressed.map_err(|e| RecordsError::Compression {
            base_offset: header.base_offset,
            codec,
            reason: e.to_string(),
        })?;
        (body, header.attributes)
    };
    let max_timestamp = if header.is_log_append_time() || kept.is_empty() {
        header.max_timestamp
    } else {
        kept.iter()
            .map(|r| r.timestamp_ms)
            .max()
            .unwrap_or(header.max_timestamp)
    };
    let mut out = Vec::with_capacity(HEADER_SIZE + body.len());
    out.extend_from_slice(&original[..HEADER_SIZE]);
    out.extend_from_slice(&body);
    let batch_length = (out.len() - LOG_OVERHEAD) as i32;
    out[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&batch_length.to_be_bytes());
    out[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
    out[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8]
        .copy_from_slice(&max_timestamp.to_be_bytes());
    out[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4]
        .copy_from_slice(&(kept.len() as i32).to_be_bytes());
    let crc = crc32c::crc32c(&out[ATTRIBUTES_OFFSET..]);
    out[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::batch::validate_batches;
    use crate::log::test_util::keyed_batch;
    use crate::model::off;

    #[test]
    fn xerial_framed_snappy_is_decoded_and_kept_framed() {
        let plain = keyed_batch(5, &[(Some("a"), Some("1")), (Some("b"), Some("2"))]);
        let raw = &plain[HEADER_SIZE..];
        // Two xerial blocks, as the Java client writes long batches.
        let mut body = XERIAL_HEADER.to_vec();
        for half in [&raw[..raw.len() / 2], &raw[raw.len() / 2..]] {
            let block = compress(2, half).unwrap();
            body.extend_from_slice(&(block.len() as u32).to_be_bytes());
            body.extend_from_slice(&block);
        }
        let mut b = plain[..HEADER_SIZE].to_vec();
        b.extend_from_slice(&body);
        let len = (b.len() - LOG_OVERHEAD) as i32;
        b[LENGTH_OFFSET..LENGTH_OFFSET + 4].copy_from_slice(&len.to_be_bytes());
        b[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&2i16.to_be_bytes());
        let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        let d = decode_batch(&b).unwrap();
        assert!(d.xerial);
        assert_eq!(d.key(&d.entries[1]), Some(&b"b"[..]));
        let out = rebuild_batch(&b, &d, &[&d.entries[1]]).unwrap();
        assert!(out[HEADER_SIZE..].starts_with(&XERIAL_HEADER));
        let again = decode_batch(&out).unwrap();
        assert_eq!(again.entries.len(), 1);
        assert_eq!(again.entries[0].offset, off(6));
    }

    #[test]
    fn decodes_keys_tombstones_and_offsets() {
        let b = keyed_batch(
            10,
            &[(Some("a"), Some("1")), (Some("b"), None), (None, Some("x"))],
        );
        let d = decode_batch(&b).unwrap();
        assert_eq!(d.entries.len(), 3);
        assert_eq!(d.key(&d.entries[0]), Some(&b"a"[..]));
        assert_eq!(d.entries[1].offset, off(11));
        assert!(!d.entries[1].has_value);
        assert_eq!(d.key(&d.entries[2]), None);
    }

    #[test]
    fn rebuilt_batch_keeps_offsets_and_is_valid_for_every_codec() {
        for codec in [0u8, 1, 3, 4, 2] {
            let plain = keyed_batch(100, &[(Some("a"), Some("1")), (Some("b"), Some("2"))]);
            let b = crate::log::test_util::compress_batch(&plain, codec);
            let d = decode_batch(&b).unwrap();
            let kept = [&d.entries[1]];
            let out = rebuild_batch(&b, &d, &kept).unwrap();
            let infos = validate_batches(&out, usize::MAX).unwrap();
            assert_eq!(infos[0].base_offset, off(100));
            assert_eq!(infos[0].last_offset(), off(101), "last offset delta kept");
            assert_eq!(infos[0].record_count, 1);
            assert_eq!(infos[0].compression_codec, codec);
            let again = decode_batch(&out).unwrap();
            assert_eq!(again.entries[0].offset, off(101));
            assert_eq!(again.key(&again.entries[0]), Some(&b"b"[..]));
            let empty = rebuild_batch(&b, &d, &[]).unwrap();
            let infos = validate_batches(&empty, usize::MAX).unwrap();
            assert_eq!(infos[0].record_count, 0);
            assert_eq!(infos[0].last_offset(), off(101));
        }
    }
}
