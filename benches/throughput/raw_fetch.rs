//! The raw Fetch row of the Fetch table: what the broker serves, without
//! librdkafka's per-record work. A plain Kafka-protocol loop over one TCP
//! connection (kafka-protocol's messages, std sockets): ListOffsets v1 for
//! each partition's start and end, then Fetch v11 requests (one in flight,
//! no session, max_bytes 50 MiB, 1 MiB per partition: librdkafka's
//! defaults) from each partition's next offset until every partition is
//! read. Each batch's header is checked, not its records: magic 2, its
//! base offset the next one expected (offsets contiguous), its records
//! counted from the header; the CRC is not checked (it would add the
//! client's CRC pass over every byte to the time). A trailing partial
//! batch (cut by max_bytes) is skipped. Like the librdkafka consumer, the
//! mock's retained window is read again, in passes, until at least as many
//! records as were produced have been read, and whole passes go on until
//! the run has lasted [`MIN_RUN_TIME`]: 200,000 records of 1 KiB take a
//! tenth of a second, a window one scheduling hiccup of the shared machine
//! would decide.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use bytes::{Buf, BytesMut};
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use super::consume::Consumed;
use super::{Args, TIMEOUT};

const FETCH_VERSION: i16 = 11;
const LIST_OFFSETS_VERSION: i16 = 1;
const MAX_BYTES: i32 = 50 << 20;
const PARTITION_MAX_BYTES: i32 = 1 << 20;
/// Record batch v2 header: base offset 0..8, length 8..12, magic 16,
/// last offset delta 23..27, record count 57..61.
const BATCH_HEADER: usize = 61;
/// A run reads whole passes until it has lasted this long.
const MIN_RUN_TIME: Duration = Duration::from_secs(1);

struct Conn {
    stream: TcpStream,
    correlation_id: i32,
}

impl Conn {
    fn open(bootstrap: &str) -> Result<Conn> {
        let addr = bootstrap.split(',').next().unwrap_or(bootstrap);
        let stream = TcpStream::connect(addr).with_context(|| format!("connect to {addr}"))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        Ok(Conn {
            stream,
            correlation_id: 0,
        })
    }

    fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<Resp> {
        self.correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(key as i16)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("raw-fetch-bench")));
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[0; 4]);
        header.encode(&mut frame, key.request_header_version(version))?;
        request.encode(&mut frame, version)?;
        let size = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        self.stream.write_all(&frame)?;
        let mut size = [0u8; 4];
        self.stream.read_exact(&mut size)?;
        let mut body = BytesMut::zeroed(u32::from_be_bytes(size) as usize);
        self.stream.read_exact(&mut body)?;
        let mut body = body.freeze();
        let header = ResponseHeader::decode(&mut body, key.response_header_version(version))?;
        ensure!(
            header.correlation_id == self.correlation_id,
            "correlation id {} for {}",
            header.correlation_id,
            self.correlation_id
        );
        Resp::decode(&mut body, version)
    }
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// (log start, high watermark) of every partition.
fn watermarks(conn: &mut Conn, args: &Args) -> Result<Vec<(i64, i64)>> {
    let mut at = |timestamp: i64| -> Result<Vec<i64>> {
        let request = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(topic_name(&args.topic))
                    .with_partitions(
                        (0..args.partitions)
                            .map(|p| {
                                ListOffsetsPartition::default()
                                    .with_partition_index(p)
                                    .with_timestamp(timestamp)
                            })
                            .collect(),
                    ),
            ]);
        let response: ListOffsetsResponse =
            conn.send(ApiKey::ListOffsets, LIST_OFFSETS_VERSION, &request)?;
        let mut offsets = vec![-1; args.partitions as usize];
        for p in response.topics.iter().flat_map(|t| &t.partitions) {
            ensure!(p.error_code == 0, "ListOffsets error {}", p.error_code);
            offsets[p.partition_index as usize] = p.offset;
        }
        Ok(offsets)
    };
    let (starts, ends) = (at(-2)?, at(-1)?);
    Ok(starts.into_iter().zip(ends).collect())
}

/// Checks the batches of one partition's records from `next`: returns
/// (the next offset, records counted).
fn walk_batches(mut records: &[u8], mut next: i64, name: &str, p: i32) -> Result<(i64, usize)> {
    let mut count = 0usize;
    while records.len() >= BATCH_HEADER {
        let base = i64::from_be_bytes(records[..8].try_into()?);
        let length = i32::from_be_bytes(records[8..12].try_into()?);
        let size = 12 + usize::try_from(length).context("negative batch length")?;
        if size > records.len() {
            break; // cut by max_bytes
        }
        ensure!(
            records[16] == 2,
            "[{name}] partition {p}: magic {}",
            records[16]
        );
        ensure!(
            base == next,
            "[{name}] partition {p}: batch at {base} where {next} was expected"
        );
        let delta = i32::from_be_bytes(records[23..27].try_into()?);
        let in_batch = i32::from_be_bytes(records[57..61].try_into()?);
        next = base + i64::from(delta) + 1;
        count += in_batch.max(0) as usize;
        records.advance(size);
    }
    Ok((next, count))
}

/// Reads the topic as described in the module doc; the time from the first
/// Fetch sent to the last answer read.
pub fn raw_fetch_all(name: &'static str, bootstrap: &str, args: &Args) -> Result<Consumed> {
    let mut conn = Conn::open(bootstrap)?;
    let marks = watermarks(&mut conn, args)?;
    let window: usize = marks.iter().map(|(l, h)| (h - l) as usize).sum();
    ensure!(window > 0, "[{name}] the topic holds no records");
    let started = Instant::now();
    let mut total = 0usize;
    while total < args.records || started.elapsed() < MIN_RUN_TIME {
        let mut next: Vec<i64> = marks.iter().map(|m| m.0).collect();
        let mut last_progress = Instant::now();
        while next.iter().zip(&marks).any(|(n, m)| n < &m.1) {
            ensure!(
                last_progress.elapsed() < Duration::from_secs(20),
                "[{name}] raw fetch: nothing new for 20 s"
            );
            let partitions = (0..args.partitions)
                .filter(|&p| next[p as usize] < marks[p as usize].1)
                .map(|p| {
                    FetchPartition::default()
                        .with_partition(p)
                        .with_current_leader_epoch(-1)
                        .with_fetch_offset(next[p as usize])
                        .with_log_start_offset(-1)
                        .with_partition_max_bytes(PARTITION_MAX_BYTES)
                })
                .collect();
            let request = FetchRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_max_wait_ms(500)
                .with_min_bytes(1)
                .with_max_bytes(MAX_BYTES)
                .with_session_epoch(-1)
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(topic_name(&args.topic))
                        .with_partitions(partitions),
                ]);
            let response: FetchResponse = conn.send(ApiKey::Fetch, FETCH_VERSION, &request)?;
            ensure!(
                response.error_code == 0,
                "[{name}] Fetch error {}",
                response.error_code
            );
            for data in response.responses.iter().flat_map(|t| &t.partitions) {
                let p = data.partition_index;
                if data.error_code != 0 {
                    bail!("[{name}] partition {p}: Fetch error {}", data.error_code);
                }
                let records = data.records.as_deref().unwrap_or_default();
                let (moved, count) = walk_batches(records, next[p as usize], name, p)?;
                if count > 0 {
                    last_progress = Instant::now();
                }
                next[p as usize] = moved;
                total += count;
            }
        }
    }
    let elapsed = started.elapsed();
    eprintln!("[{name}] raw Fetch read {total} records ({window} held), batch headers verified");
    Ok(Consumed {
        elapsed,
        records: total,
        window,
    })
}
