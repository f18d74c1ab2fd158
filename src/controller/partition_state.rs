//! Partition leadership writes (Kafka's PartitionStateMachine): new partitions
//! get their first leader and ISR, partitions whose leader died get a new
//! one, and dead replicas leave the ISR. Every write is a conditional update
//! of the partition state znode on the version the controller last saw; on a
//! version conflict the controller re-reads the znode and decides again. Every
//! write is also fenced on `/controller_epoch`'s zkVersion (one ZooKeeper
//! multi with a check op): a deposed controller gets `ZkError::ControllerMoved`
//! and resigns.

use std::collections::{BTreeMap, BTreeSet};

use super::context::ControllerContext;
use super::election::{new_partition_leader, offline_partition_leader};
use tokio::task::JoinSet;

use super::state_write::{PIPELINE_DEPTH, update_states};
use crate::model::{BrokerId, LeaderAndIsr, LeaderEpoch, TopicPartition};
use crate::zk::{PartitionStateZnode, ZkClient, ZkError};

/// Creates state znodes for partitions that have none (up to
/// `PIPELINE_DEPTH` at a time). Returns those now initialised.
pub async fn initialize_new_partitions(
    zk: &ZkClient,
    ctx: &mut ControllerContext,
    partitions: &[TopicPartition],
) -> Result<Vec<TopicPartition>, ZkError> {
    let mut planned = Vec::new();
    for tp in partitions {
        if ctx.partition_states.contains_key(tp) || ctx.is_deleting(tp) {
            continue;
        }
        let Some(elected) = new_partition_leader(ctx.replicas(tp), |b| ctx.is_eligible(b)) else {
            tracing::warn!(partition = %tp, "no live replica: partition stays offline");
            continue;
        };
        let state =
            PartitionStateZnode::new(elected.leader, LeaderEpoch::INITIAL, elected.isr, ctx.epoch);
        planned.push((tp.clone(), state));
    }
    let mut done = Vec::with_capacity(planned.len());
    let mut pending = planned.into_iter();
    let mut in_flight = JoinSet::new();
    loop {
        while in_flight.len() < PIPELINE_DEPTH {
            let Some((tp, state)) = pending.next() else {
                break;
            };
            let (zk, epoch_zk_version) = (zk.clone(), ctx.epoch_zk_version);
            in_flight.spawn(async move {
                let created = zk
                    .create_partition_state_fenced(
                        &tp.topic,
                        tp.partition,
                        &state,
                        epoch_zk_version,
                    )
                    .await;
                (tp, state, created)
            });
        }
        let Some(joined) = in_flight.join_next().await else {
            break;
        };
        let (tp, state, created) = joined.expect("a partition state creation panicked");
        match created {
            Ok(version) => {
                ctx.partition_states.insert(tp.clone(), (state, version));
            }
            Err(ZkError::NodeExists { .. }) => {
                // Written by an earlier controller (or by our own attempt
                // whose reply was lost): take what is there.
                if let Some(existing) = zk.get_partition_state(&tp.topic, tp.partition).await? {
                    ctx.partition_states.insert(tp.clone(), existing);
                }
            }
            Err(e) => return Err(e),
        }
        if let Some((state, _)) = ctx.partition_states.get(&tp) {
            tracing::info!(partition = %tp, leader = %state.leader, "partition online");
            done.push(tp);
        }
    }
    done.sort();
    Ok(done)
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
    if offline.is_empty() {
        return Ok(Vec::new());
    }
    let unclean = unclean_leader_election_enable(zk, &offline, unclean_allowed).await;
    let decide = |ctx: &ControllerContext, tp: &TopicPartition, current: &PartitionStateZnode| {
        if ctx.is_live(current.leader) {
            return None;
        }
        let elected = offline_partition_leader(
            ctx.replicas(tp),
            &current.isr,
            |b| ctx.is_eligible(b),
            unclean.get(&tp.topic).copied().unwrap_or(unclean_allowed),
        );
        match elected {
            Some(e) => Some(PartitionStateZnode::new(
                e.leader,
                current.leader_epoch.next(),
                e.isr,
                ctx.epoch,
            )),
            None if current.leader == LeaderAndIsr::NO_LEADER => None,
            // Kafka keeps the last ISR member in the ISR of an offline
            // partition, so it can lead again when it returns.
            None => Some(PartitionStateZnode::new(
                LeaderAndIsr::NO_LEADER,
                current.leader_epoch.next(),
                current.isr.clone(),
                ctx.epoch,
            )),
        }
    };
    let mut changed = Vec::new();
    for (tp, update) in update_states(zk, ctx, &offline, decide).await? {
        if !update.changed() {
            continue;
        }
        let state = &ctx.partition_states[&tp].0;
        if !update.written() {
            tracing::info!(partition = %tp, leader = %state.leader, "partition state was changed by another writer; announcing it");
        } else if state.leader.is_valid() {
            tracing::info!(partition = %tp, leader = %state.leader, leader_epoch = %state.leader_epoch, isr = ?state.isr, "elected new leader");
        } else {
            tracing::warn!(partition = %tp, "no live ISR member: partition offline");
        }
        changed.push(tp);
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
    let decide = |ctx: &ControllerContext, _: &TopicPartition, current: &PartitionStateZnode| {
        if !ctx.is_live(current.leader) || current.isr.iter().all(|&r| ctx.is_live(r)) {
            return None;
        }
        let isr: Vec<BrokerId> = current
            .isr
            .iter()
            .copied()
            .filter(|&r| ctx.is_live(r))
            .collect();
        Some(PartitionStateZnode::new(
            current.leader,
            current.leader_epoch.next(),
            isr,
            ctx.epoch,
        ))
    };
    let mut changed = Vec::new();
    for (tp, update) in update_states(zk, ctx, &shrink, decide).await? {
        if update.changed() {
            if update.written() {
                let state = &ctx.partition_states[&tp].0;
                tracing::info!(partition = %tp, leader = %state.leader, leader_epoch = %state.leader_epoch, isr = ?state.isr, "removed dead replicas from the ISR");
            }
            changed.push(tp);
        }
    }
    Ok(changed)
}

/// `unclean.leader.election.enable` for the topics of `partitions`, as
/// Kafka's controller reads it when electing: each topic's override
/// (`/config/topics/<t>`), else the cluster default
/// (`/config/brokers/<default>`, read once), else `static_value`. An
/// unreadable znode counts as unset. One read per topic, not per partition.
async fn unclean_leader_election_enable(
    zk: &ZkClient,
    partitions: &[TopicPartition],
    static_value: bool,
) -> BTreeMap<String, bool> {
    const KEY: &str = "unclean.leader.election.enable";
    let parse = |v: &str| v.trim().eq_ignore_ascii_case("true");
    let topics: BTreeSet<&str> = partitions.iter().map(|tp| tp.topic.as_str()).collect();
    let mut cluster_default: Option<bool> = None;
    let mut decided = BTreeMap::new();
    for topic in topics {
        let topic_config = zk.get_topic_config(topic).await.unwrap_or_default();
        let value = match topic_config.get(KEY) {
            Some(v) => parse(v),
            None => match cluster_default {
                Some(v) => v,
                None => {
                    let v = zk
                        .get_broker_config("<default>")
                        .await
                        .unwrap_or_default()
                        .get(KEY)
                        .map_or(static_value, |v| parse(v));
                    cluster_default = Some(v);
                    v
                }
            },
        };
        decided.insert(topic.to_owned(), value);
    }
    decided
}
