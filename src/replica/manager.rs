//! ReplicaManager: the table of hosted partitions. Applies the controller's
//! LeaderAndIsr and StopReplica, routes produce appends to partition leaders,
//! serves reads, and announces every high-watermark advance to waiters.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use parking_lot::RwLock;
use tokio::sync::watch;
use uuid::Uuid;

use super::partition::{FetchIsolation, LeadershipState, Partition, ReadOutcome};
use super::{ReplicaError, wait_for};
use crate::log::{AppendInfo, LogConfig, LogManager};
use crate::model::{ControllerEpoch, LeaderEpoch, Offset, TopicPartition, ZkVersion};

/// One partition's state from a LeaderAndIsr request.
#[derive(Debug, Clone)]
pub struct PartitionStateUpdate {
    pub tp: TopicPartition,
    pub topic_id: Uuid,
    pub leader: i32,
    pub leader_epoch: LeaderEpoch,
    pub isr: Vec<i32>,
    pub replicas: Vec<i32>,
    pub zk_version: ZkVersion,
}

/// Per-partition results of a LeaderAndIsr, in request order.
pub type LeaderAndIsrOutcome = Vec<(TopicPartition, Result<(), ReplicaError>)>;

/// A partition read, as the Fetch handler needs it.
pub type PartitionRead = ReadOutcome;

pub struct ReplicaManager {
    broker_id: i32,
    log_manager: Arc<LogManager>,
    log_config: LogConfig,
    min_insync_replicas: usize,
    partitions: RwLock<HashMap<TopicPartition, Arc<Partition>>>,
    controller_epoch: AtomicI32,
    high_watermark_changes: watch::Sender<u64>,
    /// High watermarks read from replication-offset-checkpoint at start-up.
    checkpointed_high_watermarks: HashMap<TopicPartition, Offset>,
}

impl ReplicaManager {
    pub fn new(
        broker_id: i32,
        log_manager: Arc<LogManager>,
        log_config: LogConfig,
        min_insync_replicas: usize,
        checkpointed_high_watermarks: HashMap<TopicPartition, Offset>,
    ) -> ReplicaManager {
        ReplicaManager {
            broker_id,
            log_manager,
            log_config,
            min_insync_replicas,
            partitions: RwLock::new(HashMap::new()),
            controller_epoch: AtomicI32::new(0),
            high_watermark_changes: watch::channel(0).0,
            checkpointed_high_watermarks,
        }
    }

    pub fn broker_id(&self) -> i32 {
        self.broker_id
    }

    pub fn log_manager(&self) -> &Arc<LogManager> {
        &self.log_manager
    }

