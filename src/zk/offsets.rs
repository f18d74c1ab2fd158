//! Committed consumer offsets in ZooKeeper, Kafka 0.8's model:
//! `/consumers/<group>/offsets/<t>/<p>` holding the offset as a decimal
//! string (the group id encoded by `paths::encode_name`). A commit is one
//! atomic multi fenced by the group's owner znode (`groups.rs`); one that
//! does not fit in a ZooKeeper request is refused whole, as Kafka refuses an
//! offset commit larger than one append (INVALID_COMMIT_OFFSET_SIZE).

use std::collections::BTreeSet;

use tracing::warn;

use super::data::{decode_decimal, encode_decimal};
use super::groups::{GroupFence, lost_fence};
use super::{CreateMode, ZkClient, ZkError, ZkOp, paths};
use crate::model::{Offset, TopicPartition};

/// Attempts of a commit that races with another writer creating or deleting
/// the same offset znodes (or with its own landed try before a connection loss).
const COMMIT_ATTEMPTS: usize = 3;

fn check_names(group: &str, topic: Option<&str>) -> Result<(), ZkError> {
    if group.is_empty() {
        return Err(ZkError::InvalidPath {
            path: "/consumers/".to_string(),
            detail: "a group id stored in ZooKeeper must be non-empty".to_string(),
        });
    }
    if let Some(topic) = topic
        && !paths::is_valid_segment(topic)
    {
        return Err(ZkError::InvalidPath {
            path: paths::consumer_topic_offsets(group, topic),
            detail: "invalid topic name".to_string(),
        });
    }
    Ok(())
}

/// One committed offset and when it was last written (the znode's mtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredOffset {
    pub offset: Offset,
    pub mtime_ms: i64,
}

