//! The follower's session handler: full first, then only changes and
//! forgets, back to full on any session error or lost answer; and the
//! request bytes a follower of 3,000 partitions sends per fetch
//! (`cargo test --lib follower_request_bytes -- --nocapture` prints them).

use crate::model::off;
use kafka_protocol::messages::FetchResponse;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::*;
use crate::model::{BrokerId, LeaderEpoch};
use crate::replica::fetch_session::FINAL_EPOCH;
use crate::replica::fetcher::{FETCH_VERSION, fetch_request};
use crate::replica::settings::ReplicationSettings;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn at(fetch_offset: i64) -> PartitionFetchData {
    PartitionFetchData {
        fetch_offset: off(fetch_offset),
        log_start_offset: off(0),
        max_bytes: 1 << 20,
        current_leader_epoch: LeaderEpoch::new(3),
        last_fetched_epoch: LeaderEpoch::UNDEFINED,
    }
}

fn sent(built: &FetchRequestData) -> Vec<TopicPartition> {
    built.to_send.iter().map(|(tp, _)| tp.clone()).collect()
}

#[test]
fn full_first_then_only_changes_and_forgets() {
    let mut handler = FetchSessionHandler::default();
    let first = handler.build(vec![
        (tp("a", 1), at(0)),
        (tp("a", 0), at(0)),
        (tp("b", 0), at(5)),
    ]);
    assert_eq!(first.metadata, FetchMetadata::INITIAL);
    assert_eq!(sent(&first), vec![tp("a", 0), tp("a", 1), tp("b", 0)]);
    assert!(handler.handle_response(None, 77));

    // a-0 moved, a-1 left, c-0 came: only a-0 and c-0 go, a-1 is forgotten.
    let second = handler.build(vec![
        (tp("a", 0), at(4)),
        (tp("b", 0), at(5)),
        (tp("c", 0), at(0)),
    ]);
    assert_eq!(
        second.metadata,
        FetchMetadata {
            session_id: 77,
            epoch: 1
        }
    );
    assert_eq!(sent(&second), vec![tp("a", 0), tp("c", 0)]);
    assert_eq!(second.to_forget, vec![tp("a", 1)]);
    assert!(handler.handle_response(None, 77));

    // Nothing changed: an empty request in the next epoch.
    let third = handler.build(vec![
        (tp("a", 0), at(4)),
        (tp("b", 0), at(5)),
        (tp("c", 0), at(0)),
    ]);
    assert_eq!(third.metadata.epoch, 2);
    assert!(third.to_send.is_empty() && third.to_forget.is_empty());
    // A new leader epoch is a change too.
    assert!(handler.handle_response(None, 77));
    let mut epoch = at(4);
    epoch.current_leader_epoch = LeaderEpoch::new(4);
    let fourth = handler.build(vec![
        (tp("a", 0), epoch),
        (tp("b", 0), at(5)),
        (tp("c", 0), at(0)),
    ]);
    assert_eq!(sent(&fourth), vec![tp("a", 0)]);
}

#[test]
fn session_errors_and_lost_answers_fall_back_to_full_fetches() {
    let all = || vec![(tp("a", 0), at(1)), (tp("a", 1), at(1))];
    let mut handler = FetchSessionHandler::default();
    handler.build(all());
    assert!(handler.handle_response(None, 9));
    handler.build(all());

    // Unknown session: a fresh full fetch.
    assert!(!handler.handle_response(Some(SessionFailure::NotFound), 0));
    let full = handler.build(all());
    assert_eq!(full.metadata, FetchMetadata::INITIAL);
    assert_eq!(full.to_send.len(), 2);
    assert!(handler.handle_response(None, 10));

    // Wrong epoch: a full fetch that closes session 10 and opens another.
    handler.build(all());
    assert!(!handler.handle_response(Some(SessionFailure::Other), 10));
    let full = handler.build(all());
    assert_eq!(
        full.metadata,
        FetchMetadata {
            session_id: 10,
            epoch: 0
        }
    );
    assert_eq!(full.to_send.len(), 2);
    assert!(handler.handle_response(None, 11));

    // No answer at all: the same.
    handler.build(all());
    handler.handle_error();
    let full = handler.build(all());
    assert_eq!((full.metadata.session_id, full.metadata.epoch), (11, 0));
    assert_eq!(full.to_send.len(), 2);

    // The leader kept no session (full cache): full again next time.
    assert!(handler.handle_response(None, 0));
    let full = handler.build(all());
    assert_eq!(full.metadata, FetchMetadata::INITIAL);
    assert_ne!(full.metadata.epoch, FINAL_EPOCH);
}

