//! Unit tests of encoded controller requests: each request type reaches a
//! broker exactly as if it had been built for that broker's epoch, and one
//! encoding is shared by every broker's queue.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::leader_and_isr_request::{
    LeaderAndIsrPartitionState, LeaderAndIsrTopicState,
};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::update_metadata_request::{
    UpdateMetadataPartitionState, UpdateMetadataTopicState,
};
use kafka_protocol::messages::{
    BrokerId, LeaderAndIsrRequest, StopReplicaRequest, TopicName, UpdateMetadataRequest,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::sync::mpsc;

use super::*;
use crate::controller::channel::ControllerChannelManager;
use crate::model;

fn name() -> TopicName {
    TopicName(StrBytes::from_static_str("t"))
}

fn update_metadata(partitions: i32) -> UpdateMetadataRequest {
    UpdateMetadataRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(3)
        .with_broker_epoch(-1)
        .with_topic_states(vec![
            UpdateMetadataTopicState::default()
                .with_topic_name(name())
                .with_topic_id(uuid::Uuid::from_u128(42))
                .with_partition_states(
                    (0..partitions)
                        .map(|p| {
                            UpdateMetadataPartitionState::default()
                                .with_topic_name(name())
                                .with_partition_index(p)
                                .with_leader(BrokerId(1 + p % 3))
                                .with_isr(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
                                .with_replicas(vec![BrokerId(1), BrokerId(2), BrokerId(3)])
                        })
                        .collect(),
                ),
        ])
}

fn leader_and_isr() -> LeaderAndIsrRequest {
    LeaderAndIsrRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(3)
        .with_broker_epoch(-1)
        .with_topic_states(vec![
            LeaderAndIsrTopicState::default()
                .with_topic_name(name())
                .with_topic_id(uuid::Uuid::from_u128(42))
                .with_partition_states(vec![
                    LeaderAndIsrPartitionState::default()
                        .with_topic_name(name())
                        .with_partition_index(4)
                        .with_leader(BrokerId(2))
                        .with_leader_epoch(9)
                        .with_isr(vec![BrokerId(2)]),
                ]),
        ])
}

fn stop_replica() -> StopReplicaRequest {
    StopReplicaRequest::default()
        .with_controller_id(BrokerId(1))
        .with_controller_epoch(3)
        .with_broker_epoch(-1)
        .with_topic_states(vec![
            StopReplicaTopicState::default()
                .with_topic_name(name())
                .with_partition_states(vec![
                    StopReplicaPartitionState::default()
                        .with_partition_index(1)
                        .with_leader_epoch(-2)
                        .with_delete_partition(true),
                    StopReplicaPartitionState::default().with_partition_index(0),
                ]),
        ])
}

/// What `request` encodes to at `version`.
fn wire<R: Encodable>(request: &R, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    request.encode(&mut buf, version).unwrap();
    buf.freeze()
}

#[test]
fn each_broker_receives_the_request_as_if_built_with_its_own_epoch() {
    for epoch in [0x0102_0304_0506_0708, 5, -1] {
        let um =
            EncodedRequest::new(&ControllerRequest::UpdateMetadata(update_metadata(3))).unwrap();
        let expected = update_metadata(3).with_broker_epoch(epoch);
        assert_eq!(um.body_for(epoch), wire(&expected, UPDATE_METADATA_VERSION));
        let decoded =
            UpdateMetadataRequest::decode(&mut um.body_for(epoch), UPDATE_METADATA_VERSION);
        assert_eq!(decoded.unwrap().broker_epoch, epoch);

        let lai = EncodedRequest::new(&ControllerRequest::LeaderAndIsr(leader_and_isr())).unwrap();
        let expected = leader_and_isr().with_broker_epoch(epoch);
        assert_eq!(lai.body_for(epoch), wire(&expected, LEADER_AND_ISR_VERSION));

        let sr = EncodedRequest::new(&ControllerRequest::StopReplica(stop_replica())).unwrap();
        let expected = stop_replica().with_broker_epoch(epoch);
        assert_eq!(sr.body_for(epoch), wire(&expected, STOP_REPLICA_VERSION));
        let decoded = StopReplicaRequest::decode(&mut sr.body_for(epoch), STOP_REPLICA_VERSION);
        assert_eq!(decoded.unwrap(), expected);
    }
}

#[test]
fn a_stop_replica_keeps_its_partitions_for_the_report_and_others_none() {
    let sr = EncodedRequest::new(&ControllerRequest::StopReplica(stop_replica())).unwrap();
    assert!(sr.is_stop_replica());
    assert_eq!(
        sr.stop_replica_partitions(),
        &[TopicPartition::new("t", 1), TopicPartition::new("t", 0)]
    );
    let lai = EncodedRequest::new(&ControllerRequest::LeaderAndIsr(leader_and_isr())).unwrap();
    assert!(!lai.is_stop_replica());
    assert!(lai.stop_replica_partitions().is_empty());
}

#[test]
fn a_request_that_cannot_be_encoded_is_an_error() {
    // UpdateMetadata v7 cannot say it comes from a KRaft controller.
    let request = update_metadata(1).with_is_k_raft_controller(true);
    let err = EncodedRequest::new(&ControllerRequest::UpdateMetadata(request)).unwrap_err();
    assert!(err.to_string().contains("UpdateMetadata v7"), "{err}");
}

#[test]
fn the_encoding_is_compact() {
    // 10,000 partitions of UpdateMetadata: about 40 bytes each on the wire.
    let um = EncodedRequest::new(&ControllerRequest::UpdateMetadata(update_metadata(10_000)));
    let len = um.unwrap().body_len();
    assert!(len < 10_000 * 64, "{len} bytes");
}

#[tokio::test]
async fn one_encoding_is_shared_by_every_broker_queue() {
    let (reports, _reports) = mpsc::channel(4);
    let mut channels =
        ControllerChannelManager::new(model::BrokerId(1), Duration::from_millis(100), reports);
    // Nobody listens there: the requests stay queued (or in delivery).
    for broker in 1..=3 {
        channels.add_broker(model::BrokerId(broker), "127.0.0.1".into(), 1);
    }
    let encoded = Arc::new(
        EncodedRequest::new(&ControllerRequest::UpdateMetadata(update_metadata(100))).unwrap(),
    );
    for broker in 1..=3 {
        channels.send(
            model::BrokerId(broker),
            100 + i64::from(broker),
            encoded.clone(),
        );
    }
    // A broker without a channel gets nothing (and holds nothing).
    channels.send(model::BrokerId(9), 109, encoded.clone());
    assert_eq!(
        Arc::strong_count(&encoded),
        1 + 3,
        "one copy per queue, no clones of the body"
    );
    channels.shutdown();
}
