//! Produce's domain half, Kafka's `ReplicaManager.appendRecords`: each
//! partition's records are checked (Kafka's `ProduceRequest.validateRecords`,
//! `log/produce_records.rs`), appended by the partition's leader (which
//! refuses acks=all below min.insync.replicas, and checks idempotent
//! producers' sequences), and with acks=all waited on until the ISR has them
//! or the request's timeout passes (`delayed.rs`, on that partition only).
//! Results come back in request order as domain errors, which
//! `server/errors.rs` maps to Kafka codes.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::time::Instant;

use super::ReplicaError;
use super::manager::ReplicaManager;
use super::partition::Partition;
use crate::log::AppendInfo;
use crate::log::produce_records::{ProduceRecordsError, check_produce_records};
use crate::model::{Offset, TopicPartition};

/// How a Produce request's appends are made.
#[derive(Debug, Clone, Copy)]
pub struct AppendParams {
    /// 0 (no answer), 1 (the leader's append) or -1 (the whole ISR's).
    pub required_acks: i16,
    /// How long acks=all waits for the ISR, from the end of the appends.
    pub timeout: Duration,
    /// The Produce version, for the records check (zstd only from v7).
    pub produce_version: i16,
}

/// One partition's records from a Produce request.
#[derive(Debug)]
pub struct ProduceEntry {
    pub tp: TopicPartition,
    /// `None`: the request carried no records at all.
    pub records: Option<Bytes>,
    /// Whether the metadata cache knows the partition. Like Kafka's
    /// KafkaApis, only those get the records check: an unknown one keeps its
    /// UNKNOWN_TOPIC_OR_PARTITION (and topic auto-creation) from the append.
    pub in_metadata: bool,
}

/// One partition's answer (Kafka's `PartitionResponse`).
#[derive(Debug)]
pub struct PartitionAppendResult {
    pub tp: TopicPartition,
    /// Offset of the first appended record; -1 when nothing was appended.
    pub base_offset: Offset,
    /// The broker's stamp under `message.timestamp.type=LogAppendTime`, else -1.
    pub log_append_time_ms: i64,
    /// The log start offset after the append; -1 when nothing was appended.
    pub log_start_offset: Offset,
    /// Why the partition failed. An acks=all wait that failed keeps the
    /// append's offsets above, as Kafka's answer does.
    pub error: Option<ReplicaError>,
    /// The error's text when the append itself failed (Kafka sends none for
    /// refused records or a failed acks=all wait).
    pub error_message: Option<String>,
}

impl PartitionAppendResult {
    fn new(tp: TopicPartition) -> Self {
        PartitionAppendResult {
            tp,
            base_offset: Offset::UNKNOWN,
            log_append_time_ms: -1,
            log_start_offset: Offset::UNKNOWN,
            error: None,
            error_message: None,
        }
    }

    /// Whether the append failed because this broker does not host the
    /// partition (then a Produce may auto-create its topic).
    pub fn is_unknown_partition(&self) -> bool {
        self.base_offset < Offset::ZERO
            && matches!(self.error, Some(ReplicaError::UnknownTopicOrPartition(_)))
    }
}

/// Appends done, and (acks=all) the ones still to be replicated.
#[derive(Debug)]
pub struct AppendedRecords {
    results: Vec<PartitionAppendResult>,
    /// (index into results, end offset) of appends that wait for acks=all.
    awaiting: Vec<(usize, Offset)>,
    /// When the acks=all wait gives up (REQUEST_TIMED_OUT).
    deadline: Instant,
}

impl AppendedRecords {
    /// Whether `wait_for_replicas` has anything to wait for.
    pub fn awaits_replicas(&self) -> bool {
        !self.awaiting.is_empty()
    }

    /// With acks=all, waits until the ISR has every append (up to the
    /// request's timeout, shared by all partitions). One result per entry,
    /// in order.
    pub async fn wait_for_replicas(
        mut self,
        replicas: &ReplicaManager,
    ) -> Vec<PartitionAppendResult> {
        for (index, end_offset) in self.awaiting {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let result: &mut PartitionAppendResult = &mut self.results[index];
            if let Err(e) = replicas
                .wait_for_replication(&result.tp, end_offset, left)
                .await
            {
                // NOT_ENOUGH_REPLICAS_AFTER_APPEND, REQUEST_TIMED_OUT or
                // NOT_LEADER_OR_FOLLOWER (leadership moved while waiting).
                tracing::debug!(partition = %result.tp, error = %e, "acks=all produce failed");
                result.error = Some(e);
            }
        }
        self.results
    }
}

impl ReplicaManager {
    /// Appends each entry's records to its partition's leader log, then with
    /// acks=all waits (up to `params.timeout`, shared by all partitions) until
    /// the ISR has every append. One result per entry, in order.
    pub async fn append_records(
        self: &Arc<Self>,
        params: AppendParams,
        entries: Vec<ProduceEntry>,
    ) -> Vec<PartitionAppendResult> {
        let appended = self.append_to_logs(params, entries).await;
        appended.wait_for_replicas(self).await
    }

