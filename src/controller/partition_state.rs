//! Partition leadership writes (Kafka's PartitionStateMachine): new partitions
//! get their first leader and ISR, partitions whose leader died get a new
//! one, and dead replicas leave the ISR. Every write is a conditional update
//! of the partition state znode on the version the controller last saw; on a
//! version conflict the controller re-reads the znode and decides again. Every
//! write is also fenced on `/controller_epoch`'s zkVersion (one ZooKeeper
//! multi with a check op): a deposed controller gets `ZkError::ControllerMoved`
//! and resigns.

use super::context::ControllerContext;
use super::election::{new_partition_leader, offline_partition_leader};
use crate::model::{TopicPartition, ZkVersion};
use crate::zk::{PartitionStateZnode, ZkClient, ZkError};

/// Creates state znodes for partitions that have none. Returns those now initialised.
pub async fn initialize_new_partitions(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
    partitions: &[TopicPartition],
) -> Result<Vec<TopicPartition>, ZkError> {
    let mut done = Vec::new();
    for tp in partitions {
        if ctx.partition_states.contains_key(tp) || ctx.is_deleting(tp) {
            continue;
        }
        let Some(elected) = new_partition_leader(ctx.replicas(tp), |b| ctx.is_eligible(b)) else {
            tracing::warn!(partition = %tp, "no live replica: partition stays offline");
            continue;
        };
        let state = PartitionStateZnode::new(elected.leader, 0, elected.isr, ctx.epoch);
        match zk
            .create_partition_state_fenced(&tp.topic, tp.partition, &state, ctx.epoch_zk_version)
            .await
        {
            Ok(_version) => {
                ctx.partition_states.insert(tp.clone(), (state, 0));
            }
            Err(ZkError::NodeExists { .. }) => {
                // Written by an earlier controller: take what is there.
                if let Some(existing) = zk.get_partition_state(&tp.topic, tp.partition).await? {
                    ctx.partition_states.insert(tp.clone(), existing);
                }
            }
            Err(e) => return Err(e),
        }
        tracing::info!(partition = %tp, leader = ctx.partition_states[tp].0.leader, "partition online");
        done.push(tp.clone());
    }
    Ok(done)
}

/// How often a decision is retried on fresh state after the state znode
/// changed under the controller (a leader's ISR change, typically).
const CONFLICT_ATTEMPTS: usize = 3;

/// Where the partition states are written: ZooKeeper, each write a
/// conditional set fenced on the controller epoch (`FencedStates`); unit tests
/// use an in-memory store.
pub(super) trait StateStore {
    /// Writes `next` if the state's zkVersion is still `expected`; returns the
    /// new zkVersion, or `ZkError::BadVersion`.
    async fn write(
        &self,
        tp: &TopicPartition,
        next: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> Result<ZkVersion, ZkError>;

    /// The state and its zkVersion, `None` if the znode is gone.
    async fn read(
        &self,
        tp: &TopicPartition,
    ) -> Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError>;
}

/// The partition state znodes in ZooKeeper, written fenced on `/controller_epoch`.
pub(super) struct FencedStates<'a> {
    pub zk: &'a ZkClient,
    pub epoch_zk_version: ZkVersion,
}

impl StateStore for FencedStates<'_> {
    async fn write(
        &self,
        tp: &TopicPartition,
        next: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        self.zk
            .update_partition_state_fenced(
                &tp.topic,
                tp.partition,
                next,
                expected,
                self.epoch_zk_version,
            )
            .await
    }

    async fn read(
        &self,
        tp: &TopicPartition,
    ) -> Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError> {
        self.zk.get_partition_state(&tp.topic, tp.partition).await
    }
}

/// What `update_state` came to for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum StateUpdate {
    /// Nothing to do: the state is what brokers were last told.
    Unchanged,
    /// The decision is the partition's state now.
    Written,
    /// The state znode changed under the controller and the decision no
    /// longer applies; the state read back is new to brokers.
    Refreshed,
}

impl StateUpdate {
    /// The partition's state differs from what brokers were last told: it
    /// must be announced (LeaderAndIsr, UpdateMetadata), whoever wrote it.
    pub fn changed(self) -> bool {
        self != StateUpdate::Unchanged
    }

    pub fn written(self) -> bool {
        self == StateUpdate::Written
    }
}

