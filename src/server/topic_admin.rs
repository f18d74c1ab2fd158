//! Topic administration as any ZK-mode Kafka broker does it (Kafka's
//! AdminZkClient): validate the name, pick a replica assignment, write
//! `/brokers/topics/<t>` (and `/config/topics/<t>` for overrides). The
//! controller notices the new znode and elects leaders; deletion is a request
//! node under `/admin/delete_topics` that the controller carries out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::ResponseError;

use super::context::BrokerServices;
use crate::assignment::{AssignmentError, assign_replicas_randomly};
use crate::replica::wait_for;
use crate::zk::ZkError;

/// Kafka's longest legal topic name.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// Why a topic could not be created: the Kafka error and a message for the client.
#[derive(Debug, Clone)]
pub struct TopicAdminError {
    pub error: ResponseError,
    pub message: String,
}

impl TopicAdminError {
    fn new(error: ResponseError, message: impl Into<String>) -> TopicAdminError {
        TopicAdminError {
            error,
            message: message.into(),
        }
    }
}

/// Kafka's topic name rules: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return Err(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {name}"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-' (found {bad:?})"
        ));
    }
    Ok(())
}

/// Topics whose names differ only in `.` versus `_` collide in metric names, so Kafka refuses the second.
fn collides(a: &str, b: &str) -> bool {
    a != b && a.replace('.', "_") == b.replace('.', "_")
}

/// What CreateTopics (or auto-creation) asks for, with defaults resolved.
pub struct NewTopic {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i16,
    /// Explicit assignment (partition -> replicas); empty means "pick one".
    pub assignment: BTreeMap<i32, Vec<i32>>,
    pub configs: BTreeMap<String, String>,
}

/// Validates and (unless `validate_only`) writes the topic's znodes.
/// Returns the assignment and the topic id written.
pub async fn create_topic(
    services: &BrokerServices,
    topic: &NewTopic,
    validate_only: bool,
) -> Result<BTreeMap<i32, Vec<i32>>, TopicAdminError> {
    validate_topic_name(&topic.name)
        .map_err(|m| TopicAdminError::new(ResponseError::InvalidTopicException, m))?;
    let zk_error =
        |e: ZkError| TopicAdminError::new(ResponseError::UnknownServerError, e.to_string());
    let existing = services.zk.get_all_topics().await.map_err(zk_error)?;
    if existing.iter().any(|t| t == &topic.name) {
        return Err(TopicAdminError::new(
            ResponseError::TopicAlreadyExists,
            format!("Topic '{}' already exists.", topic.name),
        ));
    }
    if let Some(other) = existing.iter().find(|t| collides(t, &topic.name)) {
        return Err(TopicAdminError::new(
            ResponseError::InvalidTopicException,
            format!(
                "Topic '{}' collides with existing topic: {other}",
                topic.name
            ),
        ));
    }
    for (key, value) in &topic.configs {
        crate::config::dynamic::validate_topic_config(key, value)
            .map_err(|m| TopicAdminError::new(ResponseError::InvalidConfig, m))?;
    }
    let assignment = if topic.assignment.is_empty() {
        let brokers = services.zk.get_all_broker_ids().await.map_err(zk_error)?;
        if topic.replication_factor <= 0 {
            return Err(TopicAdminError::new(
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0.",
            ));
        }
        assign_replicas_randomly(
            &brokers,
            topic.partitions,
            topic.replication_factor as usize,
            0,
        )
        .map_err(|e| match e {
            AssignmentError::PartitionsTooFew => TopicAdminError::new(
                ResponseError::InvalidPartitions,
                "Number of partitions must be larger than 0.",
            ),
            other => {
                TopicAdminError::new(ResponseError::InvalidReplicationFactor, other.to_string())
            }
        })?
    } else {
        validate_manual_assignment(&topic.assignment)?;
        topic.assignment.clone()
    };
    if validate_only {
        return Ok(assignment);
    }
    let (topic_id, _) = crate::zk::new_kafka_uuid();
    // Writes /config/topics/<t> (the overrides, possibly none) first, as
    // Kafka's AdminZkClient does, then the assignment.
    match services
        .zk
        .create_topic_with_config(&topic.name, &assignment, &topic_id, &topic.configs)
        .await
    {
        Ok(()) => {}
        Err(ZkError::NodeExists { .. }) => {
            return Err(TopicAdminError::new(
                ResponseError::TopicAlreadyExists,
                format!("Topic '{}' already exists.", topic.name),
            ));
        }
        Err(e) => return Err(zk_error(e)),
    }
    tracing::info!(topic = %topic.name, partitions = assignment.len(), "created topic");
    Ok(assignment)
}

