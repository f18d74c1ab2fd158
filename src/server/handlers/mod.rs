//! One file per Kafka API. Each declares the version range it serves as
//! `VERSIONS` and a `handle` fn; `dispatch.rs` lists them in one table.

pub mod api_versions;
pub mod create_topics;
pub mod delete_topics;
pub mod describe_configs;
pub mod fetch;
pub mod find_coordinator;
pub mod init_producer_id;
pub mod leader_and_isr;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
pub mod stop_replica;
pub mod update_metadata;
