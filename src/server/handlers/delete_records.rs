//! DeleteRecords (key 21), versions 0-2: at each partition's leader
//! (NOT_LEADER_OR_FOLLOWER elsewhere), moves the log start offset to the
//! requested offset (-1: the high watermark; past it: OFFSET_OUT_OF_RANGE),
//! so reads below it get OFFSET_OUT_OF_RANGE and whole segments below it are
//! deleted. The answer waits (up to `timeout_ms`, Kafka's delayed
//! DeleteRecords) until every live replica's log start offset reached the
//! requested one, and carries the low watermark: the smallest of them.
//! Topics whose cleanup.policy lacks `delete` answer POLICY_VIOLATION.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use crate::model::{Offset, TopicPartition};
use crate::replica::wait_for_partitions;
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (0, 2);

/// One partition whose log start moved, waiting for its replicas.
struct Pending {
    topic_index: usize,
    partition_index: usize,
    tp: TopicPartition,
    required: Offset,
}

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: DeleteRecordsRequest,
) -> Option<DeleteRecordsResponse> {
    let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
    let replicas = &services.replica_manager;
    let mut topics = Vec::with_capacity(request.topics.len());
    let mut pending = Vec::new();
    for topic in request.topics {
        let name = topic.name.0.to_string();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let tp = TopicPartition::new(name.clone(), p.partition_index);
            let result = DeleteRecordsPartitionResult::default()
                .with_partition_index(p.partition_index)
                .with_low_watermark(-1);
            let outcome = replicas
                .delete_records(&tp, Offset::new(p.offset))
                .map_err(|e| replica_error_code(&e));
            match outcome {
                Ok(required) => {
                    let low = low_watermark(services, &tp).map_or(-1, Offset::value);
                    pending.push(Pending {
                        topic_index: topics.len(),
                        partition_index: partitions.len(),
                        tp,
                        required,
                    });
                    // REQUEST_TIMED_OUT until the replicas caught up (Kafka's delayed operation).
                    partitions.push(
                        result
                            .with_low_watermark(low)
                            .with_error_code(ResponseError::RequestTimedOut.code()),
                    );
                }
                Err(code) => partitions.push(result.with_error_code(code)),
            }
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(topic.name)
                .with_partitions(partitions),
        );
    }
    if !pending.is_empty() {
        let reached = || {
            pending
                .iter()
                .all(|w| match low_watermark(services, &w.tp) {
                    Ok(low) => low >= w.required,
                    Err(_) => true,
                })
        };
        // The last pass below decides each partition's answer either way.
        let waiter = replicas.watch_partitions(pending.iter().map(|w| w.tp.clone()));
        let _ = wait_for_partitions(waiter, timeout, || reached().then_some(())).await;
        for w in &pending {
            let result = &mut topics[w.topic_index].partitions[w.partition_index];
            match low_watermark(services, &w.tp) {
                Ok(low) if low >= w.required => {
                    result.low_watermark = low.value();
                    result.error_code = NONE;
                }
                Ok(_) => {}
                Err(code) => result.error_code = code,
            }
        }
    }
    Some(DeleteRecordsResponse::default().with_topics(topics))
}

/// The partition's low watermark over the replicas the metadata cache counts live.
fn low_watermark(services: &BrokerServices, tp: &TopicPartition) -> Result<Offset, i16> {
    let snapshot = services.metadata.snapshot();
    services
        .replica_manager
        .low_watermark(tp, |b| snapshot.brokers.contains_key(&b))
        .map_err(|e| replica_error_code(&e))
}
