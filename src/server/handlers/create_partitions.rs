//! CreatePartitions (key 37), versions 0-3: adds partitions to existing
//! topics as Kafka's ZooKeeper-mode admin manager does. Only the active
//! controller serves it (NOT_CONTROLLER elsewhere, so clients retry there).
//! Each topic is validated (known, not queued for deletion, not being
//! reassigned, a larger count, explicit assignments of the right size on
//! registered brokers), new partitions get Kafka's rack-unaware assignment
//! continuing from partition 0's first replica, and the topic znode is
//! rewritten with the existing partitions untouched. The controller sees the
//! change (`controller/partition_modifications.rs`) and elects leaders; the
//! answer waits for them up to `timeout_ms`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::assignment::{AssignmentError, assign_replicas};
use crate::server::context::BrokerServices;
use crate::server::dispatch::RequestContext;
use crate::server::errors::NONE;
use crate::server::topic_admin::{TopicAdminError, wait_for_leaders};
use crate::zk::{ZkError, paths};

pub const VERSIONS: (i16, i16) = (0, 3);

/// How often a topic znode write is retried after losing a version race.
const WRITE_ATTEMPTS: usize = 3;

pub async fn handle(
    services: &BrokerServices,
    _ctx: &RequestContext,
    request: CreatePartitionsRequest,
) -> Option<CreatePartitionsResponse> {
    let timeout = Duration::from_millis(request.timeout_ms.max(0) as u64);
    let result = |name: &kafka_protocol::messages::TopicName, error: i16, message| {
        CreatePartitionsTopicResult::default()
            .with_name(name.clone())
            .with_error_code(error)
            .with_error_message(message)
    };
    if !services.controller.is_active_once_started(timeout).await {
        let results = request
            .topics
            .iter()
            .map(|t| result(&t.name, ResponseError::NotController.code(), None))
            .collect();
        return Some(CreatePartitionsResponse::default().with_results(results));
    }
    let mut seen = BTreeSet::new();
    let duplicates: BTreeSet<String> = request
        .topics
        .iter()
        .map(|t| t.name.0.to_string())
        .filter(|n| !seen.insert(n.clone()))
        .collect();
    let mut results = Vec::with_capacity(request.topics.len());
    let mut added = Vec::new();
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        if duplicates.contains(&name) {
            if !results
                .iter()
                .any(|r: &CreatePartitionsTopicResult| r.name == topic.name)
            {
                results.push(result(
                    &topic.name,
                    ResponseError::InvalidRequest.code(),
                    Some(StrBytes::from_static_str("Duplicate topic in request.")),
                ));
            }
            continue;
        }
        match create_partitions(services, topic, request.validate_only).await {
            Ok(()) => {
                if !request.validate_only {
                    added.push((results.len(), name, topic.count.max(0) as usize));
                }
                results.push(result(&topic.name, NONE, None));
            }
            Err(e) => results.push(result(
                &topic.name,
                e.error.code(),
                Some(StrBytes::from_string(e.message)),
            )),
        }
    }
    let deadline = tokio::time::Instant::now() + timeout;
    for (index, name, partitions) in added {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() || !wait_for_leaders(services, &name, partitions, left).await {
            // Kafka answers REQUEST_TIMED_OUT; the partitions still come up.
            results[index].error_code = ResponseError::RequestTimedOut.code();
        }
    }
    Some(CreatePartitionsResponse::default().with_results(results))
}

fn admin_error(error: ResponseError, message: impl Into<String>) -> TopicAdminError {
    TopicAdminError {
        error,
        message: message.into(),
    }
}

/// Validates one topic's request and (unless `validate_only`) writes the new assignment.
async fn create_partitions(
    services: &BrokerServices,
    request: &CreatePartitionsTopic,
    validate_only: bool,
) -> Result<(), TopicAdminError> {
    let name = request.name.0.as_str();
    let zk_error = |e: ZkError| admin_error(ResponseError::UnknownServerError, e.to_string());
    if !crate::zk::paths::is_valid_segment(name) {
        return Err(admin_error(
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{name}' does not exist."),
        ));
    }
    if services
        .zk
        .exists(&paths::admin_delete_topic(name))
        .await
        .map_err(zk_error)?
    {
        return Err(admin_error(
            ResponseError::InvalidTopicException,
            "The topic is queued for deletion.",
        ));
    }
    let brokers = services.zk.get_all_broker_ids().await.map_err(zk_error)?;
    for _ in 0..WRITE_ATTEMPTS {
        let Some((mut znode, version)) = services
            .zk
            .get_topic_and_version(name)
            .await
            .map_err(zk_error)?
        else {
            return Err(admin_error(
                ResponseError::UnknownTopicOrPartition,
                format!("The topic '{name}' does not exist."),
            ));
        };
        if !znode.adding_replicas.is_empty() || !znode.removing_replicas.is_empty() {
            return Err(admin_error(
                ResponseError::ReassignmentInProgress,
                format!("A partition reassignment is in progress for the topic '{name}'."),
            ));
        }
        let new = new_partitions_assignment(
            name,
            &znode.partitions,
            &brokers,
            request.count,
            request.assignments.as_ref().map(|list| {
                list.iter()
                    .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                    .collect()
            }),
        )?;
        if validate_only {
            return Ok(());
        }
        znode.partitions.extend(new.clone());
        match services
            .zk
            .set_topic_assignment(name, &znode, version)
            .await
        {
            Ok(_) => {
                tracing::info!(topic = name, partitions = ?new, "adding partitions");
                return Ok(());
            }
            Err(ZkError::BadVersion { .. }) => continue,
            Err(ZkError::NoNode { .. }) => {
                return Err(admin_error(
                    ResponseError::UnknownTopicOrPartition,
                    format!("The topic '{name}' does not exist."),
                ));
            }
            Err(e) => return Err(zk_error(e)),
        }
    }
    Err(admin_error(
        ResponseError::UnknownServerError,
        format!("The topic '{name}' kept changing while partitions were added; retry."),
    ))
}

