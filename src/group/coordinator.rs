//! The GroupCoordinator: the classic rebalance protocol as Kafka's
//! GroupCoordinator runs it, for the groups this broker coordinates
//! (`coordinator_choice.rs`) and holds (`ownership.rs`): JoinGroup and the
//! rebalance phases here, SyncGroup, Heartbeat and LeaveGroup in
//! `membership.rs`.
//!
//! All group state sits behind one mutex that is never held across an await;
//! a JoinGroup or SyncGroup that must wait parks a oneshot sender in its
//! member, and whoever completes the phase (another request, or the timer
//! tick in `timers.rs`) answers every parked sender.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{Notify, oneshot};

use super::coordinator_choice::coordinator_for;
use super::error::GroupError;
use super::group_locks::GroupLocks;
use super::group_metadata::{GroupMetadata, JoinResult, MemberMetadata};
use super::lease::SessionLease;
use super::offsets::OffsetStore;
use super::state::GroupState;
use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::util::now_ms;
use crate::zk::{GroupFence, ZkClient};

/// Whether a group exists to be served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// This broker holds the group; it is in memory.
    Owned,
    /// There is no such group (nothing under `/consumers/<g>`).
    Absent,
}

/// A JoinGroup either answered at once or parked until the join phase ends.
type Joined = Result<oneshot::Receiver<JoinResult>, Box<JoinResult>>;

/// The broker settings the coordinator obeys.
#[derive(Debug, Clone)]
pub struct GroupSettings {
    /// group.min.session.timeout.ms
    pub min_session_timeout: Duration,
    /// group.max.session.timeout.ms
    pub max_session_timeout: Duration,
    /// group.initial.rebalance.delay.ms
    pub initial_rebalance_delay: Duration,
    pub max_size: i32,
    /// `offset.metadata.max.bytes` (Kafka's default 4096).
    pub offset_metadata_max_bytes: usize,
    /// offsets.retention.minutes
    pub offsets_retention: Duration,
    /// offsets.retention.check.interval.ms
    pub offsets_retention_check_interval: Duration,
}

/// A JoinGroup as the coordinator needs it.
pub struct JoinRequest {
    pub group_id: String,
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub session_timeout_ms: i32,
    pub rebalance_timeout_ms: i32,
    pub protocol_type: String,
    pub protocols: Vec<(String, Bytes)>,
    /// MEMBER_ID_REQUIRED applies from JoinGroup v4.
    pub require_known_member_id: bool,
}

pub struct GroupCoordinator {
    pub(super) broker_id: BrokerId,
    pub(super) settings: GroupSettings,
    pub(super) metadata: Arc<MetadataCache>,
    pub(super) zk: ZkClient,
    /// The groups this broker holds (claimed in ZooKeeper), by id.
    pub(super) groups: Mutex<HashMap<String, GroupMetadata>>,
    pub(super) offsets: OffsetStore,
    pub(super) lease: Arc<SessionLease>,
    pub(super) locks: GroupLocks,
    /// Owner records to release (the group moved away by our metadata).
    pub(super) releases: Mutex<HashMap<String, GroupFence>>,
    /// Groups whose membership changed and must be written (persister task).
    pub(super) dirty: Mutex<BTreeSet<String>>,
    pub(super) dirty_notify: Notify,
}

impl GroupCoordinator {
    pub fn new(
        broker_id: BrokerId,
        settings: GroupSettings,
        metadata: Arc<MetadataCache>,
        zk: ZkClient,
    ) -> GroupCoordinator {
        let offsets = OffsetStore::new(zk.clone());
        GroupCoordinator {
            broker_id,
            settings,
            metadata,
            zk,
            groups: Mutex::new(HashMap::new()),
            offsets,
            lease: Arc::new(SessionLease::default()),
            locks: GroupLocks::default(),
            releases: Mutex::new(HashMap::new()),
            dirty: Mutex::new(BTreeSet::new()),
            dirty_notify: Notify::new(),
        }
    }

    /// The broker that coordinates `group` in the current metadata.
    pub fn coordinator_of(&self, group: &str) -> Option<BrokerId> {
        let snapshot = self.metadata.snapshot();
        let ids: Vec<BrokerId> = snapshot.brokers.keys().copied().collect();
        coordinator_for(group, &ids)
    }

    /// NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE unless this broker is the one.
    pub fn ensure_coordinator(&self, group: &str) -> Result<(), GroupError> {
        match self.coordinator_of(group) {
            None => Err(GroupError::CoordinatorNotAvailable),
            Some(id) if id == self.broker_id => Ok(()),
            Some(_) => Err(GroupError::NotCoordinator),
        }
    }

    // ------------------------------------------------------------ JoinGroup

