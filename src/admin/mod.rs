//! The admin services (Kafka's ZkAdminManager, DynamicConfigManager and
//! ProducerIdManager in ZooKeeper mode): topic creation, new partitions and
//! deletion requests (`topics.rs`), config alterations (`config_alter.rs`)
//! and descriptions (`config_describe.rs`), dynamic configs applied live
//! (`dynamic_config.rs`) and producer id blocks (`producer_ids.rs`), with
//! `AdminManager` (`manager.rs`) the one handle request handlers call. They
//! work on their own handles (ZooKeeper, the metadata cache, the replica
//! manager, the controller handle) and answer with `AdminError`, which only
//! `server/errors.rs` turns into Kafka error codes.

pub mod config_alter;
pub mod config_describe;
pub mod dynamic_config;
pub mod error;
pub mod manager;
pub mod producer_ids;
pub mod topics;

pub use error::AdminError;
pub use manager::AdminManager;
