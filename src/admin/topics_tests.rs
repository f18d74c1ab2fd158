//! Unit tests of topic administration: Kafka's name rules, manual
//! assignments and the assignment of new partitions.

use super::*;
use crate::model::ids;

#[test]
fn topic_names_follow_kafka_rules() {
    assert!(validate_topic_name("orders.v1_x-2").is_ok());
    assert!(validate_topic_name("").is_err());
    assert!(validate_topic_name(".").is_err());
    assert!(validate_topic_name("..").is_err());
    assert!(validate_topic_name("has space").is_err());
    assert!(validate_topic_name("slash/").is_err());
    assert!(validate_topic_name(&"a".repeat(249)).is_ok());
    assert!(matches!(
        validate_topic_name(&"a".repeat(250)),
        Err(AdminError::InvalidTopicName { .. })
    ));
    assert!(collides("a.b", "a_b"));
    assert!(!collides("a.b", "a.b"));
    assert!(!collides("a.b", "a-b"));
}

#[test]
fn manual_assignments_must_be_consecutive_distinct_and_even() {
    let ok: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 2])), (1, ids(&[2, 1]))].into();
    assert!(validate_manual_assignment("t", &ok).is_ok());
    let gap: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1])), (2, ids(&[1]))].into();
    assert!(matches!(
        validate_manual_assignment("t", &gap),
        Err(AdminError::InvalidReplicaAssignment { .. })
    ));
    let dup: BTreeMap<i32, Vec<BrokerId>> = [(0, ids(&[1, 1]))].into();
    assert!(validate_manual_assignment("t", &dup).is_err());
}

fn existing() -> BTreeMap<i32, Vec<BrokerId>> {
    [(0, ids(&[2, 3])), (1, ids(&[3, 1]))].into()
}

#[test]
fn counts_must_grow() {
    let e = new_partitions_assignment("t", &existing(), &ids(&[1, 2, 3]), 2, None).unwrap_err();
    assert!(matches!(e, AdminError::InvalidPartitions { .. }), "{e:?}");
    assert_eq!(e.to_string(), "Topic already has 2 partitions.");
    let e = new_partitions_assignment("t", &existing(), &ids(&[1, 2, 3]), 1, None).unwrap_err();
    assert!(matches!(e, AdminError::InvalidPartitions { .. }), "{e:?}");
}

#[test]
fn a_topic_without_partition_zero_cannot_grow() {
    let existing: BTreeMap<i32, Vec<BrokerId>> = [(1, ids(&[1]))].into();
    let e = new_partitions_assignment("t", &existing, &ids(&[1]), 3, None).unwrap_err();
    assert!(
        matches!(e, AdminError::MissingPartitionZero { .. }),
        "{e:?}"
    );
}

#[test]
fn automatic_assignment_continues_kafkas_scheme() {
    let new = new_partitions_assignment("t", &existing(), &ids(&[1, 2, 3]), 5, None).unwrap();
    assert_eq!(new.keys().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
    // Kafka: start index = position of partition 0's leader (2) = 1, and
    // partition p leads at (p + 1) % 3: partitions 2, 3, 4 lead at 1, 2, 3.
    let leaders: Vec<BrokerId> = new.values().map(|r| r[0]).collect();
    assert_eq!(leaders, ids(&[1, 2, 3]));
    assert!(new.values().all(|r| r.len() == 2 && r[0] != r[1]));
}

#[test]
fn explicit_assignments_are_checked() {
    let ok = new_partitions_assignment(
        "t",
        &existing(),
        &ids(&[1, 2, 3]),
        3,
        Some(vec![ids(&[1, 2])]),
    );
    assert_eq!(ok.unwrap(), BTreeMap::from([(2, ids(&[1, 2]))]));
    for bad in [
        vec![ids(&[1, 9])],
        vec![ids(&[1])],
        vec![ids(&[1, 1])],
        vec![ids(&[1, 2]), ids(&[2, 3])],
    ] {
        let e = new_partitions_assignment("t", &existing(), &ids(&[1, 2, 3]), 3, Some(bad.clone()))
            .unwrap_err();
        assert!(
            matches!(e, AdminError::InvalidReplicaAssignment { .. }),
            "{bad:?}: {e:?}"
        );
    }
}
