//! One coordinator per group, fenced in ZooKeeper. Before serving a group a
//! broker must (1) be its coordinator by the rendezvous choice over the live
//! brokers of its metadata, (2) hold a valid session lease (`lease.rs`), and
//! (3) hold `/consumers/<g>/owner`: it claims the record by a conditional
//! write (create, or set at the version it read) when the record is absent,
//! released, or names a broker whose registration is gone or has another
//! czxid (dead or bounced). While a live owner still holds it (its metadata
//! is behind), the answer is the retriable COORDINATOR_LOAD_IN_PROGRESS; a
//! broker releases a group (conditional set to broker -1) as soon as its
//! metadata says it no longer coordinates it.
//!
//! The owner znode's data version is the fencing token: every offset commit
//! and membership write is a multi that starts with a Check of that version,
//! sent only on the session that claimed it (`zk/groups.rs`). A write that
//! fails the fence unloads the group (NOT_COORDINATOR). Claiming loads the
//! persisted membership (`persist.rs`), so members keep their ids and
//! generation across a coordinator move.
//!
//! Claims, commits and membership writes of one group are serialised by a
//! per-group async lock, held from the checks through the ZooKeeper write.

use std::time::Instant;

use super::coordinator::{Acquired, GroupCoordinator};
use super::error::GroupError;
use super::lease::Lease;
use crate::util::now_ms;
use crate::zk::data_groups::{GroupOwnerZnode, NO_OWNER};
use crate::zk::{GroupFence, ZkError, paths};

impl GroupCoordinator {
    /// Makes sure this broker may serve `group` now, claiming and loading it
    /// if needed. `create`: an absent group is created (JoinGroup,
    /// OffsetCommit); otherwise it is reported `Absent`.
    pub(super) async fn acquire(&self, group: &str, create: bool) -> Result<Acquired, GroupError> {
        if group.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.ensure_coordinator(group)?;
        let lease = self.current_lease()?;
        if self.holds(group, &lease) {
            return Ok(Acquired::Owned);
        }
        let lock = self.locks.get(group);
        let _guard = lock.lock().await;
        let lease = self.current_lease()?;
        if self.holds(group, &lease) {
            return Ok(Acquired::Owned);
        }
        self.claim_and_load(group, lease, create).await
    }

    /// The valid lease, or COORDINATOR_NOT_AVAILABLE while the session is
    /// in doubt.
    pub(super) fn current_lease(&self) -> Result<Lease, GroupError> {
        self.lease
            .valid(Instant::now())
            .ok_or(GroupError::CoordinatorNotAvailable)
    }

    /// Whether `group` is in memory under the session and epoch of `lease`.
    pub(super) fn holds(&self, group: &str, lease: &Lease) -> bool {
        self.groups
            .lock()
            .get(group)
            .is_some_and(|g| g.claimed_under(lease))
    }

    async fn claim_and_load(
        &self,
        group: &str,
        lease: Lease,
        create: bool,
    ) -> Result<Acquired, GroupError> {
        let zk = &self.zk;
        let current = zk.get_group_owner(group).await?;
        let expected = match &current {
            None => {
                if !create && !zk.exists(&paths::consumer_group(group)).await? {
                    return Ok(Acquired::Absent);
                }
                None
            }
            Some((record, stat)) => {
                let ours =
                    record.broker_id == self.broker_id && record.broker_epoch == lease.broker_epoch;
                if !ours && !record.is_released() {
                    let owner = zk.stat(&paths::broker_id(record.broker_id)).await?;
                    if owner.is_some_and(|s| s.czxid == record.broker_epoch) {
                        tracing::debug!(
                            group = %group,
                            owner = %record.broker_id,
                            "group still held by a live broker; waiting for it to release"
                        );
                        return Err(GroupError::CoordinatorLoadInProgress);
                    }
                }
                Some(stat.version)
            }
        };
        let record = GroupOwnerZnode::held_by(self.broker_id, lease.broker_epoch, now_ms());
        let version = match zk.write_group_owner(group, &record, expected).await {
            Ok(version) => version,
            Err(ZkError::NodeExists { .. } | ZkError::BadVersion { .. }) => {
                return Err(GroupError::CoordinatorLoadInProgress);
            }
            Err(e) => return Err(e.into()),
        };
        let fence = GroupFence {
            owner_version: version,
            session_id: lease.session_id,
        };
        let persisted = match zk.get_group_membership(group).await {
            Ok(persisted) => persisted,
            Err(e) => {
                self.release_later(group, fence);
                return Err(e.into());
            }
        };
        self.offsets.forget(group);
        let (loaded, needs_rebalance) =
            super::persist::restore(group, persisted, fence, lease.broker_epoch, Instant::now());
        tracing::info!(
            group = %group,
            previous_owner = %current.as_ref().map_or(NO_OWNER, |(r, _)| r.broker_id),
            owner_version = version,
            state = loaded.state.name(),
            generation = loaded.generation_id,
            members = loaded.members.len(),
            "took over the group's coordination"
        );
        let mut groups = self.groups.lock();
        if let Some(stale) = groups.remove(group) {
            super::timers::fail_parked(stale, GroupError::NotCoordinator);
        }
        groups.insert(group.to_string(), loaded);
        if needs_rebalance && let Some(g) = groups.get_mut(group) {
            // Members left before the move: rebalance as the old coordinator would have.
            self.prepare_rebalance(g, Instant::now());
        }
        Ok(Acquired::Owned)
    }

