//! A stray log: a partition directory whose `partition.metadata` records
//! another topic id than the topic the controller now names (left behind by
//! a deleted topic of the same name, e.g. when a broker was away during the
//! deletion). Kafka 3.x renames such logs `-stray` and creates the partition
//! fresh; here the stray log is deleted (its topic is gone) and a new,
//! empty log created, instead of failing every LeaderAndIsr forever.

use std::sync::Arc;

use uuid::Uuid;

use super::ReplicaError;
use crate::log::{Log, LogConfig, LogError, LogManager, record_topic_id};
use crate::model::{TopicPartition, encode_kafka_uuid};

/// The log of `tp` for topic `topic_id` (nil: not known, any log will do),
/// created if absent; a stray log is replaced by a new empty one. The flag
/// is true when it was (the old log's checkpointed state no longer applies).
pub fn log_for_topic(
    log_manager: &LogManager,
    tp: &TopicPartition,
    config: LogConfig,
    topic_id: Uuid,
) -> Result<(Arc<Log>, bool), ReplicaError> {
    let log = log_manager.get_or_create_log(tp, config)?;
    if topic_id.is_nil() {
        return Ok((log, false));
    }
    let id = encode_kafka_uuid(topic_id.as_bytes());
    match record_topic_id(log.dir(), &id) {
        Ok(()) => Ok((log, false)),
        Err(LogError::InconsistentTopicId {
            found, expected, ..
        }) => {
            tracing::warn!(
                partition = %tp,
                found,
                expected,
                "the partition's log belongs to an older topic of the same name (a stray log): \
                 deleting it and creating the partition fresh"
            );
            drop(log);
            log_manager.delete_log(tp)?;
            let log = log_manager.get_or_create_log(tp, config)?;
            record_topic_id(log.dir(), &id)?;
            Ok((log, true))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::read_topic_id;
    use crate::model::off;

    #[test]
    fn a_log_of_another_topic_id_is_replaced_by_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let config = LogConfig::default();
        let manager = LogManager::startup(&[dir.path().to_path_buf()], config).unwrap();
        let tp = TopicPartition::new("t", 0);
        let (old_id, new_id) = (Uuid::new_v4(), Uuid::new_v4());

        let (log, replaced) = log_for_topic(&manager, &tp, config, old_id).unwrap();
        assert!(!replaced);
        let old_dir = log.dir().to_path_buf();
        std::fs::write(old_dir.join("marker"), b"old topic's data").unwrap();
        drop(log);
        // Same id: the same log.
        let (log, replaced) = log_for_topic(&manager, &tp, config, old_id).unwrap();
        assert!(!replaced && log.dir().join("marker").exists());
        drop(log);

        let (log, replaced) = log_for_topic(&manager, &tp, config, new_id).unwrap();
        assert!(replaced);
        assert!(!log.dir().join("marker").exists(), "the stray data is gone");
        assert_eq!(
            read_topic_id(log.dir()).unwrap(),
            Some(encode_kafka_uuid(new_id.as_bytes()))
        );
        assert_eq!(log.log_end_offset(), off(0));
    }
}
