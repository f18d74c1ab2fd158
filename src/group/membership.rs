//! SyncGroup, Heartbeat and LeaveGroup on the coordinator, with Kafka's
//! error precedence (member, then generation, then state). The leader's
//! SyncGroup stores the new generation in ZooKeeper (fenced, `persist.rs`)
//! before any member gets its assignment, as Kafka's storeGroup does.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use tokio::sync::oneshot;

use super::coordinator::Acquired;
use super::coordinator::{GroupCoordinator, remove_member, session_timeout};
use super::error::GroupError;
use super::group_metadata::{GroupMetadata, SyncOutcome, SyncResult};
use super::persist::{Snapshot, snapshot};
use super::state::GroupState;

/// What the leader's SyncGroup must do after the checks.
enum SyncStep {
    Wait(oneshot::Receiver<SyncOutcome>),
    Store(oneshot::Receiver<SyncOutcome>, i32, Box<Snapshot>),
}

impl GroupCoordinator {
    #[allow(clippy::too_many_arguments)]
    pub async fn sync_group(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        protocol_type: Option<&str>,
        protocol_name: Option<&str>,
        assignments: Vec<(String, Bytes)>,
    ) -> SyncOutcome {
        match self.acquire(group_id, false).await {
            Ok(Acquired::Owned) => {}
            Ok(Acquired::Absent) => return Err(GroupError::UnknownMemberId),
            // Kafka: the rebalance state was lost with the load; rejoin.
            Err(GroupError::CoordinatorLoadInProgress) => {
                return Err(GroupError::RebalanceInProgress);
            }
            Err(e) => return Err(e),
        }
        let lock = self.locks.get(group_id);
        let guard = lock.lock().await;
        let step = {
            let mut groups = self.groups.lock();
            let group = groups.get_mut(group_id).ok_or(GroupError::NotCoordinator)?;
            sync_checks(group, generation_id, member_id, instance_id)?;
            if protocol_type.is_some_and(|t| group.protocol_type.as_deref() != Some(t))
                || protocol_name.is_some_and(|n| group.protocol_name.as_deref() != Some(n))
            {
                return Err(GroupError::InconsistentGroupProtocol);
            }
            match group.state {
                GroupState::Empty | GroupState::Dead => return Err(GroupError::UnknownMemberId),
                GroupState::PreparingRebalance => return Err(GroupError::RebalanceInProgress),
                GroupState::Stable => {
                    let member = group
                        .members
                        .get_mut(member_id)
                        .ok_or(GroupError::UnknownMemberId)?;
                    member.heartbeat_deadline =
                        Instant::now() + session_timeout(member.session_timeout_ms);
                    return Ok(SyncResult {
                        protocol_type: group.protocol_type.clone(),
                        protocol_name: group.protocol_name.clone(),
                        assignment: member.assignment.clone(),
                    });
                }
                GroupState::CompletingRebalance => {}
            }
            let (tx, rx) = oneshot::channel();
            if let Some(member) = group.members.get_mut(member_id) {
                member.awaiting_sync = Some(tx);
                member.heartbeat_deadline =
                    Instant::now() + session_timeout(member.session_timeout_ms);
            }
            if group.is_leader(member_id) && group.storing_generation.is_none() {
                let assigned: HashMap<String, Bytes> = assignments.into_iter().collect();
                for member in group.members.values_mut() {
                    member.assignment =
                        assigned.get(&member.member_id).cloned().unwrap_or_default();
                }
                group.storing_generation = Some(group.generation_id);
                match snapshot(group, GroupState::Stable) {
                    Some(snap) => SyncStep::Store(rx, group.generation_id, Box::new(snap)),
                    None => {
                        self.complete_sync(group, Ok(()));
                        SyncStep::Wait(rx)
                    }
                }
            } else {
                SyncStep::Wait(rx)
            }
        };
        let receiver = match step {
            SyncStep::Wait(rx) => {
                drop(guard);
                rx
            }
            SyncStep::Store(rx, generation, snap) => {
                let stored = self.write_snapshot(group_id, *snap).await;
                drop(guard);
                let mut groups = self.groups.lock();
                if let Some(group) = groups.get_mut(group_id)
                    && group.state == GroupState::CompletingRebalance
                    && group.generation_id == generation
                    && group.storing_generation == Some(generation)
                {
                    if let Err(e) = &stored {
                        tracing::warn!(group = %group_id, generation, error = %e, "storing the group's assignment failed");
                    }
                    self.complete_sync(group, stored);
                }
                rx
            }
        };
        receiver.await.unwrap_or(Err(GroupError::UnknownMemberId))
    }

