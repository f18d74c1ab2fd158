//! Unit tests of [`BrokerConnection`] against a fake broker on a real TCP
//! socket: one connection carries request after request, and a timed-out,
//! refused or oversized answer drops it so the next send reconnects.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{BufMut, BytesMut};
use kafka_protocol::messages::{
    ApiVersionsRequest, ApiVersionsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::net::TcpListener;

use super::*;

const VERSION: i16 = 0;

/// How the fake broker answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// Every request, with error code 35 and its correlation id.
    Answer,
    /// Never.
    Silent,
    /// A frame size over any limit.
    Oversized,
}

struct FakeBroker {
    address: String,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl FakeBroker {
    async fn start(behaviour: Behaviour) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
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
                        let header = RequestHeader::decode(
                            &mut frame,
                            ApiKey::ApiVersions.request_header_version(VERSION),
                        )
                        .unwrap();
                        let mut out = BytesMut::new();
                        match behaviour {
                            Behaviour::Silent => continue,
                            Behaviour::Oversized => out.put_i32(i32::MAX),
                            Behaviour::Answer => {
                                let mut body = BytesMut::new();
                                ResponseHeader::default()
                                    .with_correlation_id(header.correlation_id)
                                    .encode(&mut body, 0)
                                    .unwrap();
                                ApiVersionsResponse::default()
                                    .with_error_code(35)
                                    .encode(&mut body, VERSION)
                                    .unwrap();
                                out.put_i32(body.len() as i32);
                                out.extend_from_slice(&body);
                            }
                        }
                        if stream.write_all(&out).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeBroker {
            address,
            connections,
            requests,
        }
    }
}

async fn api_versions(
    connection: &mut BrokerConnection,
) -> Result<ApiVersionsResponse, ConnectionError> {
    connection
        .send(ApiKey::ApiVersions, VERSION, &ApiVersionsRequest::default())
        .await
}

fn connection(broker: &FakeBroker, options: ConnectionOptions) -> BrokerConnection {
    BrokerConnection::new(broker.address.clone(), "test".into(), options)
}

#[tokio::test]
async fn one_connection_carries_request_after_request() {
    let broker = FakeBroker::start(Behaviour::Answer).await;
    let mut connection = connection(
        &broker,
        ConnectionOptions::default()
            .with_connect_timeout(Duration::from_secs(10))
            .with_liveness_timeout(Duration::from_secs(10)),
    );
    assert!(!connection.is_connected());
    for _ in 0..3 {
        let response = api_versions(&mut connection).await.unwrap();
        assert_eq!(response.error_code, 35);
    }
    assert!(connection.is_connected());
    assert_eq!(broker.requests.load(Ordering::SeqCst), 3);
    assert_eq!(broker.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_request_timeout_drops_the_connection_and_the_next_send_reconnects() {
    let broker = FakeBroker::start(Behaviour::Silent).await;
    let timeout = Duration::from_millis(100);
    let mut connection = connection(
        &broker,
        ConnectionOptions::default().with_request_timeout(timeout),
    );
    let first = api_versions(&mut connection).await;
    assert!(
        matches!(first, Err(ConnectionError::Timeout { timeout: t, .. }) if t == timeout),
        "{first:?}"
    );
    assert!(!connection.is_connected());
    let second = api_versions(&mut connection).await;
    assert!(
        matches!(second, Err(ConnectionError::Timeout { .. })),
        "{second:?}"
    );
    assert_eq!(broker.connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_oversized_frame_is_refused_and_drops_the_connection() {
    let broker = FakeBroker::start(Behaviour::Oversized).await;
    let mut connection = connection(
        &broker,
        ConnectionOptions::default().with_max_response_bytes(1024),
    );
    let answer = api_versions(&mut connection).await;
    assert!(
        matches!(
            answer,
            Err(ConnectionError::BadFrame { size: i32::MAX, .. })
        ),
        "{answer:?}"
    );
    assert!(!connection.is_connected());
}

#[tokio::test]
async fn a_refused_connection_is_an_io_error_naming_the_address() {
    // Bind, learn the port, close: nothing listens there any more.
    let address = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap().to_string()
    };
    let mut connection =
        BrokerConnection::new(address.clone(), "test".into(), ConnectionOptions::default());
    let answer = api_versions(&mut connection).await;
    match answer {
        Err(ConnectionError::Io { address: a, .. }) => assert_eq!(a, address),
        other => panic!("expected an i/o error, got {other:?}"),
    }
    assert!(!connection.is_connected());
}
