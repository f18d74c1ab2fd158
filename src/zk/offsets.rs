//! Committed consumer offsets in ZooKeeper, Kafka 0.8's model:
//! `/consumers/<group>/offsets/<t>/<p>` holding the offset as a decimal
//! string. A commit of many partitions is one atomic multi (create or set per
//! partition).

use std::collections::BTreeSet;

use tracing::warn;

use super::client::MULTI_CHUNK;
use super::data::{decode_decimal, encode_decimal};
use super::{CreateMode, ZkClient, ZkError, ZkOp, paths};
use crate::model::{Offset, TopicPartition};

/// Attempts of a commit that races with another writer creating or deleting
/// the same offset znodes.
const COMMIT_ATTEMPTS: usize = 3;

fn check_names(group: &str, topic: Option<&str>) -> Result<(), ZkError> {
    if !paths::is_valid_segment(group) {
        return Err(ZkError::InvalidPath {
            path: paths::consumer_group_offsets(group),
            detail:
                "a group id stored in ZooKeeper must be non-empty, without '/', and not '.' or '..'"
                    .to_string(),
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

impl ZkClient {
    /// Commits `offsets` of `group`: every znode is set (or created) in one
    /// atomic multi per 1000 partitions.
    pub async fn set_consumer_offsets(
        &self,
        group: &str,
        offsets: &[(TopicPartition, Offset)],
    ) -> Result<(), ZkError> {
        check_names(group, None)?;
        for (tp, _) in offsets {
            check_names(group, Some(&tp.topic))?;
        }
        for chunk in offsets.chunks(MULTI_CHUNK) {
            self.set_consumer_offsets_chunk(group, chunk).await?;
        }
        Ok(())
    }

    async fn set_consumer_offsets_chunk(
        &self,
        group: &str,
        offsets: &[(TopicPartition, Offset)],
    ) -> Result<(), ZkError> {
        let offset_paths: Vec<String> = offsets
            .iter()
            .map(|(tp, _)| paths::consumers_offsets(group, &tp.topic, tp.partition))
            .collect();
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
            for parent in &parents {
                self.ensure_path(parent).await?;
            }
            match self.multi(&ops).await {
                Ok(_) => return Ok(()),
                Err(e @ (ZkError::NodeExists { .. } | ZkError::NoNode { .. }))
                    if attempt < COMMIT_ATTEMPTS =>
                {
                    warn!(group, error = %e, "offset commit raced with another writer; retrying");
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
            if let Some((bytes, _)) = entry {
                offsets.push((tp, decode_decimal(path, &bytes)?));
            }
        }
        Ok(offsets)
    }

    /// Groups with a node under `/consumers`, sorted (includes old ZooKeeper
    /// consumers' groups).
    pub async fn get_consumer_groups(&self) -> Result<Vec<String>, ZkError> {
        let mut groups = self
            .get_children(&paths::consumers())
            .await?
            .unwrap_or_default();
        groups.sort();
        Ok(groups)
    }

    /// Deletes every committed offset of `group` (`/consumers/<group>/offsets`).
    pub async fn delete_consumer_offsets(&self, group: &str) -> Result<(), ZkError> {
        check_names(group, None)?;
        self.delete_recursive(&paths::consumer_group_offsets(group))
            .await
    }
}
