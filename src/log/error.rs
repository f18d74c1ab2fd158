//! `LogError`: every failure the storage room reports, each with enough
//! context (file, partition, offsets) to act on. The server room maps these to
//! Kafka error codes; this room never does.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::batch::BatchError;
use crate::model::{Offset, TopicPartition};

#[derive(Debug, Error)]
pub enum LogError {
    /// A fetch or truncation outside `[log_start, log_end]` (OFFSET_OUT_OF_RANGE).
    #[error("offset {requested} is out of range [{log_start}, {log_end}]")]
    OffsetOutOfRange {
        requested: Offset,
        log_start: Offset,
        log_end: Offset,
    },
    /// The appended bytes failed batch validation.
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    /// A follower append whose offsets go backwards (Kafka's
    /// UnexpectedAppendOffsetException / OFFSET_OUT_OF_RANGE for the replica).
    #[error(
        "append to {tp} at offset {first_offset} is below the log end offset {log_end} or not increasing"
    )]
    NonMonotonicOffset {
        tp: TopicPartition,
        first_offset: Offset,
        log_end: Offset,
    },
    /// One append spans more offsets than a segment can index (2^31 - 1).
    #[error(
        "append to {tp} spans offsets {first_offset}..={last_offset}, too many for one segment"
    )]
    OffsetOverflow {
        tp: TopicPartition,
        first_offset: Offset,
        last_offset: Offset,
    },
    /// One append is larger than a whole segment (RECORD_LIST_TOO_LARGE).
    #[error("append of {size_bytes} bytes to {tp} exceeds segment.bytes {segment_bytes}")]
    RecordListTooLarge {
        tp: TopicPartition,
        size_bytes: usize,
        segment_bytes: u64,
    },
    #[error("checkpoint file {path} is malformed at line {line}: {reason}")]
    CorruptCheckpoint {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("{path}: {key}={found} but this broker has {key}={expected}")]
    MetaPropertiesMismatch {
        path: PathBuf,
        key: &'static str,
        found: String,
        expected: String,
    },
    #[error("{path} is malformed: {reason}")]
    CorruptMetaProperties { path: PathBuf, reason: String },
    #[error("{path} records topic id {found}, but the topic now has id {expected}")]
    InconsistentTopicId {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("partition {tp} has logs in two directories: {first} and {second}")]
    DuplicateLog {
        tp: TopicPartition,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("invalid log config {key}: {reason}")]
    InvalidConfig { key: &'static str, reason: String },
    /// Another process holds the log dir's `.lock` (a second broker on the same dir).
    #[error("log dir {path} is locked by another process")]
    DirLocked { path: PathBuf },
    /// A topic name that cannot be a directory name.
    #[error("topic name {topic:?} cannot name a log directory")]
    InvalidTopicName { topic: String },
    /// The log was closed (broker shutdown) or deleted; no more writes.
    #[error("log {tp} is closed")]
    Closed { tp: TopicPartition },
}

impl LogError {
    /// An I/O error with a description of what was being done to which file.
    pub fn io(context: impl Into<String>, source: io::Error) -> LogError {
        LogError::Io {
            context: context.into(),
            source,
        }
    }
}
