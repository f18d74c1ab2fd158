//! Sluice: a Kafka-compatible message broker in Kafka's ZooKeeper-coordinated
//! architecture. The crate map (ARCHITECTURE.md has the dependency rules):
//!
//! - `model`: value types shared by every room.
//! - `assignment`: Kafka's rack-unaware replica assignment (topics, tools).
//! - `config`: `server.properties` to a validated `BrokerConfig`.
//! - `log`: durable local storage in Kafka's on-disk layout.
//! - `zk`: every znode Sluice reads or writes, and the ZooKeeper session.
//! - `metadata`: the broker's view of the cluster (brokers, topics, leaders).
//! - `metrics`: every metric name, the hot-path counters, the Prometheus endpoint.
//! - `replica`: partitions this broker hosts, leader appends, high watermarks, waits.
//! - `controller`: the elected controller: leaders, topic creation and deletion.
//! - `group`: the group coordinator (consumer groups) and committed offsets in ZooKeeper.
//! - `admin`: topic and partition admin, config alter/describe, dynamic configs, producer ids.
//! - `protocol`: the thin, I/O-free layer over the `kafka-protocol` crate.
//! - `client`: every outbound Kafka-protocol connection (fetchers, controller, tools).
//! - `console`: the web console (pages and a JSON API on the metrics listener).
//! - `security`: authentication: JAAS text, SASL/PLAIN, secrets, principals.
//! - `server`: the network: connections, framing, dispatch, one handler per API.
//! - `tools`: command-line tools over the Kafka protocol (`sluice consumer-groups`).
//! - `broker`: builds every component and owns start-up and shutdown order.
//! - `huge_alloc`: the global allocator that keeps absurd wire lengths from aborting.
//! - `malloc_tuning`: glibc malloc's arenas, and freed memory given back after a burst.

pub mod admin;
pub mod assignment;
pub mod broker;
pub mod client;
pub mod config;
pub mod console;
pub mod controller;
pub mod group;
pub mod huge_alloc;
pub mod log;
pub mod malloc_tuning;
pub mod metadata;
pub mod metrics;
pub mod model;
pub mod protocol;
pub mod replica;
pub mod security;
pub mod server;
pub mod tools;
pub mod util;
pub mod zk;
