//! BrokerServices: what every request handler may use, built once by
//! `broker.rs` (Kafka's KafkaApis constructor arguments, in one struct).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::config::BrokerConfig;
use crate::controller::ControllerHandle;
use crate::group::GroupCoordinator;
use crate::metadata::MetadataCache;
use crate::replica::ReplicaManager;
use crate::zk::ZkClient;

pub struct BrokerServices {
    pub config: Arc<BrokerConfig>,
    pub broker_id: i32,
    /// The host and port this broker advertises to clients.
    pub advertised_host: String,
    pub advertised_port: u16,
    pub metadata: Arc<MetadataCache>,
    pub replica_manager: Arc<ReplicaManager>,
    pub zk: ZkClient,
    pub producer_ids: ProducerIdSource,
    /// This broker's controller: whether it is active, and its API requests.
    pub controller: ControllerHandle,
    /// The group coordinator (consumer groups and committed offsets).
    pub groups: Arc<GroupCoordinator>,
}

/// Hands out producer ids for InitProducerId. Until ids come from blocks in
/// `/latest_producer_id_block` (the idempotence issue), each broker draws from
/// its own range (broker id in the high 32 bits) seeded by the start time, so
/// brokers never overlap and restarts do not reuse recent ids.
pub struct ProducerIdSource {
    next: AtomicI64,
}

impl ProducerIdSource {
    pub fn new(broker_id: i32, now_ms: i64) -> ProducerIdSource {
        let base = ((broker_id as i64) & 0x7fff) << 32;
        let seed = (now_ms / 1000) & 0x3fff_ffff;
        ProducerIdSource {
            next: AtomicI64::new(base | (seed << 1)),
        }
    }

    pub fn next_id(&self) -> i64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}