impl ZkClient {
    /// Commits `offsets` of `group` in one atomic multi (create or set per
    /// partition), fenced by `fence` when given. `RequestTooLarge` when the
    /// multi would not fit in one ZooKeeper request.
    pub async fn set_consumer_offsets(
        &self,
        group: &str,
        fence: Option<GroupFence>,
        offsets: &[(TopicPartition, Offset)],
    ) -> Result<(), ZkError> {
        check_names(group, None)?;
        for (tp, _) in offsets {
            check_names(group, Some(&tp.topic))?;
        }
        let offset_paths: Vec<String> = offsets
            .iter()
            .map(|(tp, _)| paths::consumers_offsets(group, &tp.topic, tp.partition))
            .collect();
        // Refused before anything is sent when even the smallest form (every
        // znode set, none created) cannot fit; the read below is about as big.
        let smallest: Vec<ZkOp> = offsets
            .iter()
            .zip(&offset_paths)
            .map(|((_, offset), path)| ZkOp::SetData {
                path: path.clone(),
                data: encode_decimal(offset),
                expected_version: None,
            })
            .collect();
        self.check_multi_size(&smallest)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let existing = self.get_data_many(&offset_paths).await?;
            let mut parents = BTreeSet::new();
            let mut ops = Vec::with_capacity(offsets.len());
            for (((tp, offset), path), current) in offsets.iter().zip(&offset_paths).zip(&existing)
            {
                let data = encode_decimal(offset);
                if current.is_some() {
                    ops.push(ZkOp::SetData {
                        path: path.clone(),
                        data,
                        expected_version: None,
                    });
                } else {
                    parents.insert(paths::consumer_topic_offsets(group, &tp.topic));
                    ops.push(ZkOp::Create {
                        path: path.clone(),
                        data,
                        mode: CreateMode::Persistent,
                    });
                }
            }
            self.check_multi_size(&ops)?;
            for parent in &parents {
                self.ensure_path(parent).await?;
            }
            let written = match fence {
                Some(fence) => self
                    .fenced_group_multi(group, fence, &ops)
                    .await
                    .map(|_| ()),
                None => self.multi(&ops).await.map(|_| ()),
            };
            match written {
                Ok(()) => return Ok(()),
                Err(e @ (ZkError::NodeExists { .. } | ZkError::NoNode { .. }))
                    if !lost_fence(&e, group) && attempt < COMMIT_ATTEMPTS =>
                {
                    warn!(group = %group, error = %e, "offset commit raced with another writer; retrying");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The committed offset of `group` for one partition, `None` if none.
    pub async fn get_consumer_offset(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<Offset>, ZkError> {
        check_names(group, Some(topic))?;
        let path = paths::consumers_offsets(group, topic, partition);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, _)) => Ok(Some(decode_decimal(&path, &data)?)),
        }
    }

    /// Every committed offset of `group`, sorted by topic and partition.
    pub async fn get_consumer_offsets(
        &self,
        group: &str,
    ) -> Result<Vec<(TopicPartition, Offset)>, ZkError> {
        Ok(self
            .get_consumer_offsets_stored(group)
            .await?
            .into_iter()
            .map(|(tp, stored)| (tp, stored.offset))
            .collect())
    }

    /// Every committed offset of `group` with its znode's mtime, sorted.
    pub async fn get_consumer_offsets_stored(
        &self,
        group: &str,
    ) -> Result<Vec<(TopicPartition, StoredOffset)>, ZkError> {
        check_names(group, None)?;
        let topics = self
            .get_children(&paths::consumer_group_offsets(group))
            .await?
            .unwrap_or_default();
        let mut partitions = Vec::new();
        for topic in topics {
            let topic_path = paths::consumer_topic_offsets(group, &topic);
            for child in self.get_children(&topic_path).await?.unwrap_or_default() {
                match child.parse::<i32>() {
                    Ok(p) => partitions.push(TopicPartition::new(topic.clone(), p)),
                    Err(_) => {
                        warn!(path = %topic_path, child = %child, "ignoring a non-numeric partition")
                    }
                }
            }
        }
        partitions.sort();
        let offset_paths: Vec<String> = partitions
            .iter()
            .map(|tp| paths::consumers_offsets(group, &tp.topic, tp.partition))
            .collect();
        let data = self.get_data_many(&offset_paths).await?;
        let mut offsets = Vec::with_capacity(partitions.len());
        for ((tp, path), entry) in partitions.into_iter().zip(&offset_paths).zip(data) {
            if let Some((bytes, stat)) = entry {
                let offset = decode_decimal(path, &bytes)?;
                offsets.push((
                    tp,
                    StoredOffset {
                        offset,
                        mtime_ms: stat.mtime_ms,
                    },
                ));
            }
        }
        Ok(offsets)
    }

    /// Groups with a node under `/consumers`, decoded and sorted (includes
    /// old ZooKeeper consumers' groups).
    pub async fn get_consumer_groups(&self) -> Result<Vec<String>, ZkError> {
        let mut groups: Vec<String> = self
            .get_children(&paths::consumers())
            .await?
            .unwrap_or_default()
            .iter()
            .map(|name| paths::decode_name(name))
            .collect();
        groups.sort();
        Ok(groups)
    }

    /// Deletes the committed offsets of `partitions` of `group` (and the
    /// topic nodes left empty) with fenced multis.
    pub async fn delete_consumer_offsets(
        &self,
        group: &str,
        fence: GroupFence,
        partitions: &[TopicPartition],
    ) -> Result<(), ZkError> {
        check_names(group, None)?;
        let mut topics: BTreeSet<&str> = BTreeSet::new();
        let mut ops = Vec::new();
        for tp in partitions {
            let path = paths::consumers_offsets(group, &tp.topic, tp.partition);
            if self.exists(&path).await? {
                ops.push(ZkOp::Delete {
                    path,
                    expected_version: None,
                });
                topics.insert(&tp.topic);
            }
        }
        for chunk in ops.chunks(super::client::MULTI_CHUNK) {
            self.fenced_group_multi(group, fence, chunk).await?;
        }
        for topic in topics {
            let topic_path = paths::consumer_topic_offsets(group, topic);
            if self
                .get_children(&topic_path)
                .await?
                .is_some_and(|c| c.is_empty())
            {
                let op = ZkOp::Delete {
                    path: topic_path,
                    expected_version: None,
                };
                match self.fenced_group_multi(group, fence, &[op]).await {
                    Ok(_) | Err(ZkError::NotEmpty { .. }) => {}
                    Err(ZkError::NoNode { path }) if path != paths::consumer_group_owner(group) => {
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}