    pub async fn join_group(&self, request: JoinRequest) -> JoinResult {
        let member_id = request.member_id.clone();
        match self
            .acquire(&request.group_id, request.member_id.is_empty())
            .await
        {
            Ok(Acquired::Owned) => {}
            Ok(Acquired::Absent) => {
                return JoinResult::failed(&member_id, GroupError::UnknownMemberId);
            }
            Err(e) => return JoinResult::failed(&member_id, e),
        }
        let receiver = match self.join_group_locked(request) {
            Ok(receiver) => receiver,
            Err(result) => return *result,
        };
        receiver
            .await
            .unwrap_or_else(|_| JoinResult::failed(&member_id, GroupError::UnknownMemberId))
    }

    /// Either an immediate answer (`Err`) or a receiver for the parked answer.
    fn join_group_locked(&self, request: JoinRequest) -> Joined {
        let fail = |e| Err(Box::new(JoinResult::failed(&request.member_id, e)));
        let session_timeout_ms = i64::from(request.session_timeout_ms);
        if session_timeout_ms < self.settings.min_session_timeout.as_millis() as i64
            || session_timeout_ms > self.settings.max_session_timeout.as_millis() as i64
        {
            return fail(GroupError::InvalidSessionTimeout);
        }
        let now = Instant::now();
        let mut groups = self.groups.lock();
        // Unloaded since `acquire` (moved, or fenced): the member asks again.
        let Some(group) = groups.get_mut(&request.group_id) else {
            return fail(GroupError::NotCoordinator);
        };
        if group.state == GroupState::Dead {
            return fail(GroupError::CoordinatorNotAvailable);
        }
        if !group.supports_protocols(&request.protocol_type, &request.protocols) {
            return fail(GroupError::InconsistentGroupProtocol);
        }
        if request.member_id.is_empty() {
            self.join_unknown_member(group, request, now)
        } else {
            self.join_known_member(group, request, now)
        }
    }

    fn join_unknown_member(
        &self,
        group: &mut GroupMetadata,
        request: JoinRequest,
        now: Instant,
    ) -> Joined {
        let prefix = request
            .group_instance_id
            .clone()
            .unwrap_or_else(|| request.client_id.clone());
        let new_member_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        if let Some(instance) = request.group_instance_id.clone()
            && let Some(old_id) = group.static_member(&instance).cloned()
        {
            return self.replace_static_member(group, request, old_id, new_member_id, now);
        }
        let size = group.members.len() + group.pending_members.len();
        if size >= self.settings.max_size as usize {
            return Err(Box::new(JoinResult::failed(
                "",
                GroupError::GroupMaxSizeReached,
            )));
        }
        if request.require_known_member_id && request.group_instance_id.is_none() {
            group.pending_members.insert(
                new_member_id.clone(),
                now + Duration::from_millis(request.session_timeout_ms.max(0) as u64),
            );
            return Err(Box::new(JoinResult::failed(
                &new_member_id,
                GroupError::MemberIdRequired,
            )));
        }
        Ok(self.add_member_and_rebalance(group, request, new_member_id, now))
    }

    fn join_known_member(
        &self,
        group: &mut GroupMetadata,
        request: JoinRequest,
        now: Instant,
    ) -> Joined {
        let member_id = request.member_id.clone();
        if group.pending_members.remove(&member_id).is_some() {
            return Ok(self.add_member_and_rebalance(group, request, member_id, now));
        }
        if let Err(e) = group.check_instance(&member_id, request.group_instance_id.as_deref()) {
            return Err(Box::new(JoinResult::failed(&member_id, e)));
        }
        let Some(member) = group.members.get(&member_id) else {
            return Err(Box::new(JoinResult::failed(
                &member_id,
                GroupError::UnknownMemberId,
            )));
        };
        let unchanged = member.same_protocols(&request.protocols);
        match group.state {
            GroupState::PreparingRebalance => {
                Ok(self.update_member_and_rebalance(group, request, now))
            }
            GroupState::CompletingRebalance if unchanged => {
                // A retried JoinGroup: answer with the current generation.
                Err(Box::new(group.join_result_for(&member_id)))
            }
            GroupState::Stable if unchanged && !group.is_leader(&member_id) => {
                Err(Box::new(group.join_result_for(&member_id)))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                Ok(self.update_member_and_rebalance(group, request, now))
            }
            GroupState::Empty | GroupState::Dead => Err(Box::new(JoinResult::failed(
                &member_id,
                GroupError::UnknownMemberId,
            ))),
        }
    }

