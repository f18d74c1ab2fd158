//! One replica fetcher task (Kafka's ReplicaFetcherThread): it follows a set
//! of partitions led by one source broker. A partition first truncates its
//! log to the leader's epoch boundary (OffsetsForLeaderEpoch for its latest
//! epoch), then fetches from its log end with Fetch (replica_id = our broker
//! id), appending what arrives with the leader's offsets and taking the
//! leader's high watermark. Errors pause the partition for
//! replica.fetch.backoff.ms; the controller's next LeaderAndIsr decides
//! where it fetches from next. Fetches go in an incremental fetch session
//! (KIP-227, `fetch_session_handler.rs`): after the first full one, only the
//! partitions whose fetch position changed are sent, and the leader answers
//! only the partitions with news; a partition missing from an answer had none.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, OffsetForLeaderEpochRequest,
    OffsetForLeaderEpochResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::ReplicaError;
use super::fetch_session::PartitionFetchData;
use super::fetch_session_handler::{FetchRequestData, FetchSessionHandler, SessionFailure};
use super::partition::Partition;
use super::settings::ReplicationSettings;
use super::truncation::truncation_target;
use crate::client::{BrokerConnection, ConnectionOptions};
use crate::metadata::BrokerEndpoint;
use crate::model::{self, LeaderEpoch, Offset, TopicPartition};

/// Fetch v12: topic names (not ids, so no dependency on UpdateMetadata
/// having arrived), current leader epoch, last fetched epoch.
pub const FETCH_VERSION: i16 = 12;
/// OffsetsForLeaderEpoch v3: the first with replica_id.
pub const OFFSETS_FOR_LEADER_EPOCH_VERSION: i16 = 3;

/// Where one followed partition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PartitionFetchState {
    /// The leader epoch we follow in; fetches carry it as current_leader_epoch.
    pub leader_epoch: LeaderEpoch,
    pub fetch_offset: Offset,
    /// Still has to truncate to the leader's epoch boundary before fetching.
    pub truncating: bool,
    /// Paused after an error until then.
    pub retry_at: Option<Instant>,
}

impl PartitionFetchState {
    pub fn new(leader_epoch: LeaderEpoch) -> Self {
        PartitionFetchState {
            leader_epoch,
            fetch_offset: Offset::ZERO,
            truncating: true,
            retry_at: None,
        }
    }
}

/// What a replica fetcher needs of the replicas this broker hosts (the
/// `ReplicaManager` implements it; the fetcher does not know the manager,
/// which owns the fetchers).
pub(super) trait FollowerReplicas: Send + Sync + 'static {
    /// The hosted replica of `tp`, if any.
    fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>>;
    /// `tp` changed (records appended, high watermark or log start moved).
    fn announce_partition_change(&self, tp: &TopicPartition);
    /// The leader's log start offset came with a fetch response.
    fn follow_leader_log_start(&self, partition: &Partition, leader_log_start: Offset);
}

/// The partitions a fetcher follows, shared with the fetcher manager.
pub(super) type FetchStates = Arc<Mutex<HashMap<TopicPartition, PartitionFetchState>>>;

pub(super) struct ReplicaFetcher {
    pub broker_id: model::BrokerId,
    pub source: BrokerEndpoint,
    pub settings: ReplicationSettings,
    pub replicas: Arc<dyn FollowerReplicas>,
    pub partitions: FetchStates,
    pub wake: Arc<Notify>,
    pub stop: CancellationToken,
}

