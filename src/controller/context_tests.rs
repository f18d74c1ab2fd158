//! Unit tests of the controller context's value types: a partition's
//! replica assignment while it is being reassigned.

use super::*;
use crate::model::ids;

fn settled(replicas: &[BrokerId]) -> ReplicaAssignment {
    ReplicaAssignment {
        replicas: replicas.to_vec(),
        ..Default::default()
    }
}

#[test]
fn reassign_to_puts_the_target_first_and_tracks_adding_and_removing() {
    let moving = settled(&ids(&[1, 2])).reassign_to(&ids(&[2, 3]));
    assert_eq!(moving.replicas, ids(&[2, 3, 1]));
    assert_eq!(moving.adding, ids(&[3]));
    assert_eq!(moving.removing, ids(&[1]));
    assert_eq!(moving.origin_replicas(), ids(&[2, 1]));
    assert_eq!(moving.target_replicas(), ids(&[2, 3]));
    // Replacing an in-flight reassignment starts again from the original replicas.
    let replaced = moving.reassign_to(&ids(&[4]));
    assert_eq!(replaced.replicas, ids(&[4, 2, 1]));
    assert_eq!(replaced.adding, ids(&[4]));
    assert_eq!(replaced.removing, ids(&[2, 1]));
    // Cancelling: back to the original replicas, nothing in flight.
    let cancelled = moving.reassign_to(&moving.origin_replicas());
    assert!(!cancelled.is_being_reassigned());
    assert_eq!(cancelled.replicas, ids(&[2, 1]));
}
