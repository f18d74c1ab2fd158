//! Fetch's domain half, Kafka's `ReplicaManager.fetchMessages` and
//! `DelayedFetch`. A follower's fetch first records where that follower is
//! (its fetch offset is its log end, which may move the high watermark, and
//! its log start). Then each partition is read from its leader: up to the
//! high watermark for consumers, to the log end for followers, with
//! positional reads of whole stored batches. A fetch that got fewer than
//! `min_bytes` waits for a change of one of its own partitions (`delayed.rs`)
//! or `max_wait`, then reads again. `fetch_with_session` is the Fetch
//! handler's one call: it runs `fetch_messages` inside the request's fetch
//! session context (`fetch_context.rs`).
//!
//! Memory: every read pass first reserves its bytes from the caller's
//! [`FetchMemory`] (the server's `fetch.inflight.max.bytes` budget) and reads
//! at most what it got, except that the first batch always goes whole
//! (KIP-74). The reservation comes back with the results, to be held until
//! the response is written; the records are the read buffers themselves,
//! never copied here.

use crate::log::Records;
use tokio::time::Instant;
use uuid::Uuid;

use super::ReplicaError;
use super::fetch_context::{
    AnsweredPartition, FetchContext, SessionFetchOutcome, SessionFetchRequest,
};
use super::fetch_params::{
    FetchMemory, FetchOutcome, FetchParams, FetchPartition, FetchReservation, PartitionFetchResult,
};
use super::fetch_session::{INVALID_SESSION_ID, ResponseSummary, SessionPartition, SessionTopic};
use super::manager::ReplicaManager;
use super::partition::FetchIsolation;
use crate::model::{BrokerId, Offset, TopicPartition};

/// One read of all the wanted partitions.
struct FetchPass {
    partitions: Vec<PartitionFetchResult>,
    bytes: usize,
    any_error: bool,
}

impl FetchPass {
    fn ready(&self, min_bytes: usize) -> bool {
        self.any_error || self.bytes >= min_bytes.max(1)
    }
}

impl ReplicaManager {
    /// Serves a Fetch: records a follower's position, then reads, waiting up
    /// to `max_wait` for `min_bytes` (see the module doc). Reads reserve
    /// their bytes from `memory` first.
    pub async fn fetch_messages<M: FetchMemory>(
        &self,
        params: &FetchParams,
        memory: &M,
    ) -> FetchOutcome<M::Grant> {
        let isolation = if params.is_from_follower() {
            self.update_followers_fetch_state(params);
            FetchIsolation::LogEnd
        } else {
            FetchIsolation::HighWatermark
        };
        let min_bytes = params.min_bytes.min(params.max_bytes);
        let deadline = Instant::now() + params.max_wait;
        let mut waiter = None;
        loop {
            // Waits only while the fetch memory is used up.
            let mut grant = memory.reserve(params.max_bytes).await;
            let pass = self.read_partitions(params, grant.bytes(), isolation);
            grant.settle(pass.bytes);
            if pass.ready(min_bytes) || Instant::now() >= deadline {
                return FetchOutcome {
                    partitions: pass.partitions,
                    memory: grant,
                };
            }
            drop((pass, grant));
            match &waiter {
                // Registered before the next read, so no change after that
                // read is missed; only our own partitions wake us.
                None => {
                    waiter =
                        Some(self.watch_partitions(params.partitions.iter().map(|p| p.tp.clone())))
                }
                // Deadline passed without a change: one last read.
                Some(w) => _ = w.changed(deadline).await,
            }
        }
    }

    /// A follower fetches from its log end: that is its log end offset now,
    /// believed only for a fetch the leader can serve (current leader epoch,
    /// required; an offset within the log), as Kafka records follower state
    /// only after a successful read.
    fn update_followers_fetch_state(&self, params: &FetchParams) {
        for p in &params.partitions {
            let recorded = self.record_follower_fetch(
                &p.tp,
                BrokerId(params.replica_id),
                p.fetch_offset,
                p.current_leader_epoch,
            );
            if recorded {
                self.record_follower_log_start(
                    &p.tp,
                    BrokerId(params.replica_id),
                    p.log_start_offset,
                );
            }
        }
    }

