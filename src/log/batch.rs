//! The magic-2 record batch format (Kafka's `DefaultRecordBatch`) as stored on
//! disk and received from producers: header parsing, validation of one or more
//! concatenated batches, and in-place base-offset assignment. Nothing here
//! decodes records; see `records.rs` for the one place that walks them.
//!
//! Layout (big-endian), 61-byte header followed by the records:
//! `baseOffset i64 | batchLength i32 | partitionLeaderEpoch i32 | magic i8 |
//! crc u32 | attributes i16 | lastOffsetDelta i32 | baseTimestamp i64 |
//! maxTimestamp i64 | producerId i64 | producerEpoch i16 | baseSequence i32 |
//! recordCount i32`. `batchLength` counts the bytes after itself; the CRC32C
//! covers everything from `attributes` to the end of the batch, so the base
//! offset (and the partition leader epoch) can be rewritten without touching it.

use thiserror::Error;

use crate::model::{LeaderEpoch, Offset};

/// Bytes before `batchLength` ends: `baseOffset` + `batchLength`.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the fixed magic-2 batch header.
pub const HEADER_SIZE: usize = 61;
/// The only record format Sluice stores.
pub const MAGIC_V2: i8 = 2;
/// Smallest legal `batchLength` value (a header with no records).
pub const MIN_BATCH_LENGTH: i32 = (HEADER_SIZE - LOG_OVERHEAD) as i32;

const LENGTH_OFFSET: usize = 8;
const PARTITION_LEADER_EPOCH_OFFSET: usize = 12;
const MAGIC_OFFSET: usize = 16;
const CRC_OFFSET: usize = 17;
const ATTRIBUTES_OFFSET: usize = 21;
const LAST_OFFSET_DELTA_OFFSET: usize = 23;
const BASE_TIMESTAMP_OFFSET: usize = 27;
const MAX_TIMESTAMP_OFFSET: usize = 35;
const PRODUCER_ID_OFFSET: usize = 43;
const PRODUCER_EPOCH_OFFSET: usize = 51;
const BASE_SEQUENCE_OFFSET: usize = 53;
const RECORD_COUNT_OFFSET: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_MASK: i16 = 0x08;
const TRANSACTIONAL_MASK: i16 = 0x10;
const CONTROL_MASK: i16 = 0x20;
/// Highest compression codec id Kafka defines (zstd).
const MAX_COMPRESSION_CODEC: u8 = 4;

/// Why a buffer of batches was rejected. Each variant maps to one Kafka error
/// code (CORRUPT_MESSAGE, UNSUPPORTED_FOR_MESSAGE_FORMAT, MESSAGE_TOO_LARGE,
/// INVALID_RECORD); `position` is the byte offset of the offending batch.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BatchError {
    #[error("corrupt record batch at byte {position}: {reason}")]
    CorruptRecord { position: usize, reason: String },
    #[error("record batch at byte {position} has magic {magic}; only magic 2 is supported")]
    UnsupportedMagic { position: usize, magic: i8 },
    #[error("record batch at byte {position} is {size_bytes} bytes, over the limit of {max_bytes}")]
    RecordTooLarge {
        position: usize,
        size_bytes: usize,
        max_bytes: usize,
    },
    #[error("invalid record batch at byte {position}: {reason}")]
    InvalidRecord { position: usize, reason: String },
}

fn be_i16(buf: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([buf[at], buf[at + 1]])
}

fn be_i32(buf: &[u8], at: usize) -> i32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    i32::from_be_bytes(b)
}

fn be_u32(buf: &[u8], at: usize) -> u32 {
    be_i32(buf, at) as u32
}

fn be_i64(buf: &[u8], at: usize) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    i64::from_be_bytes(b)
}

