//! `AdminError`: why an admin operation (topic creation, new partitions, a
//! deletion request, a config alteration or description) was refused, with
//! its context. The Display text is the message a client gets (Kafka's
//! wording); `server/errors.rs` maps each variant to its Kafka error code.

use crate::zk::ZkError;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A topic name that breaks Kafka's rules (`reason` says which).
    #[error("{reason}")]
    InvalidTopicName { topic: String, reason: String },
    /// Differs from an existing topic only in `.` versus `_`.
    #[error("Topic '{topic}' collides with existing topic: {existing}")]
    TopicCollision { topic: String, existing: String },
    #[error("Topic '{topic}' already exists.")]
    TopicAlreadyExists { topic: String },
    #[error("The topic '{topic}' does not exist.")]
    UnknownTopic { topic: String },
    /// `/admin/delete_topics/<t>` exists: no new partitions.
    #[error("The topic is queued for deletion.")]
    TopicQueuedForDeletion { topic: String },
    #[error("A partition reassignment is in progress for the topic '{topic}'.")]
    ReassignmentInProgress { topic: String },
    /// A partition count that is not positive or does not grow.
    #[error("{reason}")]
    InvalidPartitions { topic: String, reason: String },
    /// A replication factor that is not positive or exceeds the brokers.
    #[error("{reason}")]
    InvalidReplicationFactor { topic: String, reason: String },
    /// An explicit assignment with gaps, duplicates, uneven sizes or
    /// unknown brokers.
    #[error("{reason}")]
    InvalidReplicaAssignment { topic: String, reason: String },
    /// An unknown topic config key, or a bad topic config at creation.
    #[error("{reason}")]
    InvalidConfig { key: String, reason: String },
    /// A bad value or a broker key that cannot change at run time (Kafka's
    /// `ConfigException`, answered INVALID_REQUEST).
    #[error("Invalid config value for resource {resource}: {reason}")]
    InvalidConfigValue { resource: String, reason: String },
    /// The request itself is malformed: null values, duplicate keys, an
    /// operation not allowed on a key, a broker id or resource type not
    /// served here, an assignment together with a count.
    #[error("{reason}")]
    InvalidRequest { reason: String },
    /// The topic znode has no partition 0 to continue the assignment from.
    #[error(
        "Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing."
    )]
    MissingPartitionZero { topic: String },
    /// The topic znode lost every conditional write race.
    #[error("The topic '{topic}' kept changing while partitions were added; retry.")]
    TopicKeptChanging { topic: String },
    /// ZooKeeper failed the read or write.
    #[error("{0}")]
    Zk(#[from] ZkError),
}

impl AdminError {
    /// A malformed request, with Kafka's message.
    pub fn invalid_request(reason: impl Into<String>) -> AdminError {
        AdminError::InvalidRequest {
            reason: reason.into(),
        }
    }
}
