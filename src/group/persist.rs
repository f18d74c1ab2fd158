//! Group membership in ZooKeeper, where Kafka 0.8 kept it, so a coordinator
//! move does not force a rebalance and zkCli shows who consumes what:
//! generation, protocol, leader and state in the data of `/consumers/<g>`,
//! each member at `/consumers/<g>/ids/<member>`, each assigned partition's
//! member at `/consumers/<g>/owners/<t>/<p>` (JSON in `zk/data_groups.rs`).
//!
//! Written, fenced, when a generation completes (before SyncGroup answers,
//! as Kafka stores the group before answering), and when members leave or
//! the group empties (by the persister task, latest state first). A new
//! coordinator loads it when it claims the group: members keep their ids and
//! generation, heartbeat deadlines restart, no rebalance. A group whose
//! `ids/` were written by an old ZooKeeper-based consumer is left alone.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::consumer_protocol::{assignment_partitions, subscription_topics};
use super::coordinator::GroupCoordinator;
use super::error::GroupError;
use super::group_metadata::{GroupMetadata, MemberMetadata};
use super::state::GroupState;
use crate::util::now_ms;
use crate::zk::data_groups::{GroupStateZnode, MemberProtocol, MemberZnode};
use crate::zk::{GroupFence, PersistedGroup};

/// What one membership write stores.
pub struct Snapshot {
    pub fence: GroupFence,
    pub state: GroupStateZnode,
    pub members: Vec<MemberZnode>,
    pub owners: BTreeMap<(String, i32), String>,
    pub previous: PersistedGroup,
}

/// The snapshot of `group` written as `state` (`Stable` when a generation
/// completes). `None` for groups left to an old ZooKeeper-based consumer.
pub fn snapshot(group: &GroupMetadata, state: GroupState) -> Option<Snapshot> {
    if group.persisted.foreign_ids {
        return None;
    }
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let now = now_ms();
    let members: Vec<MemberZnode> = group
        .members
        .values()
        .map(|m| member_znode(m, &protocol, now))
        .collect();
    let owners = match state {
        GroupState::Stable => partition_owners(group),
        GroupState::Empty | GroupState::Dead => BTreeMap::new(),
        // Mid-rebalance nobody owns for sure: the last stable owners stay.
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => {
            group.persisted.owners.clone()
        }
    };
    let state_name = match state {
        GroupState::Stable => "Stable",
        GroupState::Empty | GroupState::Dead => "Empty",
        GroupState::PreparingRebalance | GroupState::CompletingRebalance => "PreparingRebalance",
    };
    Some(Snapshot {
        fence: group.fence,
        state: GroupStateZnode {
            version: 1,
            state: state_name.to_string(),
            generation: group.generation_id,
            protocol_type: group.protocol_type.clone(),
            protocol: group.protocol_name.clone(),
            leader: group.leader_id.clone(),
            current_state_timestamp: group.empty_since_ms.unwrap_or(now),
        },
        members,
        owners,
        previous: group.persisted.clone(),
    })
}

fn member_znode(m: &MemberMetadata, protocol: &str, now: i64) -> MemberZnode {
    let subscription = subscription_topics(&m.metadata_for(protocol))
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t, 1))
        .collect();
    MemberZnode {
        version: 1,
        subscription,
        pattern: "static".to_string(),
        timestamp: now,
        member_id: m.member_id.clone(),
        group_instance_id: m.group_instance_id.clone(),
        client_id: m.client_id.clone(),
        client_host: m.client_host.clone(),
        session_timeout_ms: m.session_timeout_ms,
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        protocols: m
            .protocols
            .iter()
            .map(|(name, metadata)| MemberProtocol {
                name: name.clone(),
                metadata: metadata.to_vec(),
            })
            .collect(),
        assignment: m.assignment.to_vec(),
    }
}

/// (topic, partition) -> member id, from consumer-protocol assignments.
fn partition_owners(group: &GroupMetadata) -> BTreeMap<(String, i32), String> {
    let mut owners = BTreeMap::new();
    if group.protocol_type.as_deref() != Some("consumer") {
        return owners;
    }
    for member in group.members.values() {
        for (topic, partitions) in assignment_partitions(&member.assignment).unwrap_or_default() {
            for p in partitions {
                owners.insert((topic.clone(), p), member.member_id.clone());
            }
        }
    }
    owners
}

