//! Fetch (key 1), versions 4-13, for consumers and (replica_id >= 0) for
//! follower replicas. Stored batches are returned as they are on disk. An
//! empty fetch waits up to max_wait_ms for min_bytes to arrive; a change of
//! one of its partitions (append, high watermark) wakes it to look again.
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

use tokio::time::Instant;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse};

use crate::model::TopicPartition;
use crate::replica::{FetchIsolation, ReplicaError};
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::{NONE, replica_error_code};

pub const VERSIONS: (i16, i16) = (4, 13);

/// One requested partition, resolved to a name.
struct Wanted {
    topic_index: usize,
    tp: TopicPartition,
    fetch_offset: i64,
    partition_max_bytes: usize,
    current_leader_epoch: i32,
    /// A follower's log start offset (-1 from consumers).
    log_start_offset: i64,
}

pub async fn handle(
    services: &BrokerServices,
    ctx: &RequestContext,
    request: FetchRequest,
) -> Option<FetchResponse> {
    let replica_id = if ctx.version >= 15 {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    };
    let is_follower = replica_id >= 0;
    let snapshot = services.metadata.snapshot();

    let mut topics: Vec<FetchableTopicResponse> = Vec::with_capacity(request.topics.len());
    let mut wanted = Vec::new();
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
                    wanted.push(Wanted {
                        topic_index,
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

    if is_follower {
        // A follower fetches from its log end: that is its log end offset now,
        // believed only for a fetch the leader can serve (current leader epoch,
        // required; an offset within the log), as Kafka records follower
        // state only after a successful read.
        for w in &wanted {
            let recorded = services.replica_manager.record_follower_fetch(
                &w.tp,
                replica_id,
                w.fetch_offset,
                w.current_leader_epoch,
            );
            if recorded {
                services.replica_manager.record_follower_log_start(
                    &w.tp,
                    replica_id,
                    w.log_start_offset,
                );
            }
        }
    }

    let isolation = if is_follower {
        FetchIsolation::LogEnd
    } else {
        FetchIsolation::HighWatermark
    };
    // KIP-541: the broker's fetch.max.bytes caps every fetch's max_bytes.
    let max_bytes = request
        .max_bytes
        .clamp(0, services.config.fetch_max_bytes.max(0)) as usize;
    let min_bytes = (request.min_bytes.max(0) as usize).min(max_bytes);
    let wait = Duration::from_millis(request.max_wait_ms.max(0) as u64);
    let deadline = Instant::now() + wait;

    let mut waiter = None;
    let (results, memory) = loop {
        // Waits only while the broker's Fetch budget is used up.
        let mut memory = services.fetch_budget.reserve(max_bytes).await;
        let pass = read_partitions(services, &wanted, memory.bytes(), isolation);
        memory.settle(pass.bytes);
        if pass.ready(min_bytes) || Instant::now() >= deadline {
            break (pass, memory);
        }
        drop((pass, memory));
        match &waiter {
            // Registered before the next read, so no change after that
            // read is missed; only our own partitions wake us.
            None => {
                waiter = Some(
                    services
                        .replica_manager
                        .watch_partitions(wanted.iter().map(|w| w.tp.clone())),
                )
            }
            // Deadline passed without a change: one last read.
            Some(w) => _ = w.changed(deadline).await,
        }
    };

    let payloads = results
        .partitions
        .iter()
        .filter_map(|p| p.records.clone())
        .collect();
    ctx.send_records_with(payloads, memory);
    let metrics = crate::metrics::global();
    for (w, data) in wanted.iter().zip(results.partitions) {
        metrics.record_fetch(
            &w.tp.topic,
            data.records.as_deref().unwrap_or(&[]),
            is_follower,
        );
        topics[w.topic_index].partitions.push(data);
    }
    let failed = topics.iter().flat_map(|t| &t.partitions);
    let failed = failed.filter(|p| p.error_code != NONE).count();
    metrics.record_partition_errors(kafka_protocol::messages::ApiKey::Fetch, failed);
    Some(FetchResponse::default().with_responses(topics))
}

struct FetchPass {
    partitions: Vec<PartitionData>,
    bytes: usize,
    any_error: bool,
}

impl FetchPass {
    fn ready(&self, min_bytes: usize) -> bool {
        self.any_error || self.bytes >= min_bytes.max(1)
    }
}

fn read_partitions(
    services: &BrokerServices,
    wanted: &[Wanted],
    max_bytes: usize,
    isolation: FetchIsolation,
) -> FetchPass {
    let mut pass = FetchPass {
        partitions: Vec::with_capacity(wanted.len()),
        bytes: 0,
        any_error: false,
    };
    for w in wanted {
        let budget = w
            .partition_max_bytes
            .min(max_bytes.saturating_sub(pass.bytes));
        // KIP-74: the first batch of the first non-empty partition is returned
        // whole even past the limits, so a large record never blocks a consumer.
        let min_one_batch = pass.bytes == 0;
        let result = services
            .replica_manager
            .leader_partition(&w.tp)
            .and_then(|partition| {
                partition.check_leader_epoch(w.current_leader_epoch)?;
                partition.read(w.fetch_offset, budget, isolation, min_one_batch)
            });
        let data = match result {
            Ok(read) => {
                pass.bytes += read.records.len();
                PartitionData::default()
                    .with_partition_index(w.tp.partition)
                    .with_error_code(NONE)
                    .with_high_watermark(read.high_watermark)
                    .with_last_stable_offset(read.high_watermark)
                    .with_log_start_offset(read.log_start_offset)
                    .with_records(Some(read.records))
            }
            Err(e) => {
                pass.any_error = true;
                fetch_error_partition(services, w, &e)
            }
        };
        pass.partitions.push(data);
    }
    pass
}

fn fetch_error_partition(services: &BrokerServices, w: &Wanted, e: &ReplicaError) -> PartitionData {
    tracing::debug!(partition = %w.tp, error = %e, "fetch failed");
    let mut data = error_partition(w.tp.partition, replica_error_code(e));
    if let Some(p) = services.replica_manager.get_partition(&w.tp) {
        data.high_watermark = p.high_watermark();
        data.last_stable_offset = p.high_watermark();
        data.log_start_offset = p.log().log_start_offset();
    }
    data
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
