//! Raw Kafka requests to one broker, not through a client that would follow
//! the cluster's metadata elsewhere: the exchange itself, a Fetch that
//! carries the caller's idea of the current leader epoch (KIP-320), and the
//! check that such a read served only committed records.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, LeaderAndIsrRequest, LeaderAndIsrResponse,
    TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::RecordBatchDecoder;
use sluice::protocol::{decode_response, encode_request};

/// How long one raw exchange may take (a frozen broker never answers).
pub const RAW_IO_TIMEOUT: Duration = Duration::from_secs(5);
/// Fetch v12: current leader epoch (v9+), topics by name (before v13).
const FETCH_VERSION: i16 = 12;
/// FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH, NOT_LEADER_OR_FOLLOWER.
pub const FENCED_LEADER_EPOCH: i16 = 74;
pub const UNKNOWN_LEADER_EPOCH: i16 = 75;
pub const NOT_LEADER_OR_FOLLOWER: i16 = 6;
/// STALE_CONTROLLER_EPOCH.
pub const STALE_CONTROLLER_EPOCH: i16 = 11;

/// Sends `request` as `version` of `key` to 127.0.0.1:`port` on a fresh
/// connection and decodes the answer.
pub fn exchange<Req: Encodable, Resp: Decodable>(
    port: u16,
    key: ApiKey,
    version: i16,
    request: &Req,
) -> Result<Resp, String> {
    let correlation_id = 0x0C1A_5732;
    let frame = encode_request(
        key,
        version,
        correlation_id,
        "cluster-failover-test",
        request,
    )
    .map_err(|e| e.to_string())?;
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), RAW_IO_TIMEOUT)
        .map_err(|e| format!("connect to port {port}: {e}"))?;
    stream.set_read_timeout(Some(RAW_IO_TIMEOUT)).ok();
    stream.set_write_timeout(Some(RAW_IO_TIMEOUT)).ok();
    stream
        .write_all(&frame)
        .map_err(|e| format!("write {key:?} request: {e}"))?;
    let mut size = [0u8; 4];
    stream
        .read_exact(&mut size)
        .map_err(|e| format!("read {key:?} response size: {e}"))?;
    let mut body = vec![0u8; u32::from_be_bytes(size) as usize];
    stream
        .read_exact(&mut body)
        .map_err(|e| format!("read {key:?} response: {e}"))?;
    decode_response(key, version, correlation_id, body.into()).map_err(|e| e.to_string())
}

/// The top-level error of an (empty) LeaderAndIsr v5 claiming to come from
/// controller `controller_id` in `controller_epoch`: what a deposed
/// controller would send; 0 if the broker accepted it.
pub fn leader_and_isr_error(
    port: u16,
    controller_id: i32,
    controller_epoch: i32,
) -> Result<i16, String> {
    let request = LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(controller_id))
        .with_controller_epoch(controller_epoch)
        .with_broker_epoch(-1);
    let response: LeaderAndIsrResponse = exchange(port, ApiKey::LeaderAndIsr, 5, &request)?;
    Ok(response.error_code)
}

/// What one partition's Fetch answer held.
#[derive(Debug)]
pub struct Fetched {
    pub error: i16,
    /// (offset, value) of every record returned.
    pub records: Vec<(i64, String)>,
}

/// A consumer's Fetch (replica id -1, no wait) of `topic`-`partition` from
/// `offset`, claiming `current_leader_epoch` (-1: none).
pub fn fetch_from(
    port: u16,
    topic: &str,
    partition: i32,
    offset: i64,
    current_leader_epoch: i32,
) -> Result<Fetched, String> {
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(16 << 20)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(partition)
                        .with_current_leader_epoch(current_leader_epoch)
                        .with_fetch_offset(offset)
                        .with_partition_max_bytes(16 << 20),
                ]),
        ]);
    let response: FetchResponse = exchange(port, ApiKey::Fetch, FETCH_VERSION, &request)?;
    if response.error_code != 0 {
        return Err(format!("Fetch error {}", response.error_code));
    }
    let data = response
        .responses
        .into_iter()
        .flat_map(|t| t.partitions)
        .find(|p| p.partition_index == partition)
        .ok_or("no such partition in the Fetch response")?;
    let mut bytes = data.records.clone().unwrap_or_default();
    let records = RecordBatchDecoder::decode_all(&mut bytes)
        .map_err(|e| format!("decode fetched batches: {e}"))?
        .into_iter()
        .flat_map(|set| set.records)
        .map(|r| {
            let value = r.value.map(|v| v.to_vec()).unwrap_or_default();
            (r.offset, String::from_utf8_lossy(&value).into_owned())
        })
        .collect();
    Ok(Fetched {
        error: data.error_code,
        records,
    })
}

/// A read from a broker that may be stale returned only records the
/// partition really holds at those offsets (`log`: the final, committed
/// log); an error answer must be one of `allowed_errors` (any, if empty).
pub fn assert_served_only_committed(
    what: &str,
    fetched: &Result<Fetched, String>,
    log: &[(i64, String)],
    allowed_errors: &[i16],
) {
    let Ok(fetched) = fetched else {
        return; // no answer is no stale data
    };
    if fetched.error != 0 {
        assert!(
            allowed_errors.is_empty() || allowed_errors.contains(&fetched.error),
            "{what}: error {} (expected one of {allowed_errors:?})",
            fetched.error
        );
        return;
    }
    let committed: BTreeMap<i64, &str> = log.iter().map(|(o, v)| (*o, v.as_str())).collect();
    for (offset, value) in &fetched.records {
        assert_eq!(
            committed.get(offset),
            Some(&value.as_str()),
            "{what}: the woken broker served {value:?} at offset {offset}, which the partition \
             does not hold there (stale or uncommitted data)"
        );
    }
}
