//! BrokerServices: what every request handler may use, built once by
//! `broker.rs` (Kafka's KafkaApis constructor arguments, in one struct), and
//! topic auto-creation with the broker's defaults (Kafka's
//! AutoTopicCreationManager) on top of it.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::admin::dynamic_config::DynamicConfigs;
use crate::admin::producer_ids::ProducerIdManager;
use crate::admin::topics::{NewTopic, validate_topic_name};
use crate::admin::{AdminError, AdminManager};
use crate::config::BrokerConfig;
use crate::controller::ControllerHandle;
use crate::group::GroupCoordinator;
use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::replica::ReplicaManager;

pub struct BrokerServices {
    pub config: Arc<BrokerConfig>,
    pub broker_id: BrokerId,
    /// The host and port this broker advertises to clients.
    pub advertised_host: String,
    pub advertised_port: u16,
    /// Every advertised listener with its real host and port (the bound port
    /// where the config says 0): what clients of each listener are told.
    pub advertised_listeners: Vec<crate::metadata::ListenerEndpoint>,
    pub metadata: Arc<MetadataCache>,
    pub replica_manager: Arc<ReplicaManager>,
    /// Topic and config administration (Kafka's ZkAdminManager).
    pub admin: AdminManager,
    /// Producer ids for InitProducerId, in blocks from ZooKeeper.
    pub producer_ids: ProducerIdManager,
    /// This broker's controller: whether it is active, and its API requests.
    pub controller: ControllerHandle,
    /// The group coordinator (consumer groups and committed offsets).
    pub groups: Arc<GroupCoordinator>,
    /// Dynamic configs: broker layers and topic overrides applied live.
    pub dynamic_configs: Arc<DynamicConfigs>,
    /// Topic auto-creations in flight: one per topic, bounded in all.
    pub auto_creations: Arc<crate::server::auto_creations::AutoCreations>,
    /// Fetch response memory in flight, bounded by `fetch.inflight.max.bytes`.
    pub fetch_budget: Arc<crate::server::fetch_budget::FetchBudget>,
}

impl BrokerServices {
    /// Auto-creation on Metadata/Produce for an unknown topic, with the
    /// broker's defaults, when auto.create.topics.enable; runs in the
    /// background, at most one creation per topic at a time and a bounded
    /// number in all (`auto_creations.rs`). True when the topic is (being)
    /// created: the client gets LEADER_NOT_AVAILABLE and retries.
    pub fn maybe_auto_create(&self, name: &str) -> bool {
        if !self.config.auto_create_topics_enable || validate_topic_name(name).is_err() {
            return false;
        }
        let Some(slot) = self.auto_creations.begin(name) else {
            // Already being created, or too many creations at once: retry later.
            return true;
        };
        let topic = NewTopic {
            name: name.to_owned(),
            partitions: self.config.num_partitions,
            replication_factor: self.config.default_replication_factor as i16,
            assignment: BTreeMap::new(),
            configs: BTreeMap::new(),
        };
        let name = topic.name.clone();
        let create = self.admin.create_topic_task(topic);
        tokio::spawn(async move {
            let _slot = slot;
            tracing::info!(topic = %name, "auto-creating topic");
            match create.await {
                Ok(_) => tracing::info!(topic = %name, "auto-created topic"),
                Err(AdminError::TopicAlreadyExists { .. }) => {}
                Err(e) => {
                    tracing::warn!(topic = %name, error = %e, "auto-creation failed")
                }
            }
        });
        true
    }
}
