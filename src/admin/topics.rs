//! Topic administration as any ZK-mode Kafka broker does it (Kafka's
//! AdminZkClient and ZkAdminManager): validate the name, pick a replica
//! assignment, write `/brokers/topics/<t>` (and `/config/topics/<t>` for
//! overrides); the controller notices the new znode and elects leaders. New
//! partitions of an existing topic rewrite its znode with the existing
//! partitions untouched (`controller/partition_modifications.rs` brings
//! them online). Deletion is a request node under `/admin/delete_topics`
//! that the controller carries out. Also the waits for leaders and for a
//! deletion in the metadata cache that CreateTopics, CreatePartitions and
//! DeleteTopics answer after.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::admin::AdminError;
use crate::assignment::{AssignmentError, assign_replicas, assign_replicas_randomly};
use crate::metadata::MetadataCache;
use crate::model::{BrokerId, LeaderAndIsr};
use crate::replica::wait_for;
use crate::zk::{ZkClient, ZkError, paths};

/// Kafka's longest legal topic name.
pub const MAX_TOPIC_NAME_LENGTH: usize = 249;

/// How often a topic znode write is retried after losing a version race.
const WRITE_ATTEMPTS: usize = 3;

/// Kafka's topic name rules: 1-249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
pub fn validate_topic_name(name: &str) -> Result<(), AdminError> {
    let invalid = |reason: String| {
        Err(AdminError::InvalidTopicName {
            topic: name.to_owned(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("Topic name is illegal, it can't be empty".into());
    }
    if name == "." || name == ".." {
        return invalid("Topic name cannot be \".\" or \"..\"".into());
    }
    if name.len() > MAX_TOPIC_NAME_LENGTH {
        return invalid(format!(
            "Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} characters, topic name: {name}"
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return invalid(format!(
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
    pub assignment: BTreeMap<i32, Vec<BrokerId>>,
    pub configs: BTreeMap<String, String>,
}

/// Validates and (unless `validate_only`) writes the topic's znodes.
/// Returns the assignment written (or that would be).
pub async fn create_topic(
    zk: &ZkClient,
    topic: &NewTopic,
    validate_only: bool,
) -> Result<BTreeMap<i32, Vec<BrokerId>>, AdminError> {
    validate_topic_name(&topic.name)?;
    let name = || topic.name.clone();
    let existing = zk.get_all_topics().await?;
    if existing.iter().any(|t| t == &topic.name) {
        return Err(AdminError::TopicAlreadyExists { topic: name() });
    }
    if let Some(other) = existing.iter().find(|t| collides(t, &topic.name)) {
        return Err(AdminError::TopicCollision {
            topic: name(),
            existing: other.clone(),
        });
    }
    for (key, value) in &topic.configs {
        crate::config::dynamic::validate_topic_config(key, value).map_err(|reason| {
            AdminError::InvalidConfig {
                key: key.clone(),
                reason,
            }
        })?;
    }
    let assignment = if topic.assignment.is_empty() {
        let brokers = zk.get_all_broker_ids().await?;
        if topic.replication_factor <= 0 {
            return Err(AdminError::InvalidReplicationFactor {
                topic: name(),
                reason: "Replication factor must be larger than 0.".into(),
            });
        }
        assign_replicas_randomly(
            &brokers,
            topic.partitions,
            topic.replication_factor as usize,
            0,
        )
        .map_err(|e| match e {
            AssignmentError::PartitionsTooFew => AdminError::InvalidPartitions {
                topic: name(),
                reason: "Number of partitions must be larger than 0.".into(),
            },
            too_many @ AssignmentError::PartitionsTooMany { .. } => AdminError::InvalidPartitions {
                topic: name(),
                reason: too_many.to_string(),
            },
            other => AdminError::InvalidReplicationFactor {
                topic: name(),
                reason: other.to_string(),
            },
        })?
    } else {
        validate_manual_assignment(&topic.name, &topic.assignment)?;
        topic.assignment.clone()
    };
    if validate_only {
        return Ok(assignment);
    }
    let (topic_id, _) = crate::zk::new_kafka_uuid();
    // Writes /config/topics/<t> (the overrides, possibly none) first, as
    // Kafka's AdminZkClient does, then the assignment.
    match zk
        .create_topic_with_config(&topic.name, &assignment, &topic_id, &topic.configs)
        .await
    {
        Ok(()) => {}
        Err(ZkError::NodeExists { .. }) => {
            return Err(AdminError::TopicAlreadyExists { topic: name() });
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(topic = %topic.name, partitions = assignment.len(), "created topic");
    Ok(assignment)
}

fn validate_manual_assignment(
    topic: &str,
    assignment: &BTreeMap<i32, Vec<BrokerId>>,
) -> Result<(), AdminError> {
    let invalid = |reason: &str| {
        Err(AdminError::InvalidReplicaAssignment {
            topic: topic.to_owned(),
            reason: reason.to_owned(),
        })
    };
    let expected: Vec<i32> = (0..assignment.len() as i32).collect();
    if assignment.keys().copied().collect::<Vec<_>>() != expected {
        return invalid("Partitions should be consecutive and start from 0.");
    }
    let rf = assignment.values().next().map(Vec::len).unwrap_or(0);
    for replicas in assignment.values() {
        let mut distinct = replicas.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if replicas.is_empty() || distinct.len() != replicas.len() || replicas.len() != rf {
            return invalid("Replica assignments must be non-empty, distinct and of equal size.");
        }
    }
    Ok(())
}

/// Asks the controller to delete `topic`: writes `/admin/delete_topics/<t>`.
pub async fn request_deletion(zk: &ZkClient, topic: &str) -> Result<(), AdminError> {
    zk.create_delete_topic_request(topic).await?;
    tracing::info!(topic = %topic, "topic deletion requested");
    Ok(())
}

/// CreatePartitions for one topic (Kafka's ZkAdminManager): validates the
/// request (a known topic, not queued for deletion, not being reassigned, a
/// larger count, explicit assignments of the right size on registered
/// brokers) and, unless `validate_only`, rewrites the topic znode with the
/// new partitions added.
pub async fn create_partitions(
    zk: &ZkClient,
    name: &str,
    count: i32,
    assignments: Option<Vec<Vec<BrokerId>>>,
    validate_only: bool,
) -> Result<(), AdminError> {
    let unknown = || AdminError::UnknownTopic {
        topic: name.to_owned(),
    };
    if !paths::is_valid_segment(name) {
        return Err(unknown());
    }
    if zk.exists(&paths::admin_delete_topic(name)).await? {
        return Err(AdminError::TopicQueuedForDeletion {
            topic: name.to_owned(),
        });
    }
    let brokers = zk.get_all_broker_ids().await?;
    for _ in 0..WRITE_ATTEMPTS {
        let Some((mut znode, version)) = zk.get_topic_and_version(name).await? else {
            return Err(unknown());
        };
        if !znode.adding_replicas.is_empty() || !znode.removing_replicas.is_empty() {
            return Err(AdminError::ReassignmentInProgress {
                topic: name.to_owned(),
            });
        }
        let new = new_partitions_assignment(
            name,
            &znode.partitions,
            &brokers,
            count,
            assignments.clone(),
        )?;
        if validate_only {
            return Ok(());
        }
        znode.partitions.extend(new.clone());
        match zk.set_topic_assignment(name, &znode, version).await {
            Ok(_) => {
                tracing::info!(topic = name, partitions = ?new, "adding partitions");
                return Ok(());
            }
            Err(ZkError::BadVersion { .. }) => continue,
            Err(ZkError::NoNode { .. }) => return Err(unknown()),
            Err(e) => return Err(e.into()),
        }
    }
    Err(AdminError::TopicKeptChanging {
        topic: name.to_owned(),
    })
}

/// The assignment of the partitions to add (Kafka's
/// createNewPartitionsAssignment): explicit `assignments` validated against
/// the registered `brokers`, or the rack-unaware scheme started at partition
/// 0's first replica and numbered after the existing partitions.
fn new_partitions_assignment(
    topic: &str,
    existing: &BTreeMap<i32, Vec<BrokerId>>,
    brokers: &[BrokerId],
    count: i32,
    assignments: Option<Vec<Vec<BrokerId>>>,
) -> Result<BTreeMap<i32, Vec<BrokerId>>, AdminError> {
    let invalid_partitions = |reason: String| AdminError::InvalidPartitions {
        topic: topic.to_owned(),
        reason,
    };
    let invalid_assignment = |reason: String| AdminError::InvalidReplicaAssignment {
        topic: topic.to_owned(),
        reason,
    };
    let current = existing.len() as i32;
    let increment = count - current;
    if increment < 0 {
        return Err(invalid_partitions(format!(
            "Topic currently has {current} partitions, which is higher than the requested {count}."
        )));
    }
    if increment == 0 {
        return Err(invalid_partitions(format!(
            "Topic already has {current} partitions."
        )));
    }
    let Some(partition0) = existing.get(&0) else {
        return Err(AdminError::MissingPartitionZero {
            topic: topic.to_owned(),
        });
    };
    let available: BTreeSet<BrokerId> = brokers.iter().copied().collect();
    if let Some(assignments) = assignments {
        let unknown: BTreeSet<BrokerId> = assignments
            .iter()
            .flatten()
            .copied()
            .filter(|b| !available.contains(b))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(BrokerId::to_string).collect();
            return Err(invalid_assignment(format!(
                "Unknown broker(s) in replica assignment: {}.",
                list.join(", ")
            )));
        }
        if assignments.len() as i32 != increment {
            return Err(invalid_assignment(format!(
                "Increasing the number of partitions by {increment} but {} assignments provided.",
                assignments.len()
            )));
        }
        let mut new = BTreeMap::new();
        for (index, replicas) in assignments.into_iter().enumerate() {
            let partition = current + index as i32;
            let distinct: BTreeSet<BrokerId> = replicas.iter().copied().collect();
            if replicas.is_empty() {
                return Err(invalid_assignment(format!(
                    "Cannot have replication factor of 0 for partition id {partition}."
                )));
            }
            if distinct.len() != replicas.len() {
                return Err(invalid_assignment(format!(
                    "Duplicate brokers not allowed in replica assignment for partition id {partition}."
                )));
            }
            if replicas.len() != partition0.len() {
                return Err(invalid_assignment(format!(
                    "Inconsistent replication factor between partitions, partition 0 has {} while partition {partition} has {}.",
                    partition0.len(),
                    replicas.len()
                )));
            }
            new.insert(partition, replicas);
        }
        return Ok(new);
    }
    let sorted: Vec<BrokerId> = available.iter().copied().collect();
    let first = partition0
        .first()
        .copied()
        .unwrap_or(LeaderAndIsr::NO_LEADER);
    let start_index = sorted.iter().position(|&b| b >= first).unwrap_or(0);
    assign_replicas(
        &sorted,
        increment,
        partition0.len(),
        current,
        start_index,
        start_index,
    )
    .map_err(|e| match e {
        AssignmentError::PartitionsTooFew | AssignmentError::PartitionsTooMany { .. } => {
            invalid_partitions(e.to_string())
        }
        other => AdminError::InvalidReplicationFactor {
            topic: topic.to_owned(),
            reason: other.to_string(),
        },
    })
}

/// Waits until every partition of `topic` has a leader in the metadata cache.
pub async fn wait_for_leaders(
    metadata: &MetadataCache,
    topic: &str,
    partitions: usize,
    timeout: Duration,
) -> bool {
    wait_for(metadata.subscribe(), timeout, || {
        let snapshot = metadata.snapshot();
        let t = snapshot.topics.get(topic)?;
        (t.partitions.len() >= partitions && t.partitions.values().all(|p| p.leader.is_valid()))
            .then_some(())
    })
    .await
    .is_some()
}

/// Waits until `topic` is gone from the metadata cache.
pub async fn wait_for_deletion(metadata: &MetadataCache, topic: &str, timeout: Duration) -> bool {
    wait_for(metadata.subscribe(), timeout, || {
        (!metadata.snapshot().topics.contains_key(topic)).then_some(())
    })
    .await
    .is_some()
}

#[cfg(test)]
#[path = "topics_tests.rs"]
mod tests;
