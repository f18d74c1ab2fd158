//! Partition: one hosted replica of a topic-partition, its log, its leader
//! epoch cache, and what the controller last told us about it (leader, leader
//! epoch, ISR, replicas, the state znode's zkVersion). As leader it tracks each
//! follower's fetches, moves the high watermark to the smallest log end offset
//! in the ISR, and proposes ISR changes; as follower it appends what the
//! leader sent and takes the leader's high watermark (Kafka's Partition).
//! Both keep the idempotent-producer state (`producer_state`) in step with
//! the log (snapshots at each roll and at clean shutdown, reloaded after
//! truncation); a leader checks idempotent batches (epoch, sequence) and
//! answers a retried one with the offsets it was first stored at instead of
//! appending it again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};
use uuid::Uuid;

use super::ReplicaError;
use super::follower_state::FollowerState;
use super::leader_epoch_cache::LeaderEpochCache;
use super::producer_snapshot;
use super::producer_state::{CachedBatch, ProducerStateTable};
use crate::log::{
    AppendInfo, AppendOutcome, AtomicOffset, Log, check_client_batch, validate_batches,
    whole_batch_headers,
};
use crate::model::{
    BrokerId, ControllerEpoch, LeaderAndIsr, LeaderEpoch, Offset, TopicPartition, ZkVersion,
};

/// How far a reader may see: consumers stop at the high watermark, followers at the log end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchIsolation {
    HighWatermark,
    LogEnd,
}

/// The leadership facts of one partition, replaced by each LeaderAndIsr.
#[derive(Debug, Clone)]
pub(super) struct LeadershipState {
    pub topic_id: Uuid,
    pub leader_and_isr: LeaderAndIsr,
    pub replicas: Vec<BrokerId>,
    pub controller_epoch: ControllerEpoch,
    /// What the leader knows of each follower, from their fetches.
    pub followers: HashMap<BrokerId, FollowerState>,
    /// An ISR write lost a zkVersion race: the controller changed the state,
    /// so no ISR changes until its next LeaderAndIsr.
    pub isr_changes_blocked: bool,
}

/// What a LeaderAndIsr did to this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadershipChange {
    /// We lead now (newly, or in a new epoch, or nothing changed).
    Leader,
    /// We follow `leader` in a new leader or epoch: (re)start fetching, truncating first.
    StartFollowing {
        leader: BrokerId,
        leader_epoch: LeaderEpoch,
    },
    /// Still following the same leader in the same epoch.
    KeepFollowing,
    /// The partition has no leader (offline): nothing to fetch from.
    NoLeader,
}

/// A new ISR the leader wants to write to ZooKeeper: its leadership with
/// the new ISR and the zkVersion it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsrProposal {
    pub tp: TopicPartition,
    pub leader_and_isr: LeaderAndIsr,
    pub controller_epoch: ControllerEpoch,
}

/// What a follower's fetch changed at the leader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowerFetchOutcome {
    /// The fetch was believed: the follower's state changed.
    pub recorded: bool,
    pub high_watermark_moved: bool,
    /// The follower caught up to the high watermark but is not in the ISR.
    pub wants_isr_expansion: bool,
}

pub struct Partition {
    pub tp: TopicPartition,
    local_broker: BrokerId,
    log: Arc<Log>,
    epoch_cache: LeaderEpochCache,
    state: RwLock<LeadershipState>,
    /// Idempotent producers' recent batches. Its lock also serialises this
    /// replica's appends and truncations, so a duplicate check and the append
    /// it guards see the same log (lock order: `state`, then this, then the log's).
    producer_state: Mutex<ProducerStateTable>,
    /// The log start offset the producer state last followed (`producer_log_start.rs`).
    producer_log_start: AtomicOffset,
    high_watermark: AtomicOffset,
    min_insync_replicas: AtomicUsize,
}

