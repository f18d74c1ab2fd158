//! offsets.retention.minutes for every group this broker coordinates by the
//! rendezvous choice, in memory or known only from ZooKeeper (after a
//! coordinator move nothing holds an empty group in memory, and without this
//! its `/consumers/<g>` would stay forever; ZooKeeper keeps all of it in RAM).
//!
//! A group with no members (Empty, or never joined: simple commits only) has
//! each committed offset expire once `offsets.retention.minutes` passed since
//! the later of its last commit (the znode's mtime) and when the group became
//! empty (persisted as `current_state_timestamp`). For a simple group that is
//! Kafka's rule; for an Empty group Kafka counts from when it became empty
//! only, this also waits for later commits (an admin's offset reset). A group
//! left without offsets and members is deleted, znodes and all, as Kafka
//! drops an empty group without offsets. Groups with members, and groups an
//! old ZooKeeper-based consumer registered in, are left alone.

use super::coordinator::Acquired;
use super::coordinator::GroupCoordinator;
use super::state::GroupState;
use crate::model::TopicPartition;
use crate::util::now_ms;

impl GroupCoordinator {
    /// One retention pass over the groups this broker coordinates.
    pub(super) async fn expire_offsets(&self) {
        let groups = match self.offsets.stored_groups().await {
            Ok(groups) => groups,
            Err(e) => {
                tracing::warn!(error = %e, "offsets retention: cannot list groups");
                return;
            }
        };
        for group_id in groups {
            if self.ensure_coordinator(&group_id).is_err() {
                continue;
            }
            if self
                .groups
                .lock()
                .get(&group_id)
                .is_some_and(|g| !g.members.is_empty() || !g.pending_members.is_empty())
            {
                continue;
            }
            if let Err(e) = self.expire_group(&group_id).await {
                tracing::debug!(group = %group_id, error = %e, "offsets retention skipped the group");
            }
        }
    }

    async fn expire_group(&self, group_id: &str) -> Result<(), super::GroupError> {
        if self.acquire(group_id, false).await? == Acquired::Absent {
            return Ok(());
        }
        let lock = self.locks.get(group_id);
        let _guard = lock.lock().await;
        let fence = self.fence_of(group_id)?;
        let empty_since = {
            let groups = self.groups.lock();
            let Some(g) = groups.get(group_id) else {
                return Ok(());
            };
            if g.state != GroupState::Empty
                || !g.pending_members.is_empty()
                || g.persisted.foreign_ids
            {
                return Ok(());
            }
            g.empty_since_ms.unwrap_or(0)
        };
        let now = now_ms();
        let retention = self.settings.offsets_retention.as_millis() as i64;
        let stored = self.offsets.fetch_stored(group_id).await?;
        let expired: Vec<TopicPartition> = stored
            .iter()
            .filter(|(_, s)| now - s.mtime_ms.max(empty_since) >= retention)
            .map(|(tp, _)| tp.clone())
            .collect();
        if expired.len() == stored.len() {
            tracing::info!(
                group = %group_id,
                offsets = expired.len(),
                "offsets expired (offsets.retention.minutes); removing the empty group"
            );
            return self.delete_whole_group(group_id, fence).await;
        }
        if !expired.is_empty() {
            tracing::info!(group = %group_id, offsets = expired.len(), "offsets expired (offsets.retention.minutes)");
            if let Err(e) = self
                .offsets
                .delete_partitions(group_id, fence, &expired)
                .await
            {
                return Err(self.after_write_error(group_id, e));
            }
        }
        Ok(())
    }
}