/// The fixed header of a magic-2 batch, parsed without any validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchHeader {
    pub base_offset: Offset,
    pub batch_length: i32,
    pub partition_leader_epoch: LeaderEpoch,
    pub magic: i8,
    pub crc: u32,
    pub attributes: i16,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the first 61 bytes of `buf`; `None` when `buf` is shorter.
    pub fn parse(buf: &[u8]) -> Option<BatchHeader> {
        if buf.len() < HEADER_SIZE {
            return None;
        }
        Some(BatchHeader {
            base_offset: Offset::new(be_i64(buf, 0)),
            batch_length: be_i32(buf, LENGTH_OFFSET),
            partition_leader_epoch: LeaderEpoch::new(be_i32(buf, PARTITION_LEADER_EPOCH_OFFSET)),
            magic: buf[MAGIC_OFFSET] as i8,
            crc: be_u32(buf, CRC_OFFSET),
            attributes: be_i16(buf, ATTRIBUTES_OFFSET),
            last_offset_delta: be_i32(buf, LAST_OFFSET_DELTA_OFFSET),
            base_timestamp: be_i64(buf, BASE_TIMESTAMP_OFFSET),
            max_timestamp: be_i64(buf, MAX_TIMESTAMP_OFFSET),
            producer_id: be_i64(buf, PRODUCER_ID_OFFSET),
            producer_epoch: be_i16(buf, PRODUCER_EPOCH_OFFSET),
            base_sequence: be_i32(buf, BASE_SEQUENCE_OFFSET),
            record_count: be_i32(buf, RECORD_COUNT_OFFSET),
        })
    }

    /// Total bytes of the batch on disk, `batchLength` plus the 12-byte log overhead.
    /// Meaningful only when `batch_length` is non-negative.
    pub fn size_bytes(&self) -> usize {
        debug_assert!(self.batch_length >= 0);
        self.batch_length.max(0) as usize + LOG_OVERHEAD
    }

    pub fn last_offset(&self) -> Offset {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    /// Compression codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub fn compression_codec(&self) -> u8 {
        (self.attributes & COMPRESSION_MASK) as u8
    }

    /// True when the broker stamped the batch (`LogAppendTime`): every record's
    /// timestamp is then `max_timestamp`.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_MASK != 0
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_MASK != 0
    }

    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_MASK != 0
    }
}

/// What validation learned about one batch in a buffer; `position` and `size`
/// locate it inside the validated buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchInfo {
    pub position: usize,
    pub size: usize,
    pub base_offset: Offset,
    pub last_offset_delta: i32,
    pub record_count: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub partition_leader_epoch: LeaderEpoch,
    pub compression_codec: u8,
    pub is_transactional: bool,
    pub is_control: bool,
    pub is_log_append_time: bool,
}

impl BatchInfo {
    pub fn last_offset(&self) -> Offset {
        self.base_offset + i64::from(self.last_offset_delta)
    }

    fn from_header(position: usize, h: &BatchHeader) -> BatchInfo {
        BatchInfo {
            position,
            size: h.size_bytes(),
            base_offset: h.base_offset,
            last_offset_delta: h.last_offset_delta,
            record_count: h.record_count,
            base_timestamp: h.base_timestamp,
            max_timestamp: h.max_timestamp,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            partition_leader_epoch: h.partition_leader_epoch,
            compression_codec: h.compression_codec(),
            is_transactional: h.is_transactional(),
            is_control: h.is_control(),
            is_log_append_time: h.is_log_append_time(),
        }
    }
}

/// The whole batches at the start of `records` (a trailing partial batch or
/// garbage ends the walk; validation is `validate_batches`' job).
pub fn whole_batch_headers(records: &[u8]) -> Vec<BatchHeader> {
    let mut headers = Vec::new();
    let mut position = 0;
    while let Some(header) = BatchHeader::parse(&records[position..]) {
        if header.batch_length < 0 || position + header.size_bytes() > records.len() {
            break;
        }
        position += header.size_bytes();
        headers.push(header);
    }
    headers
}

fn corrupt(position: usize, reason: String) -> BatchError {
    BatchError::CorruptRecord { position, reason }
}

fn invalid(position: usize, reason: String) -> BatchError {
    BatchError::InvalidRecord { position, reason }
}

