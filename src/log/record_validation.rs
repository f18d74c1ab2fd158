//! The record-level checks Kafka's `LogValidator` makes on a produced magic-2
//! batch (its `DefaultRecord.readFrom` and batch iterator): every record is
//! walked, after decompressing a compressed batch, and must be well formed:
//! a length that fits, then attributes, timestamp delta, offset delta, key,
//! value and headers as varints and byte runs that end exactly at the length;
//! offset deltas 0, 1, 2, ... (Kafka checks this for compressed batches; a
//! stored uncompressed batch with other deltas would give its records wrong
//! offsets, so Sluice refuses it too); exactly `recordCount` records and no
//! bytes after the last; and on a compacted topic a key on every record.
//!
//! A malformed record is Kafka's `InvalidRecordException` (INVALID_RECORD);
//! a records section that does not decompress is CORRUPT_MESSAGE. Nothing
//! is written when a batch fails. Only lengths are read for the key, value
//! and header bytes, so an uncompressed batch costs one varint walk.

use super::batch::{BatchError, BatchInfo, HEADER_SIZE};
use super::cleaner_records::decompress;
use super::records::read_varlong;
use crate::model::TopicPartition;

/// Kafka's `ByteUtils.readVarint`: a zigzag varint of at most 5 bytes that
/// fits an i32; `None` when malformed or cut.
fn read_varint(buf: &[u8], pos: &mut usize) -> Option<i32> {
    let mut raw: u32 = 0;
    for i in 0..5 {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        raw |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i == 4 && byte > 0x0f {
                return None; // more than 32 bits
            }
            return Some(((raw >> 1) as i32) ^ -((raw & 1) as i32));
        }
    }
    None
}

/// Skips a varint-length-prefixed byte run (`-1`: null when `nullable`).
fn skip_bytes(body: &[u8], pos: &mut usize, nullable: bool) -> Result<bool, &'static str> {
    let len = read_varint(body, pos).ok_or("bad length varint")?;
    if len < 0 {
        return if len == -1 && nullable {
            Ok(false)
        } else {
            Err("negative length")
        };
    }
    let end = pos.checked_add(len as usize).ok_or("length overflows")?;
    if end > body.len() {
        return Err("field runs past the record");
    }
    *pos = end;
    Ok(true)
}

/// One record's body (after its length varint): what `DefaultRecord.readFrom`
/// reads. Returns whether it has a key.
fn check_record_body(body: &[u8], expected_offset_delta: i32) -> Result<bool, String> {
    let mut pos = 1; // attributes
    if body.is_empty() {
        return Err("empty record".to_string());
    }
    read_varlong(body, &mut pos).ok_or("bad timestamp delta")?;
    let offset_delta = read_varint(body, &mut pos).ok_or("bad offset delta")?;
    if offset_delta != expected_offset_delta {
        return Err(format!(
            "offset delta {offset_delta}, expected {expected_offset_delta} (offsets must be incremental)"
        ));
    }
    let has_key = skip_bytes(body, &mut pos, true).map_err(|e| format!("key: {e}"))?;
    skip_bytes(body, &mut pos, true).map_err(|e| format!("value: {e}"))?;
    let headers = read_varint(body, &mut pos).ok_or("bad header count")?;
    if headers < 0 {
        return Err(format!("invalid number of record headers {headers}"));
    }
    for _ in 0..headers {
        skip_bytes(body, &mut pos, false).map_err(|e| format!("header key: {e}"))?;
        skip_bytes(body, &mut pos, true).map_err(|e| format!("header value: {e}"))?;
    }
    if pos != body.len() {
        return Err(format!(
            "record length {} but its fields end at {pos}",
            body.len()
        ));
    }
    Ok(has_key)
}

/// Walks the `count` records of a batch's (decompressed) records section.
fn check_records_section(records: &[u8], count: i32, require_keys: bool) -> Result<(), String> {
    let mut pos = 0;
    for index in 0..count {
        let length = read_varint(records, &mut pos).ok_or_else(|| {
            format!("record {index}: no length varint (declared {count} records)")
        })?;
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| pos.checked_add(l))
            .filter(|&end| end <= records.len())
            .ok_or_else(|| {
                format!(
                    "record {index}: length {length} but {} bytes remain (declared {count} records)",
                    records.len() - pos
                )
            })?;
        let has_key = check_record_body(&records[pos..end], index)
            .map_err(|e| format!("record {index}: {e}"))?;
        if require_keys && !has_key {
            return Err("Compacted topic cannot accept message without key".to_string());
        }
        pos = end;
    }
    if pos != records.len() {
        return Err(format!(
            "incorrect declared batch size: {} bytes after the {count} declared records",
            records.len() - pos
        ));
    }
    Ok(())
}

/// Validates every record of the produced batch `info` in `buf` (CRC and
/// header already checked by `validate_batches`). `require_keys` for a
/// compacted topic; `tp` names the partition in the error.
pub fn validate_records(
    buf: &[u8],
    info: &BatchInfo,
    require_keys: bool,
    tp: &TopicPartition,
) -> Result<(), BatchError> {
    let section = &buf[info.position + HEADER_SIZE..info.position + info.size];
    let decompressed;
    let records = if info.compression_codec == 0 {
        section
    } else {
        decompressed =
            decompress(info.compression_codec, section).map_err(|e| BatchError::CorruptRecord {
                position: info.position,
                reason: format!(
                    "records of codec {} do not decompress in {tp}: {e}",
                    info.compression_codec
                ),
            })?;
        &decompressed[..]
    };
    check_records_section(records, info.record_count, require_keys).map_err(|reason| {
        BatchError::InvalidRecord {
            position: info.position,
            reason: format!("{reason} in topic partition {tp}"),
        }
    })
}

#[cfg(test)]
#[path = "record_validation_tests.rs"]
mod tests;
