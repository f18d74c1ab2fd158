//! The ZooKeeper room: every znode Sluice reads or writes, byte-compatible
//! with what Apache Kafka 2.8/3.x writes in ZK mode, and the ZooKeeper session
//! (connect, chroot creation, expiry and re-establishment).
//!
//! Owns: znode paths (`paths`), znode payloads (`data`, `data_admin`, `data_groups`), Kafka's
//! uuid text form (`kafka_uuid`), the session (`session`), generic znode
//! operations (`client`), watches (`watch`) and Kafka's typed operations
//! (`brokers`, `controller`, `topics`, `configs`, `offsets`, `groups`, `notifications`,
//! all `impl ZkClient`).
//!
//! Depends only on `crate::model`. Must not know about the log, replication,
//! the network or the controller's decisions: it stores and fetches what the
//! other rooms decide. Only `paths` formats znode paths.

mod brokers;
mod client;
mod configs;
mod controller;
pub mod data;
pub mod data_admin;
pub mod data_groups;
mod error;
mod groups;
pub mod kafka_uuid;
mod notifications;
mod offsets;
pub mod paths;
mod session;
mod topics;
mod watch;
mod watchers;

pub use brokers::BrokerAndEpoch;
pub use client::{CreateMode, ZkClient, ZkOp, ZkOpResult, ZkStat};
pub use controller::ControllerElection;
pub use data::{
    BrokerRegistration, ClusterIdZnode, ControllerZnode, EndPoint, EndpointError,
    PartitionStateZnode, TopicZnode, ZnodeJson,
};
pub use data_admin::{
    ConfigChangeNotification, EntityConfig, IsrChangeNotification, PartitionReassignment,
    PartitionRef, PreferredReplicaElection, ProducerIdBlock, ReassignPartitions, TopicConfigZnode,
};
pub use error::ZkError;
pub use groups::{GroupFence, MAX_MULTI_BYTES, PersistedGroup, lost_fence, multi_request_bytes};
pub use kafka_uuid::{decode_kafka_uuid, encode_kafka_uuid, new_kafka_uuid};
pub use offsets::StoredOffset;
pub use session::{SessionEvent, ZkConfig};
pub use watch::{WatchEvent, ZkWatch};
pub use watchers::{WatcherOptions, spawn_children_watcher, spawn_data_watcher};
