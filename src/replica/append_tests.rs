//! `ReplicaManager::append_records`: the checks before any append, offsets
//! and log start in request order, and the acks=all wait on the ISR, also
//! split in its two halves (`append_to_logs`, `wait_for_replicas`).

use crate::model::off;
use std::collections::HashMap;

use uuid::Uuid;

use super::*;
use crate::log::test_util::batch;
use crate::log::{LogConfig, LogManager};
use crate::model::LeaderAndIsr;
use crate::model::{BrokerId, LeaderEpoch, ids};
use crate::replica::{PartitionStateUpdate, ReplicationSettings};

/// Broker 1's replica manager leading t-0 of `replicas` (all in sync) at
/// leader epoch 0: the fixture of this file and `fetch_tests.rs`.
pub(in crate::replica) fn leading_manager(
    dir: &std::path::Path,
    replicas: &[i32],
) -> Arc<ReplicaManager> {
    let logs = LogManager::startup(&[dir.to_path_buf()], LogConfig::default()).unwrap();
    let manager = Arc::new(ReplicaManager::new(
        BrokerId(1),
        Arc::new(logs),
        LogConfig::default(),
        1,
        ReplicationSettings::default(),
        HashMap::new(),
    ));
    let update = PartitionStateUpdate {
        tp: t0(),
        topic_id: Uuid::nil(),
        leader_and_isr: LeaderAndIsr {
            leader: BrokerId(1),
            leader_epoch: LeaderEpoch::new(0),
            isr: ids(replicas),
            zk_version: 0,
        },
        replicas: ids(replicas),
        min_insync_replicas: None,
    };
    let outcome = manager
        .become_leader_or_follower(1, vec![update], &HashMap::new())
        .unwrap();
    assert!(outcome.iter().all(|(_, result)| result.is_ok()));
    manager
}

pub(in crate::replica) fn t0() -> TopicPartition {
    TopicPartition::new("t", 0)
}

pub(in crate::replica) fn entry(tp: TopicPartition, records: Option<Vec<u8>>) -> ProduceEntry {
    ProduceEntry {
        tp,
        records: records.map(Bytes::from),
        in_metadata: true,
    }
}

pub(in crate::replica) fn params(required_acks: i16, timeout: Duration) -> AppendParams {
    AppendParams {
        required_acks,
        timeout,
        produce_version: 9,
    }
}

/// Appends `count` records to t-0 of `manager` with acks=1 (a fixture of
/// the fetch tests too).
pub(in crate::replica) async fn produce(manager: &Arc<ReplicaManager>, count: usize) {
    let results = manager
        .append_records(
            params(1, Duration::ZERO),
            vec![entry(t0(), Some(batch(0, count)))],
        )
        .await;
    assert!(results[0].error.is_none());
}

#[tokio::test]
async fn appends_answer_offsets_and_log_start_in_request_order() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1]);
    let unknown = TopicPartition::new("other", 0);
    let entries = vec![
        entry(t0(), Some(batch(0, 3))),
        entry(unknown.clone(), Some(batch(0, 1))),
        entry(t0(), Some(batch(0, 2))),
    ];
    let results = manager
        .append_records(params(1, Duration::ZERO), entries)
        .await;
    let answers: Vec<_> = results
        .iter()
        .map(|r| {
            (
                r.tp.clone(),
                r.base_offset,
                r.log_start_offset,
                r.error.is_some(),
            )
        })
        .collect();
    assert_eq!(
        answers,
        [
            (t0(), off(0), off(0), false),
            (unknown, Offset::UNKNOWN, Offset::UNKNOWN, true),
            (t0(), off(3), off(0), false),
        ]
    );
    assert!(results[1].is_unknown_partition());
    assert!(
        results[1].error_message.is_some(),
        "a failed append says why"
    );
    assert!(!results[0].is_unknown_partition());
    let partition = manager.get_partition(&t0()).unwrap();
    assert_eq!(partition.log().log_end_offset(), off(5));
}