    /// Ends the sync phase: Stable and every member gets its assignment, or
    /// (the store failed) the error and a new rebalance, as Kafka does.
    fn complete_sync(&self, group: &mut GroupMetadata, stored: Result<(), GroupError>) {
        group.storing_generation = None;
        if let Err(e) = stored {
            for member in group.members.values_mut() {
                member.assignment = Bytes::new();
                if let Some(tx) = member.awaiting_sync.take() {
                    let _ = tx.send(Err(e.clone_for_member()));
                }
            }
            self.prepare_rebalance(group, Instant::now());
            return;
        }
        group.transition_to(GroupState::Stable);
        tracing::info!(
            group = %group.group_id,
            generation = group.generation_id,
            "rebalance complete: group is stable"
        );
        let now = Instant::now();
        let protocol_type = group.protocol_type.clone();
        let protocol_name = group.protocol_name.clone();
        for member in group.members.values_mut() {
            if let Some(tx) = member.awaiting_sync.take() {
                member.heartbeat_deadline = now + session_timeout(member.session_timeout_ms);
                let _ = tx.send(Ok(SyncResult {
                    protocol_type: protocol_type.clone(),
                    protocol_name: protocol_name.clone(),
                    assignment: member.assignment.clone(),
                }));
            }
        }
    }

    /// Heartbeat, in Kafka's order: unknown member, fenced instance,
    /// generation, then state. Only a current member's heartbeat in
    /// PreparingRebalance, CompletingRebalance or Stable refreshes its session.
    pub async fn heartbeat(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        match self.acquire(group_id, false).await {
            Ok(Acquired::Owned) => {}
            Ok(Acquired::Absent) => return Err(GroupError::UnknownMemberId),
            // Kafka answers a heartbeat blindly while the group loads.
            Err(GroupError::CoordinatorLoadInProgress) => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut groups = self.groups.lock();
        let group = groups.get_mut(group_id).ok_or(GroupError::NotCoordinator)?;
        sync_checks(group, generation_id, member_id, instance_id)?;
        let state = group.state;
        let member = group
            .members
            .get_mut(member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        match state {
            GroupState::Dead => Err(GroupError::CoordinatorNotAvailable),
            GroupState::Empty => Err(GroupError::UnknownMemberId),
            GroupState::PreparingRebalance => {
                member.heartbeat_deadline =
                    Instant::now() + session_timeout(member.session_timeout_ms);
                Err(GroupError::RebalanceInProgress)
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                member.heartbeat_deadline =
                    Instant::now() + session_timeout(member.session_timeout_ms);
                Ok(())
            }
        }
    }

    /// Removes members; one result per (member id, instance id) given.
    pub async fn leave_group(
        &self,
        group_id: &str,
        leaving: &[(String, Option<String>)],
    ) -> Result<Vec<Result<(), GroupError>>, GroupError> {
        match self.acquire(group_id, false).await? {
            Acquired::Owned => {}
            // Kafka: no error for the request, UNKNOWN_MEMBER_ID for each member.
            Acquired::Absent => {
                return Ok(leaving
                    .iter()
                    .map(|_| Err(GroupError::UnknownMemberId))
                    .collect());
            }
        }
        let now = Instant::now();
        let mut groups = self.groups.lock();
        let group = groups.get_mut(group_id).ok_or(GroupError::NotCoordinator)?;
        if group.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        let mut results = Vec::with_capacity(leaving.len());
        let mut removed_any = false;
        for (member_id, instance_id) in leaving {
            let target = match instance_id {
                Some(instance) => match group.static_member(instance) {
                    None => Err(GroupError::UnknownMemberId),
                    Some(owner) if !member_id.is_empty() && owner != member_id => {
                        Err(GroupError::FencedInstanceId)
                    }
                    Some(owner) => Ok(owner.clone()),
                },
                None if group.pending_members.remove(member_id).is_some() => {
                    results.push(Ok(()));
                    self.try_complete_join(group, now);
                    continue;
                }
                None if group.members.contains_key(member_id) => Ok(member_id.clone()),
                None => Err(GroupError::UnknownMemberId),
            };
            match target {
                Ok(id) => {
                    tracing::info!(group = %group_id, member = %id, "member left the group");
                    remove_member(group, &id);
                    removed_any = true;
                    results.push(Ok(()));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        if removed_any {
            self.after_member_removed(group, now);
        }
        Ok(results)
    }
}

/// The member checks SyncGroup and Heartbeat share, in Kafka's order.
fn sync_checks(
    group: &GroupMetadata,
    generation_id: i32,
    member_id: &str,
    instance_id: Option<&str>,
) -> Result<(), GroupError> {
    if group.state == GroupState::Dead {
        return Err(GroupError::CoordinatorNotAvailable);
    }
    group.check_instance(member_id, instance_id)?;
    if !group.members.contains_key(member_id) {
        return Err(GroupError::UnknownMemberId);
    }
    if generation_id != group.generation_id {
        return Err(GroupError::IllegalGeneration);
    }
    Ok(())
}
