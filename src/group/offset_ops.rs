//! OffsetCommit, OffsetFetch and OffsetDelete on the coordinator. A commit
//! is checked (Kafka's order: fenced instance, simple commit, member,
//! generation, state) and written under the group's lock, in one ZooKeeper
//! multi fenced by the group's owner znode, so commits land in check order
//! and a deposed coordinator's commit fails. Retention is in `retention.rs`.

use std::collections::BTreeMap;
use std::time::Instant;

use super::coordinator::Acquired;
use super::coordinator::{GroupCoordinator, session_timeout};
use super::error::GroupError;
use super::offsets::CommittedOffset;
use super::state::GroupState;
use crate::model::{Offset, TopicPartition};
use crate::zk::GroupFence;

/// One partition of an OffsetCommit.
pub struct OffsetCommitEntry {
    pub partition: TopicPartition,
    pub offset: Offset,
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
        // Only a simple (non-member) commit may create an unknown group.
        if self.acquire(group_id, generation_id < 0).await? == Acquired::Absent {
            return Err(GroupError::IllegalGeneration);
        }
        let lock = self.locks.get(group_id);
        let _guard = lock.lock().await;
        // Re-checked under the lock: a rebalance or a move may have happened.
        let fence = self.check_commit_allowed(group_id, generation_id, member_id, instance_id)?;
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
        if to_store.is_empty() {
            return Ok(results);
        }
        match self.offsets.commit(group_id, fence, &to_store).await {
            Ok(()) => results.extend(to_store.into_iter().map(|(tp, _)| (tp, Ok(())))),
            Err(e) => {
                tracing::warn!(group = %group_id, error = %e, "offset commit to ZooKeeper failed");
                let error = self.after_write_error(group_id, e);
                if matches!(
                    error,
                    GroupError::NotCoordinator | GroupError::OffsetCommitTooLarge
                ) {
                    return Err(error);
                }
                results.extend(
                    to_store
                        .into_iter()
                        .map(|(tp, _)| (tp, Err(GroupError::CoordinatorNotAvailable))),
                );
            }
        }
        Ok(results)
    }

    /// Kafka's doCommitOffsets checks; the fence to write with.
    fn check_commit_allowed(
        &self,
        group_id: &str,
        generation_id: i32,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<GroupFence, GroupError> {
        let fence = self.fence_of(group_id)?;
        let mut groups = self.groups.lock();
        let group = groups.get_mut(group_id).ok_or(GroupError::NotCoordinator)?;
        if group.state == GroupState::Dead {
            return Err(GroupError::CoordinatorNotAvailable);
        }
        group.check_instance(member_id, instance_id)?;
        if generation_id < 0 && group.state == GroupState::Empty {
            return Ok(fence);
        }
        let state = group.state;
        let generation = group.generation_id;
        let member = group
            .members
            .get_mut(member_id)
            .ok_or(GroupError::UnknownMemberId)?;
        if generation_id != generation {
            return Err(GroupError::IllegalGeneration);
        }
        match state {
            GroupState::Stable | GroupState::PreparingRebalance => {
                // A commit counts as a heartbeat, as in Kafka.
                member.heartbeat_deadline =
                    Instant::now() + session_timeout(member.session_timeout_ms);
                Ok(fence)
            }
            GroupState::CompletingRebalance => Err(GroupError::RebalanceInProgress),
            GroupState::Empty | GroupState::Dead => Err(GroupError::UnknownMemberId),
        }
    }

    /// Committed offsets of `group_id`: of `partitions`, or all when `None`.
    pub async fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<(TopicPartition, Option<CommittedOffset>)>, GroupError> {
        let none = |partitions: Option<Vec<TopicPartition>>| {
            partitions
                .unwrap_or_default()
                .into_iter()
                .map(|tp| (tp, None))
                .collect()
        };
        if group_id.is_empty() {
            self.ensure_coordinator(group_id)?;
            return Ok(none(partitions));
        }
        if self.acquire(group_id, false).await? == Acquired::Absent {
            return Ok(none(partitions));
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
        if self.acquire(group_id, false).await? == Acquired::Absent {
            return Err(GroupError::GroupIdNotFound);
        }
        let lock = self.locks.get(group_id);
        let _guard = lock.lock().await;
        let fence = self.fence_of(group_id)?;
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
        let mut results = Vec::new();
        let mut deletable = Vec::new();
        for tp in partitions {
            if subscribed.contains(&tp.topic) {
                results.push((tp, Err(GroupError::GroupSubscribedToTopic)));
            } else {
                deletable.push(tp);
            }
        }
        if let Err(e) = self
            .offsets
            .delete_partitions(group_id, fence, &deletable)
            .await
        {
            return Err(self.after_write_error(group_id, e));
        }
        results.extend(deletable.into_iter().map(|tp| (tp, Ok(()))));
        Ok(results)
    }

    /// All committed offsets of a group, sorted (for the admin paths).
    pub async fn stored_offsets(
        &self,
        group_id: &str,
    ) -> Result<BTreeMap<TopicPartition, CommittedOffset>, GroupError> {
        Ok(self.offsets.fetch_all(group_id).await?)
    }
}
