//! Unit tests of the controller context's value types: a partition's
//! replica assignment while it is being reassigned.

use super::*;

fn settled(replicas: &[i32]) -> ReplicaAssignment {
    ReplicaAssignment {
        replicas: replicas.to_vec(),
        ..Default::default()
    }
}

#[test]
fn reassign_to_puts_the_target_first_and_tracks_adding_and_removing() {
    let moving = settled(&[1, 2]).reassign_to(&[2, 3]);
    assert_eq!(moving.replicas, vec![2, 3, 1]);
    assert_eq!(moving.adding, vec![3]);
    assert_eq!(moving.removing, vec![1]);
    assert_eq!(moving.origin_replicas(), vec![2, 1]);
    assert_eq!(moving.target_replicas(), vec![2, 3]);
    // Replacing an in-flight reassignment starts again from the original replicas.
    let replaced = moving.reassign_to(&[4]);
    assert_eq!(replaced.replicas, vec![4, 2, 1]);
    assert_eq!(replaced.adding, vec![4]);
    assert_eq!(replaced.removing, vec![2, 1]);
    // Cancelling: back to the original replicas, nothing in flight.
    let cancelled = moving.reassign_to(&moving.origin_replicas());
    assert!(!cancelled.is_being_reassigned());
    assert_eq!(cancelled.replicas, vec![2, 1]);
}
