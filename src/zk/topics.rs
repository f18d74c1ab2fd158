//! Kafka's topic operations: the topic znode (assignment and topic id),
//! partition state znodes (leader, ISR, epochs; updated only by conditional
//! writes), topic deletion requests and the removal of a deleted topic's znodes.

use std::collections::BTreeMap;

use tracing::{info, warn};

use super::data::{PartitionStateZnode, TopicZnode, ZnodeJson};
use super::{CreateMode, ZkClient, ZkError, ZkOp, ZkOpResult, paths};
use crate::model::{BrokerId, TopicPartition, ZkVersion};

impl ZkClient {
    /// Creates topic `name` as Kafka's admin path does: fails with
    /// `NodeExists` if it exists, writes `/config/topics/<t>` (empty config),
    /// then `/brokers/topics/<t>` with the assignment and `topic_id`. The
    /// controller, watching `/brokers/topics`, creates the partition states.
    pub async fn create_topic(
        &self,
        name: &str,
        assignment: &BTreeMap<i32, Vec<BrokerId>>,
        topic_id: &str,
    ) -> Result<(), ZkError> {
        self.create_topic_with_config(name, assignment, topic_id, &BTreeMap::new())
            .await
    }

    /// `create_topic` with topic-level config overrides.
    pub async fn create_topic_with_config(
        &self,
        name: &str,
        assignment: &BTreeMap<i32, Vec<BrokerId>>,
        topic_id: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        let path = paths::topic(name);
        if !paths::is_valid_segment(name) {
            return Err(ZkError::InvalidPath {
                path,
                detail: "invalid topic name".to_string(),
            });
        }
        if self.exists(&path).await? {
            return Err(ZkError::NodeExists { path });
        }
        // Kafka writes the config first (not atomically with the assignment).
        self.set_or_create_entity_config(paths::CONFIG_TYPE_TOPICS, name, config)
            .await?;
        let data = TopicZnode::new(assignment.clone(), topic_id).encode(&path)?;
        self.create_recursive(&path, &data, CreateMode::Persistent)
            .await?;
        info!(
            topic = name,
            topic_id,
            partitions = assignment.len(),
            "created topic znode"
        );
        Ok(())
    }

    /// The topic znode, `None` if the topic does not exist.
    pub async fn get_topic(&self, name: &str) -> Result<Option<TopicZnode>, ZkError> {
        Ok(self.get_topic_and_version(name).await?.map(|(t, _)| t))
    }