    /// A static member rejoined with a new member id: fence the old id and,
    /// if the group is stable and the protocol would not change, hand back the
    /// current generation without a rebalance (Kafka's
    /// updateStaticMemberAndRebalance).
    fn replace_static_member(
        &self,
        group: &mut GroupMetadata,
        request: JoinRequest,
        old_id: String,
        new_id: String,
        now: Instant,
    ) -> Joined {
        let Some(mut member) = group.members.remove(&old_id) else {
            return Ok(self.add_member_and_rebalance(group, request, new_id, now));
        };
        if let Some(tx) = member.awaiting_join.take() {
            let _ = tx.send(JoinResult::failed(&old_id, GroupError::FencedInstanceId));
        }
        if let Some(tx) = member.awaiting_sync.take() {
            let _ = tx.send(Err(GroupError::FencedInstanceId));
        }
        let was_leader = group.is_leader(&old_id);
        member.protocols = request.protocols.clone();
        member.member_id = new_id.clone();
        member.client_id = request.client_id.clone();
        member.client_host = request.client_host.clone();
        member.session_timeout_ms = request.session_timeout_ms;
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.heartbeat_deadline = now + session_timeout(request.session_timeout_ms);
        let instance = request.group_instance_id.clone().unwrap_or_default();
        group.static_members.insert(instance, new_id.clone());
        group.members.insert(new_id.clone(), member);
        if was_leader {
            group.leader_id = Some(new_id.clone());
        }
        let selected_same =
            group.protocol_name.is_some() && group.select_protocol() == group.protocol_name;
        match group.state {
            GroupState::Stable if selected_same => {
                // The member id changed without a rebalance: store it.
                self.mark_dirty(&group.group_id);
                let mut result = group.join_result_for(&new_id);
                // The old leader id: the rejoined member must not reassign.
                result.leader_id = if was_leader {
                    old_id
                } else {
                    group.leader_id.clone().unwrap_or_default()
                };
                result.members.clear();
                result.skip_assignment = was_leader;
                Err(Box::new(result))
            }
            _ => {
                Ok(self.update_member_and_rebalance(group, request_with_id(request, &new_id), now))
            }
        }
    }

