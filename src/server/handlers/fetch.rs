//! Fetch (key 1), versions 4-13, for consumers and (replica_id >= 0) for
//! follower replicas. Stored batches are returned as they are on disk. An
//! empty fetch waits up to max_wait_ms for min_bytes to arrive; a change of
//! one of its partitions (append, high watermark) wakes it to look again.
//! The handler names each partition as the request does (topic ids from
//! v13), caps max_bytes, makes one domain call
//! (`ReplicaManager::fetch_with_session`, `replica/fetch_context.rs`: the
//! fetch session, follower state, reads, the long-poll wait) and encodes
//! its results.
//!
//! Fetch sessions (KIP-227, from v7): epoch 0 opens a session (its id comes
//! back in `session_id`; 0 when the cache, `max.incremental.fetch.session.
//! cache.slots`, keeps none), epochs 1, 2, ... continue it with only the
//! changed partitions both ways, epoch -1 fetches without one. A session
//! error answers the whole request with its code and no partitions.
//!
//! Memory (KIP-541 and `fetch_budget.rs`): a response holds at most
//! `fetch.max.bytes` of records (the request's max_bytes, capped), and every
//! read first reserves its bytes from the broker-wide Fetch budget
//! (`fetch.inflight.max.bytes`), held until the response is written; when
//! the budget is used up a fetch waits, otherwise it reads at most what is
//! free. The first batch always goes whole (KIP-74). The records are sent
//! from the read buffers themselves, never copied into the encoded response.
//!
//! Zero copy: the reads hand over regions of the segment files
//! (`ReadMode::File`); each goes into the body as a stand-in of its length
//! (`FileSlots`, `response_frame.rs`) and the connection writes it with
//! sendfile(2) (`sendfile.rs`). Every listener is PLAINTEXT, so every
//! connection can; the bytes on the wire are those of a read into memory.
//! Consumers see data up to the high watermark, and since there are no
//! transactions the last stable offset equals it.

use std::time::Duration;

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use crate::log::{FileRecords, ReadMode, Records};
use crate::model::{LeaderEpoch, Offset};
use crate::replica::fetch_session::{
    FetchMetadata, PartitionFetchData, SessionPartition, SessionTopic,
};
use crate::replica::{PartitionFetchResult, RequestedPartition, SessionFetchRequest};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, fetch_session_error_code, replica_error_code};
use crate::server::request_context::RequestContext;
use crate::server::response_frame::FileSlots;