    /// The topic znode and its zkVersion (for `set_topic_assignment`).
    pub async fn get_topic_and_version(
        &self,
        name: &str,
    ) -> Result<Option<(TopicZnode, ZkVersion)>, ZkError> {
        let path = paths::topic(name);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some((TopicZnode::decode(&path, &data)?, stat.version))),
        }
    }

    /// Every topic name, sorted.
    pub async fn get_all_topics(&self) -> Result<Vec<String>, ZkError> {
        let mut topics = self
            .get_children(&paths::brokers_topics())
            .await?
            .unwrap_or_default();
        topics.sort();
        Ok(topics)
    }

    /// Rewrites the topic znode (partition additions, reassignment, assigning a
    /// topic id) if its version is still `expected_version`; returns the new one.
    pub async fn set_topic_assignment(
        &self,
        name: &str,
        topic: &TopicZnode,
        expected_version: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        let path = paths::topic(name);
        let data = topic.encode(&path)?;
        self.set_data(&path, &data, Some(expected_version)).await
    }

    /// Creates `/brokers/topics/<t>/partitions/<p>/state` (and its parents);
    /// `NodeExists` if it exists. Returns its zkVersion (0).
    pub async fn create_partition_state(
        &self,
        topic: &str,
        partition: i32,
        state: &PartitionStateZnode,
    ) -> Result<ZkVersion, ZkError> {
        let path = paths::partition_state(topic, partition);
        let data = state.encode(&path)?;
        let (_, stat) = match self
            .create_with_stat(&path, &data, CreateMode::Persistent)
            .await
        {
            Err(ZkError::NoNode { .. }) => {
                self.ensure_path(&paths::partition(topic, partition))
                    .await?;
                self.create_with_stat(&path, &data, CreateMode::Persistent)
                    .await?
            }
            result => result?,
        };
        Ok(stat.version)
    }

    /// `create_partition_state` fenced on the controller epoch's zkVersion
    /// (`ZkError::ControllerMoved` when this controller was deposed).
    pub async fn create_partition_state_fenced(
        &self,
        topic: &str,
        partition: i32,
        state: &PartitionStateZnode,
        epoch_zk_version: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        let path = paths::partition_state(topic, partition);
        let op = ZkOp::Create {
            path: path.clone(),
            data: state.encode(&path)?,
            mode: CreateMode::Persistent,
        };
        self.ensure_path(&paths::partition(topic, partition))
            .await?;
        self.controller_fenced_multi(epoch_zk_version, vec![op])
            .await?;
        Ok(0)
    }

    /// The partition state and its zkVersion, `None` if absent.
    pub async fn get_partition_state(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<Option<(PartitionStateZnode, ZkVersion)>, ZkError> {
        let path = paths::partition_state(topic, partition);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some((
                PartitionStateZnode::decode(&path, &data)?,
                stat.version,
            ))),
        }
    }

    /// The states of many partitions in few round trips (absent ones are left out).
    pub async fn get_partition_states(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, (PartitionStateZnode, ZkVersion)>, ZkError> {
        let state_paths: Vec<String> = partitions
            .iter()
            .map(|tp| paths::partition_state(&tp.topic, tp.partition))
            .collect();
        let data = self.get_data_many(&state_paths).await?;
        let mut states = BTreeMap::new();
        for ((tp, path), entry) in partitions.iter().zip(&state_paths).zip(data) {
            if let Some((bytes, stat)) = entry {
                states.insert(
                    tp.clone(),
                    (PartitionStateZnode::decode(path, &bytes)?, stat.version),
                );
            }
        }
        Ok(states)
    }

    /// Writes the partition state if its zkVersion is still `expected`;
    /// `ZkError::BadVersion` otherwise. Returns the new zkVersion.
    pub async fn update_partition_state(
        &self,
        topic: &str,
        partition: i32,
        state: &PartitionStateZnode,
        expected: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        let path = paths::partition_state(topic, partition);
        let data = state.encode(&path)?;
        self.set_data(&path, &data, Some(expected)).await
    }

    /// `update_partition_state` fenced on the controller epoch's zkVersion.
    pub async fn update_partition_state_fenced(
        &self,
        topic: &str,
        partition: i32,
        state: &PartitionStateZnode,
        expected: ZkVersion,
        epoch_zk_version: ZkVersion,
    ) -> Result<ZkVersion, ZkError> {
        let path = paths::partition_state(topic, partition);
        let op = ZkOp::SetData {
            path: path.clone(),
            data: state.encode(&path)?,
            expected_version: Some(expected),
        };
        let results = self
            .controller_fenced_multi(epoch_zk_version, vec![op])
            .await?;
        match results.first() {
            Some(ZkOpResult::DataSet { version }) => Ok(*version),
            _ => Ok(expected + 1),
        }
    }

    /// Removes a deleted topic's znodes: `/brokers/topics/<t>` (with its
    /// partition states) and `/config/topics/<t>`. Fine if already gone.
    pub async fn delete_topic_znodes(&self, topic: &str) -> Result<(), ZkError> {
        if !paths::is_valid_segment(topic) {
            return Err(ZkError::InvalidPath {
                path: paths::topic(topic),
                detail: "invalid topic name".to_string(),
            });
        }
        self.delete_recursive(&paths::topic(topic)).await?;
        self.delete_recursive(&paths::config_topic(topic)).await?;
        info!(topic, "deleted topic znodes");
        Ok(())
    }

    /// Requests deletion of `topic` (`/admin/delete_topics/<t>`); fine if
    /// already requested.
    pub async fn create_delete_topic_request(&self, topic: &str) -> Result<(), ZkError> {
        let path = paths::admin_delete_topic(topic);
        match self
            .create_recursive(&path, &[], CreateMode::Persistent)
            .await
        {
            Ok(_) | Err(ZkError::NodeExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Topics whose deletion was requested, sorted.
    pub async fn get_delete_topic_requests(&self) -> Result<Vec<String>, ZkError> {
        let mut topics = self
            .get_children(&paths::admin_delete_topics())
            .await?
            .unwrap_or_default();
        topics.sort();
        Ok(topics)
    }

    /// Marks the deletion of `topic` done; fine if the request is gone.
    pub async fn remove_delete_topic_request(&self, topic: &str) -> Result<(), ZkError> {
        match self.delete(&paths::admin_delete_topic(topic), None).await {
            Ok(()) | Err(ZkError::NoNode { .. }) => Ok(()),
            Err(ZkError::NotEmpty { path }) => {
                warn!(path = %path, "delete request has children; removing them too");
                self.delete_recursive(&path).await
            }
            Err(e) => Err(e),
        }
    }
}
