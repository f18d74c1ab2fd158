//! Kafka's broker and cluster operations: start-up paths, broker registration
//! (`/brokers/ids/<id>`, ephemeral), generated broker ids (`/brokers/seqid`)
//! and the cluster id (`/cluster/id`).

use std::collections::BTreeMap;

use tracing::{info, warn};

use super::data::{BrokerRegistration, ClusterIdZnode, ZnodeJson};
use super::{CreateMode, ZkClient, ZkError, new_kafka_uuid, paths};
use crate::model::BrokerId;

/// A live broker as the controller sees it: its registration and its epoch
/// (the czxid of its registration znode, new on every registration).
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerAndEpoch {
    pub id: BrokerId,
    pub registration: BrokerRegistration,
    pub epoch: i64,
}

impl ZkClient {
    /// Creates the persistent paths Kafka makes sure exist at start-up
    /// (`/consumers`, `/brokers/ids`, `/brokers/topics`, `/brokers/seqid`,
    /// `/config/changes`, `/admin/delete_topics`, `/isr_change_notification`,
    /// `/latest_producer_id_block`, `/log_dir_event_notification`, `/config/<type>`).
    pub async fn ensure_persistent_paths(&self) -> Result<(), ZkError> {
        for path in paths::persistent_paths() {
            self.ensure_path(&path).await?;
        }
        Ok(())
    }

    /// Registers broker `id` (ephemeral `/brokers/ids/<id>`) and returns its
    /// broker epoch. If the znode exists and belongs to this session (a retry,
    /// or re-registration), that is success; if another session owns it, the
    /// id is taken: `ZkError::NodeExists`. Right after a session expiry the
    /// old session's znode may linger until the server expires that session
    /// (at most a session timeout), so callers re-registering should retry.
    pub async fn register_broker(
        &self,
        id: BrokerId,
        registration: &BrokerRegistration,
    ) -> Result<i64, ZkError> {
        let path = paths::broker_id(id);
        let data = registration.encode(&path)?;
        let stat = match self
            .create_with_stat(&path, &data, CreateMode::Ephemeral)
            .await
        {
            Ok((_, stat)) => stat,
            Err(ZkError::NodeExists { .. }) => match self.get_data(&path).await? {
                Some((_, stat)) if stat.ephemeral_owner == self.session_id() => stat,
                Some((_, stat)) => {
                    warn!(
                        path = %path,
                        owner = %format!("{:#x}", stat.ephemeral_owner),
                        session_id = %format!("{:#x}", self.session_id()),
                        "broker id already registered by another session"
                    );
                    return Err(ZkError::NodeExists { path });
                }
                // Vanished meanwhile (its session just ended): try once more.
                None => {
                    self.create_with_stat(&path, &data, CreateMode::Ephemeral)
                        .await?
                        .1
                }
            },
            Err(e) => return Err(e),
        };
        info!(
            broker_id = %id,
            endpoints = %registration.endpoints.join(","),
            broker_epoch = stat.czxid,
            "registered broker at {path}"
        );
        Ok(stat.czxid)
    }

    /// Broker `id`'s registration, `None` if it is not live.
    pub async fn get_broker(&self, id: BrokerId) -> Result<Option<BrokerRegistration>, ZkError> {
        Ok(self.get_broker_and_epoch(id).await?.map(|b| b.registration))
    }

    /// Broker `id`'s registration and epoch, `None` if it is not live.
    pub async fn get_broker_and_epoch(
        &self,
        id: BrokerId,
    ) -> Result<Option<BrokerAndEpoch>, ZkError> {
        let path = paths::broker_id(id);
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, stat)) => Ok(Some(BrokerAndEpoch {
                id,
                registration: BrokerRegistration::decode(&path, &data)?,
                epoch: stat.czxid,
            })),
        }
    }

    /// Ids of the live brokers, ascending.
    pub async fn get_all_broker_ids(&self) -> Result<Vec<BrokerId>, ZkError> {
        let path = paths::brokers_ids();
        let children = self.get_children(&path).await?.unwrap_or_default();
        let mut ids: Vec<BrokerId> = children
            .iter()
            .filter_map(|c| match c.parse() {
                Ok(id) => Some(BrokerId(id)),
                Err(_) => {
                    warn!(path = %path, child = %c, "ignoring a non-numeric broker id");
                    None
                }
            })
            .collect();
        ids.sort_unstable();
        Ok(ids)
    }

    /// Every live broker with its registration and epoch, by id (Kafka's
    /// `getAllBrokerAndEpochsInCluster`), read in one round trip.
    pub async fn get_all_brokers(&self) -> Result<BTreeMap<BrokerId, BrokerAndEpoch>, ZkError> {
        let ids = self.get_all_broker_ids().await?;
        let broker_paths: Vec<String> = ids.iter().map(|id| paths::broker_id(*id)).collect();
        let data = self.get_data_many(&broker_paths).await?;
        let mut brokers = BTreeMap::new();
        for ((id, path), entry) in ids.into_iter().zip(&broker_paths).zip(data) {
            // None: the broker went away between the listing and the read.
            if let Some((bytes, stat)) = entry {
                let registration = BrokerRegistration::decode(path, &bytes)?;
                brokers.insert(
                    id,
                    BrokerAndEpoch {
                        id,
                        registration,
                        epoch: stat.czxid,
                    },
                );
            }
        }
        Ok(brokers)
    }

    /// A new broker id for `broker.id.generation.enable`: bumps the data
    /// version of `/brokers/seqid` and returns `reserved_max + version`
    /// (so the first generated id with the default reserved.broker.max.id
    /// 1000 is 1001, as in Kafka).
    pub async fn generate_broker_id(&self, reserved_max: i32) -> Result<BrokerId, ZkError> {
        let path = paths::broker_seqid();
        let version = match self.set_data(&path, &[], None).await {
            Ok(version) => version,
            Err(ZkError::NoNode { .. }) => {
                self.ensure_path(&path).await?;
                self.set_data(&path, &[], None).await?
            }
            Err(e) => return Err(e),
        };
        Ok(BrokerId(reserved_max.saturating_add(version)))
    }

    /// The cluster id from `/cluster/id`, `None` if not yet created.
    pub async fn get_cluster_id(&self) -> Result<Option<String>, ZkError> {
        let path = paths::cluster_id();
        match self.get_data(&path).await? {
            None => Ok(None),
            Some((data, _)) => Ok(Some(ClusterIdZnode::decode(&path, &data)?.id)),
        }
    }

    /// The cluster id, creating `/cluster/id` with a fresh one if absent
    /// (whoever creates it first wins; everyone reads the same id).
    pub async fn get_or_create_cluster_id(&self) -> Result<String, ZkError> {
        if let Some(id) = self.get_cluster_id().await? {
            return Ok(id);
        }
        let path = paths::cluster_id();
        let (proposed, _) = new_kafka_uuid();
        let data = ClusterIdZnode::new(proposed.clone()).encode(&path)?;
        match self
            .create_recursive(&path, &data, CreateMode::Persistent)
            .await
        {
            Ok(_) => {
                info!(cluster_id = %proposed, "created cluster id");
                Ok(proposed)
            }
            Err(ZkError::NodeExists { .. }) => self
                .get_cluster_id()
                .await?
                .ok_or_else(|| ZkError::NoNode { path: path.clone() }),
            Err(e) => Err(e),
        }
    }
}