pub const VERSIONS: (i16, i16) = (4, 13);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: FetchRequest,
) -> Option<FetchResponse> {
    let uses_topic_ids = ctx.version >= 13;
    let topic_key = |name: &TopicName, id: Uuid| {
        if uses_topic_ids {
            SessionTopic::Id(id)
        } else {
            SessionTopic::Name(name.0.to_string())
        }
    };
    let mut partitions = Vec::new();
    for topic in &request.topics {
        let key = topic_key(&topic.topic, topic.topic_id);
        partitions.extend(topic.partitions.iter().map(|p| RequestedPartition {
            key: SessionPartition {
                topic: key.clone(),
                partition: p.partition,
            },
            data: PartitionFetchData {
                fetch_offset: Offset::new(p.fetch_offset),
                log_start_offset: Offset::new(p.log_start_offset),
                max_bytes: p.partition_max_bytes,
                current_leader_epoch: LeaderEpoch::new(p.current_leader_epoch),
                last_fetched_epoch: LeaderEpoch::new(p.last_fetched_epoch),
            },
        }));
    }
    let mut forgotten = Vec::new();
    for topic in &request.forgotten_topics_data {
        let key = topic_key(&topic.topic, topic.topic_id);
        forgotten.extend(topic.partitions.iter().map(|&partition| SessionPartition {
            topic: key.clone(),
            partition,
        }));
    }
    let fetch = SessionFetchRequest {
        metadata: FetchMetadata {
            session_id: request.session_id,
            epoch: request.session_epoch,
        },
        replica_id: request.replica_id.0,
        max_wait: Duration::from_millis(request.max_wait_ms.max(0) as u64),
        min_bytes: request.min_bytes.max(0) as usize,
        // KIP-541: the broker's fetch.max.bytes caps every fetch's max_bytes.
        max_bytes: request
            .max_bytes
            .clamp(0, services.config.fetch_max_bytes.max(0)) as usize,
        uses_topic_ids,
        partitions,
        forgotten,
        read_mode: ReadMode::File,
    };
    drop(request);
    let resolve = |id: &Uuid| {
        let snapshot = services.metadata.snapshot();
        snapshot.topic_name_by_id(*id).map(str::to_owned)
    };
    let outcome = services
        .replica_manager
        .fetch_with_session(&fetch, &resolve, &services.fetch_budget)
        .await;

    let response = FetchResponse::default().with_session_id(outcome.session_id);
    if let Some(error) = &outcome.error {
        return Some(response.with_error_code(fetch_session_error_code(error)));
    }
    let metrics = crate::metrics::global();
    // The records go out from the read buffers or the segment files; the
    // reservation is held until the connection has written them.
    let mut payloads = Vec::new();
    let mut files = FileSlots::default();
    let is_follower = fetch.replica_id >= 0;
    // Consecutive partitions of one topic share a topic entry, as in Kafka.
    let mut topics: Vec<(SessionTopic, FetchableTopicResponse)> = Vec::new();
    let mut failed = 0;
    for answered in outcome.partitions {
        let (key, result) = (answered.key, answered.result);
        let records = match &result.records {
            Records::Memory(bytes) => {
                if let Some(name) = &answered.name {
                    metrics.record_fetch(name, bytes, is_follower);
                }
                payloads.push(bytes.clone());
                bytes.clone()
            }
            Records::File(file) => {
                if let Some(name) = &answered.name {
                    metrics.record_fetch_counted(
                        name,
                        file.len(),
                        file.record_count(),
                        is_follower,
                    );
                }
                files
                    .stand_in(file.clone())
                    .unwrap_or_else(|| read_beyond_stand_ins(file))
            }
        };
        let data = partition_data(key.partition, result, records);
        failed += usize::from(data.error_code != NONE);
        match topics.last_mut() {
            Some((topic, entry)) if *topic == key.topic => entry.partitions.push(data),
            _ => {
                let mut entry = FetchableTopicResponse::default();
                match &key.topic {
                    SessionTopic::Id(id) => entry.topic_id = *id,
                    SessionTopic::Name(name) => {
                        entry.topic = TopicName(StrBytes::from_string(name.clone()))
                    }
                }
                entry.partitions.push(data);
                topics.push((key.topic, entry));
            }
        }
    }
    if let Some(memory) = outcome.memory {
        ctx.send_records_with(payloads, memory);
    }
    ctx.send_file_records(files);
    metrics.record_partition_errors(kafka_protocol::messages::ApiKey::Fetch, failed);
    Some(response.with_responses(topics.into_iter().map(|(_, t)| t).collect()))
}

/// Records past what one response's stand-ins can cover (over 1 GiB), read
/// into memory; on a read error none (the fetcher asks again).
fn read_beyond_stand_ins(file: &FileRecords) -> bytes::Bytes {
    file.read_to_bytes().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "fetch: cannot read file records; answering none");
        bytes::Bytes::new()
    })
}

fn partition_data(
    partition: i32,
    result: PartitionFetchResult,
    records: bytes::Bytes,
) -> PartitionData {
    if let Some(e) = &result.error {
        return PartitionData::default()
            .with_partition_index(partition)
            .with_error_code(replica_error_code(e))
            .with_high_watermark(result.high_watermark.value())
            .with_last_stable_offset(result.last_stable_offset.value())
            .with_log_start_offset(result.log_start_offset.value())
            .with_records(Some(bytes::Bytes::new()));
    }
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(NONE)
        .with_high_watermark(result.high_watermark.value())
        .with_last_stable_offset(result.last_stable_offset.value())
        .with_log_start_offset(result.log_start_offset.value())
        .with_records(Some(records))
}
