//! The per-partition shape check of a produce request's records (Kafka's
//! `ProduceRequest.validateRecords`, run by `KafkaApis.handleProduceRequest`
//! before any append): from produce v3 on, a partition's records hold exactly
//! one complete magic-2 batch, and before v7 that batch is not zstd. The walk
//! reads batch headers only (no CRC); the log validates the batch itself.
//!
//! Like Kafka's batch iterator, a trailing partial batch is not counted as a
//! batch here (the log's validation refuses it later).

use thiserror::Error;

use super::batch::{BatchHeader, LOG_OVERHEAD, MAGIC_V2};

/// First produce version whose records must be one magic-2 batch.
pub const ONE_BATCH_MIN_VERSION: i16 = 3;
/// First produce version allowed to carry zstd-compressed batches.
pub const ZSTD_MIN_VERSION: i16 = 7;

/// Bytes of a batch up to and including its magic byte.
const HEADER_SIZE_UP_TO_MAGIC: usize = 17;
/// Kafka's compression codec id of zstd.
const ZSTD_CODEC: i16 = 4;

/// Why a partition's produce records were refused. Every variant but
/// [`Self::ZstdBeforeV7`] is Kafka's `InvalidRecordException`
/// (INVALID_RECORD, 87); that one is UNSUPPORTED_COMPRESSION_TYPE (76).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProduceRecordsError {
    #[error("Produce requests with version {0} must have at least one record batch")]
    NoBatch(i16),
    #[error(
        "Produce requests with version {0} are only allowed to contain record batches with magic version 2"
    )]
    NotMagicV2(i16),
    #[error("Produce requests with version {0} are not allowed to use ZStandard compression")]
    ZstdBeforeV7(i16),
    #[error(
        "Produce requests with version {0} are only allowed to contain exactly one record batch per partition"
    )]
    NotOneBatch(i16),
}

/// Size in bytes of the complete batch at the start of `buf`, if one is
/// there (Kafka's `ByteBufferLogInputStream.nextBatch() != null`).
fn complete_batch_size(buf: &[u8]) -> Option<usize> {
    if buf.len() < LOG_OVERHEAD {
        return None;
    }
    let length = i32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
    let size = LOG_OVERHEAD.checked_add(usize::try_from(length).ok()?)?;
    (size <= buf.len() && buf.len() >= HEADER_SIZE_UP_TO_MAGIC).then_some(size)
}

/// Kafka's `ProduceRequest.validateRecords(version, records)`.
pub fn check_produce_records(records: &[u8], version: i16) -> Result<(), ProduceRecordsError> {
    if version < ONE_BATCH_MIN_VERSION {
        return Ok(());
    }
    let Some(first_size) = complete_batch_size(records) else {
        return Err(ProduceRecordsError::NoBatch(version));
    };
    if records[HEADER_SIZE_UP_TO_MAGIC - 1] as i8 != MAGIC_V2 {
        return Err(ProduceRecordsError::NotMagicV2(version));
    }
    if version < ZSTD_MIN_VERSION
        && let Some(header) = BatchHeader::parse(records)
        && header.attributes & 0x07 == ZSTD_CODEC
    {
        return Err(ProduceRecordsError::ZstdBeforeV7(version));
    }
    if complete_batch_size(&records[first_size..]).is_some() {
        return Err(ProduceRecordsError::NotOneBatch(version));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header-only batch of `size` bytes (batchLength = size - 12).
    fn batch(size: usize, magic: i8, attributes: i16) -> Vec<u8> {
        let mut b = vec![0u8; size];
        b[8..12].copy_from_slice(&((size - LOG_OVERHEAD) as i32).to_be_bytes());
        b[16] = magic as u8;
        b[21..23].copy_from_slice(&attributes.to_be_bytes());
        b
    }

    #[test]
    fn one_batch_is_accepted() {
        assert_eq!(check_produce_records(&batch(70, 2, 0), 9), Ok(()));
    }

    #[test]
    fn two_batches_are_refused_from_v3() {
        let mut two = batch(70, 2, 0);
        two.extend(batch(61, 2, 0));
        assert_eq!(
            check_produce_records(&two, 3),
            Err(ProduceRecordsError::NotOneBatch(3))
        );
        assert_eq!(
            check_produce_records(&two, 9),
            Err(ProduceRecordsError::NotOneBatch(9))
        );
        assert_eq!(check_produce_records(&two, 2), Ok(()));
    }

    #[test]
    fn trailing_partial_batch_is_not_a_second_batch() {
        let mut records = batch(70, 2, 0);
        records.extend(&batch(70, 2, 0)[..40]);
        assert_eq!(check_produce_records(&records, 9), Ok(()));
    }

    #[test]
    fn empty_or_partial_records_hold_no_batch() {
        assert_eq!(
            check_produce_records(&[], 5),
            Err(ProduceRecordsError::NoBatch(5))
        );
        assert_eq!(
            check_produce_records(&batch(70, 2, 0)[..60], 5),
            Err(ProduceRecordsError::NoBatch(5))
        );
    }

    #[test]
    fn magic_and_zstd_rules() {
        assert_eq!(
            check_produce_records(&batch(70, 1, 0), 9),
            Err(ProduceRecordsError::NotMagicV2(9))
        );
        assert_eq!(
            check_produce_records(&batch(70, 2, 4), 6),
            Err(ProduceRecordsError::ZstdBeforeV7(6))
        );
        assert_eq!(check_produce_records(&batch(70, 2, 4), 7), Ok(()));
    }
}