/// Decides the next state of `tp` from its current one with `decide` (`None`:
/// leave it) and writes it conditionally; on a version conflict re-reads and
/// decides again, up to `CONFLICT_ATTEMPTS` times.
pub(super) async fn update_state(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
    tp: &TopicPartition,
    decide: impl Fn(&ControllerContext, &PartitionStateZnode) -> Option<PartitionStateZnode>,
) -> Result<StateUpdate, ZkError> {
    let store = FencedStates {
        zk,
        epoch_zk_version: ctx.epoch_zk_version,
    };
    update_state_in(&store, ctx, tp, decide).await
}

/// `update_state` on any store. The outcome does not depend on who won the
/// compare-and-set: a state found already written as decided (our own
/// earlier attempt, its reply lost) counts as written, and a state someone
/// else wrote meanwhile counts as changed, so either is announced.
pub(super) async fn update_state_in(
    store: &impl StateStore,
    ctx: &mut ControllerContext,
    tp: &TopicPartition,
    decide: impl Fn(&ControllerContext, &PartitionStateZnode) -> Option<PartitionStateZnode>,
) -> Result<StateUpdate, ZkError> {
    let Some((_, start_version)) = ctx.partition_states.get(tp) else {
        return Ok(StateUpdate::Unchanged);
    };
    let start_version = *start_version;
    let changed_meanwhile = |ctx: &ControllerContext| {
        if ctx
            .partition_states
            .get(tp)
            .is_some_and(|(_, v)| *v != start_version)
        {
            StateUpdate::Refreshed
        } else {
            StateUpdate::Unchanged
        }
    };
    for _ in 0..CONFLICT_ATTEMPTS {
        let Some((current, _)) = ctx.partition_states.get(tp) else {
            return Ok(StateUpdate::Unchanged);
        };
        let Some(next) = decide(ctx, current) else {
            return Ok(changed_meanwhile(ctx));
        };
        match write_state(store, ctx, tp, next).await? {
            WriteOutcome::Written => return Ok(StateUpdate::Written),
            WriteOutcome::Conflict => {}
            WriteOutcome::Gone => return Ok(StateUpdate::Unchanged),
        }
    }
    Ok(changed_meanwhile(ctx))
}

/// What one conditional write came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WriteOutcome {
    /// The znode holds what we wrote (now in the context).
    Written,
    /// It holds something else (now in the context): decide again.
    Conflict,
    /// The znode is gone (its topic was deleted).
    Gone,
}

/// After a BadVersion, the state read back: if it is exactly what we tried
/// to write, our own attempt landed before its reply was lost (the client
/// retries a write after ConnectionLoss) and we adopt its version (Kafka's
/// `checkLeaderAndIsrZkData`).
fn is_our_write(
    next: &PartitionStateZnode,
    fresh: &Option<(PartitionStateZnode, ZkVersion)>,
) -> bool {
    fresh.as_ref().is_some_and(|(state, _)| state == next)
}

/// Writes `next` over the state of `tp` if nobody changed it since we read it;
/// on a conflict re-reads (into the context), so the caller can decide again.
async fn write_state(
    store: &impl StateStore,
    ctx: &mut ControllerContext,
    tp: &TopicPartition,
    next: PartitionStateZnode,
) -> Result<WriteOutcome, ZkError> {
    let Some((_, version)) = ctx.partition_states.get(tp) else {
        return Ok(WriteOutcome::Gone);
    };
    match store.write(tp, &next, *version).await {
        Ok(new_version) => {
            ctx.partition_states.insert(tp.clone(), (next, new_version));
            Ok(WriteOutcome::Written)
        }
        Err(ZkError::BadVersion { .. }) => {
            let fresh = store.read(tp).await?;
            if is_our_write(&next, &fresh) {
                tracing::info!(partition = %tp, "partition state already holds our write (its reply was lost); adopting it");
                ctx.partition_states
                    .insert(tp.clone(), fresh.expect("checked by is_our_write"));
                return Ok(WriteOutcome::Written);
            }
            tracing::warn!(partition = %tp, "partition state changed under the controller; re-read");
            match fresh {
                Some(fresh) => {
                    ctx.partition_states.insert(tp.clone(), fresh);
                    Ok(WriteOutcome::Conflict)
                }
                None => Ok(WriteOutcome::Gone),
            }
        }
        Err(e) => Err(e),
    }
}