/// What one partition read produced, with the offsets a Fetch response carries.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    pub records: crate::log::Records,
    pub high_watermark: Offset,
    pub log_start_offset: Offset,
    pub log_end_offset: Offset,
}

impl Partition {
    pub(super) fn new(
        tp: TopicPartition,
        local_broker: BrokerId,
        log: Arc<Log>,
        state: LeadershipState,
        high_watermark: Offset,
        min_insync_replicas: usize,
    ) -> Result<Partition, ReplicaError> {
        let hw = high_watermark.clamp(log.log_start_offset(), log.log_end_offset());
        let epoch_cache = LeaderEpochCache::load(log.dir())?;
        // Recovery may have cut a torn tail: epochs past the log end are gone.
        epoch_cache.truncate_from_end(log.log_end_offset())?;
        // After an unclean shutdown the tail past the recovery point was
        // re-read by recovery; epochs written there but not checkpointed
        // come back from its batches (the scan stays within that tail).
        if log.recovery_point() < log.log_end_offset() {
            epoch_cache.assign_from_batches(&log, log.recovery_point())?;
        }
        let producer_state = ProducerStateTable::load(&log)?;
        // Snapshots below the log start describe deleted data (Kafka drops
        // them when it loads the producer state too).
        let log_start = log.log_start_offset();
        if let Err(e) = producer_snapshot::delete_snapshots_before(log.dir(), log_start) {
            tracing::warn!(partition = %tp, error = %e, "cannot delete producer snapshots below the log start offset");
        }
        let producer_log_start = AtomicOffset::new(log_start);
        Ok(Partition {
            tp,
            local_broker,
            log,
            epoch_cache,
            state: RwLock::new(state),
            producer_state: Mutex::new(producer_state),
            producer_log_start,
            high_watermark: AtomicOffset::new(hw),
            min_insync_replicas: AtomicUsize::new(min_insync_replicas.max(1)),
        })
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    pub fn topic_id(&self) -> Uuid {
        self.state.read().topic_id
    }

    pub fn high_watermark(&self) -> Offset {
        self.high_watermark.load(Ordering::Acquire)
    }

    pub fn leader_epoch(&self) -> LeaderEpoch {
        self.state.read().leader_and_isr.leader_epoch
    }

    pub fn leader_id(&self) -> BrokerId {
        self.state.read().leader_and_isr.leader
    }

    pub fn is_leader(&self) -> bool {
        self.state.read().leader_and_isr.leader == self.local_broker
    }

    pub fn isr(&self) -> Vec<BrokerId> {
        self.state.read().leader_and_isr.isr.clone()
    }

    pub fn min_insync_replicas(&self) -> usize {
        self.min_insync_replicas.load(Ordering::Acquire)
    }

    pub(super) fn set_min_insync_replicas(&self, min_isr: usize) {
        self.min_insync_replicas
            .store(min_isr.max(1), Ordering::Release);
    }

    /// The latest leader epoch in this replica's log, if any.
    pub fn latest_epoch(&self) -> Option<LeaderEpoch> {
        self.epoch_cache.latest_epoch()
    }

    /// OffsetsForLeaderEpoch: `(epoch, end offset)` of `requested` in this log.
    pub fn end_offset_for_epoch(&self, requested: LeaderEpoch) -> (LeaderEpoch, Offset) {
        self.epoch_cache
            .end_offset_for(requested, self.log.log_end_offset())
    }

    /// Whether `next` is newer than the leadership this replica applied
    /// (`LeaderAndIsr::is_newer_than`).
    pub(super) fn accepts_state(&self, next: &LeaderAndIsr) -> bool {
        next.is_newer_than(&self.state.read().leader_and_isr)
    }

    /// Applies a LeaderAndIsr state. Refused (StaleLeaderAndIsr, nothing
    /// changed) unless it is newer than ours (see `accepts_state`): a
    /// controller's failover copy or a resent request must not bring back an
    /// older ISR and zkVersion.
    pub(super) fn make_leader_or_follower(
        &self,
        next: LeadershipState,
        now_ms: i64,
    ) -> Result<LeadershipChange, ReplicaError> {
        let mut state = self.state.write();
        if !next.leader_and_isr.is_newer_than(&state.leader_and_isr) {
            return Err(ReplicaError::StaleLeaderAndIsr {
                partition: self.tp.to_string(),
                request_epoch: next.leader_and_isr.leader_epoch,
                request_zk_version: next.leader_and_isr.zk_version,
                current_epoch: state.leader_and_isr.leader_epoch,
                current_zk_version: state.leader_and_isr.zk_version,
            });
        }
        assert!(
            next.leader_and_isr.leader_epoch >= state.leader_and_isr.leader_epoch,
            "{}: leader epochs never decrease",
            self.tp
        );
        let was_leader = state.leader_and_isr.leader == self.local_broker;
        let same_epoch = state.leader_and_isr.leader == next.leader_and_isr.leader
            && state.leader_and_isr.leader_epoch == next.leader_and_isr.leader_epoch;
        let mut known = if was_leader {
            std::mem::take(&mut state.followers)
        } else {
            HashMap::new()
        };
        *state = next;
        if state.leader_and_isr.leader != self.local_broker {
            let change = if !state.leader_and_isr.leader.is_valid() {
                LeadershipChange::NoLeader
            } else if !same_epoch {
                LeadershipChange::StartFollowing {
                    leader: state.leader_and_isr.leader,
                    leader_epoch: state.leader_and_isr.leader_epoch,
                }
            } else {
                LeadershipChange::KeepFollowing
            };
            return Ok(change);
        }
        if same_epoch {
            // A newer zkVersion of the same leadership: nothing restarts.
            state.followers = known;
        } else {
            // This epoch starts at our log end. Followers' log ends are kept
            // across an epoch bump of the same leader and unknown to a new
            // leader (Kafka's makeLeader, isNewLeader); either way each one's
            // lag clock restarts (ISR members get a full lag period).
            self.epoch_cache
                .assign(state.leader_and_isr.leader_epoch, self.log.log_end_offset())?;
            let leader_leo = self.log.log_end_offset();
            let replicas = state.replicas.clone();
            for replica in replicas.into_iter().filter(|&r| r != self.local_broker) {
                let in_sync = state.leader_and_isr.isr.contains(&replica);
                let follower = match known.remove(&replica) {
                    Some(mut kept) => {
                        kept.restart_lag_clock(leader_leo, now_ms, in_sync);
                        kept
                    }
                    None => FollowerState::new(now_ms, in_sync),
                };
                state.followers.insert(replica, follower);
            }
        }
        drop(state);
        self.maybe_increment_high_watermark();
        Ok(LeadershipChange::Leader)
    }

    /// Where this leader's current epoch starts (`None` unless we lead).
    pub fn leader_epoch_start_offset(&self) -> Option<Offset> {
        let state = self.state.read();
        if state.leader_and_isr.leader != self.local_broker {
            return None;
        }
        let epoch_start = self
            .epoch_cache
            .end_offset_for(
                state.leader_and_isr.leader_epoch.prev(),
                self.log.log_end_offset(),
            )
            .1;
        Some(epoch_start)
    }

    /// Checks that a client's view of the leader epoch matches ours (-1 skips the check).
    pub fn check_leader_epoch(&self, requested: LeaderEpoch) -> Result<(), ReplicaError> {
        if !requested.is_defined() {
            return Ok(());
        }
        let current = self.leader_epoch();
        if requested < current {
            Err(ReplicaError::FencedLeaderEpoch {
                partition: self.tp.to_string(),
                request: requested,
                current,
            })
        } else if requested > current {
            Err(ReplicaError::UnknownLeaderEpoch {
                partition: self.tp.to_string(),
                request: requested,
                current,
            })
        } else {
            Ok(())
        }
    }

    /// Appends client batches as leader, stamped with our leader epoch; the
    /// ISR check for acks=all comes first so a refused write is not written at
    /// all (NOT_ENOUGH_REPLICAS). A batch an idempotent producer already
    /// appended (see `producer_state`) is not appended again: the answer is
    /// where it was stored the first time, and nothing of this append is
    /// written (Kafka's duplicate handling in Log.append).
    pub fn append_as_leader(
        &self,
        records: &mut [u8],
        now_ms: i64,
        required_acks: i16,
    ) -> Result<AppendInfo, ReplicaError> {
        let state = self.state.read();
        if state.leader_and_isr.leader != self.local_broker {
            return Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string()));
        }
        let min_isr = self.min_insync_replicas();
        if required_acks == -1 && state.leader_and_isr.isr.len() < min_isr {
            return Err(ReplicaError::NotEnoughReplicas {
                partition: self.tp.to_string(),
                isr: state.leader_and_isr.isr.len(),
                min_isr,
            });
        }
        let mut producers = self.producer_state.lock();
        if let Some(original) = self.check_producer_state(&producers, records)? {
            return Ok(original);
        }
        let outcome = self.log.append_as_leader_in_epoch(
            records,
            Some(state.leader_and_isr.leader_epoch),
            now_ms,
        )?;
        self.record_appended(&mut producers, &outcome);
        drop(producers);
        drop(state);
        self.maybe_increment_high_watermark();
        Ok(outcome.info)
    }

    /// The leader's producer-state check of a client append: `Some` (the
    /// original offsets) when a batch repeats a cached idempotent batch, an
    /// error for a fenced epoch or a sequence gap. Either way only once the
    /// records are known to be valid, so a corrupt request gets the log's
    /// answer; the CRC walk is skipped for ordinary appends (the log does it).
    fn check_producer_state(
        &self,
        producers: &ProducerStateTable,
        records: &[u8],
    ) -> Result<Option<AppendInfo>, ReplicaError> {
        let outcome = producers.check_append(&whole_batch_headers(records));
        if matches!(outcome, Ok(None)) {
            return Ok(None);
        }
        let infos = validate_batches(records, self.log.config().max_message_bytes)
            .map_err(crate::log::LogError::from)?;
        for info in &infos {
            check_client_batch(info).map_err(crate::log::LogError::from)?;
        }
        match outcome {
            Ok(Some(original)) => Ok(Some(self.duplicate_answer(original))),
            Ok(None) => Ok(None),
            Err(source) => {
                tracing::debug!(partition = %self.tp, error = %source, "idempotent batch refused");
                Err(ReplicaError::ProducerState {
                    partition: self.tp.to_string(),
                    source,
                })
            }
        }
    }

    /// What a duplicate is answered with: where it was stored the first time.
    fn duplicate_answer(&self, original: CachedBatch) -> AppendInfo {
        tracing::debug!(
            partition = %self.tp,
            first_offset = %original.first_offset,
            first_sequence = original.first_sequence,
            "duplicate idempotent batch: answered with its original offsets"
        );
        AppendInfo {
            first_offset: original.first_offset,
            last_offset: original.last_offset,
            max_timestamp: original.max_timestamp,
            offset_of_max_timestamp: original.last_offset,
            log_append_time_ms: -1,
            record_count: 0,
            bytes: 0,
        }
    }

    /// After an append (leader or follower, producer lock held): when the log
    /// rolled for it, writes a producer snapshot at the new segment's base
    /// offset (Kafka's roll-time snapshot), holding the state of everything
    /// below that offset; then records the batches the log wrote.
    fn record_appended(&self, producers: &mut ProducerStateTable, outcome: &AppendOutcome) {
        if let Some(base) = outcome.rolled_at {
            assert!(
                base <= outcome.info.first_offset,
                "{}: an append rolled to {base}, past its first offset {}",
                self.tp,
                outcome.info.first_offset
            );
            self.write_snapshot(producers, base, false);
        }
        producers.record_batches(&outcome.batches);
    }

    /// Writes the snapshot at `offset` and drops those below the oldest
    /// segment (keeping the latest). A failure only costs a longer replay.
    fn write_snapshot(&self, producers: &ProducerStateTable, offset: Offset, sync: bool) {
        let dir = self.log.dir();
        let result =
            producer_snapshot::write_snapshot(dir, offset, &producers.snapshot_entries(), sync)
                .and_then(|()| {
                    let oldest = self.log.segment_base_offsets().first().copied();
                    producer_snapshot::delete_snapshots_below(dir, oldest.unwrap_or(offset))
                });
        match result {
            Ok(()) => tracing::debug!(partition = %self.tp, %offset, "wrote producer snapshot"),
            Err(e) => {
                tracing::warn!(partition = %self.tp, %offset, error = %e, "producer snapshot failed")
            }
        }
    }

    /// The producer state and the log start offset it last followed (see
    /// `producer_log_start.rs`).
    pub(super) fn producer_state_and_log_start(
        &self,
    ) -> (&Mutex<ProducerStateTable>, &AtomicOffset) {
        (&self.producer_state, &self.producer_log_start)
    }

    /// Drops idle idempotent producers (see `producer_expiration`); returns how many.
    pub fn remove_expired_producers(&self, now_ms: i64, expiration_ms: i64) -> usize {
        self.producer_state
            .lock()
            .remove_expired(now_ms, expiration_ms)
    }

    /// Clean shutdown: a synced snapshot at the log end, so the next start
    /// replays nothing.
    pub fn write_shutdown_snapshot(&self) {
        let producers = self.producer_state.lock();
        self.write_snapshot(&producers, self.log.log_end_offset(), true);
    }

    /// acks=all: `None` while the high watermark is below `required_offset`;
    /// then whether the ISR was still big enough (Kafka's checkEnoughReplicasReachOffset).
    pub fn check_replicated(&self, required_offset: Offset) -> Option<Result<(), ReplicaError>> {
        let state = self.state.read();
        if state.leader_and_isr.leader != self.local_broker {
            return Some(Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string())));
        }
        if self.high_watermark() < required_offset {
            return None;
        }
        let min_isr = self.min_insync_replicas();
        if state.leader_and_isr.isr.len() < min_isr {
            return Some(Err(ReplicaError::NotEnoughReplicasAfterAppend {
                partition: self.tp.to_string(),
                isr: state.leader_and_isr.isr.len(),
                min_isr,
            }));
        }
        Some(Ok(()))
    }

    /// A follower fetched from `fetch_offset` in `current_leader_epoch`: that
    /// is its log end offset now. Believed only for a fetch this leader can
    /// serve (Kafka updates follower state after a successful read): from a
    /// replica of the partition, in our leader epoch (a replica must send
    /// one), at an offset within our log. Anything else changes nothing
    /// (`recorded` false): a forged or confused fetch past the log end must
    /// not move the high watermark or make its sender an ISR candidate.
    pub fn update_follower_fetch(
        &self,
        follower: BrokerId,
        fetch_offset: Offset,
        current_leader_epoch: LeaderEpoch,
        now_ms: i64,
    ) -> FollowerFetchOutcome {
        let leader_leo = self.log.log_end_offset();
        {
            let mut state = self.state.write();
            let servable = state.leader_and_isr.leader == self.local_broker
                && state.replicas.contains(&follower)
                && follower != self.local_broker
                && current_leader_epoch.is_defined()
                && current_leader_epoch == state.leader_and_isr.leader_epoch
                && fetch_offset >= self.log.log_start_offset()
                && fetch_offset <= leader_leo;
            if !servable {
                return FollowerFetchOutcome::default();
            }
            state
                .followers
                .entry(follower)
                .or_insert_with(|| FollowerState::new(now_ms, false))
                .record_fetch(fetch_offset, current_leader_epoch, leader_leo, now_ms);
        }
        let high_watermark_moved = self.maybe_increment_high_watermark();
        let state = self.state.read();
        let wants_isr_expansion =
            !state.isr_changes_blocked && !state.leader_and_isr.isr.contains(&follower) && {
                let epoch_start = self
                    .epoch_cache
                    .end_offset_for(state.leader_and_isr.leader_epoch.prev(), leader_leo)
                    .1;
                fetch_offset >= self.high_watermark() && fetch_offset >= epoch_start
            };
        FollowerFetchOutcome {
            recorded: true,
            high_watermark_moved,
            wants_isr_expansion,
        }
    }

    /// A follower's fetch reported its log start offset (DeleteRecords waits
    /// on it). Returns whether it changed.
    pub fn update_follower_log_start_offset(&self, follower: BrokerId, log_start: Offset) -> bool {
        let mut state = self.state.write();
        if state.leader_and_isr.leader != self.local_broker {
            return false;
        }
        match state.followers.get_mut(&follower) {
            Some(f) if f.log_start_offset != log_start => {
                f.log_start_offset = log_start;
                true
            }
            _ => false,
        }
    }

    /// The log start offset moved to `offset`: epochs wholly before it go
    /// from the leader epoch cache.
    pub(super) fn truncate_epochs_from_start(&self, offset: Offset) -> Result<(), ReplicaError> {
        Ok(self.epoch_cache.truncate_from_start(offset)?)
    }

    /// The smallest log start offset among this leader and its live replicas
    /// (Kafka's lowWatermarkIfLeader); one not heard from yet counts as -1.
    pub fn low_watermark_if_leader(
        &self,
        is_live: impl Fn(BrokerId) -> bool,
    ) -> Result<Offset, ReplicaError> {
        let state = self.state.read();
        if state.leader_and_isr.leader != self.local_broker {
            return Err(ReplicaError::NotLeaderOrFollower(self.tp.to_string()));
        }
        Ok(state
            .replicas
            .iter()
            .filter(|&&r| r != self.local_broker && is_live(r))
            .map(|r| {
                state
                    .followers
                    .get(r)
                    .map_or(Offset::UNKNOWN, |f| f.log_start_offset)
            })
            .fold(self.log.log_start_offset(), Offset::min))
    }

    /// Moves the high watermark up to the smallest log end offset in the ISR.
    /// Returns whether it moved.
    pub fn maybe_increment_high_watermark(&self) -> bool {
        let state = self.state.read();
        if state.leader_and_isr.leader != self.local_broker {
            return false;
        }
        let local_leo = self.log.log_end_offset();
        let new_hw = state
            .leader_and_isr
            .isr
            .iter()
            .map(|&id| {
                if id == self.local_broker {
                    local_leo
                } else {
                    state
                        .followers
                        .get(&id)
                        .map_or(Offset::UNKNOWN, |f| f.log_end_offset)
                }
            })
            .min()
            .unwrap_or(local_leo)
            .min(local_leo);
        assert!(
            new_hw <= local_leo,
            "{}: high watermark past the log end",
            self.tp
        );
        drop(state);
        self.high_watermark.fetch_max(new_hw, Ordering::AcqRel) < new_hw
    }

    /// The ISR this leader wants now: lagging followers out
    /// (replica.lag.time.max.ms), caught-up replicas in. `None` when it is
    /// unchanged, we do not lead, or ISR changes wait for the controller.
    pub fn isr_change_proposal(&self, now_ms: i64, max_lag_ms: i64) -> Option<IsrProposal> {
        let state = self.state.read();
        if state.leader_and_isr.leader != self.local_broker || state.isr_changes_blocked {
            return None;
        }
        let leader_leo = self.log.log_end_offset();
        let hw = self.high_watermark();
        let epoch_start = self
            .epoch_cache
            .end_offset_for(state.leader_and_isr.leader_epoch.prev(), leader_leo)
            .1;
        let mut isr: Vec<BrokerId> = state
            .leader_and_isr
            .isr
            .iter()
            .copied()
            .filter(|&id| {
                id == self.local_broker
                    || state
                        .followers
                        .get(&id)
                        .is_none_or(|f| !f.is_lagging(leader_leo, now_ms, max_lag_ms))
            })
            .collect();
        // Outsiders that fetched in this epoch, reached the high watermark
        // (and this epoch's start) and keep up join; a member just dropped
        // above is no candidate, nor one known only from an older epoch.
        for &replica in &state.replicas {
            let caught_up = state.followers.get(&replica).is_some_and(|f| {
                f.last_fetch_leader_epoch == state.leader_and_isr.leader_epoch
                    && f.log_end_offset >= hw
                    && f.log_end_offset >= epoch_start
                    && !f.is_lagging(leader_leo, now_ms, max_lag_ms)
            });
            if replica != self.local_broker
                && !state.leader_and_isr.isr.contains(&replica)
                && caught_up
            {
                isr.push(replica);
            }
        }
        if !isr.contains(&self.local_broker) {
            isr.insert(0, self.local_broker);
        }
        let mut current = state.leader_and_isr.isr.clone();
        current.sort_unstable();
        let mut proposed = isr.clone();
        proposed.sort_unstable();
        (current != proposed).then(|| IsrProposal {
            tp: self.tp.clone(),
            leader_and_isr: LeaderAndIsr {
                isr,
                ..state.leader_and_isr.clone()
            },
            controller_epoch: state.controller_epoch,
        })
    }

    /// The proposal was written as zkVersion `new_zk_version`: adopt it,
    /// unless a LeaderAndIsr replaced the state meanwhile.
    pub fn apply_isr_change(&self, proposal: &IsrProposal, new_zk_version: ZkVersion) -> bool {
        {
            let mut state = self.state.write();
            if state.leader_and_isr.leader_epoch != proposal.leader_and_isr.leader_epoch
                || state.leader_and_isr.zk_version != proposal.leader_and_isr.zk_version
            {
                return false;
            }
            state.leader_and_isr.isr = proposal.leader_and_isr.isr.clone();
            state.leader_and_isr.zk_version = new_zk_version;
        }
        self.maybe_increment_high_watermark();
        true
    }

    /// The proposal's zkVersion was stale: the controller changed the state.
    pub fn block_isr_changes(&self, proposal: &IsrProposal) {
        let mut state = self.state.write();
        if state.leader_and_isr.leader_epoch == proposal.leader_and_isr.leader_epoch
            && state.leader_and_isr.zk_version == proposal.leader_and_isr.zk_version
        {
            state.isr_changes_blocked = true;
        }
    }

    pub fn read(
        &self,
        fetch_offset: Offset,
        max_bytes: usize,
        isolation: FetchIsolation,
        min_one_batch: bool,
        mode: crate::log::ReadMode,
    ) -> Result<ReadOutcome, ReplicaError> {
        let high_watermark = self.high_watermark();
        let log_end_offset = self.log.log_end_offset();
        let bound = match isolation {
            FetchIsolation::HighWatermark => high_watermark,
            FetchIsolation::LogEnd => log_end_offset,
        };
        // Between the bound and the log end there is nothing to show yet; past
        // the log end the log answers OFFSET_OUT_OF_RANGE.
        let records = if fetch_offset >= bound && fetch_offset <= log_end_offset {
            crate::log::Records::default()
        } else {
            self.log
                .read_records(fetch_offset, max_bytes, bound, min_one_batch, mode)?
                .records
        };
        Ok(ReadOutcome {
            records,
            high_watermark,
            log_start_offset: self.log.log_start_offset(),
            log_end_offset,
        })
    }
}

#[path = "partition_follower.rs"]
mod follower;

#[cfg(test)]
#[path = "partition_tests.rs"]
pub(super) mod tests;
