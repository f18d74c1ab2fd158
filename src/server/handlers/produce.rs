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
//!
//! The handler decodes, makes one domain call
//! (`ReplicaManager::append_records`, `replica/append.rs`) and encodes; an
//! unknown partition of a topic the metadata does not know may auto-create it.
//! It comes in two halves, [`append`] and [`PendingProduce::finish`] (the
//! acks=all wait and the response), so the connection can read and append
//! its next Produce request while this one waits for the replicas
//! (`server/connection.rs`).

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;

use crate::model::TopicPartition;
use crate::replica::{AppendParams, AppendedRecords, PartitionAppendResult, ProduceEntry};
use crate::server::context::BrokerServices;
use crate::server::errors::{NONE, replica_error_code};
use crate::server::request_context::RequestContext;

pub const VERSIONS: (i16, i16) = (3, 9);

pub async fn handle(
    services: &Arc<BrokerServices>,
    ctx: &RequestContext,
    request: ProduceRequest,
) -> Option<ProduceResponse> {
    append(services, ctx, request).await.finish().await
}

/// A Produce request whose records are appended; the acks=all wait and the
/// response are [`PendingProduce::finish`].
pub struct PendingProduce {
    services: Arc<BrokerServices>,
    acks: i16,
    /// Topic name and partition count, in request order.
    topics: Vec<(kafka_protocol::messages::TopicName, usize)>,
    appended: AppendedRecords,
}

/// The first half of [`handle`]: decodes the partitions and appends them.
pub async fn append(
    services: &Arc<BrokerServices>,
    ctx: &RequestContext,
    request: ProduceRequest,
) -> PendingProduce {
    let snapshot = services.metadata.snapshot();
    // (name, partition count) of each topic, in request order.
    let mut topics = Vec::with_capacity(request.topic_data.len());
    let mut entries = Vec::new();
    for topic in request.topic_data {
        let name = topic.name.0.to_string();
        topics.push((topic.name, topic.partition_data.len()));
        for data in topic.partition_data {
            let in_metadata = snapshot.partition(&name, data.index).is_some();
            entries.push(ProduceEntry {
                tp: TopicPartition::new(name.clone(), data.index),
                records: data.records,
                in_metadata,
            });
        }
    }
    drop(snapshot);
    let params = AppendParams {
        required_acks: request.acks,
        timeout: Duration::from_millis(request.timeout_ms.max(0) as u64),
        produce_version: ctx.version,
    };
    let appended = services
        .replica_manager
        .append_to_logs(params, entries)
        .await;
    PendingProduce {
        services: Arc::clone(services),
        acks: request.acks,
        topics,
        appended,
    }
}

impl PendingProduce {
    /// Whether `finish` waits for the replicas (acks=all with an append).
    pub fn awaits_replicas(&self) -> bool {
        self.appended.awaits_replicas()
    }

    /// The second half of [`handle`]: the acks=all wait, then the response
    /// (none for acks=0).
    pub async fn finish(self) -> Option<ProduceResponse> {
        let PendingProduce {
            services,
            acks,
            topics,
            appended,
        } = self;
        let results = appended.wait_for_replicas(&services.replica_manager).await;
        respond(&services, acks, topics, results)
    }
}

fn respond(
    services: &BrokerServices,
    acks: i16,
    topics: Vec<(kafka_protocol::messages::TopicName, usize)>,
    results: Vec<PartitionAppendResult>,
) -> Option<ProduceResponse> {
    for result in &results {
        if result.is_unknown_partition()
            && !services
                .metadata
                .snapshot()
                .topics
                .contains_key(&result.tp.topic)
        {
            services.maybe_auto_create(&result.tp.topic);
        }
    }
    if acks == 0 {
        return None;
    }
    let mut results = results.into_iter();
    let responses: Vec<TopicProduceResponse> = topics
        .into_iter()
        .map(|(name, count)| {
            TopicProduceResponse::default()
                .with_name(name)
                .with_partition_responses(
                    results
                        .by_ref()
                        .take(count)
                        .map(partition_response)
                        .collect(),
                )
        })
        .collect();
    let failed = responses.iter().flat_map(|t| &t.partition_responses);
    let failed = failed.filter(|p| p.error_code != NONE).count();
    crate::metrics::global()
        .record_partition_errors(kafka_protocol::messages::ApiKey::Produce, failed);
    Some(ProduceResponse::default().with_responses(responses))
}

fn partition_response(result: PartitionAppendResult) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(result.tp.partition)
        .with_error_code(result.error.as_ref().map_or(NONE, replica_error_code))
        .with_base_offset(result.base_offset.value())
        .with_log_append_time_ms(result.log_append_time_ms)
        .with_log_start_offset(result.log_start_offset.value())
        .with_error_message(result.error_message.map(StrBytes::from_string))
}
