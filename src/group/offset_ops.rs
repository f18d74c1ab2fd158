//! OffsetCommit, OffsetFetch and OffsetDelete on the coordinator: the group
//! checks Kafka makes before a commit (generation, member, fencing), the
//! topic checks, and offsets.retention.minutes for empty groups.

use std::collections::BTreeMap;
use std::time::Instant;

use super::coordinator::GroupCoordinator;
use super::error::GroupError;
use super::offsets::CommittedOffset;
use super::state::GroupState;
use crate::model::TopicPartition;
use crate::util::now_ms;

/// One partition of an OffsetCommit.
pub struct OffsetCommitEntry {
    pub partition: TopicPartition,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: Option<String>,
}

impl GroupCoordinator {
    /// Commits offsets; the outer error applies to every partition, the inner
    /// ones to single partitions.
    pub async fn commit_offsets(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
        entries: Vec<OffsetCommitEntry>,
    ) -> Result<Vec<(TopicPartition, Result<(), GroupError>)>, GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.ensure_coordinator(group_id)?;
        self.check_commit_allowed(group_id, generation_id, member_id, instance_id)?;
        let snapshot = self.metadata.snapshot();
        let mut results = Vec::with_capacity(entries.len());
        let mut to_store = Vec::new();
        for entry in entries {
            let tp = entry.partition;
            if snapshot.partition(&tp.topic, tp.partition).is_none() {
                results.push((tp, Err(GroupError::UnknownTopicOrPartition)));
                continue;
            }
            let metadata = entry.metadata.unwrap_or_default();
            if metadata.len() > self.settings.offset_metadata_max_bytes {
                results.push((tp, Err(GroupError::OffsetMetadataTooLarge)));
                continue;
            }
            to_store.push((
                tp,
                CommittedOffset {
                    offset: entry.offset,
                    metadata,
                    leader_epoch: entry.leader_epoch,
                },
            ));
        }
        match self.offsets.commit(group_id, &to_store).await {
            Ok(()) => results.extend(to_store.into_iter().map(|(tp, _)| (tp, Ok(())))),
            Err(e) => {
                tracing::warn!(group = %group_id, error = %e, "offset commit to ZooKeeper failed");
                results.extend(
                    to_store
                        .into_iter()
                        .map(|(tp, _)| (tp, Err(GroupError::CoordinatorNotAvailable))),
                );
            }
        }
        Ok(results)
    }

    fn check_commit_allowed(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<(), GroupError> {
        let mut groups = self.groups.lock();
        let Some(group) = groups.get_mut(group_id) else {
            // Only a simple (non-member) commit may create offsets of an unknown group.
            return if generation_id < 0 {
                Ok(())
            } else {
                Err(GroupError::IllegalGeneration)
            };
        };
        group.check_instance(member_id, instance_id)?;
        if generation_id < 0 && group.state == GroupState::Empty {
            return Ok(());
        }
        match group.state {
            GroupState::Dead => Err(GroupError::CoordinatorNotAvailable),
            GroupState::CompletingRebalance => Err(GroupError::RebalanceInProgress),
            _ => {
                let session_state = group.state;
                let generation = group.generation_id;
                let Some(member) = group.members.get_mut(member_id) else {
                    return Err(GroupError::UnknownMemberId);
                };
                if generation_id != generation {
                    return Err(GroupError::IllegalGeneration);
                }
                // A commit counts as a heartbeat, as in Kafka.
                if matches!(
                    session_state,
                    GroupState::Stable | GroupState::PreparingRebalance
                ) {
                    member.heartbeat_deadline = Instant::now()
                        + std::time::Duration::from_millis(member.session_timeout_ms.max(0) as u64);
                }
                Ok(())
            }
        }
    }

    /// Committed offsets of `group_id`: of `partitions`, or all when `None`.
    pub async fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<(TopicPartition, Option<CommittedOffset>)>, GroupError> {
        self.ensure_coordinator(group_id)?;
        if group_id.is_empty() {
            return Ok(partitions
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, None))
                .collect());
        }
        let stored = self.offsets.fetch_all(group_id).await?;
        Ok(match partitions {
            None => stored.into_iter().map(|(tp, c)| (tp, Some(c))).collect(),
            Some(wanted) => wanted
                .into_iter()
                .map(|tp| {
                    let committed = stored.get(&tp).cloned();
                    (tp, committed)
                })
                .collect(),
        })
    }

    /// OffsetDelete: removes the committed offsets of partitions no member is
    /// subscribed to.
    pub async fn delete_offsets(
        &self,
        group_id: &str,
        partitions: Vec<TopicPartition>,
    ) -> Result<Vec<(TopicPartition, Result<(), GroupError>)>, GroupError> {
        if group_id.is_empty() {
            return Err(GroupError::InvalidGroupId);
        }
        self.ensure_coordinator(group_id)?;
        let subscribed: Vec<String> = {
            let groups = self.groups.lock();
            match groups.get(group_id) {
                Some(group) if group.state == GroupState::Dead => {
                    return Err(GroupError::GroupIdNotFound);
                }
                Some(group) if group.state != GroupState::Empty => {
                    match group.subscribed_topics() {
                        Some(topics) => topics,
                        None => return Err(GroupError::NonEmptyGroup),
                    }
                }
                _ => Vec::new(),
            }
        };
        let stored = self.offsets.fetch_all(group_id).await?;
        if stored.is_empty() && !self.groups.lock().contains_key(group_id) {
            return Err(GroupError::GroupIdNotFound);
        }
        let mut results = Vec::new();
        let mut deletable = Vec::new();
        for tp in partitions {
            if subscribed.contains(&tp.topic) {
                results.push((tp, Err(GroupError::GroupSubscribedToTopic)));
            } else {
                deletable.push(tp);
            }
        }
        self.offsets.delete_partitions(group_id, &deletable).await?;
        results.extend(deletable.into_iter().map(|tp| (tp, Ok(()))));
        Ok(results)
    }

    /// offsets.retention.minutes: the offsets of groups this broker has in
    /// memory that have been empty that long are deleted (groups known only
    /// from ZooKeeper, e.g. after a coordinator move, are not expired).
    pub(super) async fn expire_offsets(&self) {
        let now = now_ms();
        let retention = self.settings.offsets_retention_ms;
        let mut expired = Vec::new();
        let mut empty = Vec::new();
        for g in self.groups.lock().values() {
            if g.state != GroupState::Empty {
                continue;
            }
            if g.empty_since_ms
                .is_some_and(|since| now - since >= retention)
            {
                expired.push(g.group_id.clone());
            } else {
                empty.push(g.group_id.clone());
            }
        }
        // Empty groups without committed offsets are dropped from memory
        // (Kafka's cleanupGroupMetadata).
        for group_id in empty {
            if let Ok(stored) = self.offsets.fetch_all(&group_id).await
                && stored.is_empty()
            {
                let mut groups = self.groups.lock();
                if groups
                    .get(&group_id)
                    .is_some_and(|g| g.state == GroupState::Empty && g.pending_members.is_empty())
                {
                    groups.remove(&group_id);
                }
            }
        }
        for group_id in expired {
            if self.ensure_coordinator(&group_id).is_err() {
                continue;
            }
            tracing::info!(group = %group_id, "offsets expired (offsets.retention.minutes)");
            if let Err(e) = self.offsets.delete_group(&group_id).await {
                tracing::warn!(group = %group_id, error = %e, "expiring offsets failed");
                continue;
            }
            let mut groups = self.groups.lock();
            if groups
                .get(&group_id)
                .is_some_and(|g| g.state == GroupState::Empty)
            {
                groups.remove(&group_id);
            }
        }
    }

    /// All committed offsets of a group, sorted (for the admin paths).
    pub async fn stored_offsets(
        &self,
        group_id: &str,
    ) -> Result<BTreeMap<TopicPartition, CommittedOffset>, GroupError> {
        Ok(self.offsets.fetch_all(group_id).await?)
    }
}