/// Elects leaders for partitions whose leader is not live. Returns the partitions changed.
pub async fn elect_offline_partitions(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
    unclean_allowed: bool,
) -> Result<Vec<TopicPartition>, ZkError> {
    let offline: Vec<TopicPartition> = ctx
        .partition_states
        .iter()
        .filter(|(tp, (s, _))| {
            !ctx.is_live(s.leader) && !ctx.topics_being_deleted.contains(&tp.topic)
        })
        .map(|(tp, _)| tp.clone())
        .collect();
    let mut changed = Vec::new();
    for tp in offline {
        let unclean_allowed = unclean_leader_election_enable(zk, &tp.topic, unclean_allowed).await;
        let decide = |ctx: &ControllerContext, current: &PartitionStateZnode| {
            if ctx.is_live(current.leader) {
                return None;
            }
            let elected = offline_partition_leader(
                ctx.replicas(&tp),
                &current.isr,
                |b| ctx.is_eligible(b),
                unclean_allowed,
            );
            match elected {
                Some(e) => Some(PartitionStateZnode::new(
                    e.leader,
                    current.leader_epoch + 1,
                    e.isr,
                    ctx.epoch,
                )),
                None if current.leader == -1 => None,
                // Kafka keeps the last ISR member in the ISR of an offline
                // partition, so it can lead again when it returns.
                None => Some(PartitionStateZnode::new(
                    -1,
                    current.leader_epoch + 1,
                    current.isr.clone(),
                    ctx.epoch,
                )),
            }
        };
        let update = update_state(zk, ctx, &tp, decide).await?;
        if update.changed() {
            let leader = ctx.partition_states[&tp].0.leader;
            if !update.written() {
                tracing::info!(partition = %tp, leader, "partition state was changed by another writer; announcing it");
            } else if leader >= 0 {
                let state = &ctx.partition_states[&tp].0;
                tracing::info!(partition = %tp, leader, leader_epoch = state.leader_epoch, isr = ?state.isr, "elected new leader");
            } else {
                tracing::warn!(partition = %tp, "no live ISR member: partition offline");
            }
            changed.push(tp);
        }
    }
    Ok(changed)
}

/// Removes dead brokers from the ISR of partitions they follow (the leader stays).
pub async fn remove_dead_from_isr(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
) -> Result<Vec<TopicPartition>, ZkError> {
    let shrink: Vec<TopicPartition> = ctx
        .partition_states
        .iter()
        .filter(|(tp, (s, _))| {
            ctx.is_live(s.leader) && s.isr.iter().any(|&r| !ctx.is_live(r)) && !ctx.is_deleting(tp)
        })
        .map(|(tp, _)| tp.clone())
        .collect();
    let mut changed = Vec::new();
    for tp in shrink {
        let decide = |ctx: &ControllerContext, current: &PartitionStateZnode| {
            if !ctx.is_live(current.leader) || current.isr.iter().all(|&r| ctx.is_live(r)) {
                return None;
            }
            let isr: Vec<i32> = current
                .isr
                .iter()
                .copied()
                .filter(|&r| ctx.is_live(r))
                .collect();
            Some(PartitionStateZnode::new(
                current.leader,
                current.leader_epoch + 1,
                isr,
                ctx.epoch,
            ))
        };
        let update = update_state(zk, ctx, &tp, decide).await?;
        if update.changed() {
            let state = &ctx.partition_states[&tp].0;
            if update.written() {
                tracing::info!(partition = %tp, leader = state.leader, leader_epoch = state.leader_epoch, isr = ?state.isr, "removed dead replicas from the ISR");
            }
            changed.push(tp);
        }
    }
    Ok(changed)
}

/// `unclean.leader.election.enable` for `topic` as Kafka's controller reads
/// it when electing: the topic's override (`/config/topics/<t>`), else the
/// cluster default (`/config/brokers/<default>`), else `static_value`. An
/// unreadable znode counts as unset.
async fn unclean_leader_election_enable(zk: &ZkClient, topic: &str, static_value: bool) -> bool {
    const KEY: &str = "unclean.leader.election.enable";
    let topic_config = zk.get_topic_config(topic).await.unwrap_or_default();
    let value = match topic_config.get(KEY) {
        Some(v) => Some(v.clone()),
        None => zk
            .get_broker_config("<default>")
            .await
            .unwrap_or_default()
            .get(KEY)
            .cloned(),
    };
    value.map_or(static_value, |v| v.trim().eq_ignore_ascii_case("true"))
}

#[cfg(test)]
#[path = "partition_state_tests.rs"]
mod tests;