/// The in-memory group a new coordinator starts from, and whether it must
/// rebalance at once (members had left before the move).
pub fn restore(
    group_id: &str,
    persisted: PersistedGroup,
    fence: GroupFence,
    broker_epoch: i64,
    now: Instant,
) -> (GroupMetadata, bool) {
    let mut group = GroupMetadata::new(group_id, now_ms(), fence, broker_epoch);
    let Some(state) = persisted.state.clone() else {
        group.persisted = persisted;
        return (group, false);
    };
    group.generation_id = state.generation;
    group.protocol_type = state.protocol_type.clone();
    group.protocol_name = state.protocol.clone();
    if persisted.foreign_ids || state.state == "Empty" || persisted.members.is_empty() {
        group.protocol_name = None;
        group.empty_since_ms = Some(state.current_state_timestamp);
        group.persisted = persisted;
        return (group, false);
    }
    for (seq, m) in persisted.members.iter().enumerate() {
        if let Some(instance) = &m.group_instance_id {
            group
                .static_members
                .insert(instance.clone(), m.member_id.clone());
        }
        group.members.insert(
            m.member_id.clone(),
            MemberMetadata {
                member_id: m.member_id.clone(),
                group_instance_id: m.group_instance_id.clone(),
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                session_timeout_ms: m.session_timeout_ms,
                protocols: m
                    .protocols
                    .iter()
                    .map(|p| (p.name.clone(), Bytes::from(p.metadata.clone())))
                    .collect(),
                assignment: Bytes::from(m.assignment.clone()),
                join_seq: seq as u64,
                awaiting_join: None,
                awaiting_sync: None,
                heartbeat_deadline: now + Duration::from_millis(m.session_timeout_ms.max(0) as u64),
            },
        );
    }
    group.next_join_seq = persisted.members.len() as u64;
    group.leader_id = state
        .leader
        .clone()
        .filter(|l| group.members.contains_key(l))
        .or_else(|| group.members.keys().next().cloned());
    group.state = GroupState::Stable;
    group.empty_since_ms = None;
    let rebalance = state.state != "Stable";
    group.persisted = persisted;
    (group, rebalance)
}

impl GroupCoordinator {
    /// Writes `snapshot` (fenced) and records it as what is stored now.
    /// Callers hold the group's lock.
    pub(super) async fn write_snapshot(
        &self,
        group_id: &str,
        snapshot: Snapshot,
    ) -> Result<(), GroupError> {
        let written = self
            .zk
            .set_group_membership(
                group_id,
                snapshot.fence,
                &snapshot.state,
                &snapshot.members,
                &snapshot.owners,
                &snapshot.previous,
            )
            .await;
        if let Err(e) = written {
            return Err(self.after_write_error(group_id, e));
        }
        if let Some(g) = self.groups.lock().get_mut(group_id)
            && g.fence == snapshot.fence
        {
            g.persisted = PersistedGroup {
                state: Some(snapshot.state),
                members: snapshot.members,
                foreign_ids: false,
                owners: snapshot.owners,
            };
        }
        Ok(())
    }

    /// Marks `group_id` for the persister task (members left, group empty).
    pub(super) fn mark_dirty(&self, group_id: &str) {
        self.dirty.lock().insert(group_id.to_string());
        self.dirty_notify.notify_one();
    }

    /// Writes the latest state of every dirty group.
    pub(super) async fn persist_dirty(&self) {
        let dirty: Vec<String> = std::mem::take(&mut *self.dirty.lock())
            .into_iter()
            .collect();
        for group_id in dirty {
            let lock = self.locks.get(&group_id);
            let _guard = lock.lock().await;
            let snap = {
                let groups = self.groups.lock();
                let Some(group) = groups.get(&group_id) else {
                    continue;
                };
                // A rebalance in flight with everyone rejoined is written when it completes.
                if group.state == GroupState::CompletingRebalance {
                    continue;
                }
                snapshot(group, group.state)
            };
            let Some(snap) = snap else { continue };
            match self.write_snapshot(&group_id, snap).await {
                Ok(()) => {}
                Err(GroupError::NotCoordinator) => {}
                Err(e) => {
                    tracing::warn!(group = %group_id, error = %e, "persisting group membership failed; will retry");
                    self.dirty.lock().insert(group_id);
                }
            }
        }
    }
}