    pub fn get_partition(&self, tp: &TopicPartition) -> Option<Arc<Partition>> {
        self.partitions.read().get(tp).cloned()
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

    /// Receivers change on every high-watermark advance of any partition.
    pub fn high_watermark_changes(&self) -> watch::Receiver<u64> {
        self.high_watermark_changes.subscribe()
    }

    fn announce_high_watermark_change(&self) {
        self.high_watermark_changes.send_modify(|v| *v += 1);
    }

    pub fn append_to_leader(
        &self,
        tp: &TopicPartition,
        records: &mut [u8],
        required_acks: i16,
        now_ms: i64,
    ) -> Result<AppendInfo, ReplicaError> {
        let partition = self.leader_partition(tp)?;
        let info =
            partition.append_as_leader(records, now_ms, required_acks, self.min_insync_replicas)?;
        // The high watermark may not move (followers behind), but fetchers
        // reading to the log end (followers) must still wake up.
        self.announce_high_watermark_change();
        Ok(info)
    }

    /// acks=all: waits until the high watermark covers `required_offset`
    /// (exclusive end of the appended batches) or the timeout passes.
    pub async fn wait_for_replication(
        &self,
        tp: &TopicPartition,
        required_offset: Offset,
        timeout: Duration,
    ) -> Result<(), ReplicaError> {
        let partition = self.leader_partition(tp)?;
        let done = wait_for(self.high_watermark_changes(), timeout, || {
            if !partition.is_leader() {
                return Some(Err(ReplicaError::NotLeaderOrFollower(tp.to_string())));
            }
            (partition.high_watermark() >= required_offset).then_some(Ok(()))
        })
        .await;
        match done {
            Some(result) => result,
            None => Err(ReplicaError::NotEnoughReplicas {
                partition: tp.to_string(),
                isr: partition.isr().len(),
                min_isr: self.min_insync_replicas,
            }),
        }
    }

    /// A follower fetched from `fetch_offset`: that is its log end offset now.
    pub fn record_follower_fetch(&self, tp: &TopicPartition, follower: i32, fetch_offset: Offset) {
        if let Some(partition) = self.get_partition(tp)
            && partition.update_follower_leo(follower, fetch_offset)
        {
            self.announce_high_watermark_change();
        }
    }

    /// Reads for a consumer (bounded by the high watermark) or a follower (by the log end).
    pub fn read(
        &self,
        tp: &TopicPartition,
        fetch_offset: Offset,
        max_bytes: usize,
        isolation: FetchIsolation,
        min_one_batch: bool,
    ) -> Result<PartitionRead, ReplicaError> {
        let partition = self.leader_partition(tp)?;
        partition.read(fetch_offset, max_bytes, isolation, min_one_batch)
    }

    /// Applies LeaderAndIsr. A request from an older controller is refused whole.
    pub fn become_leader_or_follower(
        &self,
        controller_epoch: ControllerEpoch,
        updates: Vec<PartitionStateUpdate>,
    ) -> Result<LeaderAndIsrOutcome, ReplicaError> {
        self.check_controller_epoch(controller_epoch)?;
        let mut outcome = Vec::with_capacity(updates.len());
        let mut moved = false;
        for update in updates {
            let tp = update.tp.clone();
            let result = self.apply_partition_state(update);
            moved |= result.is_ok();
            outcome.push((tp, result));
        }
        if moved {
            self.announce_high_watermark_change();
        }
        Ok(outcome)
    }

    fn apply_partition_state(&self, update: PartitionStateUpdate) -> Result<(), ReplicaError> {
        if !update.replicas.contains(&self.broker_id) {
            return Err(ReplicaError::UnknownTopicOrPartition(update.tp.to_string()));
        }
        let state = LeadershipState {
            topic_id: update.topic_id,
            leader: update.leader,
            leader_epoch: update.leader_epoch,
            isr: update.isr,
            follower_leos: HashMap::new(),
        };
        if let Some(existing) = self.get_partition(&update.tp) {
            let current = existing.leader_epoch();
            if !existing.update_leadership(state) {
                return Err(ReplicaError::StaleControllerEpoch {
                    request: update.leader_epoch,
                    current,
                });
            }
            return Ok(());
        }
        let log = self
            .log_manager
            .get_or_create_log(&update.tp, self.log_config)?;
        if !update.topic_id.is_nil() {
            crate::log::record_topic_id(
                log.dir(),
                &crate::model::encode_kafka_uuid(update.topic_id.as_bytes()),
            )?;
        }
        let checkpointed = self
            .checkpointed_high_watermarks
            .get(&update.tp)
            .copied()
            .unwrap_or(0);
        let partition = Arc::new(Partition::new(
            update.tp.clone(),
            self.broker_id,
            log,
            state,
            checkpointed,
        ));
        partition.maybe_increment_high_watermark();
        tracing::info!(
            partition = %update.tp,
            leader = update.leader,
            leader_epoch = update.leader_epoch,
            "hosting partition"
        );
        self.partitions.write().insert(update.tp, partition);
        Ok(())
    }

    /// StopReplica: stops hosting a partition, and deletes its log when asked.
    pub fn stop_replica(
        &self,
        controller_epoch: ControllerEpoch,
        tp: &TopicPartition,
        delete: bool,
    ) -> Result<(), ReplicaError> {
        self.check_controller_epoch(controller_epoch)?;
        let removed = self.partitions.write().remove(tp);
        if delete && (removed.is_some() || self.log_manager.get_log(tp).is_some()) {
            self.log_manager.delete_log(tp)?;
            tracing::info!(partition = %tp, "deleted partition log");
        }
        self.announce_high_watermark_change();
        Ok(())
    }

    fn check_controller_epoch(&self, request: ControllerEpoch) -> Result<(), ReplicaError> {
        let current = self.controller_epoch.fetch_max(request, Ordering::AcqRel);
        if request < current {
            return Err(ReplicaError::StaleControllerEpoch { request, current });
        }
        Ok(())
    }

    /// Every hosted partition's high watermark, for replication-offset-checkpoint.
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
}