/// The assignment of the partitions to add (Kafka's
/// createNewPartitionsAssignment): explicit `assignments` validated against
/// the registered `brokers`, or the rack-unaware scheme started at partition
/// 0's first replica and numbered after the existing partitions.
fn new_partitions_assignment(
    topic: &str,
    existing: &BTreeMap<i32, Vec<i32>>,
    brokers: &[i32],
    count: i32,
    assignments: Option<Vec<Vec<i32>>>,
) -> Result<BTreeMap<i32, Vec<i32>>, TopicAdminError> {
    let current = existing.len() as i32;
    let increment = count - current;
    if increment < 0 {
        return Err(admin_error(
            ResponseError::InvalidPartitions,
            format!(
                "Topic currently has {current} partitions, which is higher than the requested {count}."
            ),
        ));
    }
    if increment == 0 {
        return Err(admin_error(
            ResponseError::InvalidPartitions,
            format!("Topic already has {current} partitions."),
        ));
    }
    let Some(partition0) = existing.get(&0) else {
        return Err(admin_error(
            ResponseError::UnknownServerError,
            format!(
                "Unexpected existing replica assignment for topic '{topic}', partition id 0 is missing."
            ),
        ));
    };
    let available: BTreeSet<i32> = brokers.iter().copied().collect();
    if let Some(assignments) = assignments {
        let unknown: BTreeSet<i32> = assignments
            .iter()
            .flatten()
            .copied()
            .filter(|b| !available.contains(b))
            .collect();
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.iter().map(i32::to_string).collect();
            return Err(admin_error(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Unknown broker(s) in replica assignment: {}.",
                    list.join(", ")
                ),
            ));
        }
        if assignments.len() as i32 != increment {
            return Err(admin_error(
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Increasing the number of partitions by {increment} but {} assignments provided.",
                    assignments.len()
                ),
            ));
        }
        let mut new = BTreeMap::new();
        for (index, replicas) in assignments.into_iter().enumerate() {
            let partition = current + index as i32;
            let distinct: BTreeSet<i32> = replicas.iter().copied().collect();
            if replicas.is_empty() {
                return Err(admin_error(
                    ResponseError::InvalidReplicaAssignment,
                    format!("Cannot have replication factor of 0 for partition id {partition}."),
                ));
            }
            if distinct.len() != replicas.len() {
                return Err(admin_error(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Duplicate brokers not allowed in replica assignment for partition id {partition}."
                    ),
                ));
            }
            if replicas.len() != partition0.len() {
                return Err(admin_error(
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "Inconsistent replication factor between partitions, partition 0 has {} while partition {partition} has {}.",
                        partition0.len(),
                        replicas.len()
                    ),
                ));
            }
            new.insert(partition, replicas);
        }
        return Ok(new);
    }
    let sorted: Vec<i32> = available.iter().copied().collect();
    let first = partition0.first().copied().unwrap_or(-1);
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
        AssignmentError::PartitionsTooFew => {
            admin_error(ResponseError::InvalidPartitions, e.to_string())
        }
        other => admin_error(ResponseError::InvalidReplicationFactor, other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn existing() -> BTreeMap<i32, Vec<i32>> {
        [(0, vec![2, 3]), (1, vec![3, 1])].into()
    }

    #[test]
    fn counts_must_grow() {
        let e = new_partitions_assignment("t", &existing(), &[1, 2, 3], 2, None).unwrap_err();
        assert_eq!(e.error, ResponseError::InvalidPartitions);
        let e = new_partitions_assignment("t", &existing(), &[1, 2, 3], 1, None).unwrap_err();
        assert_eq!(e.error, ResponseError::InvalidPartitions);
    }

    #[test]
    fn automatic_assignment_continues_kafkas_scheme() {
        let new = new_partitions_assignment("t", &existing(), &[1, 2, 3], 5, None).unwrap();
        assert_eq!(new.keys().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        // Kafka: start index = position of partition 0's leader (2) = 1, and
        // partition p leads at (p + 1) % 3: partitions 2, 3, 4 lead at 1, 2, 3.
        let leaders: Vec<i32> = new.values().map(|r| r[0]).collect();
        assert_eq!(leaders, vec![1, 2, 3]);
        assert!(new.values().all(|r| r.len() == 2 && r[0] != r[1]));
    }

    #[test]
    fn explicit_assignments_are_checked() {
        let ok = new_partitions_assignment("t", &existing(), &[1, 2, 3], 3, Some(vec![vec![1, 2]]));
        assert_eq!(ok.unwrap(), BTreeMap::from([(2, vec![1, 2])]));
        for bad in [
            vec![vec![1, 9]],
            vec![vec![1]],
            vec![vec![1, 1]],
            vec![vec![1, 2], vec![2, 3]],
        ] {
            let e = new_partitions_assignment("t", &existing(), &[1, 2, 3], 3, Some(bad.clone()))
                .unwrap_err();
            assert_eq!(e.error, ResponseError::InvalidReplicaAssignment, "{bad:?}");
        }
    }
}
