//! `AdminManager` (Kafka's ZkAdminManager): the one handle request handlers
//! use for topic and config administration. It holds what the admin room
//! works with (ZooKeeper, the metadata cache, the broker's config layers,
//! the replica manager) so a handler decodes, makes one call here and
//! encodes, without naming ZooKeeper. The work is in `topics.rs`,
//! `config_alter.rs`, `config_describe.rs` and `dynamic_config.rs`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use crate::admin::AdminError;
use crate::admin::config_alter::{
    IncrementalOp, apply_incremental, current, null_value_names, resolve, validate_and_write,
};
use crate::admin::config_describe::{ConfigEntry, describe_resource};
use crate::admin::dynamic_config::{DynamicConfigs, apply_topic_overrides, read_topic_configs};
use crate::admin::topics::{self, NewTopic};
use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::replica::ReplicaManager;
use crate::zk::ZkClient;

pub struct AdminManager {
    broker_id: BrokerId,
    zk: ZkClient,
    metadata: Arc<MetadataCache>,
    configs: Arc<DynamicConfigs>,
    replica_manager: Arc<ReplicaManager>,
}

impl AdminManager {
    pub fn new(
        broker_id: BrokerId,
        zk: ZkClient,
        metadata: Arc<MetadataCache>,
        configs: Arc<DynamicConfigs>,
        replica_manager: Arc<ReplicaManager>,
    ) -> AdminManager {
        AdminManager {
            broker_id,
            zk,
            metadata,
            configs,
            replica_manager,
        }
    }

    /// The broker's config layers and the effective config.
    pub fn dynamic_configs(&self) -> &Arc<DynamicConfigs> {
        &self.configs
    }

    /// Validates and (unless `validate_only`) creates a topic; the assignment.
    pub async fn create_topic(
        &self,
        topic: &NewTopic,
        validate_only: bool,
    ) -> Result<BTreeMap<i32, Vec<BrokerId>>, AdminError> {
        topics::create_topic(&self.zk, topic, validate_only).await
    }

    /// Creates a topic in the background (auto-creation); the caller holds
    /// its slot until the returned future ends.
    pub fn create_topic_task(
        &self,
        topic: NewTopic,
    ) -> impl std::future::Future<Output = Result<BTreeMap<i32, Vec<BrokerId>>, AdminError>>
    + Send
    + 'static {
        let zk = self.zk.clone();
        async move { topics::create_topic(&zk, &topic, false).await }
    }

    /// Adds partitions to `topic` (`topics::create_partitions`).
    pub async fn create_partitions(
        &self,
        topic: &str,
        count: i32,
        assignments: Option<Vec<Vec<BrokerId>>>,
        validate_only: bool,
    ) -> Result<(), AdminError> {
        topics::create_partitions(&self.zk, topic, count, assignments, validate_only).await
    }

    /// Asks the controller to delete `topic`.
    pub async fn request_deletion(&self, topic: &str) -> Result<(), AdminError> {
        topics::request_deletion(&self.zk, topic).await
    }

    /// Waits until every partition of `topic` has a leader.
    pub async fn wait_for_leaders(
        &self,
        topic: &str,
        partitions: usize,
        timeout: Duration,
    ) -> bool {
        topics::wait_for_leaders(&self.metadata, topic, partitions, timeout).await
    }

    /// Waits until `topic` is gone from the metadata cache.
    pub async fn wait_for_deletion(&self, topic: &str, timeout: Duration) -> bool {
        topics::wait_for_deletion(&self.metadata, topic, timeout).await
    }

    /// AlterConfigs of one resource: its whole dynamic config replaced by
    /// `configs` (a `None` value is refused, after the resource is resolved).
    pub async fn alter_configs(
        &self,
        resource_type: i8,
        resource_name: &str,
        configs: &[(String, Option<String>)],
        validate_only: bool,
    ) -> Result<(), AdminError> {
        let entity = resolve(&self.zk, self.broker_id, resource_type, resource_name).await?;
        let nulls = configs.iter().map(|(k, v)| (k.as_str(), v.is_none()));
        if let Some(nulls) = null_value_names(nulls) {
            return Err(AdminError::invalid_request(format!(
                "Null value not supported for : {nulls}"
            )));
        }
        let config: BTreeMap<String, String> = configs
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.clone()?)))
            .collect();
        validate_and_write(&self.zk, &self.configs, &entity, config, validate_only).await
    }

    /// IncrementalAlterConfigs of one resource: `ops` applied to its
    /// current dynamic config.
    pub async fn incremental_alter_configs(
        &self,
        resource_type: i8,
        resource_name: &str,
        ops: &[IncrementalOp],
        validate_only: bool,
    ) -> Result<(), AdminError> {
        let entity = resolve(&self.zk, self.broker_id, resource_type, resource_name).await?;
        let mut config = current(&self.zk, &entity).await?;
        apply_incremental(&entity, &mut config, ops)?;
        validate_and_write(&self.zk, &self.configs, &entity, config, validate_only).await
    }

    /// DescribeConfigs of one resource.
    pub async fn describe_configs(
        &self,
        resource_type: i8,
        name: &str,
    ) -> Result<Vec<ConfigEntry>, AdminError> {
        describe_resource(
            &self.zk,
            &self.metadata,
            &self.configs,
            self.broker_id,
            resource_type,
            name,
        )
        .await
    }

    /// The overrides of the topics a LeaderAndIsr brings here.
    pub async fn read_topic_configs(
        &self,
        topics: &[String],
    ) -> HashMap<String, BTreeMap<String, String>> {
        read_topic_configs(&self.zk, topics).await
    }

    /// Remembers `topic`'s overrides and applies them to its local partitions.
    pub fn apply_topic_overrides(&self, topic: &str, overrides: &BTreeMap<String, String>) {
        apply_topic_overrides(&self.configs, &self.replica_manager, topic, overrides);
    }
}
