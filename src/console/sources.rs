//! `ConsoleSources`: what the console's answers read: this broker's id, its
//! metadata cache and its ZooKeeper session (the Kafka-protocol calls of
//! `broker_calls.rs` connect as they go), whether write actions are on, and
//! the other brokers' HTTP addresses as learnt.

use std::sync::Arc;

use std::collections::HashMap;

use parking_lot::Mutex;

use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::zk::ZkClient;

pub struct ConsoleSources {
    pub broker_id: BrokerId,
    pub metadata: Arc<MetadataCache>,
    pub zk: ZkClient,
    /// `console.writes.enable`.
    pub writes_enabled: bool,
    pub peers: PeerConsoles,
}

/// The HTTP addresses of the other brokers' listeners, as learnt
/// (`cluster_stats.rs`): one per broker, forgotten when a read fails.
#[derive(Default)]
pub struct PeerConsoles {
    addresses: Mutex<HashMap<BrokerId, String>>,
}

impl PeerConsoles {
    pub fn address(&self, broker: BrokerId) -> Option<String> {
        self.addresses.lock().get(&broker).cloned()
    }

    pub fn remember(&self, broker: BrokerId, address: String) {
        self.addresses.lock().insert(broker, address);
    }

    pub fn forget(&self, broker: BrokerId) {
        self.addresses.lock().remove(&broker);
    }
}
