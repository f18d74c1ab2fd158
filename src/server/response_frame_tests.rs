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
        let shared: Vec<&Bytes> = frame
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
            .map(Bytes::len)
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
    let records = vec![Record {
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
        value: Some(value.clone()),
        headers: Default::default(),
    }];
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
