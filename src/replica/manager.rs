//! ReplicaManager: the table of hosted partitions. Applies the controller's
//! LeaderAndIsr (making this broker leader or follower, starting and stopping
//! replica fetchers) and StopReplica, records followers' fetches, and
//! announces every high-watermark advance to waiters. Produce's appends are
//! in `append.rs` (`append_records`), Fetch's reads in `fetch.rs`
//! (`fetch_messages`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tokio::sync::Notify;
use uuid::Uuid;

use super::ReplicaError;
use super::delayed::{PartitionWaiter, PartitionWatchers, wait_for_partitions};
use super::fetch_context::FetchManager;
use super::fetcher::FollowerReplicas;
use super::fetcher_manager::{FollowTarget, ReplicaFetcherManager};
use super::partition::{LeadershipChange, LeadershipState, Partition};
use super::settings::ReplicationSettings;
use crate::log::{LogConfig, LogManager};
use crate::metadata::BrokerEndpoint;
use crate::model::{BrokerId, ControllerEpoch, LeaderAndIsr, LeaderEpoch, Offset, TopicPartition};
use crate::util::now_ms;

/// One partition's state from a LeaderAndIsr request.
#[derive(Debug, Clone)]
pub struct PartitionStateUpdate {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    pub leader_and_isr: LeaderAndIsr,
    pub replicas: Vec<BrokerId>,
    /// The topic's min.insync.replicas override, if it has one.
    pub min_insync_replicas: Option<usize>,
}

/// Threads that apply one big LeaderAndIsr (see `apply_partition_states`).
const APPLY_THREADS: usize = 8;
/// Requests with fewer partitions are applied on the calling thread.
const PARALLEL_APPLY_MIN: usize = 32;

/// Per-partition results of a LeaderAndIsr, in request order.
pub type LeaderAndIsrOutcome = Vec<(TopicPartition, Result<(), ReplicaError>)>;

pub struct ReplicaManager {
    broker_id: BrokerId,
    log_manager: Arc<LogManager>,
    log_config: LogConfig,
    min_insync_replicas: usize,
    settings: ReplicationSettings,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    controller_epoch: AtomicI32,
    /// Parked acks=all produces, long-poll fetches and DeleteRecords, by partition.
    watchers: PartitionWatchers,
    /// High watermarks read from replication-offset-checkpoint at start-up.
    checkpointed_high_watermarks: HashMap<TopicPartition, Offset>,
    fetchers: ReplicaFetcherManager,
    /// Incremental fetch sessions (KIP-227) of the fetchers of our partitions.
    fetch_manager: FetchManager,
    /// Poked when a follower caught up and may rejoin the ISR.
    isr_change_wanted: Arc<Notify>,
    /// Set once a LeaderAndIsr from the current controller was applied: the
    /// high-watermark checkpoint starts only then (Kafka's `hwThreadInitialized`).
    leader_and_isr_applied: AtomicBool,
    /// One LeaderAndIsr or StopReplica at a time (Kafka's replicaStateChangeLock).
    state_change_lock: Mutex<()>,
}

impl ReplicaManager {
    pub fn new(
        broker_id: BrokerId,
        log_manager: Arc<LogManager>,
        log_config: LogConfig,
        min_insync_replicas: usize,
        settings: ReplicationSettings,
        checkpointed_high_watermarks: HashMap<TopicPartition, Offset>,
    ) -> ReplicaManager {
        ReplicaManager {
            broker_id,
            log_manager,
            log_config,
            min_insync_replicas,
            settings,
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(0),
            watchers: PartitionWatchers::default(),
            checkpointed_high_watermarks,
            fetchers: ReplicaFetcherManager::new(broker_id, settings),
            fetch_manager: FetchManager::new(settings.fetch_session_cache_slots),
            isr_change_wanted: Arc::new(Notify::new()),
            leader_and_isr_applied: AtomicBool::new(false),
            state_change_lock: Mutex::new(()),
        }
    }

    pub fn broker_id(&self) -> BrokerId {
        self.broker_id
    }

    pub fn settings(&self) -> &ReplicationSettings {
        &self.settings
    }

    /// The broker's fetch sessions.
    pub fn fetch_manager(&self) -> &FetchManager {
        &self.fetch_manager
    }

    pub fn log_manager(&self) -> &Arc<LogManager> {
        &self.log_manager
    }

