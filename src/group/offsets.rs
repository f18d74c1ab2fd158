//! Committed offsets: ZooKeeper is the store (`/consumers/<g>/offsets/<t>/<p>`,
//! a decimal string, Kafka 0.8's model), with a per-group read cache in front.
//!
//! The cache cannot serve a value older than a commit made through this
//! broker: a commit updates the cached entries after ZooKeeper accepted it,
//! and a load that raced with a commit is not cached (a per-group commit
//! counter is compared before and after the read). Since only a group's
//! coordinator accepts commits, and every metadata update (which is how a
//! coordinator move is learnt) drops the whole cache, a broker that gets a
//! group back after another broker coordinated it re-reads ZooKeeper.
//!
//! What the 0.8 format cannot hold: the commit's metadata string and leader
//! epoch. They are kept in the cache of the broker that accepted the commit,
//! so OffsetFetch from the coordinator returns them until the group moves or
//! the cache is dropped; after that they read back as "" and -1.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;
use tokio::sync::watch;

use crate::model::TopicPartition;
use crate::zk::{ZkClient, ZkError, paths};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub metadata: String,
    pub leader_epoch: i32,
}

struct CachedGroup {
    metadata_version: u64,
    offsets: BTreeMap<TopicPartition, CommittedOffset>,
}

#[derive(Default)]
struct CacheState {
    groups: HashMap<String, CachedGroup>,
    /// Bumped after every commit or delete of a group, to detect racing loads.
    changes: HashMap<String, u64>,
}

pub struct OffsetStore {
    zk: ZkClient,
    metadata_version: watch::Receiver<u64>,
    cache: Mutex<CacheState>,
}

impl OffsetStore {
    pub fn new(zk: ZkClient, metadata_version: watch::Receiver<u64>) -> OffsetStore {
        OffsetStore {
            zk,
            metadata_version,
            cache: Mutex::new(CacheState::default()),
        }
    }

    fn current_metadata_version(&self) -> u64 {
        *self.metadata_version.borrow()
    }

    /// Every committed offset of `group`.
    pub async fn fetch_all(
        &self,
        group: &str,
    ) -> Result<BTreeMap<TopicPartition, CommittedOffset>, ZkError> {
        let version = self.current_metadata_version();
        let changes_before = {
            let cache = self.cache.lock();
            if let Some(cached) = cache.groups.get(group)
                && cached.metadata_version == version
            {
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
            cache.groups.insert(
                group.to_string(),
                CachedGroup {
                    metadata_version: version,
                    offsets: offsets.clone(),
                },
            );
        }
        Ok(offsets)
    }

    /// Writes `offsets` in one ZooKeeper multi (per 1000 partitions), then
    /// updates the cache.
    pub async fn commit(
        &self,
        group: &str,
        offsets: &[(TopicPartition, CommittedOffset)],
    ) -> Result<(), ZkError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let plain: Vec<_> = offsets
            .iter()
            .map(|(tp, c)| (tp.clone(), c.offset))
            .collect();
        let result = self.zk.set_consumer_offsets(group, &plain).await;
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

    /// Deletes every committed offset of `group`.
    pub async fn delete_group(&self, group: &str) -> Result<(), ZkError> {
        let result = self.zk.delete_consumer_offsets(group).await;
        self.forget(group);
        result
    }

    /// Deletes the committed offsets of some partitions of `group`.
    pub async fn delete_partitions(
        &self,
        group: &str,
        partitions: &[TopicPartition],
    ) -> Result<(), ZkError> {
        let mut result = Ok(());
        for tp in partitions {
            let path = paths::consumers_offsets(group, &tp.topic, tp.partition);
            match self.zk.delete(&path, None).await {
                Ok(()) | Err(ZkError::NoNode { .. }) => {}
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.forget(group);
        result
    }

    /// Groups with a node under `/consumers`.
    pub async fn stored_groups(&self) -> Result<Vec<String>, ZkError> {
        self.zk.get_consumer_groups().await
    }

    fn forget(&self, group: &str) {
        let mut cache = self.cache.lock();
        *cache.changes.entry(group.to_string()).or_insert(0) += 1;
        cache.groups.remove(group);
    }
}