    fn add_member_and_rebalance(
        &self,
        group: &mut GroupMetadata,
        request: JoinRequest,
        member_id: String,
        now: Instant,
    ) -> oneshot::Receiver<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if group.members.is_empty() {
            group.protocol_type = Some(request.protocol_type.clone());
        }
        if let Some(instance) = &request.group_instance_id {
            group
                .static_members
                .insert(instance.clone(), member_id.clone());
        }
        let join_seq = group.next_join_seq;
        group.next_join_seq += 1;
        group.members.insert(
            member_id.clone(),
            MemberMetadata {
                member_id: member_id.clone(),
                group_instance_id: request.group_instance_id,
                client_id: request.client_id,
                client_host: request.client_host,
                rebalance_timeout_ms: request.rebalance_timeout_ms,
                session_timeout_ms: request.session_timeout_ms,
                protocols: request.protocols,
                assignment: Bytes::new(),
                join_seq,
                awaiting_join: Some(tx),
                awaiting_sync: None,
                heartbeat_deadline: now + session_timeout(request.session_timeout_ms),
            },
        );
        if group.leader_id.is_none() {
            group.leader_id = Some(member_id);
        }
        if group.state == GroupState::PreparingRebalance {
            // A new member during the initial delay pushes it back (up to the cap).
            if let (Some(_), Some(cap)) = (group.initial_delay_deadline, group.initial_delay_cap) {
                let delay = self.settings.initial_rebalance_delay;
                group.initial_delay_deadline = Some((now + delay).min(cap));
            }
        } else {
            self.prepare_rebalance(group, now);
        }
        self.try_complete_join(group, now);
        rx
    }

    fn update_member_and_rebalance(
        &self,
        group: &mut GroupMetadata,
        request: JoinRequest,
        now: Instant,
    ) -> oneshot::Receiver<JoinResult> {
        let (tx, rx) = oneshot::channel();
        if let Some(member) = group.members.get_mut(&request.member_id) {
            member.protocols = request.protocols;
            member.session_timeout_ms = request.session_timeout_ms;
            member.rebalance_timeout_ms = request.rebalance_timeout_ms;
            member.client_id = request.client_id;
            member.client_host = request.client_host;
            if let Some(old) = member.awaiting_join.replace(tx) {
                let _ = old.send(JoinResult::failed(
                    &request.member_id,
                    GroupError::UnknownMemberId,
                ));
            }
        }
        if group.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(group, now);
        }
        self.try_complete_join(group, now);
        rx
    }

    /// Enters PreparingRebalance: pending SyncGroups learn of the rebalance,
    /// and an empty group waits group.initial.rebalance.delay.ms for more members.
    pub(super) fn prepare_rebalance(&self, group: &mut GroupMetadata, now: Instant) {
        group.storing_generation = None;
        if group.state == GroupState::CompletingRebalance {
            for member in group.members.values_mut() {
                member.assignment = Bytes::new();
                if let Some(tx) = member.awaiting_sync.take() {
                    let _ = tx.send(Err(GroupError::RebalanceInProgress));
                }
            }
        }
        let rebalance_timeout = Duration::from_millis(group.rebalance_timeout_ms().max(0) as u64);
        if group.state == GroupState::Empty && !self.settings.initial_rebalance_delay.is_zero() {
            let delay = self.settings.initial_rebalance_delay;
            group.initial_delay_deadline = Some(now + delay.min(rebalance_timeout));
            group.initial_delay_cap = Some(now + rebalance_timeout);
        } else {
            group.initial_delay_deadline = None;
            group.initial_delay_cap = None;
        }
        group.rebalance_deadline = Some(now + rebalance_timeout);
        group.transition_to(GroupState::PreparingRebalance);
        tracing::info!(
            group = %group.group_id,
            generation = group.generation_id,
            members = group.members.len(),
            "preparing to rebalance"
        );
    }

    /// Ends the join phase once every member rejoined (after any initial
    /// delay), or at the rebalance deadline.
    pub(super) fn try_complete_join(&self, group: &mut GroupMetadata, now: Instant) {
        if group.state != GroupState::PreparingRebalance {
            return;
        }
        if let Some(deadline) = group.initial_delay_deadline {
            if now < deadline {
                return;
            }
            group.initial_delay_deadline = None;
            group.initial_delay_cap = None;
        }
        let timed_out = group.rebalance_deadline.is_some_and(|d| now >= d);
        if group.all_members_joined() || timed_out {
            self.complete_join(group, now);
        }
    }

    fn complete_join(&self, group: &mut GroupMetadata, now: Instant) {
        let not_rejoined: Vec<String> = group
            .members
            .values()
            .filter(|m| m.awaiting_join.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for member_id in not_rejoined {
            remove_member(group, &member_id);
        }
        group.rebalance_deadline = None;
        group.generation_id += 1;
        if group.members.is_empty() {
            group.protocol_name = None;
            group.transition_to(GroupState::Empty);
            group.empty_since_ms = Some(now_ms());
            tracing::info!(group = %group.group_id, generation = group.generation_id, "group is empty");
            self.mark_dirty(&group.group_id);
            return;
        }
        group.empty_since_ms = None;
        group.protocol_name = group.select_protocol();
        group.transition_to(GroupState::CompletingRebalance);
        tracing::info!(
            group = %group.group_id,
            generation = group.generation_id,
            members = group.members.len(),
            protocol = ?group.protocol_name,
            "rebalance: join phase complete"
        );
        let member_ids: Vec<String> = group.members.keys().cloned().collect();
        for member_id in member_ids {
            let result = group.join_result_for(&member_id);
            if let Some(member) = group.members.get_mut(&member_id) {
                member.heartbeat_deadline = now + session_timeout(member.session_timeout_ms);
                if let Some(tx) = member.awaiting_join.take() {
                    let _ = tx.send(result);
                }
            }
        }
    }

    pub(super) fn after_member_removed(&self, group: &mut GroupMetadata, now: Instant) {
        self.mark_dirty(&group.group_id);
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.prepare_rebalance(group, now);
                self.try_complete_join(group, now);
            }
            GroupState::PreparingRebalance => self.try_complete_join(group, now),
            GroupState::Empty | GroupState::Dead => {}
        }
    }
}

pub(super) fn session_timeout(ms: i32) -> Duration {
    Duration::from_millis(ms.max(0) as u64)
}

fn request_with_id(mut request: JoinRequest, member_id: &str) -> JoinRequest {
    request.member_id = member_id.to_string();
    request
}

/// Takes a member out of the group, answering its parked requests.
pub(super) fn remove_member(group: &mut GroupMetadata, member_id: &str) {
    let Some(mut member) = group.members.remove(member_id) else {
        return;
    };
    if let Some(tx) = member.awaiting_join.take() {
        let _ = tx.send(JoinResult::failed(member_id, GroupError::UnknownMemberId));
    }
    if let Some(tx) = member.awaiting_sync.take() {
        let _ = tx.send(Err(GroupError::UnknownMemberId));
    }
    if let Some(instance) = &member.group_instance_id
        && group.static_members.get(instance).map(String::as_str) == Some(member_id)
    {
        group.static_members.remove(instance);
    }
    if group.is_leader(member_id) {
        group.leader_id = group
            .members
            .values()
            .min_by_key(|m| m.join_seq)
            .map(|m| m.member_id.clone());
    }
}
