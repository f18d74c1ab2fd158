//! `ConsoleSources`: what the console's answers read: this broker's id, its
//! metadata cache and its ZooKeeper session (the Kafka-protocol calls of
//! `broker_calls.rs` connect as they go).

use std::sync::Arc;

use crate::metadata::MetadataCache;
use crate::model::BrokerId;
use crate::zk::ZkClient;

pub struct ConsoleSources {
    pub broker_id: BrokerId,
    pub metadata: Arc<MetadataCache>,
    pub zk: ZkClient,
}
