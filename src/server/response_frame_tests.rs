//! Unit tests of the chunked response encoding: the same bytes as a plain
//! buffer, with record payloads referenced instead of copied.

use bytes::Bytes;
use kafka_protocol::messages::FetchResponse;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::protocol::{Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::*;

/// One uncompressed record at offset 0 holding `value`.
fn plain_record(value: Bytes) -> Record {
    Record {
        transactional: false,
        control: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1,
        key: None,
        value: Some(value),
        headers: Default::default(),
    }
}

fn fetch_response(payloads: &[Bytes]) -> FetchResponse {
    let partitions = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            PartitionData::default()
                .with_partition_index(i as i32)
                .with_high_watermark(7)
                .with_records(Some(p.clone()))
        })
        .collect();
    FetchResponse::default().with_responses(vec![
        FetchableTopicResponse::default()
            .with_topic(kafka_protocol::messages::TopicName(
                StrBytes::from_static_str("t"),
            ))
            .with_partitions(partitions),
    ])
}

#[test]
fn records_are_referenced_and_the_bytes_are_the_same() {
    let big = Bytes::from(vec![7u8; 100_000]);
    let other = Bytes::from((0..5000u32).map(|i| i as u8).collect::<Vec<u8>>());
    let small = Bytes::from_static(b"tiny");
    let payloads = vec![big.clone(), small.clone(), other.clone()];
    let response = fetch_response(&payloads);
    for version in [4, 11, 12, 13] {
        let mut plain = BytesMut::new();
        response.encode(&mut plain, version).unwrap();
        let mut chunked = ChunkedBuf::new(256, payloads.clone());
        response.encode(&mut chunked, version).unwrap();
        let frame = chunked.finish();
        assert_eq!(frame.len(), plain.len(), "v{version}");
        assert_eq!(frame.to_vec(), plain.to_vec(), "v{version}: same bytes");
        let shared: Vec<&Chunk> = frame
            .chunks()
            .iter()
            .filter(|c| c.as_ptr() == big.as_ptr() || c.as_ptr() == other.as_ptr())
            .collect();
        assert_eq!(
            shared.len(),
            2,
            "v{version}: both large payloads referenced, not copied"
        );
        let copied: usize = frame
            .chunks()
            .iter()
            .filter(|c| c.as_ptr() != big.as_ptr() && c.as_ptr() != other.as_ptr())
            .map(Chunk::len)
            .sum();
        assert!(
            copied < 1000,
            "v{version}: only headers were copied ({copied} bytes)"
        );
    }
}

/// Encoders that seek back (record batches fill their length and CRC
/// later) still work when a referenced payload lies in between.
#[test]
fn seeking_back_over_a_referenced_payload_still_encodes_right() {
    let value = Bytes::from(vec![3u8; 4096]);
    let records = vec![plain_record(value.clone())];
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let mut plain = BytesMut::new();
    RecordBatchEncoder::encode(&mut plain, &records, &options).unwrap();
    let mut chunked = ChunkedBuf::new(64, vec![value]);
    RecordBatchEncoder::encode(&mut chunked, &records, &options).unwrap();
    assert_eq!(chunked.finish().to_vec(), plain.to_vec());
}

/// A file region of `bytes` (a temporary file with a prefix before it).
fn file_records(bytes: &[u8]) -> crate::log::FileRecords {
    use std::io::Write;
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(b"not part of the region").unwrap();
    file.write_all(bytes).unwrap();
    crate::log::FileRecords::new(std::sync::Arc::new(file), 22, bytes.len(), 0)
}

#[test]
fn file_regions_take_the_place_of_their_stand_ins() {
    let in_file: Vec<u8> = (0..70_000u32).map(|i| (i % 253) as u8).collect();
    let small_file = b"eleven byte".to_vec();
    let in_memory = Bytes::from(vec![9u8; 3000]);
    for version in [4, 11, 12, 13] {
        let mut slots = FileSlots::default();
        let stand_in = slots.stand_in(file_records(&in_file)).unwrap();
        let small_stand_in = slots.stand_in(file_records(&small_file)).unwrap();
        assert_eq!((stand_in.len(), small_stand_in.len()), (70_000, 11));
        assert_eq!(slots.bytes(), 70_011);
        let real = fetch_response(&[
            Bytes::from(in_file.clone()),
            in_memory.clone(),
            Bytes::from(small_file.clone()),
        ]);
        let with_stand_ins = fetch_response(&[stand_in, in_memory.clone(), small_stand_in]);
        let mut plain = BytesMut::new();
        real.encode(&mut plain, version).unwrap();
        let mut chunked = ChunkedBuf::new(256, vec![in_memory.clone()]).with_files(slots);
        with_stand_ins.encode(&mut chunked, version).unwrap();
        let frame = chunked.finish();
        assert_eq!(frame.len(), plain.len(), "v{version}");
        assert_eq!(frame.to_vec(), plain.to_vec(), "v{version}: same bytes");
        assert_eq!(frame.file_bytes(), 70_011, "v{version}: both regions");
        let files: Vec<usize> = frame
            .chunks()
            .iter()
            .filter(|c| matches!(c, Chunk::File(_)))
            .map(Chunk::len)
            .collect();
        assert_eq!(files, [70_000, 11], "v{version}: in body order");
    }
}

#[test]
fn seeking_back_over_a_file_region_reads_it_into_the_buffer() {
    let value = vec![5u8; 4096];
    let mut slots = FileSlots::default();
    let stand_in = slots.stand_in(file_records(&value)).unwrap();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let mut plain = BytesMut::new();
    RecordBatchEncoder::encode(&mut plain, &[plain_record(Bytes::from(value))], &options).unwrap();
    let mut chunked = ChunkedBuf::new(64, Vec::new()).with_files(slots);
    RecordBatchEncoder::encode(&mut chunked, &[plain_record(stand_in)], &options).unwrap();
    let frame = chunked.finish();
    assert_eq!(frame.file_bytes(), 0, "read back into the buffer");
    assert_eq!(frame.to_vec(), plain.to_vec());
}

#[test]
fn stand_ins_stop_at_the_block() {
    let mut slots = FileSlots::default();
    let region = file_records(&[1u8; 100]);
    let big = region.slice(0, 100);
    assert!(slots.stand_in(big.clone()).is_some());
    // A region whose stand-in would pass the block gets none.
    let huge = crate::log::FileRecords::new(
        std::sync::Arc::new(tempfile::tempfile().unwrap()),
        0,
        STAND_IN_BLOCK_BYTES,
        0,
    );
    assert!(slots.stand_in(huge).is_none());
    assert_eq!(slots.bytes(), 100);
}