    /// Drops `group` from memory after losing it (fenced or session gone):
    /// parked requests get NOT_COORDINATOR. No release: the record is not ours.
    pub(super) fn unload_lost(&self, group: &str, why: &str) {
        if let Some(stale) = self.groups.lock().remove(group) {
            tracing::warn!(group = %group, reason = %why, "no longer coordinating the group");
            super::timers::fail_parked(stale, GroupError::NotCoordinator);
        }
    }

    /// Queues the release of `group`'s owner record (done by the timer task).
    pub(super) fn release_later(&self, group: &str, fence: GroupFence) {
        self.releases.lock().insert(group.to_string(), fence);
    }

    /// Releases queued owner records: set to broker -1 at our version, under
    /// the group lock so an in-flight commit lands first. A record someone
    /// else already took (BadVersion) or deleted is left alone; other errors
    /// are retried at the next round.
    pub(super) async fn release_queued(&self) {
        let queued: Vec<(String, GroupFence)> = self.releases.lock().drain().collect();
        for (group, fence) in queued {
            let lock = self.locks.get(&group);
            let _guard = lock.lock().await;
            if self.groups.lock().contains_key(&group) {
                continue; // claimed again meanwhile
            }
            let path = paths::consumer_group_owner(&group);
            let record = GroupOwnerZnode::released(now_ms());
            let data = match crate::zk::data::ZnodeJson::encode(&record, &path) {
                Ok(data) => data,
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "cannot encode a released owner record");
                    continue;
                }
            };
            match self
                .zk
                .set_data(&path, &data, Some(fence.owner_version))
                .await
            {
                Ok(_) => tracing::info!(group = %group, "released the group's coordination"),
                Err(ZkError::BadVersion { .. } | ZkError::NoNode { .. }) => {}
                Err(e) => {
                    tracing::warn!(group = %group, error = %e, "releasing the group failed; will retry");
                    self.releases.lock().entry(group).or_insert(fence);
                }
            }
        }
    }

    /// The fence to write `group` with, if this broker serves it under the
    /// current lease.
    pub(super) fn fence_of(&self, group: &str) -> Result<GroupFence, GroupError> {
        let lease = self.current_lease()?;
        let groups = self.groups.lock();
        match groups.get(group) {
            Some(g) if g.claimed_under(&lease) => Ok(g.fence),
            _ => Err(GroupError::NotCoordinator),
        }
    }

    /// Maps a failed fenced write: a lost fence unloads the group.
    pub(super) fn after_write_error(&self, group: &str, error: ZkError) -> GroupError {
        if crate::zk::lost_fence(&error, group) {
            self.unload_lost(group, "a write failed the owner fence");
            return GroupError::NotCoordinator;
        }
        match error {
            ZkError::RequestTooLarge { .. } => GroupError::OffsetCommitTooLarge,
            e => GroupError::from(e),
        }
    }
}
