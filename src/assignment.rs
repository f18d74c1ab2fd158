//! Replica assignment for new topics and partitions and for
//! `sluice reassign-partitions --generate`: Kafka's rack-unaware scheme.
//! Leaders (first replicas) go round-robin from a random broker; followers
//! follow at a shift that changes every full round, so replicas of
//! consecutive partitions spread over different brokers. A leaf room: the
//! controller, the server's topic admin and the tools all use it.

use std::collections::BTreeMap;

use crate::model::BrokerId;

/// The most partitions one topic may have. Kafka has no such key, but a
/// topic's assignment lives in one znode, which ZooKeeper's default 1 MB
/// `jute.maxbuffer` caps at well under this many; refusing more keeps a
/// request for billions of partitions from building its assignment in
/// memory.
pub const MAX_PARTITIONS_PER_TOPIC: i32 = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    #[error("replication factor must be larger than 0")]
    ReplicationFactorTooSmall,
    #[error("number of partitions must be larger than 0")]
    PartitionsTooFew,
    #[error("{partitions} partitions is more than a topic may have ({MAX_PARTITIONS_PER_TOPIC})")]
    PartitionsTooMany { partitions: i64 },
    #[error("replication factor: {replication_factor} larger than available brokers: {brokers}")]
    NotEnoughBrokers {
        replication_factor: usize,
        brokers: usize,
    },
}

/// Assigns `partitions` partitions numbered from `first_partition`, with the
/// randomness (start index, first shift) passed in so tests can fix it.
pub fn assign_replicas(
    brokers: &[BrokerId],
    partitions: i32,
    replication_factor: usize,
    first_partition: i32,
    start_index: usize,
    first_shift: usize,
) -> Result<BTreeMap<i32, Vec<BrokerId>>, AssignmentError> {
    if replication_factor == 0 {
        return Err(AssignmentError::ReplicationFactorTooSmall);
    }
    if partitions <= 0 {
        return Err(AssignmentError::PartitionsTooFew);
    }
    let total = i64::from(first_partition) + i64::from(partitions);
    if total > i64::from(MAX_PARTITIONS_PER_TOPIC) {
        return Err(AssignmentError::PartitionsTooMany { partitions: total });
    }
    if replication_factor > brokers.len() {
        return Err(AssignmentError::NotEnoughBrokers {
            replication_factor,
            brokers: brokers.len(),
        });
    }
    let mut sorted = brokers.to_vec();
    sorted.sort_unstable();
    let n = sorted.len();
    let mut shift = first_shift % n;
    let mut assignment = BTreeMap::new();
    for partition in first_partition..first_partition + partitions {
        if partition > 0 && (partition as usize).is_multiple_of(n) {
            shift += 1;
        }
        let first = (partition as usize + start_index) % n;
        let mut replicas = Vec::with_capacity(replication_factor);
        replicas.push(sorted[first]);
        for j in 0..replication_factor - 1 {
            let step = 1 + (shift + j) % (n - 1);
            replicas.push(sorted[(first + step) % n]);
        }
        assignment.insert(partition, replicas);
    }
    Ok(assignment)
}

/// `assign_replicas` with Kafka's random start.
pub fn assign_replicas_randomly(
    brokers: &[BrokerId],
    partitions: i32,
    replication_factor: usize,
    first_partition: i32,
) -> Result<BTreeMap<i32, Vec<BrokerId>>, AssignmentError> {
    let n = brokers.len().max(1);
    let start = rand::random_range(0..n);
    let shift = rand::random_range(0..n);
    assign_replicas(
        brokers,
        partitions,
        replication_factor,
        first_partition,
        start,
        shift,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids;

    #[test]
    fn spreads_leaders_and_followers_evenly() {
        let a = assign_replicas(&ids(&[1, 2, 3]), 6, 3, 0, 0, 0).unwrap();
        let leaders: Vec<BrokerId> = a.values().map(|r| r[0]).collect();
        assert_eq!(leaders, ids(&[1, 2, 3, 1, 2, 3]));
        for replicas in a.values() {
            let mut r = replicas.clone();
            r.sort();
            r.dedup();
            assert_eq!(r.len(), 3, "replicas distinct: {replicas:?}");
        }
        // The follower shift changes after a full round.
        assert_ne!(a[&0][1].0 - a[&0][0].0, a[&3][1].0 - a[&3][0].0);
    }

    #[test]
    fn single_broker_and_errors() {
        let a = assign_replicas(&ids(&[7]), 3, 1, 0, 0, 0).unwrap();
        assert_eq!(a.values().cloned().collect::<Vec<_>>(), vec![ids(&[7]); 3]);
        assert_eq!(
            assign_replicas(&ids(&[1, 2]), 1, 3, 0, 0, 0),
            Err(AssignmentError::NotEnoughBrokers {
                replication_factor: 3,
                brokers: 2
            })
        );
        assert!(assign_replicas(&ids(&[1]), 0, 1, 0, 0, 0).is_err());
        assert!(assign_replicas_randomly(&ids(&[1, 2, 3]), 10, 2, 0).is_ok());
    }

    #[test]
    fn a_topic_of_more_partitions_than_a_znode_holds_is_refused_before_assigning() {
        let brokers = ids(&[1, 2, 3]);
        assert_eq!(
            assign_replicas(&brokers, 1 << 30, 3, 0, 0, 0),
            Err(AssignmentError::PartitionsTooMany {
                partitions: 1 << 30
            })
        );
        assert_eq!(
            assign_replicas(&brokers, i32::MAX, 1, 10, 0, 0),
            Err(AssignmentError::PartitionsTooMany {
                partitions: i64::from(i32::MAX) + 10
            }),
            "no i32 overflow past the existing partitions"
        );
        let most = assign_replicas(&brokers, MAX_PARTITIONS_PER_TOPIC, 1, 0, 0, 0).unwrap();
        assert_eq!(most.len(), MAX_PARTITIONS_PER_TOPIC as usize);
    }
}