    fn read_partitions(
        &self,
        params: &FetchParams,
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> FetchPass {
        let wanted = &params.partitions;
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
            let read = self.leader_partition(&w.tp).and_then(|partition| {
                partition.check_leader_epoch(w.current_leader_epoch)?;
                partition.read(
                    w.fetch_offset,
                    budget,
                    isolation,
                    min_one_batch,
                    params.read_mode,
                )
            });
            let result = match read {
                Ok(read) => {
                    pass.bytes += read.records.len();
                    PartitionFetchResult {
                        error: None,
                        high_watermark: read.high_watermark,
                        last_stable_offset: read.high_watermark,
                        log_start_offset: read.log_start_offset,
                        records: read.records,
                    }
                }
                Err(e) => {
                    pass.any_error = true;
                    self.fetch_error_partition(w, e)
                }
            };
            pass.partitions.push(result);
        }
        pass
    }

    /// A failed partition's answer: the error, with the offsets of the
    /// partition when this broker hosts it (-1 otherwise).
    fn fetch_error_partition(&self, w: &FetchPartition, e: ReplicaError) -> PartitionFetchResult {
        tracing::debug!(partition = %w.tp, error = %e, "fetch failed");
        let (high_watermark, log_start_offset) = match self.get_partition(&w.tp) {
            Some(p) => (p.high_watermark(), p.log().log_start_offset()),
            None => (Offset::UNKNOWN, Offset::UNKNOWN),
        };
        PartitionFetchResult {
            error: Some(e),
            high_watermark,
            last_stable_offset: high_watermark,
            log_start_offset,
            records: Records::default(),
        }
    }
}

impl ReplicaManager {
    /// Serves a Fetch request with its session (see the module doc): one
    /// context, one `fetch_messages` over the context's partitions whose
    /// topic is known, and the answer the context allows.
    pub async fn fetch_with_session<M: FetchMemory>(
        &self,
        request: &SessionFetchRequest,
        resolve: &(dyn Fn(&Uuid) -> Option<String> + Sync),
        memory: &M,
    ) -> SessionFetchOutcome<M::Grant> {
        let manager = self.fetch_manager();
        let context = manager.new_context(request, resolve, manager.now_ms());
        if let FetchContext::SessionError { error } = &context {
            tracing::debug!(%error, "fetch session refused");
            return SessionFetchOutcome {
                error: Some(error.clone()),
                session_id: INVALID_SESSION_ID,
                partitions: Vec::new(),
                memory: None,
            };
        }
        let params = FetchParams {
            replica_id: request.replica_id,
            max_wait: request.max_wait,
            min_bytes: request.min_bytes,
            max_bytes: request.max_bytes,
            partitions: context
                .partitions()
                .iter()
                .filter_map(|p| {
                    let name = p.name.clone()?;
                    Some(FetchPartition {
                        tp: TopicPartition::new(name, p.key.partition),
                        fetch_offset: p.data.fetch_offset,
                        partition_max_bytes: p.data.max_bytes.max(0) as usize,
                        current_leader_epoch: p.data.current_leader_epoch,
                        log_start_offset: p.data.log_start_offset,
                    })
                })
                .collect(),
            read_mode: request.read_mode,
        };
        let outcome = self.fetch_messages(&params, memory).await;
        let mut read = outcome.partitions.into_iter();
        let results: Vec<PartitionFetchResult> = context
            .partitions()
            .iter()
            .map(|p| match &p.name {
                Some(_) => read.next().expect("one result per partition read"),
                None => unknown_topic_id(&p.key),
            })
            .collect();
        let summaries: Vec<ResponseSummary> = results.iter().map(ResponseSummary::of).collect();
        let answer = manager.update_and_generate(&context, &summaries, manager.now_ms());
        let partitions = match answer.error {
            Some(_) => Vec::new(),
            None => context
                .partitions()
                .iter()
                .zip(results)
                .zip(answer.keep)
                .filter(|(_, keep)| *keep)
                .map(|((p, result), _)| AnsweredPartition {
                    key: p.key.clone(),
                    name: p.name.clone(),
                    result,
                })
                .collect(),
        };
        SessionFetchOutcome {
            error: answer.error,
            session_id: answer.session_id,
            partitions,
            memory: Some(outcome.memory),
        }
    }
}

fn unknown_topic_id(key: &SessionPartition) -> PartitionFetchResult {
    let topic = match &key.topic {
        SessionTopic::Id(id) => id.to_string(),
        SessionTopic::Name(name) => name.clone(),
    };
    PartitionFetchResult {
        error: Some(ReplicaError::UnknownTopicId(topic)),
        high_watermark: Offset::UNKNOWN,
        last_stable_offset: Offset::UNKNOWN,
        log_start_offset: Offset::UNKNOWN,
        records: Records::default(),
    }
}

#[cfg(test)]
#[path = "fetch_tests.rs"]
mod tests;
