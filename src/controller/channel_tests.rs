//! Unit tests of a broker's sender task against a fake broker on a real TCP
//! socket: a slow answer is waited for on the same connection (never sent
//! twice), and a StopReplica answer is reported back per partition.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{RequestHeader, TopicName};
use kafka_protocol::protocol::{Decodable, StrBytes};

use super::*;
use crate::client::fake_broker::{FakeBroker, response_frame};
use crate::controller::control_request::{ControllerRequest, STOP_REPLICA_VERSION};
use kafka_protocol::messages::{StopReplicaRequest, StopReplicaResponse};

fn stop_replica(partitions: &[i32]) -> StopReplicaRequest {
    StopReplicaRequest::default()
        .with_broker_epoch(-1)
        .with_topic_states(vec![
            StopReplicaTopicState::default()
                .with_topic_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_states(
                    partitions
                        .iter()
                        .map(|&p| {
                            StopReplicaPartitionState::default()
                                .with_partition_index(p)
                                .with_delete_partition(true)
                        })
                        .collect(),
                ),
        ])
}

/// A broker that answers each StopReplica after `delay`, partition 1 with
/// error 56 (KAFKA_STORAGE_ERROR); counts connections and requests.
async fn slow_broker(delay: Duration) -> FakeBroker {
    FakeBroker::start(move |mut frame: Bytes| async move {
        let header = RequestHeader::decode(&mut frame, 2).unwrap();
        let request = StopReplicaRequest::decode(&mut frame, STOP_REPLICA_VERSION).unwrap();
        tokio::time::sleep(delay).await;
        let errors = request.topic_states[0]
            .partition_states
            .iter()
            .map(|p| {
                StopReplicaPartitionError::default()
                    .with_topic_name(request.topic_states[0].topic_name.clone())
                    .with_partition_index(p.partition_index)
                    .with_error_code(if p.partition_index == 1 { 56 } else { 0 })
            })
            .collect();
        Some(response_frame(
            header.correlation_id,
            1,
            &StopReplicaResponse::default().with_partition_errors(errors),
            STOP_REPLICA_VERSION,
        ))
    })
    .await
}

#[tokio::test]
async fn a_slow_answer_is_waited_for_on_the_same_connection_and_reported() {
    let socket_timeout = Duration::from_millis(100);
    // The broker takes many socket timeouts to answer.
    let broker = slow_broker(socket_timeout * 8).await;
    let (reports_tx, mut reports) = mpsc::channel(4);
    let mut channels = ControllerChannelManager::new(BrokerId(1), socket_timeout, reports_tx);
    channels.add_broker(BrokerId(2), "127.0.0.1".into(), broker.port);

    let request = ControllerRequest::StopReplica(stop_replica(&[0, 1]));
    channels.send_reported(
        BrokerId(2),
        7,
        Arc::new(EncodedRequest::new(&request).unwrap()),
    );
    let report = tokio::time::timeout(Duration::from_secs(20), reports.recv())
        .await
        .expect("an answer within 20 s")
        .expect("a report");

    assert_eq!(
        report,
        ChannelReport::StopReplicaAnswered {
            broker: BrokerId(2),
            partitions: vec![
                (TopicPartition::new("t", 0), 0),
                (TopicPartition::new("t", 1), 56)
            ],
        }
    );
    assert_eq!(
        broker.requests.load(Ordering::SeqCst),
        1,
        "the request was sent again while the broker worked on it"
    );
    assert_eq!(broker.connections.load(Ordering::SeqCst), 1);
}
