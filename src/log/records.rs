//! Walks the records inside one uncompressed magic-2 batch, reading only each
//! record's length, timestamp delta and offset delta. This is the single place
//! storage looks inside a batch, and only for ListOffsets-by-timestamp; appends
//! and fetches never decode records.
//!
//! Record layout: `length varint | attributes i8 | timestampDelta varlong |
//! offsetDelta varint | key | value | headers`, varints zigzag-encoded.

use super::batch::{BatchError, BatchHeader, HEADER_SIZE};
use crate::model::Offset;

/// Decodes one zigzag varlong (or varint) at `buf[*pos]`, advancing `pos`;
/// `None` when malformed or cut. Also used by the cleaner's record decoder.
pub(super) fn read_varlong(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let mut raw: u64 = 0;
    for shift in (0..70).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        raw |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(((raw >> 1) as i64) ^ -((raw & 1) as i64));
        }
    }
    None
}

/// A record's absolute offset and effective timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordStamp {
    pub offset: Offset,
    pub timestamp_ms: i64,
}

/// Finds the first record of the uncompressed batch `batch` (header included)
/// whose timestamp is `>= target_ms` and whose offset is `>= min_offset`.
/// For `LogAppendTime` batches every record carries the batch's max timestamp.
pub fn first_record_at_or_after(
    batch: &[u8],
    target_ms: i64,
    min_offset: Offset,
) -> Result<Option<RecordStamp>, BatchError> {
    let header = BatchHeader::parse(batch).ok_or_else(|| BatchError::CorruptRecord {
        position: 0,
        reason: "batch shorter than its header".to_string(),
    })?;
    debug_assert_eq!(
        header.compression_codec(),
        0,
        "only uncompressed batches are walked"
    );
    let end = header.size_bytes().min(batch.len());
    let corrupt = |reason: &str| BatchError::CorruptRecord {
        position: 0,
        reason: format!("record walk: {reason}"),
    };
    let mut pos = HEADER_SIZE;
    for _ in 0..header.record_count {
        let length = read_varlong(&batch[..end], &mut pos).ok_or_else(|| corrupt("bad length"))?;
        let body_start = pos;
        let body_end = usize::try_from(length)
            .ok()
            .and_then(|l| body_start.checked_add(l))
            .filter(|&e| e <= end)
            .ok_or_else(|| corrupt("record length past the batch end"))?;
        let body = &batch[..body_end];
        pos += 1; // attributes
        let ts_delta = read_varlong(body, &mut pos).ok_or_else(|| corrupt("bad timestamp"))?;
        let offset_delta = read_varlong(body, &mut pos).ok_or_else(|| corrupt("bad offset"))?;
        let timestamp_ms = if header.is_log_append_time() {
            header.max_timestamp
        } else {
            header.base_timestamp.wrapping_add(ts_delta)
        };
        let offset = header.base_offset + offset_delta;
        if timestamp_ms >= target_ms && offset >= min_offset {
            return Ok(Some(RecordStamp {
                offset,
                timestamp_ms,
            }));
        }
        pos = body_end;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::batch_with_timestamps;
    use crate::model::off;

    #[test]
    fn varlong_round_trips_kafka_zigzag() {
        for (bytes, want) in [
            (vec![0x00], 0i64),
            (vec![0x01], -1),
            (vec![0x02], 1),
            (vec![0xac, 0x02], 150),
            (vec![0x01], -1),
        ] {
            let mut pos = 0;
            assert_eq!(read_varlong(&bytes, &mut pos), Some(want));
            assert_eq!(pos, bytes.len());
        }
        assert_eq!(read_varlong(&[0x80], &mut 0), None);
    }

    #[test]
    fn finds_first_record_at_or_after_target() {
        let b = batch_with_timestamps(100, &[10, 50, 20, 60]);
        let find = |t, min| first_record_at_or_after(&b, t, min).unwrap();
        assert_eq!(
            find(0, off(0)),
            Some(RecordStamp {
                offset: off(100),
                timestamp_ms: 10
            })
        );
        assert_eq!(find(30, off(0)).map(|r| r.offset), Some(off(101)));
        assert_eq!(find(55, off(0)).map(|r| r.offset), Some(off(103)));
        assert_eq!(find(10, off(102)).map(|r| r.offset), Some(off(102)));
        assert_eq!(find(61, off(0)), None);
    }
}