/// Validates the single batch that starts at `buf[position]` and may extend to
/// the end of `buf`. Checks, in Kafka's order: enough bytes for the length and
/// magic, a sane `batchLength`, magic 2, the size limit, completeness, CRC32C,
/// then the header fields (record count, offset delta, codec).
pub fn validate_batch_at(
    buf: &[u8],
    position: usize,
    max_batch_bytes: usize,
) -> Result<BatchInfo, BatchError> {
    debug_assert!(position <= buf.len());
    let remaining = buf.len() - position;
    if remaining < MAGIC_OFFSET + 1 {
        return Err(corrupt(
            position,
            format!("truncated: {remaining} trailing bytes, too few for a batch header"),
        ));
    }
    let batch_length = be_i32(buf, position + LENGTH_OFFSET);
    if batch_length < MIN_BATCH_LENGTH {
        return Err(corrupt(
            position,
            format!("batch length {batch_length} is below the minimum {MIN_BATCH_LENGTH}"),
        ));
    }
    let magic = buf[position + MAGIC_OFFSET] as i8;
    if magic != MAGIC_V2 {
        return Err(BatchError::UnsupportedMagic { position, magic });
    }
    let size = batch_length as usize + LOG_OVERHEAD;
    if size > max_batch_bytes {
        return Err(BatchError::RecordTooLarge {
            position,
            size_bytes: size,
            max_bytes: max_batch_bytes,
        });
    }
    if size > remaining {
        return Err(corrupt(
            position,
            format!("truncated: batch needs {size} bytes but only {remaining} remain"),
        ));
    }
    let batch = &buf[position..position + size];
    let stored_crc = be_u32(batch, CRC_OFFSET);
    let computed_crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    if stored_crc != computed_crc {
        return Err(corrupt(
            position,
            format!("CRC mismatch: stored {stored_crc:#010x}, computed {computed_crc:#010x}"),
        ));
    }
    let header = BatchHeader::parse(batch)
        .ok_or_else(|| corrupt(position, "batch shorter than its header".to_string()))?;
    if header.record_count < 0 {
        return Err(invalid(
            position,
            format!("negative record count {}", header.record_count),
        ));
    }
    if header.last_offset_delta < 0 {
        return Err(invalid(
            position,
            format!("negative last offset delta {}", header.last_offset_delta),
        ));
    }
    if header.compression_codec() > MAX_COMPRESSION_CODEC {
        return Err(invalid(
            position,
            format!("unknown compression codec {}", header.compression_codec()),
        ));
    }
    Ok(BatchInfo::from_header(position, &header))
}

/// Walks one or more concatenated batches in `buf` and validates each (see
/// [`validate_batch_at`]). A trailing partial batch is an error, not ignored.
/// One pass, no record decoding; the cost is the CRC over the bytes.
pub fn validate_batches(buf: &[u8], max_batch_bytes: usize) -> Result<Vec<BatchInfo>, BatchError> {
    let mut infos = Vec::with_capacity(1);
    let mut position = 0;
    while position < buf.len() {
        let info = validate_batch_at(buf, position, max_batch_bytes)?;
        position += info.size;
        infos.push(info);
    }
    Ok(infos)
}

/// Extra rules for batches a producer sends to a leader (Kafka's client-origin
/// checks): base offset 0, at least one record, `lastOffsetDelta + 1` equal to
/// the record count, and no control batches (only a transaction coordinator
/// writes those).
pub fn check_client_batch(info: &BatchInfo) -> Result<(), BatchError> {
    let position = info.position;
    if info.base_offset != Offset::ZERO {
        return Err(invalid(
            position,
            format!(
                "base offset of a produced batch must be 0, was {}",
                info.base_offset
            ),
        ));
    }
    if info.record_count <= 0 {
        return Err(invalid(
            position,
            format!("produced batch has record count {}", info.record_count),
        ));
    }
    if i64::from(info.last_offset_delta) + 1 != i64::from(info.record_count) {
        return Err(invalid(
            position,
            format!(
                "inconsistent batch: last offset delta {} with {} records",
                info.last_offset_delta, info.record_count
            ),
        ));
    }
    if info.is_control {
        return Err(invalid(
            position,
            "control batches cannot be produced by clients".to_string(),
        ));
    }
    if info.producer_id >= 0 && info.base_sequence < 0 {
        return Err(invalid(
            position,
            format!(
                "invalid sequence number {} in record batch with producer id {}",
                info.base_sequence, info.producer_id
            ),
        ));
    }
    Ok(())
}