impl ReplicaFetcher {
    pub async fn run(self) {
        let client_id = format!("sluice-replica-fetcher-{}", self.broker_id);
        let mut connection = BrokerConnection::new(
            self.source.address(),
            client_id,
            ConnectionOptions::default().with_request_timeout(self.settings.socket_timeout),
        );
        // KIP-227: one incremental fetch session with the leader.
        let mut session = FetchSessionHandler::default();
        tracing::info!(source = self.source.id.0, address = %self.source.address(), "replica fetcher started");
        while !self.stop.is_cancelled() {
            let (truncating, fetching, next_retry) = self.ready_partitions();
            if !truncating.is_empty() {
                tokio::select! {
                    _ = self.stop.cancelled() => break,
                    _ = self.truncate(&mut connection, truncating) => {}
                }
            } else if !fetching.is_empty() {
                tokio::select! {
                    _ = self.stop.cancelled() => break,
                    _ = self.fetch(&mut connection, &mut session, fetching) => {}
                }
            } else {
                let until =
                    next_retry.unwrap_or_else(|| Instant::now() + self.settings.fetch_backoff);
                tokio::select! {
                    _ = self.stop.cancelled() => break,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep_until(until) => {}
                }
            }
        }
        tracing::info!(source = self.source.id.0, "replica fetcher stopped");
    }

    /// (partitions to truncate, partitions to fetch, earliest retry time).
    #[allow(clippy::type_complexity)]
    fn ready_partitions(
        &self,
    ) -> (
        Vec<(TopicPartition, PartitionFetchState)>,
        Vec<(TopicPartition, PartitionFetchState)>,
        Option<Instant>,
    ) {
        let now = Instant::now();
        let mut truncating = Vec::new();
        let mut fetching = Vec::new();
        let mut next_retry: Option<Instant> = None;
        for (tp, state) in self.partitions.lock().iter() {
            match state.retry_at {
                Some(at) if at > now => {
                    next_retry = Some(next_retry.map_or(at, |n| n.min(at)));
                }
                _ if state.truncating => truncating.push((tp.clone(), *state)),
                _ => fetching.push((tp.clone(), *state)),
            }
        }
        (truncating, fetching, next_retry)
    }

    /// Changes a partition's state if it is still followed in the same epoch.
    fn update(
        &self,
        tp: &TopicPartition,
        seen: &PartitionFetchState,
        f: impl FnOnce(&mut PartitionFetchState),
    ) {
        if let Some(state) = self.partitions.lock().get_mut(tp)
            && state.leader_epoch == seen.leader_epoch
        {
            f(state);
        }
    }

    fn back_off(&self, tp: &TopicPartition, seen: &PartitionFetchState) {
        let at = Instant::now() + self.settings.fetch_backoff;
        self.update(tp, seen, |s| s.retry_at = Some(at));
    }

    /// Truncation is done: fetch from the log end from now on.
    fn start_fetching(
        &self,
        tp: &TopicPartition,
        seen: &PartitionFetchState,
        partition: &Partition,
    ) {
        let log_end = partition.log().log_end_offset();
        self.update(tp, seen, |s| {
            s.truncating = false;
            s.fetch_offset = log_end;
            s.retry_at = None;
        });
        tracing::info!(partition = %tp, leader = self.source.id.0, leader_epoch = %seen.leader_epoch, fetch_offset = %log_end, "following leader");
    }

