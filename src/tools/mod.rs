//! Command-line tools that talk to a cluster over the Kafka protocol, like
//! Kafka's `bin/*.sh` scripts, through `crate::client::blocking`.
//!
//! - `admin_client`: what the admin tools share (bootstrap, API versions,
//!   metadata, controller, errors in plain words).
//! - `consumer_groups`: `sluice consumer-groups` (kafka-consumer-groups.sh).
//! - `reset_time`: the --to-datetime and --by-duration formats of `consumer-groups`.
//! - `topics`: `sluice topics` (kafka-topics.sh).
//! - `configs`: `sluice configs` (kafka-configs.sh).
//! - `reassign_partitions`: `sluice reassign-partitions` (kafka-reassign-partitions.sh).
//! - `reassign_generate`: `sluice reassign-partitions --generate`.
//! - `reassign_plan`: Kafka's reassignment JSON, parsed and printed.
//! - `leader_election`: `sluice leader-election` (kafka-leader-election.sh).

pub mod admin_client;
pub mod configs;
pub mod consumer_groups;
pub mod leader_election;
pub mod reassign_generate;
pub mod reassign_partitions;
pub mod reassign_plan;
pub mod reset_time;
pub mod topics;
