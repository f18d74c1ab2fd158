//! Kafka's dynamic configs: `/config/<type>/<name>` entity configs (topics,
//! brokers, `<default>`) and the sequential `/config/changes/config_change_`
//! notifications that tell brokers to reload an entity's config.

use std::collections::BTreeMap;

use tracing::info;

use super::data::ZnodeJson;
use super::data_admin::{ConfigChangeNotification, EntityConfig};
use super::{CreateMode, ZkClient, ZkError, paths};

impl ZkClient {
    /// The config overrides of `/config/<entity_type>/<name>`; empty if absent.
    pub async fn get_entity_config(
        &self,
        entity_type: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, ZkError> {
        let path = paths::config_entity(entity_type, name);
        match self.get_data(&path).await? {
            None => Ok(BTreeMap::new()),
            Some((data, _)) if data.is_empty() => Ok(BTreeMap::new()),
            Some((data, _)) => Ok(EntityConfig::decode(&path, &data)?.config),
        }
    }

    /// Writes `/config/<entity_type>/<name>` (set, or create with parents),
    /// without a change notification (Kafka's `setOrCreateEntityConfigs`).
    pub async fn set_or_create_entity_config(
        &self,
        entity_type: &str,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        let path = paths::config_entity(entity_type, name);
        if !paths::is_valid_segment(name) {
            return Err(ZkError::InvalidPath {
                path,
                detail: "invalid config entity name".to_string(),
            });
        }
        let data = EntityConfig::new(config.clone()).encode(&path)?;
        match self.set_data(&path, &data, None).await {
            Ok(_) => Ok(()),
            Err(ZkError::NoNode { .. }) => {
                match self
                    .create_recursive(&path, &data, CreateMode::Persistent)
                    .await
                {
                    Ok(_) => Ok(()),
                    // Created meanwhile: overwrite.
                    Err(ZkError::NodeExists { .. }) => {
                        self.set_data(&path, &data, None).await.map(|_| ())
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Writes an entity's config and then a change notification for it
    /// (Kafka's `changeEntityConfig`).
    pub async fn change_entity_config(
        &self,
        entity_type: &str,
        name: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        self.set_or_create_entity_config(entity_type, name, config)
            .await?;
        self.create_config_change_notification(&paths::config_entity_path(entity_type, name))
            .await?;
        info!(entity_type, name, "changed config");
        Ok(())
    }

    /// Topic `topic`'s config overrides (`/config/topics/<t>`); empty if none.
    pub async fn get_topic_config(&self, topic: &str) -> Result<BTreeMap<String, String>, ZkError> {
        self.get_entity_config(paths::CONFIG_TYPE_TOPICS, topic)
            .await
    }

    /// Replaces topic `topic`'s config overrides and notifies brokers.
    pub async fn set_topic_config(
        &self,
        topic: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        self.change_entity_config(paths::CONFIG_TYPE_TOPICS, topic, config)
            .await
    }

    /// A broker's dynamic config; `entity` is a broker id or `<default>`.
    pub async fn get_broker_config(
        &self,
        entity: &str,
    ) -> Result<BTreeMap<String, String>, ZkError> {
        self.get_entity_config(paths::CONFIG_TYPE_BROKERS, entity)
            .await
    }

    /// Replaces a broker's dynamic config (`entity`: id or `<default>`) and notifies brokers.
    pub async fn set_broker_config(
        &self,
        entity: &str,
        config: &BTreeMap<String, String>,
    ) -> Result<(), ZkError> {
        self.change_entity_config(paths::CONFIG_TYPE_BROKERS, entity, config)
            .await
    }

    /// Creates `/config/changes/config_change_<seq>` naming `entity_path`
    /// (`topics/<t>`); returns the created path.
    pub async fn create_config_change_notification(
        &self,
        entity_path: &str,
    ) -> Result<String, ZkError> {
        let prefix = paths::config_change_prefix();
        let data = ConfigChangeNotification::new(entity_path).encode(&prefix)?;
        self.create_recursive(&prefix, &data, CreateMode::PersistentSequential)
            .await
    }

    /// Names of the pending config change notifications, oldest first.
    pub async fn get_config_change_notifications(&self) -> Result<Vec<String>, ZkError> {
        let mut names = self
            .get_children(&paths::config_changes())
            .await?
            .unwrap_or_default();
        names.retain(|n| n.starts_with(paths::CONFIG_CHANGE_PREFIX));
        names.sort();
        Ok(names)
    }

    /// One config change notification by child name, `None` if gone.
    pub async fn get_config_change_notification(
        &self,
        name: &str,
    ) -> Result<Option<ConfigChangeNotification>, ZkError> {
        let path = paths::child(&paths::config_changes(), name);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, _)) => Ok(Some(ConfigChangeNotification::decode(&path, &data)?)),
        }
    }

    /// Deletes config change notifications by child name; fine if gone.
    pub async fn delete_config_change_notifications(
        &self,
        names: &[String],
    ) -> Result<(), ZkError> {
        let parent = paths::config_changes();
        for name in names {
            match self.delete(&paths::child(&parent, name), None).await {
                Ok(()) | Err(ZkError::NoNode { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