fn validate_manual_assignment(assignment: &BTreeMap<i32, Vec<i32>>) -> Result<(), TopicAdminError> {
    let expected: Vec<i32> = (0..assignment.len() as i32).collect();
    if assignment.keys().copied().collect::<Vec<_>>() != expected {
        return Err(TopicAdminError::new(
            ResponseError::InvalidReplicaAssignment,
            "Partitions should be consecutive and start from 0.",
        ));
    }
    let rf = assignment.values().next().map(Vec::len).unwrap_or(0);
    for replicas in assignment.values() {
        let mut distinct = replicas.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if replicas.is_empty() || distinct.len() != replicas.len() || replicas.len() != rf {
            return Err(TopicAdminError::new(
                ResponseError::InvalidReplicaAssignment,
                "Replica assignments must be non-empty, distinct and of equal size.",
            ));
        }
    }
    Ok(())
}

/// Auto-creation on Metadata/Produce for an unknown topic, with the broker's
/// defaults, when auto.create.topics.enable; runs in the background, at
/// most one creation per topic at a time and a bounded number in all
/// (`auto_creations.rs`). True when the topic is (being) created: the client
/// gets LEADER_NOT_AVAILABLE and retries.
pub fn maybe_auto_create(services: &Arc<BrokerServices>, name: &str) -> bool {
    if !services.config.auto_create_topics_enable || validate_topic_name(name).is_err() {
        return false;
    }
    let Some(slot) = services.auto_creations.begin(name) else {
        // Already being created, or too many creations at once: retry later.
        return true;
    };
    let topic = NewTopic {
        name: name.to_owned(),
        partitions: services.config.num_partitions,
        replication_factor: services.config.default_replication_factor as i16,
        assignment: BTreeMap::new(),
        configs: BTreeMap::new(),
    };
    let services = services.clone();
    tokio::spawn(async move {
        let _slot = slot;
        tracing::info!(topic = %topic.name, "auto-creating topic");
        match create_topic(&services, &topic, false).await {
            Ok(_) => tracing::info!(topic = %topic.name, "auto-created topic"),
            Err(e) if e.error == ResponseError::TopicAlreadyExists => {}
            Err(e) => {
                tracing::warn!(topic = %topic.name, error = %e.message, "auto-creation failed")
            }
        }
    });
    true
}

/// Waits until every partition of `topic` has a leader in the metadata cache.
pub async fn wait_for_leaders(
    services: &BrokerServices,
    topic: &str,
    partitions: usize,
    timeout: Duration,
) -> bool {
    wait_for(services.metadata.subscribe(), timeout, || {
        let snapshot = services.metadata.snapshot();
        let t = snapshot.topics.get(topic)?;
        (t.partitions.len() >= partitions && t.partitions.values().all(|p| p.leader >= 0))
            .then_some(())
    })
    .await
    .is_some()
}

/// Waits until `topic` is gone from the metadata cache.
pub async fn wait_for_deletion(services: &BrokerServices, topic: &str, timeout: Duration) -> bool {
    wait_for(services.metadata.subscribe(), timeout, || {
        (!services.metadata.snapshot().topics.contains_key(topic)).then_some(())
    })
    .await
    .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_names_follow_kafka_rules() {
        assert!(validate_topic_name("orders.v1_x-2").is_ok());
        assert!(validate_topic_name("").is_err());
        assert!(validate_topic_name(".").is_err());
        assert!(validate_topic_name("..").is_err());
        assert!(validate_topic_name("has space").is_err());
        assert!(validate_topic_name("slash/").is_err());
        assert!(validate_topic_name(&"a".repeat(249)).is_ok());
        assert!(validate_topic_name(&"a".repeat(250)).is_err());
        assert!(collides("a.b", "a_b"));
        assert!(!collides("a.b", "a.b"));
        assert!(!collides("a.b", "a-b"));
    }

    #[test]
    fn manual_assignments_must_be_consecutive_distinct_and_even() {
        let ok: BTreeMap<i32, Vec<i32>> = [(0, vec![1, 2]), (1, vec![2, 1])].into();
        assert!(validate_manual_assignment(&ok).is_ok());
        let gap: BTreeMap<i32, Vec<i32>> = [(0, vec![1]), (2, vec![1])].into();
        assert!(validate_manual_assignment(&gap).is_err());
        let dup: BTreeMap<i32, Vec<i32>> = [(0, vec![1, 1])].into();
        assert!(validate_manual_assignment(&dup).is_err());
    }
}