#[tokio::test]
async fn refused_records_and_acks_are_never_appended() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1]);
    let results = manager
        .append_records(
            params(2, Duration::ZERO),
            vec![entry(t0(), Some(batch(0, 1)))],
        )
        .await;
    assert!(matches!(
        results[0].error,
        Some(ReplicaError::InvalidRequiredAcks(2))
    ));

    let mut two_batches = batch(0, 1);
    two_batches.extend(batch(0, 1));
    let results = manager
        .append_records(
            params(1, Duration::ZERO),
            vec![entry(t0(), None), entry(t0(), Some(two_batches))],
        )
        .await;
    for (result, expected) in results.iter().zip([
        ProduceRecordsError::NoBatch(9),
        ProduceRecordsError::NotOneBatch(9),
    ]) {
        match &result.error {
            Some(ReplicaError::InvalidProduceRecords { source, .. }) => {
                assert_eq!(source, &expected)
            }
            other => panic!("expected refused records, got {other:?}"),
        }
        assert_eq!(result.base_offset, off(-1));
        assert!(result.error_message.is_none(), "as Kafka: no message");
    }
    let partition = manager.get_partition(&t0()).unwrap();
    assert_eq!(partition.log().log_end_offset(), off(0), "nothing appended");
}

#[tokio::test]
async fn acks_all_waits_until_the_isr_has_the_append() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1, 2]);
    let partition = manager.get_partition(&t0()).unwrap();
    let producing = {
        let manager = manager.clone();
        tokio::spawn(async move {
            let entries = vec![entry(t0(), Some(batch(0, 3)))];
            manager
                .append_records(params(-1, Duration::from_secs(60)), entries)
                .await
        })
    };
    // One thread: yielding lets the produce run up to its wait.
    for _ in 0..1000 {
        if partition.log().log_end_offset() == off(3) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(partition.log().log_end_offset(), off(3), "appended");
    assert!(!producing.is_finished(), "waits for follower 2");
    assert!(manager.record_follower_fetch(&t0(), BrokerId(2), off(3), LeaderEpoch::new(0)));
    let results = producing.await.unwrap();
    assert!(results[0].error.is_none(), "{:?}", results[0].error);
    assert_eq!(results[0].base_offset, off(0));
}

#[tokio::test]
async fn a_failed_acks_all_wait_keeps_the_append_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1, 2]);
    let entries = vec![entry(t0(), Some(batch(0, 3)))];
    let results = manager
        .append_records(params(-1, Duration::ZERO), entries)
        .await;
    assert!(matches!(
        results[0].error,
        Some(ReplicaError::RequestTimedOut(_))
    ));
    assert_eq!(
        (results[0].base_offset, results[0].log_start_offset),
        (off(0), off(0))
    );
    assert!(results[0].error_message.is_none());
}

#[tokio::test]
async fn appends_of_a_second_request_go_in_while_the_first_waits_for_the_isr() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1, 2]);
    let first = manager
        .append_to_logs(
            params(-1, Duration::from_secs(60)),
            vec![entry(t0(), Some(batch(0, 3)))],
        )
        .await;
    assert!(first.awaits_replicas());
    let second = manager
        .append_to_logs(
            params(-1, Duration::from_secs(60)),
            vec![entry(t0(), Some(batch(0, 2)))],
        )
        .await;
    let partition = manager.get_partition(&t0()).unwrap();
    assert_eq!(
        partition.log().log_end_offset(),
        off(5),
        "both appended, in order"
    );
    // Follower 2 fetches from 5: both requests are replicated.
    assert!(manager.record_follower_fetch(&t0(), BrokerId(2), off(5), LeaderEpoch::new(0)));
    let first = first.wait_for_replicas(&manager).await;
    let second = second.wait_for_replicas(&manager).await;
    assert!(first[0].error.is_none() && second[0].error.is_none());
    assert_eq!(
        (first[0].base_offset, second[0].base_offset),
        (off(0), off(3))
    );
}

#[tokio::test]
async fn only_acks_all_appends_await_replicas() {
    let dir = tempfile::tempdir().unwrap();
    let manager = leading_manager(dir.path(), &[1, 2]);
    let acks_one = manager
        .append_to_logs(
            params(1, Duration::ZERO),
            vec![entry(t0(), Some(batch(0, 1)))],
        )
        .await;
    assert!(!acks_one.awaits_replicas());
    let refused = manager
        .append_to_logs(params(-1, Duration::ZERO), vec![entry(t0(), None)])
        .await;
    assert!(
        !refused.awaits_replicas(),
        "nothing appended, nothing to wait for"
    );
}
