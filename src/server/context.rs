//! BrokerServices: what every request handler may use, built once by
//! `broker.rs` (Kafka's KafkaApis constructor arguments, in one struct).

use std::sync::Arc;

use crate::config::BrokerConfig;
use crate::controller::ControllerHandle;
use crate::group::GroupCoordinator;
use crate::metadata::MetadataCache;
use crate::replica::ReplicaManager;
use crate::server::producer_id_manager::ProducerIdManager;
use crate::zk::ZkClient;

pub struct BrokerServices {
    pub config: Arc<BrokerConfig>,
    pub broker_id: i32,
    /// The host and port this broker advertises to clients.
    pub advertised_host: String,
    pub advertised_port: u16,
    /// Every advertised listener with its real host and port (the bound port
    /// where the config says 0): what clients of each listener are told.
    pub advertised_listeners: Vec<crate::metadata::ListenerEndpoint>,
    pub metadata: Arc<MetadataCache>,
    pub replica_manager: Arc<ReplicaManager>,
    pub zk: ZkClient,
    /// Producer ids for InitProducerId, in blocks from ZooKeeper.
    pub producer_ids: ProducerIdManager,
    /// This broker's controller: whether it is active, and its API requests.
    pub controller: ControllerHandle,
    /// The group coordinator (consumer groups and committed offsets).
    pub groups: Arc<GroupCoordinator>,
    /// Dynamic configs: broker layers and topic overrides applied live.
    pub dynamic_configs: Arc<crate::server::dynamic_config::DynamicConfigs>,
    /// Topic auto-creations in flight: one per topic, bounded in all.
    pub auto_creations: Arc<crate::server::auto_creations::AutoCreations>,
    /// Fetch response memory in flight, bounded by `fetch.inflight.max.bytes`.
    pub fetch_budget: Arc<crate::server::fetch_budget::FetchBudget>,
}
