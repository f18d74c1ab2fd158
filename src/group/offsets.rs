//! Committed offsets: ZooKeeper is the store (`/consumers/<g>/offsets/<t>/<p>`,
//! a decimal string, Kafka 0.8's model), with a per-group read cache in front.
//!
//! The cache cannot serve a value older than a commit made through this
//! broker: a commit updates the cached entries after ZooKeeper accepted it,
//! and a load that raced with a commit is not cached (a per-group commit
//! counter is compared before and after the read). Only the broker holding
//! a group's owner znode writes its offsets (fenced), and claiming a group
//! drops its cache entry, so a broker that gets a group back after another
//! broker held it re-reads ZooKeeper.
//!
//! What the 0.8 format cannot hold: the commit's metadata string and leader
//! epoch. They are kept in the cache of the broker that accepted the commit,
//! so OffsetFetch from the coordinator returns them until the group moves or
//! the cache is dropped; after that they read back as "" and -1.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;

use crate::model::{Offset, TopicPartition};
use crate::zk::{GroupFence, StoredOffset, ZkClient, ZkError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: Offset,
    pub metadata: String,
    pub leader_epoch: i32,
}

struct CachedGroup {
    offsets: BTreeMap<TopicPartition, CommittedOffset>,
}

#[derive(Default)]
struct CacheState {
    groups: HashMap<String, CachedGroup>,
    /// Bumped after every commit or delete of a group, to detect racing loads.
    changes: HashMap<String, u64>,
}

/// Groups whose offsets the cache keeps at most (least recently loaded go first).
const MAX_CACHED_GROUPS: usize = 10_000;

pub struct OffsetStore {
    zk: ZkClient,
    cache: Mutex<CacheState>,
}

impl OffsetStore {
    pub fn new(zk: ZkClient) -> OffsetStore {
        OffsetStore {
            zk,
            cache: Mutex::new(CacheState::default()),
        }
    }

    /// Every committed offset of `group`.
    pub async fn fetch_all(
        &self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, CommittedOffset>, ZkError> {
        let changes_before = {
            let cache = self.cache.lock();
            if let Some(cached) = cache.groups.get(group) {
                return Ok(cached.offsets.clone());
            }
            cache.changes.get(group).copied().unwrap_or(0)
        };
        let stored = self.zk.get_consumer_offsets(group).await?;
        let offsets: BTreeMap<TopicPartition, CommittedOffset> = stored
            .into_iter()
            .map(|(tp, offset)| {
                (
                    tp,
                    CommittedOffset {
                        offset,
                        metadata: String::new(),
                        leader_epoch: -1,
                    },
                )
            })
            .collect();
        let mut cache = self.cache.lock();
        if cache.changes.get(group).copied().unwrap_or(0) == changes_before {
            if cache.groups.len() >= MAX_CACHED_GROUPS {
                cache.groups.clear();
            }
            cache.groups.insert(
                group.to_string(),
                CachedGroup {
                    offsets: offsets.clone(),
                },
            );
        }
        Ok(offsets)
    }

    /// Writes `offsets` in one ZooKeeper multi fenced by `fence`, then
    /// updates the cache.
    pub async fn commit(
        &self,
        group: &str,
        fence: GroupFence,
        offsets: &[(TopicPartition, CommittedOffset)],
    ) -> Result<(), ZkError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let plain: Vec<_> = offsets
            .iter()
            .map(|(tp, c)| (tp.clone(), c.offset))
            .collect();
        let result = self
            .zk
            .set_consumer_offsets(group, Some(fence), &plain)
            .await;
        let mut cache = self.cache.lock();
        *cache.changes.entry(group.to_string()).or_insert(0) += 1;
        match &result {
            Ok(()) => {
                if let Some(cached) = cache.groups.get_mut(group) {
                    for (tp, committed) in offsets {
                        cached.offsets.insert(tp.clone(), committed.clone());
                    }
                }
            }
            // The multi may or may not have been applied: forget the group.
            Err(_) => {
                cache.groups.remove(group);
            }
        }
        result
    }

    /// Deletes the committed offsets of some partitions of `group` (fenced).
    pub async fn delete_partitions(
        &self,
        group: &str,
        fence: GroupFence,
        partitions: &[TopicPartition],
    ) -> Result<(), ZkError> {
        let result = self
            .zk
            .delete_consumer_offsets(group, fence, partitions)
            .await;
        self.forget(group);
        result
    }

    /// Every committed offset of `group` with its znode's mtime, uncached
    /// (offsets retention).
    pub async fn fetch_stored(
        &self,
        group: &str,
    ) -> Result<Vec<(TopicPartition, StoredOffset)>, ZkError> {
        self.zk.get_consumer_offsets_stored(group).await
    }

    /// Groups with a node under `/consumers`.
    pub async fn stored_groups(&self) -> Result<Vec<String>, ZkError> {
        self.zk.get_consumer_groups().await
    }

    /// Drops the cached offsets of `group` (a claim, a delete).
    pub fn forget(&self, group: &str) {
        let mut cache = self.cache.lock();
        *cache.changes.entry(group.to_string()).or_insert(0) += 1;
        cache.groups.remove(group);
    }
}
