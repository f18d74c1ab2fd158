//! Command-line tools that talk to a cluster over the Kafka protocol, like
//! Kafka's `bin/*.sh` scripts.
//!
//! - `kafka_client`: a small blocking Kafka-protocol connection.
//! - `consumer_groups`: `sluice consumer-groups` (kafka-consumer-groups.sh).

pub mod consumer_groups;
pub mod kafka_client;