    async fn truncate(
        &self,
        connection: &mut BrokerConnection,
        partitions: Vec<(TopicPartition, PartitionFetchState)>,
    ) {
        let mut asked = Vec::new();
        let mut topics: HashMap<String, Vec<OffsetForLeaderPartition>> = HashMap::new();
        for (tp, seen) in partitions {
            let Some(partition) = self.replicas.get_partition(&tp) else {
                continue;
            };
            match partition.latest_epoch() {
                // No epochs in our log (empty, or written before epochs were
                // stamped): truncate to the high watermark, as Kafka does.
                None => {
                    let hw = partition.high_watermark();
                    match partition.truncate_to(hw, seen.leader_epoch) {
                        Ok(()) => self.start_fetching(&tp, &seen, &partition),
                        Err(e) => self.failed(&tp, &seen, &e),
                    }
                }
                Some(epoch) => {
                    topics.entry(tp.topic.clone()).or_default().push(
                        OffsetForLeaderPartition::default()
                            .with_partition(tp.partition)
                            .with_current_leader_epoch(seen.leader_epoch.get())
                            .with_leader_epoch(epoch.get()),
                    );
                    asked.push((tp, seen, partition, epoch));
                }
            }
        }
        if asked.is_empty() {
            return;
        }
        let request = OffsetForLeaderEpochRequest::default()
            .with_replica_id(BrokerId(self.broker_id.0))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        OffsetForLeaderTopic::default()
                            .with_topic(TopicName(StrBytes::from_string(topic)))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let response: OffsetForLeaderEpochResponse = match connection
            .send(
                ApiKey::OffsetForLeaderEpoch,
                OFFSETS_FOR_LEADER_EPOCH_VERSION,
                &request,
            )
            .await
        {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(source = self.source.id.0, error = %e, "OffsetsForLeaderEpoch failed");
                for (tp, seen, _, _) in &asked {
                    self.back_off(tp, seen);
                }
                return;
            }
        };
        let mut answers = HashMap::new();
        for topic in response.topics {
            for p in topic.partitions {
                answers.insert(
                    TopicPartition::new(topic.topic.0.to_string(), p.partition),
                    p,
                );
            }
        }
        for (tp, seen, partition, our_epoch) in asked {
            let Some(answer) = answers.get(&tp) else {
                self.back_off(&tp, &seen);
                continue;
            };
            if answer.error_code != 0 {
                tracing::debug!(partition = %tp, error_code = answer.error_code, "leader refused OffsetsForLeaderEpoch");
                self.back_off(&tp, &seen);
                continue;
            }
            let log_end = partition.log().log_end_offset();
            let answered = (
                LeaderEpoch::new(answer.leader_epoch),
                Offset::new(answer.end_offset),
            );
            let own = partition.end_offset_for_epoch(answered.0);
            let target = truncation_target(answered, own, log_end, partition.high_watermark());
            if target.offset < log_end {
                tracing::info!(partition = %tp, from = %log_end, to = %target.offset, leader_epoch = answer.leader_epoch, final_cut = target.completed, "truncating to the leader's epoch boundary");
            }
            match partition.truncate_to(target.offset, seen.leader_epoch) {
                Ok(()) if target.completed => self.start_fetching(&tp, &seen, &partition),
                // KIP-279: ask again with our (now smaller) latest epoch.
                Ok(()) => {
                    tracing::info!(partition = %tp, our_epoch = %our_epoch, leader_epoch = answer.leader_epoch, "we never had the leader's epoch: asking again")
                }
                Err(e) => self.failed(&tp, &seen, &e),
            }
        }
    }

    async fn fetch(
        &self,
        connection: &mut BrokerConnection,
        session: &mut FetchSessionHandler,
        partitions: Vec<(TopicPartition, PartitionFetchState)>,
    ) {
        let wanted = partitions
            .iter()
            .map(|(tp, seen)| {
                let log_start = self
                    .replicas
                    .get_partition(tp)
                    .map_or(Offset::UNKNOWN, |p| p.log().log_start_offset());
                let data = PartitionFetchData {
                    fetch_offset: seen.fetch_offset,
                    log_start_offset: log_start,
                    max_bytes: self.settings.fetch_max_bytes,
                    current_leader_epoch: seen.leader_epoch,
                    last_fetched_epoch: LeaderEpoch::UNDEFINED,
                };
                (tp.clone(), data)
            })
            .collect();
        let built = session.build(wanted);
        let request = fetch_request(self.broker_id, &self.settings, &built);
        let response: FetchResponse = match connection
            .send(ApiKey::Fetch, FETCH_VERSION, &request)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                tracing::debug!(source = self.source.id.0, error = %e, "replica fetch failed");
                session.handle_error();
                for (tp, seen) in &partitions {
                    self.back_off(tp, seen);
                }
                return;
            }
        };
        let failure = match ResponseError::try_from_code(response.error_code) {
            None => None,
            Some(ResponseError::FetchSessionIdNotFound) => Some(SessionFailure::NotFound),
            Some(_) => Some(SessionFailure::Other),
        };
        if !session.handle_response(failure, response.session_id) {
            // Nothing to apply: the next request is a full one.
            tracing::info!(
                source = self.source.id.0,
                error_code = response.error_code,
                session = response.session_id,
                "fetch session refused: fetching in full"
            );
            return;
        }
        let mut answers = HashMap::new();
        for topic in response.responses {
            for p in topic.partitions {
                answers.insert(
                    TopicPartition::new(topic.topic.0.to_string(), p.partition_index),
                    p,
                );
            }
        }
        for (tp, seen) in partitions {
            let (Some(answer), Some(partition)) =
                (answers.remove(&tp), self.replicas.get_partition(&tp))
            else {
                continue;
            };
            let leader_log_start = Offset::new(answer.log_start_offset);
            match ResponseError::try_from_code(answer.error_code) {
                None => {
                    let records = answer.records.unwrap_or_default();
                    match partition.append_as_follower(
                        seen.leader_epoch,
                        &records,
                        Offset::new(answer.high_watermark),
                    ) {
                        Ok(log_end) => {
                            self.replicas.announce_partition_change(&tp);
                            self.replicas
                                .follow_leader_log_start(&partition, leader_log_start);
                            self.update(&tp, &seen, |s| s.fetch_offset = log_end);
                        }
                        Err(e) => self.failed(&tp, &seen, &e),
                    }
                }
                Some(ResponseError::OffsetOutOfRange) => {
                    if seen.fetch_offset < leader_log_start {
                        // The leader deleted what we would fetch next: start over at its log start.
                        tracing::info!(partition = %tp, fetch_offset = %seen.fetch_offset, %leader_log_start, "restarting the log at the leader's log start");
                        match partition
                            .truncate_fully_and_start_at(leader_log_start, seen.leader_epoch)
                        {
                            Ok(()) => self.start_fetching(&tp, &seen, &partition),
                            Err(e) => self.failed(&tp, &seen, &e),
                        }
                    } else {
                        self.update(&tp, &seen, |s| s.truncating = true);
                    }
                }
                Some(error) => {
                    tracing::debug!(partition = %tp, ?error, "leader refused replica fetch");
                    self.back_off(&tp, &seen);
                }
            }
        }
    }

    fn failed(&self, tp: &TopicPartition, seen: &PartitionFetchState, error: &ReplicaError) {
        match error {
            // A LeaderAndIsr moved the partition on; the manager updates us.
            ReplicaError::NotLeaderOrFollower(_) => self.back_off(tp, seen),
            other => {
                tracing::warn!(partition = %tp, error = %other, "replication failed; truncating again after back-off");
                let at = Instant::now() + self.settings.fetch_backoff;
                self.update(tp, seen, |s| {
                    s.truncating = true;
                    s.retry_at = Some(at);
                });
            }
        }
    }
}

