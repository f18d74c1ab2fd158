//! Fetch (key 1), versions 4-13, for consumers and (replica_id >= 0) for
//! follower replicas. Stored batches are returned as they are on disk. An
//! empty fetch waits up to max_wait_ms for min_bytes to arrive; a change of
//! one of its partitions (append, high watermark) wakes it to look again.
//! The handler resolves topic names, caps max_bytes, makes one domain call
//! (`ReplicaManager::fetch_messages`, `replica/fetch.rs`: follower state,
//! reads, the long-poll wait) and encodes its results.
//!
//! Memory (KIP-541 and `fetch_budget.rs`): a response holds at most
//! `fetch.max.bytes` of records (the request's max_bytes, capped), and every
//! read first reserves its bytes from the broker-wide Fetch budget
//! (`fetch.inflight.max.bytes`), held until the response is written; when
//! the budget is used up a fetch waits, otherwise it reads at most what is
//! free. The first batch always goes whole (KIP-74). The records are sent
//! from the read buffers themselves, never copied into the encoded response.
//!
//! Fetch sessions (KIP-227) are not kept: every response carries session id 0,
//! which tells clients to send full fetch requests, as Kafka does when its
//! session cache is full. Consumers see data up to the high watermark, and
//! since there are no transactions the last stable offset equals it.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};

use crate::model::TopicPartition;
use crate::replica::{FetchParams, FetchPartition, PartitionFetchResult};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (4, 13);

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: FetchRequest,
) -> Option<FetchResponse> {
    let snapshot = services.metadata.snapshot();
    let mut topics: Vec<FetchableTopicResponse> = Vec::with_capacity(request.topics.len());
    let mut wanted = Vec::new();
    // The response topic of each wanted partition.
    let mut topic_of = Vec::new();
    for topic in &request.topics {
        let name = if ctx.version >= 13 {
            snapshot.topic_name_by_id(topic.topic_id).map(str::to_owned)
        } else {
            Some(topic.topic.0.to_string())
        };
        let topic_index = topics.len();
        let mut response = FetchableTopicResponse::default();
        if ctx.version >= 13 {
            response.topic_id = topic.topic_id;
        } else {
            response.topic = topic.topic.clone();
        }
        match name {
            None => {
                response.partitions = topic
                    .partitions
                    .iter()
                    .map(|p| error_partition(p.partition, ResponseError::UnknownTopicId.code()))
                    .collect();
            }
            Some(name) => {
                for p in &topic.partitions {
                    topic_of.push(topic_index);
                    wanted.push(FetchPartition {
                        tp: TopicPartition::new(name.clone(), p.partition),
                        fetch_offset: p.fetch_offset,
                        partition_max_bytes: p.partition_max_bytes.max(0) as usize,
                        current_leader_epoch: p.current_leader_epoch,
                        log_start_offset: p.log_start_offset,
                    });
                }
            }
        }
        topics.push(response);
    }
    drop(snapshot);

    let params = FetchParams {
        replica_id: request.replica_id.0,
        max_wait: Duration::from_millis(request.max_wait_ms.max(0) as u64),
        min_bytes: request.min_bytes.max(0) as usize,
        // KIP-541: the broker's fetch.max.bytes caps every fetch's max_bytes.
        max_bytes: request
            .max_bytes
            .clamp(0, services.config.fetch_max_bytes.max(0)) as usize,
        partitions: wanted,
    };
    let outcome = services
        .replica_manager
        .fetch_messages(&params, &services.fetch_budget)
        .await;

    // The records go out from the read buffers; the reservation is held
    // until the connection has written them.
    let payloads = outcome
        .partitions
        .iter()
        .map(|p| p.records.clone())
        .collect();
    ctx.send_records_with(payloads, outcome.memory);
    let metrics = crate::metrics::global();
    let is_follower = params.is_from_follower();
    let answers = params
        .partitions
        .iter()
        .zip(topic_of)
        .zip(outcome.partitions);
    for ((wanted, topic_index), result) in answers {
        metrics.record_fetch(&wanted.tp.topic, &result.records, is_follower);
        topics[topic_index]
            .partitions
            .push(partition_data(wanted.tp.partition, result));
    }
    let failed = topics.iter().flat_map(|t| &t.partitions);
    let failed = failed.filter(|p| p.error_code != NONE).count();
    metrics.record_partition_errors(kafka_protocol::messages::ApiKey::Fetch, failed);
    Some(FetchResponse::default().with_responses(topics))
}

fn partition_data(partition: i32, result: PartitionFetchResult) -> PartitionData {
    if let Some(e) = &result.error {
        let mut data = error_partition(partition, replica_error_code(e));
        data.high_watermark = result.high_watermark;
        data.last_stable_offset = result.last_stable_offset;
        data.log_start_offset = result.log_start_offset;
        return data;
    }
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(NONE)
        .with_high_watermark(result.high_watermark)
        .with_last_stable_offset(result.last_stable_offset)
        .with_log_start_offset(result.log_start_offset)
        .with_records(Some(result.records))
}

fn error_partition(partition: i32, error_code: i16) -> PartitionData {
    PartitionData::default()
        .with_partition_index(partition)
        .with_error_code(error_code)
        .with_high_watermark(-1)
        .with_last_stable_offset(-1)
        .with_log_start_offset(-1)
        .with_records(Some(bytes::Bytes::new()))
}
