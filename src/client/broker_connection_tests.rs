//! Unit tests of [`BrokerConnection`] against a fake broker on a real TCP
//! socket: one connection carries request after request, and a timed-out,
//! refused or oversized answer drops it so the next send reconnects.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse, RequestHeader};
use kafka_protocol::protocol::Decodable;

use super::*;
use crate::client::fake_broker::{FakeBroker, response_frame};

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

/// A fake broker answering as `behaviour` says.
async fn fake_broker(behaviour: Behaviour) -> FakeBroker {
    FakeBroker::start(move |mut frame: Bytes| async move {
        let header = RequestHeader::decode(
            &mut frame,
            ApiKey::ApiVersions.request_header_version(VERSION),
        )
        .unwrap();
        match behaviour {
            Behaviour::Silent => None,
            Behaviour::Oversized => Some(Bytes::copy_from_slice(&i32::MAX.to_be_bytes())),
            Behaviour::Answer => Some(response_frame(
                header.correlation_id,
                0,
                &ApiVersionsResponse::default().with_error_code(35),
                VERSION,
            )),
        }
    })
    .await
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
    let broker = fake_broker(Behaviour::Answer).await;
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
    let broker = fake_broker(Behaviour::Silent).await;
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
    let broker = fake_broker(Behaviour::Oversized).await;
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
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