/// The Fetch request for one session request: the partitions to send,
/// grouped by topic, and the ones to forget.
pub(super) fn fetch_request(
    broker_id: model::BrokerId,
    settings: &ReplicationSettings,
    built: &FetchRequestData,
) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for (tp, data) in &built.to_send {
        let partition = FetchPartition::default()
            .with_partition(tp.partition)
            .with_current_leader_epoch(data.current_leader_epoch.get())
            .with_fetch_offset(data.fetch_offset.value())
            .with_last_fetched_epoch(data.last_fetched_epoch.get())
            .with_log_start_offset(data.log_start_offset.value())
            .with_partition_max_bytes(data.max_bytes);
        // Sorted: one topic's partitions are adjacent.
        match topics.last_mut() {
            Some(topic) if topic.topic.0.as_str() == tp.topic => topic.partitions.push(partition),
            _ => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let mut forgotten: Vec<ForgottenTopic> = Vec::new();
    for tp in &built.to_forget {
        match forgotten.last_mut() {
            Some(topic) if topic.topic.0.as_str() == tp.topic => {
                topic.partitions.push(tp.partition)
            }
            _ => forgotten.push(
                ForgottenTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![tp.partition]),
            ),
        }
    }
    FetchRequest::default()
        .with_replica_id(BrokerId(broker_id.0))
        .with_max_wait_ms(settings.fetch_wait_max.as_millis() as i32)
        .with_min_bytes(settings.fetch_min_bytes)
        .with_max_bytes(settings.fetch_response_max_bytes)
        .with_isolation_level(0)
        .with_session_id(built.metadata.session_id)
        .with_session_epoch(built.metadata.epoch)
        .with_topics(topics)
        .with_forgotten_topics_data(forgotten)
}
