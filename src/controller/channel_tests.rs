//! Unit tests of a broker's sender task against a fake broker on a real TCP
//! socket: a slow answer is waited for on the same connection (never sent
//! twice), and a StopReplica answer is reported back per partition.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::stop_replica_request::{
    StopReplicaPartitionState, StopReplicaTopicState,
};
use kafka_protocol::messages::stop_replica_response::StopReplicaPartitionError;
use kafka_protocol::messages::{RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;
use crate::controller::control_request::STOP_REPLICA_VERSION;
use kafka_protocol::messages::{StopReplicaRequest, StopReplicaResponse};

fn stop_replica(partitions: &[i32]) -> StopReplicaRequest {
    StopReplicaRequest::default().with_topic_states(vec![
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
struct SlowBroker {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl SlowBroker {
    async fn start(delay: Duration) -> SlowBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (c, r) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let r = r.clone();
                tokio::spawn(async move {
                    loop {
                        let Ok(size) = stream.read_i32().await else {
                            return;
                        };
                        let mut frame = BytesMut::zeroed(size as usize);
                        if stream.read_exact(&mut frame).await.is_err() {
                            return;
                        }
                        r.fetch_add(1, Ordering::SeqCst);
                        let mut frame = frame.freeze();
                        let header = RequestHeader::decode(&mut frame, 2).unwrap();
                        let request =
                            StopReplicaRequest::decode(&mut frame, STOP_REPLICA_VERSION).unwrap();
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
                        let mut body = BytesMut::new();
                        ResponseHeader::default()
                            .with_correlation_id(header.correlation_id)
                            .encode(&mut body, 1)
                            .unwrap();
                        StopReplicaResponse::default()
                            .with_partition_errors(errors)
                            .encode(&mut body, STOP_REPLICA_VERSION)
                            .unwrap();
                        let mut out = BytesMut::new();
                        out.put_i32(body.len() as i32);
                        out.extend_from_slice(&body);
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SlowBroker {
            port,
            connections,
            requests,
        }
    }
}

#[tokio::test]
async fn a_slow_answer_is_waited_for_on_the_same_connection_and_reported() {
    let socket_timeout = Duration::from_millis(100);
    // The broker takes many socket timeouts to answer.
    let broker = SlowBroker::start(socket_timeout * 8).await;
    let (reports_tx, mut reports) = mpsc::channel(4);
    let mut channels = ControllerChannelManager::new(1, socket_timeout, reports_tx);
    channels.add_broker(2, "127.0.0.1".into(), broker.port);

    channels.send_reported(2, ControllerRequest::StopReplica(stop_replica(&[0, 1])));
    let report = tokio::time::timeout(Duration::from_secs(20), reports.recv())
        .await
        .expect("an answer within 20 s")
        .expect("a report");

    assert_eq!(
        report,
        ChannelReport::StopReplicaAnswered {
            broker: 2,
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