    /// The first half of `append_records`: every entry checked and appended
    /// to its leader log, in order; the acks=all wait is left to
    /// [`AppendedRecords::wait_for_replicas`], so a connection can append its
    /// next Produce request meanwhile.
    pub async fn append_to_logs(
        self: &Arc<Self>,
        params: AppendParams,
        entries: Vec<ProduceEntry>,
    ) -> AppendedRecords {
        let acks = params.required_acks;
        let now_ms = crate::util::now_ms();
        let mut results = Vec::with_capacity(entries.len());
        // (index into results, end offset) of appends that wait for acks=all.
        let mut awaiting = Vec::new();
        for ProduceEntry {
            tp,
            records,
            in_metadata,
        } in entries
        {
            let mut result = PartitionAppendResult::new(tp);
            let checked = check_records(params, &result.tp, records, in_metadata);
            let appended = match checked {
                Ok(records) => {
                    self.append_to_leader_log(&result.tp, records, acks, now_ms)
                        .await
                }
                Err(e) => {
                    tracing::debug!(partition = %result.tp, error = %e, "produce records refused");
                    result.error = Some(e);
                    results.push(result);
                    continue;
                }
            };
            match appended {
                Ok((info, log_start_offset)) => {
                    crate::metrics::global().record_produce(
                        &result.tp.topic,
                        info.record_count,
                        info.bytes as u64,
                    );
                    if acks == -1 {
                        awaiting.push((results.len(), info.last_offset + 1));
                    }
                    result.base_offset = info.first_offset;
                    result.log_append_time_ms = info.log_append_time_ms;
                    result.log_start_offset = log_start_offset;
                }
                Err(e) => {
                    tracing::debug!(partition = %result.tp, error = %e, "produce failed");
                    result.error_message = Some(e.to_string());
                    result.error = Some(e);
                }
            }
            results.push(result);
        }
        AppendedRecords {
            results,
            awaiting,
            // As Kafka's delayed produce: the timeout runs from the appends.
            deadline: Instant::now() + params.timeout,
        }
    }

    /// The leader append, with the log start offset after it. Its positional
    /// write goes to the page cache and runs inline: measured against
    /// `block_in_place` and `spawn_blocking` (README, Benchmarks), moving it
    /// cost produce latency and bought nothing. When `flush.messages` may make
    /// it fsync, it is disk work and runs on the blocking pool instead, never
    /// on an async worker.
    async fn append_to_leader_log(
        &self,
        tp: &TopicPartition,
        records: Bytes,
        acks: i16,
        now_ms: i64,
    ) -> Result<(AppendInfo, Offset), ReplicaError> {
        let partition = self.leader_partition(tp)?;
        let may_fsync = partition.log().config().flush_interval_messages < i64::MAX as u64;
        let append = move |partition: &Partition| -> Result<(AppendInfo, Offset), ReplicaError> {
            // One copy: the frame is shared, and the log rewrites base offsets in place.
            let mut batch = BytesMut::from(&records[..]);
            let info = partition.append_as_leader(&mut batch, now_ms, acks)?;
            Ok((info, partition.log().log_start_offset()))
        };
        let appended = if may_fsync {
            let owned = Arc::clone(&partition);
            match tokio::task::spawn_blocking(move || append(&owned)).await {
                Ok(result) => result,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                // Only when the runtime shuts down first: the client retries.
                Err(_) => Err(ReplicaError::RequestTimedOut(tp.to_string())),
            }
        } else {
            append(&partition)
        };
        if appended.is_ok() {
            // The high watermark may not move (followers behind), but fetchers
            // reading to the log end (followers) must still wake up.
            self.announce_partition_change(tp);
        }
        appended
    }
}

/// The checks before any append: valid acks, records present, and for a
/// partition the metadata knows, exactly one magic-2 batch (Kafka's
/// `ProduceRequest.validateRecords`).
fn check_records(
    params: AppendParams,
    tp: &TopicPartition,
    records: Option<Bytes>,
    in_metadata: bool,
) -> Result<Bytes, ReplicaError> {
    if !matches!(params.required_acks, -1..=1) {
        return Err(ReplicaError::InvalidRequiredAcks(params.required_acks));
    }
    let refused = |source| ReplicaError::InvalidProduceRecords {
        partition: tp.to_string(),
        source,
    };
    let Some(records) = records else {
        return Err(refused(ProduceRecordsError::NoBatch(
            params.produce_version,
        )));
    };
    if in_metadata {
        check_produce_records(&records, params.produce_version).map_err(refused)?;
    }
    Ok(records)
}

#[cfg(test)]
#[path = "append_tests.rs"]
pub(super) mod tests;
