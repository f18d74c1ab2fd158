//! The storage room: durable local storage of partition logs in Kafka's
//! on-disk layout, `<log.dir>/<topic>-<partition>/<20-digit base offset>.log`
//! with `.index` and `.timeindex`, record batches stored exactly as received
//! (magic 2, offsets assigned in place), plus Kafka's checkpoint files and
//! `meta.properties`.
//!
//! Owns: batch validation (`batch`, and `record_validation` for the records
//! inside a produced batch), segments and their indexes (`segment`,
//! `offset_index`, `time_index`, `index_file`, opened on first use through
//! `lazy_index`), one partition's log
//! (`partition_log`, opened by `recovery`, trimmed by `retention`), all logs of
//! the broker (`manager`, loading them on `recovery_threads`), checkpoints (`checkpoint`, `meta_properties`, `partition_metadata`),
//! and log compaction (`cleaner_manager` picks logs, `cleaner` cleans one,
//! `cleaner_offset_map`, `cleaner_records`, `cleaner_swap`).
//!
//! Must not touch: network, ZooKeeper, protocol or replication code. It
//! depends only on `crate::model` and external crates; the replica room calls
//! in, never the other way round. High watermarks, leader epochs and producer
//! state are the replica room's; this room only provides the file formats.

pub mod atomic_offset;
mod batch_reader;
mod cleaner;
mod cleaner_manager;
mod cleaner_offset_map;
mod cleaner_records;
mod cleaner_swap;
mod config;
mod error;
mod file_records;
mod index_file;
mod lazy_index;
mod log_start;
mod meta_properties;
mod partition_log;
mod partition_metadata;
mod record_validation;
mod records;
mod recovery;
mod recovery_threads;
mod retention;

pub mod batch;
pub mod checkpoint;
pub mod manager;
pub mod offset_index;
pub mod produce_records;
pub mod segment;
pub mod segment_files;
pub mod time_index;

#[cfg(test)]
pub(crate) mod test_util;

pub use atomic_offset::AtomicOffset;
pub use batch::{
    BatchError, BatchHeader, BatchInfo, check_client_batch, set_base_offset,
    set_partition_leader_epoch, validate_batches, whole_batch_headers,
};
pub use batch_reader::{BatchHeaders, StoredBatch};
pub use checkpoint::{
    CheckpointEntry, CheckpointFile, EpochEntry, LEADER_EPOCH_CHECKPOINT,
    LOG_START_OFFSET_CHECKPOINT, RECOVERY_POINT_CHECKPOINT, REPLICATION_OFFSET_CHECKPOINT,
};
pub use cleaner::{CleanStats, CleanerError};
pub use cleaner_manager::{CLEANER_OFFSET_CHECKPOINT, LogCleaner};
pub use config::LogConfig;
pub use error::LogError;
pub use file_records::{FileRecords, ReadMode, Records};
pub use manager::{CLEAN_SHUTDOWN_FILE, LogManager};
pub use meta_properties::{META_PROPERTIES, read_meta_properties};
pub use partition_log::{AppendInfo, AppendOutcome, Log, LogReadResult, LogRecordsRead};
pub use partition_metadata::{PARTITION_METADATA, read_topic_id, record_topic_id};
pub use record_validation::validate_records;