/// 3,000 partitions: 300 topics of 10.
fn followed() -> Vec<TopicPartition> {
    (0..300)
        .flat_map(|t| (0..10).map(move |p| tp(&format!("topic-{t:03}"), p)))
        .collect()
}

fn request_bytes(request: &FetchRequest) -> usize {
    request.compute_size(FETCH_VERSION).unwrap()
}

/// The bytes of a response answering `partitions` with no records.
fn empty_response_bytes(partitions: &[TopicPartition]) -> usize {
    let mut topics: Vec<FetchableTopicResponse> = Vec::new();
    for tp in partitions {
        let data = PartitionData::default()
            .with_partition_index(tp.partition)
            .with_high_watermark(100)
            .with_last_stable_offset(100)
            .with_log_start_offset(0)
            .with_records(Some(bytes::Bytes::new()));
        match topics.last_mut() {
            Some(t) if t.topic.0.as_str() == tp.topic => t.partitions.push(data),
            _ => topics.push(
                FetchableTopicResponse::default()
                    .with_topic(TopicName(StrBytes::from_string(tp.topic.clone())))
                    .with_partitions(vec![data]),
            ),
        }
    }
    FetchResponse::default()
        .with_responses(topics)
        .compute_size(FETCH_VERSION)
        .unwrap()
}

#[test]
fn follower_request_bytes_for_3000_partitions() {
    let settings = ReplicationSettings::default();
    let partitions = followed();
    let wanted = |moved: usize, round: i64| -> Vec<(TopicPartition, PartitionFetchData)> {
        partitions
            .iter()
            .enumerate()
            .map(|(i, tp)| (tp.clone(), at(if i < moved { round } else { 0 })))
            .collect()
    };
    let mut handler = FetchSessionHandler::default();
    let mut rows = Vec::new();
    // Before KIP-227 every fetch was a full one: what a full request weighs.
    let full = handler.build(wanted(0, 0));
    let full_bytes = request_bytes(&fetch_request(BrokerId(1), &settings, &full));
    assert_eq!(full.to_send.len(), 3000);
    rows.push((
        "full fetch (every fetch before sessions)",
        3000,
        full_bytes,
        3000,
    ));
    assert!(handler.handle_response(None, 5));
    for (round, moved) in [(1, 0), (2, 10), (3, 100), (4, 3000)] {
        let built = handler.build(wanted(moved, round));
        assert_eq!(built.to_send.len(), moved);
        let bytes = request_bytes(&fetch_request(BrokerId(1), &settings, &built));
        let label = match moved {
            0 => "incremental, nothing moved",
            10 => "incremental, 10 partitions moved",
            100 => "incremental, 100 partitions moved",
            _ => "incremental, all 3000 moved",
        };
        rows.push((label, moved, bytes, moved));
        assert!(handler.handle_response(None, 5));
    }
    assert!(
        rows[1].2 * 100 < full_bytes,
        "an idle incremental fetch is tiny"
    );
    println!("\nFollower of 3,000 partitions (300 topics x 10), Fetch v{FETCH_VERSION}:");
    println!("| fetch | partitions sent | request bytes | response bytes (no records) |");
    println!("|---|---:|---:|---:|");
    for (label, sent, bytes, answered) in rows {
        let response = empty_response_bytes(&partitions[..answered]);
        println!("| {label} | {sent} | {bytes} | {response} |");
    }
}