/// Rewrites the base offset of the batch starting at `batch[0]`. The base offset
/// is outside the CRC, so the checksum stays valid.
pub fn set_base_offset(batch: &mut [u8], offset: Offset) {
    assert!(batch.len() >= LOG_OVERHEAD, "not a record batch");
    batch[..8].copy_from_slice(&offset.value().to_be_bytes());
}

/// Stamps the batch starting at `batch[0]` with the broker's clock
/// (`LogAppendTime`, as Kafka's `setMaxTimestamp`): the timestamp-type
/// attribute is set, `maxTimestamp` becomes `now_ms`, and the CRC is
/// recomputed (both fields are inside it).
pub fn set_log_append_time(batch: &mut [u8], now_ms: i64) {
    assert!(batch.len() >= HEADER_SIZE, "not a record batch");
    let attributes = be_i16(batch, ATTRIBUTES_OFFSET) | TIMESTAMP_TYPE_MASK;
    batch[ATTRIBUTES_OFFSET..ATTRIBUTES_OFFSET + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[MAX_TIMESTAMP_OFFSET..MAX_TIMESTAMP_OFFSET + 8].copy_from_slice(&now_ms.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES_OFFSET..]);
    batch[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
}

/// Rewrites the partition leader epoch of the batch starting at `batch[0]`
/// (also outside the CRC). A leader stamps its epoch on every appended batch.
pub fn set_partition_leader_epoch(batch: &mut [u8], epoch: LeaderEpoch) {
    assert!(batch.len() >= MAGIC_OFFSET, "not a record batch");
    batch[PARTITION_LEADER_EPOCH_OFFSET..PARTITION_LEADER_EPOCH_OFFSET + 4]
        .copy_from_slice(&epoch.get().to_be_bytes());
}

/// Reads `(batch size, last offset)` of a batch whose header is fully in `buf`,
/// without validation; `None` when fewer than 61 bytes or a nonsensical length.
pub(crate) fn peek_size_and_last_offset(buf: &[u8]) -> Option<(usize, Offset)> {
    if buf.len() < HEADER_SIZE {
        return None;
    }
    let batch_length = be_i32(buf, LENGTH_OFFSET);
    if batch_length < MIN_BATCH_LENGTH {
        return None;
    }
    let last = Offset::new(be_i64(buf, 0)) + i64::from(be_i32(buf, LAST_OFFSET_DELTA_OFFSET));
    Some((batch_length as usize + LOG_OVERHEAD, last))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::test_util::{batch, batch_with_timestamps};
    use crate::model::off;

    #[test]
    fn good_batch_validates_and_reports_header_fields() {
        let b = batch_with_timestamps(0, &[10, 30, 20]);
        let infos = validate_batches(&b, 1 << 20).unwrap();
        assert_eq!(infos.len(), 1);
        let info = infos[0];
        assert_eq!(info.position, 0);
        assert_eq!(info.size, b.len());
        assert_eq!(info.record_count, 3);
        assert_eq!(info.last_offset_delta, 2);
        assert_eq!(info.base_timestamp, 10);
        assert_eq!(info.max_timestamp, 30);
        assert_eq!(info.compression_codec, 0);
        assert!(!info.is_transactional && !info.is_control);
        assert_eq!(info.producer_id, -1);
        check_client_batch(&info).unwrap();
    }

    #[test]
    fn concatenated_batches_are_all_walked() {
        let mut buf = batch(0, 2);
        let first = buf.len();
        buf.extend_from_slice(&batch(0, 5));
        let infos = validate_batches(&buf, 1 << 20).unwrap();
        assert_eq!(infos.len(), 2);
        assert_eq!(infos[1].position, first);
        assert_eq!(infos[1].record_count, 5);
        assert!(validate_batches(&[], 100).unwrap().is_empty());
    }

    #[test]
    fn bad_crc_is_corrupt() {
        let mut b = batch(0, 3);
        let last = b.len() - 1;
        b[last] ^= 0xff;
        assert!(matches!(
            validate_batches(&b, 1 << 20),
            Err(BatchError::CorruptRecord { position: 0, .. })
        ));
    }

    #[test]
    fn truncated_batch_and_trailing_garbage_are_corrupt() {
        let b = batch(0, 3);
        assert!(matches!(
            validate_batches(&b[..b.len() - 1], 1 << 20),
            Err(BatchError::CorruptRecord { .. })
        ));
        let mut two = b.clone();
        two.extend_from_slice(&b[..10]);
        assert!(matches!(
            validate_batches(&two, 1 << 20),
            Err(BatchError::CorruptRecord { position, .. }) if position == b.len()
        ));
        let mut short_len = b.clone();
        short_len[8..12].copy_from_slice(&10i32.to_be_bytes());
        assert!(matches!(
            validate_batches(&short_len, 1 << 20),
            Err(BatchError::CorruptRecord { .. })
        ));
    }

    #[test]
    fn wrong_magic_is_unsupported() {
        let mut b = batch(0, 1);
        b[MAGIC_OFFSET] = 1;
        assert_eq!(
            validate_batches(&b, 1 << 20),
            Err(BatchError::UnsupportedMagic {
                position: 0,
                magic: 1
            })
        );
    }

    #[test]
    fn oversized_batch_is_too_large() {
        let b = batch(0, 10);
        let err = validate_batches(&b, b.len() - 1).unwrap_err();
        assert!(
            matches!(err, BatchError::RecordTooLarge { size_bytes, .. } if size_bytes == b.len())
        );
        validate_batches(&b, b.len()).unwrap();
    }

    #[test]
    fn set_base_offset_keeps_crc_valid() {
        let mut b = batch(0, 4);
        set_base_offset(&mut b, off(1234));
        set_partition_leader_epoch(&mut b, LeaderEpoch::new(7));
        let info = validate_batches(&b, 1 << 20).unwrap()[0];
        assert_eq!(info.base_offset, off(1234));
        assert_eq!(info.last_offset(), off(1237));
        assert_eq!(info.partition_leader_epoch, LeaderEpoch::new(7));
        assert_eq!(peek_size_and_last_offset(&b), Some((b.len(), off(1237))));
        assert!(check_client_batch(&info).is_err());
    }

    #[test]
    fn log_append_time_stamp_keeps_crc_valid() {
        let mut b = batch(0, 4);
        set_log_append_time(&mut b, 1_700_000_000_123);
        let info = validate_batches(&b, 1 << 20).unwrap()[0];
        assert!(info.is_log_append_time);
        assert_eq!(info.max_timestamp, 1_700_000_000_123);
    }

    #[test]
    fn client_checks_reject_inconsistent_counts() {
        let mut b = batch(0, 4);
        // record count 3 with lastOffsetDelta 3: fix the CRC after editing.
        b[RECORD_COUNT_OFFSET..RECORD_COUNT_OFFSET + 4].copy_from_slice(&3i32.to_be_bytes());
        let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        let info = validate_batches(&b, 1 << 20).unwrap()[0];
        assert!(matches!(
            check_client_batch(&info),
            Err(BatchError::InvalidRecord { .. })
        ));
    }

    #[test]
    fn client_checks_reject_a_producer_id_without_a_sequence() {
        let mut b = batch(0, 2);
        b[PRODUCER_ID_OFFSET..PRODUCER_ID_OFFSET + 8].copy_from_slice(&5i64.to_be_bytes());
        b[BASE_SEQUENCE_OFFSET..BASE_SEQUENCE_OFFSET + 4].copy_from_slice(&(-1i32).to_be_bytes());
        let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
        b[CRC_OFFSET..CRC_OFFSET + 4].copy_from_slice(&crc.to_be_bytes());
        let info = validate_batches(&b, 1 << 20).unwrap()[0];
        assert!(matches!(
            check_client_batch(&info),
            Err(BatchError::InvalidRecord { .. })
        ));
    }
}
