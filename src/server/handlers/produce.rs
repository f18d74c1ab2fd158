//! Produce (key 0), versions 3-9 (magic-2 batches only). Batches are
//! validated and appended as received; offsets are assigned by rewriting the
//! batch header. acks=0 sends no response, acks=1 answers after the leader's
//! append, acks=-1 waits until the ISR has the data (or the timeout passes).
//! acks=-1 fails with NOT_ENOUGH_REPLICAS before the append when the ISR is
//! smaller than the topic's min.insync.replicas, and with
//! NOT_ENOUGH_REPLICAS_AFTER_APPEND when it shrank below it meanwhile.
//! Idempotent batches are checked by the leader's producer state
//! (`replica/producer_state.rs`): a retry of one of a producer's last five
//! batches gets its original base offset (error NONE, nothing written), a
//! sequence gap OUT_OF_ORDER_SEQUENCE_NUMBER, an old producer epoch
//! INVALID_PRODUCER_EPOCH; only that partition fails.
//! Before any append, a known partition's records must be exactly one
//! complete magic-2 batch (Kafka's `ProduceRequest.validateRecords`):
//! otherwise INVALID_RECORD, or UNSUPPORTED_COMPRESSION_TYPE for zstd
//! before v7 (`log/produce_records.rs`).

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use crate::log::AppendInfo;
use crate::log::produce_records::{ProduceRecordsError, check_produce_records};
use crate::model::TopicPartition;
use crate::replica::ReplicaError;
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::{NONE, replica_error_code};

pub const VERSIONS: (i16, i16) = (3, 9);

pub async fn handle(
    services: &Arc<BrokerServices>,
    ctx: &RequestContext,
    request: ProduceRequest,
) -> Option<ProduceResponse> {
    let acks = request.acks;
    let now_ms = crate::util::now_ms();
    let mut responses = Vec::with_capacity(request.topic_data.len());
    // (topic index, partition index, end offset) of appends that wait for acks=all.
    let mut awaiting = Vec::new();
    for topic in request.topic_data {
        let name = topic.name.0.to_string();
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in topic.partition_data {
            let tp = TopicPartition::new(name.clone(), data.index);
            let response = PartitionProduceResponse::default()
                .with_index(data.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            let response = if !matches!(acks, -1..=1) {
                response.with_error_code(ResponseError::InvalidRequiredAcks.code())
            } else {
                match data.records {
                    None => response.with_error_code(ResponseError::InvalidRecord.code()),
                    Some(records) => match check_records(services, &tp, &records, ctx) {
                        Err(e) => {
                            tracing::debug!(partition = %tp, error = %e, "produce records refused");
                            response.with_error_code(produce_records_error_code(&e))
                        }
                        Ok(()) => {
                            append(
                                services,
                                &tp,
                                records,
                                acks,
                                now_ms,
                                response,
                                &mut awaiting,
                                responses.len(),
                                partitions.len(),
                            )
                            .await
                        }
                    },
                }
            };
            partitions.push(response);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name)
                .with_partition_responses(partitions),
        );
    }
    if acks == 0 {
        return None;
    }
    if !awaiting.is_empty() {
        let deadline =
            tokio::time::Instant::now() + Duration::from_millis(request.timeout_ms.max(0) as u64);
        for (t, p, tp, end_offset) in awaiting {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if let Err(e) = services
                .replica_manager
                .wait_for_replication(&tp, end_offset, left)
                .await
            {
                // NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT or
                // NOT_LEADER_OR_FOLLOWER (leadership moved while waiting).
                tracing::debug!(partition = %tp, error = %e, "acks=all produce failed");
                responses[t].partition_responses[p].error_code = replica_error_code(&e);
            }
        }
    }
    let failed = responses.iter().flat_map(|t| &t.partition_responses);
    let failed = failed.filter(|p| p.error_code != NONE).count();
    crate::metrics::global()
        .record_partition_errors(kafka_protocol::messages::ApiKey::Produce, failed);
    Some(ProduceResponse::default().with_responses(responses))
}

