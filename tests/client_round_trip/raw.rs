//! A plain connection speaking the Kafka protocol, for what clients hide:
//! exact fetch responses, their timing, and the stored batch headers
//! (compression codec, producer id, sequence numbers).

use std::io::ErrorKind;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse};
use kafka_protocol::records::RecordBatchDecoder;

use crate::common::*;

/// One connection to a broker.
pub struct Raw {
    conn: RawConn,
    broker_port: u16,
}

/// The newest Fetch version that names topics (v13 uses topic ids).
const FETCH_VERSION: i16 = 12;

impl Raw {
    pub fn connect(broker: &Broker) -> Raw {
        Raw {
            conn: RawConn::open(broker.port(), Duration::from_secs(40))
                .expect("connect to the broker"),
            broker_port: broker.port(),
        }
    }

    /// Sends a Fetch (v12) of one partition; returns its correlation id.
    pub fn send_fetch(
        &mut self,
        topic: &str,
        offset: i64,
        max_wait_ms: i32,
        min_bytes: i32,
    ) -> i32 {
        let partition = FetchPartition::default()
            .with_partition(0)
            .with_fetch_offset(offset)
            .with_partition_max_bytes(16 << 20);
        let request = FetchRequest::default()
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(min_bytes)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(topic_name(topic))
                    .with_partitions(vec![partition]),
            ]);
        self.conn
            .write_request(ApiKey::Fetch, FETCH_VERSION, &request)
            .expect("send Fetch")
    }

    /// Reads the response to the Fetch `correlation_id`; returns its one partition.
    pub fn receive_fetch(&mut self, correlation_id: i32) -> PartitionData {
        let response: FetchResponse = self
            .conn
            .read_response(ApiKey::Fetch, FETCH_VERSION, correlation_id)
            .expect("read and decode the Fetch response");
        assert_eq!(response.responses.len(), 1, "{response:?}");
        let mut partitions = response.responses.into_iter().next().unwrap().partitions;
        assert_eq!(partitions.len(), 1);
        partitions.pop().unwrap()
    }

    pub fn fetch(
        &mut self,
        topic: &str,
        offset: i64,
        max_wait_ms: i32,
        min_bytes: i32,
    ) -> PartitionData {
        let id = self.send_fetch(topic, offset, max_wait_ms, min_bytes);
        self.receive_fetch(id)
    }

    /// True if a response has (at least partly) arrived, without reading it.
    pub fn response_arrived(&self) -> bool {
        let stream = self.conn.stream();
        stream.set_nonblocking(true).unwrap();
        let peeked = stream.peek(&mut [0u8; 1]);
        stream.set_nonblocking(false).unwrap();
        match peeked {
            Ok(n) => n > 0,
            Err(e) if e.kind() == ErrorKind::WouldBlock => false,
            Err(e) => panic!("peek: {e}"),
        }
    }

    /// Waits until the broker has read everything sent on this connection
    /// (its socket's receive queue in /proc/net/tcp is empty), so a request
    /// just sent is being handled, not still in flight.
    pub fn wait_until_broker_read_request(&self) {
        let client_port = self.conn.stream().local_addr().unwrap().port();
        let local = format!("0100007F:{:04X}", self.broker_port);
        let remote = format!("0100007F:{client_port:04X}");
        wait_until(
            "the broker to read the request",
            Duration::from_secs(30),
            || {
                let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
                let line = table.lines().find(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 4 && f[1] == local && f[2] == remote
                })?;
                let queues = line.split_whitespace().nth(4)?;
                let rx = u64::from_str_radix(queues.split(':').nth(1)?, 16).ok()?;
                (rx == 0).then_some(())
            },
        );
    }

    /// Every stored batch of partition 0 of `topic` below its high watermark.
    pub fn all_batches(&mut self, topic: &str) -> Vec<BatchHeader> {
        let mut batches: Vec<BatchHeader> = Vec::new();
        let mut offset = 0;
        loop {
            let data = self.fetch(topic, offset, 0, 1);
            assert_eq!(data.error_code, 0, "fetch {topic} at {offset}: {data:?}");
            if offset >= data.high_watermark {
                return batches;
            }
            let got = batch_headers(data.records.as_deref().unwrap_or_default());
            assert!(!got.is_empty(), "fetch {topic} at {offset}: no batches");
            offset = got.last().map(|b| b.base_offset + b.count as i64).unwrap();
            batches.extend(got);
        }
    }
}

/// The header fields of a stored record batch (magic 2) that tell how it was
/// produced.
#[derive(Debug, Clone, Copy)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// attributes & 7: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub codec: i16,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    pub count: i32,
}

fn batch_headers(mut data: &[u8]) -> Vec<BatchHeader> {
    let i16_at = |d: &[u8], at: usize| i16::from_be_bytes(d[at..at + 2].try_into().unwrap());
    let i32_at = |d: &[u8], at: usize| i32::from_be_bytes(d[at..at + 4].try_into().unwrap());
    let i64_at = |d: &[u8], at: usize| i64::from_be_bytes(d[at..at + 8].try_into().unwrap());
    let mut out = Vec::new();
    // A partial batch at the end of a fetch is not returned.
    while data.len() >= 61 && data.len() >= 12 + i32_at(data, 8) as usize {
        assert_eq!(data[16], 2, "magic");
        out.push(BatchHeader {
            base_offset: i64_at(data, 0),
            codec: i16_at(data, 21) & 7,
            producer_id: i64_at(data, 43),
            producer_epoch: i16_at(data, 51),
            base_sequence: i32_at(data, 53),
            count: i32_at(data, 57),
        });
        data = &data[12 + i32_at(data, 8) as usize..];
    }
    out
}

/// (offset, value) of every record in a fetch response.
pub fn fetched_values(data: &PartitionData) -> Vec<(i64, Vec<u8>)> {
    let mut bytes = data.records.clone().unwrap_or_default();
    RecordBatchDecoder::decode_all(&mut bytes)
        .expect("decode fetched batches")
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| (r.offset, r.value.map(|v| v.to_vec()).unwrap_or_default()))
        .collect()
}