    pub fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.read().get(tp).cloned()
    }

    /// Sets a hosted partition's min.insync.replicas (a dynamic config
    /// change); false if the partition is not hosted here.
    pub fn set_min_insync_replicas(&self, tp: &TopicPartition, min_isr: usize) -> bool {
        match self.get_partition(tp) {
            Some(p) => {
                p.set_min_insync_replicas(min_isr);
                true
            }
            None => false,
        }
    }

    /// Every hosted partition, led or followed.
    pub fn all_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions.read().values().cloned().collect()
    }

    /// Every partition this broker leads.
    pub fn leader_partitions(&self) -> Vec<Arc<Partition>> {
        self.partitions
            .read()
            .values()
            .filter(|p| p.is_leader())
            .cloned()
            .collect()
    }

    /// The partitions being replicated from a leader, with that leader's id.
    pub fn followed_partitions(&self) -> Vec<(TopicPartition, i32)> {
        self.fetchers.followed()
    }

    /// The partition if this broker leads it; Kafka's errors otherwise.
    pub fn leader_partition(&self, tp: &TopicPartition) -> Result<Arc<Partition>, ReplicaError> {
        let partition = self
            .get_partition(tp)
            .ok_or_else(|| ReplicaError::UnknownTopicOrPartition(tp.to_string()))?;
        if partition.is_leader() {
            Ok(partition)
        } else {
            Err(ReplicaError::NotLeaderOrFollower(tp.to_string()))
        }
    }

    /// Registers a wait on `partitions`: it wakes on every announcement for
    /// one of them (an append, a high-watermark or log-start move, a
    /// leadership change). Take it before the first check.
    pub fn watch_partitions(
        &self,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> PartitionWaiter<'_> {
        self.watchers.watch(partitions)
    }

    /// Partitions with at least one parked wait.
    #[cfg(test)]
    pub(super) fn watched_partitions(&self) -> usize {
        self.watchers.watched_partitions()
    }

    /// Something waiters of `tp` care about changed (its log end, high
    /// watermark or log start): wakes only the waits on `tp`.
    pub(super) fn announce_partition_change(&self, tp: &TopicPartition) {
        self.watchers.announce(tp);
    }

    /// Wakes every wait (leadership changes: waits re-check and answer
    /// NOT_LEADER_OR_FOLLOWER where they lost it).
    pub(super) fn announce_all_partitions(&self) {
        self.watchers.announce_all();
    }

    pub(super) fn isr_change_wanted(&self) -> Arc<Notify> {
        self.isr_change_wanted.clone()
    }

    /// acks=all: waits until the high watermark covers `required_offset`
    /// (exclusive end of the appended batches), then checks that the ISR is
    /// still at least min.insync.replicas (NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    /// REQUEST_TIMED_OUT when `timeout` passes first.
    pub async fn wait_for_replication(
        &self,
        tp: &TopicPartition,
        required_offset: Offset,
        timeout: Duration,
    ) -> Result<(), ReplicaError> {
        let partition = self.leader_partition(tp)?;
        if let Some(done) = partition.check_replicated(required_offset) {
            return done;
        }
        // Registered before the wait's first check: no change is missed.
        let done = wait_for_partitions(self.watch_partitions([tp.clone()]), timeout, || {
            partition.check_replicated(required_offset)
        })
        .await;
        done.unwrap_or_else(|| Err(ReplicaError::RequestTimedOut(tp.to_string())))
    }

    /// A follower fetched from `fetch_offset` in `current_leader_epoch`: that
    /// is its log end offset now, if the fetch is one this leader can serve
    /// (see `Partition::update_follower_fetch`). Returns whether it was believed.
    pub fn record_follower_fetch(
        &self,
        tp: &TopicPartition,
        follower: BrokerId,
        fetch_offset: Offset,
        current_leader_epoch: LeaderEpoch,
    ) -> bool {
        let Some(partition) = self.get_partition(tp) else {
            return false;
        };
        let outcome =
            partition.update_follower_fetch(follower, fetch_offset, current_leader_epoch, now_ms());
        if outcome.high_watermark_moved {
            self.announce_partition_change(tp);
        }
        if outcome.wants_isr_expansion {
            self.isr_change_wanted.notify_one();
        }
        outcome.recorded
    }

    /// Applies LeaderAndIsr. A request from an older controller is refused
    /// whole; a partition state that is not newer than the applied one is
    /// ignored (see `Partition::make_leader_or_follower`). Partitions we now
    /// lead (or that have no leader) stop fetching before their state
    /// changes, as in Kafka's makeLeaders; partitions we now follow are
    /// (re)added to the fetcher of their leader, whose address comes from
    /// `leaders`. Blocking file work (logs opened or created, epoch
    /// checkpoints): callers run it off the async workers.
    pub fn become_leader_or_follower(
        self: &Arc<Self>,
        controller_epoch: ControllerEpoch,
        updates: Vec<PartitionStateUpdate>,
        leaders: &HashMap<BrokerId, BrokerEndpoint>,
    ) -> Result<LeaderAndIsrOutcome, ReplicaError> {
        let _serial = self.state_change_lock.lock();
        self.check_controller_epoch(controller_epoch)?;
        let leading: Vec<TopicPartition> = updates
            .iter()
            .filter(|u| {
                u.leader_and_isr.leader == self.broker_id || !u.leader_and_isr.leader.is_valid()
            })
            .filter(|u| {
                self.get_partition(&u.tp)
                    .is_none_or(|p| p.accepts_state(&u.leader_and_isr))
            })
            .map(|u| u.tp.clone())
            .collect();
        self.fetchers.remove_partitions(&leading);
        let mut outcome = Vec::with_capacity(updates.len());
        let mut moved = false;
        let mut stop_fetching = Vec::new();
        let mut to_follow = Vec::new();
        for (tp, result) in self.apply_partition_states(controller_epoch, updates) {
            let result = match result {
                Ok(LeadershipChange::Leader | LeadershipChange::NoLeader) => Ok(()),
                Ok(LeadershipChange::StartFollowing {
                    leader,
                    leader_epoch,
                }) => {
                    match leaders.get(&leader) {
                        Some(endpoint) => to_follow.push(FollowTarget {
                            tp: tp.clone(),
                            leader: endpoint.clone(),
                            leader_epoch,
                        }),
                        None => {
                            tracing::warn!(partition = %tp, leader = %leader, "LeaderAndIsr names no address for the leader; not fetching");
                            stop_fetching.push(tp.clone());
                        }
                    }
                    Ok(())
                }
                Ok(LeadershipChange::KeepFollowing) => Ok(()),
                Err(e) => Err(e),
            };
            moved |= result.is_ok();
            outcome.push((tp, result));
        }
        self.fetchers.remove_partitions(&stop_fetching);
        let replicas: Arc<dyn FollowerReplicas> = self.clone();
        self.fetchers.add_partitions(&replicas, to_follow);
        if moved {
            self.announce_all_partitions();
        }
        self.leader_and_isr_applied.store(true, Ordering::Release);
        Ok(outcome)
    }

    /// Whether a LeaderAndIsr has been applied since start-up; until then the
    /// hosted partitions say nothing about high watermarks, so
    /// replication-offset-checkpoint is not written.
    pub fn has_applied_leader_and_isr(&self) -> bool {
        self.leader_and_isr_applied.load(Ordering::Acquire)
    }

    /// `apply_partition_state` for each update, in request order. A big
    /// request is applied by up to `APPLY_THREADS` threads at once: every
    /// new leadership fsyncs its leader-epoch-checkpoint, and the file
    /// system commits concurrent fsyncs together, so a failover of thousands
    /// of partitions does not pay one disk flush per partition in a row.
    /// Partitions are independent (each has its own locks); a request naming
    /// one twice is applied in order, on one thread.
    fn apply_partition_states(
        &self,
        controller_epoch: ControllerEpoch,
        updates: Vec<PartitionStateUpdate>,
    ) -> Vec<(TopicPartition, Result<LeadershipChange, ReplicaError>)> {
        let apply = |update: PartitionStateUpdate| {
            let tp = update.tp.clone();
            (tp, self.apply_partition_state(controller_epoch, update))
        };
        let distinct = updates
            .iter()
            .map(|u| &u.tp)
            .collect::<std::collections::HashSet<_>>()
            .len()
            == updates.len();
        if updates.len() < PARALLEL_APPLY_MIN || !distinct {
            return updates.into_iter().map(apply).collect();
        }
        let per_thread = updates.len().div_ceil(APPLY_THREADS);
        let mut chunks: Vec<Vec<PartitionStateUpdate>> = Vec::with_capacity(APPLY_THREADS);
        let mut rest = updates.into_iter();
        loop {
            let chunk: Vec<PartitionStateUpdate> = rest.by_ref().take(per_thread).collect();
            if chunk.is_empty() {
                break;
            }
            chunks.push(chunk);
        }
        std::thread::scope(|scope| {
            let workers: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(|| chunk.into_iter().map(apply).collect::<Vec<_>>()))
                .collect();
            workers
                .into_iter()
                .flat_map(|worker| worker.join().expect("a LeaderAndIsr apply thread panicked"))
                .collect()
        })
    }

    fn apply_partition_state(
        &self,
        controller_epoch: ControllerEpoch,
        update: PartitionStateUpdate,
    ) -> Result<LeadershipChange, ReplicaError> {
        if !update.replicas.contains(&self.broker_id) {
            return Err(ReplicaError::UnknownTopicOrPartition(update.tp.to_string()));
        }
        let min_isr = update
            .min_insync_replicas
            .unwrap_or(self.min_insync_replicas);
        let state = LeadershipState {
            topic_id: update.topic_id,
            leader_and_isr: update.leader_and_isr.clone(),
            replicas: update.replicas,
            controller_epoch,
            followers: HashMap::new(),
            isr_changes_blocked: false,
        };
        let partition = match self.get_partition(&update.tp) {
            Some(existing) => existing,
            None => self.create_partition(&update.tp, &state, min_isr)?,
        };
        partition.set_min_insync_replicas(min_isr);
        let change = match partition.make_leader_or_follower(state, now_ms()) {
            Ok(change) => change,
            Err(e @ ReplicaError::StaleLeaderAndIsr { .. }) => {
                let current = partition.leader_epoch();
                if update.leader_and_isr.leader_epoch == current {
                    tracing::info!(partition = %update.tp, leader_epoch = %update.leader_and_isr.leader_epoch, zk_version = update.leader_and_isr.zk_version, "Ignoring LeaderAndIsr: its leader epoch matches the current leader epoch and its zkVersion is not newer");
                } else {
                    tracing::warn!(partition = %update.tp, leader_epoch = %update.leader_and_isr.leader_epoch, current = %current, zk_version = update.leader_and_isr.zk_version, "Ignoring LeaderAndIsr: its leader epoch is older than the current one, or its zkVersion is");
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        tracing::info!(
            partition = %update.tp,
            leader = %update.leader_and_isr.leader,
            leader_epoch = %update.leader_and_isr.leader_epoch,
            ?change,
            "applied LeaderAndIsr"
        );
        Ok(change)
    }

    /// Opens (or creates) the log and hosts the partition, not yet led or followed.
    fn create_partition(
        &self,
        tp: &TopicPartition,
        state: &LeadershipState,
        min_isr: usize,
    ) -> Result<Arc<Partition>, ReplicaError> {
        let (log, stray_replaced) = super::stray_log::log_for_topic(
            &self.log_manager,
            tp,
            self.log_config,
            state.topic_id,
        )?;
        let checkpointed = self
            .checkpointed_high_watermarks
            .get(tp)
            .copied()
            .filter(|_| !stray_replaced)
            .unwrap_or(Offset::ZERO);
        // Neither leader nor follower until make_leader_or_follower.
        let unled = LeadershipState {
            leader_and_isr: LeaderAndIsr {
                leader: LeaderAndIsr::NO_LEADER,
                leader_epoch: LeaderEpoch::UNDEFINED,
                isr: Vec::new(),
                zk_version: state.leader_and_isr.zk_version,
            },
            ..state.clone()
        };
        let partition = Arc::new(Partition::new(
            tp.clone(),
            self.broker_id,
            log,
            unled,
            checkpointed,
            min_isr,
        )?);
        self.partitions
            .write()
            .insert(tp.clone(), partition.clone());
        Ok(partition)
    }

    /// StopReplica: stops following a partition. With `delete` (topic
    /// deletion, a reassignment's removed replica) it also stops hosting it
    /// and deletes its log; without (controlled shutdown) the partition and
    /// its high watermark stay hosted, as in Kafka, so checkpoints keep them.
    /// Deletion is blocking file work: callers run it off the async workers.
    pub fn stop_replica(
        &self,
        controller_epoch: ControllerEpoch,
        tp: &TopicPartition,
        delete: bool,
    ) -> Result<(), ReplicaError> {
        let _serial = self.state_change_lock.lock();
        self.check_controller_epoch(controller_epoch)?;
        self.fetchers.remove_partitions(std::slice::from_ref(tp));
        if delete {
            let removed = self.partitions.write().remove(tp);
            if removed.is_some() || self.log_manager.get_log(tp).is_some() {
                self.log_manager.delete_log(tp)?;
                tracing::info!(partition = %tp, "deleted partition log");
            }
        }
        // Waiting fetches and acks=all produces look again.
        self.announce_partition_change(tp);
        Ok(())
    }

    fn check_controller_epoch(&self, request: ControllerEpoch) -> Result<(), ReplicaError> {
        let current = self.controller_epoch.fetch_max(request, Ordering::AcqRel);
        if request < current {
            return Err(ReplicaError::StaleControllerEpoch { request, current });
        }
        Ok(())
    }

    /// Every hosted partition's high watermark (leaders' and followers'), for
    /// replication-offset-checkpoint.
    pub fn high_watermarks(&self) -> Vec<(TopicPartition, Offset)> {
        self.partitions
            .read()
            .iter()
            .map(|(tp, p)| (tp.clone(), p.high_watermark()))
            .collect()
    }

    pub fn partition_count(&self) -> usize {
        self.partitions.read().len()
    }

    /// Stops every replica fetcher and snapshots producer state (broker shutdown).
    pub fn shutdown(&self) {
        self.fetchers.shutdown();
        // Producer state snapshots at each log end (Kafka's clean-shutdown
        // snapshot), by up to `APPLY_THREADS` threads: each snapshot fsyncs
        // its file and its directory, and the file system commits concurrent
        // fsyncs together (one after another, 10,000 partitions took seconds).
        let partitions = self.all_partitions();
        let per_thread = partitions.len().div_ceil(APPLY_THREADS).max(1);
        std::thread::scope(|scope| {
            for chunk in partitions.chunks(per_thread) {
                scope.spawn(move || chunk.iter().for_each(|p| p.write_shutdown_snapshot()));
            }
        });
    }
}

impl FollowerReplicas for ReplicaManager {
    fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        ReplicaManager::get_partition(self, tp)
    }

    fn announce_partition_change(&self, tp: &TopicPartition) {
        ReplicaManager::announce_partition_change(self, tp);
    }

    fn follow_leader_log_start(&self, partition: &Partition, leader_log_start: Offset) {
        ReplicaManager::follow_leader_log_start(self, partition, leader_log_start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LogManager;
    use crate::model::ids;

    fn update(partition: i32, leader: i32) -> PartitionStateUpdate {
        PartitionStateUpdate {
            tp: TopicPartition::new("many", partition),
            topic_id: Uuid::nil(),
            leader_and_isr: LeaderAndIsr {
                leader: BrokerId(leader),
                leader_epoch: LeaderEpoch::new(0),
                isr: ids(&[1, 2]),
                zk_version: 0,
            },
            replicas: if partition % 10 == 0 {
                ids(&[2, 3]) // not ours: refused
            } else {
                ids(&[1, 2])
            },
            min_insync_replicas: None,
        }
    }

    /// A LeaderAndIsr of 100 partitions (applied on several threads) answers
    /// each partition in request order, hosts every one it names us a
    /// replica of, and records each leadership's epoch.
    #[test]
    fn a_big_leader_and_isr_is_applied_whole_and_answered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let logs = LogManager::startup(&[dir.path().to_path_buf()], LogConfig::default()).unwrap();
        let manager = Arc::new(ReplicaManager::new(
            BrokerId(1),
            Arc::new(logs),
            LogConfig::default(),
            1,
            ReplicationSettings::default(),
            HashMap::new(),
        ));
        let updates: Vec<PartitionStateUpdate> = (0..100).map(|p| update(p, 1)).collect();
        assert!(updates.len() >= PARALLEL_APPLY_MIN);
        let outcome = manager
            .become_leader_or_follower(1, updates, &HashMap::new())
            .unwrap();
        let order: Vec<i32> = outcome.iter().map(|(tp, _)| tp.partition).collect();
        assert_eq!(order, (0..100).collect::<Vec<_>>());
        for (tp, result) in &outcome {
            let ours = tp.partition % 10 != 0;
            assert_eq!(result.is_ok(), ours, "{tp}: {result:?}");
            let partition = manager.get_partition(tp);
            assert_eq!(partition.is_some(), ours, "{tp}");
            if let Some(partition) = partition {
                assert!(partition.is_leader());
                assert_eq!(partition.latest_epoch(), Some(LeaderEpoch::new(0)));
            }
        }
    }
}