/// Kafka's `ProduceRequest.validateRecords`, which `KafkaApis` runs only
/// for partitions its metadata knows: an unknown partition keeps its
/// UNKNOWN_TOPIC_OR_PARTITION answer (and auto-creation) from the append.
fn check_records(
    services: &Arc<BrokerServices>,
    tp: &TopicPartition,
    records: &[u8],
    ctx: &RequestContext,
) -> Result<(), ProduceRecordsError> {
    let known = services
        .metadata
        .snapshot()
        .partition(&tp.topic, tp.partition)
        .is_some();
    if !known {
        return Ok(());
    }
    check_produce_records(records, ctx.version)
}

fn produce_records_error_code(error: &ProduceRecordsError) -> i16 {
    match error {
        ProduceRecordsError::ZstdBeforeV7(_) => ResponseError::UnsupportedCompressionType.code(),
        _ => ResponseError::InvalidRecord.code(),
    }
}

/// The leader append. Its positional write goes to the page cache and runs
/// inline: measured against `block_in_place` and `spawn_blocking` (README,
/// Benchmarks), moving it cost produce latency and bought nothing. When
/// `flush.messages` may make it fsync, it is disk work and runs on the
/// blocking pool instead, never on an async worker.
async fn append_to_leader(
    services: &Arc<BrokerServices>,
    tp: &TopicPartition,
    records: Bytes,
    acks: i16,
    now_ms: i64,
) -> Result<AppendInfo, ReplicaError> {
    let may_fsync = services
        .replica_manager
        .get_partition(tp)
        .is_some_and(|p| p.log().config().flush_interval_messages < i64::MAX as u64);
    let append = move |services: &BrokerServices, tp: &TopicPartition| {
        // One copy: the frame is shared, and the log rewrites base offsets in place.
        let mut batch = BytesMut::from(&records[..]);
        services
            .replica_manager
            .append_to_leader(tp, &mut batch, acks, now_ms)
    };
    if !may_fsync {
        return append(services, tp);
    }
    let (owned_services, owned_tp) = (Arc::clone(services), tp.clone());
    match tokio::task::spawn_blocking(move || append(&owned_services, &owned_tp)).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // Only when the runtime shuts down first: the client retries.
        Err(_) => Err(ReplicaError::RequestTimedOut(tp.to_string())),
    }
}

#[allow(clippy::too_many_arguments)]
async fn append(
    services: &Arc<BrokerServices>,
    tp: &TopicPartition,
    records: Bytes,
    acks: i16,
    now_ms: i64,
    response: PartitionProduceResponse,
    awaiting: &mut Vec<(usize, usize, TopicPartition, i64)>,
    topic_index: usize,
    partition_index: usize,
) -> PartitionProduceResponse {
    match append_to_leader(services, tp, records, acks, now_ms).await {
        Ok(info) => {
            crate::metrics::global().record_produce(
                &tp.topic,
                info.record_count,
                info.bytes as u64,
            );
            if acks == -1 {
                awaiting.push((
                    topic_index,
                    partition_index,
                    tp.clone(),
                    info.last_offset + 1,
                ));
            }
            let log_start = services
                .replica_manager
                .get_partition(tp)
                .map(|p| p.log().log_start_offset())
                .unwrap_or(0);
            response
                .with_error_code(NONE)
                .with_base_offset(info.first_offset)
                .with_log_append_time_ms(info.log_append_time_ms)
                .with_log_start_offset(log_start)
        }
        Err(e) => {
            if matches!(e, crate::replica::ReplicaError::UnknownTopicOrPartition(_))
                && !services.metadata.snapshot().topics.contains_key(&tp.topic)
            {
                services.maybe_auto_create(&tp.topic);
            }
            tracing::debug!(partition = %tp, error = %e, "produce failed");
            response
                .with_error_code(replica_error_code(&e))
                .with_error_message(Some(StrBytes::from_string(e.to_string())))
        }
    }
}
