//! Unit tests of the topic deletion states: a deletion completes only when
//! every replica answered, waits for offline brokers and resumes when they
//! return.

use super::*;
use crate::controller::context::{LiveBroker, TopicInfo};
use crate::model::ids;

fn tp(p: i32) -> TopicPartition {
    TopicPartition::new("t", p)
}

/// Topic `t` with partitions 0 -> [1, 2, 3] and 1 -> [2, 3, 1], queued for
/// deletion; brokers `live` are live.
fn context(live: &[i32]) -> ControllerContext {
    let mut ctx = ControllerContext::default();
    for &id in live {
        ctx.live_brokers
            .insert(BrokerId(id), LiveBroker::for_tests(BrokerId(id)));
    }
    ctx.topics.insert(
        "t".into(),
        TopicInfo {
            topic_id: uuid::Uuid::nil(),
            assignment: [(0, ids(&[1, 2, 3])), (1, ids(&[2, 3, 1]))].into(),
        },
    );
    ctx.topics_being_deleted.insert("t".into());
    ctx
}

fn sends(step: DeletionStep) -> BTreeMap<BrokerId, Vec<TopicPartition>> {
    match step {
        DeletionStep::Send(by_broker) => by_broker,
        other => panic!("expected StopReplica requests, got {other:?}"),
    }
}

fn ok(partitions: &[TopicPartition]) -> Vec<(TopicPartition, i16)> {
    partitions.iter().map(|tp| (tp.clone(), 0)).collect()
}

#[test]
fn every_live_replica_is_asked_once_and_the_topic_completes_when_all_answered() {
    let mut ctx = context(&[1, 2, 3]);
    let asked = sends(ctx.next_deletion_step("t"));
    assert_eq!(asked.keys().copied().collect::<Vec<_>>(), ids(&[1, 2, 3]));
    assert_eq!(asked[&BrokerId(1)], vec![tp(0), tp(1)]);
    // Asked once: until answers come, nothing more to do.
    assert_eq!(ctx.next_deletion_step("t"), DeletionStep::Wait);
    assert!(ctx.record_stop_replica_answer(BrokerId(1), &ok(&[tp(0), tp(1)])));
    assert!(ctx.record_stop_replica_answer(BrokerId(2), &ok(&[tp(0), tp(1)])));
    assert_eq!(ctx.next_deletion_step("t"), DeletionStep::Wait);
    assert!(ctx.record_stop_replica_answer(BrokerId(3), &ok(&[tp(0), tp(1)])));
    assert_eq!(ctx.next_deletion_step("t"), DeletionStep::Complete);
}

#[test]
fn an_offline_replica_keeps_the_deletion_pending_until_its_broker_returns() {
    let mut ctx = context(&[1, 2]);
    let asked = sends(ctx.next_deletion_step("t"));
    assert_eq!(asked.keys().copied().collect::<Vec<_>>(), ids(&[1, 2]));
    ctx.record_stop_replica_answer(BrokerId(1), &ok(&[tp(0), tp(1)]));
    ctx.record_stop_replica_answer(BrokerId(2), &ok(&[tp(0), tp(1)]));
    assert_eq!(
        ctx.next_deletion_step("t"),
        DeletionStep::Wait,
        "deleted although broker 3 never answered"
    );

    // Broker 3 registers again: its replicas are asked, then the topic completes.
    ctx.live_brokers
        .insert(BrokerId(3), LiveBroker::for_tests(BrokerId(3)));
    ctx.retry_replica_deletions_on(&ids(&[3]));
    let asked = sends(ctx.next_deletion_step("t"));
    assert_eq!(asked, [(BrokerId(3), vec![tp(0), tp(1)])].into());
    ctx.record_stop_replica_answer(BrokerId(3), &ok(&[tp(0), tp(1)]));
    assert_eq!(ctx.next_deletion_step("t"), DeletionStep::Complete);
}

#[test]
fn a_broker_dying_or_failing_mid_deletion_is_retried_when_it_returns() {
    let mut ctx = context(&[1, 2, 3]);
    sends(ctx.next_deletion_step("t"));
    // Broker 2 answers with an error for one partition; broker 3 dies.
    assert!(ctx.record_stop_replica_answer(BrokerId(2), &[(tp(0), 56), (tp(1), 0)]));
    ctx.live_brokers.remove(&BrokerId(3));
    ctx.fail_replica_deletions_on(&ids(&[3]));
    ctx.record_stop_replica_answer(BrokerId(1), &ok(&[tp(0), tp(1)]));
    // A late answer from the dead incarnation changes nothing.
    assert!(!ctx.record_stop_replica_answer(BrokerId(3), &ok(&[tp(0)])));
    assert_eq!(ctx.next_deletion_step("t"), DeletionStep::Wait);

    ctx.live_brokers
        .insert(BrokerId(3), LiveBroker::for_tests(BrokerId(3)));
    ctx.retry_replica_deletions_on(&ids(&[2, 3]));
    let asked = sends(ctx.next_deletion_step("t"));
    assert_eq!(
        asked,
        [
            (BrokerId(2), vec![tp(0)]),
            (BrokerId(3), vec![tp(0), tp(1)])
        ]
        .into()
    );
}

#[test]
fn partitions_being_reassigned_are_not_treated_as_deleting() {
    let mut ctx = context(&[1, 2, 3]);
    assert!(ctx.is_deleting(&tp(0)));
    ctx.reassigning.insert(tp(0), Default::default());
    assert!(!ctx.is_deleting(&tp(0)));
    assert!(ctx.is_deleting(&tp(1)));
}
