//! JSON payloads of the config, admin and notification znodes, field names and
//! order exactly as Kafka 2.8/3.x writes them: entity configs, config change
//! and ISR change notifications, partition reassignment, preferred replica
//! election and the producer id block.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::data::{ZnodeJson, i64_as_string};
use crate::model::{BrokerId, TopicPartition};

/// `/config/<type>/<name>` (topics, brokers, ...):
/// `{"version":1,"config":{"retention.ms":"86400000"}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntityConfig {
    pub version: i32,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

impl ZnodeJson for EntityConfig {}

/// `/config/topics/<t>` has the generic entity config shape.
pub type TopicConfigZnode = EntityConfig;

impl EntityConfig {
    pub fn new(config: BTreeMap<String, String>) -> Self {
        EntityConfig { version: 1, config }
    }
}

/// `/config/changes/config_change_<seq>`: `{"version":2,"entity_path":"topics/<t>"}`.
/// Version 1 (Kafka before 1.1) named `entity_type` and `entity_name` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigChangeNotification {
    pub version: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
}

impl ZnodeJson for ConfigChangeNotification {}

impl ConfigChangeNotification {
    /// A version 2 notification for `entity_path` such as `topics/t` (see `paths::config_entity_path`).
    pub fn new(entity_path: impl Into<String>) -> Self {
        ConfigChangeNotification {
            version: 2,
            entity_path: Some(entity_path.into()),
            entity_type: None,
            entity_name: None,
        }
    }

    /// `(entity type, entity name)` of either version, e.g. `("topics", "t")`.
    pub fn entity(&self) -> Option<(String, String)> {
        if let Some(path) = &self.entity_path {
            let (entity_type, name) = path.split_once('/')?;
            return Some((entity_type.to_string(), name.to_string()));
        }
        Some((self.entity_type.clone()?, self.entity_name.clone()?))
    }
}

/// `{"topic":"t","partition":0}` inside notification and election znodes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionRef {
    pub topic: String,
    pub partition: i32,
}

impl From<&TopicPartition> for PartitionRef {
    fn from(tp: &TopicPartition) -> Self {
        PartitionRef {
            topic: tp.topic.clone(),
            partition: tp.partition,
        }
    }
}

impl From<PartitionRef> for TopicPartition {
    fn from(p: PartitionRef) -> Self {
        TopicPartition::new(p.topic, p.partition)
    }
}

/// `/isr_change_notification/isr_change_<seq>`:
/// `{"version":1,"partitions":[{"topic":"t","partition":0}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IsrChangeNotification {
    pub version: i32,
    pub partitions: Vec<PartitionRef>,
}

impl ZnodeJson for IsrChangeNotification {}

impl IsrChangeNotification {
    pub fn new(partitions: &[TopicPartition]) -> Self {
        IsrChangeNotification {
            version: 1,
            partitions: partitions.iter().map(PartitionRef::from).collect(),
        }
    }

    pub fn topic_partitions(&self) -> Vec<TopicPartition> {
        self.partitions.iter().cloned().map(Into::into).collect()
    }
}

/// `/admin/preferred_replica_election`:
/// `{"version":1,"partitions":[{"topic":"t","partition":0}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferredReplicaElection {
    pub version: i32,
    pub partitions: Vec<PartitionRef>,
}

impl ZnodeJson for PreferredReplicaElection {}

impl PreferredReplicaElection {
    pub fn new(partitions: &[TopicPartition]) -> Self {
        PreferredReplicaElection {
            version: 1,
            partitions: partitions.iter().map(PartitionRef::from).collect(),
        }
    }

    pub fn topic_partitions(&self) -> Vec<TopicPartition> {
        self.partitions.iter().cloned().map(Into::into).collect()
    }
}

/// One entry of `/admin/reassign_partitions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionReassignment {
    pub topic: String,
    pub partition: i32,
    pub replicas: Vec<BrokerId>,
}

/// `/admin/reassign_partitions`:
/// `{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,2]}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignPartitions {
    pub version: i32,
    pub partitions: Vec<PartitionReassignment>,
}

impl ZnodeJson for ReassignPartitions {}

impl ReassignPartitions {
    pub fn new(partitions: Vec<PartitionReassignment>) -> Self {
        ReassignPartitions {
            version: 1,
            partitions,
        }
    }

    /// Target replicas per partition.
    pub fn targets(&self) -> BTreeMap<TopicPartition, Vec<BrokerId>> {
        self.partitions
            .iter()
            .map(|p| {
                (
                    TopicPartition::new(p.topic.clone(), p.partition),
                    p.replicas.clone(),
                )
            })
            .collect()
    }
}

/// `/latest_producer_id_block`:
/// `{"version":1,"broker":1,"block_start":"0","block_end":"999"}` (both ends
/// inclusive, written as strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerIdBlock {
    pub version: i32,
    pub broker: BrokerId,
    #[serde(with = "i64_as_string")]
    pub block_start: i64,
    #[serde(with = "i64_as_string")]
    pub block_end: i64,
}

impl ZnodeJson for ProducerIdBlock {}

impl ProducerIdBlock {
    /// Kafka's `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`.
    pub const DEFAULT_BLOCK_SIZE: i64 = 1000;

    /// The block of `size` ids starting at `first_id`, claimed by `broker`.
    pub fn new(broker: BrokerId, first_id: i64, size: i64) -> Self {
        ProducerIdBlock {
            version: 1,
            broker,
            block_start: first_id,
            block_end: first_id + size - 1,
        }
    }

    /// The first id after this block.
    pub fn next_block_first_id(&self) -> i64 {
        self.block_end + 1
    }
}
