//! One file per Kafka API. Each declares the version range it serves as
//! `VERSIONS` and a `handle` fn; `dispatch.rs` lists them in one table.

pub mod alter_configs;
pub mod alter_partition_reassignments;
pub mod controlled_shutdown;
pub mod controller_request;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_groups;
pub mod describe_log_dirs;
pub mod elect_leaders;
pub mod fetch;
pub mod find_coordinator;
pub mod group_support;
pub mod heartbeat;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod join_group;
pub mod leader_and_isr;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod list_partition_reassignments;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod offsets_for_leader_epoch;
pub mod produce;
pub mod stop_replica;
pub mod sync_group;
pub mod update_metadata;
